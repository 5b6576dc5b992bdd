package checkout

// State is where an order is in its lifecycle. The same words go to the
// store and the logs.
type State string

const (
	StateCreated           State = "created"            // written, provider not yet known to have it
	StateAwaiting          State = "awaiting"           // provider accepted; QR on screen
	StatePaid              State = "paid"               // money arrived
	StatePartiallyRefunded State = "partially_refunded" // some of it went back
	StateRefunded          State = "refunded"           // all of it went back
	StateClosed            State = "closed"             // closed unpaid (timeout, cancel, expiry)
	StateFailed            State = "failed"             // provider refused to create it
	StateDisputed          State = "disputed"           // the provider says paid, but another amount
)

// transitions lists every allowed move. Anything else is refused, so a
// late or duplicate event cannot move an order backwards.
var transitions = map[State][]State{
	StateCreated:  {StateAwaiting, StateFailed, StateClosed, StatePaid, StateDisputed},
	StateAwaiting: {StatePaid, StateClosed, StateDisputed},
	// The provider says the money arrived after all (a late payment).
	StateClosed:            {StatePaid, StateDisputed},
	StatePaid:              {StatePartiallyRefunded, StateRefunded},
	StatePartiallyRefunded: {StatePartiallyRefunded, StateRefunded},
}

// CanMoveTo reports whether an order in s may move to t.
func (s State) CanMoveTo(t State) bool {
	for _, n := range transitions[s] {
		if n == t {
			return true
		}
	}
	return false
}

// Open reports whether the order's outcome is not yet settled: recovery
// queries every open order at start.
func (s State) Open() bool { return s == StateCreated || s == StateAwaiting }

// WasPaid reports whether the order is a sale: money arrived, for the
// amount rung up. A disputed order is not a sale (its money is listed for a
// manager instead).
func (s State) WasPaid() bool {
	return s == StatePaid || s == StatePartiallyRefunded || s == StateRefunded
}

// Known reports whether s is one of the states above.
func (s State) Known() bool {
	_, ok := transitions[s]
	return ok || s == StateRefunded || s == StateFailed || s == StateDisputed
}

// RefundState is where a refund is in its lifecycle:
// requested -> succeeded | failed.
type RefundState string

const (
	RefundRequested RefundState = "requested" // written, outcome not yet known
	RefundSucceeded RefundState = "succeeded"
	RefundFailed    RefundState = "failed"
)
