package manager

import (
	"context"
	"sync"
	"testing"
	"time"

	"till/checkout"
)

// cheap keeps argon2 to microseconds in tests; the policy is the same.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32}

// fakeLedger is an in-memory checkout.PINLedger with the contract's
// transaction rule: fn works on a copy, kept only when fn returns nil.
type fakeLedger struct {
	mu    sync.Mutex
	st    checkout.PINState
	audit []checkout.AuditEntry

	failUpdate error                    // UpdatePIN fails with it before running fn
	failRead   error                    // PINState fails with it
	meanwhile  func(*checkout.PINState) // another process's write, just before the next fn
}

var _ checkout.PINLedger = (*fakeLedger)(nil)

func (l *fakeLedger) PINState(context.Context) (checkout.PINState, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failRead != nil {
		return checkout.PINState{}, l.failRead
	}
	return l.st, nil
}

func (l *fakeLedger) UpdatePIN(_ context.Context, fn func(*checkout.PINState) (checkout.AuditEntry, error)) (checkout.PINState, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failUpdate != nil {
		return checkout.PINState{}, l.failUpdate
	}
	if l.meanwhile != nil {
		l.meanwhile(&l.st)
		l.meanwhile = nil
	}
	c := l.st
	e, err := fn(&c)
	if err != nil {
		return checkout.PINState{}, err
	}
	l.st = c
	if e.Kind != "" {
		l.audit = append(l.audit, e)
	}
	return c, nil
}

func (l *fakeLedger) state() checkout.PINState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st
}

func (l *fakeLedger) kinds() []checkout.AuditKind {
	l.mu.Lock()
	defer l.mu.Unlock()
	var k []checkout.AuditKind
	for _, e := range l.audit {
		k = append(k, e.Kind)
	}
	return k
}

// fakeClock is advanced by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 14, 14, 0, 0, 0, time.FixedZone("CST", 8*3600))}
}

const goodPIN = "4826"

// setup returns a Guard over a fresh ledger with goodPIN set.
func setup(t *testing.T) (*Guard, *fakeLedger, *fakeClock) {
	t.Helper()
	l, c := &fakeLedger{}, newClock()
	g := New(l, c, WithParams(cheap))
	if err := g.Set(context.Background(), "", goodPIN); err != nil {
		t.Fatalf("Set: %v", err)
	}
	return g, l, c
}
