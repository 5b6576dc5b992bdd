package faultsuite

import (
	"context"
	"errors"
	"sync"

	"till/checkout"
)

// observer is a checkout.Ledger that records the state of every order and
// refund the ledger under it hands out (or is given to write), in order,
// for invariant (d). Calls through it are serialised, each with its
// record, so that the record follows the order the ledger committed in
// even when two desks work on one order at once. Callbacks (Advance's fn,
// Update's fn) run inside the call and never call the ledger again.
type observer struct {
	checkout.Ledger
	mu      sync.Mutex
	orders  map[string][]checkout.State
	refunds map[string][]checkout.RefundState
}

var _ checkout.Ledger = (*observer)(nil)

func newObserver(l checkout.Ledger) *observer {
	return &observer{Ledger: l, orders: map[string][]checkout.State{}, refunds: map[string][]checkout.RefundState{}}
}

// rebase puts the observer over another ledger (the same file, opened
// again after a crash), keeping what it has seen.
func (ob *observer) rebase(l checkout.Ledger) {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	ob.Ledger = l
}

func (ob *observer) order(o checkout.Order) {
	if o.No == "" || o.State == "" {
		return
	}
	seq := ob.orders[o.No]
	if len(seq) == 0 || seq[len(seq)-1] != o.State {
		ob.orders[o.No] = append(seq, o.State)
	}
}

func (ob *observer) refund(r checkout.Refund) {
	if r.No == "" || r.State == "" {
		return
	}
	seq := ob.refunds[r.No]
	if len(seq) == 0 || seq[len(seq)-1] != r.State {
		ob.refunds[r.No] = append(seq, r.State)
	}
}

// seen returns copies of what was observed.
func (ob *observer) seen() (map[string][]checkout.State, map[string][]checkout.RefundState) {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	os := make(map[string][]checkout.State, len(ob.orders))
	for k, v := range ob.orders {
		os[k] = append([]checkout.State(nil), v...)
	}
	rs := make(map[string][]checkout.RefundState, len(ob.refunds))
	for k, v := range ob.refunds {
		rs[k] = append([]checkout.RefundState(nil), v...)
	}
	return os, rs
}

func (ob *observer) CreateOrder(ctx context.Context, o checkout.Order) error {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	err := ob.Ledger.CreateOrder(ctx, o)
	if err == nil {
		ob.order(o)
	}
	return err
}

func (ob *observer) Order(ctx context.Context, no string) (checkout.Order, error) {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	o, err := ob.Ledger.Order(ctx, no)
	if err == nil {
		ob.order(o)
	}
	return o, err
}

func (ob *observer) Advance(ctx context.Context, no string, to checkout.State, fn func(*checkout.Order)) (checkout.Order, error) {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	o, err := ob.Ledger.Advance(ctx, no, to, fn)
	if err == nil {
		ob.order(o)
	}
	if te := (*checkout.TransitionError)(nil); errors.As(err, &te) {
		ob.order(te.Current)
	}
	return o, err
}

func (ob *observer) Update(ctx context.Context, no string, fn func(*checkout.Order) error) (checkout.Order, error) {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	o, err := ob.Ledger.Update(ctx, no, fn)
	if err == nil {
		ob.order(o)
	}
	return o, err
}

func (ob *observer) orderList(os []checkout.Order, err error) ([]checkout.Order, error) {
	if err == nil {
		for _, o := range os {
			ob.order(o)
		}
	}
	return os, err
}

func (ob *observer) OpenOrders(ctx context.Context) ([]checkout.Order, error) {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	return ob.orderList(ob.Ledger.OpenOrders(ctx))
}

func (ob *observer) FollowUps(ctx context.Context) ([]checkout.Order, error) {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	return ob.orderList(ob.Ledger.FollowUps(ctx))
}

func (ob *observer) CreateRefund(ctx context.Context, r checkout.Refund) (checkout.Order, error) {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	o, err := ob.Ledger.CreateRefund(ctx, r)
	if err == nil {
		ob.refund(r)
		ob.order(o)
	}
	return o, err
}

func (ob *observer) SettleRefund(ctx context.Context, no string, to checkout.RefundState, fn func(*checkout.Refund)) (checkout.Refund, checkout.Order, error) {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	r, o, err := ob.Ledger.SettleRefund(ctx, no, to, fn)
	if err == nil {
		ob.refund(r)
		ob.order(o)
	}
	return r, o, err
}

func (ob *observer) PaidAndRefunded(ctx context.Context, no string, paid func(*checkout.Order), r checkout.Refund) (checkout.Order, error) {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	o, err := ob.Ledger.PaidAndRefunded(ctx, no, paid, r)
	if err == nil {
		r.State = checkout.RefundSucceeded
		ob.refund(r)
		ob.order(o)
	}
	return o, err
}

func (ob *observer) refundList(rs []checkout.Refund, err error) ([]checkout.Refund, error) {
	if err == nil {
		for _, r := range rs {
			ob.refund(r)
		}
	}
	return rs, err
}

func (ob *observer) Refunds(ctx context.Context, orderNo string) ([]checkout.Refund, error) {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	return ob.refundList(ob.Ledger.Refunds(ctx, orderNo))
}

func (ob *observer) OpenRefunds(ctx context.Context) ([]checkout.Refund, error) {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	return ob.refundList(ob.Ledger.OpenRefunds(ctx))
}

func (ob *observer) Refund(ctx context.Context, no string) (checkout.Refund, error) {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	r, err := ob.Ledger.Refund(ctx, no)
	if err == nil {
		ob.refund(r)
	}
	return r, err
}

func (ob *observer) UpdateRefund(ctx context.Context, no string, fn func(*checkout.Refund) error) (checkout.Refund, error) {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	r, err := ob.Ledger.UpdateRefund(ctx, no, fn)
	if err == nil {
		ob.refund(r)
	}
	return r, err
}
