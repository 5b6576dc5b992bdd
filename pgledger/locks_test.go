package pgledger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"till/checkout"
	"till/ledgertest"
)

// The order locks, between Ledgers that each have their own pools, as
// two desks (two processes) have them.

// locked is a LockOrder that was started: done delivers its outcome.
type locked struct {
	release func()
	err     error
}

func lockAsync(ctx context.Context, l *Ledger, no string) <-chan locked {
	done := make(chan locked, 1)
	go func() {
		release, err := l.LockOrder(ctx, no)
		done <- locked{release, err}
	}()
	return done
}

// mustLock takes no's lock within a few seconds.
func mustLock(t *testing.T, l *Ledger, no string) func() {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	release, err := l.LockOrder(ctx, no)
	if err != nil {
		t.Fatalf("LockOrder %s: %v", no, err)
	}
	return release
}

// stillWaiting fails unless done delivers nothing for a while.
func stillWaiting(t *testing.T, done <-chan locked, what string) {
	t.Helper()
	select {
	case got := <-done:
		if got.release != nil {
			got.release()
		}
		t.Fatalf("%s: got the lock (err %v) while another held it", what, got.err)
	case <-time.After(300 * time.Millisecond):
	}
}

// arrives is what done delivers within a few seconds.
func arrives(t *testing.T, done <-chan locked, what string) locked {
	t.Helper()
	select {
	case got := <-done:
		return got
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: still waiting", what)
		return locked{}
	}
}

// advisoryLocks counts the database's advisory locks held (granted) and
// waited for.
func advisoryLocks(t *testing.T, db string) (held, waiting int) {
	t.Helper()
	const q = `SELECT count(*) FILTER (WHERE granted), count(*) FILTER (WHERE NOT granted) FROM pg_locks
		WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`
	conn := connect(t, db)
	if err := conn.QueryRow(t.Context(), q).Scan(&held, &waiting); err != nil {
		t.Fatal(err)
	}
	return held, waiting
}

// TestLockOrderAcrossDesks: while one desk holds an order's lock, another
// desk waits for it (and not for another order's), and gets it as soon
// as the first lets it go.
func TestLockOrderAcrossDesks(t *testing.T) {
	t.Parallel()
	db := freshDB(t)
	a, b := openLedger(t, db), openLedger(t, db)
	release := mustLock(t, a, "O1")
	waiting := lockAsync(t.Context(), b, "O1")
	stillWaiting(t, waiting, "the second desk")
	mustLock(t, b, "O2")() // another order is not held up
	if held, _ := advisoryLocks(t, db); held != 1 {
		t.Fatalf("%d advisory locks held, want O1's", held)
	}
	start := time.Now()
	release()
	got := arrives(t, waiting, "the second desk, after the release")
	if got.err != nil {
		t.Fatal(got.err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the lock took %v to pass on", d)
	}
	again := lockAsync(t.Context(), a, "O1")
	stillWaiting(t, again, "the first desk, now that the second holds it")
	got.release()
	got.release() // a second call does nothing
	if got := arrives(t, again, "the first desk again"); got.err != nil {
		t.Fatal(got.err)
	} else {
		got.release()
	}
}

// TestLockOrderGivesUpWithItsContext: a wait whose context ends returns
// its error, holding nothing and leaving no waiter queued on the server;
// the holder's release passes the lock to the next desk at once.
func TestLockOrderGivesUpWithItsContext(t *testing.T) {
	t.Parallel()
	db := freshDB(t)
	a, b := openLedger(t, db), openLedger(t, db)
	release := mustLock(t, a, "O1")
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	r, err := b.LockOrder(ctx, "O1")
	if err == nil {
		r()
		t.Fatal("LockOrder returned the lock another desk holds")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want one wrapping the context's", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("gave up after %v, its context ended after 200ms", d)
	}
	if held, waiting := advisoryLocks(t, db); held != 1 || waiting != 0 {
		t.Errorf("after the give-up: %d held, %d waiting; want a's alone", held, waiting)
	}
	cancelled, stop := context.WithCancel(t.Context())
	waiter := lockAsync(cancelled, b, "O1")
	stillWaiting(t, waiter, "a cancelled wait")
	stop()
	if got := arrives(t, waiter, "a cancelled wait"); !errors.Is(got.err, context.Canceled) {
		t.Errorf("cancelled: %v", got.err)
	}
	release()
	mustLock(t, b, "O1")()
}

// TestLockOrderHolderGone: a lock whose holder's connection dies (the
// server ends it) is let go, and another desk takes it; the holder's
// release does nothing then. A Ledger closed while it holds locks lets
// them go without waiting for their release.
func TestLockOrderHolderGone(t *testing.T) {
	t.Run("connection ended", func(t *testing.T) {
		t.Parallel()
		db := freshDB(t)
		a, b := openLedger(t, db), openLedger(t, db)
		release := mustLock(t, a, "O1")
		waiting := lockAsync(t.Context(), b, "O1")
		stillWaiting(t, waiting, "the second desk")
		exec(t, db, `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)
		got := arrives(t, waiting, "the second desk, once the holder's connection was ended")
		if got.err != nil {
			t.Fatal(got.err)
		}
		release() // on a dead connection: returns, and lets go of nothing
		stillWaiting(t, lockAsync(t.Context(), a, "O1"), "the first desk, after its dead release")
		got.release()
	})
	t.Run("ledger closed", func(t *testing.T) {
		t.Parallel()
		db := freshDB(t)
		a, b := openLedger(t, db), openLedger(t, db)
		release := mustLock(t, a, "O1")
		mustLock(t, a, "O2")
		waiter := lockAsync(context.Background(), a, "O1") // waits on a's own lock
		closed := make(chan error, 1)
		go func() { closed <- a.Close() }()
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Fatal("Close waited for the locks' release")
		}
		if got := arrives(t, waiter, "a wait on a closed ledger"); !errors.Is(got.err, ErrClosed) {
			t.Errorf("a wait when the ledger closed: %v", got.err)
		}
		mustLock(t, b, "O1")()
		mustLock(t, b, "O2")()
		release() // after Close: does nothing
		if _, err := a.LockOrder(t.Context(), "O3"); !errors.Is(err, ErrClosed) {
			t.Errorf("LockOrder on a closed ledger: %v", err)
		}
	})
}

// TestManyLocksLeaveThePool: a desk holding the locks of more orders than
// its transactions' pool has connections still runs its transactions;
// the locks are capped by WithLockConns, and one more waits for a free
// lock connection.
func TestManyLocksLeaveThePool(t *testing.T) {
	t.Parallel()
	db := freshDB(t)
	const n = 8
	l := openLedger(t, db+"&pool_max_conns=2", WithLockConns(n))
	var releases []func()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := mustLock(t, l, fmt.Sprint("O", i))
			mu.Lock()
			releases = append(releases, r)
			mu.Unlock()
		})
	}
	wg.Wait()
	if held, _ := advisoryLocks(t, db); held != n {
		t.Fatalf("%d locks held, want %d", held, n)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for i := range n {
		no := fmt.Sprint("O", i)
		if err := l.CreateOrder(ctx, ledgertest.NewOrder(no, time.Now(), 100)); err != nil {
			t.Fatalf("CreateOrder %s under its lock: %v", no, err)
		}
		if _, err := l.Advance(ctx, no, checkout.StateAwaiting, nil); err != nil {
			t.Fatalf("Advance %s under its lock: %v", no, err)
		}
	}
	short, stop := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer stop()
	if r, err := l.LockOrder(short, "one more"); err == nil {
		r()
		t.Error("a lock beyond WithLockConns was taken")
	}
	for _, r := range releases {
		r()
	}
	mustLock(t, l, "one more")()
	if held, _ := advisoryLocks(t, db); held != 0 {
		t.Errorf("%d locks still held after every release", held)
	}
}
