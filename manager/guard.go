package manager

import (
	"context"
	"errors"
	"fmt"
	"time"

	"till/checkout"
)

// Defaults of the lock policy.
const (
	DefaultMaxFailures = 5
	DefaultLockout     = 5 * time.Minute
)

// ErrNoPIN: no manager PIN has been set yet, so nothing can be checked.
var ErrNoPIN = errors.New("manager: no PIN is set")

// ErrPINChanged: the PIN was set or changed by another process while this
// check ran, so its outcome was not recorded; ask for the PIN again.
var ErrPINChanged = errors.New("manager: the PIN was changed meanwhile; try again")

// WrongPINError is a wrong PIN that did not lock: Left more wrong ones
// lock manager actions.
type WrongPINError struct {
	Left int
}

func (e *WrongPINError) Error() string {
	return fmt.Sprintf("manager: wrong PIN, %d tries left", e.Left)
}

// LockedError: too many wrong PINs; every check is refused until Until.
type LockedError struct {
	Until time.Time
}

func (e *LockedError) Error() string {
	return "manager: too many wrong PINs, locked until " + e.Until.Format(time.RFC3339)
}

// Status is what a screen shows about the PIN: whether one is set, the
// run of wrong tries and, while locked, until when.
type Status struct {
	HasPIN      bool
	Failures    int
	LockedUntil time.Time // zero when not locked
}

// Guard checks and sets the manager PIN. It keeps no state of its own:
// everything lives in the ledger, so several Guards (the desk, the CLI)
// on one ledger agree and a restart changes nothing.
type Guard struct {
	store       checkout.PINLedger
	clock       checkout.Clock
	params      Params
	maxFailures int
	lockout     time.Duration
}

// Option changes a Guard's policy.
type Option func(*Guard)

// WithParams sets the argon2id cost of new hashes; tests use a cheap one.
// Hashes already stored keep the parameters they carry.
func WithParams(p Params) Option { return func(g *Guard) { g.params = p } }

// WithMaxFailures sets how many wrong PINs in a row lock; n <= 0 keeps
// the default.
func WithMaxFailures(n int) Option {
	return func(g *Guard) {
		if n > 0 {
			g.maxFailures = n
		}
	}
}

// WithLockout sets how long a lock lasts; d <= 0 keeps the default.
func WithLockout(d time.Duration) Option {
	return func(g *Guard) {
		if d > 0 {
			g.lockout = d
		}
	}
}

// New returns a Guard over store. A nil clock is the system clock.
func New(store checkout.PINLedger, clock checkout.Clock, opts ...Option) *Guard {
	if clock == nil {
		clock = checkout.SystemClock
	}
	g := &Guard{
		store:       store,
		clock:       clock,
		params:      DefaultParams,
		maxFailures: DefaultMaxFailures,
		lockout:     DefaultLockout,
	}
	for _, o := range opts {
		o(g)
	}
	return g
}

// HasPIN reports whether a manager PIN is set; the desk asks for one to be
// set before the first manager action.
func (g *Guard) HasPIN(ctx context.Context) (bool, error) {
	st, err := g.read(ctx)
	if err != nil {
		return false, err
	}
	return st.Hash != "", nil
}

// Status returns the PIN state as of now. A lock that has run out reads as
// no lock and no failures, as the next check will record it.
func (g *Guard) Status(ctx context.Context) (Status, error) {
	st, err := g.read(ctx)
	if err != nil {
		return Status{}, err
	}
	expire(&st, g.clock.Now())
	return Status{HasPIN: st.Hash != "", Failures: st.Failures, LockedUntil: st.LockedUntil}, nil
}

// errUnchanged tells UpdatePIN to write nothing: a right PIN with no
// failures to clear needs no write transaction.
var errUnchanged = errors.New("manager: nothing to record")

// Check verifies pin and records the outcome. It returns nil, ErrNoPIN,
// *WrongPINError, *LockedError (also for the try that locks),
// ErrPINChanged, or a wrapped ledger error; a ledger failure is never
// counted as a wrong PIN.
func (g *Guard) Check(ctx context.Context, pin string) error {
	st, err := g.read(ctx)
	if err != nil {
		return err
	}
	if until, ok := locked(st, g.clock.Now()); ok {
		return &LockedError{Until: until}
	}
	if st.Hash == "" {
		return ErrNoPIN
	}
	// argon2 takes a while and the ledger has one writer: hash outside
	// the transaction, then record the outcome inside one.
	right, err := Verify(pin, st.Hash)
	if err != nil {
		return err
	}
	var after checkout.PINState
	_, err = g.store.UpdatePIN(ctx, func(s *checkout.PINState) (checkout.AuditEntry, error) {
		now := g.clock.Now()
		if until, ok := locked(*s, now); ok {
			return checkout.AuditEntry{}, &LockedError{Until: until} // locked meanwhile: that wins
		}
		if s.Hash != st.Hash {
			return checkout.AuditEntry{}, ErrPINChanged
		}
		expired := expire(s, now)
		if right {
			if s.Failures == 0 && !expired {
				return checkout.AuditEntry{}, errUnchanged
			}
			s.Failures = 0
			after = *s
			return checkout.AuditEntry{}, nil
		}
		s.Failures++
		e := checkout.AuditEntry{
			Kind:   checkout.AuditPINFailed,
			Detail: fmt.Sprintf("%d of %d", s.Failures, g.maxFailures),
		}
		if s.Failures >= g.maxFailures {
			s.LockedUntil = now.Add(g.lockout)
			e = checkout.AuditEntry{
				Kind:   checkout.AuditPINLocked,
				Detail: s.LockedUntil.Format(time.RFC3339),
			}
		}
		after = *s
		return e, nil
	})
	if err != nil {
		return g.mapUpdateErr(err, "record PIN check")
	}
	if right {
		return nil
	}
	if !after.LockedUntil.IsZero() {
		return &LockedError{Until: after.LockedUntil}
	}
	return &WrongPINError{Left: g.maxFailures - after.Failures}
}

// Set sets the manager PIN to pin. When one is set already, old must pass
// Check first, with the same counting and locking; when none is, old is
// ignored. pin must pass ValidatePIN.
func (g *Guard) Set(ctx context.Context, old, pin string) error {
	if err := ValidatePIN(pin); err != nil {
		return err
	}
	st, err := g.read(ctx)
	if err != nil {
		return err
	}
	if st.Hash != "" {
		if err := g.Check(ctx, old); err != nil {
			return err
		}
	}
	h, err := Hash(pin, g.params)
	if err != nil {
		return err
	}
	detail := "set"
	if st.Hash != "" {
		detail = "changed"
	}
	_, err = g.store.UpdatePIN(ctx, func(s *checkout.PINState) (checkout.AuditEntry, error) {
		now := g.clock.Now()
		if until, ok := locked(*s, now); ok {
			return checkout.AuditEntry{}, &LockedError{Until: until}
		}
		if s.Hash != st.Hash {
			return checkout.AuditEntry{}, ErrPINChanged
		}
		*s = checkout.PINState{Hash: h, SetAt: now}
		return checkout.AuditEntry{Kind: checkout.AuditPINSet, Detail: detail}, nil
	})
	if err != nil {
		return g.mapUpdateErr(err, "set PIN")
	}
	return nil
}

func (g *Guard) read(ctx context.Context) (checkout.PINState, error) {
	st, err := g.store.PINState(ctx)
	if err != nil {
		return checkout.PINState{}, fmt.Errorf("manager: read PIN state: %w", err)
	}
	return st, nil
}

// mapUpdateErr passes through the outcomes fn decided and wraps the rest
// as ledger failures.
func (g *Guard) mapUpdateErr(err error, op string) error {
	if errors.Is(err, errUnchanged) {
		return nil
	}
	var le *LockedError
	if errors.As(err, &le) {
		return le
	}
	if errors.Is(err, ErrPINChanged) {
		return ErrPINChanged
	}
	return fmt.Errorf("manager: %s: %w", op, err)
}

// locked reports whether st is locked at now, and until when.
func locked(st checkout.PINState, now time.Time) (time.Time, bool) {
	if now.Before(st.LockedUntil) {
		return st.LockedUntil, true
	}
	return time.Time{}, false
}

// expire clears a lock that has run out, and with it the run of failures
// that caused it: after the lock the clerk gets a fresh set of tries. It
// reports whether it changed st.
func expire(st *checkout.PINState, now time.Time) bool {
	if st.LockedUntil.IsZero() || now.Before(st.LockedUntil) {
		return false
	}
	st.LockedUntil = time.Time{}
	st.Failures = 0
	return true
}
