package alipay

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"till/checkout"
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

// lastMoment pays the trade at the emulator just before the cancel
// reaches it: after the engine's final query found it unpaid.
type lastMoment struct {
	*Provider
	pay func(orderNo string)
}

func (p lastMoment) Close(ctx context.Context, orderNo string) (checkout.CloseResult, error) {
	p.pay(orderNo)
	return p.Provider.Close(ctx, orderNo)
}

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
	if o.State != checkout.StateRefunded || o.Refunded != 1230 || o.ProviderTradeNo != tr.TradeNo {
		t.Fatalf("order after the refunding cancel: %+v", o)
	}
	refunds, _ := ledger.Refunds(ctx, o.No)
	if len(refunds) != 1 || refunds[0].Amount != 1230 || refunds[0].State != checkout.RefundSucceeded {
		t.Fatalf("refunds: %+v", refunds)
	}
	sales, refunded := dayNet(t, ledger, e.clock.Now())
	if sales != 1230 || refunded != 1230 || sales-refunded != 0 {
		t.Fatalf("day: sales %s, refunds %s, net %s; want 12.30, 12.30, 0.00", sales, refunded, sales-refunded)
	}
	// Alipay agrees: the money came and went.
	if tr.Status != "TRADE_CLOSED" || tr.RefundedFen != 1230 || !tr.WasPaid() {
		t.Fatalf("emulator: %+v", tr)
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

	// Never scanned: the cancel says not found and the order closes.
	idle, _ := eng.Start(ctx, checkout.MethodAlipay, 100, "")
	if idle, err = eng.Finish(ctx, idle.No, "timed out"); err != nil || idle.State != checkout.StateClosed {
		t.Fatalf("idle sale: %+v, %v", idle, err)
	}
	// Scanned, not paid: closed by the cancel.
	scanned, _ := eng.Start(ctx, checkout.MethodAlipay, 200, "")
	e.emu.Scan(scanned.No)
	if scanned, err = eng.Finish(ctx, scanned.No, "cancelled"); err != nil || scanned.State != checkout.StateClosed {
		t.Fatalf("scanned sale: %+v, %v", scanned, err)
	}
	if sales, refunds := dayNet(t, ledger, e.clock.Now()); sales != 4560 || refunds != 0 {
		t.Fatalf("day: sales %s refunds %s", sales, refunds)
	}
}
