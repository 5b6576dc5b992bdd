package checkout

import (
	"context"
	"sync"
	"time"
)

// The settling passes ask again about every order and refund a provider
// has not settled. One that fails (the provider is down, answers 5xx,
// times out) is asked again after a wait that doubles with each failure,
// from SettleEvery up to BackoffMax, so that an outage is not hammered
// every pass while new orders are still settled at once; the first answer
// ends it. The schedule lives here, in one place, for the desk and `till
// serve` alike: they only wait for Pass.NextCheck.
const (
	// SettleEvery is the longest wait between two settling passes.
	SettleEvery = 30 * time.Second
	// BackoffMax is the longest wait before an order or refund a provider
	// keeps failing on is asked again.
	BackoffMax = 10 * time.Minute
)

// Attempt is how settling one order or refund has gone so far.
type Attempt struct {
	Fails int       `json:"fails"`          // failed tries in a row
	Since time.Time `json:"since"`          // the first of them
	Last  time.Time `json:"last"`           // the latest
	Next  time.Time `json:"next"`           // when it is asked again
	Err   string    `json:"error,omitzero"` // what the latest said
	err   error
}

// backoff holds the attempts by order or refund number.
type backoff struct {
	mu sync.Mutex
	m  map[string]Attempt
}

// due reports whether no is to be tried at now, and if not, when.
func (b *backoff) due(no string, now time.Time) (bool, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.m[no]
	if !ok || !now.Before(a.Next) {
		return true, time.Time{}
	}
	return false, a.Next
}

// failed records a failed try of no at now and returns when to try again.
func (b *backoff) failed(no string, now time.Time, err error) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]Attempt{}
	}
	a := b.m[no]
	if a.Fails == 0 {
		a.Since = now
	}
	a.Fails++
	wait := SettleEvery
	for i := 1; i < a.Fails && wait < BackoffMax; i++ {
		wait *= 2
	}
	a.Last, a.Next, a.Err, a.err = now, now.Add(min(wait, BackoffMax)), userMessage(err), err
	b.m[no] = a
	return a.Next
}

// last is the latest error on no.
func (b *backoff) last(no string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.m[no].err; err != nil {
		return err
	}
	return ErrBusy
}

// done forgets no: it settled, or a clerk asked for it now.
func (b *backoff) done(no string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, no)
}

// reset forgets every attempt: a manager asked to settle everything now.
func (b *backoff) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	clear(b.m)
}

// Attempts returns how settling is going for each order or refund a
// provider has failed on, by number: the manager's screen shows them
// beside what is unsettled.
func (e *Engine) Attempts() map[string]Attempt {
	e.retry.mu.Lock()
	defer e.retry.mu.Unlock()
	out := make(map[string]Attempt, len(e.retry.m))
	for k, v := range e.retry.m {
		out[k] = v
	}
	return out
}

// RecoverNow is a settling pass that asks about everything unsettled at
// once, whatever the backoff says: a manager's "settle now".
func (e *Engine) RecoverNow(ctx context.Context) Pass {
	e.retry.reset()
	return e.Recover(ctx)
}

// BackoffError stands in a pass's Errors for an order or refund not asked
// about in it because its provider failed on it lately: Err is what the
// last try said, Next when it is asked again.
type BackoffError struct {
	No   string
	Next time.Time
	Err  error
}

func (e *BackoffError) Error() string {
	return e.No + ": asked again at " + e.Next.Format("15:04:05") + " (last: " + e.Err.Error() + ")"
}

func (e *BackoffError) Unwrap() error { return e.Err }

// try runs fn for no unless its backoff says wait; it records the
// outcome and returns fn's error, or a *BackoffError when it waited.
func (e *Engine) try(no string, pass *Pass, fn func() error) error {
	now := e.clock.Now()
	if ok, next := e.retry.due(no, now); !ok {
		pass.next(next)
		return &BackoffError{No: no, Next: next, Err: e.retry.last(no)}
	}
	err := fn()
	if err != nil {
		pass.next(e.retry.failed(no, now, err))
		return err
	}
	e.retry.done(no)
	return nil
}

// NextPassIn is how long to wait after pass, at now, before the next: at
// most SettleEvery, sooner when a late check or a backed-off retry falls
// due, never less than a second.
func NextPassIn(pass Pass, now time.Time) time.Duration {
	wait := SettleEvery
	if !pass.NextCheck.IsZero() {
		wait = min(wait, max(time.Second, pass.NextCheck.Sub(now)))
	}
	return wait
}
