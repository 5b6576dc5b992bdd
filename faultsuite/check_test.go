package faultsuite

import (
	"testing"
	"time"

	"till/checkout"
)

// cleanSnapshot is a settled shop: a WeChat sale of 10.00 partly refunded
// (3.00 succeeded, 2.00 failed), an Alipay sale of 5.00 paid late, and a
// sale closed unpaid, each with its audit trail and observed states.
func cleanSnapshot() Snapshot {
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	wx := checkout.Order{No: "W1", Method: checkout.MethodWeChat, Amount: 1000, State: checkout.StatePartiallyRefunded, Refunded: 300, CreatedAt: at}
	ali := checkout.Order{No: "A1", Method: checkout.MethodAlipay, Amount: 500, State: checkout.StatePaid, Late: true, CreatedAt: at}
	shut := checkout.Order{No: "A2", Method: checkout.MethodAlipay, Amount: 700, State: checkout.StateClosed, CreatedAt: at}
	sale := func(no string, moves ...checkout.State) []checkout.AuditEntry {
		es := []checkout.AuditEntry{{Seq: 1, Kind: checkout.AuditSale, Order: no, To: string(checkout.StateCreated)}}
		from := checkout.StateCreated
		for i, to := range moves {
			es = append(es, checkout.AuditEntry{Seq: uint64(i + 2), Kind: checkout.AuditSaleState, Order: no, From: string(from), To: string(to)})
			from = to
		}
		return es
	}
	wxAudit := append(sale("W1", checkout.StateAwaiting, checkout.StatePaid),
		checkout.AuditEntry{Seq: 10, Kind: checkout.AuditRefund, Order: "W1", Refund: "R1", To: "requested"},
		checkout.AuditEntry{Seq: 11, Kind: checkout.AuditRefundState, Order: "W1", Refund: "R1", From: "requested", To: "succeeded"},
		checkout.AuditEntry{Seq: 12, Kind: checkout.AuditSaleState, Order: "W1", From: "paid", To: "partially_refunded"},
		checkout.AuditEntry{Seq: 13, Kind: checkout.AuditRefund, Order: "W1", Refund: "R2", To: "requested"},
		checkout.AuditEntry{Seq: 14, Kind: checkout.AuditRefundState, Order: "W1", Refund: "R2", From: "requested", To: "failed"},
	)
	return Snapshot{
		Orders: []LedgerOrder{
			{Order: wx, Audit: wxAudit, Refunds: []checkout.Refund{
				{No: "R1", OrderNo: "W1", Method: checkout.MethodWeChat, Amount: 300, State: checkout.RefundSucceeded},
				{No: "R2", OrderNo: "W1", Method: checkout.MethodWeChat, Amount: 200, State: checkout.RefundFailed},
			}},
			{Order: ali, Audit: sale("A1", checkout.StateAwaiting, checkout.StateClosed, checkout.StatePaid)},
			{Order: shut, Audit: sale("A2", checkout.StateAwaiting, checkout.StateClosed)},
		},
		Trades: []ProviderTrade{
			{Method: checkout.MethodWeChat, No: "W1", Amount: 1000, Paid: true, Raw: "REFUND", Refunds: []ProviderRefund{
				{No: "R1", Amount: 300, State: ProviderRefundSucceeded},
				{No: "R2", Amount: 200, State: ProviderRefundClosed},
			}},
			{Method: checkout.MethodAlipay, No: "A1", Amount: 500, Paid: true, Raw: "TRADE_SUCCESS"},
			{Method: checkout.MethodAlipay, No: "A2", Amount: 700, Raw: "TRADE_CLOSED"},
		},
		ObservedOrders: map[string][]checkout.State{
			"W1": {checkout.StateCreated, checkout.StateAwaiting, checkout.StatePaid, checkout.StatePartiallyRefunded},
			"A1": {checkout.StateCreated, checkout.StateAwaiting, checkout.StateClosed, checkout.StatePaid},
			"A2": {checkout.StateCreated, checkout.StateAwaiting, checkout.StateClosed},
		},
		ObservedRefunds: map[string][]checkout.RefundState{
			"R1": {checkout.RefundRequested, checkout.RefundSucceeded},
			"R2": {checkout.RefundRequested, checkout.RefundFailed},
		},
	}
}

// TestCheckCleanSnapshot: a consistent shop has no violations, so every
// violation the cases below find is the one their change made.
func TestCheckCleanSnapshot(t *testing.T) {
	if vs := Check(cleanSnapshot()); len(vs) != 0 {
		t.Fatalf("violations in a clean snapshot: %v", vs)
	}
}

// TestCheckFindsEachViolation breaks one thing at a time in a clean
// snapshot and wants the checker to name the invariant it breaks.
func TestCheckFindsEachViolation(t *testing.T) {
	order := func(s *Snapshot, no string) *LedgerOrder {
		for i := range s.Orders {
			if s.Orders[i].Order.No == no {
				return &s.Orders[i]
			}
		}
		t.Fatalf("no order %s", no)
		return nil
	}
	trade := func(s *Snapshot, no string) *ProviderTrade {
		for i := range s.Trades {
			if s.Trades[i].No == no {
				return &s.Trades[i]
			}
		}
		t.Fatalf("no trade %s", no)
		return nil
	}
	cases := []struct {
		name   string
		want   string
		mutate func(*Snapshot)
	}{
		{"paid at the provider, closed in the ledger", InvPaidInLedger, func(s *Snapshot) {
			trade(s, "A2").Paid = true
		}},
		{"paid at the provider, missing from the ledger", InvPaidInLedger, func(s *Snapshot) {
			s.Trades = append(s.Trades, ProviderTrade{Method: checkout.MethodWeChat, No: "W9", Amount: 100, Paid: true})
		}},
		{"paid in the ledger, not at the provider", InvPaidInLedger, func(s *Snapshot) {
			trade(s, "A1").Paid = false
		}},
		{"paid another amount, not disputed", InvPaidInLedger, func(s *Snapshot) {
			trade(s, "A1").Amount = 501
		}},
		{"a provider refund the ledger does not know", InvRefundOnce, func(s *Snapshot) {
			tr := trade(s, "W1")
			tr.Refunds = append(tr.Refunds, ProviderRefund{No: "R1b", Amount: 300, State: ProviderRefundSucceeded})
		}},
		{"one refund number at two trades", InvRefundOnce, func(s *Snapshot) {
			tr := trade(s, "A1")
			tr.Refunds = append(tr.Refunds, ProviderRefund{No: "R1", Amount: 300, State: ProviderRefundSucceeded})
		}},
		{"succeeded in the ledger, unknown to the provider", InvRefundOnce, func(s *Snapshot) {
			trade(s, "W1").Refunds = trade(s, "W1").Refunds[1:]
		}},
		{"failed in the ledger, succeeded at the provider", InvRefundOnce, func(s *Snapshot) {
			trade(s, "W1").Refunds[1].State = ProviderRefundSucceeded
		}},
		{"provider refunds above the trade", InvRefundCeil, func(s *Snapshot) {
			tr := trade(s, "A1")
			tr.Refunds = []ProviderRefund{{No: "X1", Amount: 400, State: ProviderRefundSucceeded}, {No: "X2", Amount: 200, State: ProviderRefundProcessing}}
		}},
		{"ledger refunds above the payment", InvRefundCeil, func(s *Snapshot) {
			lo := order(s, "W1")
			lo.Refunds = append(lo.Refunds, checkout.Refund{No: "R3", OrderNo: "W1", Amount: 701, State: checkout.RefundRequested})
		}},
		{"order's refunded sum disagrees with its refunds", InvRefundCeil, func(s *Snapshot) {
			order(s, "W1").Order.Refunded = 500
		}},
		{"observed paid -> awaiting", InvForward, func(s *Snapshot) {
			s.ObservedOrders["W1"] = []checkout.State{checkout.StateAwaiting, checkout.StatePaid, checkout.StateAwaiting, checkout.StatePaid}
		}},
		{"observed closed -> awaiting", InvForward, func(s *Snapshot) {
			s.ObservedOrders["A2"] = append(s.ObservedOrders["A2"], checkout.StateAwaiting)
		}},
		{"observed a refund succeeded -> requested", InvForward, func(s *Snapshot) {
			s.ObservedRefunds["R1"] = append(s.ObservedRefunds["R1"], checkout.RefundRequested)
		}},
		{"audited refunded -> paid", InvForward, func(s *Snapshot) {
			lo := order(s, "A1")
			lo.Audit = append(lo.Audit,
				checkout.AuditEntry{Seq: 20, Kind: checkout.AuditSaleState, Order: "A1", From: "paid", To: "refunded"},
				checkout.AuditEntry{Seq: 21, Kind: checkout.AuditSaleState, Order: "A1", From: "refunded", To: "paid"})
		}},
		{"audit trail skips a state", InvForward, func(s *Snapshot) {
			lo := order(s, "A2")
			lo.Audit = append(lo.Audit, checkout.AuditEntry{Seq: 20, Kind: checkout.AuditSaleState, Order: "A2", From: "awaiting", To: "closed"})
		}},
		{"order still awaiting", InvSettled, func(s *Snapshot) {
			lo := order(s, "A2")
			lo.Order.State = checkout.StateAwaiting
			lo.Audit = lo.Audit[:2]
		}},
		{"late check still due", InvSettled, func(s *Snapshot) {
			order(s, "A2").Order.RecheckAt = time.Now()
		}},
		{"refund still requested", InvSettled, func(s *Snapshot) {
			lo := order(s, "W1")
			lo.Refunds[1].State = checkout.RefundRequested
		}},
		{"refund still processing at the provider", InvSettled, func(s *Snapshot) {
			trade(s, "W1").Refunds[1].State = ProviderRefundProcessing
			order(s, "W1").Refunds[1].State = checkout.RefundRequested
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := cleanSnapshot()
			c.mutate(&s)
			vs := Check(s)
			if !has(vs, c.want) {
				t.Fatalf("want a violation of (%s), got %v", c.want, vs)
			}
			t.Logf("%v", vs)
		})
	}
}

// TestCheckAllowsPaidAndRefundedInOneStep: the ledger records a payment
// the provider refunded in full (Alipay's cancel) as one move from
// awaiting to refunded; that is forward, not a skipped check.
func TestCheckAllowsPaidAndRefundedInOneStep(t *testing.T) {
	s := cleanSnapshot()
	s.ObservedOrders["X"] = []checkout.State{checkout.StateCreated, checkout.StateAwaiting, checkout.StateRefunded}
	if vs := Check(s); len(vs) != 0 {
		t.Fatalf("violations: %v", vs)
	}
	s.ObservedOrders["X"] = []checkout.State{checkout.StateFailed, checkout.StateRefunded}
	if vs := Check(s); !has(vs, InvForward) {
		t.Fatalf("failed -> refunded passed: %v", vs)
	}
}
