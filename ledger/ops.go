package ledger

import (
	"time"

	"till/checkout"
)

// Records is one write transaction's records, as the changes below read
// and write them: store keeps them in bbolt buckets, pgledger in tables.
// Where several writers run at once (pgledger), Order and Refund lock what
// they read until the transaction ends, an order before its refunds, so a
// check and the write it guards never fall apart; under bbolt's one
// writer a read is as good as a lock.
type Records interface {
	// Order reads an order to change it, or an error wrapping
	// checkout.ErrNotFound.
	Order(no string) (checkout.Order, error)
	// Refund reads a refund to change it, with its order (read first),
	// or an error wrapping checkout.ErrNotFound.
	Refund(no string) (checkout.Order, checkout.Refund, error)
	// RefundIsNew refuses a refund number taken, by any order
	// (checkout.ErrExists).
	RefundIsNew(no string) error
	// Held is what an order's requested and succeeded refunds take out
	// of its amount (as Held counts).
	Held(orderNo string) (checkout.Money, error)
	// HasRefunds reports whether any refund, in any state, is recorded
	// for the order.
	HasRefunds(orderNo string) (bool, error)
	// PutOrder and PutRefund save a record (a new one when old is nil)
	// with its index entries, and add its audit entry (OrderEntry,
	// RefundEntry) in the same transaction.
	PutOrder(old *checkout.Order, o checkout.Order) error
	PutRefund(old *checkout.Refund, r checkout.Refund) error
}

// The changes: each is the body of its checkout.Ledger method, run in the
// method's one transaction with its time, now. An error writes nothing
// (the caller rolls the transaction back).

// AdvanceOrder is Ledger.Advance: the compare-and-set of advance on the
// order as stored.
func AdvanceOrder(rs Records, no string, to checkout.State, fn func(*checkout.Order), now time.Time) (checkout.Order, error) {
	return changeOrder(rs, no, func(cur checkout.Order) (checkout.Order, error) { return advance(cur, to, fn, now) })
}

// UpdateOrder is Ledger.Update: update on the order as stored.
func UpdateOrder(rs Records, no string, fn func(*checkout.Order) error, now time.Time) (checkout.Order, error) {
	return changeOrder(rs, no, func(cur checkout.Order) (checkout.Order, error) { return update(cur, fn, now) })
}

func changeOrder(rs Records, no string, rule func(cur checkout.Order) (checkout.Order, error)) (checkout.Order, error) {
	cur, err := rs.Order(no)
	if err != nil {
		return checkout.Order{}, err
	}
	next, err := rule(cur)
	if err != nil {
		return checkout.Order{}, err
	}
	return next, rs.PutOrder(&cur, next)
}

// CreateRefund is Ledger.CreateRefund for r, which CheckNewRefund
// accepted: in order, the order must exist (checkout.ErrNotFound), the
// number be new (checkout.ErrExists), and newRefund's ceiling hold
// against what the order's refunds already take; a succeeded refund moves
// its order at once. It returns the order as stored afterwards.
func CreateRefund(rs Records, r checkout.Refund, now time.Time) (checkout.Order, error) {
	o, err := rs.Order(r.OrderNo)
	if err != nil {
		return checkout.Order{}, err
	}
	if err := rs.RefundIsNew(r.No); err != nil {
		return checkout.Order{}, err
	}
	held, err := rs.Held(o.No)
	if err != nil {
		return checkout.Order{}, err
	}
	if r, err = newRefund(o, held, r, now); err != nil {
		return checkout.Order{}, err
	}
	if err := rs.PutRefund(nil, r); err != nil {
		return checkout.Order{}, err
	}
	if r.State == checkout.RefundSucceeded {
		return putRefunded(rs, o, r.Amount, now)
	}
	return o, nil
}

// SettleRefund is Ledger.SettleRefund for a `to` CheckSettle accepted:
// settle on the refund as stored, and a success added to its order
// (AddRefunded). A duplicate answer returns both as stored.
func SettleRefund(rs Records, no string, to checkout.RefundState, fn func(*checkout.Refund), now time.Time) (checkout.Refund, checkout.Order, error) {
	o, r, err := rs.Refund(no)
	if err != nil {
		return checkout.Refund{}, checkout.Order{}, err
	}
	next, moved, err := settle(r, to, fn, now)
	if err != nil {
		return checkout.Refund{}, checkout.Order{}, err
	}
	if !moved {
		return r, o, nil
	}
	if err := rs.PutRefund(&r, next); err != nil {
		return checkout.Refund{}, checkout.Order{}, err
	}
	if to == checkout.RefundSucceeded {
		if o, err = putRefunded(rs, o, next.Amount, now); err != nil {
			return checkout.Refund{}, checkout.Order{}, err
		}
	}
	return next, o, nil
}

// putRefunded adds a succeeded refund of amount to its order o and saves it.
func putRefunded(rs Records, o checkout.Order, amount checkout.Money, now time.Time) (checkout.Order, error) {
	next, err := AddRefunded(o, amount, now)
	if err != nil {
		return checkout.Order{}, err
	}
	return next, rs.PutOrder(&o, next)
}

// PaidAndRefunded is Ledger.PaidAndRefunded: paidAndRefunded on the order
// as stored, the refund's number checked new, the refund written before
// the order's move (so its entry comes first).
func PaidAndRefunded(rs Records, no string, paid func(*checkout.Order), r checkout.Refund, now time.Time) (checkout.Order, error) {
	cur, err := rs.Order(no)
	if err != nil {
		return checkout.Order{}, err
	}
	has, err := rs.HasRefunds(no)
	if err != nil {
		return checkout.Order{}, err
	}
	next, r, err := paidAndRefunded(cur, has, paid, r, now)
	if err != nil {
		return checkout.Order{}, err
	}
	if err := rs.RefundIsNew(r.No); err != nil {
		return checkout.Order{}, err
	}
	if err := rs.PutRefund(nil, r); err != nil {
		return checkout.Order{}, err
	}
	return next, rs.PutOrder(&cur, next)
}

// UpdateRefund is Ledger.UpdateRefund: updateRefund on the refund as
// stored.
func UpdateRefund(rs Records, no string, fn func(*checkout.Refund) error, now time.Time) (checkout.Refund, error) {
	_, cur, err := rs.Refund(no)
	if err != nil {
		return checkout.Refund{}, err
	}
	next, err := updateRefund(cur, fn, now)
	if err != nil {
		return checkout.Refund{}, err
	}
	return next, rs.PutRefund(&cur, next)
}
