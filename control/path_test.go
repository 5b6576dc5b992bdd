package control

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestSocketPathBesideLedger(t *testing.T) {
	d := shortDir(t)
	got, err := SocketPath(filepath.Join(d, "till.db"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(d, "till.db.sock"); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestSocketPathIsAbsolute(t *testing.T) {
	d := shortDir(t)
	t.Chdir(d)
	got, err := SocketPath("till.db")
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if want := filepath.Join(wd, "till.db.sock"); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// longLedger is a ledger path whose socket would not fit a socket address.
func longLedger(t *testing.T, name string) string {
	p := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 40), name)
	if len(p)+len(".sock") <= maxPath {
		t.Fatalf("%s is not long enough", p)
	}
	return p
}

func TestSocketPathFallsBackToRuntimeDir(t *testing.T) {
	run := shortDir(t) // MkdirTemp makes it 0700, as XDG_RUNTIME_DIR is
	t.Setenv("XDG_RUNTIME_DIR", run)
	ledger := longLedger(t, "till.db")
	p1, err := SocketPath(ledger)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(p1) != run || len(p1) > maxPath {
		t.Errorf("got %s, want a short name in %s", p1, run)
	}
	if p2, _ := SocketPath(ledger); p2 != p1 {
		t.Errorf("not deterministic: %s, then %s", p1, p2)
	}
	if other, _ := SocketPath(filepath.Join(filepath.Dir(ledger), "other.db")); other == p1 {
		t.Errorf("two ledgers share %s", p1)
	}

	// And the path works.
	s, err := Listen(p1, echo, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := string(mustCall(t, p1, Request{Args: []string{"orders"}}).Stdout); got != "orders" {
		t.Errorf("stdout %q", got)
	}
}

func TestSocketPathFallsBackToTempDir(t *testing.T) {
	tmp := shortDir(t)
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("TMPDIR", tmp)
	p, err := SocketPath(longLedger(t, "till.db"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "till-"+strconv.Itoa(os.Getuid()))
	if filepath.Dir(p) != dir {
		t.Errorf("got %s, want it in %s", p, dir)
	}
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("%s: %v, %v; want a 0700 directory", dir, fi, err)
	}
}

func TestSocketPathRefusesSharedDir(t *testing.T) {
	tmp := shortDir(t)
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("TMPDIR", tmp)
	dir := filepath.Join(tmp, "till-"+strconv.Itoa(os.Getuid()))
	ledger := longLedger(t, "till.db")

	// Somebody made it open to all.
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if p, err := SocketPath(ledger); err == nil {
		t.Errorf("got %s from a 0777 directory", p)
	}

	// Or put a file, or a link, there.
	os.Remove(dir)
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if p, err := SocketPath(ledger); err == nil {
		t.Errorf("got %s beneath a regular file", p)
	}
	os.Remove(dir)
	target := shortDir(t)
	if err := os.Symlink(target, dir); err != nil {
		t.Fatal(err)
	}
	if p, err := SocketPath(ledger); err == nil {
		t.Errorf("got %s through a symlink", p)
	}
}
