package control

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"till/providers/fake"
	"time"
)

// failsafe bounds every wait on a channel, so a broken server fails the
// test instead of hanging it. Nothing waits for it to pass.
const failsafe = 10 * time.Second

// shortDir is a private directory with a short path: t.TempDir's can be
// too long for a socket address.
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "ctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func echo(_ context.Context, req Request) Response {
	return Response{
		Stdout: []byte(strings.Join(req.Args, " ")),
		Stderr: []byte(req.Env["X"] + "|" + req.Dir),
	}
}

// start serves h on a fresh socket with cfg and closes it at the end.
func start(t *testing.T, h Handler, cfg config) (string, *Server) {
	t.Helper()
	path := filepath.Join(shortDir(t), "till.db.sock")
	s, err := listen(path, h, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return path, s
}

func mustCall(t *testing.T, path string, req Request) Response {
	t.Helper()
	resp, err := Call(t.Context(), path, req)
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	return resp
}

// exchange sends body as one frame on a raw connection and decodes the
// answer.
func exchange(t *testing.T, path string, frame []byte) wireResponse {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(failsafe))
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
	b, err := readFrame(c, MaxResponse)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	var r wireResponse
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func frame(body []byte) []byte {
	var buf bytes.Buffer
	writeFrame(&buf, body)
	return buf.Bytes()
}

// staleSocket leaves a socket file at path that nobody listens on, as a
// holder killed with -9 does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("the stale socket is gone: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	path, _ := start(t, echo, defaultConfig())
	req := Request{Args: []string{"refund", "2026", "--amount", "5.00"}, Env: map[string]string{"X": "工"}, Dir: "/home/clerk"}
	resp := mustCall(t, path, req)
	if got := string(resp.Stdout); got != "refund 2026 --amount 5.00" {
		t.Errorf("stdout %q", got)
	}
	if got := string(resp.Stderr); got != "工|/home/clerk" {
		t.Errorf("stderr %q", got)
	}
	if resp.Exit != 0 {
		t.Errorf("exit %d", resp.Exit)
	}
}

func TestOutputIsBytes(t *testing.T) {
	raw := []byte{0x00, 0xff, 0xfe, 'b', 'o', 'l', 't', 0xc3}
	path, _ := start(t, func(context.Context, Request) Response {
		return Response{Stdout: raw}
	}, defaultConfig())
	if got := mustCall(t, path, Request{Args: []string{"backup"}}).Stdout; !bytes.Equal(got, raw) {
		t.Errorf("stdout %x, want %x", got, raw)
	}
}

func TestExitAndStderr(t *testing.T) {
	path, _ := start(t, func(_ context.Context, req Request) Response {
		return Response{Stdout: []byte("partial\n"), Stderr: []byte("till: unknown flag --x\n"), Exit: 2}
	}, defaultConfig())
	resp := mustCall(t, path, Request{Args: []string{"orders", "--x"}})
	if resp.Exit != 2 || string(resp.Stderr) != "till: unknown flag --x\n" || string(resp.Stdout) != "partial\n" {
		t.Errorf("got %+v", resp)
	}
}

func TestCallRefusesNonUTF8(t *testing.T) {
	called := make(chan struct{}, 1)
	path, _ := start(t, func(context.Context, Request) Response { called <- struct{}{}; return Response{} }, defaultConfig())
	_, err := Call(t.Context(), path, Request{Args: []string{"backup", "caf\xe9.db"}})
	if err == nil || errors.Is(err, ErrNoHolder) || errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("err %v, want a not-sent error", err)
	}
	select {
	case <-called:
		t.Error("the handler ran")
	default:
	}
}

func TestNoHolder(t *testing.T) {
	d := shortDir(t)
	for _, path := range []string{filepath.Join(d, "none.sock"), filepath.Join(d, "no", "dir.sock")} {
		if _, err := Call(t.Context(), path, Request{Args: []string{"orders"}}); !errors.Is(err, ErrNoHolder) {
			t.Errorf("%s: err %v, want ErrNoHolder", path, err)
		}
	}
	stale := filepath.Join(d, "stale.sock")
	staleSocket(t, stale)
	if _, err := Call(t.Context(), stale, Request{Args: []string{"orders"}}); !errors.Is(err, ErrNoHolder) {
		t.Errorf("stale socket: err %v, want ErrNoHolder", err)
	}
}

func TestListenRemovesStaleSocket(t *testing.T) {
	path := filepath.Join(shortDir(t), "till.db.sock")
	staleSocket(t, path)
	s, err := Listen(path, echo, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := string(mustCall(t, path, Request{Args: []string{"audit"}}).Stdout); got != "audit" {
		t.Errorf("stdout %q", got)
	}
}

func TestListenRefusesLiveHolder(t *testing.T) {
	path, _ := start(t, echo, defaultConfig())
	s2, err := Listen(path, echo, nil)
	if err == nil {
		s2.Close()
		t.Fatal("a second Listen succeeded")
	}
	if !errors.Is(err, errHeld) {
		t.Errorf("err %v, want errHeld", err)
	}
	// The first holder still serves.
	if got := string(mustCall(t, path, Request{Args: []string{"report"}}).Stdout); got != "report" {
		t.Errorf("stdout %q", got)
	}
}

func TestListenRefusesRegularFile(t *testing.T) {
	path := filepath.Join(shortDir(t), "till.db.sock")
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := Listen(path, echo, nil); err == nil {
		s.Close()
		t.Fatal("Listen took over a regular file")
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "precious" {
		t.Errorf("the file is now %q, %v", b, err)
	}
}

func TestSocketMode(t *testing.T) {
	old := syscall.Umask(0) // the mode must not come from the umask
	defer syscall.Umask(old)
	path, _ := start(t, echo, defaultConfig())
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want a socket with 0600", fi.Mode())
	}
}

func TestSocketCreatedOwnerOnly(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only Linux takes the mode at bind")
	}
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	path := filepath.Join(shortDir(t), "s")
	lc := net.ListenConfig{Control: ownerOnly}
	l, err := lc.Listen(t.Context(), "unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// No chmod yet: this is the mode bind gave it.
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode at bind %v, want 0600", fi.Mode())
	}
}

func TestOversizedRequest(t *testing.T) {
	called := make(chan struct{}, 1)
	path, _ := start(t, func(context.Context, Request) Response { called <- struct{}{}; return Response{} }, defaultConfig())

	// The holder answers from the length alone.
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], MaxRequest+1)
	r := exchange(t, path, hdr[:])
	if !strings.Contains(r.Error, "limit") {
		t.Errorf("answer %+v, want a refusal over the limit", r)
	}

	// Call does not send one.
	_, err := Call(t.Context(), path, Request{Args: []string{"orders", strings.Repeat("x", MaxRequest)}})
	if err == nil || errors.Is(err, ErrNoHolder) || errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("err %v, want a not-sent error", err)
	}
	select {
	case <-called:
		t.Error("the handler ran")
	default:
	}
}

func TestProtocolVersionMismatch(t *testing.T) {
	called := make(chan struct{}, 1)
	path, _ := start(t, func(context.Context, Request) Response { called <- struct{}{}; return Response{} }, defaultConfig())
	// A future till may change the request's shape; only "v" is stable.
	r := exchange(t, path, frame([]byte(`{"v":99,"args":{"new":"shape"}}`)))
	if !strings.Contains(r.Error, "control protocol 1 and this till 99") {
		t.Errorf("answer %+v, want a version refusal", r)
	}
	select {
	case <-called:
		t.Error("the handler ran")
	default:
	}
}

// fakeHolder listens at a fresh path and answers each connection with
// answer, after reading its request.
func fakeHolder(t *testing.T, answer func(c net.Conn)) string {
	t.Helper()
	path := filepath.Join(shortDir(t), "fake.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if _, err := readFrame(c, MaxRequest); err == nil {
				answer(c)
			}
			c.Close()
		}
	}()
	return path
}

func TestCallOnAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer string // "" hangs up without a word
		want   error
	}{
		{"hangs up", "", ErrOutcomeUnknown},
		{"not json", `{"v":1,`, ErrOutcomeUnknown},
		{"other version", `{"v":2,"exit":0}`, ErrOutcomeUnknown},
		{"refusal", `{"v":2,"error":"the holder speaks control protocol 2"}`, ErrRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := fakeHolder(t, func(c net.Conn) {
				if tc.answer != "" {
					writeFrame(c, []byte(tc.answer))
				}
			})
			_, err := Call(t.Context(), path, Request{Args: []string{"refund"}})
			if !errors.Is(err, tc.want) || errors.Is(err, ErrNoHolder) {
				t.Errorf("err %v, want %v", err, tc.want)
			}
		})
	}
}

func TestOutcomeUnknownSaysSo(t *testing.T) {
	path := fakeHolder(t, func(net.Conn) {})
	_, err := Call(t.Context(), path, Request{Args: []string{"refund"}})
	if err == nil || !strings.Contains(err.Error(), "whether it was carried out is not known") {
		t.Errorf("err %v", err)
	}
}

func TestHandlerPanic(t *testing.T) {
	var logs fake.Buffer
	cfg := defaultConfig()
	path := filepath.Join(shortDir(t), "till.db.sock")
	s, err := listen(path, func(ctx context.Context, req Request) Response {
		if req.Args[0] == "boom" {
			panic("kaboom")
		}
		return echo(ctx, req)
	}, slog.New(slog.NewTextHandler(&logs, nil)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp := mustCall(t, path, Request{Args: []string{"boom"}})
	if resp.Exit != 1 || !strings.Contains(string(resp.Stderr), "internal error") {
		t.Errorf("got %+v", resp)
	}
	if got := string(mustCall(t, path, Request{Args: []string{"orders"}}).Stdout); got != "orders" {
		t.Errorf("after the panic: stdout %q", got)
	}
	if !strings.Contains(logs.String(), "kaboom") {
		t.Errorf("the panic is not in the log:\n%s", logs.String())
	}
}

func TestCallCancel(t *testing.T) {
	started := make(chan struct{})
	handlerErr := make(chan error, 1)
	path, _ := start(t, func(ctx context.Context, _ Request) Response {
		close(started)
		select {
		case <-ctx.Done():
			handlerErr <- ctx.Err()
		case <-time.After(failsafe):
			handlerErr <- errors.New("not cancelled")
		}
		return Response{}
	}, defaultConfig())

	ctx, cancel := context.WithCancel(t.Context())
	callErr := make(chan error, 1)
	go func() {
		_, err := Call(ctx, path, Request{Args: []string{"refund"}})
		callErr <- err
	}()
	<-started
	cancel()
	select {
	case err := <-callErr:
		if !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, context.Canceled) {
			t.Errorf("Call: %v, want ErrOutcomeUnknown and context.Canceled", err)
		}
	case <-time.After(failsafe):
		t.Fatal("Call did not return after cancel")
	}
	if err := <-handlerErr; !errors.Is(err, context.Canceled) {
		t.Errorf("handler's ctx: %v, want cancelled", err)
	}
}

func TestCallDeadline(t *testing.T) {
	release := make(chan struct{})
	path, _ := start(t, func(ctx context.Context, _ Request) Response {
		<-release
		return Response{}
	}, defaultConfig())
	defer close(release)
	ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := Call(ctx, path, Request{Args: []string{"orders"}}); err == nil {
		t.Error("Call with a past deadline succeeded")
	}
}

func TestCloseRemovesSocket(t *testing.T) {
	path, s := start(t, echo, defaultConfig())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket after Close: %v", err)
	}
	if _, err := Call(t.Context(), path, Request{Args: []string{"orders"}}); !errors.Is(err, ErrNoHolder) {
		t.Errorf("Call after Close: %v, want ErrNoHolder", err)
	}
}

func TestCloseLeavesSuccessorsSocket(t *testing.T) {
	path, s := start(t, echo, defaultConfig())
	// The socket was removed under it and a new holder took the path.
	os.Remove(path)
	s2, err := Listen(path, echo, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	s.Close()
	if got := string(mustCall(t, path, Request{Args: []string{"orders"}}).Stdout); got != "orders" {
		t.Errorf("stdout %q", got)
	}
}

func TestCloseCancelsRunningCommand(t *testing.T) {
	started := make(chan struct{})
	path, s := start(t, func(ctx context.Context, _ Request) Response {
		close(started)
		select {
		case <-ctx.Done():
			return Response{Stderr: []byte("till: cancelled\n"), Exit: 1}
		case <-time.After(failsafe):
			return Response{}
		}
	}, defaultConfig())
	type result struct {
		resp Response
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := Call(t.Context(), path, Request{Args: []string{"refund"}})
		got <- result{resp, err}
	}()
	<-started
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The command's own answer still reaches the caller.
	r := <-got
	if r.err != nil || r.resp.Exit != 1 || string(r.resp.Stderr) != "till: cancelled\n" {
		t.Errorf("got %+v, %v", r.resp, r.err)
	}
}

func TestCloseCutsShortAnIdleCaller(t *testing.T) {
	cfg := defaultConfig()
	cfg.readTimeout = time.Hour // Close must not wait for it
	accepted := make(chan struct{}, 1)
	cfg.accepted = func() { accepted <- struct{}{} }
	path, s := start(t, echo, cfg)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{0, 0}) // half a length prefix, then nothing
	// Close resets connections it has not accepted; this one it has.
	<-accepted
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(failsafe))
	b, err := readFrame(c, MaxResponse)
	if err != nil || !strings.Contains(string(b), "closing") {
		t.Errorf("answer %q, %v; want a closing refusal", b, err)
	}
}

func TestOtherUserRefused(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs SO_PEERCRED")
	}
	called := make(chan struct{}, 1)
	h := func(context.Context, Request) Response { called <- struct{}{}; return Response{} }

	// The server serves another uid only.
	cfg := defaultConfig()
	cfg.uid = os.Getuid() + 1
	path, _ := start(t, h, cfg)
	if _, err := Call(t.Context(), path, Request{Args: []string{"refund"}}); !errors.Is(err, ErrRefused) {
		t.Errorf("server side: err %v, want ErrRefused", err)
	}

	// The client expects another uid: it sends nothing.
	path2, _ := start(t, h, defaultConfig())
	_, err := call(t.Context(), path2, Request{Args: []string{"refund"}, Env: map[string]string{"TILL_MANAGER_PIN": "1234"}}, os.Getuid()+1)
	if err == nil || errors.Is(err, ErrNoHolder) || errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, ErrRefused) {
		t.Errorf("client side: err %v, want a not-sent error", err)
	}
	select {
	case <-called:
		t.Error("the handler ran")
	default:
	}
}

func TestLogKeepsSecrets(t *testing.T) {
	var logs fake.Buffer
	path := filepath.Join(shortDir(t), "till.db.sock")
	s, err := Listen(path, echo, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	mustCall(t, path, Request{Args: []string{"refund", "--pin", "5555"}, Env: map[string]string{"TILL_MANAGER_PIN": "9876"}})
	mustCall(t, path, Request{Args: []string{"4321"}})
	s.Close()
	out := logs.String()
	if !strings.Contains(out, "cmd=refund") {
		t.Errorf("the log does not name the command:\n%s", out)
	}
	for _, secret := range []string{"5555", "9876", "4321"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log shows %s:\n%s", secret, out)
		}
	}
}

func TestCommandName(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "(none)"},
		{[]string{"refund", "x"}, "refund"},
		{[]string{"close-day"}, "close-day"},
		{[]string{"--pin", "1234"}, "(other)"},
		{[]string{"1234"}, "(other)"},
		{[]string{"Refund"}, "(other)"},
		{[]string{"pin=1"}, "(other)"},
	} {
		if got := commandName(tc.args); got != tc.want {
			t.Errorf("commandName(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestOversizedResponse(t *testing.T) {
	path, _ := start(t, func(context.Context, Request) Response {
		return Response{Stdout: bytes.Repeat([]byte("x"), MaxResponse)}
	}, defaultConfig())
	resp := mustCall(t, path, Request{Args: []string{"orders"}})
	if resp.Exit != 1 || len(resp.Stdout) != 0 || !strings.Contains(string(resp.Stderr), "output is lost") {
		t.Errorf("exit %d, %d bytes out, stderr %q", resp.Exit, len(resp.Stdout), resp.Stderr)
	}
}

func TestConcurrentCalls(t *testing.T) {
	const n = 8
	// Every handler waits until all n are running at once: a server that
	// ran them one by one would never get there.
	var mu sync.Mutex
	running := 0
	all := make(chan struct{})
	path, _ := start(t, func(ctx context.Context, req Request) Response {
		mu.Lock()
		running++
		if running == n {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(failsafe):
			return Response{Stderr: []byte("not concurrent"), Exit: 1}
		}
		return echo(ctx, req)
	}, defaultConfig())

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			want := fmt.Sprintf("orders %d", i)
			resp, err := Call(t.Context(), path, Request{Args: strings.Fields(want)})
			switch {
			case err != nil:
				errs <- err
			case string(resp.Stdout) != want || resp.Exit != 0:
				errs <- fmt.Errorf("call %d: got %q, %q, exit %d", i, resp.Stdout, resp.Stderr, resp.Exit)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
