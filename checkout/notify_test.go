package checkout_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"till/checkout"
)

func paidNotice(o checkout.Order) checkout.PaymentNotice {
	return checkout.PaymentNotice{Method: o.Method, ID: "EV-1", OrderNo: o.No, ProviderTradeNo: "4200001", Amount: o.Amount,
		Currency: "CNY", State: checkout.TradePaid, PaidAt: start.Add(10 * time.Second), Raw: "SUCCESS"}
}

func auditKinds(t *testing.T, r *rig, no string, kind checkout.AuditKind) int {
	t.Helper()
	es, err := r.ledger.AuditOf(context.Background(), no)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func TestNotifiedPaysAnOpenOrderOnce(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodWeChat, 1230)
	got, err := r.eng.Notified(context.Background(), paidNotice(o))
	if err != nil || got.State != checkout.StatePaid || got.Late || got.ProviderTradeNo != "4200001" || !got.PaidAt.Equal(start.Add(10*time.Second)) {
		t.Fatalf("notified: %+v %v", got, err)
	}
	again, err := r.eng.Notified(context.Background(), paidNotice(o))
	if err != nil || again.State != checkout.StatePaid || !again.UpdatedAt.Equal(got.UpdatedAt) {
		t.Fatalf("duplicate: %+v %v", again, err)
	}
	if n := auditKinds(t, r, o.No, checkout.AuditSaleState); n != 1 { // created->paid: the code rode in that commit
		t.Errorf("%d state entries, want 1", n)
	}
	es, _ := r.ledger.AuditOf(context.Background(), o.No)
	if last := es[len(es)-1]; last.Via != "notify" || last.To != string(checkout.StatePaid) {
		t.Errorf("last entry %+v", last)
	}
	// The poll finds it paid and leaves it.
	if p, err := r.eng.Poll(context.Background(), o.No); err != nil || p.State != checkout.StatePaid {
		t.Fatalf("poll after: %+v %v", p, err)
	}
}

// The per-order lock may be held by a poll waiting on the provider; a
// notification does not wait for it.
func TestNotifiedDoesNotWaitForTheOrderLock(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodWeChat, 500)
	block, inQuery := make(chan struct{}), make(chan struct{})
	r.wx.OnQuery = func(context.Context, string) error { close(inQuery); <-block; return nil }
	done := make(chan struct{})
	go func() { defer close(done); r.eng.Poll(context.Background(), o.No) }()
	<-inQuery
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	got, err := r.eng.Notified(ctx, paidNotice(o))
	if err != nil || got.State != checkout.StatePaid {
		t.Fatalf("notified while a poll is in flight: %+v %v", got, err)
	}
	close(block)
	<-done
	if s := r.stored(t, o.No); s.State != checkout.StatePaid {
		t.Fatalf("after the poll: %s", s.State)
	}
}

func TestNotifiedClosedOrderIsPaidLate(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodWeChat, 800)
	if c, err := r.eng.Finish(context.Background(), o.No, "cancelled"); err != nil || c.State != checkout.StateClosed {
		t.Fatalf("finish: %+v %v", c, err)
	}
	got, err := r.eng.Notified(context.Background(), paidNotice(o))
	if err != nil || got.State != checkout.StatePaid || !got.Late || !got.NeedsFollowUp() {
		t.Fatalf("late: %+v %v", got, err)
	}
	if p := r.eng.Recover(context.Background()); len(p.Late) != 1 || p.Late[0].No != o.No {
		t.Fatalf("late list: %+v", p.Late)
	}
}

func TestNotifiedMismatchIsRefusedAndAudited(t *testing.T) {
	cases := map[string]func(*checkout.PaymentNotice){
		"amount":   func(n *checkout.PaymentNotice) { n.Amount++ },
		"currency": func(n *checkout.PaymentNotice) { n.Currency = "USD" },
		"method":   func(n *checkout.PaymentNotice) { n.Method = checkout.MethodAlipay },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			r := newRig(t)
			o := r.start(t, checkout.MethodWeChat, 1000)
			n := paidNotice(o)
			mod(&n)
			_, err := r.eng.Notified(context.Background(), n)
			if !errors.Is(err, checkout.ErrNoticeMismatch) {
				t.Fatalf("err %v", err)
			}
			if s := r.stored(t, o.No); !s.State.Open() {
				t.Fatalf("state %s", s.State)
			}
			if k := auditKinds(t, r, o.No, checkout.AuditNotifyMismatch); k != 1 {
				t.Fatalf("%d mismatch entries", k)
			}
		})
	}
}

func TestNotifiedUnknownOrder(t *testing.T) {
	r := newRig(t)
	_, err := r.eng.Notified(context.Background(), checkout.PaymentNotice{Method: checkout.MethodWeChat, OrderNo: "NOPE", Amount: 1, State: checkout.TradePaid})
	if !errors.Is(err, checkout.ErrUnknownOrder) {
		t.Fatalf("err %v", err)
	}
	_, _, err = r.eng.NotifiedRefund(context.Background(), checkout.RefundNotice{Method: checkout.MethodWeChat, RefundNo: "NOPE", State: checkout.RefundSucceeded})
	if !errors.Is(err, checkout.ErrUnknownRefund) {
		t.Fatalf("refund err %v", err)
	}
}

func TestNotifiedNotPaidKeepsTheWordOnly(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodWeChat, 1000)
	n := paidNotice(o)
	n.State, n.Raw = checkout.TradeNotPaid, "USERPAYING"
	got, err := r.eng.Notified(context.Background(), n)
	if err != nil || got.State != checkout.StateAwaiting || got.ProviderSaid != "USERPAYING" {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestNotifiedRefund(t *testing.T) {
	r := newRig(t)
	r.wx.RefundProcessing = true
	o := r.paid(t, 1000)
	rf, _, err := r.eng.Refund(context.Background(), o.No, 400, "")
	if err != nil || rf.State != checkout.RefundRequested {
		t.Fatalf("refund: %+v %v", rf, err)
	}
	n := checkout.RefundNotice{Method: checkout.MethodWeChat, OrderNo: o.No, RefundNo: rf.No, ProviderRefundNo: "50300", Amount: 400,
		State: checkout.RefundSucceeded, SucceededAt: start.Add(time.Minute), Raw: "SUCCESS"}

	bad := n
	bad.Amount = 500
	if _, _, err := r.eng.NotifiedRefund(context.Background(), bad); !errors.Is(err, checkout.ErrNoticeMismatch) {
		t.Fatalf("mismatch: %v", err)
	}
	if k := auditKinds(t, r, o.No, checkout.AuditNotifyMismatch); k != 1 {
		t.Fatalf("%d mismatch entries", k)
	}

	abnormal := n
	abnormal.State, abnormal.Raw = checkout.RefundRequested, "ABNORMAL"
	if got, _, err := r.eng.NotifiedRefund(context.Background(), abnormal); err != nil || got.State != checkout.RefundRequested || got.ProviderSaid != "ABNORMAL" {
		t.Fatalf("abnormal: %+v %v", got, err)
	}

	got, ord, err := r.eng.NotifiedRefund(context.Background(), n)
	if err != nil || got.State != checkout.RefundSucceeded || got.ProviderRefundNo != "50300" || ord.Refunded != 400 || ord.State != checkout.StatePartiallyRefunded {
		t.Fatalf("applied: %+v %+v %v", got, ord, err)
	}
	again, ord2, err := r.eng.NotifiedRefund(context.Background(), n)
	if err != nil || again.State != checkout.RefundSucceeded || ord2.Refunded != 400 {
		t.Fatalf("duplicate: %+v %+v %v", again, ord2, err)
	}
	// A closed refund after success: refused, never backwards.
	closed := n
	closed.State, closed.Raw = checkout.RefundFailed, "CLOSED"
	if _, _, err := r.eng.NotifiedRefund(context.Background(), closed); !errors.Is(err, checkout.ErrNoticeMismatch) {
		t.Fatalf("backwards: %v", err)
	}
	if s, _ := r.ledger.Refund(context.Background(), rf.No); s.State != checkout.RefundSucceeded {
		t.Fatalf("moved backwards: %s", s.State)
	}
}

// A refund exists in the ledger only once its order was paid there, so a
// refund event that comes before the payment event finds the order paid
// (by a poll): the refund is applied, and the late payment event is a
// duplicate.
func TestNotifiedRefundBeforePaymentEvent(t *testing.T) {
	r := newRig(t)
	r.wx.RefundProcessing = true
	o := r.paid(t, 1000)
	rf, _, err := r.eng.Refund(context.Background(), o.No, 1000, "")
	if err != nil {
		t.Fatal(err)
	}
	got, ord, err := r.eng.NotifiedRefund(context.Background(), checkout.RefundNotice{Method: checkout.MethodWeChat, RefundNo: rf.No, Amount: 1000, State: checkout.RefundSucceeded, Raw: "SUCCESS"})
	if err != nil || got.State != checkout.RefundSucceeded || ord.State != checkout.StateRefunded {
		t.Fatalf("refund: %+v %+v %v", got, ord, err)
	}
	after, err := r.eng.Notified(context.Background(), paidNotice(o))
	if err != nil || after.State != checkout.StateRefunded || after.Refunded != 1000 {
		t.Fatalf("payment after the refund: %+v %v", after, err)
	}
}

// Alipay's running total: checked against the refund and the order.
func TestNotifiedRefundRunningTotal(t *testing.T) {
	r := newRig(t)
	r.wx.RefundProcessing = true
	o := r.paid(t, 1000)
	rf, _, err := r.eng.Refund(context.Background(), o.No, 300, "")
	if err != nil {
		t.Fatal(err)
	}
	n := checkout.RefundNotice{Method: checkout.MethodWeChat, RefundNo: rf.No, Refunded: 1200, State: checkout.RefundSucceeded}
	if _, _, err := r.eng.NotifiedRefund(context.Background(), n); !errors.Is(err, checkout.ErrNoticeMismatch) {
		t.Fatalf("above the order: %v", err)
	}
	n.Refunded = 300
	if got, _, err := r.eng.NotifiedRefund(context.Background(), n); err != nil || got.State != checkout.RefundSucceeded {
		t.Fatalf("%+v %v", got, err)
	}
}
