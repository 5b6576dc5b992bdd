package checkout_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"till/checkout"
)

// sharedLedger is a ledger two engines share as two desks share one
// PostgreSQL ledger: each engine has its own in-process locks, and the
// ledger's LockOrder serialises an order across them.
type sharedLedger struct {
	checkout.Ledger
	mu    sync.Mutex
	held  map[string]chan struct{}
	locks int
}

func (l *sharedLedger) LockOrder(ctx context.Context, no string) (func(), error) {
	for {
		l.mu.Lock()
		ch, busy := l.held[no]
		if !busy {
			ch = make(chan struct{})
			l.held[no] = ch
			l.locks++
			l.mu.Unlock()
			return func() {
				l.mu.Lock()
				delete(l.held, no)
				l.mu.Unlock()
				close(ch)
			}, nil
		}
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Two desks on one shared ledger: while one desk's call on an order is at
// the provider, the other's call on the same order waits for it (and
// gives up with ErrBusy at its deadline), never asking the provider in
// between; once the first is done, the second goes through.
func TestOrderLockedAcrossDesksOnASharedLedger(t *testing.T) {
	r := newRig(t)
	shared := &sharedLedger{Ledger: r.faulty, held: map[string]chan struct{}{}}
	desk1 := checkout.NewEngine(shared, []checkout.Provider{r.wx, r.ali}, r.eng.Config(), r.clock, nil)
	desk2 := checkout.NewEngine(shared, []checkout.Provider{r.wx, r.ali}, r.eng.Config(), r.clock, nil)
	ctx := context.Background()
	o, err := desk1.Start(ctx, checkout.MethodWeChat, 500, "")
	if err != nil {
		t.Fatal(err)
	}
	atProvider, letGo := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	r.wx.OnQuery = func(context.Context, string) error {
		if first.CompareAndSwap(false, true) { // desk 1's query waits; any other passes
			close(atProvider)
			<-letGo
		}
		return nil
	}
	done := make(chan error, 1)
	go func() { _, err := desk1.Poll(ctx, o.No); done <- err }()
	<-atProvider
	queries := r.wx.Count("query")
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = desk2.Poll(short, o.No)
	cancel()
	if !errors.Is(err, checkout.ErrBusy) || r.wx.Count("query") != queries {
		t.Fatalf("desk 2 while desk 1 is at the provider: %v, %d queries (was %d)", err, r.wx.Count("query"), queries)
	}
	close(letGo)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := desk2.Poll(ctx, o.No); err != nil || r.wx.Count("query") != queries+1 {
		t.Fatalf("desk 2 after desk 1: %v, %d queries", err, r.wx.Count("query"))
	}
	if shared.locks < 3 {
		t.Fatalf("the shared lock was taken %d times", shared.locks)
	}
}

// liveLedger is a shared ledger whose register of live desks a test sets.
type liveLedger struct {
	checkout.Ledger
	mu   sync.Mutex
	live map[string]bool
	err  error
}

func (l *liveLedger) LiveTerminals(context.Context, time.Duration) (map[string]bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]bool{}
	for k, v := range l.live {
		out[k] = v
	}
	return out, l.err
}

func (l *liveLedger) set(live map[string]bool, err error) {
	l.mu.Lock()
	l.live, l.err = live, err
	l.mu.Unlock()
}

// A desk (T1) is killed mid-sale. Another desk (T2) on the same ledger
// leaves the sale alone while T1's heartbeat is fresh (T1 may be
// watching it) or while it cannot tell, and settles it once T1's
// heartbeat has stopped; T2's own sales it always settles.
func TestAnotherDesksSaleIsSettledOnlyAfterItsHeartbeatStops(t *testing.T) {
	r := newRig(t)
	shared := &liveLedger{Ledger: r.faulty}
	cfg := r.eng.Config()
	t1 := checkout.NewEngine(shared, []checkout.Provider{r.wx, r.ali}, cfg, r.clock, nil)
	cfg.Terminal = "T2"
	t2 := checkout.NewEngine(shared, []checkout.Provider{r.wx, r.ali}, cfg, r.clock, nil)
	ctx := context.Background()
	sold, err := t1.Start(ctx, checkout.MethodWeChat, 500, "")
	if err != nil {
		t.Fatal(err)
	}
	own, err := t2.Start(ctx, checkout.MethodWeChat, 700, "")
	if err != nil {
		t.Fatal(err)
	}
	t2.Release(own.No) // T2's screen gave it up: its own pass settles it
	r.clock.Advance(cfg.Timeout + time.Minute)

	shared.set(map[string]bool{"T1": true, "T2": true}, nil)
	t2.Recover(ctx)
	if o, _ := r.ledger.Order(ctx, sold.No); !o.State.Open() {
		t.Fatalf("T2 settled T1's sale while T1 is alive: %s", o.State)
	}
	if o, _ := r.ledger.Order(ctx, own.No); o.State.Open() {
		t.Fatalf("T2 left its own sale open")
	}
	shared.set(nil, errors.New("connection reset"))
	t2.RecoverNow(ctx)
	if o, _ := r.ledger.Order(ctx, sold.No); !o.State.Open() {
		t.Fatalf("T2 settled T1's sale not knowing who is alive: %s", o.State)
	}
	shared.set(map[string]bool{"T2": true}, nil) // T1's heartbeat stopped
	t2.RecoverNow(ctx)
	if o, _ := r.ledger.Order(ctx, sold.No); o.State != checkout.StateClosed {
		t.Fatalf("T1's sale after its heartbeat stopped: %s", o.State)
	}
}

// counter is another desk on r's ledger and providers, as terminal.
func (r *rig) counter(terminal string) *checkout.Engine {
	cfg := r.eng.Config()
	cfg.Terminal = terminal
	return checkout.NewEngine(r.faulty, []checkout.Provider{r.wx, r.ali}, cfg, r.clock, nil)
}

// paidAt rings up a WeChat Pay sale at desk e and has it paid.
func (r *rig) paidAt(t *testing.T, e *checkout.Engine, amount checkout.Money) checkout.Order {
	t.Helper()
	ctx := context.Background()
	o, err := e.Start(ctx, checkout.MethodWeChat, amount, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.wx.Pay(o.No); err != nil {
		t.Fatal(err)
	}
	if o, err = e.Poll(ctx, o.No); err != nil || o.State != checkout.StatePaid {
		t.Fatalf("sale at %s: %+v %v", e.Config().Terminal, o, err)
	}
	return o
}

// The shop's report covers every counter; one counter's (ReportFor) has
// the sales it rang up and the refunds it made, whichever counter sold
// them.
func TestReportForOneCounter(t *testing.T) {
	r := newRig(t)
	t2 := r.counter("T2")
	ctx := context.Background()
	first := r.paidAt(t, r.eng, 500)
	r.paidAt(t, t2, 700)
	ref, _, err := t2.Refund(ctx, first.No, 200, "wrong item")
	if err != nil {
		t.Fatal(err)
	}
	if ref.State != checkout.RefundSucceeded {
		if ref, _, err = t2.PollRefund(ctx, ref.No); err != nil || ref.State != checkout.RefundSucceeded {
			t.Fatalf("the refund: %+v %v", ref, err)
		}
	}
	// The store stamps a refund's success with its own clock: the range
	// runs from the sales' (fake) day to today.
	from, to := r.clock.Now(), time.Now()
	for _, c := range []struct {
		terminal            string
		sales, refunds, net checkout.Money
		nSales, nRefunds    int
	}{
		{"", 1200, 200, 1000, 2, 1},
		{"T1", 500, 0, 500, 1, 0},
		{"T2", 700, 200, 500, 1, 1},
		{"T9", 0, 0, 0, 0, 0},
	} {
		rep, err := r.eng.ReportFor(ctx, from, to, c.terminal)
		if err != nil {
			t.Fatal(err)
		}
		f := rep.Figures
		if f.Sales.Count != c.nSales || f.Sales.Amount != c.sales || f.Refunds.Count != c.nRefunds ||
			f.Refunds.Amount != c.refunds || f.NetFen != c.net || rep.Terminal != c.terminal {
			t.Errorf("counter %q: %+v (terminal %q)", c.terminal, f, rep.Terminal)
		}
	}
}

// TestCloseOneCounter: a counter's close freezes what it did (its sales,
// its refunds, whichever counter sold them) and only what it left
// unsettled stops it; the shop's close and the other counters' stay to
// be made, in the one series of Z numbers; a second close of the counter
// is refused with its Z; a counter that recorded nothing that day is
// refused, naming those that did; the counter's report shows its close.
func TestCloseOneCounter(t *testing.T) {
	r := newRig(t)
	t2 := r.counter("T2")
	ctx := context.Background()
	r.paidAt(t, r.eng, 500)
	// T2 sells 7.00 and T1 leaves a sale awaiting its customer.
	o2 := r.paidAt(t, t2, 700)
	waiting := r.start(t, checkout.MethodWeChat, 300)

	var ce *checkout.CloseError
	if _, err := r.eng.CloseCounter(ctx, start, "T1", false); !errors.As(err, &ce) || ce.Code != checkout.CloseUnsettled ||
		len(ce.Left.Orders) != 1 || ce.Left.Orders[0].No != waiting.No {
		t.Fatalf("T1 with its sale awaiting: %v", err)
	}
	if _, err := r.eng.CloseCounter(ctx, start, "T9", false); !errors.As(err, &ce) || ce.Code != checkout.CloseIdle ||
		ce.Counter != "T9" || !slices.Equal(ce.Counters, []string{"T1", "T2"}) {
		t.Fatalf("a counter that did nothing: %#v", err)
	}
	z, err := r.eng.CloseCounter(ctx, start, "T2", false)
	if err != nil || z.Seq != 1 || z.Counter != "T2" || z.Figures.Sales.Count != 1 || z.Figures.Sales.Amount != 700 ||
		!slices.Equal(z.Sales, []string{o2.No}) {
		t.Fatalf("T2's close: %+v %v", z, err)
	}
	if _, err := r.eng.CloseCounter(ctx, start, "T2", false); !errors.As(err, &ce) || ce.Code != checkout.CloseAlready || ce.Z.Seq != 1 ||
		ce.Counter != "T2" || !strings.Contains(err.Error(), "of counter T2 is already closed") {
		t.Fatalf("T2 closed twice: %v", err)
	}
	shop, err := r.eng.Report(ctx, start)
	if err != nil || shop.Z != nil || shop.Sales.Count != 2 {
		t.Fatalf("the shop's report after T2's close: Z %+v, sales %+v, %v", shop.Z, shop.Sales, err)
	}
	rep, err := r.eng.CounterReport(ctx, start, "T2")
	if err != nil || rep.Z == nil || rep.Z.Seq != 1 || rep.Sales.Amount != 700 {
		t.Fatalf("T2's report: Z %+v, sales %+v, %v", rep.Z, rep.Sales, err)
	}
	if _, err := r.eng.CloseDay(ctx, start, false); !errors.As(err, &ce) || ce.Code != checkout.CloseUnsettled {
		t.Fatalf("the shop, with T1's sale awaiting: %v", err)
	}
	zs, err := r.eng.CloseDay(ctx, start, true)
	if err != nil || zs.Seq != 2 || zs.Counter != "" || zs.Figures.Sales.Amount != 1200 {
		t.Fatalf("the shop's close: %+v %v", zs, err)
	}
	z1, err := r.eng.CloseCounter(ctx, start, "T1", true)
	if err != nil || z1.Seq != 3 || z1.Figures.Sales.Amount != 500 || len(z1.Unsettled) != 1 {
		t.Fatalf("T1's close: %+v %v", z1, err)
	}
}

// TestCounterIdleDespiteAnOldOpenSale: a sale a counter left open on an
// earlier day, which can no longer land on the day being closed, is not
// something that counter recorded that day: its close of the day is
// refused as idle, and it is not named among the day's counters; a
// counter with a sale that may still land on the day is not idle.
func TestCounterIdleDespiteAnOldOpenSale(t *testing.T) {
	r := newRig(t)
	t3 := r.counter("T3")
	ctx := context.Background()
	if _, err := t3.Start(ctx, checkout.MethodWeChat, 900, ""); err != nil { // awaiting, the provider never asked again
		t.Fatal(err)
	}
	sold := r.start(t, checkout.MethodWeChat, 500)
	r.clock.Advance(24 * time.Hour)
	if err := r.wx.Pay(sold.No); err != nil {
		t.Fatal(err)
	}
	if o, err := r.eng.Poll(ctx, sold.No); err != nil || o.State != checkout.StatePaid {
		t.Fatalf("T1's sale, paid the next day: %+v %v", o, err)
	}
	r.clock.Advance(24 * time.Hour)
	next := start.Add(24 * time.Hour)
	var ce *checkout.CloseError
	if z, err := r.eng.CloseCounter(ctx, next, "T3", true); !errors.As(err, &ce) || ce.Code != checkout.CloseIdle ||
		!slices.Equal(ce.Counters, []string{"T1"}) {
		t.Fatalf("T3, idle on the next day but for its old open sale: %+v %#v", z, err)
	}
	if _, err := r.eng.CloseCounter(ctx, start, "T3", false); !errors.As(err, &ce) || ce.Code != checkout.CloseUnsettled {
		t.Fatalf("T3 on the day of its open sale: %v", err)
	}
}
