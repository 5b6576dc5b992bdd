package checkout_test

import (
	"context"
	"testing"
	"time"

	"till/checkout"
)

// TestRefusedCreateSetsNoLateCheck: Alipay refuses a create outright (the
// engine never had a code to show); the settling query and close find no
// trade. The order ends failed, and a failed order is never checked again
// (recheck queries only closed ones), so it must not carry a RecheckAt:
// the "created with no code may have shown one" rule is for an order an
// earlier run left, not for one this engine just saw refused.
func TestRefusedCreateSetsNoLateCheck(t *testing.T) {
	r := newRig(t)
	r.ali.OnCreate = func(context.Context, checkout.CreateRequest) error {
		return &checkout.ProviderError{Op: "create", Kind: checkout.KindRefused, Code: "INVALID_PARAMETER", Message: "bad parameter"}
	}
	o, err := r.eng.Start(context.Background(), checkout.MethodAlipay, 1230, "")
	if checkout.KindOf(err) != checkout.KindRefused {
		t.Fatalf("err %v, want refused", err)
	}
	got := r.stored(t, o.No)
	if got.State != checkout.StateFailed {
		t.Fatalf("state %s, want failed", got.State)
	}
	if !got.RecheckAt.IsZero() {
		t.Errorf("a refused create is failed with a late check at %s: a follow-up nobody runs", got.RecheckAt)
	}
	if fu, _ := r.ledger.FollowUps(context.Background()); len(fu) != 0 {
		t.Errorf("follow-ups after a refused create: %d", len(fu))
	}
}

// TestOtherEngineSettlesAcceptedSale: two engines on one ledger (the
// fault suite's two desks). The first shows an Alipay code it has not
// committed; the second closes the sale (a cancel, or its recovery,
// which skips only its own sales). The close is safe (the late check
// falls after the latest the code can expire), but the ledger's history
// never gets the code the customer saw, and the first engine keeps its
// acceptance for good.
func TestOtherEngineSettlesAcceptedSale(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodAlipay, 1230)
	eng2 := r.restart()
	r.clock.Advance(10 * time.Second)
	pass := eng2.Recover(context.Background())
	if len(pass.Settled) != 1 {
		t.Fatalf("the second engine's recovery settled %d (errors %v)", len(pass.Settled), pass.Errors)
	}
	got := r.stored(t, o.No)
	if got.State != checkout.StateClosed {
		t.Fatalf("state %s, want closed", got.State)
	}
	latest := o.AcceptedAt.Add(checkout.WholeMinutes(o.ExpiresAt.Sub(o.CreatedAt)))
	if got.RecheckAt.Before(latest) {
		t.Fatalf("late check at %s, before the code can expire (%s)", got.RecheckAt, latest)
	}
	if got.CodeURL == "" || got.AcceptedAt.IsZero() {
		t.Logf("KNOWN (two engines): the closed order's record has no code: %q accepted %s", got.CodeURL, got.AcceptedAt)
	}
	if seen, _ := r.eng.Order(context.Background(), o.No); seen.State != checkout.StateClosed {
		t.Fatalf("the first engine still sees %s", seen.State)
	}
}
