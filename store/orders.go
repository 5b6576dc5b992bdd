package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"till/checkout"
	"till/ledger"
)

// CreateOrder stores a new order and its index entries. A zero CreatedAt or
// UpdatedAt is stamped from the clock, since the created index needs one.
// It returns an error wrapping checkout.ErrExists if the number is taken.
func (s *Store) CreateOrder(ctx context.Context, o checkout.Order) error {
	if err := ledger.CheckNewOrder(o); err != nil {
		return err
	}
	return s.update(ctx, func(tx *wtx) error {
		if tx.Bucket(bucketOrders).Get([]byte(o.No)) != nil {
			return fmt.Errorf("order %s: %w", o.No, checkout.ErrExists)
		}
		return putOrder(tx, nil, ledger.NewOrder(o, tx.now))
	})
}

// Order returns an order by number, or an error wrapping
// checkout.ErrNotFound.
func (s *Store) Order(ctx context.Context, no string) (checkout.Order, error) {
	var o checkout.Order
	err := s.view(ctx, func(tx *bolt.Tx) (err error) {
		o, err = getOrder(tx, no)
		return err
	})
	return o, err
}

// Advance moves an order to `to` as one compare-and-set: a move State.CanMoveTo
// refuses (a duplicate or late event) returns a *checkout.TransitionError
// carrying the stored order and writes nothing. fn edits a copy of the
// stored order; No, CreatedAt and Amount are restored afterwards because
// the indexes and the refund ceiling depend on them. A move to paid without
// a PaidAt is stamped now, so the sale still shows in the paid index
// (ledger.AdvanceOrder).
func (s *Store) Advance(ctx context.Context, no string, to checkout.State, fn func(*checkout.Order)) (checkout.Order, error) {
	return change(s, ctx, func(tx *wtx) (checkout.Order, error) { return ledger.AdvanceOrder(records{tx}, no, to, fn, tx.now) })
}

// Update edits an order's bookkeeping in one transaction without moving
// its state: fn gets the stored copy and may refuse with an error, which
// is returned as is and writes nothing. State and the fields the indexes
// and the refund ceiling depend on are restored after fn
// (ledger.UpdateOrder).
func (s *Store) Update(ctx context.Context, no string, fn func(*checkout.Order) error) (checkout.Order, error) {
	return change(s, ctx, func(tx *wtx) (checkout.Order, error) { return ledger.UpdateOrder(records{tx}, no, fn, tx.now) })
}

// change runs fn in one write transaction and returns what the run that
// committed returned.
func change[T any](s *Store, ctx context.Context, fn func(tx *wtx) (T, error)) (T, error) {
	var out T
	err := s.update(ctx, func(tx *wtx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// OpenOrders returns the orders in created or awaiting, oldest first. It
// reads the open index, not every order.
func (s *Store) OpenOrders(ctx context.Context) ([]checkout.Order, error) {
	return s.indexed(ctx, bucketOpen)
}

// FollowUps returns the settled orders that still need a look (a late
// check to run, a late payment to acknowledge), oldest first, from their
// index.
func (s *Store) FollowUps(ctx context.Context) ([]checkout.Order, error) {
	return s.indexed(ctx, bucketFollowUps)
}

// indexed reads the orders a by-number index names, oldest first.
func (s *Store) indexed(ctx context.Context, index []byte) ([]checkout.Order, error) {
	var out []checkout.Order
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(index).ForEach(func(k, _ []byte) error {
			o, err := getOrder(tx, string(k))
			if err != nil {
				return fmt.Errorf("%s index: %w", index, err)
			}
			out = append(out, o)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b checkout.Order) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.No, b.No))
	})
	return out, nil
}

// OrdersCreated returns the orders created in [from, to), newest first, at
// most limit of them (limit <= 0: all).
func (s *Store) OrdersCreated(ctx context.Context, from, to time.Time, limit int) ([]checkout.Order, error) {
	return s.ordersBetween(ctx, bucketOrdersByCreated, from, to, limit)
}

// OrdersPaid returns the orders whose PaidAt is in [from, to), newest
// first, at most limit of them (limit <= 0: all). The day report counts a
// sale on the day it was paid, which need not be the day it was created.
func (s *Store) OrdersPaid(ctx context.Context, from, to time.Time, limit int) ([]checkout.Order, error) {
	return s.ordersBetween(ctx, bucketOrdersByPaid, from, to, limit)
}

// ordersBetween walks a time index backwards from to down to from.
func (s *Store) ordersBetween(ctx context.Context, index []byte, from, to time.Time, limit int) ([]checkout.Order, error) {
	if !from.Before(to) {
		return nil, nil
	}
	var out []checkout.Order
	err := s.view(ctx, func(tx *bolt.Tx) error {
		lo := timeKey(from, "")
		c := tx.Bucket(index).Cursor()
		// Seek lands on the first key at or after `to`; the one before it
		// is the newest inside the range.
		k, _ := c.Seek(timeKey(to, ""))
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		for ; k != nil && bytes.Compare(k, lo) >= 0; k, _ = c.Prev() {
			if limit > 0 && len(out) >= limit {
				break
			}
			o, err := getOrder(tx, string(k[8:]))
			if err != nil {
				return fmt.Errorf("index %s: %w", index, err)
			}
			out = append(out, o)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// timeKey is t's UnixNano as 8 big-endian bytes followed by no, so keys
// sort by instant. Times before 1970 would sort last; till has none.
func timeKey(t time.Time, no string) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(no)), uint64(t.UnixNano()))
	return append(k, no...)
}

// getOrder decodes an order (either form, codec.go); decoding copies, so
// nothing points into bbolt's memory after the transaction.
func getOrder(tx *bolt.Tx, no string) (checkout.Order, error) {
	v := tx.Bucket(bucketOrders).Get([]byte(no))
	if v == nil {
		return checkout.Order{}, fmt.Errorf("order %s: %w", no, checkout.ErrNotFound)
	}
	return decodeOrder([]byte(no), v)
}

// getJSON decodes the record at key in bucket, or says it is not there.
func getJSON[T any](tx *bolt.Tx, bucket []byte, what, key string) (T, error) {
	var out T
	v := tx.Bucket(bucket).Get([]byte(key))
	if v == nil {
		return out, fmt.Errorf("%s %s: %w", what, key, checkout.ErrNotFound)
	}
	if err := json.Unmarshal(v, &out); err != nil {
		var zero T
		return zero, fmt.Errorf("%s %s: decoding: %w", what, key, err)
	}
	return out, nil
}

// putOrder saves o and brings its index entries in line with it. old is
// the order as stored before this transaction, nil for a new one.
func putOrder(tx *wtx, old *checkout.Order, o checkout.Order) error {
	v, err := encodeOrder(o)
	if err != nil {
		return fmt.Errorf("order %s: encoding: %w", o.No, err)
	}
	if err := appendBucket(tx.Tx, bucketOrders).Put([]byte(o.No), v); err != nil {
		return err
	}
	if old == nil { // CreatedAt never changes, so this entry is written once
		if err := appendBucket(tx.Tx, bucketOrdersByCreated).Put(timeKey(o.CreatedAt, o.No), []byte{}); err != nil {
			return err
		}
	}
	paid := appendBucket(tx.Tx, bucketOrdersByPaid)
	if old != nil && !old.PaidAt.IsZero() && !old.PaidAt.Equal(o.PaidAt) {
		if err := paid.Delete(timeKey(old.PaidAt, old.No)); err != nil {
			return err
		}
	}
	if !o.PaidAt.IsZero() {
		if err := paid.Put(timeKey(o.PaidAt, o.No), []byte{}); err != nil {
			return err
		}
	}
	if err := keepIndexed(tx.Bucket(bucketFollowUps), o.No, o.NeedsFollowUp()); err != nil {
		return err
	}
	if err := keepIndexed(tx.Bucket(bucketOpen), o.No, o.State.Open()); err != nil {
		return err
	}
	if e := ledger.OrderEntry(old, o); e != nil {
		if _, err := appendAudit(tx, *e); err != nil {
			return err
		}
	}
	return nil
}

// keepIndexed puts no in a by-number index when in holds, else takes it
// out.
func keepIndexed(b *bolt.Bucket, no string, in bool) error {
	if in {
		return b.Put([]byte(no), []byte{})
	}
	return b.Delete([]byte(no))
}

// fillPercent is how full bbolt packs a page it splits in a bucket that
// grows at its end (bbolt's default, 0.5, leaves every page of such a
// bucket half empty, since nothing is ever inserted before its last key).
// Records (orders, refunds) keep a tenth free: an order is rewritten a
// little longer as it is paid and refunded, and an index an order's
// later events land in (audit_by_order) takes a refund's entries an hour
// back. Buckets not listed (open, open_refunds, follow_ups:
// inserts and deletes all over; refunds_by_order: a refund of an old
// order goes in the middle; meta, operators, day_closes: a handful) keep
// the default. It is bbolt's per handle and per transaction, not stored:
// appendBucket sets it on every write path's handle.
var fillPercent = map[string]float64{
	string(bucketOrders):           0.9,
	string(bucketRefunds):          0.9,
	string(bucketOrdersByCreated):  0.95, // keys are times: a second desk's may land a little before the last
	string(bucketOrdersByPaid):     0.95,
	string(bucketRefundsBySettled): 0.95,
	string(bucketAuditByTime):      0.95,
	string(bucketAudit):            1.0, // sequence numbers, one writer: strictly at the end, never rewritten
	string(bucketAuditByOrder):     0.9,
}

// appendBucket is the bucket name of tx with its FillPercent set for a
// write (fillPercent). tx.Bucket returns the same handle for the rest of
// the transaction, and bbolt reads FillPercent when it splits the pages,
// at commit.
func appendBucket(tx *bolt.Tx, name []byte) *bolt.Bucket {
	b := tx.Bucket(name)
	if f, ok := fillPercent[string(name)]; ok && b != nil {
		b.FillPercent = f
	}
	return b
}
