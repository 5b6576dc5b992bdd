package alipay

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"till/checkout"
)

// memLedger is the smallest checkout.Ledger that keeps the rules the
// engine relies on (compare-and-set moves, refunds within what was paid).
type memLedger struct {
	mu      sync.Mutex
	orders  map[string]checkout.Order
	refunds []checkout.Refund
}

func newMemLedger() *memLedger { return &memLedger{orders: map[string]checkout.Order{}} }

func (l *memLedger) CreateOrder(_ context.Context, o checkout.Order) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.orders[o.No]; ok {
		return checkout.ErrExists
	}
	l.orders[o.No] = o
	return nil
}

func (l *memLedger) Order(_ context.Context, no string) (checkout.Order, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	o, ok := l.orders[no]
	if !ok {
		return o, checkout.ErrNotFound
	}
	return o, nil
}

func (l *memLedger) Advance(_ context.Context, no string, to checkout.State, fn func(*checkout.Order)) (checkout.Order, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	o, ok := l.orders[no]
	if !ok {
		return o, checkout.ErrNotFound
	}
	if !o.State.CanMoveTo(to) {
		return o, &checkout.TransitionError{From: o.State, To: to, Current: o}
	}
	if fn != nil {
		fn(&o)
	}
	o.State = to
	l.orders[no] = o
	return o, nil
}

func (l *memLedger) OpenOrders(context.Context) ([]checkout.Order, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []checkout.Order
	for _, o := range l.orders {
		if o.State.Open() {
			out = append(out, o)
		}
	}
	return out, nil
}

func (l *memLedger) OrdersCreated(_ context.Context, from, to time.Time, _ int) ([]checkout.Order, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []checkout.Order
	for _, o := range l.orders {
		if !o.CreatedAt.Before(from) && o.CreatedAt.Before(to) {
			out = append(out, o)
		}
	}
	return out, nil
}

func (l *memLedger) CreateRefund(_ context.Context, r checkout.Refund) (checkout.Order, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	o := l.orders[r.OrderNo]
	if !o.State.WasPaid() || o.Refunded+r.Amount > o.Amount {
		return o, checkout.ErrRefundAboveBalance
	}
	l.refunds = append(l.refunds, r)
	if r.State == checkout.RefundSucceeded {
		o.Refunded += r.Amount
		o.State = checkout.StatePartiallyRefunded
		if o.Refunded == o.Amount {
			o.State = checkout.StateRefunded
		}
		l.orders[o.No] = o
	}
	return o, nil
}

func (l *memLedger) SettleRefund(context.Context, string, checkout.RefundState, func(*checkout.Refund)) (checkout.Refund, checkout.Order, error) {
	panic("not used")
}

func (l *memLedger) PaidAndRefunded(_ context.Context, no string, paid func(*checkout.Order), r checkout.Refund) (checkout.Order, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	o := l.orders[no]
	if !o.State.Open() {
		return o, &checkout.TransitionError{From: o.State, To: checkout.StateRefunded, Current: o}
	}
	paid(&o)
	o.State, o.Refunded = checkout.StateRefunded, r.Amount
	l.orders[no] = o
	l.refunds = append(l.refunds, r)
	return o, nil
}

func (l *memLedger) Refunds(_ context.Context, orderNo string) ([]checkout.Refund, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(l.refunds), func(r checkout.Refund) bool { return r.OrderNo != orderNo }), nil
}

// net is the day's sales minus its succeeded refunds.
func (l *memLedger) net() (sales, refunds checkout.Money) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, o := range l.orders {
		if o.State.WasPaid() {
			sales += o.Amount
		}
	}
	for _, r := range l.refunds {
		if r.State == checkout.RefundSucceeded {
			refunds += r.Amount
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
	ledger := newMemLedger()
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
	sales, refunded := ledger.net()
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
	ledger := newMemLedger()
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
	if sales, refunds := ledger.net(); sales != 4560 || refunds != 0 {
		t.Fatalf("day: sales %s refunds %s", sales, refunds)
	}
}
