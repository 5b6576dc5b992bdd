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
	"till/ledger"
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
	e = ledger.Chain(e, head.Seq, head.Hash, tx.now, tx.actor)
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
		walk := ledger.NewChainCheck()
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(k) != 8 {
				walk.NotAnEntry("a key that is not an entry number")
				break
			}
			e, err := decodeAudit(k, v, func() (string, error) { return walk.Prev(), nil })
			if !walk.Entry(binary.BigEndian.Uint64(k), e, err) {
				break
			}
		}
		out = walk.End(head.Seq, head.Hash)
		return nil
	})
	return out, err
}
