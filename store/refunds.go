package store

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"till/checkout"
	"till/ledger"
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
	if err := ledger.CheckNewRefund(r); err != nil {
		return checkout.Order{}, err
	}
	var out checkout.Order
	err := s.update(ctx, func(tx *wtx) error {
		o, err := getOrder(tx.Tx, r.OrderNo)
		if err != nil {
			return err
		}
		if tx.Bucket(bucketRefunds).Get([]byte(r.No)) != nil {
			return fmt.Errorf("refund %s: %w", r.No, checkout.ErrExists)
		}
		var refunds []checkout.Refund
		if err := eachRefund(tx.Tx, o.No, func(r checkout.Refund) { refunds = append(refunds, r) }); err != nil {
			return err
		}
		r, err := ledger.NewRefund(o, ledger.Held(refunds), r, tx.now)
		if err != nil {
			return err
		}
		if err := putRefund(tx, nil, r); err != nil {
			return err
		}
		if r.State == checkout.RefundSucceeded {
			o, err = addRefunded(tx, o, r.Amount)
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
	if err := ledger.CheckSettle(refundNo, to); err != nil {
		return checkout.Refund{}, checkout.Order{}, err
	}
	var outR checkout.Refund
	var outO checkout.Order
	err := s.update(ctx, func(tx *wtx) error {
		r, err := getRefund(tx.Tx, refundNo)
		if err != nil {
			return err
		}
		o, err := getOrder(tx.Tx, r.OrderNo)
		if err != nil {
			return err
		}
		next, moved, err := ledger.Settle(r, to, fn, tx.now)
		if err != nil || !moved {
			outR, outO = r, o
			return err
		}
		if err := putRefund(tx, &r, next); err != nil {
			return err
		}
		if to == checkout.RefundSucceeded {
			if o, err = addRefunded(tx, o, next.Amount); err != nil {
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
	var out checkout.Order
	err := s.update(ctx, func(tx *wtx) error {
		cur, err := getOrder(tx.Tx, no)
		if err != nil {
			return err
		}
		next, r, err := ledger.PaidAndRefunded(cur, hasRefunds(tx.Tx, no), paid, r, tx.now)
		if err != nil {
			return err
		}
		if tx.Bucket(bucketRefunds).Get([]byte(r.No)) != nil {
			return fmt.Errorf("refund %s: %w", r.No, checkout.ErrExists)
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

// addRefunded adds a succeeded refund to its order and saves it.
func addRefunded(tx *wtx, o checkout.Order, amount checkout.Money) (checkout.Order, error) {
	next, err := ledger.AddRefunded(o, amount, tx.now)
	if err != nil {
		return o, err
	}
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
	if e := ledger.RefundEntry(old, r); e != nil {
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
		next, err := ledger.UpdateRefund(cur, fn, tx.now)
		if err != nil {
			return err
		}
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
