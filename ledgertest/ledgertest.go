// Package ledgertest is the checkout.Ledger contract as tests: what every
// ledger must do, whatever keeps its records. Each implementation runs
// the whole suite from its own tests (store on bbolt, pgledger on
// PostgreSQL):
//
//	func TestContract(t *testing.T) {
//		ledgertest.Run(t, func(t *testing.T) checkout.Ledger { return openFresh(t) })
//	}
//
// The cases are the store's own tests of the contract, ported: where the
// contract's words leave something open, the bbolt ledger's behaviour is
// the contract. A ledger under test must also keep the audit trail as a
// checkout.AuditLog (the chain is checked through it), and keep the
// manager PIN and the operators (Access). The race helpers
// (RaceRefunds, RaceAdvance, …) take several ledgers on one store of
// records, for implementations that several processes share.
package ledgertest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"till/checkout"
)

// Run runs every case of the contract as a subtest, each on a fresh,
// empty ledger from open (which closes it on t.Cleanup). The cases run in
// parallel.
func Run(t *testing.T, open func(t *testing.T) checkout.Ledger) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open(t))
		})
	}
}

type testCase struct {
	name string
	fn   func(t *testing.T, l checkout.Ledger)
}

// cases is the suite, in the order of the Ledger interface.
var cases = []testCase{
	{"CreateAndRead", testCreateAndRead},
	{"EveryFieldKept", testEveryFieldKept},
	{"AdvanceTransitions", testAdvanceTransitions},
	{"PaidAtStamped", testPaidAtStamped},
	{"DuplicatePaidLeavesOrderUnchanged", testDuplicatePaidLeavesOrderUnchanged},
	{"UpdateKeepsStateAndRefusals", testUpdateKeepsStateAndRefusals},
	{"OpenOrders", testOpenOrders},
	{"FollowUps", testFollowUps},
	{"OrdersCreatedShanghaiDay", testOrdersCreatedShanghaiDay},

	{"DayRecordsByPaidAndSettledTime", testDayRecordsByPaidAndSettledTime},
	{"DayRecordsContents", testDayRecordsContents},
	{"EmptyLedgerDay", testEmptyLedgerDay},
	{"DayRecordsIsOneSnapshot", testDayRecordsIsOneSnapshot},
	{"CloseDayNumbersAndNeverOverwrites", testCloseDayNumbersAndNeverOverwrites},
	{"CloseDayFreezes", testCloseDayFreezes},
	{"CounterClosesBesideTheShops", testCounterClosesBesideTheShops},

	{"RefundBalance", testRefundBalance},
	{"RefundsOldestFirst", testRefundsOldestFirst},
	{"RefundRefused", testRefundRefused},
	{"SettleRefund", testSettleRefund},
	{"OpenRefundsAndUpdateRefund", testOpenRefundsAndUpdateRefund},
	{"PaidAndRefunded", testPaidAndRefunded},
	{"PaidAndRefundedAfterAPollSawItPaid", testPaidAndRefundedAfterAPollSawItPaid},
	{"PaidAndRefundedRefused", testPaidAndRefundedRefused},
	{"DisputedOrderRefundsInFull", testDisputedOrderRefundsInFull},

	{"AuditFollowsEveryChange", testAuditFollowsEveryChange},
	{"AuditOfPaidAndRefunded", testAuditOfPaidAndRefunded},
	{"RefusedChangeWritesNoEntry", testRefusedChangeWritesNoEntry},
	{"AppendAndLateSeen", testAppendAndLateSeen},

	{"PINState", testPINState},
	{"Operators", testOperators},

	{"RaceRefunds", func(t *testing.T, l checkout.Ledger) { RaceRefunds(t, l) }},
	{"RaceAdvance", func(t *testing.T, l checkout.Ledger) { RaceAdvance(t, l) }},
	{"RaceSettle", func(t *testing.T, l checkout.Ledger) { RaceSettle(t, l) }},
	{"RaceSettleAll", func(t *testing.T, l checkout.Ledger) { RaceSettleAll(t, l) }},
	{"RaceCloseDay", func(t *testing.T, l checkout.Ledger) { RaceCloseDay(t, l) }},
	{"RaceFlood", func(t *testing.T, l checkout.Ledger) { RaceFlood(t, l) }},
	{"RacePIN", func(t *testing.T, l checkout.Ledger) { RacePIN(t, l) }},
	{"RaceOperators", func(t *testing.T, l checkout.Ledger) { RaceOperators(t, l) }},
}

// t0 is the time the cases' records are created at, when the case sets
// one: a Sunday at noon in Shanghai.
var t0 = time.Date(2024, 3, 10, 4, 0, 0, 0, time.UTC)

// window is when a call ran, by the wall clock: a ledger stamps what it
// writes from its clock, read once in the call, so its stamps are inside.
type window struct{ from, to time.Time }

// during runs fn and says when.
func during(fn func()) window {
	from := time.Now().Round(0)
	fn()
	return window{from, time.Now().Round(0)}
}

func (w window) holds(t time.Time) bool { return !t.Before(w.from) && !t.After(w.to) }

func (w window) String() string {
	return fmt.Sprintf("[%s, %s]", w.from.Format(time.RFC3339Nano), w.to.Format(time.RFC3339Nano))
}

// same compares two records as the ledger keeps them: field by field
// through their JSON, so an instant read back in another *time.Location
// of the same offset is the same instant (== on time.Time would compare
// the Location pointers).
func same(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// NewOrder is an order as the cases make them: of amount, created at at
// in created, at WeChat Pay, terminal T1, to be paid within 3 minutes.
func NewOrder(no string, at time.Time, amount checkout.Money) checkout.Order {
	return checkout.Order{
		No:        no,
		Terminal:  "T1",
		Method:    checkout.MethodWeChat,
		Amount:    amount,
		State:     checkout.StateCreated,
		CreatedAt: at,
		UpdatedAt: at,
		ExpiresAt: at.Add(3 * time.Minute),
	}
}

func refund(no, orderNo string, amount checkout.Money, state checkout.RefundState) checkout.Refund {
	return checkout.Refund{No: no, OrderNo: orderNo, Amount: amount, State: state}
}

func mustCreate(t *testing.T, l checkout.Ledger, o checkout.Order) {
	t.Helper()
	if err := l.CreateOrder(t.Context(), o); err != nil {
		t.Fatalf("CreateOrder %s: %v", o.No, err)
	}
}

func mustAdvance(t *testing.T, l checkout.Ledger, no string, to checkout.State, fn func(*checkout.Order)) checkout.Order {
	t.Helper()
	o, err := l.Advance(t.Context(), no, to, fn)
	if err != nil {
		t.Fatalf("Advance %s to %s: %v", no, to, err)
	}
	return o
}

func mustOrder(t *testing.T, l checkout.Ledger, no string) checkout.Order {
	t.Helper()
	o, err := l.Order(t.Context(), no)
	if err != nil {
		t.Fatalf("Order %s: %v", no, err)
	}
	return o
}

func mustRefund(t *testing.T, l checkout.Ledger, r checkout.Refund) checkout.Order {
	t.Helper()
	o, err := l.CreateRefund(t.Context(), r)
	if err != nil {
		t.Fatalf("CreateRefund %s of %s: %v", r.No, r.OrderNo, err)
	}
	return o
}

// paidOrder stores an order of amount created at t0 and moves it to paid.
func paidOrder(t *testing.T, l checkout.Ledger, no string, amount checkout.Money) checkout.Order {
	t.Helper()
	mustCreate(t, l, NewOrder(no, t0, amount))
	mustAdvance(t, l, no, checkout.StateAwaiting, nil)
	return mustAdvance(t, l, no, checkout.StatePaid, func(o *checkout.Order) { o.ProviderTradeNo = "TX" + no })
}

func nos(os []checkout.Order) string {
	var out []string
	for _, o := range os {
		out = append(out, o.No)
	}
	return strings.Join(out, ",")
}

func refundNos(rs []checkout.Refund) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.No)
	}
	return strings.Join(out, ",")
}

// auditLog is l's audit trail as a checkout.AuditLog, which every ledger
// till opens must be (till audit reads and verifies the trail).
func auditLog(t *testing.T, l checkout.Ledger) checkout.AuditLog {
	t.Helper()
	a, ok := l.(checkout.AuditLog)
	if !ok {
		t.Fatalf("%T is not a checkout.AuditLog", l)
	}
	return a
}

// allTime is a range that holds every entry a case writes.
var allTime = [2]time.Time{time.Unix(0, 0), time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)}

// checkChain reads the whole trail and checks, entry by entry, what
// AuditEntry promises: numbered from 1 without a gap, each linked to the
// one before by its hash, each hash its own; then that VerifyAudit agrees.
// It returns the entries in number order.
func checkChain(t *testing.T, l checkout.Ledger) []checkout.AuditEntry {
	t.Helper()
	a := auditLog(t, l)
	es, err := a.AuditBetween(t.Context(), allTime[0], allTime[1])
	if err != nil {
		t.Fatal(err)
	}
	// AuditBetween is in time order; the chain is in number order, and
	// two desks' clocks need not agree.
	bySeq := make(map[uint64]checkout.AuditEntry, len(es))
	for _, e := range es {
		if _, dup := bySeq[e.Seq]; dup {
			t.Fatalf("two entries numbered %d", e.Seq)
		}
		bySeq[e.Seq] = e
	}
	prev := ""
	chain := make([]checkout.AuditEntry, 0, len(es))
	for n := uint64(1); n <= uint64(len(es)); n++ {
		e, ok := bySeq[n]
		if !ok {
			t.Fatalf("entry %d is missing of %d", n, len(es))
		}
		chain = append(chain, e)
		if e.Prev != prev {
			t.Fatalf("entry %d links to %q, want %q (the hash of entry %d)", n, e.Prev, prev, n-1)
		}
		if e.Hash != e.ChainHash() {
			t.Fatalf("entry %d carries hash %q, its own is %q", n, e.Hash, e.ChainHash())
		}
		prev = e.Hash
	}
	c, err := a.VerifyAudit(t.Context())
	if err != nil || !c.OK() || c.Entries != uint64(len(es)) {
		t.Fatalf("VerifyAudit: %+v %v, want %d entries and no break", c, err, len(es))
	}
	return chain
}

// Kinds names entries as "kind:to", space-separated: what a case
// compares an order's trail with.
func Kinds(es []checkout.AuditEntry) string {
	var out []string
	for _, e := range es {
		k := string(e.Kind)
		if e.To != "" {
			k += ":" + e.To
		}
		out = append(out, k)
	}
	return strings.Join(out, " ")
}
