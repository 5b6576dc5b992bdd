package reconcile_test

import (
	"context"
	"testing"

	"till/reconcile"
)

// TestABillRowListedTwiceIsADifference: a bill that lists one payment (or
// one refund) twice says the provider took (or gave back) that money
// twice, and its totals are not the ledger's. The second row must not be
// matched again against the same ledger order and pass as agreeing.
func TestABillRowListedTwiceIsADifference(t *testing.T) {
	ctx := context.Background()
	t.Run("payment", func(t *testing.T) {
		bill, rec := clean()
		bill.Trades = append(bill.Trades, bill.Trades[0])
		diffs, side, err := reconcile.Compare(ctx, bill, rec.day, rec)
		if err != nil {
			t.Fatal(err)
		}
		if len(diffs) == 0 {
			t.Fatalf("payment A listed twice on the bill (bill %d payments, ledger %d): no difference", len(bill.Trades), side.Payments)
		}
		if d := diffs[0]; d.OrderNo != "A" || d.ByQuery {
			t.Fatalf("got %+v, want a difference on A for a person", d)
		}
	})
	t.Run("refund", func(t *testing.T) {
		bill, rec := clean()
		bill.Refunds = append(bill.Refunds, bill.Refunds[0])
		diffs, _, err := reconcile.Compare(ctx, bill, rec.day, rec)
		if err != nil {
			t.Fatal(err)
		}
		if len(diffs) == 0 {
			t.Fatal("refund A-R1 listed twice on the bill: no difference")
		}
		if d := diffs[0]; d.RefundNo != "A-R1" || d.ByQuery {
			t.Fatalf("got %+v, want a difference on A-R1 for a person", d)
		}
	})
}
