package ui

import (
	"context"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"till/checkout"
	"till/providers/fake"
)

// Two desks on one shared ledger: a sale paid at the other desk shows in
// this desk's today line as soon as the ledger announces it, and a sale
// of this desk's that till serve settles from a notification shows PAID
// from the announcement, without waiting for a poll.
func TestDeskFollowsTheSharedLedger(t *testing.T) {
	r := newRig(t)
	changes := make(chan checkout.LedgerChange, 4)
	cfg := r.engine.Config()
	cfg.PollInterval = time.Hour // this desk does not poll before the test ends
	r.engine = checkout.NewEngine(r.faulty, []checkout.Provider{r.wx, r.ali}, cfg, r.clock, nil)
	r.model = New(Options{Engine: r.engine, Sandbox: true, Terminal: "T1", Changes: changes, SkipRecovery: true})
	tm := r.run(t)
	waitFor(t, tm, "No sales yet today")

	cfg.Terminal = "T2"
	other := checkout.NewEngine(r.faulty, []checkout.Provider{r.wx, r.ali}, cfg, r.clock, nil)
	ctx := context.Background()
	o, err := other.Start(ctx, checkout.MethodWeChat, 1230, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.wx.Pay(o.No); err != nil {
		t.Fatal(err)
	}
	if o, err = other.Poll(ctx, o.No); err != nil || o.State != checkout.StatePaid {
		t.Fatalf("the other desk's sale: %+v %v", o, err)
	}
	changes <- checkout.LedgerChange{Order: o.No, Terminal: "T2"}
	waitFor(t, tm, "Today: 1 paid, ¥12.30 net")

	tm.Type("4.50w")
	waitFor(t, tm, "Scan to pay with WeChat Pay")
	mine := r.openOrder(t)
	if err := r.wx.Pay(mine.No); err != nil {
		t.Fatal(err)
	}
	// till serve took the notification and wrote it to the ledger.
	if _, err := other.Poll(ctx, mine.No); err != nil {
		t.Fatal(err)
	}
	changes <- checkout.LedgerChange{Order: mine.No, Terminal: "T1"}
	waitFor(t, tm, "PAID  ¥4.50")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor(t, tm, "Today: 2 paid, ¥16.80 net")
}

// TestChangesComeInBatches: the changes waiting when the desk looks are
// taken together, up to maxChangeBatch, each changed order read once; an
// order that cannot be read is left out and the rest still come; what is
// left over comes with the next look.
func TestChangesComeInBatches(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	var nos []string
	for _, amount := range []checkout.Money{100, 200, 300} {
		o, err := r.engine.Start(ctx, checkout.MethodWeChat, amount, "")
		if err != nil {
			t.Fatal(err)
		}
		nos = append(nos, o.No)
	}
	var mu sync.Mutex
	reads := map[string]int{}
	r.faulty.Fail(func(op fake.Op) error {
		if op.Name != "read" {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		reads[op.No]++
		if op.No == nos[2] {
			return fake.ErrDisk
		}
		return nil
	})
	changes := make(chan checkout.LedgerChange, maxChangeBatch+10)
	for i := range maxChangeBatch + 6 {
		changes <- checkout.LedgerChange{Order: nos[i%3], Terminal: "T2"}
	}
	msg, ok := changesCmd(ctx, r.engine, changes)().(changedMsg)
	if !ok || len(msg.changes) != maxChangeBatch {
		t.Fatalf("first look: %d changes, want %d", len(msg.changes), maxChangeBatch)
	}
	if len(msg.orders) != 2 || msg.orders[0].No != nos[0] || msg.orders[1].No != nos[1] {
		t.Fatalf("orders read: %+v, want %s and %s", msg.orders, nos[0], nos[1])
	}
	for _, no := range nos {
		if reads[no] != 1 {
			t.Errorf("order %s read %d times in one batch, want once", no, reads[no])
		}
	}
	close(changes)
	msg, ok = changesCmd(ctx, r.engine, changes)().(changedMsg)
	if !ok || len(msg.changes) != 6 {
		t.Fatalf("second look: %d changes, want 6", len(msg.changes))
	}
	if got := changesCmd(ctx, r.engine, changes)(); got != nil {
		t.Fatalf("after the announcements ended: %#v, want nil", got)
	}
}

// deadlineLedger records the deadline of each Order read.
type deadlineLedger struct {
	checkout.Ledger
	mu        sync.Mutex
	deadlines []time.Time
}

func (l *deadlineLedger) Order(ctx context.Context, no string) (checkout.Order, error) {
	d, _ := ctx.Deadline()
	l.mu.Lock()
	l.deadlines = append(l.deadlines, d)
	l.mu.Unlock()
	return l.Ledger.Order(ctx, no)
}

// TestABatchsReadsShareOneDeadline: a ledger that hangs holds a batch of
// changes for one call's time, not one for each order in it.
func TestABatchsReadsShareOneDeadline(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	l := &deadlineLedger{Ledger: r.faulty}
	e := checkout.NewEngine(l, []checkout.Provider{r.wx, r.ali}, r.engine.Config(), r.clock, nil)
	changes := make(chan checkout.LedgerChange, 8)
	for _, amount := range []checkout.Money{100, 200, 300} {
		o, err := e.Start(ctx, checkout.MethodWeChat, amount, "")
		if err != nil {
			t.Fatal(err)
		}
		changes <- checkout.LedgerChange{Order: o.No}
	}
	l.mu.Lock()
	l.deadlines = nil
	l.mu.Unlock()
	if msg, ok := changesCmd(ctx, e, changes)().(changedMsg); !ok || len(msg.orders) != 3 {
		t.Fatalf("the batch: %+v", msg)
	}
	if len(l.deadlines) != 3 || l.deadlines[0].IsZero() || !l.deadlines[1].Equal(l.deadlines[0]) || !l.deadlines[2].Equal(l.deadlines[0]) {
		t.Fatalf("the reads' deadlines: %v, want one for all three", l.deadlines)
	}
}
