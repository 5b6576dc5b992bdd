package checkout_test

// A second review of payment-code sales (issue 14), after the fixes of
// the first: each test fails on the change as it stands.

import (
	"context"
	"errors"
	"testing"

	"till/checkout"
)

// A code scanned right after a digit the clerk typed (a note "table 9",
// a search for "9.90") makes one run of digits with the clerk's in front:
// HoldsCode reads the lead of the whole run ("92…", "90…"), not of the
// code inside it, and finds nothing. CheckNote then lets the customer's
// code into the ledger, the provider's description and the bill.
func TestHoldsCodeAfterADigit(t *testing.T) {
	for _, s := range []string{"table 9" + aliOK, "9.90" + aliOK, "A3" + wxCode, "7" + wxCode} {
		if !checkout.HoldsCode(s) {
			t.Errorf("HoldsCode(%q) = false: the code after the clerk's digit is not found", s)
		}
	}
	var ne *checkout.NoteError
	if n, err := checkout.CheckNote("table 9" + aliOK); !errors.As(err, &ne) || ne.Code != checkout.NoteHoldsCode {
		t.Fatalf("a note holding a code after a digit is taken: %q %v", n, err)
	}
}

// codePaid and codeCancelled are said to "live until the sale settles",
// and advance forgets them; paidAndRefunded, the other way a code sale
// ends (a reverse or cancel that gave back a last-moment payment, a query
// that finds the trade refunded), does not. On a long-running desk or
// `till serve` every such sale stays in the engine's maps for good.
func TestCodeMemoryIsForgottenWhenPaidAndRefunded(t *testing.T) {
	ctx := context.Background()
	t.Run("cancelled, then given back", func(t *testing.T) {
		r := newRig(t)
		r.ali.CodeWaits = true
		o, err := r.eng.ChargeCode(ctx, 880, aliOK, "")
		if err != nil || !o.State.Open() {
			t.Fatalf("charge: %+v %v", o, err)
		}
		r.ali.OnReverse = func(_ context.Context, no string) error { return r.ali.Confirm(no) }
		got, err := r.eng.CancelCode(ctx, o.No)
		if err != nil || got.State != checkout.StateRefunded {
			t.Fatalf("cancel of a sale confirmed at the last moment: %+v %v", got, err)
		}
		if _, cancelled := checkout.CodeMemory(r.eng, o.No); cancelled {
			t.Fatalf("the settled sale %s (%s) is still remembered as cancelled", o.No, got.State)
		}
	})
	t.Run("paid but unsaved, then found refunded", func(t *testing.T) {
		r := newRig(t)
		r.faulty.Fail(failPaidWrites)
		o, err := r.eng.ChargeCode(ctx, 990, wxCode, "")
		var se *checkout.SaveError
		if !errors.As(err, &se) || !o.State.Open() {
			t.Fatalf("paid, not saved: %+v %v", o, err)
		}
		r.faulty.Fail(nil)
		r.wx.Rewrite = func(st *checkout.TradeStatus) { st.State = checkout.TradeRefunded }
		got, err := r.eng.PollCode(ctx, o.No)
		if err != nil || got.State != checkout.StateRefunded {
			t.Fatalf("a trade found refunded: %+v %v", got, err)
		}
		if paid, _ := checkout.CodeMemory(r.eng, o.No); paid {
			t.Fatalf("the settled sale %s (%s) is still remembered as paid but unsaved", o.No, got.State)
		}
	})
}
