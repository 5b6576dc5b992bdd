package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"till/checkout"
	"till/providers/alipay/alipayemu"
	"till/providers/wechat/wechatemu"
	"till/reconcile"
)

// reconciled is `till reconcile --json` parsed.
type reconciled struct {
	reconcile.Result
	Agrees bool `json:"agrees"`
}

func reconcileJSON(t *testing.T, args ...string) (int, reconciled) {
	t.Helper()
	code, out, errOut := till(t, append([]string{"reconcile", "--json"}, args...)...)
	var r reconciled
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("reconcile --json: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
	return code, r
}

// billDay is today's bill day; a test that would straddle China's
// midnight waits it out, so its sales and its bill are of one day.
func billDay(t *testing.T) string {
	now := time.Now().In(checkout.BillZone)
	if midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, checkout.BillZone); midnight.Sub(now) < 30*time.Second {
		time.Sleep(midnight.Sub(now) + time.Second)
	}
	return time.Now().In(checkout.BillZone).Format(checkout.DayLayout)
}

// TestReconcileTheSandboxDay: a sandbox day of sales and refunds on both
// providers reconciles clean (exit 0) through the desk's socket, and
// each kind of discrepancy injected into an emulator's records is
// reported alone, then gone once undone; one the ledger can settle by
// query (paid after till closed it) is settled by --settle. With the desk
// closed, reconcile starts the emulators itself and finds the same.
func TestReconcileTheSandboxDay(t *testing.T) {
	sandboxHome(t)
	day := billDay(t)
	d, err := openDesk(&CLI{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.serve(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	wx := paidSale(t, d, checkout.MethodWeChat, 1230)
	ali := paidSale(t, d, checkout.MethodAlipay, 800)
	refund, _, err := d.engine.Refund(ctx, ali.No, 300, "wrong size")
	if err != nil || refund.State != checkout.RefundSucceeded {
		t.Fatalf("refund: %+v %v", refund, err)
	}
	wemu, aemu := d.sandbox.WeChat.Emulator, d.sandbox.Alipay.Emulator

	code, r := reconcileJSON(t, "--day", day)
	if code != 0 || !r.Agrees || len(r.Diffs) != 0 {
		t.Fatalf("a clean day: exit %d %+v", code, r)
	}
	if p := r.Providers; len(p) != 2 || p[0].Bill.PaymentsFen != 1230 || p[1].Bill.Payments != 1 || p[1].Bill.RefundsFen != 300 || p[1].Ledger != p[1].Bill {
		t.Fatalf("the sides of a clean day: %+v", p)
	}
	code, text, _ := till(t, "reconcile", "--day", day)
	if code != 0 || !strings.Contains(text, "The bills and the ledger agree.") {
		t.Fatalf("text on a clean day: %d\n%s", code, text)
	}

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name          string
		inject, undo  func()
		kind          reconcile.Kind
		order, refund string
	}{
		{"a payment unknown here", func() {
			_, err := wemu.AddForeignTrade(wechatemu.Trade{OutTradeNo: "FOREIGN0001", Total: 500})
			must(err)
		}, func() {
			must(wemu.TamperTrade("FOREIGN0001", func(tr *wechatemu.Trade) { tr.State, tr.SuccessTime = "CLOSED", time.Time{} }))
		}, reconcile.MissingHere, "FOREIGN0001", ""},
		{"a sale the provider does not have paid", func() {
			must(wemu.TamperTrade(wx.No, func(tr *wechatemu.Trade) { tr.State = "CLOSED" }))
		}, func() {
			must(wemu.TamperTrade(wx.No, func(tr *wechatemu.Trade) { tr.State = "SUCCESS" }))
		}, reconcile.MissingThere, wx.No, ""},
		{"another amount", func() {
			must(aemu.TamperTrade(ali.No, func(tr *alipayemu.TradeInfo) { tr.TotalFen = 900 }))
		}, func() {
			must(aemu.TamperTrade(ali.No, func(tr *alipayemu.TradeInfo) { tr.TotalFen = 800 }))
		}, reconcile.AmountDiffers, ali.No, ""},
		{"a refund unknown here", func() {
			_, err := aemu.AddForeignRefund(ali.No, alipayemu.RefundInfo{OutRequestNo: "FOREIGNR01", AmountFen: 100})
			must(err)
		}, func() {
			must(aemu.TamperTrade(ali.No, func(tr *alipayemu.TradeInfo) {
				tr.Refunds, tr.RefundedFen = tr.Refunds[:1], 300
			}))
		}, reconcile.RefundMissingHere, ali.No, "FOREIGNR01"},
		{"a refund not on the bill", func() {
			must(aemu.TamperRefund(ali.No, refund.No, func(x *alipayemu.RefundInfo) { x.At = x.At.AddDate(0, 0, -3) }))
		}, func() {
			must(aemu.TamperRefund(ali.No, refund.No, func(x *alipayemu.RefundInfo) { x.At = x.At.AddDate(0, 0, 3) }))
		}, reconcile.RefundMissingThere, ali.No, refund.No},
		{"a refund of another amount", func() {
			must(aemu.TamperRefund(ali.No, refund.No, func(x *alipayemu.RefundInfo) { x.AmountFen = 350 }))
		}, func() {
			must(aemu.TamperRefund(ali.No, refund.No, func(x *alipayemu.RefundInfo) { x.AmountFen = 300 }))
		}, reconcile.RefundAmountDiffers, ali.No, refund.No},
	}
	for _, c := range cases {
		c.inject()
		code, r := reconcileJSON(t, "--day", day)
		if code != 1 || r.Agrees || len(r.Diffs) != 1 {
			t.Fatalf("%s: exit %d, differences %+v", c.name, code, r.Diffs)
		}
		if got := r.Diffs[0]; got.Kind != c.kind || got.OrderNo != c.order || got.RefundNo != c.refund {
			t.Fatalf("%s: got %+v, want %s of %s %s", c.name, got, c.kind, c.order, c.refund)
		}
		c.undo()
		if code, r := reconcileJSON(t, "--day", day); code != 0 || len(r.Diffs) != 0 {
			t.Fatalf("%s undone: exit %d %+v", c.name, code, r.Diffs)
		}
	}

	// Paid after till closed it, before the late check: the bill has it
	// paid, the ledger closed. A query settles it (a late payment).
	late, err := d.engine.Start(ctx, checkout.MethodAlipay, 450, "")
	if err != nil {
		t.Fatal(err)
	}
	if late, err = d.engine.Finish(ctx, late.No, "cancelled by clerk"); err != nil || late.State != checkout.StateClosed {
		t.Fatalf("cancel before the scan: %+v %v", late, err)
	}
	resp, err := http.PostForm(late.CodeURL, url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	code, text, _ = till(t, "reconcile", "--day", day)
	if code != 1 || !strings.Contains(text, "order "+late.No+" paid ¥4.50 at the provider, closed in till") || !strings.Contains(text, "--settle") {
		t.Fatalf("paid after the close: exit %d\n%s", code, text)
	}
	for len(d.engine.Notices()) > 0 { // what notifications settled before
		<-d.engine.Notices()
	}
	code, r = reconcileJSON(t, "--day", day, "--settle")
	if code != 0 || len(r.Diffs) != 0 || len(r.Settled) != 1 || r.Settled[0].OrderNo != late.No || r.Settled[0].Kind != reconcile.StateDiffers {
		t.Fatalf("--settle: exit %d %+v", code, r)
	}
	if o, _ := d.ledger.Order(ctx, late.No); o.State != checkout.StatePaid || !o.Late {
		t.Fatalf("after --settle the order is %s (late %v), want a late payment", o.State, o.Late)
	}
	select { // the desk's screens hear of it at once (the late banner)
	case o := <-d.engine.Notices():
		if o.No != late.No || !o.Late {
			t.Fatalf("notice of %+v", o)
		}
	default:
		t.Fatal("a payment --settle found was not published to the desk")
	}

	// The desk closed: reconcile opens the ledger and starts the emulators
	// itself, from their kept records.
	must(wemu.TamperTrade(wx.No, func(tr *wechatemu.Trade) { tr.Total = 1300 }))
	d.Close()
	code, r = reconcileJSON(t, "--day", day)
	if code != 1 || len(r.Diffs) != 1 || r.Diffs[0].Kind != reconcile.AmountDiffers || r.Diffs[0].OrderNo != wx.No || r.Diffs[0].BillFen != 1300 || r.Diffs[0].LedgerFen != 1230 {
		t.Fatalf("with no desk: exit %d %+v", code, r.Diffs)
	}
}

// TestReconcileABillNotReady: a day whose bill the providers have not
// made (the emulators, like the real ones, have none for a day to come)
// says so and exits 3, never "agree"; a bad day is refused.
func TestReconcileABillNotReady(t *testing.T) {
	sandboxHome(t)
	tomorrow := time.Now().In(checkout.BillZone).AddDate(0, 0, 2).Format(checkout.DayLayout)
	code, text, _ := till(t, "reconcile", "--day", tomorrow)
	if code != exitIncomplete || !strings.Contains(text, "no bill for "+tomorrow+" yet") || strings.Contains(text, "agree.") {
		t.Fatalf("a day to come: exit %d\n%s", code, text)
	}
	code, r := reconcileJSON(t, "--day", tomorrow)
	if code != exitIncomplete || r.Agrees || len(r.Providers) != 2 || !r.Providers[0].NotReady || !r.Providers[1].NotReady {
		t.Fatalf("json: exit %d %+v", code, r)
	}
	if code, _, errOut := till(t, "reconcile", "--day", "2026-02-30"); code != exitUsage || !strings.Contains(errOut, "2026-02-30") {
		t.Fatalf("a bad day: exit %d %s", code, errOut)
	}
}
