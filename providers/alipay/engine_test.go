package alipay

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"till/checkout"
	"till/providers/alipay/alipayemu"
	"till/store"
)

// newLedger is the real bbolt ledger in a temporary file.
func newLedger(t *testing.T) *store.Store {
	t.Helper()
	l, err := store.Open(filepath.Join(t.TempDir(), "till.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// dayNet adds up the day's paid sales and their succeeded refunds, as the
// ledger has them.
func dayNet(t *testing.T, l *store.Store, day time.Time) (sales, refunds checkout.Money) {
	t.Helper()
	from, to := checkout.DayBounds(day, Shanghai)
	orders, err := l.OrdersPaid(context.Background(), from, to, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range orders {
		sales += o.Amount
		rs, err := l.Refunds(context.Background(), o.No)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.State == checkout.RefundSucceeded {
				refunds += r.Amount
			}
		}
	}
	return sales, refunds
}

// lastMoment pays the trade at the emulator just before the close
// reaches it: after the engine's final query found it unpaid.
type lastMoment struct {
	*Provider
	pay func(orderNo string)
}

func (p lastMoment) Close(ctx context.Context, orderNo string) (checkout.CloseResult, error) {
	p.pay(orderNo)
	return p.Provider.Close(ctx, orderNo)
}

// TestEngineLastMomentRace: the customer pays after the final query and
// before the close. trade.close refuses the paid trade, the engine
// confirms by query, and the sale stands: nothing is refunded, at Alipay
// or in the ledger.
func TestEngineLastMomentRace(t *testing.T) {
	e := newEnv(t)
	ledger := newLedger(t)
	racer := lastMoment{Provider: e.p, pay: func(no string) {
		if err := e.emu.Pay(no); err != nil {
			t.Errorf("customer pays: %v", err)
		}
	}}
	eng := checkout.NewEngine(ledger, []checkout.Provider{racer}, checkout.Config{Location: Shanghai}, checkout.ClockFunc(e.clock.Now), nil)

	o, err := eng.Start(ctx, checkout.MethodAlipay, 1230, "coffee")
	if err != nil || o.State != checkout.StateAwaiting || o.CodeURL == "" {
		t.Fatalf("Start: %+v, %v", o, err)
	}
	e.emu.Scan(o.No)
	if o, err = eng.Poll(ctx, o.No); err != nil || o.State != checkout.StateAwaiting {
		t.Fatalf("Poll: %+v, %v", o, err)
	}
	o, err = eng.Finish(ctx, o.No, "timed out")
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := e.emu.Trade(o.No)
	if o.State != checkout.StatePaid || o.Refunded != 0 || o.ProviderTradeNo != tr.TradeNo {
		t.Fatalf("order after the close: %+v", o)
	}
	if refunds, _ := ledger.Refunds(ctx, o.No); len(refunds) != 0 {
		t.Fatalf("refunds: %+v", refunds)
	}
	if sales, refunded := dayNet(t, ledger, e.clock.Now()); sales != 1230 || refunded != 0 {
		t.Fatalf("day: sales %s, refunds %s; want 12.30, 0.00", sales, refunded)
	}
	if tr.Status != "TRADE_SUCCESS" || tr.RefundedFen != 0 {
		t.Fatalf("emulator: %+v", tr)
	}
}

// TestEngineLatePaymentAfterCloseBeforeScan: through the real SDK and the
// emulator, the clerk cancels before the customer scans, the customer then
// pays the code inside its life, and the engine's late check after the
// code's expiry records the sale paid, late.
func TestEngineLatePaymentAfterCloseBeforeScan(t *testing.T) {
	e := newEnv(t)
	ledger := newLedger(t)
	eng := checkout.NewEngine(ledger, []checkout.Provider{e.p}, checkout.Config{Location: Shanghai, Timeout: 3 * time.Minute},
		checkout.ClockFunc(e.clock.Now), nil)
	o, err := eng.Start(ctx, checkout.MethodAlipay, 880, "")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(20 * time.Second)
	if o, err = eng.Finish(ctx, o.No, "cancelled by clerk"); err != nil || o.State != checkout.StateClosed || o.RecheckAt.IsZero() {
		t.Fatalf("cancel: %+v %v", o, err)
	}
	e.clock.Advance(time.Minute)
	if code, body := payerDo(t, http.MethodPost, o.CodeURL, "pay"); code != http.StatusOK {
		t.Fatalf("the customer pays the closed code: %d %s", code, body)
	}
	if pass := eng.Recover(ctx); len(pass.Late) != 0 {
		t.Fatalf("checked before the code expired: %+v", pass)
	}
	e.clock.Advance(o.RecheckAt.Sub(e.clock.Now()))
	pass := eng.Recover(ctx)
	if len(pass.Errors) != 0 || len(pass.Late) != 1 {
		t.Fatalf("late check: %+v", pass)
	}
	got, _ := ledger.Order(ctx, o.No)
	if got.State != checkout.StatePaid || !got.Late || got.ProviderTradeNo == "" {
		t.Fatalf("after the late check: %+v", got)
	}
	if sales, _ := dayNet(t, ledger, e.clock.Now()); sales != 880 {
		t.Fatalf("day sales %s, want 8.80", sales)
	}
}

func TestEngineSaleAndTimeout(t *testing.T) {
	e := newEnv(t)
	ledger := newLedger(t)
	eng := checkout.NewEngine(ledger, []checkout.Provider{e.p}, checkout.Config{Location: Shanghai}, checkout.ClockFunc(e.clock.Now), nil)

	paid, err := eng.Start(ctx, checkout.MethodAlipay, 4560, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.emu.Pay(paid.No); err != nil {
		t.Fatal(err)
	}
	if paid, err = eng.Poll(ctx, paid.No); err != nil || paid.State != checkout.StatePaid || paid.PaidAt.IsZero() {
		t.Fatalf("paid sale: %+v, %v", paid, err)
	}

	// Never scanned: the close says not found and the order closes.
	idle, _ := eng.Start(ctx, checkout.MethodAlipay, 100, "")
	if idle, err = eng.Finish(ctx, idle.No, "timed out"); err != nil || idle.State != checkout.StateClosed {
		t.Fatalf("idle sale: %+v, %v", idle, err)
	}
	// Scanned, not paid: closed by trade.close.
	scanned, _ := eng.Start(ctx, checkout.MethodAlipay, 200, "")
	e.emu.Scan(scanned.No)
	if scanned, err = eng.Finish(ctx, scanned.No, "cancelled"); err != nil || scanned.State != checkout.StateClosed {
		t.Fatalf("scanned sale: %+v, %v", scanned, err)
	}
	if sales, refunds := dayNet(t, ledger, e.clock.Now()); sales != 4560 || refunds != 0 {
		t.Fatalf("day: sales %s refunds %s", sales, refunds)
	}
}

// TestEngineRefundTimeoutIsSettledByQuery: Alipay makes the refund and the
// answer is lost; the refund stays requested, the next poll's
// fastpay.refund.query finds it, and Alipay holds exactly one refund.
// A refund Alipay never received (refund_status absent) is sent again with
// the same out_request_no.
func TestEngineRefundTimeoutIsSettledByQuery(t *testing.T) {
	e := newEnv(t)
	ledger := newLedger(t)
	eng := checkout.NewEngine(ledger, []checkout.Provider{e.p}, checkout.Config{Location: Shanghai}, checkout.ClockFunc(e.clock.Now), nil)
	o, err := eng.Start(ctx, checkout.MethodAlipay, 1000, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.emu.Pay(o.No); err != nil {
		t.Fatal(err)
	}
	if o, err = eng.Poll(ctx, o.No); err != nil || o.State != checkout.StatePaid {
		t.Fatalf("poll: %+v %v", o, err)
	}
	refunds := func() int {
		tr, _ := e.emu.Trade(o.No)
		return len(tr.Refunds)
	}
	e.emu.SetFaults(alipayemu.Faults{Method: "alipay.trade.refund", Reset: true, Times: 1})
	r, _, err := eng.Refund(ctx, o.No, 300, "")
	if !checkout.IsUnknown(err) || r.State != checkout.RefundRequested || refunds() != 1 {
		t.Fatalf("refund with the answer lost: %+v %v (Alipay has %d)", r, err, refunds())
	}
	r, got, err := eng.PollRefund(ctx, r.No)
	if err != nil || r.State != checkout.RefundSucceeded || got.Refunded != 300 || refunds() != 1 {
		t.Fatalf("poll: %+v %+v %v (Alipay has %d)", r, got, err, refunds())
	}

	e.emu.SetFaults(alipayemu.Faults{Method: "alipay.trade.refund", Reset: true, Unprocessed: true, Times: 1})
	r2, _, err := eng.Refund(ctx, o.No, 200, "")
	if !checkout.IsUnknown(err) || refunds() != 1 {
		t.Fatalf("refund never received: %+v %v (Alipay has %d)", r2, err, refunds())
	}
	r2, got, err = eng.PollRefund(ctx, r2.No)
	if err != nil || r2.State != checkout.RefundSucceeded || got.Refunded != 500 || refunds() != 2 {
		t.Fatalf("poll of the missing refund: %+v %+v %v (Alipay has %d)", r2, got, err, refunds())
	}
}
