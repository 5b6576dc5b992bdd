package checkout

import (
	"sync"
	"testing"
)

// TestOrderLocksArePruned: an order's lock lives while someone holds or
// waits for it, so a desk that runs for months does not keep one per sale.
func TestOrderLocksArePruned(t *testing.T) {
	e := &Engine{locks: map[string]*orderLock{}}
	release := e.lock("A")
	var wg sync.WaitGroup
	got := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := e.lock("A") // waits for the first holder
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
	e.lock("B")()
	if n := len(e.locks); n != 0 {
		t.Fatalf("%d locks left after every holder let go", n)
	}
}
