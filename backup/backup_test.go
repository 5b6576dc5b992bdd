package backup_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"till/backup"
	"till/checkout"
	"till/store"
)

var shanghai = time.FixedZone("CST", 8*3600)

// ledger is a real store with one order in it.
func ledger(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "till.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	o := checkout.Order{No: "20261201100000000T1AAAA01", Method: checkout.MethodWeChat, Amount: 1230, State: checkout.StateCreated,
		CreatedAt: time.Date(2026, 12, 1, 10, 0, 0, 0, shanghai), Terminal: "T1"}
	if err := st.CreateOrder(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return st
}

// holdsTheOrder opens a copy as a ledger and finds the order in it.
func holdsTheOrder(t *testing.T, path string) {
	t.Helper()
	st, err := store.Open(path)
	if err != nil {
		t.Fatalf("the copy %s does not open: %v", path, err)
	}
	defer st.Close()
	if o, err := st.Order(context.Background(), "20261201100000000T1AAAA01"); err != nil || o.Amount != 1230 {
		t.Fatalf("the copy %s: %+v %v", path, o, err)
	}
	if err := st.Check(); err != nil {
		t.Fatalf("the copy %s fails bbolt's check: %v", path, err)
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// TestDailyCopiesAndPruning: one dated copy per shop day (the shop's
// calendar, not UTC's), written once; the daily copies and the close
// copies are each pruned to Keep, oldest first, and files that are not
// ours are left alone.
func TestDailyCopiesAndPruning(t *testing.T) {
	st := ledger(t)
	dir := filepath.Join(t.TempDir(), "backups")
	now := time.Date(2026, 11, 30, 16, 30, 0, 0, time.UTC) // 00:30 on 1 Dec in Shanghai
	k := &backup.Keeper{Dir: dir, Keep: 3, Src: st, Loc: shanghai, Now: func() time.Time { return now }}
	ctx := context.Background()

	path, err := k.Daily(ctx)
	if err != nil || filepath.Base(path) != "till-2026-12-01.db" {
		t.Fatalf("first daily copy: %q %v", path, err)
	}
	holdsTheOrder(t, path)
	if again, err := k.Daily(ctx); err != nil || again != "" {
		t.Fatalf("a second copy the same day: %q %v", again, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "till-2026-13-01.db"), []byte("not a day"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		now = now.Add(24 * time.Hour)
		if _, err := k.Daily(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for seq := 1; seq <= 5; seq++ {
		if _, err := k.AfterClose(ctx, "2026-12-0"+string(rune('0'+seq)), seq); err != nil {
			t.Fatal(err)
		}
	}
	got := names(t, dir)
	want := []string{"notes.txt", "till-2026-12-03-z3.db", "till-2026-12-03.db", "till-2026-12-04-z4.db", "till-2026-12-04.db",
		"till-2026-12-05-z5.db", "till-2026-12-05.db", "till-2026-13-01.db"}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("the directory holds\n%v\nwant\n%v", got, want)
	}
	st2 := k.Status()
	if st2.Failed || filepath.Base(st2.LastPath) != "till-2026-12-05-z5.db" || !st2.LastAt.Equal(now) {
		t.Fatalf("status %+v", st2)
	}
	holdsTheOrder(t, filepath.Join(dir, "till-2026-12-05-z5.db"))
}

// failing is a source whose copy breaks off half way.
type failing struct{ backup.Source }

func (f failing) Backup(ctx context.Context, w io.Writer) (int64, error) {
	_, _ = w.Write([]byte("half a ledger"))
	return 13, errors.New("disk full")
}

// TestAFailedCopyShowsAndLeavesNothingHalf: a copy that fails is in the
// status (for the manager's screen) and leaves neither a file under the
// copy's name nor a temporary one; the next good copy clears the failure.
// A directory that cannot be made fails the same way.
func TestAFailedCopyShowsAndLeavesNothingHalf(t *testing.T) {
	st := ledger(t)
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, shanghai)
	k := &backup.Keeper{Dir: dir, Src: failing{st}, Loc: shanghai, Now: func() time.Time { return now }}
	ctx := context.Background()
	if _, err := k.Daily(ctx); err == nil {
		t.Fatal("a failed copy reported success")
	}
	s := k.Status()
	if !s.Failed || !strings.Contains(s.Err, "disk full") || !s.FailedAt.Equal(now) || s.Dir != dir || !s.LastAt.IsZero() {
		t.Fatalf("status after the failure: %+v", s)
	}
	if left := names(t, dir); len(left) != 0 {
		t.Fatalf("a failed copy left %v", left)
	}
	k.Src = st
	if _, err := k.Daily(ctx); err != nil {
		t.Fatal(err)
	}
	if s := k.Status(); s.Failed || s.Err != "" || s.LastPath == "" {
		t.Fatalf("status after a good copy: %+v", s)
	}

	blocked := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocked, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	k2 := &backup.Keeper{Dir: filepath.Join(blocked, "backups"), Src: st, Loc: shanghai}
	if _, err := k2.AfterClose(ctx, "2026-12-01", 1); err == nil || !k2.Status().Failed {
		t.Fatalf("a directory under a file: %v %+v", err, k2.Status())
	}
}

// TestRunCopiesDailyAndRetriesAFailure: Run copies at once, then waits
// until just past the shop's next midnight; after a failure it tries
// again within RetryAfter instead.
func TestRunCopiesDailyAndRetriesAFailure(t *testing.T) {
	st := ledger(t)
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 22, 0, 0, 0, shanghai)
	k := &backup.Keeper{Dir: dir, Src: failing{st}, Loc: shanghai, Now: func() time.Time { return now }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	waits := make(chan time.Duration)
	fire := make(chan time.Time)
	done := make(chan struct{})
	go func() {
		k.Run(ctx, func(d time.Duration) <-chan time.Time { waits <- d; return fire })
		close(done)
	}()
	if d := <-waits; d != backup.RetryAfter {
		t.Fatalf("after a failure Run waits %v, want %v", d, backup.RetryAfter)
	}
	k.Src = st // the disk is back
	now = now.Add(backup.RetryAfter)
	fire <- now
	if d := <-waits; d != 2*time.Hour-backup.RetryAfter+time.Minute {
		t.Fatalf("after a good copy at 22:15 Run waits %v, want until 00:01", d)
	}
	if got := names(t, dir); len(got) != 1 || got[0] != "till-2026-12-01.db" {
		t.Fatalf("copies: %v", got)
	}
	now = time.Date(2026, 12, 2, 0, 1, 0, 0, shanghai)
	fire <- now
	<-waits
	if got := names(t, dir); len(got) != 2 || got[1] != "till-2026-12-02.db" {
		t.Fatalf("copies after midnight: %v", got)
	}
	cancel()
	<-done
}

// TestSandboxAndLiveCopiesKeepApart: a sandbox desk and a live one
// writing into one directory never take each other's names nor prune
// each other's copies.
func TestSandboxAndLiveCopiesKeepApart(t *testing.T) {
	st := ledger(t)
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, shanghai)
	clock := func() time.Time { return now }
	live := &backup.Keeper{Dir: dir, Keep: 1, Src: st, Loc: shanghai, Now: clock}
	sb := &backup.Keeper{Dir: dir, Keep: 1, Src: st, Loc: shanghai, Now: clock, Sandbox: true}
	ctx := context.Background()
	for range 2 {
		for _, k := range []*backup.Keeper{live, sb} {
			if p, err := k.Daily(ctx); err != nil || p == "" {
				t.Fatalf("daily copy: %q %v", p, err)
			}
		}
		now = now.Add(24 * time.Hour)
	}
	got := names(t, dir)
	slices.Sort(got)
	if want := []string{"till-2026-12-02.db", "till-sandbox-2026-12-02.db"}; !slices.Equal(got, want) {
		t.Fatalf("the directory holds %v, want %v", got, want)
	}
}
