package pgledger

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHolderInUse: the rules of Register on a terminal's row, without a
// database.
func TestHolderInUse(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 3, 10, 4, 0, 0, 0, time.UTC)
	const timeout = 2 * time.Minute
	live := holder{host: "a", pid: 100, since: now.Add(-time.Hour), beat: now.Add(-10 * time.Second), now: now}
	running := func(pid int, _ time.Time) bool { return pid == 100 }
	gone := func(int, time.Time) bool { return false }
	for _, c := range []struct {
		name    string
		h       func(holder) holder
		host    string
		pid     int
		running func(int, time.Time) bool
		refused bool
	}{
		{"live, another host", nil, "b", 200, running, true},
		{"live, this host, its process running", nil, "a", 200, running, true},
		{"live, this host, its process gone", nil, "a", 200, gone, false},
		{"live, another host, its pid gone here", nil, "b", 200, gone, true},
		{"live, this host, this very process", nil, "a", 100, running, false},
		{"closed", func(h holder) holder { h.terminated = true; return h }, "b", 200, running, false},
		{"silent just under the timeout", func(h holder) holder { h.beat = now.Add(-timeout + time.Millisecond); return h }, "b", 200, running, true},
		{"silent for the timeout", func(h holder) holder { h.beat = now.Add(-timeout); return h }, "b", 200, running, false},
	} {
		h := live
		if c.h != nil {
			h = c.h(h)
		}
		err := h.inUse("T1", c.host, c.pid, timeout, c.running)
		if (err != nil) != c.refused {
			t.Errorf("%s: refused %v, want %v", c.name, err, c.refused)
			continue
		}
		if err != nil && (err.Terminal != "T1" || err.Host != "a" || err.PID != 100 || !err.Since.Equal(h.since) || err.Beat != now.Sub(h.beat) || err.Timeout != timeout) {
			t.Errorf("%s: %+v", c.name, err)
		}
	}
}

// livePID is a process that runs until t ends; gonePID one that ran and
// was reaped.
func livePID(t *testing.T) int {
	t.Helper()
	cmd := osexec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd.Process.Pid
}

func gonePID(t *testing.T) int {
	t.Helper()
	cmd := osexec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func mustRegister(t *testing.T, l *Ledger, terminal, host string, pid int) *Registration {
	t.Helper()
	r, err := l.Register(t.Context(), terminal, host, pid)
	if err != nil {
		t.Fatalf("Register %s on %s, pid %d: %v", terminal, host, pid, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func mustRefuse(t *testing.T, l *Ledger, terminal, host string, pid int) *TerminalInUseError {
	t.Helper()
	r, err := l.Register(t.Context(), terminal, host, pid)
	var in *TerminalInUseError
	if !errors.As(err, &in) || !errors.Is(err, ErrTerminalInUse) {
		if r != nil {
			_ = r.Close()
		}
		t.Fatalf("Register %s on %s, pid %d: %v, want a TerminalInUseError", terminal, host, pid, err)
	}
	return in
}

// TestRegisterRefusesALiveDesk: a terminal another desk holds, beating,
// is refused to a desk on another host, and to one on the same host
// while the holder's process runs; the error names the terminal and the
// desk holding it.
func TestRegisterRefusesALiveDesk(t *testing.T) {
	t.Parallel()
	db := ledgerDB(t)
	a, b := openLedger(t, db), openLedger(t, db)
	holderPID := livePID(t)
	ra := mustRegister(t, a, "T1", "counter-1", holderPID)
	in := mustRefuse(t, b, "T1", "counter-2", os.Getpid())
	if in.Terminal != "T1" || in.Host != "counter-1" || in.PID != holderPID || !in.Since.Equal(ra.Since()) || in.Timeout != a.heartbeat {
		t.Errorf("the refusal: %+v, want T1 held by pid %d on counter-1 since %v", in, holderPID, ra.Since())
	}
	msg := in.Error()
	for _, want := range []string{"T1", "counter-1", fmt.Sprint(holderPID), in.Since.Format("2006-01-02 15:04:05")} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q should name %q", msg, want)
		}
	}
	mustRefuse(t, b, "T1", "counter-1", os.Getpid()) // the same host, its process running
	if live, err := b.LiveTerminals(t.Context(), time.Minute); err != nil || !live["T1"] || len(live) != 1 {
		t.Errorf("LiveTerminals: %v %v", live, err)
	}
	mustRegister(t, b, "T2", "counter-2", os.Getpid()) // another terminal is free
}

// TestRegisterTakesOver: the same terminal restarting on the same host
// after its process is gone takes over at once; a desk silent for the
// heartbeat timeout, or closed, is taken over from any host. A desk taken
// over finds out at its next beat, and its Close leaves the new desk's
// registration alone.
func TestRegisterTakesOver(t *testing.T) {
	t.Run("process gone", func(t *testing.T) {
		t.Parallel()
		db := ledgerDB(t)
		a, b := openLedger(t, db), openLedger(t, db)
		mustRegister(t, a, "T1", "counter-1", gonePID(t))
		r := mustRegister(t, b, "T1", "counter-1", os.Getpid())
		if n := count(t, db, `SELECT count(*) FROM terminals WHERE terminal = 'T1' AND pid = $1 AND gone_at IS NULL`, os.Getpid()); n != 1 {
			t.Fatal("the row does not name the new desk")
		}
		if r.Terminal() != "T1" {
			t.Errorf("Terminal() = %q", r.Terminal())
		}
	})
	t.Run("silent for the timeout", func(t *testing.T) {
		t.Parallel()
		db := ledgerDB(t)
		a, b := openLedger(t, db), openLedger(t, db)
		mustRegister(t, a, "T1", "counter-1", livePID(t))
		exec(t, db, `UPDATE terminals SET heartbeat_at = now() - interval '119 seconds'`)
		mustRefuse(t, b, "T1", "counter-2", os.Getpid())
		exec(t, db, `UPDATE terminals SET heartbeat_at = now() - interval '121 seconds'`)
		mustRegister(t, b, "T1", "counter-2", os.Getpid())
	})
	t.Run("closed", func(t *testing.T) {
		t.Parallel()
		db := ledgerDB(t)
		a, b := openLedger(t, db), openLedger(t, db)
		ra := mustRegister(t, a, "T1", "counter-1", livePID(t))
		if err := ra.Close(); err != nil {
			t.Fatal(err)
		}
		if live, _ := b.LiveTerminals(t.Context(), time.Minute); live["T1"] {
			t.Error("a closed desk is live")
		}
		mustRegister(t, b, "T1", "counter-2", os.Getpid())
		if live, _ := b.LiveTerminals(t.Context(), time.Minute); !live["T1"] {
			t.Error("the new desk is not live")
		}
	})
	t.Run("the old desk loses it", func(t *testing.T) {
		t.Parallel()
		db := ledgerDB(t)
		a := openLedger(t, db, WithHeartbeatTimeout(400*time.Millisecond))
		b := openLedger(t, db)
		ra := mustRegister(t, a, "T1", "counter-1", os.Getpid())
		// The same process registering again (a container's desk is
		// often pid 1 each time it starts) takes it over.
		mustRegister(t, b, "T1", "counter-1", os.Getpid())
		select {
		case <-ra.Lost():
		case <-time.After(2 * time.Second):
			t.Fatal("the desk taken over was not told")
		}
		if err := ra.Close(); err != nil {
			t.Fatal(err)
		}
		if live, _ := b.LiveTerminals(t.Context(), time.Minute); !live["T1"] {
			t.Error("the old desk's Close closed the new desk's registration")
		}
	})
}

// TestRegisterRace: desks on two hosts registering one terminal at once,
// new or closed: one gets it, the other is refused. For the closed one,
// both start while another transaction holds its row, so that both have
// read nothing yet when it lets go.
func TestRegisterRace(t *testing.T) {
	t.Parallel()
	db := ledgerDB(t)
	a, b := openLedger(t, db), openLedger(t, db)
	race := func(terminal string, meanwhile func()) {
		t.Helper()
		var wg sync.WaitGroup
		var ra, rb *Registration
		var errA, errB error
		wg.Go(func() { ra, errA = a.Register(t.Context(), terminal, "counter-1", os.Getpid()) })
		wg.Go(func() { rb, errB = b.Register(t.Context(), terminal, "counter-2", os.Getpid()) })
		meanwhile()
		wg.Wait()
		if (errA == nil) == (errB == nil) {
			t.Fatalf("%s: %v and %v, want exactly one refused", terminal, errA, errB)
		}
		for _, err := range []error{errA, errB} {
			if err != nil && !errors.Is(err, ErrTerminalInUse) {
				t.Fatalf("%s: %v", terminal, err)
			}
		}
		for _, r := range []*Registration{ra, rb} {
			if r != nil {
				_ = r.Close()
			}
		}
	}
	for i := range 5 {
		race(fmt.Sprint("NEW", i), func() {})
	}
	if err := mustRegister(t, a, "CLOSED", "counter-0", os.Getpid()).Close(); err != nil {
		t.Fatal(err)
	}
	tx, err := connect(t, db).Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(t.Context(), `SELECT 1 FROM terminals WHERE terminal = 'CLOSED' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	race("CLOSED", func() {
		time.Sleep(300 * time.Millisecond) // both are at the row
		_ = tx.Rollback(t.Context())
	})
}

// TestHeartbeat: a registered desk beats every quarter of the timeout
// and stays live; Close marks it gone; Close of its Ledger marks the
// desks still registered gone.
func TestHeartbeat(t *testing.T) {
	t.Parallel()
	db := ledgerDB(t)
	l := openLedger(t, db, WithHeartbeatTimeout(400*time.Millisecond))
	r := mustRegister(t, l, "T1", "counter-1", os.Getpid())
	beat := func() time.Time {
		var at time.Time
		if err := connect(t, db).QueryRow(t.Context(), `SELECT heartbeat_at FROM terminals WHERE terminal = 'T1'`).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	first := beat()
	time.Sleep(600 * time.Millisecond) // longer than the timeout
	if !beat().After(first) {
		t.Fatal("no heartbeat")
	}
	if live, err := l.LiveTerminals(t.Context(), 400*time.Millisecond); err != nil || !live["T1"] {
		t.Fatalf("a beating desk is not live: %v %v", live, err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	select {
	case <-r.Lost():
		t.Error("a desk closed was told it lost its terminal")
	default:
	}
	if live, _ := l.LiveTerminals(t.Context(), time.Minute); live["T1"] {
		t.Error("a closed desk is live")
	}

	other := openLedger(t, db)
	mustRegister(t, other, "T2", "counter-2", os.Getpid())
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM terminals WHERE terminal = 'T2' AND gone_at IS NOT NULL`); n != 1 {
		t.Error("closing the Ledger left its desk registered")
	}
}

// TestLiveTerminals: a terminal is live while it beat within the window
// asked for, on the database's clock: a Ledger whose own clock is years
// off sees the same.
func TestLiveTerminals(t *testing.T) {
	t.Parallel()
	db := ledgerDB(t)
	l := openLedger(t, db, WithClock(func() time.Time { return time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC) }))
	for _, id := range []string{"T1", "T2", "T3"} {
		mustRegister(t, l, id, "counter-"+id, os.Getpid()+len(id))
	}
	exec(t, db, `UPDATE terminals SET heartbeat_at = now() - interval '30 seconds' WHERE terminal = 'T2'`)
	exec(t, db, `UPDATE terminals SET gone_at = now() WHERE terminal = 'T3'`)
	for within, want := range map[time.Duration]string{time.Minute: "T1 T2", 10 * time.Second: "T1", 0: ""} {
		live, err := l.LiveTerminals(t.Context(), within)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, id := range []string{"T1", "T2", "T3"} {
			if live[id] {
				got = append(got, id)
			}
		}
		if strings.Join(got, " ") != want || len(live) != len(got) {
			t.Errorf("live within %v: %v, want %s", within, live, want)
		}
	}
}

// TestKilledDesk: a desk process killed (kill -9) while it holds an
// order's lock and its terminal: the lock is let go at once, and the
// desk restarted on the same host takes its terminal back at once.
func TestKilledDesk(t *testing.T) {
	t.Parallel()
	db := freshDB(t)
	l := openLedger(t, db)
	cmd := osexec.Command(os.Args[0], "-test.run=^TestHelperDesk$")
	cmd.Env = append(os.Environ(), "TILL_TEST_DESK_DB="+db)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "held" {
				ready <- true
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("the desk process ended before it held its lock")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the desk process did not hold its lock")
	}
	waiting := lockAsync(t.Context(), l, "O9")
	stillWaiting(t, waiting, "while the desk process holds it")
	mustRefuse(t, l, "T9", "counter-9", os.Getpid())
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	got := arrives(t, waiting, "after the kill")
	if got.err != nil {
		t.Fatal(got.err)
	}
	got.release()
	mustRegister(t, l, "T9", "counter-9", os.Getpid())
}

// TestHelperDesk is the desk process of TestKilledDesk, run only by it:
// it registers terminal T9, locks order O9, says "held" and waits to be
// killed.
func TestHelperDesk(t *testing.T) {
	db := os.Getenv("TILL_TEST_DESK_DB")
	if db == "" {
		t.Skip("the desk process of TestKilledDesk")
	}
	ctx := context.Background()
	l, err := Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Register(ctx, "T9", "counter-9", os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if _, err := l.LockOrder(ctx, "O9"); err != nil {
		t.Fatal(err)
	}
	fmt.Println("held")
	time.Sleep(time.Minute)
}
