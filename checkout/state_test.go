package checkout

import "testing"

func TestStateMovesOnlyForward(t *testing.T) {
	allowed := []struct{ from, to State }{
		{StateCreated, StateAwaiting},
		{StateCreated, StateFailed},
		{StateCreated, StateClosed},
		{StateCreated, StatePaid},
		{StateAwaiting, StatePaid},
		{StateAwaiting, StateClosed},
		{StateClosed, StatePaid},
		{StatePaid, StatePartiallyRefunded},
		{StatePaid, StateRefunded},
		{StatePartiallyRefunded, StatePartiallyRefunded},
		{StatePartiallyRefunded, StateRefunded},
	}
	refused := []struct{ from, to State }{
		{StateAwaiting, StateCreated},
		{StatePaid, StateAwaiting},
		{StatePaid, StateClosed},
		{StatePaid, StatePaid},
		{StateClosed, StateAwaiting},
		{StateClosed, StateClosed},
		{StateRefunded, StatePaid},
		{StateRefunded, StatePartiallyRefunded},
		{StateFailed, StatePaid},
		{StateFailed, StateAwaiting},
		{StateAwaiting, StateRefunded},
	}
	for _, c := range allowed {
		if !c.from.CanMoveTo(c.to) {
			t.Errorf("%s -> %s refused, want allowed", c.from, c.to)
		}
	}
	for _, c := range refused {
		if c.from.CanMoveTo(c.to) {
			t.Errorf("%s -> %s allowed, want refused", c.from, c.to)
		}
	}
}

func TestNumbersAreTimeOrderedAndValid(t *testing.T) {
	now := mustTime("2026-11-23T10:00:00Z")
	c := &stepClock{t: now}
	n := &Numbers{Terminal: "T01", Clock: c}
	prev := ""
	seen := map[string]bool{}
	for i := 0; i < 3000; i++ {
		if i%7 == 0 {
			c.t = c.t.Add(1e6) // 1 ms
		}
		no := n.Order()
		if len(no) < 6 || len(no) > 32 {
			t.Fatalf("%q: length %d outside 6..32", no, len(no))
		}
		for _, r := range no {
			if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
				t.Fatalf("%q has %q", no, r)
			}
		}
		if seen[no] {
			t.Fatalf("duplicate %q", no)
		}
		seen[no] = true
		if no[:17] < prev {
			t.Fatalf("%q sorts before %q", no, prev)
		}
		prev = no[:17]
	}
	if r := n.Refund(); len(r) > 32 || r[17:20] != "T01" || r[20] != 'R' {
		t.Fatalf("refund number %q", r)
	}
}
