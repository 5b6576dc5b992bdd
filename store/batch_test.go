package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"till/checkout"
)

// TestBatchedWritesApplyOnce: 64 writers at once, as a flood of
// notifications and polls makes them, go through bbolt's Batch; among
// them some fail (a move the state machine refuses, a refund above what
// is left), which makes bbolt roll a batch back and run its functions
// again. Every effect still lands exactly once: each order is paid once
// with one audit entry for it, the refunds that were let through are
// exactly those recorded and within the payment, and the audit chain
// holds with no entry twice.
func TestBatchedWritesApplyOnce(t *testing.T) {
	s, _ := mustOpen(t)
	const n = 64
	for i := range n {
		no := fmt.Sprintf("B%03d", i)
		mustCreate(t, s, newOrder(no, t0, 1000))
		mustAdvance(t, s, no, checkout.StateAwaiting, nil)
	}
	paidOrder(t, s, "R", 1000)
	before, err := s.VerifyAudit(t.Context())
	if err != nil || !before.OK() {
		t.Fatalf("audit before: %+v %v", before, err)
	}
	s.batched.Store(0)

	var wg sync.WaitGroup
	var mu sync.Mutex
	refunds := 0
	var refused, refusedMoves int
	for i := range n {
		no := fmt.Sprintf("B%03d", i)
		wg.Add(3)
		go func() { // the payment
			defer wg.Done()
			if _, err := s.Advance(t.Context(), no, checkout.StatePaid, func(o *checkout.Order) { o.ProviderTradeNo = "TX" + no }); err != nil {
				t.Errorf("pay %s: %v", no, err)
			}
		}()
		go func() { // a move the state machine refuses, before or after the payment: back to created
			defer wg.Done()
			_, err := s.Advance(t.Context(), no, checkout.StateCreated, nil)
			var te *checkout.TransitionError
			if errors.As(err, &te) {
				mu.Lock()
				refusedMoves++
				mu.Unlock()
			}
		}()
		go func() { // 64 refunds of 30.00 fen-worth each: 33 fit in 1000
			defer wg.Done()
			r := checkout.Refund{No: fmt.Sprintf("RF%03d", i), OrderNo: "R", Method: checkout.MethodWeChat, Amount: 30, State: checkout.RefundRequested, CreatedAt: t0}
			_, err := s.CreateRefund(t.Context(), r)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				refunds++
			case errors.Is(err, checkout.ErrRefundAboveBalance):
				refused++
			default:
				t.Errorf("refund %s: %v", r.No, err)
			}
		}()
	}
	wg.Wait()

	if s.batched.Load() == 0 {
		t.Fatal("no write went through a batch")
	}
	if refunds != 33 || refused != n-33 {
		t.Fatalf("%d refunds let through and %d refused, want 33 and %d", refunds, refused, n-33)
	}
	rs, err := s.Refunds(t.Context(), "R")
	if err != nil || len(rs) != refunds {
		t.Fatalf("refunds recorded: %d (%v), want %d", len(rs), err, refunds)
	}
	var sum checkout.Money
	for _, r := range rs {
		sum += r.Amount
	}
	if sum > 1000 {
		t.Fatalf("refunds of %d fen on a payment of 1000", sum)
	}
	after, err := s.VerifyAudit(t.Context())
	if err != nil || !after.OK() {
		t.Fatalf("audit after: %+v %v", after, err)
	}
	for i := range n {
		no := fmt.Sprintf("B%03d", i)
		if o := mustOrder(t, s, no); o.State != checkout.StatePaid {
			t.Errorf("%s is %s", no, o.State)
		}
		es, err := s.AuditOf(t.Context(), no)
		if err != nil {
			t.Fatal(err)
		}
		paid := 0
		for _, e := range es {
			if e.To == string(checkout.StatePaid) {
				paid++
			}
		}
		if paid != 1 {
			t.Errorf("%s has %d paid entries, want 1", no, paid)
		}
	}
	// Each refused move wrote nothing; each write that was let through
	// wrote its entries once: the chain grew by exactly that.
	if refusedMoves != n {
		t.Fatalf("%d moves back refused, want %d", refusedMoves, n)
	}
	want := before.Entries + uint64(n) + uint64(refunds)
	if got := after.Entries; got != want {
		t.Fatalf("audit entries %d after, want %d", got, want)
	}
}
