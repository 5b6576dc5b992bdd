package faultsuite

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"till/checkout"
	"till/providers/wechat/wechatemu"
)

// The invariants, by the letter the issue gives them.
const (
	InvPaidInLedger = "a" // every trade paid at the provider is paid in the ledger
	InvRefundOnce   = "b" // one provider refund per ledger refund, none unknown
	InvRefundCeil   = "c" // refunds never exceed the payment
	InvForward      = "d" // states only move forward
	InvSettled      = "e" // everything settled once faults clear
)

// Violation is one broken invariant.
type Violation struct {
	Invariant string // InvPaidInLedger, ...
	Subject   string // the order or refund number
	Detail    string
}

func (v Violation) String() string {
	return fmt.Sprintf("(%s) %s: %s", v.Invariant, v.Subject, v.Detail)
}

// Provider refund states, both providers' words mapped.
const (
	ProviderRefundSucceeded  = "succeeded"
	ProviderRefundProcessing = "processing"
	ProviderRefundClosed     = "closed" // gave the money back to what can be refunded
)

// ProviderRefund is one refund as a provider holds it.
type ProviderRefund struct {
	No     string
	Amount checkout.Money
	State  string // ProviderRefund...
}

// ProviderTrade is one trade as a provider holds it.
type ProviderTrade struct {
	Method  checkout.Method
	No      string
	Amount  checkout.Money
	Paid    bool   // money arrived (refunds may have followed)
	Raw     string // the provider's word for it
	Refunds []ProviderRefund
}

// LedgerOrder is one order as the ledger holds it, with its refunds and
// audit trail.
type LedgerOrder struct {
	Order   checkout.Order
	Refunds []checkout.Refund
	Audit   []checkout.AuditEntry
}

// Snapshot is everything the checker looks at: both sides' records at
// the end, and what was observed on the way.
type Snapshot struct {
	Orders []LedgerOrder
	Trades []ProviderTrade
	// ObservedOrders and ObservedRefunds are the states seen per number,
	// in the order they were seen, repeats collapsed.
	ObservedOrders  map[string][]checkout.State
	ObservedRefunds map[string][]checkout.RefundState
}

// Check returns every violation of the invariants in s, nil when none.
func Check(s Snapshot) []Violation {
	var vs []Violation
	add := func(inv, subject, format string, args ...any) {
		vs = append(vs, Violation{Invariant: inv, Subject: subject, Detail: fmt.Sprintf(format, args...)})
	}
	orders := map[string]LedgerOrder{}
	refunds := map[string]checkout.Refund{}
	for _, lo := range s.Orders {
		orders[lo.Order.No] = lo
		for _, r := range lo.Refunds {
			refunds[r.No] = r
		}
	}
	trades := map[string]ProviderTrade{}
	providerRefunds := map[string][]string{} // refund no -> the trades holding it
	for _, tr := range s.Trades {
		trades[tr.No] = tr
		for _, pr := range tr.Refunds {
			providerRefunds[pr.No] = append(providerRefunds[pr.No], tr.No)
		}
	}

	// (a) the provider's money is in the ledger, and the ledger shows no
	// money the provider does not have.
	for _, tr := range s.Trades {
		lo, ok := orders[tr.No]
		switch {
		case !ok && tr.Paid:
			add(InvPaidInLedger, tr.No, "paid at %s (%s, %d fen) and missing from the ledger", tr.Method, tr.Raw, tr.Amount)
			continue
		case !ok:
			add(InvPaidInLedger, tr.No, "%s has a trade (%s) the ledger never wrote", tr.Method, tr.Raw)
			continue
		}
		o := lo.Order
		if o.Method != tr.Method {
			add(InvPaidInLedger, tr.No, "ledger method %s, trade at %s", o.Method, tr.Method)
		}
		ledgerPaid := o.State.WasPaid() || o.State == checkout.StateDisputed
		switch {
		case tr.Paid && !ledgerPaid:
			add(InvPaidInLedger, tr.No, "paid at %s (%s) but %s in the ledger", tr.Method, tr.Raw, o.State)
		case !tr.Paid && ledgerPaid:
			add(InvPaidInLedger, tr.No, "%s in the ledger but not paid at %s (%s)", o.State, tr.Method, tr.Raw)
		case tr.Paid && o.State == checkout.StateDisputed && o.ProviderAmount != tr.Amount:
			add(InvPaidInLedger, tr.No, "disputed at %d fen, %s took %d", o.ProviderAmount, tr.Method, tr.Amount)
		case tr.Paid && o.State != checkout.StateDisputed && o.Amount != tr.Amount:
			add(InvPaidInLedger, tr.No, "ledger %d fen, %s took %d and it is not disputed", o.Amount, tr.Method, tr.Amount)
		}
	}
	for _, lo := range s.Orders {
		o := lo.Order
		if _, ok := trades[o.No]; !ok && (o.State.WasPaid() || o.State == checkout.StateDisputed) {
			add(InvPaidInLedger, o.No, "%s in the ledger and unknown to %s", o.State, o.Method)
		}
	}

	// (b) one provider refund per ledger refund, none the ledger does not
	// know, and the amounts agree.
	for _, tr := range s.Trades {
		var providerRefunded checkout.Money
		for _, pr := range tr.Refunds {
			if pr.State == ProviderRefundSucceeded {
				providerRefunded += pr.Amount
			}
			r, ok := refunds[pr.No]
			switch {
			case !ok:
				add(InvRefundOnce, pr.No, "%s refunded %d fen of %s under a number the ledger does not know", tr.Method, pr.Amount, tr.No)
				continue
			case r.OrderNo != tr.No:
				add(InvRefundOnce, pr.No, "ledger refund of %s, made at %s on %s", r.OrderNo, tr.Method, tr.No)
			case r.Amount != pr.Amount:
				add(InvRefundOnce, pr.No, "ledger refund %d fen, %s refunded %d", r.Amount, tr.Method, pr.Amount)
			}
			switch {
			case r.State == checkout.RefundFailed && pr.State == ProviderRefundSucceeded:
				add(InvRefundOnce, pr.No, "failed in the ledger, succeeded at %s", tr.Method)
			case r.State == checkout.RefundSucceeded && pr.State != ProviderRefundSucceeded:
				add(InvRefundOnce, pr.No, "succeeded in the ledger, %s at %s", pr.State, tr.Method)
			}
		}
		if lo, ok := orders[tr.No]; ok && lo.Order.Refunded != providerRefunded {
			add(InvRefundOnce, tr.No, "ledger refunded %d fen, %s refunded %d", lo.Order.Refunded, tr.Method, providerRefunded)
		}
	}
	for no, holders := range providerRefunds {
		if len(holders) > 1 {
			add(InvRefundOnce, no, "one refund number made %d provider refunds (%s)", len(holders), strings.Join(holders, ", "))
		}
	}
	for _, r := range refunds {
		if r.State == checkout.RefundSucceeded && len(providerRefunds[r.No]) == 0 {
			add(InvRefundOnce, r.No, "succeeded in the ledger and unknown to %s", r.Method)
		}
	}

	// (c) refunds never exceed the payment.
	for _, tr := range s.Trades {
		var held checkout.Money
		for _, pr := range tr.Refunds {
			if pr.State != ProviderRefundClosed {
				held += pr.Amount
			}
		}
		if held > tr.Amount {
			add(InvRefundCeil, tr.No, "%s refunds %d fen of a %d fen trade", tr.Method, held, tr.Amount)
		}
	}
	for _, lo := range s.Orders {
		o := lo.Order
		var held, succeeded checkout.Money
		for _, r := range lo.Refunds {
			switch r.State {
			case checkout.RefundSucceeded:
				succeeded += r.Amount
				held += r.Amount
			case checkout.RefundRequested:
				held += r.Amount
			}
		}
		if ceiling := checkout.Refundable(o); held > ceiling {
			add(InvRefundCeil, o.No, "ledger holds %d fen of refunds (succeeded and requested) against %d refundable", held, ceiling)
		}
		if o.Refunded != succeeded {
			add(InvRefundCeil, o.No, "order says %d fen refunded, its succeeded refunds add up to %d", o.Refunded, succeeded)
		}
		if o.Refunded > o.Amount && o.State != checkout.StateDisputed {
			add(InvRefundCeil, o.No, "refunded %d fen of %d", o.Refunded, o.Amount)
		}
		switch {
		case o.State == checkout.StateRefunded && o.Refunded != o.Amount:
			add(InvRefundCeil, o.No, "refunded with %d of %d fen back", o.Refunded, o.Amount)
		case o.State == checkout.StatePartiallyRefunded && (o.Refunded <= 0 || o.Refunded >= o.Amount):
			add(InvRefundCeil, o.No, "partially refunded with %d of %d fen back", o.Refunded, o.Amount)
		case o.State == checkout.StatePaid && o.Refunded != 0:
			add(InvRefundCeil, o.No, "paid with %d fen refunded", o.Refunded)
		}
	}

	// (d) states only move forward: as observed, and as the audit trail
	// tells it, each entry starting where the last one ended.
	for _, no := range sortedKeys(s.ObservedOrders) {
		seq := s.ObservedOrders[no]
		for i := 1; i < len(seq); i++ {
			if seq[i] != seq[i-1] && !orderCanMove(seq[i-1], seq[i]) {
				add(InvForward, no, "observed %s -> %s (%s)", seq[i-1], seq[i], joinStates(seq))
			}
		}
	}
	for _, no := range sortedKeys(s.ObservedRefunds) {
		seq := s.ObservedRefunds[no]
		for i := 1; i < len(seq); i++ {
			if seq[i] != seq[i-1] && !refundCanMove(seq[i-1], seq[i]) {
				add(InvForward, no, "refund observed %s -> %s", seq[i-1], seq[i])
			}
		}
	}
	for _, lo := range s.Orders {
		last := map[string]string{} // order or refund number -> last audited state
		for _, e := range lo.Audit {
			switch e.Kind {
			case checkout.AuditSale:
				last[e.Order] = e.To
			case checkout.AuditSaleState:
				from, to := checkout.State(e.From), checkout.State(e.To)
				if !orderCanMove(from, to) {
					add(InvForward, e.Order, "audit entry %d moves %s -> %s", e.Seq, from, to)
				}
				if prev, ok := last[e.Order]; ok && prev != e.From {
					add(InvForward, e.Order, "audit entry %d moves from %s, the trail left it %s", e.Seq, e.From, prev)
				}
				last[e.Order] = e.To
			case checkout.AuditRefund:
				last["refund:"+e.Refund] = e.To
			case checkout.AuditRefundState:
				from, to := checkout.RefundState(e.From), checkout.RefundState(e.To)
				if !refundCanMove(from, to) {
					add(InvForward, e.Refund, "audit entry %d moves the refund %s -> %s", e.Seq, from, to)
				}
				if prev, ok := last["refund:"+e.Refund]; ok && prev != e.From {
					add(InvForward, e.Refund, "audit entry %d moves the refund from %s, the trail left it %s", e.Seq, e.From, prev)
				}
				last["refund:"+e.Refund] = e.To
			}
		}
		if got, ok := last[lo.Order.No]; ok && got != string(lo.Order.State) {
			add(InvForward, lo.Order.No, "the trail ends at %s, the order is %s", got, lo.Order.State)
		}
	}

	// (e) settled.
	for _, lo := range s.Orders {
		o := lo.Order
		if o.State.Open() {
			add(InvSettled, o.No, "still %s", o.State)
		}
		if !o.RecheckAt.IsZero() {
			add(InvSettled, o.No, "late check still due at %s", o.RecheckAt.Format(time.RFC3339))
		}
		for _, r := range lo.Refunds {
			if r.State == checkout.RefundRequested {
				add(InvSettled, r.No, "refund of %s still requested", o.No)
			}
		}
	}
	for _, tr := range s.Trades {
		for _, pr := range tr.Refunds {
			if pr.State == ProviderRefundProcessing {
				add(InvSettled, pr.No, "still processing at %s", tr.Method)
			}
		}
	}
	return vs
}

// orderCanMove is State.CanMoveTo, plus the one composite step the ledger
// writes in one transaction: paid and refunded in full by the provider
// (Ledger.PaidAndRefunded), from any state that may become paid.
func orderCanMove(from, to checkout.State) bool {
	return from.CanMoveTo(to) || to == checkout.StateRefunded && from.CanMoveTo(checkout.StatePaid)
}

func refundCanMove(from, to checkout.RefundState) bool {
	return from == checkout.RefundRequested && (to == checkout.RefundSucceeded || to == checkout.RefundFailed)
}

func joinStates(seq []checkout.State) string {
	s := make([]string, len(seq))
	for i, st := range seq {
		s[i] = string(st)
	}
	return strings.Join(s, " ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// has reports whether vs holds a violation of inv.
func has(vs []Violation, inv string) bool {
	for _, v := range vs {
		if v.Invariant == inv {
			return true
		}
	}
	return false
}

// ledgerOrders reads every order with its refunds and audit trail.
func ledgerOrders(ctx context.Context, l checkout.Ledger, from, to time.Time) ([]LedgerOrder, error) {
	os, err := l.OrdersCreated(ctx, from, to, 0)
	if err != nil {
		return nil, err
	}
	out := make([]LedgerOrder, 0, len(os))
	for i := len(os) - 1; i >= 0; i-- { // oldest first
		lo := LedgerOrder{Order: os[i]}
		if lo.Refunds, err = l.Refunds(ctx, os[i].No); err != nil {
			return nil, err
		}
		if lo.Audit, err = l.AuditOf(ctx, os[i].No); err != nil {
			return nil, err
		}
		out = append(out, lo)
	}
	return out, nil
}

// providerTrades reads every trade both emulators ever held, with its
// refunds.
func providerTrades(e *emulators) []ProviderTrade {
	var out []ProviderTrade
	for _, no := range e.wxStore.Keys("trade/") {
		t, ok := e.wx.Emulator.Trade(no)
		if !ok {
			continue
		}
		tr := ProviderTrade{Method: checkout.MethodWeChat, No: no, Amount: checkout.Money(t.Total), Raw: t.State,
			Paid: t.State == wechatemu.StateSuccess || t.State == wechatemu.StateRefund}
		for _, r := range e.wx.Emulator.RefundsOf(no) {
			st := ProviderRefundProcessing
			switch r.Status {
			case wechatemu.RefundSuccess:
				st = ProviderRefundSucceeded
			case wechatemu.RefundClosed:
				st = ProviderRefundClosed
			}
			tr.Refunds = append(tr.Refunds, ProviderRefund{No: r.OutRefundNo, Amount: checkout.Money(r.Amount), State: st})
		}
		out = append(out, tr)
	}
	for _, no := range e.aliStore.Keys("") {
		t, ok := e.ali.Emulator.Trade(no)
		if !ok {
			continue
		}
		tr := ProviderTrade{Method: checkout.MethodAlipay, No: no, Amount: checkout.Money(t.TotalFen), Raw: t.Status, Paid: t.WasPaid()}
		for _, r := range t.Refunds {
			tr.Refunds = append(tr.Refunds, ProviderRefund{No: r.OutRequestNo, Amount: checkout.Money(r.AmountFen), State: ProviderRefundSucceeded})
		}
		out = append(out, tr)
	}
	return out
}

// unsettled reports what still keeps the ledger from being settled: open
// orders, late checks waiting, requested refunds. A read error counts as
// unsettled.
func unsettled(ctx context.Context, l checkout.Ledger) (open, checks, refunds int) {
	os, err1 := l.OpenOrders(ctx)
	fs, err2 := l.FollowUps(ctx)
	rs, err3 := l.OpenRefunds(ctx)
	if err1 != nil || err2 != nil || err3 != nil {
		return 1, 1, 1
	}
	for _, o := range fs {
		if !o.RecheckAt.IsZero() {
			checks++
		}
	}
	return len(os), checks, len(rs)
}

// wxProcessing lists the WeChat refunds still processing (or abnormal).
func wxProcessing(e *emulators) []string {
	var out []string
	for _, no := range e.wxStore.Keys("refund/") {
		if r, ok := e.wx.Emulator.Refund(no); ok && (r.Status == wechatemu.RefundProcessing || r.Status == wechatemu.RefundAbnormal) {
			out = append(out, no)
		}
	}
	return out
}
