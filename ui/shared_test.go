package ui

import (
	"context"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"till/checkout"
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
