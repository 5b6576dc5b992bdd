package reconcile_test

import (
	"context"
	"testing"
	"time"

	"till/checkout"
	"till/providers/alipay/alipayemu"
	"till/providers/fake"
	"till/providers/sandbox"
	"till/providers/sandbox/sandboxtest"
	"till/providers/wechat/wechatemu"
	"till/reconcile"
	"till/store"
)

// codeSales are one wallet's payment-code sales of a day: paid at once,
// confirmed after the password, reversed before the customer paid, and
// confirmed just as it was reversed (its last query failed), so the
// reverse gave the money back.
type codeSales struct{ atOnce, password, unpaid, paidBack checkout.Order }

// codeDay is such a day on both wallets, through the real adapters
// against the sandbox's emulators, the engine and the emulators on one
// fake clock (started at the machine's time: the WeChat Pay emulator
// holds the adapter's signatures against it).
type codeDay struct {
	eng     *checkout.Engine
	ledger  *store.Store
	sb      *sandbox.Sandbox
	clock   *fake.Clock
	day     string
	wx, ali codeSales
}

func newCodeDay(t *testing.T) *codeDay {
	t.Helper()
	now := time.Now().In(checkout.BillZone)
	if midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, checkout.BillZone); midnight.Sub(now) < 2*time.Minute {
		time.Sleep(midnight.Sub(now) + time.Second) // the sales and their bills on one China day
	}
	clock := fake.NewClock(time.Now().Truncate(time.Second))
	sb, ledger := sandboxtest.Start(t, nil, sandbox.WithClock(clock.Now))
	d := &codeDay{ledger: ledger, sb: sb, clock: clock, day: clock.Now().In(checkout.BillZone).Format(checkout.DayLayout),
		eng: checkout.NewEngine(ledger, sb.Providers, checkout.Config{Terminal: "T1", Location: checkout.BillZone}, clock, nil)}

	ctx := context.Background()
	charge := func(amount checkout.Money, code string) checkout.Order {
		t.Helper()
		o, err := d.eng.ChargeCode(ctx, amount, code, "")
		if err != nil {
			t.Fatalf("charge %s: %+v %v", code, o, err)
		}
		return o
	}
	d.wx = codeSales{charge(110, wechatemu.CodePaysAtOnce), charge(220, wechatemu.CodeAsksPassword),
		charge(330, wechatemu.CodeNeverConfirms), charge(440, wechatemu.CodeNeverConfirms)}
	d.ali = codeSales{charge(150, alipayemu.CodePaysAtOnce), charge(260, alipayemu.CodeConfirmsLater),
		charge(370, alipayemu.CodeNeverConfirms), charge(480, alipayemu.CodeNeverConfirms)}
	clock.Advance(checkout.DefaultCodeDeadline)
	poll := func(o checkout.Order, want checkout.State) {
		t.Helper()
		if got, err := d.eng.PollCode(ctx, o.No); err != nil || got.State != want {
			t.Fatalf("%s sale %s: %+v %v, want %s", o.Method, o.No, got, err, want)
		}
	}
	for _, s := range []codeSales{d.wx, d.ali} {
		poll(s.atOnce, checkout.StatePaid)
		poll(s.password, checkout.StatePaid)
		poll(s.unpaid, checkout.StateClosed)
	}
	wemu, aemu := sb.WeChat.Emulator, sb.Alipay.Emulator
	if err := wemu.Pay(d.wx.paidBack.No); err != nil {
		t.Fatal(err)
	}
	wemu.SetFaults(wechatemu.Faults{Path: "/out-trade-no/" + d.wx.paidBack.No, Status: 500, Times: 1})
	poll(d.wx.paidBack, checkout.StateRefunded)
	if err := aemu.Pay(d.ali.paidBack.No); err != nil {
		t.Fatal(err)
	}
	aemu.SetFaults(alipayemu.Faults{Method: "alipay.trade.query", Unavailable: true, Times: 1})
	poll(d.ali.paidBack, checkout.StateRefunded)
	return d
}

func (d *codeDay) reconcile(t *testing.T) reconcile.Result {
	t.Helper()
	res, err := reconcile.Run(context.Background(), d.day, d.eng.Billers(), reconcile.FromLedger(d.ledger), nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestCodeSalesReconcile: a day of code sales on both wallets (paid at
// once, after the password, reversed unpaid, and paid then given back by
// the reverse) reconciles clean: each bill and the ledger have the same
// three payments and the one refund, and the day report counts the same.
func TestCodeSalesReconcile(t *testing.T) {
	d := newCodeDay(t)
	res := d.reconcile(t)
	if !res.Agrees() || len(res.Diffs) != 0 || len(res.Providers) != 2 {
		t.Fatalf("a clean day of code sales: %+v", res)
	}
	rep, err := d.eng.Report(context.Background(), d.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Providers {
		s := d.wx
		if p.Method == checkout.MethodAlipay {
			s = d.ali
		}
		want := reconcile.Side{Payments: 3, PaymentsFen: s.atOnce.Amount + s.password.Amount + s.paidBack.Amount, Refunds: 1, RefundsFen: s.paidBack.Amount}
		if p.Bill != want || p.Ledger != want {
			t.Errorf("%s: bill %+v, ledger %+v, want %+v", p.Method, p.Bill, p.Ledger, want)
		}
		if g := rep.ByProvider[p.Method]; g.SalesCount != want.Payments || g.SalesFen != want.PaymentsFen || g.RefundsCount != want.Refunds || g.RefundsFen != want.RefundsFen {
			t.Errorf("%s in the day report: %+v, want %+v", p.Method, g, want)
		}
	}
}

// TestTamperedCodeTradeIsReportedOnce: a code trade the provider's books
// tell otherwise (another amount, another sum given back by the reverse,
// paid although the reverse found it unpaid) is one difference, of its
// kind and number, and gone once undone.
func TestTamperedCodeTradeIsReportedOnce(t *testing.T) {
	d := newCodeDay(t)
	wemu, aemu := d.sb.WeChat.Emulator, d.sb.Alipay.Emulator
	wx := func(no string, fn func(*wechatemu.Trade)) func() {
		return func() {
			if err := wemu.TamperTrade(no, fn); err != nil {
				t.Fatal(err)
			}
		}
	}
	ali := func(no string, fn func(*alipayemu.TradeInfo)) func() {
		return func() {
			if err := aemu.TamperTrade(no, fn); err != nil {
				t.Fatal(err)
			}
		}
	}
	aliRefund := func(no string, fen int64) func() {
		return func() {
			if err := aemu.TamperRefund(no, no, func(r *alipayemu.RefundInfo) { r.AmountFen = fen }); err != nil {
				t.Fatal(err)
			}
		}
	}
	paidAt := d.clock.Now().Add(-time.Second)
	cases := []struct {
		name          string
		inject, undo  func()
		kind          reconcile.Kind
		order, refund string
		byQuery       bool
	}{
		{"wechat: another amount", wx(d.wx.atOnce.No, func(t *wechatemu.Trade) { t.Total = 999 }), wx(d.wx.atOnce.No, func(t *wechatemu.Trade) { t.Total = 110 }),
			reconcile.AmountDiffers, d.wx.atOnce.No, "", false},
		{"wechat: the reverse gave back another sum", wx(d.wx.paidBack.No, func(t *wechatemu.Trade) { t.Refunded = 300 }), wx(d.wx.paidBack.No, func(t *wechatemu.Trade) { t.Refunded = 440 }),
			reconcile.RefundAmountDiffers, d.wx.paidBack.No, d.wx.paidBack.No, false},
		{"wechat: paid, though reversed unpaid here", wx(d.wx.unpaid.No, func(t *wechatemu.Trade) {
			t.State, t.SuccessTime, t.TransactionID = wechatemu.StateSuccess, paidAt, "4200000000000000000001"
		}), wx(d.wx.unpaid.No, func(t *wechatemu.Trade) { t.State, t.SuccessTime = wechatemu.StateRevoked, time.Time{} }),
			reconcile.StateDiffers, d.wx.unpaid.No, "", true},
		{"alipay: another amount", ali(d.ali.atOnce.No, func(t *alipayemu.TradeInfo) { t.TotalFen = 999 }), ali(d.ali.atOnce.No, func(t *alipayemu.TradeInfo) { t.TotalFen = 150 }),
			reconcile.AmountDiffers, d.ali.atOnce.No, "", false},
		{"alipay: the cancel gave back another sum", aliRefund(d.ali.paidBack.No, 300), aliRefund(d.ali.paidBack.No, 480),
			reconcile.RefundAmountDiffers, d.ali.paidBack.No, d.ali.paidBack.No, false},
		{"alipay: paid, though cancelled unpaid here", ali(d.ali.unpaid.No, func(t *alipayemu.TradeInfo) { t.PaidAt = paidAt }),
			ali(d.ali.unpaid.No, func(t *alipayemu.TradeInfo) { t.PaidAt = time.Time{} }),
			reconcile.StateDiffers, d.ali.unpaid.No, "", true},
	}
	for _, c := range cases {
		c.inject()
		res := d.reconcile(t)
		if res.Agrees() || len(res.Diffs) != 1 {
			t.Fatalf("%s: differences %+v", c.name, res.Diffs)
		}
		if got := res.Diffs[0]; got.Kind != c.kind || got.OrderNo != c.order || got.RefundNo != c.refund || got.ByQuery != c.byQuery {
			t.Fatalf("%s: got %+v, want %s of %s %s (by query %v)", c.name, got, c.kind, c.order, c.refund, c.byQuery)
		}
		c.undo()
		if res := d.reconcile(t); !res.Agrees() {
			t.Fatalf("%s undone: %+v", c.name, res.Diffs)
		}
	}
}
