package store

import (
	"errors"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"till/checkout"
	"till/ledgertest"
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

// TestPINStateAndOperators: the PIN state is kept with its audit entry in
// one transaction (a refusal from fn keeps neither), and operators are
// kept by ID with theirs.
func TestPINStateAndOperators(t *testing.T) {
	s, _ := mustOpen(t)
	st, err := s.PINState(t.Context())
	if err != nil || st.Hash != "" {
		t.Fatalf("a new ledger's PIN: %+v %v", st, err)
	}
	if _, err := s.UpdatePIN(t.Context(), func(p *checkout.PINState) (checkout.AuditEntry, error) {
		p.Hash = "x"
		return checkout.AuditEntry{Kind: checkout.AuditPINSet}, errors.New("refused")
	}); err == nil {
		t.Fatal("fn's error was not returned")
	}
	if st, _ := s.PINState(t.Context()); st.Hash != "" {
		t.Fatalf("a refused update was kept: %+v", st)
	}
	if _, err := s.UpdatePIN(t.Context(), func(p *checkout.PINState) (checkout.AuditEntry, error) {
		p.Hash, p.Failures = "$argon2id$…", 2
		return checkout.AuditEntry{Kind: checkout.AuditPINFailed, Detail: "2 of 5"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.PINState(t.Context()); st.Hash != "$argon2id$…" || st.Failures != 2 {
		t.Fatalf("stored: %+v", st)
	}
	if _, err := s.AddOperator(t.Context(), checkout.Operator{ID: "lin", Name: "Lin Mei"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddOperator(t.Context(), checkout.Operator{ID: "lin", Name: "Another"}); !errors.Is(err, checkout.ErrExists) {
		t.Errorf("a second lin: %v", err)
	}
	ops, err := s.Operators(t.Context())
	if err != nil || len(ops) != 1 || ops[0].Name != "Lin Mei" {
		t.Fatalf("operators: %+v %v", ops, err)
	}
	day, _ := s.AuditBetween(t.Context(), t0.Add(-time.Hour), t0.Add(time.Hour))
	if got := ledgertest.Kinds(day); got != "pin.failed operator.added" {
		t.Fatalf("entries: %v", got)
	}
}
