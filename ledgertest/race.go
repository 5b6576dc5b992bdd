package ledgertest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"till/checkout"
)

// The races: many goroutines at one record at once, through one ledger
// or through several that share their records (two desks on one
// database). Each helper takes the ledgers to spread its calls over
// (round robin) and names its records so that it can share a ledger with
// other cases' records.

// on is the ledger of call i.
func on(ledgers []checkout.Ledger, i int) checkout.Ledger { return ledgers[i%len(ledgers)] }

// RaceRefunds races 50 refunds of 30 fen each at one paid order of 1000,
// half of them succeeded at once: the ceiling is checked in the
// transaction that records each, so exactly 33 go through (33 × 30 = 990
// <= 1000 < 34 × 30) and the rest are refused with ErrRefundAboveBalance.
// The refunds stored are exactly those let through, the order's Refunded
// is what the succeeded ones add up to, and each has its entry once.
func RaceRefunds(t *testing.T, ledgers ...checkout.Ledger) {
	ctx := t.Context()
	l := ledgers[0]
	paidOrder(t, l, "RACE-REFUNDS", 1000)
	before, _ := l.AuditOf(ctx, "RACE-REFUNDS")
	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			state := checkout.RefundRequested
			if i%2 == 0 {
				state = checkout.RefundSucceeded
			}
			_, errs[i] = on(ledgers, i).CreateRefund(ctx, refund(fmt.Sprintf("RACE-R%02d", i), "RACE-REFUNDS", 30, state))
		})
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, checkout.ErrRefundAboveBalance):
			t.Errorf("refund %d: unexpected error: %v", i, err)
		}
	}
	if ok != 33 {
		t.Errorf("%d refunds accepted, want 33", ok)
	}
	refunds, err := l.Refunds(ctx, "RACE-REFUNDS")
	if err != nil {
		t.Fatal(err)
	}
	var held, succeeded checkout.Money
	moves := 0
	for _, r := range refunds {
		held += r.Amount
		if r.State == checkout.RefundSucceeded {
			succeeded += r.Amount
			moves++
		}
		if errs[refundIndex(t, r.No)] != nil {
			t.Errorf("refund %s was refused and stored", r.No)
		}
	}
	if held > 1000 || len(refunds) != ok {
		t.Errorf("stored %d refunds holding %d fen, want %d within 1000", len(refunds), held, ok)
	}
	o := mustOrder(t, l, "RACE-REFUNDS")
	if o.Refunded != succeeded || o.State != checkout.StatePartiallyRefunded {
		t.Errorf("order Refunded = %d in %s, succeeded refunds = %d", o.Refunded, o.State, succeeded)
	}
	after, err := l.AuditOf(ctx, "RACE-REFUNDS")
	if err != nil {
		t.Fatal(err)
	}
	// One entry per refund, and one per move of the order (each succeeded
	// refund moves it to partially_refunded, or within it).
	stateMoves := 0
	for _, e := range after[len(before):] {
		if e.Kind == checkout.AuditSaleState {
			stateMoves++
		}
	}
	if got := len(after) - len(before) - stateMoves; got != ok || stateMoves != 1 {
		t.Errorf("%d refund entries and %d moves of the order, want %d and 1 (of %d succeeded)", got, stateMoves, ok, moves)
	}
	checkChain(t, l)
}

func refundIndex(t *testing.T, no string) int {
	var i int
	if _, err := fmt.Sscanf(no, "RACE-R%02d", &i); err != nil {
		t.Fatalf("refund %s: %v", no, err)
	}
	return i
}

// RaceAdvance races 20 moves of one awaiting order to paid (a
// notification and polls on every desk), each with its own edit: exactly
// one wins; every other is a *TransitionError carrying the order as the
// winner left it; the order is stored as the winner made it, with one
// entry for the move.
func RaceAdvance(t *testing.T, ledgers ...checkout.Ledger) {
	ctx := t.Context()
	l := ledgers[0]
	mustCreate(t, l, NewOrder("RACE-ADVANCE", t0, 1000))
	mustAdvance(t, l, "RACE-ADVANCE", checkout.StateAwaiting, nil)
	const n = 20
	var wg sync.WaitGroup
	got := make([]checkout.Order, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			got[i], errs[i] = on(ledgers, i).Advance(ctx, "RACE-ADVANCE", checkout.StatePaid, func(o *checkout.Order) {
				o.ProviderTradeNo = fmt.Sprintf("TX%02d", i)
			})
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Errorf("moves %d and %d both won", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("no move won: %v", errs)
	}
	stored := mustOrder(t, l, "RACE-ADVANCE")
	if !same(stored, got[winner]) || stored.ProviderTradeNo != fmt.Sprintf("TX%02d", winner) {
		t.Errorf("stored %+v, the winner %d returned %+v", stored, winner, got[winner])
	}
	for i, err := range errs {
		if i == winner {
			continue
		}
		var te *checkout.TransitionError
		if !errors.As(err, &te) || !same(te.Current, stored) || te.From != stored.State {
			t.Errorf("move %d: err = %v, want a *TransitionError carrying the stored order", i, err)
		}
	}
	es, err := l.AuditOf(ctx, "RACE-ADVANCE")
	if err != nil {
		t.Fatal(err)
	}
	if want := "sale:created sale.state:awaiting sale.state:paid"; Kinds(es) != want {
		t.Errorf("entries %s, want %s", Kinds(es), want)
	}
	checkChain(t, l)
}

// RaceSettle delivers one refund's outcome 20 times at once (a
// notification and polls, on every desk), 15 of them succeeded and 5
// failed: the refund settles once, one way; the calls that say the same
// are no error and return it as stored, the others are ErrTransition; a
// success is added to the order once; the settlement has one entry.
func RaceSettle(t *testing.T, ledgers ...checkout.Ledger) {
	ctx := t.Context()
	l := ledgers[0]
	paidOrder(t, l, "RACE-SETTLE", 1000)
	mustRefund(t, l, refund("RACE-SETTLE-R", "RACE-SETTLE", 400, checkout.RefundRequested))
	const n = 20
	var wg sync.WaitGroup
	rs := make([]checkout.Refund, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			to := checkout.RefundSucceeded
			if i%4 == 3 {
				to = checkout.RefundFailed
			}
			rs[i], _, errs[i] = on(ledgers, i).SettleRefund(ctx, "RACE-SETTLE-R", to, func(r *checkout.Refund) {
				r.ProviderRefundNo = fmt.Sprintf("PR%02d", i)
			})
		})
	}
	wg.Wait()
	stored, err := l.Refund(ctx, "RACE-SETTLE-R")
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		switch {
		case err == nil && !same(rs[i], stored):
			t.Errorf("call %d returned %+v, stored %+v", i, rs[i], stored)
		case err == nil && rs[i].State != stored.State:
			t.Errorf("call %d settled it %s, stored %s", i, rs[i].State, stored.State)
		case err != nil && !errors.Is(err, checkout.ErrTransition):
			t.Errorf("call %d: %v", i, err)
		}
	}
	o := mustOrder(t, l, "RACE-SETTLE")
	want := checkout.Money(0)
	if stored.State == checkout.RefundSucceeded {
		want = 400
	}
	if o.Refunded != want {
		t.Errorf("the order's Refunded = %d after the refund %s, want %d", o.Refunded, stored.State, want)
	}
	es, err := l.AuditOf(ctx, "RACE-SETTLE")
	if err != nil {
		t.Fatal(err)
	}
	settles := 0
	for _, e := range es {
		if e.Kind == checkout.AuditRefundState {
			settles++
		}
	}
	if settles != 1 {
		t.Errorf("%d settlement entries, want 1: %s", settles, Kinds(es))
	}
	checkChain(t, l)
}

// RaceSettleAll settles 20 refunds of one order at once, each twice (a
// notification and a poll): every success is added to the order, none
// lost to another's write of the order and none twice; the order ends
// refunded; each refund's settlement has one entry, and the order moved
// twice (to partially_refunded, to refunded).
func RaceSettleAll(t *testing.T, ledgers ...checkout.Ledger) {
	ctx := t.Context()
	l := ledgers[0]
	paidOrder(t, l, "RACE-ALL", 1000)
	const n = 20
	for i := range n {
		mustRefund(t, l, refund(fmt.Sprintf("RACE-ALL-R%02d", i), "RACE-ALL", 50, checkout.RefundRequested))
	}
	var wg sync.WaitGroup
	errs := make([]error, 2*n)
	for i := range 2 * n {
		wg.Go(func() {
			_, _, errs[i] = on(ledgers, i).SettleRefund(ctx, fmt.Sprintf("RACE-ALL-R%02d", i%n), checkout.RefundSucceeded, nil)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("settle %d: %v", i, err)
		}
	}
	if o := mustOrder(t, l, "RACE-ALL"); o.Refunded != 1000 || o.State != checkout.StateRefunded {
		t.Errorf("the order after its refunds: refunded %d in %s, want 1000 in refunded", o.Refunded, o.State)
	}
	es, err := l.AuditOf(ctx, "RACE-ALL")
	if err != nil {
		t.Fatal(err)
	}
	settles, moves := 0, 0
	for _, e := range es {
		switch e.Kind {
		case checkout.AuditRefundState:
			settles++
		case checkout.AuditSaleState:
			moves++
		}
	}
	if settles != n || moves != 4 { // awaiting, paid, partially_refunded, refunded
		t.Errorf("%d settlements and %d moves of the order, want %d and 4: %s", settles, moves, n, Kinds(es))
	}
	checkChain(t, l)
}

// RaceCloseDay closes one day from 8 callers at once: one close, Z 1;
// every other caller's build sees it closed (ErrDayClosed); one entry.
func RaceCloseDay(t *testing.T, ledgers ...checkout.Ledger) {
	ctx := t.Context()
	l := ledgers[0]
	day := time.Date(2031, 1, 2, 0, 0, 0, 0, time.UTC) // a day of no other case
	const n = 8
	var wg sync.WaitGroup
	zs := make([]checkout.DayClose, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			zs[i], errs[i] = on(ledgers, i).CloseDay(ctx, day, day.AddDate(0, 0, 1), "2031-01-02", closeBuild)
		})
	}
	wg.Wait()
	closed := 0
	for i, err := range errs {
		switch {
		case err == nil:
			closed++
			if zs[i].Day != "2031-01-02" {
				t.Errorf("close %d: %+v", i, zs[i])
			}
		case !errors.Is(err, checkout.ErrDayClosed):
			t.Errorf("close %d: %v", i, err)
		}
	}
	if closed != 1 {
		t.Fatalf("%d closes of one day", closed)
	}
	rec, err := l.DayRecords(ctx, day, day.AddDate(0, 0, 1), "2031-01-02")
	if err != nil || rec.Close == nil {
		t.Fatalf("the close: %+v %v", rec.Close, err)
	}
	entries := 0
	for _, e := range checkChain(t, l) {
		if e.Kind == checkout.AuditDayClosed && strings.Contains(e.Detail, "Z 1 of 2031-01-02") {
			entries++
		}
	}
	if entries != 1 {
		t.Errorf("%d day.closed entries, want 1", entries)
	}
}

// RaceFlood is a flood of notifications and polls at once, as the webhook
// and settling passes make them: for each of 64 awaiting orders a
// payment, a move back to created that the state machine refuses, and a
// refund of 30 fen of one paid order of 1000. Every effect lands exactly
// once: each order is paid once with one entry for it, the refunds let
// through are exactly those recorded and within the payment, and the
// chain grew by exactly one entry per effect.
func RaceFlood(t *testing.T, ledgers ...checkout.Ledger) {
	ctx := t.Context()
	l := ledgers[0]
	const n = 64
	for i := range n {
		no := fmt.Sprintf("FLOOD%03d", i)
		mustCreate(t, l, NewOrder(no, t0, 1000))
		mustAdvance(t, l, no, checkout.StateAwaiting, nil)
	}
	paidOrder(t, l, "FLOOD-R", 1000)
	before := len(checkChain(t, l))

	var wg sync.WaitGroup
	var mu sync.Mutex
	var refunds, refused, refusedMoves int
	for i := range n {
		no := fmt.Sprintf("FLOOD%03d", i)
		wg.Go(func() { // the payment
			if _, err := on(ledgers, i).Advance(ctx, no, checkout.StatePaid, func(o *checkout.Order) { o.ProviderTradeNo = "TX" + no }); err != nil {
				t.Errorf("pay %s: %v", no, err)
			}
		})
		wg.Go(func() { // a move the state machine refuses, before or after the payment
			_, err := on(ledgers, i+1).Advance(ctx, no, checkout.StateCreated, nil)
			var te *checkout.TransitionError
			if errors.As(err, &te) {
				mu.Lock()
				refusedMoves++
				mu.Unlock()
			}
		})
		wg.Go(func() { // 64 refunds of 30 fen: 33 fit in 1000
			r := checkout.Refund{No: fmt.Sprintf("FLOOD-RF%03d", i), OrderNo: "FLOOD-R", Amount: 30, State: checkout.RefundRequested, CreatedAt: t0}
			_, err := on(ledgers, i+2).CreateRefund(ctx, r)
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
		})
	}
	wg.Wait()

	if refunds != 33 || refused != n-33 {
		t.Fatalf("%d refunds let through and %d refused, want 33 and %d", refunds, refused, n-33)
	}
	rs, err := l.Refunds(ctx, "FLOOD-R")
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
	for i := range n {
		no := fmt.Sprintf("FLOOD%03d", i)
		if o := mustOrder(t, l, no); o.State != checkout.StatePaid || o.ProviderTradeNo != "TX"+no {
			t.Errorf("%s: %+v", no, o)
		}
		es, err := l.AuditOf(ctx, no)
		if err != nil {
			t.Fatal(err)
		}
		if got := Kinds(es); got != "sale:created sale.state:awaiting sale.state:paid" {
			t.Errorf("%s: entries %s", no, got)
		}
	}
	if refusedMoves != n {
		t.Fatalf("%d moves back refused, want %d", refusedMoves, n)
	}
	if got, want := len(checkChain(t, l)), before+n+refunds; got != want {
		t.Fatalf("audit entries %d after, want %d", got, want)
	}
}
