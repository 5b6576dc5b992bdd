package store

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"till/checkout"
)

// CreateRefund records r (requested, or succeeded when the provider already
// did it) and returns its order as stored afterwards. In the same
// transaction it checks that the order exists (checkout.ErrNotFound), that
// the refund number is new (checkout.ErrExists), that the order was paid
// (checkout.ErrTransition), and that requested plus succeeded refunds plus
// r stay within the order's amount (checkout.ErrRefundAboveBalance). A
// succeeded refund adds to the order's Refunded and moves it to
// partially_refunded or refunded at once.
func (s *Store) CreateRefund(ctx context.Context, r checkout.Refund) (checkout.Order, error) {
	if r.No == "" {
		return checkout.Order{}, errors.New("a refund needs a number")
	}
	if r.Amount <= 0 {
		return checkout.Order{}, &checkout.AmountError{Input: r.Amount.String(), Code: checkout.AmountZero, Reason: "a refund must be at least ¥0.01"}
	}
	if r.State != checkout.RefundRequested && r.State != checkout.RefundSucceeded {
		return checkout.Order{}, fmt.Errorf("refund %s: a new refund is requested or succeeded, not %q", r.No, r.State)
	}
	var out checkout.Order
	err := s.update(ctx, func(tx *wtx) error {
		now := tx.now
		o, err := getOrder(tx.Tx, r.OrderNo)
		if err != nil {
			return err
		}
		if tx.Bucket(bucketRefunds).Get([]byte(r.No)) != nil {
			return fmt.Errorf("refund %s: %w", r.No, checkout.ErrExists)
		}
		if !o.State.WasPaid() && o.State != checkout.StateDisputed {
			return fmt.Errorf("order %s is %s: only a paid order can be refunded: %w", o.No, o.State, checkout.ErrTransition)
		}
		held, err := heldByRefunds(tx.Tx, o.No)
		if err != nil {
			return err
		}
		paid := checkout.Refundable(o)
		if left := paid - held; r.Amount > left {
			return fmt.Errorf("order %s: %s is left to refund of %s paid, not %s: %w",
				o.No, left.Yuan(), paid.Yuan(), r.Amount.Yuan(), checkout.ErrRefundAboveBalance)
		}
		if o.State == checkout.StateDisputed && r.Amount != paid-held {
			// The provider's amount is not the sale's: it all goes back,
			// in one refund, and the manager takes it from there.
			return fmt.Errorf("order %s is disputed: only a refund of all %s the provider took can be made, not %s: %w",
				o.No, (paid - held).Yuan(), r.Amount.Yuan(), checkout.ErrRefundAboveBalance)
		}
		if r.Method == "" {
			r.Method = o.Method
		}
		if r.CreatedAt.IsZero() {
			r.CreatedAt = now
		}
		r.UpdatedAt = now
		if r.State == checkout.RefundSucceeded && r.SucceededAt.IsZero() {
			r.SucceededAt = now
		}
		if err := putRefund(tx, nil, r); err != nil {
			return err
		}
		if r.State == checkout.RefundSucceeded {
			o, err = addRefunded(tx, o, r.Amount, now)
			if err != nil {
				return err
			}
		}
		out = o
		return nil
	})
	if err != nil {
		return checkout.Order{}, err
	}
	return out, nil
}

// SettleRefund moves a requested refund to `to` (succeeded or failed),
// applying fn to a copy first, and on success adds it to the order's
// Refunded and state in the same transaction. A refund already in `to` is
// returned unchanged with no error, so a duplicate answer is harmless; one
// in the other final state is an error wrapping checkout.ErrTransition.
func (s *Store) SettleRefund(ctx context.Context, refundNo string, to checkout.RefundState, fn func(*checkout.Refund)) (checkout.Refund, checkout.Order, error) {
	if to != checkout.RefundSucceeded && to != checkout.RefundFailed {
		return checkout.Refund{}, checkout.Order{}, fmt.Errorf("refund %s: cannot settle as %q: %w", refundNo, to, checkout.ErrTransition)
	}
	var outR checkout.Refund
	var outO checkout.Order
	err := s.update(ctx, func(tx *wtx) error {
		now := tx.now
		r, err := getRefund(tx.Tx, refundNo)
		if err != nil {
			return err
		}
		o, err := getOrder(tx.Tx, r.OrderNo)
		if err != nil {
			return err
		}
		if r.State == to {
			outR, outO = r, o
			return nil
		}
		if r.State != checkout.RefundRequested {
			return fmt.Errorf("refund %s is already %s and cannot become %s: %w", r.No, r.State, to, checkout.ErrTransition)
		}
		next := r
		if fn != nil {
			fn(&next)
		}
		// The index key and the ceiling depend on these.
		next.No, next.OrderNo, next.Amount, next.CreatedAt = r.No, r.OrderNo, r.Amount, r.CreatedAt
		next.State = to
		next.UpdatedAt = now
		if to == checkout.RefundSucceeded && next.SucceededAt.IsZero() {
			next.SucceededAt = now
		}
		if to == checkout.RefundFailed && next.FailedAt.IsZero() {
			next.FailedAt = now
		}
		if err := putRefund(tx, &r, next); err != nil {
			return err
		}
		if to == checkout.RefundSucceeded {
			if o, err = addRefunded(tx, o, next.Amount, now); err != nil {
				return err
			}
		}
		outR, outO = next, o
		return nil
	})
	if err != nil {
		return checkout.Refund{}, checkout.Order{}, err
	}
	return outR, outO, nil
}

// PaidAndRefunded records that an open or closed order was paid (paid edits
// it as Advance's fn would) and then refunded in full by the provider: r is
// stored as succeeded for the order's amount and the order ends refunded,
// all in one transaction. An order already paid (or failed) gives a
// *checkout.TransitionError carrying it as stored.
func (s *Store) PaidAndRefunded(ctx context.Context, no string, paid func(*checkout.Order), r checkout.Refund) (checkout.Order, error) {
	if r.No == "" {
		return checkout.Order{}, errors.New("a refund needs a number")
	}
	var out checkout.Order
	err := s.update(ctx, func(tx *wtx) error {
		now := tx.now
		cur, err := getOrder(tx.Tx, no)
		if err != nil {
			return err
		}
		// created, awaiting and closed may become paid. A paid order with
		// no refunds yet is the same sale seen paid a moment earlier (a
		// poll that raced the cancel): its money went back all the same.
		// Anything else has had its refunds recorded already.
		fromPaid := cur.State == checkout.StatePaid && cur.Refunded == 0 && !hasRefunds(tx.Tx, no)
		if !cur.State.CanMoveTo(checkout.StatePaid) && !fromPaid {
			return &checkout.TransitionError{From: cur.State, To: checkout.StateRefunded, Current: cur}
		}
		if r.OrderNo == "" {
			r.OrderNo = no
		}
		if r.OrderNo != no {
			return fmt.Errorf("refund %s belongs to order %s, not %s", r.No, r.OrderNo, no)
		}
		if r.Amount != 0 && r.Amount != cur.Amount {
			return fmt.Errorf("refund %s: the provider refunded the whole %s, not %s", r.No, cur.Amount.Yuan(), r.Amount.Yuan())
		}
		if tx.Bucket(bucketRefunds).Get([]byte(r.No)) != nil {
			return fmt.Errorf("refund %s: %w", r.No, checkout.ErrExists)
		}
		next := cur
		if paid != nil && !fromPaid {
			paid(&next)
		}
		keepImmutable(&next, cur)
		if next.PaidAt.IsZero() {
			next.PaidAt = now
		}
		next.UpdatedAt = now
		// paid -> refunded is an allowed move, so going straight to the end
		// state is the same as the two steps.
		next.State = checkout.StateRefunded
		next.Refunded = cur.Amount

		r.Amount = cur.Amount
		r.State = checkout.RefundSucceeded
		if r.Method == "" {
			r.Method = cur.Method
		}
		if r.CreatedAt.IsZero() {
			r.CreatedAt = now
		}
		r.UpdatedAt = now
		if r.SucceededAt.IsZero() {
			r.SucceededAt = now
		}
		if err := putRefund(tx, nil, r); err != nil {
			return err
		}
		out = next
		return putOrder(tx, &cur, next)
	})
	if err != nil {
		return checkout.Order{}, err
	}
	return out, nil
}

// Refunds returns an order's refunds, oldest first, or an error wrapping
// checkout.ErrNotFound when there is no such order.
func (s *Store) Refunds(ctx context.Context, orderNo string) ([]checkout.Refund, error) {
	var out []checkout.Refund
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if _, err := getOrder(tx, orderNo); err != nil {
			return err
		}
		return eachRefund(tx, orderNo, func(r checkout.Refund) { out = append(out, r) })
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b checkout.Refund) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.No, b.No))
	})
	return out, nil
}

// heldByRefunds is what an order's requested and succeeded refunds take
// out of its amount: an in-flight refund may still succeed, so it counts.
func heldByRefunds(tx *bolt.Tx, orderNo string) (checkout.Money, error) {
	var sum checkout.Money
	err := eachRefund(tx, orderNo, func(r checkout.Refund) {
		if r.State == checkout.RefundRequested || r.State == checkout.RefundSucceeded {
			sum += r.Amount
		}
	})
	return sum, err
}

// addRefunded adds a succeeded refund to its order and moves the order to
// partially_refunded or refunded. A disputed order stays disputed (its
// money was never a sale) with the refund in Refunded.
func addRefunded(tx *wtx, o checkout.Order, amount checkout.Money, now time.Time) (checkout.Order, error) {
	next := o
	next.Refunded += amount
	if next.Refunded > checkout.Refundable(o) { // the ceiling check makes this unreachable
		return o, fmt.Errorf("order %s: refunds of %s exceed %s paid: %w", o.No, next.Refunded.Yuan(), checkout.Refundable(o).Yuan(), checkout.ErrRefundAboveBalance)
	}
	if o.State == checkout.StateDisputed {
		next.UpdatedAt = now
		return next, putOrder(tx, &o, next)
	}
	to := checkout.StatePartiallyRefunded
	if next.Refunded == next.Amount {
		to = checkout.StateRefunded
	}
	if !o.State.CanMoveTo(to) {
		return o, &checkout.TransitionError{From: o.State, To: to, Current: o}
	}
	next.State = to
	next.UpdatedAt = now
	return next, putOrder(tx, &o, next)
}

// refundPrefix is the refunds_by_order prefix of one order's refunds.
func refundPrefix(orderNo string) []byte { return append([]byte(orderNo), 0) }

// eachRefund calls fn with every refund of an order, in refund number order.
func eachRefund(tx *bolt.Tx, orderNo string, fn func(checkout.Refund)) error {
	prefix := refundPrefix(orderNo)
	c := tx.Bucket(bucketRefundsByOrder).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		r, err := getRefund(tx, string(k[len(prefix):]))
		if err != nil {
			return fmt.Errorf("refunds_by_order: %w", err)
		}
		fn(r)
	}
	return nil
}

func getRefund(tx *bolt.Tx, no string) (checkout.Refund, error) {
	v := tx.Bucket(bucketRefunds).Get([]byte(no))
	if v == nil {
		return checkout.Refund{}, fmt.Errorf("refund %s: %w", no, checkout.ErrNotFound)
	}
	return decodeRefund([]byte(no), v)
}

// putRefund saves r, its index entries (OrderNo never changes, so writing
// the by-order entry again is a no-op; open_refunds holds the requested
// ones) and, when it is new or settled, its audit entry. old is the refund
// as stored before, nil for a new one.
func putRefund(tx *wtx, old *checkout.Refund, r checkout.Refund) error {
	v, err := encodeRefund(r)
	if err != nil {
		return fmt.Errorf("refund %s: encoding: %w", r.No, err)
	}
	if err := appendBucket(tx.Tx, bucketRefunds).Put([]byte(r.No), v); err != nil {
		return err
	}
	if err := tx.Bucket(bucketRefundsByOrder).Put(append(refundPrefix(r.OrderNo), r.No...), []byte{}); err != nil {
		return err
	}
	if err := keepIndexed(tx.Bucket(bucketOpenRefunds), r.No, r.State == checkout.RefundRequested); err != nil {
		return err
	}
	settled := appendBucket(tx.Tx, bucketRefundsBySettled)
	if old != nil && !old.SettledAt().IsZero() && !old.SettledAt().Equal(r.SettledAt()) {
		if err := settled.Delete(timeKey(old.SettledAt(), old.No)); err != nil {
			return err
		}
	}
	if at := r.SettledAt(); !at.IsZero() {
		if err := settled.Put(timeKey(at, r.No), []byte{}); err != nil {
			return err
		}
	}
	if e := auditRefund(old, r); e != nil {
		if _, err := appendAudit(tx, *e); err != nil {
			return err
		}
	}
	return nil
}

// Refund returns a refund by number, or an error wrapping
// checkout.ErrNotFound.
func (s *Store) Refund(ctx context.Context, no string) (checkout.Refund, error) {
	var out checkout.Refund
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = getRefund(tx, no)
		return err
	})
	return out, err
}

// OpenRefunds returns the refunds still requested, oldest first, from
// their index: a settling pass reads only those.
func (s *Store) OpenRefunds(ctx context.Context) ([]checkout.Refund, error) {
	var out []checkout.Refund
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOpenRefunds).ForEach(func(k, _ []byte) error {
			r, err := getRefund(tx, string(k))
			if err != nil {
				return fmt.Errorf("open_refunds index: %w", err)
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b checkout.Refund) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.No, b.No))
	})
	return out, nil
}

// UpdateRefund edits a refund's bookkeeping in one transaction; fn may
// refuse with an error, which writes nothing. The fields its identity,
// its ceiling and its state rest on are kept as stored.
func (s *Store) UpdateRefund(ctx context.Context, no string, fn func(*checkout.Refund) error) (checkout.Refund, error) {
	var out checkout.Refund
	err := s.update(ctx, func(tx *wtx) error {
		cur, err := getRefund(tx.Tx, no)
		if err != nil {
			return err
		}
		next := cur
		if err := fn(&next); err != nil {
			return err
		}
		next.No, next.OrderNo, next.Amount, next.State, next.CreatedAt = cur.No, cur.OrderNo, cur.Amount, cur.State, cur.CreatedAt
		next.UpdatedAt = tx.now
		out = next
		return putRefund(tx, &cur, next)
	})
	if err != nil {
		return checkout.Refund{}, err
	}
	return out, nil
}

// hasRefunds reports whether any refund, in any state, was recorded for
// the order.
func hasRefunds(tx *bolt.Tx, orderNo string) bool {
	k, _ := tx.Bucket(bucketRefundsByOrder).Cursor().Seek(refundPrefix(orderNo))
	return k != nil && bytes.HasPrefix(k, refundPrefix(orderNo))
}
