package ui

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"till/checkout"
)

// TestNotificationShowsPaidBeforeThePoll: with an hour between polls, a
// payment notification applied by the engine turns the waiting screen to
// PAID at once.
func TestNotificationShowsPaidBeforeThePoll(t *testing.T) {
	r := newRig(t)
	loc, _ := time.LoadLocation("Asia/Shanghai")
	r.engine = checkout.NewEngine(r.faulty, []checkout.Provider{r.wx, r.ali}, checkout.Config{
		PollInterval: time.Hour, Timeout: 3 * time.Hour, Terminal: "T1", Location: loc,
	}, r.clock, nil)
	rend := lipgloss.NewRenderer(io.Discard)
	rend.SetColorProfile(termenv.Ascii)
	r.model = New(Options{Engine: r.engine, Renderer: rend, Sandbox: true, Terminal: "T1"})
	tm, o := r.sale(t, "1w", "Scan to pay")
	if _, err := r.engine.Notified(context.Background(), checkout.PaymentNotice{Method: checkout.MethodWeChat, OrderNo: o.No,
		Amount: o.Amount, State: checkout.TradePaid, Raw: "SUCCESS"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tm, "PAID  ¥1.00")
}

// TestLatePaymentNotifiedShowsAtOnce: a payment notified for a sale till
// had closed shows its banner and the sale screen's line at once, not at
// the next settling pass (before, only a waiting screen heard of it).
func TestLatePaymentNotifiedShowsAtOnce(t *testing.T) {
	r := newDayRig(t)
	ctx := context.Background()
	o, err := r.engine.Start(ctx, checkout.MethodWeChat, 300, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.engine.Finish(ctx, o.No, "cancelled by clerk"); err != nil {
		t.Fatal(err)
	}
	tm := r.run(t)
	waitFor(t, tm, "closed")
	if _, err := r.engine.Notified(ctx, checkout.PaymentNotice{Method: checkout.MethodWeChat, OrderNo: o.No,
		Amount: o.Amount, State: checkout.TradePaid, Raw: "SUCCESS"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tm, "PAID AFTER IT WAS CLOSED", "Today: 1 paid, ¥3.00 net")
}
