package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"iter"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"till/checkout"
	"till/ledger"
)

// Export runs fn on the whole ledger as one read transaction sees it
// (ledger.Snapshot): what till ledger copy moves into a shared ledger.
// The snapshot is good only while fn runs; its sequences must be used on
// one goroutine at a time, as the transaction is.
func (s *Store) Export(ctx context.Context, fn func(ledger.Snapshot) error) error {
	return s.view(ctx, func(tx *bolt.Tx) error { return fn(snapshot{tx}) })
}

// snapshot reads a read transaction's records in key order.
type snapshot struct{ tx *bolt.Tx }

var _ ledger.Snapshot = snapshot{}

func (s snapshot) Meta() (ledger.Meta, error) {
	meta := s.tx.Bucket(bucketMeta)
	m := ledger.Meta{Mode: string(meta.Get(keyMode))}
	if v := meta.Get(keyAuditHead); v != nil {
		var h auditHead
		if err := json.Unmarshal(v, &h); err != nil {
			return m, fmt.Errorf("meta/%s: decoding: %w", keyAuditHead, err)
		}
		m.Head = ledger.AuditHead{Seq: h.Seq, Hash: h.Hash}
	}
	if v := meta.Get(keyLastClose); v != nil {
		n, err := strconv.Atoi(string(v))
		if err != nil {
			return m, fmt.Errorf("meta/%s: %w", keyLastClose, err)
		}
		m.LastClose = n
	}
	var err error
	m.PIN, err = getPIN(s.tx)
	return m, err
}

func (s snapshot) Orders() iter.Seq2[checkout.Order, error] {
	return eachRecord(s.tx, bucketOrders, decodeOrder)
}

func (s snapshot) Refunds() iter.Seq2[checkout.Refund, error] {
	return eachRecord(s.tx, bucketRefunds, decodeRefund)
}

func (s snapshot) DayCloses() iter.Seq2[checkout.DayClose, error] {
	return eachRecord(s.tx, bucketDayCloses, decodeJSON[checkout.DayClose]("day close"))
}

func (s snapshot) Operators() iter.Seq2[checkout.Operator, error] {
	return eachRecord(s.tx, bucketOperators, decodeJSON[checkout.Operator]("operator"))
}

// Audit yields the entries by number; a binary entry's Prev is the hash
// of the entry before it, as VerifyAudit reads it.
func (s snapshot) Audit() iter.Seq2[checkout.AuditEntry, error] {
	var prev string
	return eachRecord(s.tx, bucketAudit, func(k, v []byte) (checkout.AuditEntry, error) {
		if len(k) != 8 {
			return checkout.AuditEntry{}, fmt.Errorf("audit key %x is not an entry number", k)
		}
		e, err := decodeAudit(k, v, func() (string, error) { return prev, nil })
		if err == nil && e.Seq != binary.BigEndian.Uint64(k) {
			err = fmt.Errorf("audit entry %d says it is number %d", binary.BigEndian.Uint64(k), e.Seq)
		}
		prev = e.Hash
		return e, err
	})
}

// eachRecord yields the values of bucket, decoded, in key order.
func eachRecord[T any](tx *bolt.Tx, bucket []byte, decode func(k, v []byte) (T, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		c := tx.Bucket(bucket).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if v == nil {
				continue // a nested bucket: none is written
			}
			x, err := decode(k, v)
			if !yield(x, err) || err != nil {
				return
			}
		}
	}
}

func decodeJSON[T any](what string) func(k, v []byte) (T, error) {
	return func(k, v []byte) (T, error) {
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			return x, fmt.Errorf("%s %s: decoding: %w", what, k, err)
		}
		return x, nil
	}
}
