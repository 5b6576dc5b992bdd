package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"till/checkout"
)

func refund(no, orderNo string, amount checkout.Money, state checkout.RefundState) checkout.Refund {
	return checkout.Refund{No: no, OrderNo: orderNo, Amount: amount, State: state}
}

func TestRefundBalance(t *testing.T) {
	s, clk := mustOpen(t)
	ctx := t.Context()
	paidOrder(t, s, "O1", 1000)

	clk.Add(time.Second)
	o, err := s.CreateRefund(ctx, refund("R1", "O1", 300, checkout.RefundSucceeded))
	if err != nil {
		t.Fatal(err)
	}
	if o.State != checkout.StatePartiallyRefunded || o.Refunded != 300 || !o.UpdatedAt.Equal(clk.Now()) {
		t.Errorf("after a succeeded partial refund: %+v", o)
	}
	if stored := mustOrder(t, s, "O1"); stored != o {
		t.Errorf("returned %+v, stored %+v", o, stored)
	}

	clk.Add(time.Second)
	o, err = s.CreateRefund(ctx, refund("R2", "O1", 700, checkout.RefundRequested))
	if err != nil {
		t.Fatalf("second partial refund up to the total: %v", err)
	}
	if o.State != checkout.StatePartiallyRefunded || o.Refunded != 300 {
		t.Errorf("a requested refund changed the order: %+v", o)
	}

	// One fen more: the in-flight refund counts.
	_, err = s.CreateRefund(ctx, refund("R3", "O1", 1, checkout.RefundRequested))
	if !errors.Is(err, checkout.ErrRefundAboveBalance) {
		t.Fatalf("one fen above: err = %v, want ErrRefundAboveBalance", err)
	}
	if !strings.Contains(err.Error(), "¥0.00 is left") {
		t.Errorf("message %q should say how much is left", err)
	}

	// A failed refund gives its amount back.
	if _, _, err := s.SettleRefund(ctx, "R2", checkout.RefundFailed, nil); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateRefund(ctx, refund("R3", "O1", 701, checkout.RefundRequested))
	if !errors.Is(err, checkout.ErrRefundAboveBalance) || !strings.Contains(err.Error(), "¥7.00 is left") {
		t.Errorf("701 of 700 left: err = %v", err)
	}
	clk.Add(time.Second)
	o, err = s.CreateRefund(ctx, refund("R3", "O1", 700, checkout.RefundSucceeded))
	if err != nil {
		t.Fatal(err)
	}
	if o.State != checkout.StateRefunded || o.Refunded != 1000 {
		t.Errorf("after refunding the rest: %+v", o)
	}

	refunds, err := s.Refunds(ctx, "O1")
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
	if refunds[0].Method != checkout.MethodWeChat || refunds[0].SucceededAt.IsZero() {
		t.Errorf("refund defaults not filled: %+v", refunds[0])
	}
}

func TestRefundRefused(t *testing.T) {
	s, _ := mustOpen(t)
	ctx := t.Context()
	mustCreate(t, s, newOrder("U1", t0, 1000)) // never paid
	paidOrder(t, s, "P1", 1000)
	if _, err := s.CreateRefund(ctx, refund("R1", "P1", 100, checkout.RefundRequested)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		r    checkout.Refund
		want error
	}{
		{"unpaid order", refund("R2", "U1", 100, checkout.RefundRequested), checkout.ErrTransition},
		{"unknown order", refund("R2", "nope", 100, checkout.RefundRequested), checkout.ErrNotFound},
		{"duplicate number", refund("R1", "P1", 100, checkout.RefundRequested), checkout.ErrExists},
		{"zero", refund("R2", "P1", 0, checkout.RefundRequested), checkout.ErrAmount},
		{"negative", refund("R2", "P1", -5, checkout.RefundRequested), checkout.ErrAmount},
	}
	for _, c := range cases {
		if _, err := s.CreateRefund(ctx, c.r); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := s.CreateRefund(ctx, refund("R2", "P1", 100, checkout.RefundFailed)); err == nil {
		t.Error("a new refund in failed was accepted")
	}
	if rs, _ := s.Refunds(ctx, "U1"); len(rs) != 0 {
		t.Errorf("refused refund stored: %+v", rs)
	}
}

func TestSettleRefund(t *testing.T) {
	s, clk := mustOpen(t)
	ctx := t.Context()
	paidOrder(t, s, "O1", 1000)
	if _, err := s.CreateRefund(ctx, refund("R1", "O1", 400, checkout.RefundRequested)); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	r, o, err := s.SettleRefund(ctx, "R1", checkout.RefundSucceeded, func(r *checkout.Refund) {
		r.ProviderRefundNo = "P-R1"
		r.Amount = 1 // ignored: the ceiling was checked against 400
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.State != checkout.RefundSucceeded || r.Amount != 400 || r.ProviderRefundNo != "P-R1" || !r.SucceededAt.Equal(clk.Now()) {
		t.Errorf("settled refund = %+v", r)
	}
	if o.State != checkout.StatePartiallyRefunded || o.Refunded != 400 {
		t.Errorf("order after settle = %+v", o)
	}
	if stored := mustOrder(t, s, "O1"); stored != o {
		t.Errorf("returned %+v, stored %+v", o, stored)
	}

	// A duplicate answer is harmless and changes nothing.
	clk.Add(time.Minute)
	r2, o2, err := s.SettleRefund(ctx, "R1", checkout.RefundSucceeded, func(r *checkout.Refund) { r.ProviderRefundNo = "other" })
	if err != nil || r2 != r || o2 != o {
		t.Errorf("second settle: %+v %+v %v; want unchanged", r2, o2, err)
	}
	// The other final state is refused.
	if _, _, err := s.SettleRefund(ctx, "R1", checkout.RefundFailed, nil); !errors.Is(err, checkout.ErrTransition) {
		t.Errorf("succeeded -> failed: err = %v, want ErrTransition", err)
	}
	if _, _, err := s.SettleRefund(ctx, "R1", checkout.RefundRequested, nil); !errors.Is(err, checkout.ErrTransition) {
		t.Errorf("settle to requested: err = %v, want ErrTransition", err)
	}
	if _, _, err := s.SettleRefund(ctx, "nope", checkout.RefundFailed, nil); !errors.Is(err, checkout.ErrNotFound) {
		t.Errorf("unknown refund: err = %v, want ErrNotFound", err)
	}

	// The rest, requested then succeeded, ends the order refunded.
	if _, err := s.CreateRefund(ctx, refund("R2", "O1", 600, checkout.RefundRequested)); err != nil {
		t.Fatal(err)
	}
	_, o, err = s.SettleRefund(ctx, "R2", checkout.RefundSucceeded, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.State != checkout.StateRefunded || o.Refunded != 1000 {
		t.Errorf("order after full refund = %+v", o)
	}
}

// TestConcurrentRefunds races many refunds at one order: the ceiling check
// and the write share a transaction, so the total never passes the amount.
func TestConcurrentRefunds(t *testing.T) {
	s, _ := mustOpen(t)
	ctx := t.Context()
	paidOrder(t, s, "O1", 1000)
	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			state := checkout.RefundRequested
			if i%2 == 0 {
				state = checkout.RefundSucceeded
			}
			_, errs[i] = s.CreateRefund(ctx, refund(fmt.Sprintf("R%02d", i), "O1", 30, state))
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, checkout.ErrRefundAboveBalance):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 33 { // 33 × 30 = 990 <= 1000 < 34 × 30
		t.Errorf("%d refunds accepted, want 33", ok)
	}
	refunds, err := s.Refunds(ctx, "O1")
	if err != nil {
		t.Fatal(err)
	}
	var held, succeeded checkout.Money
	for _, r := range refunds {
		held += r.Amount
		if r.State == checkout.RefundSucceeded {
			succeeded += r.Amount
		}
	}
	if held > 1000 || len(refunds) != ok {
		t.Errorf("stored %d refunds holding %d fen", len(refunds), held)
	}
	if o := mustOrder(t, s, "O1"); o.Refunded != succeeded {
		t.Errorf("order Refunded = %d, succeeded refunds = %d", o.Refunded, succeeded)
	}
}

func TestPaidAndRefunded(t *testing.T) {
	for _, from := range []checkout.State{checkout.StateCreated, checkout.StateAwaiting, checkout.StateClosed} {
		t.Run(string(from), func(t *testing.T) {
			s, clk := mustOpen(t)
			ctx := t.Context()
			o := newOrder("O1", t0, 1234)
			o.State = from
			mustCreate(t, s, o)
			clk.Add(time.Minute)
			got, err := s.PaidAndRefunded(ctx, "O1", func(o *checkout.Order) { o.ProviderTradeNo = "T-1" },
				checkout.Refund{No: "R1", Reason: "cancelled after payment"})
			if err != nil {
				t.Fatal(err)
			}
			if got.State != checkout.StateRefunded || got.Refunded != got.Amount || got.ProviderTradeNo != "T-1" || got.PaidAt.IsZero() {
				t.Errorf("order = %+v", got)
			}
			if stored := mustOrder(t, s, "O1"); stored != got {
				t.Errorf("returned %+v, stored %+v", got, stored)
			}
			refunds, err := s.Refunds(ctx, "O1")
			if err != nil {
				t.Fatal(err)
			}
			if len(refunds) != 1 || refunds[0].State != checkout.RefundSucceeded || refunds[0].Amount != 1234 || refunds[0].OrderNo != "O1" {
				t.Errorf("refunds = %+v, want one succeeded of 1234", refunds)
			}
			if open, _ := s.OpenOrders(ctx); len(open) != 0 {
				t.Errorf("still open: %+v", open)
			}
			if paid, _ := s.OrdersPaid(ctx, t0, t0.Add(time.Hour), 0); len(paid) != 1 {
				t.Errorf("paid index = %+v", paid)
			}
			// Once paid, a second report is refused with the stored order.
			_, err = s.PaidAndRefunded(ctx, "O1", nil, checkout.Refund{No: "R2"})
			var te *checkout.TransitionError
			if !errors.As(err, &te) || te.Current != got {
				t.Errorf("second PaidAndRefunded: err = %v", err)
			}
		})
	}
}

// A sale a poll saw paid a moment before the cancel refunded it: the
// refund is recorded and the paid time kept.
func TestPaidAndRefundedAfterAPollSawItPaid(t *testing.T) {
	s, _ := mustOpen(t)
	ctx := t.Context()
	before := paidOrder(t, s, "P1", 500)
	got, err := s.PaidAndRefunded(ctx, "P1", func(o *checkout.Order) { o.PaidAt = t0.Add(time.Hour) }, checkout.Refund{No: "R1"})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != checkout.StateRefunded || got.Refunded != 500 || !got.PaidAt.Equal(before.PaidAt) {
		t.Errorf("got %+v, want refunded 500 with the first paid time", got)
	}
	if rs, _ := s.Refunds(ctx, "P1"); len(rs) != 1 || rs[0].Amount != 500 || rs[0].State != checkout.RefundSucceeded {
		t.Errorf("refunds %+v", rs)
	}
}

func TestPaidAndRefundedRefused(t *testing.T) {
	s, _ := mustOpen(t)
	ctx := t.Context()
	paidOrder(t, s, "P1", 500)
	if _, err := s.CreateRefund(ctx, checkout.Refund{No: "R0", OrderNo: "P1", Amount: 100, State: checkout.RefundRequested}); err != nil {
		t.Fatal(err)
	}
	before := mustOrder(t, s, "P1")
	_, err := s.PaidAndRefunded(ctx, "P1", nil, checkout.Refund{No: "R1"})
	var te *checkout.TransitionError
	if !errors.As(err, &te) || te.Current != before {
		t.Errorf("on a paid order with a refund: err = %v, want TransitionError with the stored order", err)
	}
	if rs, _ := s.Refunds(ctx, "P1"); len(rs) != 1 {
		t.Errorf("refund stored on refusal: %+v", rs)
	}
	mustCreate(t, s, newOrder("F1", t0, 500))
	mustAdvance(t, s, "F1", checkout.StateFailed, nil)
	if _, err := s.PaidAndRefunded(ctx, "F1", nil, checkout.Refund{No: "R1"}); !errors.As(err, &te) {
		t.Errorf("on a failed order: err = %v", err)
	}
	mustCreate(t, s, newOrder("A1", t0, 500))
	if _, err := s.PaidAndRefunded(ctx, "A1", nil, checkout.Refund{No: "R1", Amount: 499}); err == nil {
		t.Error("a partial amount was accepted as a full refund")
	}
	if _, err := s.PaidAndRefunded(ctx, "nope", nil, checkout.Refund{No: "R1"}); !errors.Is(err, checkout.ErrNotFound) {
		t.Errorf("unknown order: err = %v", err)
	}
	if o := mustOrder(t, s, "A1"); o.State != checkout.StateCreated {
		t.Errorf("refused call changed A1: %+v", o)
	}
}
