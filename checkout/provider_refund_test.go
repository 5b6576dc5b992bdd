package checkout_test

import (
	"context"
	"testing"

	"till/checkout"
)

// TestProviderRefundGoesByItsOrdersNumber: a payment the provider gave
// back by itself (a reverse of a code sale the customer confirmed as it
// was reversed, a cancel of a QR sale paid as it was closed) is a refund
// of the whole amount numbered with its order's number, the number the
// provider's bill lists it under; a refund till asks for keeps a number
// of its own.
func TestProviderRefundGoesByItsOrdersNumber(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.wx.CodeWaits = true
	code, _ := r.eng.ChargeCode(ctx, 990, wxCode, "")
	r.wx.OnReverse = func(_ context.Context, no string) error { return r.wx.Confirm(no) }
	r.clock.Advance(checkout.DefaultCodeDeadline)
	if got, err := r.eng.PollCode(ctx, code.No); err != nil || got.State != checkout.StateRefunded {
		t.Fatalf("reversed after the customer paid: %+v %v", got, err)
	}
	r.wx.PayOnClose, r.wx.RefundOnClose = true, true
	qr := r.start(t, checkout.MethodWeChat, 880)
	if got, err := r.eng.Finish(ctx, qr.No, "timed out"); err != nil || got.State != checkout.StateRefunded {
		t.Fatalf("closed after the customer paid: %+v %v", got, err)
	}
	for _, o := range []checkout.Order{code, qr} {
		rs := r.refunds(t, o.No)
		if len(rs) != 1 || rs[0].No != o.No || rs[0].Amount != o.Amount || rs[0].State != checkout.RefundSucceeded {
			t.Fatalf("refunds of %s: %+v", o.No, rs)
		}
		if got, err := r.ledger.Refund(ctx, o.No); err != nil || got.OrderNo != o.No {
			t.Fatalf("refund %s by number: %+v %v", o.No, got, err)
		}
	}

	r.wx.PayOnClose, r.wx.RefundOnClose = false, false
	sale := r.paid(t, 500)
	own, _, err := r.eng.Refund(ctx, sale.No, 200, "wrong size")
	if err != nil || own.No == sale.No || own.No == "" {
		t.Fatalf("a refund till asked for: %+v %v", own, err)
	}
}
