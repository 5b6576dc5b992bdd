package manager

import "time"

// DefaultIdle is how long manager mode stays open without a key press, so
// a desk left in manager mode does not stay open for the next customer.
const DefaultIdle = 2 * time.Minute

// Session is manager mode on the desk, closing itself after a spell with
// no manager key pressed. It is a plain value: the screen passes the time
// of each tick or key in, so tests need no sleeping.
type Session struct {
	idle  time.Duration
	until time.Time // zero when closed
}

// NewSession returns a closed session with the given idle timeout;
// idle <= 0 means DefaultIdle.
func NewSession(idle time.Duration) Session {
	if idle <= 0 {
		idle = DefaultIdle
	}
	return Session{idle: idle}
}

// Idle is the idle timeout; a zero Session has DefaultIdle.
func (s Session) Idle() time.Duration {
	if s.idle <= 0 {
		return DefaultIdle
	}
	return s.idle
}

// Open starts manager mode at now, after a right PIN.
func (s *Session) Open(now time.Time) { s.until = now.Add(s.Idle()) }

// Touch extends an active session by the idle timeout from now. A session
// that has run out stays closed: the PIN is asked again.
func (s *Session) Touch(now time.Time) {
	if !s.Active(now) {
		s.until = time.Time{}
		return
	}
	s.until = now.Add(s.Idle())
}

// Close ends manager mode at once (the manager pressed Esc).
func (s *Session) Close() { s.until = time.Time{} }

// Active reports whether manager mode is open at now.
func (s Session) Active(now time.Time) bool { return now.Before(s.until) }

// Left is how long manager mode stays open from now without a key press,
// for a countdown; 0 when it is closed.
func (s Session) Left(now time.Time) time.Duration {
	if !s.Active(now) {
		return 0
	}
	return s.until.Sub(now)
}
