package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"syscall"
	"time"
)

// Handler runs one command against the holder's open ledger and returns
// what it printed. It is called concurrently, once per connection. ctx
// is cancelled when the caller goes away, the request's time is up, or
// the server closes.
type Handler func(ctx context.Context, req Request) Response

// Server is the holder's end of the control socket.
type Server struct {
	ln   *net.UnixListener
	path string
	file fs.FileInfo // the socket file we made, so Close removes only ours
	h    Handler
	log  *slog.Logger
	cfg  config

	ctx    context.Context // cancelled by Close; parent of every command's ctx
	cancel context.CancelFunc
	wg     sync.WaitGroup // the accept loop and every connection

	closeOnce sync.Once
	closeErr  error
}

// config holds the server's limits; tests shorten them.
type config struct {
	uid            int           // the only caller uid served
	readTimeout    time.Duration // to receive the request once connected
	commandTimeout time.Duration // a refund may wait on a provider
	writeTimeout   time.Duration // to send the response
	closeWait      time.Duration // Close waits this long for running commands
	accepted       func()        // if set, called as each connection starts
}

func defaultConfig() config {
	return config{
		uid:            os.Getuid(),
		readTimeout:    10 * time.Second,
		commandTimeout: 2 * time.Minute,
		writeTimeout:   30 * time.Second,
		closeWait:      10 * time.Second,
	}
}

// errHeld is Listen's error when a live server already answers at the
// path.
var errHeld = errors.New("another till already serves this ledger's control socket")

// Listen serves h on a Unix socket at path, with mode 0600. A socket left
// at path by a holder that died (nobody answers on it) is removed first;
// one somebody answers on, or a file at path that is not a socket, is
// left alone and reported. log may be nil.
func Listen(path string, h Handler, log *slog.Logger) (*Server, error) {
	return listen(path, h, log, defaultConfig())
}

func listen(path string, h Handler, log *slog.Logger, cfg config) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := clearStale(path); err != nil {
		return nil, err
	}
	lc := net.ListenConfig{Control: ownerOnly}
	l, err := lc.Listen(context.Background(), "unix", path)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	ln := l.(*net.UnixListener)
	// We remove the file ourselves, and only if it is still ours.
	ln.SetUnlinkOnClose(false)
	fi, err := narrow(path)
	if err != nil {
		ln.Close()
		os.Remove(path)
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{ln: ln, path: path, file: fi, h: h, log: log, cfg: cfg, ctx: ctx, cancel: cancel}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// clearStale makes way at path: nothing there is fine, a socket nobody
// answers on is removed, anything else is an error.
func clearStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("control: %s exists and is not a socket; leaving it alone", path)
	}
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("control: %s: %w", path, errHeld)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("control: checking %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("control: removing stale socket: %w", err)
	}
	return nil
}

// narrow sets the new socket file to 0600 (on Linux it already is) and
// checks that it took.
func narrow(path string) (fs.FileInfo, error) {
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		return nil, fmt.Errorf("control: %s is %v after chmod, want a socket with mode 0600", path, fi.Mode())
	}
	return fi, nil
}

// Path is where the server listens.
func (s *Server) Path() string { return s.path }

// Close stops accepting, removes the socket file (unless another holder
// has replaced it since), cancels the running commands' contexts, and
// waits a bounded time for them to return. Close after Close returns the
// first call's error. A caller that connected just as Close ran, before
// it was accepted, is reset by the system and gets ErrOutcomeUnknown
// although nothing ran: Call cannot tell that from a holder that died.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.ln.Close()
		if fi, err := os.Lstat(s.path); err == nil && os.SameFile(fi, s.file) {
			if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				s.closeErr = fmt.Errorf("control: %w", err)
			}
		}
		s.cancel()
		done := make(chan struct{})
		go func() { s.wg.Wait(); close(done) }()
		t := time.NewTimer(s.cfg.closeWait)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			s.closeErr = errors.Join(s.closeErr, fmt.Errorf("control: commands still running %v after close", s.cfg.closeWait))
		}
	})
	return s.closeErr
}

// serve accepts until the listener closes.
func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors, say: back off rather than spin.
			s.log.Warn("control: accept", "err", err)
			t := time.NewTimer(100 * time.Millisecond)
			select {
			case <-s.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.handle(c)
		}()
	}
}

// handle serves one connection: one request, one response.
func (s *Server) handle(c *net.UnixConn) {
	if s.cfg.accepted != nil {
		s.cfg.accepted()
	}
	p, err := peerOf(c)
	if err != nil {
		s.log.Warn("control: cannot tell who is calling; refused", "err", err)
		s.refuse(c, "the holder cannot tell who is calling")
		return
	}
	if p.known && p.uid != s.cfg.uid {
		s.log.Warn("control: caller of another user refused", "uid", p.uid, "pid", p.pid)
		s.refuse(c, "the ledger's holder serves only its own user")
		return
	}

	c.SetReadDeadline(time.Now().Add(s.cfg.readTimeout))
	// Close cuts short a request still arriving, rather than wait for it.
	stop := context.AfterFunc(s.ctx, func() { c.SetReadDeadline(time.Now()) })
	body, err := readFrame(c, MaxRequest)
	stop()
	var tl *tooLargeError
	switch {
	case s.ctx.Err() != nil:
		s.refuse(c, "the ledger's holder is closing; run the command again")
		return
	case errors.Is(err, io.EOF):
		return // a probe, such as Listen's check for a live holder
	case errors.As(err, &tl):
		s.log.Warn("control: request refused", "err", err)
		s.refuse(c, fmt.Sprintf("request of %d bytes is over the %d-byte limit", tl.n, tl.max))
		return
	case err != nil:
		s.log.Warn("control: reading request", "err", err)
		return
	}
	// The version first: a request of another version may not decode.
	var v struct {
		V int `json:"v"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		s.refuse(c, "the request is not valid JSON")
		return
	}
	if v.V != Version {
		s.log.Warn("control: request of another protocol version refused", "version", v.V)
		s.refuse(c, fmt.Sprintf("the holder speaks control protocol %d and this till %d: they are different till versions; use the same till for both", Version, v.V))
		return
	}
	var req wireRequest
	if err := json.Unmarshal(body, &req); err != nil {
		s.refuse(c, "the request does not decode: "+err.Error())
		return
	}

	name := commandName(req.Args)
	start := time.Now()
	resp := s.run(c, name, req.Request)
	s.log.Info("control: ran", "cmd", name, "exit", resp.Exit, "took", time.Since(start).Round(time.Millisecond))
	if err := s.reply(c, wireResponse{V: Version, Response: resp}); err != nil {
		s.log.Warn("control: the caller did not get the result", "cmd", name, "exit", resp.Exit, "err", err)
	}
}

// run calls the handler with a context that ends when the caller hangs
// up, the command's time is up, or the server closes. A panic becomes a
// failed command, so one bad command does not take the desk down.
func (s *Server) run(c *net.UnixConn, name string, req Request) (resp Response) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.commandTimeout)
	defer cancel()

	// The caller sends nothing after its request, so this read returns
	// only when it goes away (or when we stop it below).
	gone := make(chan struct{})
	c.SetReadDeadline(time.Time{})
	go func() {
		defer close(gone)
		var b [1]byte
		if _, err := c.Read(b[:]); !errors.Is(err, os.ErrDeadlineExceeded) {
			cancel()
		}
	}()
	defer func() {
		c.SetReadDeadline(time.Now())
		<-gone
	}()

	defer func() {
		if v := recover(); v != nil {
			s.log.Error("control: command panicked", "cmd", name, "panic", v, "stack", string(debug.Stack()))
			resp = Response{
				Stderr: []byte("till: internal error in the ledger's holder while running " + name + "; see its log\n"),
				Exit:   1,
			}
		}
	}()
	return s.h(ctx, req)
}

// reply sends r, or, when it is over MaxResponse, a failed result that
// says the output was lost (the command has run by then).
func (s *Server) reply(c *net.UnixConn, r wireResponse) error {
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if len(body) > MaxResponse {
		exit := r.Exit
		if exit == 0 {
			exit = 1
		}
		msg := fmt.Sprintf("till: the command ran (exit status %d) but its output, %d bytes, is over the %d bytes the control socket carries; the output is lost\n", r.Exit, len(body), MaxResponse)
		body, err = json.Marshal(wireResponse{V: Version, Response: Response{Stderr: []byte(msg), Exit: exit}})
		if err != nil {
			return err
		}
	}
	c.SetWriteDeadline(time.Now().Add(s.cfg.writeTimeout))
	return writeFrame(c, body)
}

// refuse answers that the command was not run, and why.
func (s *Server) refuse(c *net.UnixConn, why string) {
	if err := s.reply(c, wireResponse{V: Version, Error: why}); err != nil {
		s.log.Debug("control: sending refusal", "err", err)
	}
}

// commandName is what the log may say about args: the subcommand when
// args start with one. Anything else (a flag, or a value that could be a
// PIN) is not logged.
func commandName(args []string) string {
	if len(args) == 0 {
		return "(none)"
	}
	a := args[0]
	if a == "" || len(a) > 32 || a[0] < 'a' || a[0] > 'z' {
		return "(other)"
	}
	for _, r := range a {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return "(other)"
		}
	}
	return a
}
