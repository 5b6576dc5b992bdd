package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"till/proc"
)

// readOwnerFile parses the owner file beside path as it is on disk.
func readOwnerFile(t *testing.T, path string) ownerJSON {
	t.Helper()
	b, err := os.ReadFile(OwnerPath(path))
	if err != nil {
		t.Fatalf("owner file: %v", err)
	}
	var j ownerJSON
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatalf("owner file %q: %v", b, err)
	}
	return j
}

// putOwner writes an owner file beside path as another process would.
func putOwner(t *testing.T, path string, o Owner) {
	t.Helper()
	if _, err := writeOwner(path, o); err != nil {
		t.Fatal(err)
	}
}

// deadPID is the pid of a process that has come and gone.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.Pid()
}

// livePID is the pid of a process that lives until the test ends.
func livePID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd.Process.Pid
}

func assertNoOwnerFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(OwnerPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("owner file after Close: %v", err)
	}
}

func TestOwnerFileWrittenAndRemovedOnClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "till.db")
	before := time.Now().Truncate(time.Second)
	s, err := Open(path, WithLockTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(OwnerPath(path))
	if err != nil {
		t.Fatalf("no owner file beside the open ledger: %v", err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("owner file mode = %o, want 600", got)
	}
	j := readOwnerFile(t, path)
	if j.PID != os.Getpid() {
		t.Errorf("pid = %d, want %d", j.PID, os.Getpid())
	}
	if j.Command != ownerCommand() || !strings.HasPrefix(j.Command, filepath.Base(os.Args[0])) {
		t.Errorf("command = %q, want %q", j.Command, ownerCommand())
	}
	if strings.Contains(j.Command, "-test.") {
		t.Errorf("command %q carries the flags", j.Command)
	}
	since, err := time.Parse(time.RFC3339, j.Since)
	if err != nil || strings.HasSuffix(j.Since, "Z") {
		t.Errorf("since %q is not RFC 3339 with a numeric offset (%v)", j.Since, err)
	}
	if since.Before(before) || since.After(time.Now()) {
		t.Errorf("since = %v, want about now (%v)", since, before)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	assertNoOwnerFile(t, path)

	// The raw file the sandbox opens does the same.
	raw := filepath.Join(t.TempDir(), "sandbox.db")
	f, err := OpenFile(raw, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if j := readOwnerFile(t, raw); j.PID != os.Getpid() {
		t.Errorf("sandbox owner pid = %d", j.PID)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	assertNoOwnerFile(t, raw)
}

func TestLockedErrorNamesTheHolder(t *testing.T) {
	s, _ := mustOpen(t)

	// The holder is this process, as its own owner file says.
	_, err := Open(s.Path(), WithLockTimeout(200*time.Millisecond))
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want a *LockedError", err)
	}
	if !errors.Is(err, ErrLocked) || le.Path != s.Path() {
		t.Errorf("err = %v, Path %q", err, le.Path)
	}
	if le.Owner == nil || le.Owner.PID != os.Getpid() || le.Owner.Command != ownerCommand() {
		t.Fatalf("Owner = %+v, want this process", le.Owner)
	}
	if want := fmt.Sprintf("pid %d", os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Errorf("message %q does not name %s", err, want)
	}

	// Another live process named in the owner file is named in the message.
	pid := livePID(t)
	since := time.Now().Truncate(time.Second)
	putOwner(t, s.Path(), Owner{PID: pid, Command: "till desk", Since: since})
	_, err = Open(s.Path(), WithLockTimeout(200*time.Millisecond))
	want := fmt.Sprintf("till.db is in use by another till (till desk, pid %d, since %s; %s): close the other desk first",
		pid, since.Format("15:04"), s.Path())
	if err == nil || err.Error() != want {
		t.Errorf("message\n %v\nwant\n %s", err, want)
	}
	if !errors.As(err, &le) || le.Owner == nil || le.Owner.PID != pid || !le.Owner.Since.Equal(since) {
		t.Errorf("Owner = %+v", le.Owner)
	}

	// Not today: the date too.
	yesterday := since.AddDate(0, 0, -1)
	if got := (Owner{PID: pid, Command: "till desk", Since: yesterday}).String(); !strings.Contains(got, "since "+yesterday.Format("2006-01-02 15:04")) {
		t.Errorf("%q does not give yesterday's date", got)
	}

	// Control characters in the file do not reach the message.
	putOwner(t, s.Path(), Owner{PID: pid, Command: "till\x1b[2J desk", Since: since})
	_, err = Open(s.Path(), WithLockTimeout(200*time.Millisecond))
	if err == nil || strings.ContainsRune(err.Error(), 0x1b) {
		t.Errorf("message %q carries an escape", err)
	}
}

func TestStaleOwnerFileIsIgnored(t *testing.T) {
	dead := deadPID(t)
	path := filepath.Join(t.TempDir(), "till.db")

	// A kill -9 left an owner file: the next holder overwrites it.
	putOwner(t, path, Owner{PID: dead, Command: "till desk", Since: time.Now().Add(-time.Hour)})
	s, _ := mustOpenAt(t, path)
	if j := readOwnerFile(t, path); j.PID != os.Getpid() {
		t.Errorf("owner pid = %d after Open, want %d (the stale %d overwritten)", j.PID, os.Getpid(), dead)
	}

	for name, content := range map[string]string{
		"dead pid": fmt.Sprintf(`{"pid":%d,"command":"till desk","since":"2026-03-10T14:03:00+08:00"}`, dead),
		"garbage":  "not json\n",
		"no pid":   `{"command":"till desk","since":"2026-03-10T14:03:00+08:00"}`,
		"pid -1":   `{"pid":-1,"command":"till desk","since":"2026-03-10T14:03:00+08:00"}`,
		"no since": fmt.Sprintf(`{"pid":%d,"command":"till desk"}`, os.Getpid()),
	} {
		if err := os.WriteFile(OwnerPath(path), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Open(s.Path(), WithLockTimeout(200*time.Millisecond))
		var le *LockedError
		if !errors.As(err, &le) {
			t.Fatalf("%s: err = %v, want a *LockedError", name, err)
		}
		if le.Owner != nil {
			t.Errorf("%s: Owner = %+v, want nil", name, le.Owner)
		}
		want := fmt.Sprintf("till.db is in use by another till (%s): close the other desk first", path)
		if err.Error() != want {
			t.Errorf("%s: message %q, want %q", name, err, want)
		}
	}

	// Unreadable: a directory where the file should be.
	if err := os.Remove(OwnerPath(path)); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(OwnerPath(path), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Open(s.Path(), WithLockTimeout(200*time.Millisecond))
	var le *LockedError
	if !errors.As(err, &le) || le.Owner != nil {
		t.Errorf("owner file a directory: err = %v", err)
	}
	if err := os.Remove(OwnerPath(path)); err != nil {
		t.Fatal(err)
	}
}

func TestCloseLeavesAnotherOwnerFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "till.db")
	s, err := Open(path, WithLockTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	// Someone else's record (a holder that ignored the lock): not ours to remove.
	other := Owner{PID: livePID(t), Command: "till desk", Since: time.Now().Truncate(time.Second)}
	putOwner(t, path, other)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if j := readOwnerFile(t, path); j.PID != other.PID {
		t.Errorf("owner file now names %d, want %d", j.PID, other.PID)
	}
}

func TestWaitingIsToldWhoHoldsTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "till.db")
	first, err := Open(path, WithLockTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			first.Close()
		}
	})

	// Held for good: told once, then refused at the lock timeout.
	var told []*Owner
	start := time.Now()
	_, err = Open(path, WithLockTimeout(400*time.Millisecond), WithWaiting(func(h *Owner) { told = append(told, h) }))
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v, want ErrLocked", err)
	}
	if took := time.Since(start); took < 300*time.Millisecond || took > 2*time.Second {
		t.Errorf("refused after %v, want about the 400ms lock timeout", took)
	}
	if len(told) != 1 || told[0] == nil || told[0].PID != os.Getpid() {
		t.Fatalf("told %+v, want once, naming this process", told)
	}

	// Let go while the second waits: told once, and then it opens.
	told = nil
	s, err := Open(path, WithLockTimeout(2*time.Second), WithWaiting(func(h *Owner) {
		told = append(told, h)
		if err := first.Close(); err != nil {
			t.Error(err)
		}
		closed = true
	}))
	if err != nil {
		t.Fatalf("Open after the holder let go: %v", err)
	}
	defer s.Close()
	if len(told) != 1 || told[0] == nil {
		t.Errorf("told %+v, want once with the holder", told)
	}
	if j := readOwnerFile(t, path); j.PID != os.Getpid() {
		t.Errorf("owner pid = %d", j.PID)
	}
	// The new holder's file outlived the old holder's Close.
	if err := s.Check(); err != nil {
		t.Error(err)
	}
}

func TestWaitingNotToldWhenFree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "till.db")
	var told int
	s, err := Open(path, WithLockTimeout(time.Second), WithWaiting(func(*Owner) { told++ }))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, WithLockTimeout(time.Second), WithWaiting(func(*Owner) { told++ }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if told != 0 {
		t.Errorf("told %d times about a free file", told)
	}
}

func TestWaitingUnknownHolder(t *testing.T) {
	s, _ := mustOpen(t)
	putOwner(t, s.Path(), Owner{PID: deadPID(t), Command: "till desk", Since: time.Now()})
	var told []*Owner
	_, err := Open(s.Path(), WithLockTimeout(300*time.Millisecond), WithWaiting(func(h *Owner) { told = append(told, h) }))
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v", err)
	}
	if len(told) != 1 || told[0] != nil {
		t.Errorf("told %+v, want once with no holder", told)
	}
}

func TestOwnerCommandHasNoFlags(t *testing.T) {
	saved := os.Args
	t.Cleanup(func() { os.Args = saved })
	for args, want := range map[string]string{
		"/usr/local/bin/till":                                 "till",
		"/usr/local/bin/till sandbox":                         "till sandbox",
		"till --db /x/till.db desk":                           "till",
		"till desk --config secret.toml":                      "till desk",
		"till example-config":                                 "till example-config",
		"/tmp/go-build1/b001/exe/till Sandbox":                "till",
		"till a b c d":                                        "till a b",
		"till sk_live_1234567890abcdefghijklmnopqrstuvwxyzAB": "till",
	} {
		os.Args = strings.Fields(args)
		if got := ownerCommand(); got != want {
			t.Errorf("%q: %q, want %q", args, got, want)
		}
	}
}

// TestReusedPIDIsNotTheOwner: an owner file whose pid now belongs to a
// process started after the file was written (the writer died, the pid
// came round again) names no one.
func TestReusedPIDIsNotTheOwner(t *testing.T) {
	if _, ok := proc.Start(os.Getpid()); !ok {
		t.Skip("no /proc here: the pid is believed")
	}
	path := filepath.Join(t.TempDir(), "till.db")
	pid := livePID(t)
	putOwner(t, path, Owner{PID: pid, Command: "till desk", Since: time.Now().Add(-24 * time.Hour)})
	if o := readOwner(path); o != nil {
		t.Errorf("a process started today was taken for the owner since yesterday: %+v", o)
	}
	putOwner(t, path, Owner{PID: pid, Command: "till desk", Since: time.Now().Truncate(time.Second)})
	if o := readOwner(path); o == nil || o.PID != pid {
		t.Errorf("the live owner was not named: %+v", o)
	}
}

// TestOwnerFileIsNotWrittenThroughASymlink: a symlink planted where the
// old fixed temporary name was does not redirect the write.
func TestOwnerFileIsNotWrittenThroughASymlink(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "till.db")
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, OwnerPath(path)+".tmp"); err != nil {
		t.Fatal(err)
	}
	putOwner(t, path, Owner{PID: os.Getpid(), Command: "till", Since: time.Now()})
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Fatalf("the symlink's target was written: %q", b)
	}
	fi, err := os.Lstat(OwnerPath(path))
	if err != nil || fi.Mode()&os.ModeSymlink != 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("owner file: %v %v", fi, err)
	}
	left, _ := filepath.Glob(OwnerPath(path) + ".*.tmp")
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestLeftoverTemporaryOwnerFilesAreRemoved: the temporary files a crash
// left between create and rename, and an older till's fixed name, go when
// the next holder takes the lock.
func TestLeftoverTemporaryOwnerFilesAreRemoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "till.db")
	for _, name := range []string{OwnerPath(path) + ".123.tmp", OwnerPath(path) + ".tmp"} {
		if err := os.WriteFile(name, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(path, WithLockTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	left, _ := filepath.Glob(OwnerPath(path) + "*tmp")
	if len(left) != 0 {
		t.Errorf("left after the lock was taken: %v", left)
	}
}
