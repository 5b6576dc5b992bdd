package store

import (
	"errors"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"till/checkout"
)

func kinds(es []checkout.AuditEntry) []string {
	var out []string
	for _, e := range es {
		k := string(e.Kind)
		if e.To != "" {
			k += ":" + e.To
		}
		out = append(out, k)
	}
	return out
}

// TestAuditFollowsEveryChange: a sale's life and its refunds write one
// entry each, in the same transaction, stamped with the actor of the
// caller's context; bookkeeping writes none.
func TestAuditFollowsEveryChange(t *testing.T) {
	s, clk := mustOpen(t)
	ctx := checkout.WithActor(t.Context(), checkout.Actor{Terminal: "T1", Operator: "lin", Via: "desk"})
	if err := s.CreateOrder(ctx, newOrder("O1", t0, 1000)); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	if _, err := s.Advance(ctx, "O1", checkout.StateAwaiting, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "O1", func(o *checkout.Order) error { o.ProviderSaid = "NOTPAY"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Advance(ctx, "O1", checkout.StatePaid, nil); err != nil {
		t.Fatal(err)
	}
	mgr := checkout.WithActor(t.Context(), checkout.Actor{Terminal: "T1", Operator: "manager", Via: "cli"})
	if _, err := s.CreateRefund(mgr, refund("R1", "O1", 300, checkout.RefundRequested)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateRefund(mgr, "R1", func(r *checkout.Refund) error { r.Sent = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SettleRefund(mgr, "R1", checkout.RefundSucceeded, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.AuditOf(t.Context(), "O1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"sale:created", "sale.state:awaiting", "sale.state:paid", "refund:requested", "refund.state:succeeded", "sale.state:partially_refunded"}
	if strings.Join(kinds(got), " ") != strings.Join(want, " ") {
		t.Fatalf("entries %v, want %v", kinds(got), want)
	}
	if got[0].Operator != "lin" || got[0].Via != "desk" || got[3].Operator != "manager" || got[3].Refund != "R1" || got[3].Amount != 300 {
		t.Errorf("actors or details: %+v", got)
	}
	for i, e := range got {
		if e.Seq != uint64(i+1) {
			t.Errorf("entry %d numbered %d", i, e.Seq)
		}
	}
	day, err := s.AuditBetween(t.Context(), t0, t0.Add(time.Hour))
	if err != nil || len(day) != len(want) {
		t.Fatalf("the day's entries: %d %v", len(day), err)
	}
	if c, err := s.VerifyAudit(t.Context()); err != nil || !c.OK() || c.Entries != uint64(len(want)) {
		t.Fatalf("verify: %+v %v", c, err)
	}
}

// TestRefusedChangeWritesNoEntry: a refund above the balance writes
// neither the refund nor an entry (the transaction is one).
func TestRefusedChangeWritesNoEntry(t *testing.T) {
	s, _ := mustOpen(t)
	paidOrder(t, s, "O1", 500)
	before, _ := s.AuditOf(t.Context(), "O1")
	if _, err := s.CreateRefund(t.Context(), refund("R1", "O1", 501, checkout.RefundRequested)); !errors.Is(err, checkout.ErrRefundAboveBalance) {
		t.Fatal(err)
	}
	after, _ := s.AuditOf(t.Context(), "O1")
	if len(after) != len(before) {
		t.Fatalf("a refused refund left entries: %v", kinds(after[len(before):]))
	}
}

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

// TestOpenRefundsIndex: only requested refunds are listed, and a settled
// one leaves the list; a v2 file's requested refunds are indexed by the
// migration.
func TestOpenRefundsIndex(t *testing.T) {
	s, _ := mustOpen(t)
	paidOrder(t, s, "O1", 1000)
	for _, r := range []checkout.Refund{refund("R1", "O1", 100, checkout.RefundRequested), refund("R2", "O1", 100, checkout.RefundSucceeded), refund("R3", "O1", 100, checkout.RefundRequested)} {
		if _, err := s.CreateRefund(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	open, err := s.OpenRefunds(t.Context())
	if err != nil || len(open) != 2 || open[0].No != "R1" || open[1].No != "R3" {
		t.Fatalf("open refunds: %+v %v", open, err)
	}
	if _, _, err := s.SettleRefund(t.Context(), "R1", checkout.RefundFailed, nil); err != nil {
		t.Fatal(err)
	}
	if open, _ = s.OpenRefunds(t.Context()); len(open) != 1 || open[0].No != "R3" {
		t.Fatalf("after R1 failed: %+v", open)
	}
	// UpdateRefund keeps what identifies the refund and its state.
	got, err := s.UpdateRefund(t.Context(), "R3", func(r *checkout.Refund) error {
		r.Amount, r.State, r.OrderNo, r.Sent, r.ProviderSaid = 999, checkout.RefundSucceeded, "O9", true, "PROCESSING"
		return nil
	})
	if err != nil || got.Amount != 100 || got.State != checkout.RefundRequested || got.OrderNo != "O1" || !got.Sent || got.ProviderSaid != "PROCESSING" {
		t.Fatalf("update refund: %+v %v", got, err)
	}
	// The migration indexes a requested refund a v2 till left.
	if err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketOpenRefunds).Delete([]byte("R3")); err != nil {
			return err
		}
		return createAuditV3(tx)
	}); err != nil {
		t.Fatal(err)
	}
	if open, _ = s.OpenRefunds(t.Context()); len(open) != 1 || open[0].No != "R3" {
		t.Fatalf("after the migration: %+v", open)
	}
}

// TestDisputedOrderRefundsInFullAtTheProvidersAmount: a disputed order is
// refundable, only in full and at what the provider took, and stays
// disputed with the refund in Refunded.
func TestDisputedOrderRefundsInFullAtTheProvidersAmount(t *testing.T) {
	s, _ := mustOpen(t)
	mustCreate(t, s, newOrder("O1", t0, 1000))
	mustAdvance(t, s, "O1", checkout.StateAwaiting, nil)
	mustAdvance(t, s, "O1", checkout.StateDisputed, func(o *checkout.Order) { o.ProviderAmount = 1 })
	for _, amount := range []checkout.Money{1000, 2} {
		if _, err := s.CreateRefund(t.Context(), refund("RX", "O1", amount, checkout.RefundRequested)); !errors.Is(err, checkout.ErrRefundAboveBalance) {
			t.Errorf("refund of %s on a disputed order of ¥0.01: %v", amount.Yuan(), err)
		}
	}
	if _, err := s.CreateRefund(t.Context(), refund("R1", "O1", 1, checkout.RefundRequested)); err != nil {
		t.Fatal(err)
	}
	_, o, err := s.SettleRefund(t.Context(), "R1", checkout.RefundSucceeded, nil)
	if err != nil || o.State != checkout.StateDisputed || o.Refunded != 1 {
		t.Fatalf("after the refund: %+v %v", o, err)
	}
	if _, err := s.CreateRefund(t.Context(), refund("R2", "O1", 1, checkout.RefundRequested)); !errors.Is(err, checkout.ErrRefundAboveBalance) {
		t.Errorf("a second refund of a refunded dispute: %v", err)
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
	if strings.Join(kinds(day), " ") != "pin.failed operator.added" {
		t.Fatalf("entries: %v", kinds(day))
	}
}
