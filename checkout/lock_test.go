package checkout

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestOrderLocksArePruned: an order's lock lives while someone holds or
// waits for it, so a desk that runs for months does not keep one per sale.
func TestOrderLocksArePruned(t *testing.T) {
	e := &Engine{locks: map[string]*orderLock{}}
	ctx := context.Background()
	release, _ := e.lock(ctx, "A")
	var wg sync.WaitGroup
	got := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		r, _ := e.lock(ctx, "A") // waits for the first holder
		close(got)
		r()
	}()
	for {
		e.locksMu.Lock()
		refs := e.locks["A"].refs
		e.locksMu.Unlock()
		if refs == 2 {
			break
		}
	}
	select {
	case <-got:
		t.Fatal("two holders of one order's lock")
	default:
	}
	release()
	wg.Wait()
	r, _ := e.lock(ctx, "B")
	r()
	// A waiter that gives up leaves nothing behind either.
	hold, _ := e.lock(ctx, "C")
	cut, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := e.lock(cut, "C"); !errors.Is(err, ErrBusy) {
		t.Fatalf("a waiter past its deadline: %v", err)
	}
	hold()
	if n := len(e.locks); n != 0 {
		t.Fatalf("%d locks left after every holder let go", n)
	}
}
