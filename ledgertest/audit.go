package ledgertest

import (
	"errors"
	"testing"
	"time"

	"till/checkout"
)

// testAuditFollowsEveryChange: a sale's life and its refunds write one
// entry each, in the same transaction, stamped with the actor of the
// caller's context; bookkeeping writes none; AuditOf lists an order's
// entries and its refunds', oldest first; the chain links them all.
func testAuditFollowsEveryChange(t *testing.T, l checkout.Ledger) {
	ctx := checkout.WithActor(t.Context(), checkout.Actor{Terminal: "T1", Operator: "lin", Via: "desk"})
	w := during(func() {
		if err := l.CreateOrder(ctx, NewOrder("O1", t0, 1000)); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := l.Advance(ctx, "O1", checkout.StateAwaiting, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Update(ctx, "O1", func(o *checkout.Order) error { o.ProviderSaid = "NOTPAY"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Advance(ctx, "O1", checkout.StatePaid, nil); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, l, NewOrder("O2", t0, 500)) // another order's entry in between
	mgr := checkout.WithActor(t.Context(), checkout.Actor{Terminal: "T2", Operator: "manager", Via: "cli"})
	if _, err := l.CreateRefund(mgr, refund("R1", "O1", 300, checkout.RefundRequested)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.UpdateRefund(mgr, "R1", func(r *checkout.Refund) error { r.Sent = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.SettleRefund(mgr, "R1", checkout.RefundSucceeded, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreateRefund(mgr, refund("R2", "O1", 700, checkout.RefundSucceeded)); err != nil {
		t.Fatal(err)
	}
	got, err := l.AuditOf(t.Context(), "O1")
	if err != nil {
		t.Fatal(err)
	}
	want := "sale:created sale.state:awaiting sale.state:paid refund:requested refund.state:succeeded sale.state:partially_refunded refund:succeeded sale.state:refunded"
	if Kinds(got) != want {
		t.Fatalf("entries\n %s\nwant\n %s", Kinds(got), want)
	}
	if e := got[0]; e.Operator != "lin" || e.Terminal != "T1" || e.Via != "desk" || e.Order != "O1" || e.Amount != 1000 || e.Detail != "wechat" || !w.holds(e.At) {
		t.Errorf("the sale's entry: %+v", e)
	}
	if e := got[2]; e.From != "awaiting" || e.To != "paid" {
		t.Errorf("the payment's entry: %+v", e)
	}
	if e := got[3]; e.Operator != "manager" || e.Terminal != "T2" || e.Refund != "R1" || e.Amount != 300 || e.Order != "O1" {
		t.Errorf("the refund's entry: %+v", e)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Errorf("AuditOf out of order: %d after %d", got[i].Seq, got[i-1].Seq)
		}
	}
	all := checkChain(t, l)
	if len(all) != len(got)+1 || all[3].Order != "O2" {
		t.Fatalf("the whole trail: %s", Kinds(all))
	}
	if es, err := l.AuditOf(t.Context(), "nope"); err != nil || len(es) != 0 {
		t.Errorf("AuditOf an unknown order: %v %v", es, err)
	}
	// AuditBetween is [from, to) by the entries' time.
	a := auditLog(t, l)
	if es, err := a.AuditBetween(t.Context(), w.from, w.to.Add(time.Nanosecond)); err != nil || len(es) == 0 || es[0].Kind != checkout.AuditSale {
		t.Errorf("the sale's instant: %s %v", Kinds(es), err)
	}
	if es, err := a.AuditBetween(t.Context(), all[len(all)-1].At.Add(time.Nanosecond), allTime[1]); err != nil || len(es) != 0 {
		t.Errorf("after the last entry: %s %v", Kinds(es), err)
	}
}

// testAuditOfPaidAndRefunded: the provider's paid-then-refunded is the
// refund's entry and the order's move from where it was to refunded.
func testAuditOfPaidAndRefunded(t *testing.T, l checkout.Ledger) {
	mustCreate(t, l, NewOrder("O1", t0, 1000))
	mustAdvance(t, l, "O1", checkout.StateAwaiting, nil)
	if _, err := l.PaidAndRefunded(t.Context(), "O1", nil, checkout.Refund{No: "R1"}); err != nil {
		t.Fatal(err)
	}
	es, err := l.AuditOf(t.Context(), "O1")
	if err != nil {
		t.Fatal(err)
	}
	if got := Kinds(es); got != "sale:created sale.state:awaiting refund:succeeded sale.state:refunded" || es[3].From != "awaiting" {
		t.Fatalf("entries %s", got)
	}
	checkChain(t, l)
}

// testRefusedChangeWritesNoEntry: a change refused (a refund above the
// balance, a move back, a duplicate order, an fn's error) writes neither
// its record nor an entry: the transaction is one.
func testRefusedChangeWritesNoEntry(t *testing.T, l checkout.Ledger) {
	ctx := t.Context()
	paidOrder(t, l, "O1", 500)
	before := checkChain(t, l)
	if _, err := l.CreateRefund(ctx, refund("R1", "O1", 501, checkout.RefundRequested)); !errors.Is(err, checkout.ErrRefundAboveBalance) {
		t.Fatal(err)
	}
	if _, err := l.Advance(ctx, "O1", checkout.StateAwaiting, nil); !errors.Is(err, checkout.ErrTransition) {
		t.Fatal(err)
	}
	if err := l.CreateOrder(ctx, NewOrder("O1", t0, 1)); !errors.Is(err, checkout.ErrExists) {
		t.Fatal(err)
	}
	if _, err := l.Update(ctx, "O1", func(o *checkout.Order) error { o.LateSeenAt = t0; return errors.New("no") }); err == nil {
		t.Fatal("fn's error was not returned")
	}
	if after := checkChain(t, l); len(after) != len(before) {
		t.Fatalf("refused changes left entries: %s", Kinds(after[len(before):]))
	}
}

// testAppendAndLateSeen: Append adds an entry of no change, stamped with
// the context's actor unless it names its own, and returns it numbered
// and hashed; acknowledging a late payment is an entry of its own.
func testAppendAndLateSeen(t *testing.T, l checkout.Ledger) {
	ctx := checkout.WithActor(t.Context(), checkout.Actor{Terminal: "T1", Operator: "lin", Via: "desk"})
	a := auditLog(t, l)
	var e checkout.AuditEntry
	var err error
	w := during(func() {
		e, err = a.Append(ctx, checkout.AuditEntry{Kind: checkout.AuditRefundRefused, Order: "O1", Amount: 100, Detail: "above"})
	})
	if err != nil || e.Seq != 1 || e.Prev != "" || e.Hash != e.ChainHash() || e.Operator != "lin" || e.Via != "desk" || !w.holds(e.At) {
		t.Fatalf("Append: %+v %v", e, err)
	}
	e2, err := l.Append(ctx, checkout.AuditEntry{Kind: checkout.AuditPINFailed, Operator: "someone", At: t0})
	if err != nil || e2.Seq != 2 || e2.Prev != e.Hash || e2.Operator != "someone" || e2.Terminal != "" || !e2.At.Equal(t0) {
		t.Fatalf("second Append: %+v %v", e2, err)
	}
	if es, _ := l.AuditOf(ctx, "O1"); len(es) != 1 || !same(es[0], e) {
		t.Fatalf("the refusal under its order: %+v", es)
	}
	mustCreate(t, l, NewOrder("O2", t0, 100))
	mustAdvance(t, l, "O2", checkout.StateClosed, nil)
	mustAdvance(t, l, "O2", checkout.StatePaid, func(o *checkout.Order) { o.Late = true })
	if _, err := l.Update(ctx, "O2", func(o *checkout.Order) error { o.LateSeenAt = t0.Add(time.Hour); return nil }); err != nil {
		t.Fatal(err)
	}
	es, err := l.AuditOf(ctx, "O2")
	if err != nil || Kinds(es) != "sale:created sale.state:closed sale.state:paid sale.late_seen" || es[2].Detail != "paid after it was closed" {
		t.Fatalf("a late payment's entries: %s %v", Kinds(es), err)
	}
	checkChain(t, l)
}
