package main

import (
	"net/http"
	"strings"
	"testing"

	"till/checkout"
	"till/providers/wechat/wechatemu"
)

// TestCloseDaySettlesWhatABackoffIsHolding: `till close-day` settles by
// query before it closes ("most of what is open is only waiting for a
// query"). Through the desk's socket it runs on the desk's engine, whose
// settling passes back off an order its provider failed on (up to 10
// minutes). The provider is back: the manager's close must ask now, as
// the report's s does, not refuse the day as unsettled until the backoff
// runs out.
func TestCloseDaySettlesWhatABackoffIsHolding(t *testing.T) {
	d := servingDesk(t)
	defer d.Close()
	ctx := t.Context()
	paidSale(t, d, checkout.MethodWeChat, 1230)
	open, err := d.engine.Start(ctx, checkout.MethodWeChat, 990, "")
	if err != nil {
		t.Fatal(err)
	}
	d.engine.Release(open.No) // the clerk left it: recovery's to settle
	wemu := d.sandbox.WeChat.Emulator
	wemu.SetFaults(wechatemu.Faults{Path: "/v3/pay/transactions/out-trade-no/", Status: http.StatusInternalServerError})
	if pass := d.engine.Recover(ctx); len(pass.Errors) == 0 {
		t.Fatalf("a pass with WeChat Pay failing: %+v", pass)
	}
	if a := d.engine.Attempts()[open.No]; a.Fails != 1 {
		t.Fatalf("attempts of %s: %+v", open.No, a)
	}
	wemu.ClearFaults() // WeChat Pay is back

	t.Setenv("TILL_MANAGER_PIN", "4826")
	code, out, errOut := till(t, "close-day")
	if code != 0 || !strings.Contains(out, "Z 1") {
		t.Fatalf("close-day with WeChat Pay back: exit %d %q %q", code, out, errOut)
	}
	if o, _ := d.ledger.Order(ctx, open.No); o.State != checkout.StateClosed {
		t.Fatalf("the left order is %s, want closed", o.State)
	}
}
