package ledgertest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"till/checkout"
)

// testRefundBalance: succeeded and requested refunds both hold money
// until a failed one gives its amount back; one fen above what is left is
// refused with how much is left; a succeeded refund moves the order at
// once; Refunds lists them oldest first with their defaults filled.
func testRefundBalance(t *testing.T, l checkout.Ledger) {
	ctx := t.Context()
	paidOrder(t, l, "O1", 1000)

	var o checkout.Order
	w := during(func() { o = mustRefund(t, l, refund("R1", "O1", 300, checkout.RefundSucceeded)) })
	if o.State != checkout.StatePartiallyRefunded || o.Refunded != 300 || !w.holds(o.UpdatedAt) {
		t.Errorf("after a succeeded partial refund: %+v", o)
	}
	if stored := mustOrder(t, l, "O1"); !same(stored, o) {
		t.Errorf("returned %+v, stored %+v", o, stored)
	}

	o = mustRefund(t, l, refund("R2", "O1", 700, checkout.RefundRequested))
	if o.State != checkout.StatePartiallyRefunded || o.Refunded != 300 {
		t.Errorf("a requested refund changed the order: %+v", o)
	}

	// One fen more: the in-flight refund counts.
	_, err := l.CreateRefund(ctx, refund("R3", "O1", 1, checkout.RefundRequested))
	if !errors.Is(err, checkout.ErrRefundAboveBalance) {
		t.Fatalf("one fen above: err = %v, want ErrRefundAboveBalance", err)
	}
	if !strings.Contains(err.Error(), "¥0.00 is left") {
		t.Errorf("message %q should say how much is left", err)
	}

	// A failed refund gives its amount back.
	if _, _, err := l.SettleRefund(ctx, "R2", checkout.RefundFailed, nil); err != nil {
		t.Fatal(err)
	}
	_, err = l.CreateRefund(ctx, refund("R3", "O1", 701, checkout.RefundRequested))
	if !errors.Is(err, checkout.ErrRefundAboveBalance) || !strings.Contains(err.Error(), "¥7.00 is left") {
		t.Errorf("701 of 700 left: err = %v", err)
	}
	o = mustRefund(t, l, refund("R3", "O1", 700, checkout.RefundSucceeded))
	if o.State != checkout.StateRefunded || o.Refunded != 1000 {
		t.Errorf("after refunding the rest: %+v", o)
	}
	if _, err := l.CreateRefund(ctx, refund("R4", "O1", 1, checkout.RefundRequested)); !errors.Is(err, checkout.ErrRefundAboveBalance) {
		t.Errorf("a refund of a refunded order: %v", err)
	}

	refunds, err := l.Refunds(ctx, "O1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range refunds {
		got = append(got, fmt.Sprintf("%s:%s:%d", r.No, r.State, r.Amount))
	}
	if g := strings.Join(got, " "); g != "R1:succeeded:300 R2:failed:700 R3:succeeded:700" {
		t.Errorf("Refunds = %s", g)
	}
	if r := refunds[0]; r.Method != checkout.MethodWeChat || !w.holds(r.SucceededAt) || !w.holds(r.CreatedAt) {
		t.Errorf("refund defaults not filled: %+v (want stamps in %v)", r, w)
	}
	if rs, err := l.Refunds(ctx, "nope"); !errors.Is(err, checkout.ErrNotFound) {
		t.Errorf("Refunds of no order: %v %v", rs, err)
	}
	paidOrder(t, l, "O2", 100)
	if rs, err := l.Refunds(ctx, "O2"); err != nil || len(rs) != 0 {
		t.Errorf("Refunds of an order with none: %v %v", rs, err)
	}
}

// testRefundsOldestFirst: an order's refunds by creation time, not
// number; Refund reads one back.
func testRefundsOldestFirst(t *testing.T, l checkout.Ledger) {
	paidOrder(t, l, "O1", 1000)
	for i, no := range []string{"RC", "RA", "RB"} {
		r := refund(no, "O1", 10, checkout.RefundRequested)
		r.CreatedAt = t0.Add(time.Duration(i) * time.Minute)
		mustRefund(t, l, r)
	}
	rs, err := l.Refunds(t.Context(), "O1")
	if err != nil || refundNos(rs) != "RC,RA,RB" {
		t.Fatalf("Refunds = %s %v, want RC,RA,RB", refundNos(rs), err)
	}
	r, err := l.Refund(t.Context(), "RA")
	if err != nil || !same(r, rs[1]) {
		t.Fatalf("Refund(RA) = %+v %v, want %+v", r, err, rs[1])
	}
}

// testRefundRefused: a refund of an unpaid or unknown order, with a
// number taken, or of no amount is refused with its sentinel and stores
// nothing; a new refund cannot start failed.
func testRefundRefused(t *testing.T, l checkout.Ledger) {
	ctx := t.Context()
	mustCreate(t, l, NewOrder("U1", t0, 1000)) // never paid
	paidOrder(t, l, "P1", 1000)
	paidOrder(t, l, "P2", 1000)
	mustRefund(t, l, refund("R1", "P1", 100, checkout.RefundRequested))
	cases := []struct {
		name string
		r    checkout.Refund
		want error
	}{
		{"unpaid order", refund("R2", "U1", 100, checkout.RefundRequested), checkout.ErrTransition},
		{"unknown order", refund("R2", "nope", 100, checkout.RefundRequested), checkout.ErrNotFound},
		{"duplicate number", refund("R1", "P1", 100, checkout.RefundRequested), checkout.ErrExists},
		{"duplicate number, another order", refund("R1", "P2", 100, checkout.RefundRequested), checkout.ErrExists},
		{"zero", refund("R2", "P1", 0, checkout.RefundRequested), checkout.ErrAmount},
		{"negative", refund("R2", "P1", -5, checkout.RefundRequested), checkout.ErrAmount},
	}
	for _, c := range cases {
		if _, err := l.CreateRefund(ctx, c.r); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := l.CreateRefund(ctx, refund("R2", "P1", 100, checkout.RefundFailed)); err == nil {
		t.Error("a new refund in failed was accepted")
	}
	if _, err := l.CreateRefund(ctx, refund("", "P1", 100, checkout.RefundRequested)); err == nil {
		t.Error("a refund without a number was accepted")
	}
	if rs, _ := l.Refunds(ctx, "U1"); len(rs) != 0 {
		t.Errorf("refused refund stored: %+v", rs)
	}
	if rs, _ := l.Refunds(ctx, "P2"); len(rs) != 0 {
		t.Errorf("a duplicate number was stored on another order: %+v", rs)
	}
	if r, err := l.Refund(ctx, "R1"); err != nil || r.OrderNo != "P1" || r.Amount != 100 {
		t.Errorf("the first R1 after the duplicates: %+v %v", r, err)
	}
}

// testSettleRefund: a requested refund settles once; fn's edit of the
// amount is ignored; a duplicate answer changes nothing and is no error;
// the other final state, or requested, is ErrTransition.
func testSettleRefund(t *testing.T, l checkout.Ledger) {
	ctx := t.Context()
	paidOrder(t, l, "O1", 1000)
	mustRefund(t, l, refund("R1", "O1", 400, checkout.RefundRequested))
	var r checkout.Refund
	var o checkout.Order
	var err error
	w := during(func() {
		r, o, err = l.SettleRefund(ctx, "R1", checkout.RefundSucceeded, func(r *checkout.Refund) {
			r.ProviderRefundNo = "P-R1"
			r.Amount = 1 // ignored: the ceiling was checked against 400
			r.OrderNo = "O9"
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.State != checkout.RefundSucceeded || r.Amount != 400 || r.OrderNo != "O1" || r.ProviderRefundNo != "P-R1" || !w.holds(r.SucceededAt) {
		t.Errorf("settled refund = %+v", r)
	}
	if o.State != checkout.StatePartiallyRefunded || o.Refunded != 400 {
		t.Errorf("order after settle = %+v", o)
	}
	if stored := mustOrder(t, l, "O1"); !same(stored, o) {
		t.Errorf("returned %+v, stored %+v", o, stored)
	}
	if stored, _ := l.Refund(ctx, "R1"); !same(stored, r) {
		t.Errorf("returned %+v, stored %+v", r, stored)
	}

	// A duplicate answer is harmless and changes nothing.
	r2, o2, err := l.SettleRefund(ctx, "R1", checkout.RefundSucceeded, func(r *checkout.Refund) { r.ProviderRefundNo = "other" })
	if err != nil || !same(r2, r) || !same(o2, o) {
		t.Errorf("second settle: %+v %+v %v; want unchanged", r2, o2, err)
	}
	if stored, _ := l.Refund(ctx, "R1"); stored.ProviderRefundNo != "P-R1" {
		t.Errorf("a duplicate answer wrote: %+v", stored)
	}
	if _, _, err := l.SettleRefund(ctx, "R1", checkout.RefundFailed, nil); !errors.Is(err, checkout.ErrTransition) {
		t.Errorf("succeeded -> failed: err = %v, want ErrTransition", err)
	}
	if _, _, err := l.SettleRefund(ctx, "R1", checkout.RefundRequested, nil); !errors.Is(err, checkout.ErrTransition) {
		t.Errorf("settle to requested: err = %v, want ErrTransition", err)
	}

	// A failed one is stamped, keeps the order as it was and frees its money.
	mustRefund(t, l, refund("R2", "O1", 600, checkout.RefundRequested))
	w = during(func() {
		r, o, err = l.SettleRefund(ctx, "R2", checkout.RefundFailed, func(r *checkout.Refund) { r.FailReason = "no" })
	})
	if err != nil || r.State != checkout.RefundFailed || !w.holds(r.FailedAt) || r.FailReason != "no" || o.Refunded != 400 {
		t.Fatalf("failed: %+v %+v %v", r, o, err)
	}
	if _, _, err := l.SettleRefund(ctx, "R2", checkout.RefundSucceeded, nil); !errors.Is(err, checkout.ErrTransition) {
		t.Errorf("failed -> succeeded: err = %v, want ErrTransition", err)
	}

	// The rest, requested then succeeded, ends the order refunded.
	mustRefund(t, l, refund("R3", "O1", 600, checkout.RefundRequested))
	if _, o, err = l.SettleRefund(ctx, "R3", checkout.RefundSucceeded, nil); err != nil {
		t.Fatal(err)
	}
	if o.State != checkout.StateRefunded || o.Refunded != 1000 {
		t.Errorf("order after full refund = %+v", o)
	}
}

// testOpenRefundsAndUpdateRefund: only requested refunds are listed,
// oldest first, and a settled one leaves the list; UpdateRefund keeps what
// identifies the refund and its state, and a refusal from fn writes
// nothing.
func testOpenRefundsAndUpdateRefund(t *testing.T, l checkout.Ledger) {
	ctx := t.Context()
	paidOrder(t, l, "O1", 1000)
	for i, r := range []checkout.Refund{
		refund("R3", "O1", 100, checkout.RefundRequested),
		refund("R2", "O1", 100, checkout.RefundSucceeded),
		refund("R1", "O1", 100, checkout.RefundRequested),
	} {
		r.CreatedAt = t0.Add(time.Duration(i) * time.Minute)
		mustRefund(t, l, r)
	}
	open, err := l.OpenRefunds(ctx)
	if err != nil || refundNos(open) != "R3,R1" {
		t.Fatalf("open refunds: %s %v, want R3,R1", refundNos(open), err)
	}
	if _, _, err := l.SettleRefund(ctx, "R3", checkout.RefundFailed, nil); err != nil {
		t.Fatal(err)
	}
	if open, _ = l.OpenRefunds(ctx); refundNos(open) != "R1" {
		t.Fatalf("after R3 failed: %s", refundNos(open))
	}
	before, _ := l.Refund(ctx, "R1")
	refusal := errors.New("no")
	if _, err := l.UpdateRefund(ctx, "R1", func(r *checkout.Refund) error { r.Sent = true; return refusal }); !errors.Is(err, refusal) {
		t.Fatalf("a refusing fn: %v", err)
	}
	if stored, _ := l.Refund(ctx, "R1"); !same(stored, before) {
		t.Fatalf("a refused update wrote: %+v", stored)
	}
	var got checkout.Refund
	w := during(func() {
		got, err = l.UpdateRefund(ctx, "R1", func(r *checkout.Refund) error {
			r.Amount, r.State, r.OrderNo, r.No, r.CreatedAt = 999, checkout.RefundSucceeded, "O9", "R9", t0.Add(time.Hour)
			r.Sent, r.Attempts, r.ProviderSaid = true, 2, "PROCESSING"
			return nil
		})
	})
	if err != nil || got.Amount != 100 || got.State != checkout.RefundRequested || got.OrderNo != "O1" || got.No != "R1" ||
		!got.CreatedAt.Equal(before.CreatedAt) || !got.Sent || got.Attempts != 2 || got.ProviderSaid != "PROCESSING" || !w.holds(got.UpdatedAt) {
		t.Fatalf("update refund: %+v %v", got, err)
	}
	if stored, _ := l.Refund(ctx, "R1"); !same(stored, got) {
		t.Fatalf("stored %+v, returned %+v", stored, got)
	}
	if open, _ = l.OpenRefunds(ctx); refundNos(open) != "R1" {
		t.Fatalf("after the update: %s", refundNos(open))
	}
	if o := mustOrder(t, l, "O1"); o.Refunded != 100 {
		t.Fatalf("UpdateRefund moved money: %+v", o)
	}
}

// testPaidAndRefunded: an order in created, awaiting or closed is paid
// and refunded in full in one call: the refund stored as succeeded for
// the whole amount, the order refunded and in its paid day; a second
// report is a *TransitionError with the stored order.
func testPaidAndRefunded(t *testing.T, l checkout.Ledger) {
	for _, from := range []checkout.State{checkout.StateCreated, checkout.StateAwaiting, checkout.StateClosed} {
		t.Run(string(from), func(t *testing.T) {
			ctx := t.Context()
			no := "O-" + string(from)
			o := NewOrder(no, t0, 1234)
			o.State = from
			mustCreate(t, l, o)
			var got checkout.Order
			var err error
			w := during(func() {
				got, err = l.PaidAndRefunded(ctx, no, func(o *checkout.Order) { o.ProviderTradeNo, o.Amount = "T-1", 1 },
					checkout.Refund{No: "R-" + string(from), Reason: "cancelled after payment"})
			})
			if err != nil {
				t.Fatal(err)
			}
			if got.State != checkout.StateRefunded || got.Amount != 1234 || got.Refunded != 1234 || got.ProviderTradeNo != "T-1" || !w.holds(got.PaidAt) {
				t.Errorf("order = %+v", got)
			}
			if stored := mustOrder(t, l, no); !same(stored, got) {
				t.Errorf("returned %+v, stored %+v", got, stored)
			}
			refunds, err := l.Refunds(ctx, no)
			if err != nil {
				t.Fatal(err)
			}
			if len(refunds) != 1 || refunds[0].State != checkout.RefundSucceeded || refunds[0].Amount != 1234 ||
				refunds[0].OrderNo != no || refunds[0].Method != checkout.MethodWeChat || !w.holds(refunds[0].SucceededAt) {
				t.Errorf("refunds = %+v, want one succeeded of 1234", refunds)
			}
			for _, open := range mustOpenOrders(t, l) {
				if open.No == no {
					t.Errorf("still open: %+v", open)
				}
			}
			rec, err := l.DayRecords(ctx, w.from, w.to.Add(time.Nanosecond), "")
			if err != nil || !strings.Contains(","+nos(rec.Paid)+",", ","+no+",") || !strings.Contains(refundNos(rec.Settled), "R-"+string(from)) {
				t.Errorf("the day's records: paid %s, settled %s, %v", nos(rec.Paid), refundNos(rec.Settled), err)
			}
			// Once paid, a second report is refused with the stored order.
			_, err = l.PaidAndRefunded(ctx, no, nil, checkout.Refund{No: "R2-" + string(from)})
			var te *checkout.TransitionError
			if !errors.As(err, &te) || !same(te.Current, got) {
				t.Errorf("second PaidAndRefunded: err = %v", err)
			}
		})
	}
}

func mustOpenOrders(t *testing.T, l checkout.Ledger) []checkout.Order {
	t.Helper()
	open, err := l.OpenOrders(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return open
}

// testPaidAndRefundedAfterAPollSawItPaid: a sale a poll saw paid a moment
// before the cancel refunded it: the refund is recorded and the first
// paid time kept (paid's edits are not applied).
func testPaidAndRefundedAfterAPollSawItPaid(t *testing.T, l checkout.Ledger) {
	ctx := t.Context()
	before := paidOrder(t, l, "P1", 500)
	got, err := l.PaidAndRefunded(ctx, "P1", func(o *checkout.Order) { o.PaidAt = t0.Add(time.Hour) }, checkout.Refund{No: "R1"})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != checkout.StateRefunded || got.Refunded != 500 || !got.PaidAt.Equal(before.PaidAt) {
		t.Errorf("got %+v, want refunded 500 with the first paid time", got)
	}
	if rs, _ := l.Refunds(ctx, "P1"); len(rs) != 1 || rs[0].Amount != 500 || rs[0].State != checkout.RefundSucceeded {
		t.Errorf("refunds %+v", rs)
	}
}

// testPaidAndRefundedRefused: a paid order with a refund, a failed order,
// a partial amount, a refund of another order, or a refund number taken
// are refused, and nothing is written.
func testPaidAndRefundedRefused(t *testing.T, l checkout.Ledger) {
	ctx := t.Context()
	paidOrder(t, l, "P1", 500)
	mustRefund(t, l, checkout.Refund{No: "R0", OrderNo: "P1", Amount: 100, State: checkout.RefundRequested})
	before := mustOrder(t, l, "P1")
	_, err := l.PaidAndRefunded(ctx, "P1", nil, checkout.Refund{No: "R1"})
	var te *checkout.TransitionError
	if !errors.As(err, &te) || !same(te.Current, before) {
		t.Errorf("on a paid order with a refund: err = %v, want TransitionError with the stored order", err)
	}
	if rs, _ := l.Refunds(ctx, "P1"); len(rs) != 1 {
		t.Errorf("refund stored on refusal: %+v", rs)
	}
	mustCreate(t, l, NewOrder("F1", t0, 500))
	mustAdvance(t, l, "F1", checkout.StateFailed, nil)
	if _, err := l.PaidAndRefunded(ctx, "F1", nil, checkout.Refund{No: "R1"}); !errors.As(err, &te) {
		t.Errorf("on a failed order: err = %v", err)
	}
	mustCreate(t, l, NewOrder("A1", t0, 500))
	for name, r := range map[string]checkout.Refund{
		"a partial amount": {No: "R1", Amount: 499},
		"another order's":  {No: "R1", OrderNo: "P1"},
		"a number taken":   {No: "R0"},
		"a refund unnamed": {},
	} {
		if _, err := l.PaidAndRefunded(ctx, "A1", nil, r); err == nil {
			t.Errorf("%s was accepted as a full refund", name)
		}
	}
	if _, err := l.PaidAndRefunded(ctx, "A1", nil, checkout.Refund{No: "R0"}); !errors.Is(err, checkout.ErrExists) {
		t.Errorf("a number taken: err = %v, want ErrExists", err)
	}
	if o := mustOrder(t, l, "A1"); o.State != checkout.StateCreated {
		t.Errorf("refused call changed A1: %+v", o)
	}
	if rs, _ := l.Refunds(ctx, "A1"); len(rs) != 0 {
		t.Errorf("refused calls stored refunds: %+v", rs)
	}
}

// testDisputedOrderRefundsInFull: a disputed order is refundable only in
// full and at what the provider took, and stays disputed with the refund
// in Refunded; then nothing is left.
func testDisputedOrderRefundsInFull(t *testing.T, l checkout.Ledger) {
	ctx := t.Context()
	mustCreate(t, l, NewOrder("O1", t0, 1000))
	mustAdvance(t, l, "O1", checkout.StateAwaiting, nil)
	mustAdvance(t, l, "O1", checkout.StateDisputed, func(o *checkout.Order) { o.ProviderAmount = 5 })
	for _, amount := range []checkout.Money{1000, 6, 4} {
		if _, err := l.CreateRefund(ctx, refund("RX", "O1", amount, checkout.RefundRequested)); !errors.Is(err, checkout.ErrRefundAboveBalance) {
			t.Errorf("refund of %s on a disputed order of ¥0.05: %v", amount.Yuan(), err)
		}
	}
	mustRefund(t, l, refund("R1", "O1", 5, checkout.RefundRequested))
	_, o, err := l.SettleRefund(ctx, "R1", checkout.RefundSucceeded, nil)
	if err != nil || o.State != checkout.StateDisputed || o.Refunded != 5 {
		t.Fatalf("after the refund: %+v %v", o, err)
	}
	if _, err := l.CreateRefund(ctx, refund("R2", "O1", 1, checkout.RefundRequested)); !errors.Is(err, checkout.ErrRefundAboveBalance) {
		t.Errorf("a second refund of a refunded dispute: %v", err)
	}
	// A succeeded one at once does the same.
	mustCreate(t, l, NewOrder("O2", t0, 1000))
	mustAdvance(t, l, "O2", checkout.StateDisputed, func(o *checkout.Order) { o.ProviderAmount = 2000 })
	if o := mustRefund(t, l, refund("R3", "O2", 2000, checkout.RefundSucceeded)); o.State != checkout.StateDisputed || o.Refunded != 2000 {
		t.Errorf("a disputed order refunded at once: %+v", o)
	}
}
