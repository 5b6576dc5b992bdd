// Package ledger holds what every checkout.Ledger does inside its
// transactions, whatever keeps the records: the compare-and-set of
// Advance, the fields Update and UpdateRefund keep, the refund ceiling and
// the disputed-order rule, what a settled refund does to its order, the
// audit entry each change gets and how an entry joins the hash chain, the
// freeze and numbering of a Z close, and the walk that checks the chain.
// store (bbolt) and pgledger (PostgreSQL) read, lock and write; the rules
// are here, once, so the two ledgers cannot drift apart.
//
// The changes (ops.go: AdvanceOrder, CreateRefund, SettleRefund, …) are
// the bodies of the Ledger methods, run over the records of one write
// transaction (Records), which each ledger implements on its own. The
// rest are pure: they take the records as the transaction read them and
// its time (read once per transaction), and return what to write or why
// not. An error means the caller writes nothing.
package ledger

import (
	"errors"
	"fmt"
	"time"

	"till/checkout"
)

// ErrWrongMode says the ledger was written in another mode (sandbox or
// live) than the desk now runs in.
var ErrWrongMode = errors.New("ledger mode mismatch")

// WrongModeError names the ledger (a file, or a database URL without its
// password) and both modes; errors.Is matches ErrWrongMode.
type WrongModeError struct {
	Path       string
	Held, Want string // "sandbox" or "live"
}

func (e *WrongModeError) Error() string {
	return fmt.Sprintf("%s holds %s sales and till is configured for %s: use another ledger", e.Path, e.Held, e.Want)
}

func (e *WrongModeError) Unwrap() error { return ErrWrongMode }

// Bind is Ledger.Bind's decision: held is the mode the ledger is stamped
// with ("" for none yet), want the desk's. It reports whether want is to
// be stamped now, or refuses a ledger stamped with the other mode. Sandbox
// sales are not takings, and a sandbox desk must never settle a real order
// by asking an emulator that has never heard of it.
func Bind(path, held, want string) (stamp bool, err error) {
	switch held {
	case want:
		return false, nil
	case "":
		return true, nil
	}
	return false, &WrongModeError{Path: path, Held: held, Want: want}
}

// CheckNewOrder refuses an order CreateOrder cannot store: no number, no
// amount, an unknown state.
func CheckNewOrder(o checkout.Order) error {
	if o.No == "" {
		return errors.New("an order needs a number")
	}
	if o.Amount <= 0 {
		return &checkout.AmountError{Input: o.Amount.String(), Code: checkout.AmountZero, Reason: "the amount must be at least 0.01"}
	}
	if !o.State.Known() {
		return fmt.Errorf("order %s: unknown state %q", o.No, o.State)
	}
	return nil
}

// NewOrder is o as CreateOrder stores it: a zero CreatedAt or UpdatedAt is
// stamped now, since the created index needs one.
func NewOrder(o checkout.Order, now time.Time) checkout.Order {
	if o.CreatedAt.IsZero() {
		o.CreatedAt = now
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = now
	}
	return o
}

// advance is Ledger.Advance on the stored order cur: a move State.CanMoveTo
// refuses (a duplicate or late event) is a *checkout.TransitionError
// carrying cur. fn edits a copy; No, CreatedAt and Amount are restored
// afterwards because the indexes and the refund ceiling depend on them. A
// move to paid without a PaidAt is stamped now, so the sale still shows in
// the paid index.
func advance(cur checkout.Order, to checkout.State, fn func(*checkout.Order), now time.Time) (checkout.Order, error) {
	if !cur.State.CanMoveTo(to) {
		return checkout.Order{}, &checkout.TransitionError{From: cur.State, To: to, Current: cur}
	}
	next := cur // Order holds no slices or maps: this is a deep copy
	if fn != nil {
		fn(&next)
	}
	KeepImmutable(&next, cur)
	next.State = to
	next.UpdatedAt = now
	if to == checkout.StatePaid && next.PaidAt.IsZero() {
		next.PaidAt = now
	}
	return next, nil
}

// update is Ledger.Update on the stored order cur: fn edits a copy and may
// refuse with an error, returned as is; State, PaidAt and the fields the
// indexes and the refund ceiling depend on are restored after fn.
func update(cur checkout.Order, fn func(*checkout.Order) error, now time.Time) (checkout.Order, error) {
	next := cur
	if err := fn(&next); err != nil {
		return checkout.Order{}, err
	}
	KeepImmutable(&next, cur)
	next.State = cur.State
	next.PaidAt = cur.PaidAt
	next.UpdatedAt = now
	return next, nil
}

// KeepImmutable undoes a callback's edits to the fields the indexes and
// the refund arithmetic are keyed on.
func KeepImmutable(next *checkout.Order, cur checkout.Order) {
	next.No = cur.No
	next.CreatedAt = cur.CreatedAt
	next.Amount = cur.Amount
}

// CheckNewRefund refuses a refund CreateRefund cannot store: no number,
// no amount, a state other than requested or succeeded.
func CheckNewRefund(r checkout.Refund) error {
	if r.No == "" {
		return errors.New("a refund needs a number")
	}
	if r.Amount <= 0 {
		return &checkout.AmountError{Input: r.Amount.String(), Code: checkout.AmountZero, Reason: "a refund must be at least ¥0.01"}
	}
	if r.State != checkout.RefundRequested && r.State != checkout.RefundSucceeded {
		return fmt.Errorf("refund %s: a new refund is requested or succeeded, not %q", r.No, r.State)
	}
	return nil
}

// newRefund is the ceiling CreateRefund checks and r as it stores it. o is
// r's order as stored, held what its requested and succeeded refunds
// already take (an in-flight refund may still succeed, so it counts). It
// refuses an order that was not paid (checkout.ErrTransition), and a
// refund above what is left or, on a disputed order, one that is not all
// of what is left (checkout.ErrRefundAboveBalance). The refund gets its
// order's method when it names none, and its stamps.
func newRefund(o checkout.Order, held checkout.Money, r checkout.Refund, now time.Time) (checkout.Refund, error) {
	if !o.State.WasPaid() && o.State != checkout.StateDisputed {
		return r, fmt.Errorf("order %s is %s: only a paid order can be refunded: %w", o.No, o.State, checkout.ErrTransition)
	}
	paid := checkout.Refundable(o)
	if left := paid - held; r.Amount > left {
		return r, fmt.Errorf("order %s: %s is left to refund of %s paid, not %s: %w",
			o.No, left.Yuan(), paid.Yuan(), r.Amount.Yuan(), checkout.ErrRefundAboveBalance)
	}
	if o.State == checkout.StateDisputed && r.Amount != paid-held {
		// The provider's amount is not the sale's: it all goes back,
		// in one refund, and the manager takes it from there.
		return r, fmt.Errorf("order %s is disputed: only a refund of all %s the provider took can be made, not %s: %w",
			o.No, (paid - held).Yuan(), r.Amount.Yuan(), checkout.ErrRefundAboveBalance)
	}
	if r.Method == "" {
		r.Method = o.Method
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	r.UpdatedAt = now
	if r.State == checkout.RefundSucceeded && r.SucceededAt.IsZero() {
		r.SucceededAt = now
	}
	return r, nil
}

// Held is what refunds take out of their order's amount: the requested
// and succeeded ones.
func Held(refunds []checkout.Refund) checkout.Money {
	var sum checkout.Money
	for _, r := range refunds {
		if r.State == checkout.RefundRequested || r.State == checkout.RefundSucceeded {
			sum += r.Amount
		}
	}
	return sum
}

// AddRefunded is o with a succeeded refund of amount added: Refunded
// grows and the order moves to partially_refunded or refunded. A disputed
// order stays disputed (its money was never a sale) with the refund in
// Refunded.
func AddRefunded(o checkout.Order, amount checkout.Money, now time.Time) (checkout.Order, error) {
	next := o
	next.Refunded += amount
	if next.Refunded > checkout.Refundable(o) { // the ceiling check makes this unreachable
		return o, fmt.Errorf("order %s: refunds of %s exceed %s paid: %w", o.No, next.Refunded.Yuan(), checkout.Refundable(o).Yuan(), checkout.ErrRefundAboveBalance)
	}
	if o.State == checkout.StateDisputed {
		next.UpdatedAt = now
		return next, nil
	}
	to := checkout.StatePartiallyRefunded
	if next.Refunded == next.Amount {
		to = checkout.StateRefunded
	}
	if !o.State.CanMoveTo(to) {
		return o, &checkout.TransitionError{From: o.State, To: to, Current: o}
	}
	next.State = to
	next.UpdatedAt = now
	return next, nil
}

// CheckSettle refuses a settlement to anything but succeeded or failed.
func CheckSettle(refundNo string, to checkout.RefundState) error {
	if to != checkout.RefundSucceeded && to != checkout.RefundFailed {
		return fmt.Errorf("refund %s: cannot settle as %q: %w", refundNo, to, checkout.ErrTransition)
	}
	return nil
}

// settle is SettleRefund on the stored refund r: moved is false when r is
// in `to` already (a duplicate answer: nothing to write, no error); a
// refund in the other final state is refused with checkout.ErrTransition.
// fn edits a copy; the fields its index and the ceiling depend on are
// restored, and the settling time is stamped now when fn left it zero.
func settle(r checkout.Refund, to checkout.RefundState, fn func(*checkout.Refund), now time.Time) (next checkout.Refund, moved bool, err error) {
	if r.State == to {
		return r, false, nil
	}
	if r.State != checkout.RefundRequested {
		return r, false, fmt.Errorf("refund %s is already %s and cannot become %s: %w", r.No, r.State, to, checkout.ErrTransition)
	}
	next = r
	if fn != nil {
		fn(&next)
	}
	next.No, next.OrderNo, next.Amount, next.CreatedAt = r.No, r.OrderNo, r.Amount, r.CreatedAt
	next.State = to
	next.UpdatedAt = now
	if to == checkout.RefundSucceeded && next.SucceededAt.IsZero() {
		next.SucceededAt = now
	}
	if to == checkout.RefundFailed && next.FailedAt.IsZero() {
		next.FailedAt = now
	}
	return next, true, nil
}

// updateRefund is Ledger.UpdateRefund on the stored refund cur: fn may
// refuse with an error, returned as is; the fields its identity, its
// ceiling and its state rest on are kept as stored.
func updateRefund(cur checkout.Refund, fn func(*checkout.Refund) error, now time.Time) (checkout.Refund, error) {
	next := cur
	if err := fn(&next); err != nil {
		return checkout.Refund{}, err
	}
	next.No, next.OrderNo, next.Amount, next.State, next.CreatedAt = cur.No, cur.OrderNo, cur.Amount, cur.State, cur.CreatedAt
	next.UpdatedAt = now
	return next, nil
}

// paidAndRefunded is Ledger.PaidAndRefunded on the stored order cur:
// hasRefunds says whether any refund, in any state, is recorded for it.
// created, awaiting and closed may become paid; a paid order with no
// refunds yet is the same sale seen paid a moment earlier (a poll that
// raced the cancel), whose money went back all the same, and keeps its
// paid time. Anything else is a *checkout.TransitionError carrying cur.
// It returns the order, refunded in full, and r, succeeded for the
// order's amount; r's number is still to be checked.
func paidAndRefunded(cur checkout.Order, hasRefunds bool, paid func(*checkout.Order), r checkout.Refund, now time.Time) (checkout.Order, checkout.Refund, error) {
	if r.No == "" {
		return cur, r, errors.New("a refund needs a number")
	}
	fromPaid := cur.State == checkout.StatePaid && cur.Refunded == 0 && !hasRefunds
	if !cur.State.CanMoveTo(checkout.StatePaid) && !fromPaid {
		return cur, r, &checkout.TransitionError{From: cur.State, To: checkout.StateRefunded, Current: cur}
	}
	if r.OrderNo == "" {
		r.OrderNo = cur.No
	}
	if r.OrderNo != cur.No {
		return cur, r, fmt.Errorf("refund %s belongs to order %s, not %s", r.No, r.OrderNo, cur.No)
	}
	if r.Amount != 0 && r.Amount != cur.Amount {
		return cur, r, fmt.Errorf("refund %s: the provider refunded the whole %s, not %s", r.No, cur.Amount.Yuan(), r.Amount.Yuan())
	}
	next := cur
	if paid != nil && !fromPaid {
		paid(&next)
	}
	KeepImmutable(&next, cur)
	if next.PaidAt.IsZero() {
		next.PaidAt = now
	}
	next.UpdatedAt = now
	// paid -> refunded is an allowed move, so going straight to the end
	// state is the same as the two steps.
	next.State = checkout.StateRefunded
	next.Refunded = cur.Amount

	r.Amount = cur.Amount
	r.State = checkout.RefundSucceeded
	if r.Method == "" {
		r.Method = cur.Method
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	r.UpdatedAt = now
	if r.SucceededAt.IsZero() {
		r.SucceededAt = now
	}
	return next, r, nil
}
