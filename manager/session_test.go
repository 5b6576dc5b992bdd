package manager

import (
	"testing"
	"time"
)

func TestSessionIdleExpiry(t *testing.T) {
	t0 := newClock().Now()
	s := NewSession(time.Minute)
	if s.Active(t0) {
		t.Fatal("a new session is active before Open")
	}
	s.Open(t0)
	if !s.Active(t0.Add(59*time.Second)) || s.Left(t0.Add(20*time.Second)) != 40*time.Second {
		t.Fatalf("after Open: active %v, left %v", s.Active(t0.Add(59*time.Second)), s.Left(t0.Add(20*time.Second)))
	}
	if s.Active(t0.Add(time.Minute)) || s.Left(t0.Add(time.Minute)) != 0 {
		t.Fatal("still active at the idle timeout")
	}
}

func TestSessionTouchExtends(t *testing.T) {
	t0 := newClock().Now()
	s := NewSession(time.Minute)
	s.Open(t0)
	s.Touch(t0.Add(50 * time.Second))
	if !s.Active(t0.Add(100*time.Second)) || s.Left(t0.Add(100*time.Second)) != 10*time.Second {
		t.Fatalf("Touch did not extend: left %v", s.Left(t0.Add(100*time.Second)))
	}
	// A key press after the timeout does not reopen manager mode.
	s.Touch(t0.Add(3 * time.Minute))
	if s.Active(t0.Add(3 * time.Minute)) {
		t.Fatal("Touch revived an expired session")
	}
}

func TestSessionClose(t *testing.T) {
	t0 := newClock().Now()
	s := NewSession(0)
	if s.Idle() != DefaultIdle {
		t.Fatalf("idle %v, want default %v", s.Idle(), DefaultIdle)
	}
	s.Open(t0)
	if s.Left(t0) != DefaultIdle {
		t.Fatalf("left %v, want %v", s.Left(t0), DefaultIdle)
	}
	s.Close()
	if s.Active(t0) || s.Left(t0) != 0 {
		t.Fatal("active after Close")
	}
	var zero Session // usable without NewSession
	zero.Open(t0)
	if !zero.Active(t0.Add(DefaultIdle - time.Second)) {
		t.Fatal("zero Session did not open for DefaultIdle")
	}
}
