package fake

import (
	"context"
	"errors"
	"sync"
	"time"

	"till/checkout"
)

// ErrDisk is the error a failing Ledger returns, as a full disk would.
var ErrDisk = errors.New("fake: the disk is full")

// Op names a ledger call for Ledger's fault hook: Name is "create",
// "read", "advance", "update", "open", "follow-ups", "list", "create
// refund", "settle refund", "paid and refunded", "refunds", "read refund",
// "open refunds", "update refund", "audit", "read audit", "day" or
// "close day"; No is the
// order (or refund) number; To the target state of an advance.
type Op struct {
	Name string
	No   string
	To   checkout.State
}

// Ledger wraps a real ledger and fails the calls a test chooses, before
// they reach it: a failed write writes nothing, a failed read reads
// nothing.
type Ledger struct {
	checkout.Ledger

	mu   sync.Mutex
	fail func(Op) error
}

var _ checkout.Ledger = (*Ledger)(nil)

// NewLedger wraps l; it fails nothing until Fail is called.
func NewLedger(l checkout.Ledger) *Ledger { return &Ledger{Ledger: l} }

// Fail sets the hook asked before every call; a non-nil error fails the
// call with it. nil heals the ledger.
func (l *Ledger) Fail(f func(Op) error) {
	l.mu.Lock()
	l.fail = f
	l.mu.Unlock()
}

func (l *Ledger) check(op Op) error {
	l.mu.Lock()
	f := l.fail
	l.mu.Unlock()
	if f == nil {
		return nil
	}
	return f(op)
}

func (l *Ledger) CreateOrder(ctx context.Context, o checkout.Order) error {
	if err := l.check(Op{Name: "create", No: o.No}); err != nil {
		return err
	}
	return l.Ledger.CreateOrder(ctx, o)
}

func (l *Ledger) Order(ctx context.Context, no string) (checkout.Order, error) {
	if err := l.check(Op{Name: "read", No: no}); err != nil {
		return checkout.Order{}, err
	}
	return l.Ledger.Order(ctx, no)
}

func (l *Ledger) Advance(ctx context.Context, no string, to checkout.State, fn func(*checkout.Order)) (checkout.Order, error) {
	if err := l.check(Op{Name: "advance", No: no, To: to}); err != nil {
		return checkout.Order{}, err
	}
	return l.Ledger.Advance(ctx, no, to, fn)
}

func (l *Ledger) Update(ctx context.Context, no string, fn func(*checkout.Order) error) (checkout.Order, error) {
	if err := l.check(Op{Name: "update", No: no}); err != nil {
		return checkout.Order{}, err
	}
	return l.Ledger.Update(ctx, no, fn)
}

func (l *Ledger) OpenOrders(ctx context.Context) ([]checkout.Order, error) {
	if err := l.check(Op{Name: "open"}); err != nil {
		return nil, err
	}
	return l.Ledger.OpenOrders(ctx)
}

func (l *Ledger) FollowUps(ctx context.Context) ([]checkout.Order, error) {
	if err := l.check(Op{Name: "follow-ups"}); err != nil {
		return nil, err
	}
	return l.Ledger.FollowUps(ctx)
}

func (l *Ledger) OrdersCreated(ctx context.Context, from, to time.Time, limit int) ([]checkout.Order, error) {
	if err := l.check(Op{Name: "list"}); err != nil {
		return nil, err
	}
	return l.Ledger.OrdersCreated(ctx, from, to, limit)
}

func (l *Ledger) DayRecords(ctx context.Context, from, to time.Time, day string) (checkout.DayRecords, error) {
	if err := l.check(Op{Name: "day", No: day}); err != nil {
		return checkout.DayRecords{}, err
	}
	return l.Ledger.DayRecords(ctx, from, to, day)
}

func (l *Ledger) CloseDay(ctx context.Context, from, to time.Time, day string, build func(checkout.DayRecords) (checkout.DayClose, error)) (checkout.DayClose, error) {
	if err := l.check(Op{Name: "close day", No: day}); err != nil {
		return checkout.DayClose{}, err
	}
	return l.Ledger.CloseDay(ctx, from, to, day, build)
}

func (l *Ledger) CreateRefund(ctx context.Context, r checkout.Refund) (checkout.Order, error) {
	if err := l.check(Op{Name: "create refund", No: r.No}); err != nil {
		return checkout.Order{}, err
	}
	return l.Ledger.CreateRefund(ctx, r)
}

func (l *Ledger) SettleRefund(ctx context.Context, refundNo string, to checkout.RefundState, fn func(*checkout.Refund)) (checkout.Refund, checkout.Order, error) {
	if err := l.check(Op{Name: "settle refund", No: refundNo}); err != nil {
		return checkout.Refund{}, checkout.Order{}, err
	}
	return l.Ledger.SettleRefund(ctx, refundNo, to, fn)
}

func (l *Ledger) PaidAndRefunded(ctx context.Context, no string, paid func(*checkout.Order), r checkout.Refund) (checkout.Order, error) {
	if err := l.check(Op{Name: "paid and refunded", No: no, To: checkout.StateRefunded}); err != nil {
		return checkout.Order{}, err
	}
	return l.Ledger.PaidAndRefunded(ctx, no, paid, r)
}

func (l *Ledger) Refunds(ctx context.Context, orderNo string) ([]checkout.Refund, error) {
	if err := l.check(Op{Name: "refunds", No: orderNo}); err != nil {
		return nil, err
	}
	return l.Ledger.Refunds(ctx, orderNo)
}

func (l *Ledger) Refund(ctx context.Context, no string) (checkout.Refund, error) {
	if err := l.check(Op{Name: "read refund", No: no}); err != nil {
		return checkout.Refund{}, err
	}
	return l.Ledger.Refund(ctx, no)
}

func (l *Ledger) OpenRefunds(ctx context.Context) ([]checkout.Refund, error) {
	if err := l.check(Op{Name: "open refunds"}); err != nil {
		return nil, err
	}
	return l.Ledger.OpenRefunds(ctx)
}

func (l *Ledger) UpdateRefund(ctx context.Context, no string, fn func(*checkout.Refund) error) (checkout.Refund, error) {
	if err := l.check(Op{Name: "update refund", No: no}); err != nil {
		return checkout.Refund{}, err
	}
	return l.Ledger.UpdateRefund(ctx, no, fn)
}

func (l *Ledger) Append(ctx context.Context, e checkout.AuditEntry) (checkout.AuditEntry, error) {
	if err := l.check(Op{Name: "audit", No: e.Order}); err != nil {
		return checkout.AuditEntry{}, err
	}
	return l.Ledger.Append(ctx, e)
}

func (l *Ledger) AuditOf(ctx context.Context, orderNo string) ([]checkout.AuditEntry, error) {
	if err := l.check(Op{Name: "read audit", No: orderNo}); err != nil {
		return nil, err
	}
	return l.Ledger.AuditOf(ctx, orderNo)
}
