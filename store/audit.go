package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"till/checkout"
)

// The audit trail: entries numbered from 1 in `audit`, each linked to the
// one before by its hash, with two indexes (by time, by order) so that a
// day or an order is a key range. An entry is written in the transaction
// of the change it describes, so there is never a change without its line
// or a line without its change; meta/audit_head keeps the last number and
// hash, so that removing the newest entries is found as well.

var _ checkout.AuditLog = (*Store)(nil)

// auditHead is meta/audit_head.
type auditHead struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

func seqKey(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// appendAudit adds e to the trail in tx, stamped with tx's time and actor
// (an actor already set on e is kept).
func appendAudit(tx *wtx, e checkout.AuditEntry) (checkout.AuditEntry, error) {
	meta := tx.Bucket(bucketMeta)
	var head auditHead
	if v := meta.Get(keyAuditHead); v != nil {
		if err := json.Unmarshal(v, &head); err != nil {
			return e, fmt.Errorf("meta/%s: decoding: %w", keyAuditHead, err)
		}
	}
	e.Seq, e.Prev = head.Seq+1, head.Hash
	if e.At.IsZero() {
		e.At = tx.now
	}
	if e.Terminal == "" && e.Operator == "" && e.Via == "" {
		e.SetActor(tx.actor)
	}
	e.Hash = e.ChainHash()
	audit := appendBucket(tx.Tx, bucketAudit)
	before, err := storedPrev(audit, e.Seq)
	if err != nil {
		return e, err
	}
	v, err := encodeAudit(e, e.Seq, before)
	if err != nil {
		return e, fmt.Errorf("audit entry: encoding: %w", err)
	}
	key := seqKey(e.Seq)
	if err := audit.Put(key, v); err != nil {
		return e, err
	}
	if err := appendBucket(tx.Tx, bucketAuditByTime).Put(timeKey(e.At, string(key)), []byte{}); err != nil {
		return e, err
	}
	if e.Order != "" {
		if err := appendBucket(tx.Tx, bucketAuditByOrder).Put(append(refundPrefix(e.Order), key...), []byte{}); err != nil {
			return e, err
		}
	}
	hv, _ := json.Marshal(auditHead{Seq: e.Seq, Hash: e.Hash})
	return e, meta.Put(keyAuditHead, hv)
}

// Append adds an entry that records no change of its own (a refusal, a
// wrong PIN, an operator taking the counter), stamped with ctx's actor.
func (s *Store) Append(ctx context.Context, e checkout.AuditEntry) (checkout.AuditEntry, error) {
	var out checkout.AuditEntry
	err := s.update(ctx, func(tx *wtx) error {
		var err error
		out, err = appendAudit(tx, e)
		return err
	})
	return out, err
}

// AuditBetween returns the entries stamped in [from, to), oldest first.
func (s *Store) AuditBetween(ctx context.Context, from, to time.Time) ([]checkout.AuditEntry, error) {
	var out []checkout.AuditEntry
	err := s.view(ctx, func(tx *bolt.Tx) error {
		hi := timeKey(to, "")
		c := tx.Bucket(bucketAuditByTime).Cursor()
		for k, _ := c.Seek(timeKey(from, "")); k != nil && bytes.Compare(k, hi) < 0; k, _ = c.Next() {
			e, err := getAudit(tx, k[8:])
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// AuditOf returns an order's entries, its refunds' included, oldest first.
func (s *Store) AuditOf(ctx context.Context, orderNo string) ([]checkout.AuditEntry, error) {
	var out []checkout.AuditEntry
	err := s.view(ctx, func(tx *bolt.Tx) error {
		prefix := refundPrefix(orderNo)
		c := tx.Bucket(bucketAuditByOrder).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			e, err := getAudit(tx, k[len(prefix):])
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

func getAudit(tx *bolt.Tx, key []byte) (checkout.AuditEntry, error) {
	b := tx.Bucket(bucketAudit)
	v := b.Get(key)
	if len(key) != 8 || v == nil {
		return checkout.AuditEntry{}, fmt.Errorf("audit entry %x: %w", key, checkout.ErrNotFound)
	}
	return decodeAudit(key, v, func() (string, error) { return storedPrev(b, binary.BigEndian.Uint64(key)) })
}

// storedPrev is the Hash of the entry stored before number seq ("" for
// the first, or when there is none): the Prev a binary entry does not
// repeat.
func storedPrev(audit *bolt.Bucket, seq uint64) (string, error) {
	if seq <= 1 {
		return "", nil
	}
	v := audit.Get(seqKey(seq - 1))
	if v == nil {
		return "", nil
	}
	return auditHash(seq-1, v)
}

// VerifyAudit walks the whole trail in number order and checks that the
// numbers run from 1 without a gap, that each entry links to the hash of
// the one before, that each hash is the entry's own, and that the last
// entry is the one meta/audit_head names. It reports the first entry
// where any of that fails.
func (s *Store) VerifyAudit(ctx context.Context) (checkout.AuditCheck, error) {
	var out checkout.AuditCheck
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var head auditHead
		if v := tx.Bucket(bucketMeta).Get(keyAuditHead); v != nil {
			if err := json.Unmarshal(v, &head); err != nil {
				out = checkout.AuditCheck{Broken: 1, Reason: "the trail's head record cannot be read"}
				return nil
			}
		}
		prev := "" // the Hash of the entry before
		var want uint64 = 1
		broken := func(n uint64, why string, args ...any) {
			out.Broken, out.Reason = n, fmt.Sprintf(why, args...)
		}
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			out.Entries++
			var e checkout.AuditEntry
			var derr error
			if len(k) == 8 {
				e, derr = decodeAudit(k, v, func() (string, error) { return prev, nil })
			}
			switch {
			case len(k) != 8:
				broken(want, "a key that is not an entry number")
			case binary.BigEndian.Uint64(k) != want:
				broken(want, "entry %d is missing (the next is %d)", want, binary.BigEndian.Uint64(k))
			case derr != nil:
				broken(want, "entry %d cannot be read", want)
			case e.Seq != want:
				broken(want, "entry %d says it is number %d", want, e.Seq)
			case e.Prev != prev:
				broken(want, "entry %d does not follow entry %d (an entry before it was changed or removed)", want, want-1)
			case e.ChainHash() != e.Hash:
				broken(want, "entry %d was changed after it was written", want)
			}
			if !out.OK() {
				return nil
			}
			prev, want = e.Hash, want+1
		}
		switch {
		case head.Seq > want-1:
			broken(want, "entries %d to %d are missing (the trail ended at %d)", want, head.Seq, want-1)
		case head.Seq < want-1 || head.Hash != prev:
			broken(head.Seq+1, "the trail's last entries do not match its head record")
		}
		return nil
	})
	return out, err
}

// auditOrder is the entry for an order written (old nil) or moved, or nil
// when the change is bookkeeping only.
func auditOrder(old *checkout.Order, o checkout.Order) *checkout.AuditEntry {
	switch {
	case old == nil:
		return &checkout.AuditEntry{Kind: checkout.AuditSale, Order: o.No, Amount: o.Amount, To: string(o.State),
			Detail: string(o.Method)}
	case old.State != o.State:
		e := &checkout.AuditEntry{Kind: checkout.AuditSaleState, Order: o.No, Amount: o.Amount,
			From: string(old.State), To: string(o.State), Detail: o.Reason}
		if o.State == checkout.StateDisputed {
			e.Detail = fmt.Sprintf("provider says %s paid", o.ProviderAmount.Yuan())
		}
		if o.Late {
			e.Detail = "paid after it was closed"
		}
		return e
	case old.LateSeenAt.IsZero() && !o.LateSeenAt.IsZero():
		return &checkout.AuditEntry{Kind: checkout.AuditLateSeen, Order: o.No, Amount: o.Amount}
	}
	return nil
}

// auditRefund is the entry for a refund written (old nil) or settled, or
// nil when the change is bookkeeping only.
func auditRefund(old *checkout.Refund, r checkout.Refund) *checkout.AuditEntry {
	switch {
	case old == nil:
		return &checkout.AuditEntry{Kind: checkout.AuditRefund, Order: r.OrderNo, Refund: r.No, Amount: r.Amount,
			To: string(r.State), Detail: r.Reason}
	case old.State != r.State:
		return &checkout.AuditEntry{Kind: checkout.AuditRefundState, Order: r.OrderNo, Refund: r.No, Amount: r.Amount,
			From: string(old.State), To: string(r.State), Detail: r.FailReason}
	}
	return nil
}
