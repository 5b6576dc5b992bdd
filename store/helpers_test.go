package store

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"till/checkout"
	"till/ledgertest"
)

// fakeClock is a settable clock safe for the concurrent tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2024, 3, 10, 4, 0, 0, 0, time.UTC)

// mustOpen opens a store in a fresh temp dir (under a directory Open must
// create) with a fake clock, and closes and checks it on cleanup.
func mustOpen(t *testing.T, opts ...Option) (*Store, *fakeClock) {
	t.Helper()
	return mustOpenAt(t, filepath.Join(t.TempDir(), "data", "till", "till.db"), opts...)
}

func mustOpenAt(t *testing.T, path string, opts ...Option) (*Store, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: t0}
	s, err := Open(path, append([]Option{WithClock(clk.Now), WithLockTimeout(200 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("Check: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, clk
}

// newOrder is the contract suite's order (created, WeChat Pay, T1).
var newOrder = ledgertest.NewOrder

func mustCreate(t *testing.T, s *Store, o checkout.Order) {
	t.Helper()
	if err := s.CreateOrder(t.Context(), o); err != nil {
		t.Fatalf("CreateOrder %s: %v", o.No, err)
	}
}

func mustAdvance(t *testing.T, s *Store, no string, to checkout.State, fn func(*checkout.Order)) checkout.Order {
	t.Helper()
	o, err := s.Advance(t.Context(), no, to, fn)
	if err != nil {
		t.Fatalf("Advance %s to %s: %v", no, to, err)
	}
	return o
}

func mustOrder(t *testing.T, s *Store, no string) checkout.Order {
	t.Helper()
	o, err := s.Order(t.Context(), no)
	if err != nil {
		t.Fatalf("Order %s: %v", no, err)
	}
	return o
}

// paidOrder stores an order of amount and moves it to paid.
func paidOrder(t *testing.T, s *Store, no string, amount checkout.Money) checkout.Order {
	t.Helper()
	mustCreate(t, s, newOrder(no, t0, amount))
	mustAdvance(t, s, no, checkout.StateAwaiting, nil)
	return mustAdvance(t, s, no, checkout.StatePaid, func(o *checkout.Order) { o.ProviderTradeNo = "TX" + no })
}

func nos(os []checkout.Order) []string {
	var out []string
	for _, o := range os {
		out = append(out, o.No)
	}
	return out
}

func refund(no, orderNo string, amount checkout.Money, state checkout.RefundState) checkout.Refund {
	return checkout.Refund{No: no, OrderNo: orderNo, Amount: amount, State: state}
}
