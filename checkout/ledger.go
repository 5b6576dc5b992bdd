package checkout

import (
	"context"
	"time"
)

// Ledger is where orders and refunds are kept. store implements it on
// bbolt. Each method is one transaction, so a check and the write it guards
// never fall apart.
type Ledger interface {
	// CreateOrder stores a new order. It returns ErrExists if the number is
	// taken.
	CreateOrder(ctx context.Context, o Order) error
	// Order returns an order by number, or ErrNotFound.
	Order(ctx context.Context, no string) (Order, error)
	// Advance moves an order to state `to` in one compare-and-set
	// transaction: it loads the stored order, refuses the move with a
	// *TransitionError unless State.CanMoveTo allows it, applies fn to the
	// stored copy, sets State and UpdatedAt, and saves it.
	Advance(ctx context.Context, no string, to State, fn func(*Order)) (Order, error)
	// Update edits an order's bookkeeping without moving its state (a late
	// check done, a late payment acknowledged), in one transaction: fn gets
	// the stored copy and may refuse with an error, which is returned and
	// writes nothing. State, No, CreatedAt and Amount are kept as stored.
	Update(ctx context.Context, no string, fn func(*Order) error) (Order, error)
	// OpenOrders returns every order in created or awaiting, oldest first.
	OpenOrders(ctx context.Context) ([]Order, error)
	// FollowUps returns every order for which Order.NeedsFollowUp holds,
	// oldest first.
	FollowUps(ctx context.Context) ([]Order, error)
	// OrdersCreated returns the orders created in [from, to), newest first,
	// at most limit of them (limit <= 0: all).
	OrdersCreated(ctx context.Context, from, to time.Time, limit int) ([]Order, error)

	// DayRecords reads, in one transaction, what the figures of [from, to)
	// are computed from (see DayRecords), and the Z closes of day when
	// day is not "" (the shop's in Close, each counter's in
	// CounterCloses): key ranges of the day and the small open indexes,
	// never the whole history.
	DayRecords(ctx context.Context, from, to time.Time, day string) (DayRecords, error)
	// CloseDay stores day's Z close in one write transaction: it reads the
	// records as DayRecords does, has build freeze them (build may refuse
	// with an error, which writes nothing), numbers the close after the
	// last one in the ledger's one series, stamps ClosedAt, and appends
	// its audit entry. The close is the shop's, or the one counter's that
	// DayClose.Counter names; each is made once (a second is refused with
	// ErrDayClosed), and those already made are handed to build in
	// DayRecords.Close and CounterCloses.
	CloseDay(ctx context.Context, from, to time.Time, day string, build func(DayRecords) (DayClose, error)) (DayClose, error)

	// CreateRefund records a refund (requested, or succeeded when the
	// provider already did it) after checking, in the same transaction,
	// that the order was paid and that succeeded and in-flight refunds plus
	// this one do not exceed what was paid (ErrRefundAboveBalance). A
	// succeeded refund updates the order's Refunded and State at once.
	CreateRefund(ctx context.Context, r Refund) (Order, error)
	// SettleRefund moves a requested refund to succeeded or failed and
	// updates its order in the same transaction.
	SettleRefund(ctx context.Context, refundNo string, to RefundState, fn func(*Refund)) (Refund, Order, error)
	// PaidAndRefunded records, in one transaction, that an open or closed order was
	// paid and then refunded in full by the provider (Alipay's cancel of a
	// trade paid at the last moment): the order becomes refunded and the
	// refund r is stored as succeeded.
	PaidAndRefunded(ctx context.Context, no string, paid func(*Order), r Refund) (Order, error)
	// Refunds returns an order's refunds, oldest first.
	Refunds(ctx context.Context, orderNo string) ([]Refund, error)
	// Refund returns a refund by number, or ErrNotFound.
	Refund(ctx context.Context, no string) (Refund, error)
	// OpenRefunds returns every refund still requested, oldest first.
	OpenRefunds(ctx context.Context) ([]Refund, error)
	// UpdateRefund edits a refund's bookkeeping (Sent, Attempts,
	// ProviderSaid) without settling it, in one transaction; fn may refuse
	// with an error, which writes nothing. No, OrderNo, Amount, State and
	// CreatedAt are kept as stored.
	UpdateRefund(ctx context.Context, no string, fn func(*Refund) error) (Refund, error)

	// Append adds an audit entry that records no change of its own (a
	// refusal): changes get theirs in their own transaction.
	Append(ctx context.Context, e AuditEntry) (AuditEntry, error)
	// AuditOf returns an order's audit entries (its refunds' included),
	// oldest first.
	AuditOf(ctx context.Context, orderNo string) ([]AuditEntry, error)
}

// OrderLocker is a Ledger that several processes share (several desks on
// one PostgreSQL ledger): it serialises the calls on one order across
// them, as the engine's own lock does within one process. The engine
// holds the lock across a provider call, so it cannot be a database
// transaction's. LockOrder waits until the lock is held or ctx ends;
// release gives it back (and must be called exactly once).
type OrderLocker interface {
	LockOrder(ctx context.Context, no string) (release func(), err error)
}

// Terminals is a Ledger several desks share that knows which of them are
// alive: each desk's heartbeat, kept by the ledger. LiveTerminals gives
// the terminals whose last heartbeat is at most within old, measured on
// the ledger's clock (so the desks' clocks need not agree).
type Terminals interface {
	LiveTerminals(ctx context.Context, within time.Duration) (map[string]bool, error)
}

// LedgerChange is a change committed to a ledger several desks share, as
// the ledger announces it to the others: the order (and refund) it
// touched and the order's terminal (whoever made the change; a day
// close's, its closer's). Reload says changes may have been missed (the
// announcements' connection dropped and came back): reload everything on
// show.
type LedgerChange struct {
	Order    string
	Refund   string
	Terminal string
	Reload   bool
}

// Watcher is a shared ledger that announces committed changes. Watch
// delivers them until ctx ends (the channel is then closed); a Reload
// comes after every reconnect.
type Watcher interface {
	Watch(ctx context.Context) <-chan LedgerChange
}

// Clock tells the time. main passes the real clock; tests pass a fake so
// time-dependent code runs without sleeping.
type Clock interface {
	Now() time.Time
}

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

func (f ClockFunc) Now() time.Time { return f() }

// SystemClock is the machine's clock.
var SystemClock Clock = ClockFunc(time.Now)
