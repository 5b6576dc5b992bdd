package pgledger

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"till/checkout"
	"till/ledgertest"
)

// next is the next change ch delivers within a few seconds.
func next(t *testing.T, ch <-chan checkout.LedgerChange, what string) checkout.LedgerChange {
	t.Helper()
	select {
	case c, ok := <-ch:
		if !ok {
			t.Fatalf("%s: the channel was closed", what)
		}
		return c
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: nothing announced", what)
		return checkout.LedgerChange{}
	}
}

// quiet fails if ch delivers anything for a while.
func quiet(t *testing.T, ch <-chan checkout.LedgerChange, what string) {
	t.Helper()
	select {
	case c := <-ch:
		t.Fatalf("%s: announced %+v", what, c)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestWatchAcrossDesks: every change one desk commits reaches another
// desk's Watch, once, naming the order, its refund and the order's
// terminal (whoever made the change); a day's close names the terminal
// that closed it; reads and refused changes announce nothing.
func TestWatchAcrossDesks(t *testing.T) {
	t.Parallel()
	db := ledgerDB(t)
	a, b := openLedger(t, db), openLedger(t, db)
	ch := b.Watch(t.Context())
	other := checkout.WithActor(t.Context(), checkout.Actor{Terminal: "T2", Operator: "manager", Via: "cli"})
	o1 := ledgertest.NewOrder("O1", time.Now(), 1000)
	o2 := ledgertest.NewOrder("O2", time.Now(), 500)
	o2.Terminal = "T3"
	day := time.Now().Truncate(24 * time.Hour)
	for _, c := range []struct {
		name string
		do   func() error
		want checkout.LedgerChange
	}{
		{"CreateOrder", func() error { return a.CreateOrder(other, o1) }, checkout.LedgerChange{Order: "O1", Terminal: "T1"}},
		{"Advance", func() error { _, err := a.Advance(other, "O1", checkout.StateAwaiting, nil); return err }, checkout.LedgerChange{Order: "O1", Terminal: "T1"}},
		{"Update", func() error {
			_, err := a.Update(other, "O1", func(o *checkout.Order) error { o.ProviderSaid = "NOTPAY"; return nil })
			return err
		}, checkout.LedgerChange{Order: "O1", Terminal: "T1"}},
		{"paid", func() error { _, err := a.Advance(other, "O1", checkout.StatePaid, nil); return err }, checkout.LedgerChange{Order: "O1", Terminal: "T1"}},
		{"CreateRefund", func() error {
			_, err := a.CreateRefund(other, checkout.Refund{No: "R1", OrderNo: "O1", Amount: 300, State: checkout.RefundRequested})
			return err
		}, checkout.LedgerChange{Order: "O1", Refund: "R1", Terminal: "T1"}},
		{"UpdateRefund", func() error {
			_, err := a.UpdateRefund(other, "R1", func(r *checkout.Refund) error { r.Sent = true; return nil })
			return err
		}, checkout.LedgerChange{Order: "O1", Refund: "R1", Terminal: "T1"}},
		{"SettleRefund", func() error { _, _, err := a.SettleRefund(other, "R1", checkout.RefundSucceeded, nil); return err },
			checkout.LedgerChange{Order: "O1", Refund: "R1", Terminal: "T1"}},
		{"PaidAndRefunded", func() error {
			if err := a.CreateOrder(t.Context(), o2); err != nil {
				return err
			}
			if c := next(t, ch, "O2 created"); c.Order != "O2" {
				t.Errorf("O2 created: %+v", c)
			}
			_, err := a.PaidAndRefunded(other, "O2", nil, checkout.Refund{No: "R2", OrderNo: "O2", Amount: 500})
			return err
		}, checkout.LedgerChange{Order: "O2", Refund: "R2", Terminal: "T3"}},
		{"CloseDay", func() error {
			_, err := a.CloseDay(other, day, day.Add(24*time.Hour), day.Format(time.DateOnly), func(rec checkout.DayRecords) (checkout.DayClose, error) {
				return checkout.NewDayClose(rec, time.UTC, "", checkout.Actor{}), nil
			})
			return err
		}, checkout.LedgerChange{Terminal: "T2"}},
	} {
		if err := c.do(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := next(t, ch, c.name); got != c.want {
			t.Errorf("%s announced %+v, want %+v", c.name, got, c.want)
		}
	}
	// Reads, and changes refused, announce nothing.
	if _, err := a.Order(t.Context(), "O1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Advance(other, "O1", checkout.StateAwaiting, nil); !errors.Is(err, checkout.ErrTransition) {
		t.Fatalf("a move back: %v", err)
	}
	if err := a.CreateOrder(other, o1); !errors.Is(err, checkout.ErrExists) {
		t.Fatalf("O1 again: %v", err)
	}
	if _, err := a.CreateRefund(other, checkout.Refund{No: "R3", OrderNo: "O1", Amount: 800, State: checkout.RefundRequested}); !errors.Is(err, checkout.ErrRefundAboveBalance) {
		t.Fatalf("a refund above the balance: %v", err)
	}
	if _, err := a.Append(other, checkout.AuditEntry{Kind: checkout.AuditRefundRefused, Order: "O1"}); err != nil {
		t.Fatal(err)
	}
	quiet(t, ch, "reads and refusals")
}

// TestWatchOnlyCommitted: an announcement reaches the other desks when
// its transaction commits, not before; one whose transaction rolls back
// after it announced never does.
func TestWatchOnlyCommitted(t *testing.T) {
	t.Parallel()
	db := ledgerDB(t)
	a, b := openLedger(t, db), openLedger(t, db)
	ch := b.Watch(t.Context())
	rolledBack := errors.New("rolled back")
	err := a.update(t.Context(), func(w *wtx) error {
		w.announce("O1", "", "T1")
		if err := w.notify(); err != nil {
			return err
		}
		return rolledBack
	})
	if !errors.Is(err, rolledBack) {
		t.Fatal(err)
	}
	quiet(t, ch, "a rolled-back change")
	if err := a.update(t.Context(), func(w *wtx) error {
		w.announce("O2", "", "T1")
		if err := w.notify(); err != nil {
			return err
		}
		quiet(t, ch, "a change not committed yet")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if c := next(t, ch, "the commit"); c.Order != "O2" {
		t.Fatalf("after the commit: %+v", c)
	}
}

// TestWatchReconnects: when the listening connection is ended (by the
// server, here on another connection's word), Watch connects again, says
// Reload, and delivers the changes committed after.
func TestWatchReconnects(t *testing.T) {
	t.Parallel()
	db := ledgerDB(t)
	a, b := openLedger(t, db), openLedger(t, db)
	pids := make(chan uint32, 4)
	b.onListen = func(pid uint32) { pids <- pid }
	ch := b.Watch(t.Context())
	first := <-pids
	exec(t, db, `SELECT pg_terminate_backend($1)`, first)
	if c := next(t, ch, "after the drop"); c != (checkout.LedgerChange{Reload: true}) {
		t.Fatalf("after the drop: %+v, want a Reload", c)
	}
	if again := <-pids; again == first {
		t.Fatalf("listening on the ended connection %d again", first)
	}
	mustPaid(t, a, "O1")
	for _, what := range []string{"created", "awaiting", "paid"} {
		if c := next(t, ch, what); c.Order != "O1" || c.Reload {
			t.Fatalf("%s, after the reconnect: %+v", what, c)
		}
	}
}

// TestWatchSilence: a connection that hears nothing for a while is asked
// whether it is still there, and is kept when it answers: no reconnect,
// no Reload, and the next change still comes.
func TestWatchSilence(t *testing.T) {
	t.Parallel()
	db := ledgerDB(t)
	a, b := openLedger(t, db), openLedger(t, db)
	b.watchPing = 50 * time.Millisecond
	listens := make(chan uint32, 4)
	b.onListen = func(pid uint32) { listens <- pid }
	ch := b.Watch(t.Context())
	quiet(t, ch, "six silences") // six pings
	if err := a.CreateOrder(t.Context(), ledgertest.NewOrder("O1", time.Now(), 100)); err != nil {
		t.Fatal(err)
	}
	if c := next(t, ch, "after the silences"); c.Order != "O1" {
		t.Fatalf("after the silences: %+v", c)
	}
	if n := len(listens); n != 1 {
		t.Errorf("listened %d times, want once", n)
	}
}

// TestWatchFirstConnectFails: a Watch that cannot listen at once keeps
// trying, and says Reload when it listens.
func TestWatchFirstConnectFails(t *testing.T) {
	t.Parallel()
	db := ledgerDB(t)
	l := openLedger(t, db)
	later := freshDB(t) // a database Watch is pointed at, absent at first
	u, _ := url.Parse(later)
	name := u.Path[1:]
	exec(t, testServer(t), `DROP DATABASE `+pgx.Identifier{name}.Sanitize())
	l.conn.Database = name
	listened := make(chan uint32, 1)
	l.onListen = func(pid uint32) { listened <- pid }
	ch := l.Watch(t.Context())
	select {
	case <-listened:
		t.Fatal("listened on a database that is not there")
	default:
	}
	exec(t, testServer(t), `CREATE DATABASE `+pgx.Identifier{name}.Sanitize())
	if c := next(t, ch, "once it listens"); c != (checkout.LedgerChange{Reload: true}) {
		t.Fatalf("once it listens: %+v, want a Reload", c)
	}
}

// TestWatchEnds: the channel is closed when Watch's context ends, and
// when its Ledger is closed; a NOTIFY on the channel that is not an
// announcement asks for a reload.
func TestWatchEnds(t *testing.T) {
	t.Parallel()
	db := ledgerDB(t)
	l := openLedger(t, db)
	ctx, cancel := context.WithCancel(t.Context())
	ch := l.Watch(ctx)
	exec(t, db, `NOTIFY till_changes, 'not json'`)
	if c := next(t, ch, "another program's NOTIFY"); !c.Reload {
		t.Errorf("another program's NOTIFY: %+v", c)
	}
	cancel()
	closed := func(ch <-chan checkout.LedgerChange, what string) {
		t.Helper()
		select {
		case _, ok := <-ch:
			if ok {
				t.Fatalf("%s: a change", what)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the channel stays open", what)
		}
	}
	closed(ch, "ctx ended")
	ch = l.Watch(t.Context())
	l.Close()
	closed(ch, "the ledger closed")
}
