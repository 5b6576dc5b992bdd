package store

import (
	"testing"

	bolt "go.etcd.io/bbolt"

	"till/checkout"
)

// tamper rewrites the raw audit bucket.
func tamper(t *testing.T, s *Store, fn func(b *bolt.Bucket) error) {
	t.Helper()
	if err := s.db.Update(func(tx *bolt.Tx) error { return fn(tx.Bucket(bucketAudit)) }); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyFindsEditsAndDeletions: an entry edited in the file (even with
// its own hash recomputed), one deleted, and the newest ones cut off are
// each found, at the right entry.
func TestVerifyFindsEditsAndDeletions(t *testing.T) {
	setup := func(t *testing.T) *Store {
		s, _ := mustOpen(t)
		for _, no := range []string{"O1", "O2", "O3"} {
			paidOrder(t, s, no, 500) // 3 entries each
		}
		return s
	}
	edit := func(b *bolt.Bucket, n uint64, fn func(*checkout.AuditEntry)) error {
		e, err := decodeAudit(seqKey(n), b.Get(seqKey(n)), func() (string, error) { return storedPrev(b, n) })
		if err != nil {
			return err
		}
		fn(&e)
		prev, err := storedPrev(b, n)
		if err != nil {
			return err
		}
		v, err := encodeAudit(e, n, prev)
		if err != nil {
			return err
		}
		return b.Put(seqKey(n), v)
	}
	cases := map[string]struct {
		change func(b *bolt.Bucket) error
		broken uint64
	}{
		"amount edited": {func(b *bolt.Bucket) error {
			return edit(b, 5, func(e *checkout.AuditEntry) { e.Amount = 1 })
		}, 5},
		"edited with its hash recomputed": {func(b *bolt.Bucket) error {
			return edit(b, 5, func(e *checkout.AuditEntry) { e.Operator = "someone else"; e.Hash = e.ChainHash() })
		}, 6},
		"deleted": {func(b *bolt.Bucket) error { return b.Delete(seqKey(4)) }, 4},
		"newest cut off": {func(b *bolt.Bucket) error {
			if err := b.Delete(seqKey(9)); err != nil {
				return err
			}
			return b.Delete(seqKey(8))
		}, 8},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s := setup(t)
			if got, _ := s.VerifyAudit(t.Context()); !got.OK() {
				t.Fatalf("broken before the change: %+v", got)
			}
			tamper(t, s, c.change)
			got, err := s.VerifyAudit(t.Context())
			if err != nil || got.OK() || got.Broken != c.broken {
				t.Fatalf("verify after the change: %+v %v, want entry %d", got, err, c.broken)
			}
		})
	}
}

// TestMigrationV3IndexesOpenRefunds: a v2 file's requested refunds are
// indexed by the migration (the index itself is the contract's, in
// ledgertest).
func TestMigrationV3IndexesOpenRefunds(t *testing.T) {
	s, _ := mustOpen(t)
	paidOrder(t, s, "O1", 1000)
	for _, r := range []checkout.Refund{refund("R1", "O1", 100, checkout.RefundSucceeded), refund("R3", "O1", 100, checkout.RefundRequested)} {
		if _, err := s.CreateRefund(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketOpenRefunds).Delete([]byte("R3")); err != nil {
			return err
		}
		return createAuditV3(tx)
	}); err != nil {
		t.Fatal(err)
	}
	if open, _ := s.OpenRefunds(t.Context()); len(open) != 1 || open[0].No != "R3" {
		t.Fatalf("after the migration: %+v", open)
	}
}
