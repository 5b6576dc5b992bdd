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
	return change(s, ctx, func(tx *wtx) (checkout.Order, error) { return ledger.CreateRefund(records{tx}, r, tx.now) })
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
	type settled struct {
		r checkout.Refund
		o checkout.Order
	}
	out, err := change(s, ctx, func(tx *wtx) (settled, error) {
		r, o, err := ledger.SettleRefund(records{tx}, refundNo, to, fn, tx.now)
		return settled{r, o}, err
	})
	return out.r, out.o, err
}

// PaidAndRefunded records that an open or closed order was paid (paid edits
// it as Advance's fn would) and then refunded in full by the provider: r is
// stored as succeeded for the order's amount and the order ends refunded,
// all in one transaction. An order already paid (or failed) gives a
// *checkout.TransitionError carrying it as stored.
func (s *Store) PaidAndRefunded(ctx context.Context, no string, paid func(*checkout.Order), r checkout.Refund) (checkout.Order, error) {
	return change(s, ctx, func(tx *wtx) (checkout.Order, error) { return ledger.PaidAndRefunded(records{tx}, no, paid, r, tx.now) })
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
	return change(s, ctx, func(tx *wtx) (checkout.Refund, error) { return ledger.UpdateRefund(records{tx}, no, fn, tx.now) })
}

// hasRefunds reports whether any refund, in any state, was recorded for
// the order.
func hasRefunds(tx *bolt.Tx, orderNo string) bool {
	k, _ := tx.Bucket(bucketRefundsByOrder).Cursor().Seek(refundPrefix(orderNo))
	return k != nil && bytes.HasPrefix(k, refundPrefix(orderNo))
}

// records is one write transaction's records as the ledger package's
// changes read and write them (ledger.Records). bbolt has one writer at a
// time, so reading a record is as good as locking it.
type records struct{ tx *wtx }

var _ ledger.Records = records{}

func (rs records) Order(no string) (checkout.Order, error) { return getOrder(rs.tx.Tx, no) }

func (rs records) Refund(no string) (checkout.Order, checkout.Refund, error) {
	r, err := getRefund(rs.tx.Tx, no)
	if err != nil {
		return checkout.Order{}, checkout.Refund{}, err
	}
	o, err := getOrder(rs.tx.Tx, r.OrderNo)
	return o, r, err
}

func (rs records) RefundIsNew(no string) error {
	if rs.tx.Bucket(bucketRefunds).Get([]byte(no)) != nil {
		return fmt.Errorf("refund %s: %w", no, checkout.ErrExists)
	}
	return nil
}

func (rs records) Held(orderNo string) (checkout.Money, error) {
	var refunds []checkout.Refund
	err := eachRefund(rs.tx.Tx, orderNo, func(r checkout.Refund) { refunds = append(refunds, r) })
	return ledger.Held(refunds), err
}

func (rs records) HasRefunds(orderNo string) (bool, error) { return hasRefunds(rs.tx.Tx, orderNo), nil }

func (rs records) PutOrder(old *checkout.Order, o checkout.Order) error {
	return putOrder(rs.tx, old, o)
}

func (rs records) PutRefund(old *checkout.Refund, r checkout.Refund) error {
	return putRefund(rs.tx, old, r)
}
