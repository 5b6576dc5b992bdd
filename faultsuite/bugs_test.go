package faultsuite

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"till/checkout"
)

// Deliberate bugs, each one a mistake till could make, for the suite to
// catch: it runs the same randomized driver with the bug in place and
// wants the checker to name the invariant the bug breaks. They live here,
// in test files; till has no hook for them.

// resendingProvider re-sends a refund whose outcome is unknown under a
// NEW refund number, instead of settling it by query with the same one:
// when the first request was carried out and only its answer was lost,
// the customer gets the money twice.
type resendingProvider struct {
	checkout.Provider
}

func (p resendingProvider) Refund(ctx context.Context, req checkout.RefundRequest) (checkout.RefundStatus, error) {
	st, err := p.Provider.Refund(ctx, req)
	if checkout.IsUnknown(err) {
		req.RefundNo += "B"
		return p.Provider.Refund(ctx, req)
	}
	return st, err
}

// strictLedger forbids closed -> paid, as if someone had "tidied" the
// state machine: a payment that lands after the close is never recorded.
type strictLedger struct {
	checkout.Ledger
}

func (l strictLedger) Advance(ctx context.Context, no string, to checkout.State, fn func(*checkout.Order)) (checkout.Order, error) {
	if cur, err := l.Ledger.Order(ctx, no); err == nil && cur.State == checkout.StateClosed && to == checkout.StatePaid {
		return checkout.Order{}, &checkout.TransitionError{From: cur.State, To: to, Current: cur}
	}
	return l.Ledger.Advance(ctx, no, to, fn)
}

// staleLedger answers reads of an order with its version before the last
// change, as a read cache that is refreshed one write late would: the
// desk sees an order move backwards.
type staleLedger struct {
	checkout.Ledger
	mu   sync.Mutex
	prev map[string]checkout.Order
}

func (l *staleLedger) Advance(ctx context.Context, no string, to checkout.State, fn func(*checkout.Order)) (checkout.Order, error) {
	before, berr := l.Ledger.Order(ctx, no)
	o, err := l.Ledger.Advance(ctx, no, to, fn)
	if err == nil && berr == nil {
		l.mu.Lock()
		l.prev[no] = before
		l.mu.Unlock()
	}
	return o, err
}

func (l *staleLedger) Order(ctx context.Context, no string) (checkout.Order, error) {
	l.mu.Lock()
	p, ok := l.prev[no]
	l.mu.Unlock()
	if ok {
		return p, nil
	}
	return l.Ledger.Order(ctx, no)
}

// catches runs the driver with a bug over a few fixed seeds until the
// checker reports a violation of want, and fails if none does.
func catches(t *testing.T, want string, opts driverOpts) {
	t.Helper()
	for _, seed := range []int64{1, 2, 3, 4} {
		opts.seed, opts.ops = seed, 250
		_, vs, _ := runDriver(t, opts)
		if has(vs, want) {
			for _, v := range vs {
				if v.Invariant == want {
					t.Logf("seed %d: caught %s", seed, v)
					break
				}
			}
			return
		}
		t.Logf("seed %d: not caught (%d other violations: %v)", seed, len(vs), firstFew(vs))
	}
	t.Fatalf("the bug went unnoticed: no violation of (%s) in 4 runs", want)
}

func firstFew(vs []Violation) string {
	if len(vs) > 3 {
		return fmt.Sprint(vs[:3]) + "…"
	}
	return fmt.Sprint(vs)
}

// TestSuiteCatchesRefundResentUnderNewNumber: a refund re-sent under a new
// number after an unknown outcome is a second refund the ledger does not
// know (b).
func TestSuiteCatchesRefundResentUnderNewNumber(t *testing.T) {
	t.Parallel()
	catches(t, InvRefundOnce, driverOpts{wrapProvider: func(p checkout.Provider) checkout.Provider {
		return resendingProvider{p}
	}})
}

// TestSuiteCatchesLostLatePayment: a ledger that refuses closed -> paid
// leaves a late payment at Alipay that the ledger shows closed (a).
func TestSuiteCatchesLostLatePayment(t *testing.T) {
	t.Parallel()
	catches(t, InvPaidInLedger, driverOpts{wrapLedger: func(l checkout.Ledger) checkout.Ledger {
		return strictLedger{l}
	}})
}

// TestSuiteCatchesStateMovingBackwards: a ledger whose reads lag one write
// behind shows the desk orders moving backwards (d).
func TestSuiteCatchesStateMovingBackwards(t *testing.T) {
	t.Parallel()
	catches(t, InvForward, driverOpts{wrapLedger: func(l checkout.Ledger) checkout.Ledger {
		return &staleLedger{Ledger: l, prev: map[string]checkout.Order{}}
	}})
}
