package checkout

import (
	"errors"
	"fmt"
)

// Sentinels callers branch on.
var (
	ErrNotFound           = errors.New("not found")
	ErrExists             = errors.New("already exists")
	ErrTransition         = errors.New("state transition not allowed")
	ErrRefundAboveBalance = errors.New("refund above what is left to refund")
	ErrNoProvider         = errors.New("payment method not configured")
	// ErrBusy: another call on the same order was still under way when
	// the caller's deadline came; nothing was done (an unknown outcome).
	ErrBusy = errors.New("another call on this order is still under way")
	// ErrNotLate: an acknowledgement named an order that was not paid
	// after its sale was closed; nothing was recorded.
	ErrNotLate = errors.New("not paid late")
)

// ErrorKind classifies a provider's definite answers. KindUnknown is the
// zero value on purpose: an unclassified error is an unknown outcome.
type ErrorKind int

const (
	KindUnknown      ErrorKind = iota // timeout, reset, 5xx, bad signature: settle by query
	KindRefused                       // the provider definitely refused (bad parameter, no permission, ...)
	KindNotFound                      // the provider does not know the order or refund
	KindAlreadyPaid                   // the trade is paid (WeChat ORDERPAID)
	KindClosed                        // the trade is closed
	KindInsufficient                  // not enough balance (refund above what is left, merchant funds)
	KindNotSupported                  // the adapter cannot do this yet
	KindAuth                          // signature or credentials refused: a configuration fault
)

func (k ErrorKind) String() string {
	switch k {
	case KindRefused:
		return "refused"
	case KindNotFound:
		return "not found"
	case KindAlreadyPaid:
		return "already paid"
	case KindClosed:
		return "closed"
	case KindInsufficient:
		return "insufficient"
	case KindNotSupported:
		return "not supported"
	case KindAuth:
		return "credentials refused"
	}
	return "outcome unknown"
}

// ProviderError is an error from a provider call, classified at the
// adapter's boundary. Message is safe to show a clerk; Err keeps the detail
// for the log.
type ProviderError struct {
	Op      string // "create", "query", "close", "refund", "query refund"
	Kind    ErrorKind
	Code    string // the provider's code, e.g. "ORDERPAID", "ACQ.TRADE_NOT_EXIST"
	Message string
	Err     error
}

func (e *ProviderError) Error() string {
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if e.Code != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Op, msg, e.Code)
	}
	return fmt.Sprintf("%s: %s", e.Op, msg)
}

func (e *ProviderError) Unwrap() error { return e.Err }

// KindOf returns the kind of a provider error; any error that is not a
// *ProviderError is KindUnknown.
func KindOf(err error) ErrorKind {
	var pe *ProviderError
	if errors.As(err, &pe) {
		return pe.Kind
	}
	return KindUnknown
}

// IsDefinite reports whether err is a definite answer from the provider.
// A nil error is definite; a timeout, reset or 5xx is not.
func IsDefinite(err error) bool {
	return err == nil || KindOf(err) != KindUnknown
}

// IsUnknown reports whether err leaves the outcome of a call unknown.
func IsUnknown(err error) bool { return !IsDefinite(err) }

// TransitionError says an order could not move because it is in another
// state already; Current is the order as stored.
type TransitionError struct {
	From, To State
	Current  Order
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("order %s cannot move from %s to %s", e.Current.No, e.From, e.To)
}
func (e *TransitionError) Unwrap() error { return ErrTransition }

// SaveError says the provider answered but the ledger could not record
// what it said: the customer may have paid while the books do not show
// it yet. The order stays as stored; the caller asks again (the same
// query and the same write) until the write lands.
type SaveError struct {
	No     string
	Method Method
	To     State // what the provider's answer makes the order
	Err    error
}

func (e *SaveError) Error() string {
	return fmt.Sprintf("order %s is %s at %s but the ledger could not record it: %v", e.No, e.To, e.Method.Label(), e.Err)
}

func (e *SaveError) Unwrap() error { return e.Err }

// LedgerError says the ledger could not be read or written before any
// provider call, so nothing at the provider changed because of it.
type LedgerError struct {
	Op  string // "reading order …", "recording the sale"
	Err error
}

func (e *LedgerError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *LedgerError) Unwrap() error { return e.Err }
