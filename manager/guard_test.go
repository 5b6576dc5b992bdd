package manager

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"till/checkout"
)

func TestSetFirstPIN(t *testing.T) {
	l, c := &fakeLedger{}, newClock()
	g := New(l, c, WithParams(cheap))
	if has, err := g.HasPIN(t.Context()); err != nil || has {
		t.Fatalf("HasPIN before Set = %v, %v", has, err)
	}
	if err := g.Check(t.Context(), goodPIN); !errors.Is(err, ErrNoPIN) {
		t.Fatalf("Check with no PIN = %v, want ErrNoPIN", err)
	}
	if err := g.Set(t.Context(), "ignored", goodPIN); err != nil {
		t.Fatalf("first Set: %v", err)
	}
	if has, err := g.HasPIN(t.Context()); err != nil || !has {
		t.Fatalf("HasPIN after Set = %v, %v", has, err)
	}
	st := l.state()
	if !st.SetAt.Equal(c.Now()) || st.Hash == "" || st.Hash == goodPIN {
		t.Fatalf("stored %+v", st)
	}
	if len(l.audit) != 1 || l.audit[0].Kind != checkout.AuditPINSet || l.audit[0].Detail != "set" {
		t.Fatalf("audit %+v, want one pin.set", l.audit)
	}
	if err := g.Check(t.Context(), goodPIN); err != nil {
		t.Fatalf("Check right PIN: %v", err)
	}
}

func TestWrongPINCountsDown(t *testing.T) {
	g, l, _ := setup(t)
	for want := 4; want >= 1; want-- {
		var w *WrongPINError
		if err := g.Check(t.Context(), "0912"); !errors.As(err, &w) || w.Left != want {
			t.Fatalf("wrong PIN = %v, want %d left", err, want)
		}
	}
	st, err := g.Status(t.Context())
	if err != nil || st.Failures != 4 || !st.LockedUntil.IsZero() {
		t.Fatalf("Status = %+v, %v; want 4 failures, no lock", st, err)
	}
	var details []string
	for _, e := range l.audit[1:] {
		if e.Kind != checkout.AuditPINFailed {
			t.Fatalf("audit kind %q, want pin.failed", e.Kind)
		}
		details = append(details, e.Detail)
	}
	if want := []string{"1 of 5", "2 of 5", "3 of 5", "4 of 5"}; !slices.Equal(details, want) {
		t.Fatalf("details %q, want %q", details, want)
	}
}

// lockOut makes five wrong tries and checks that the fifth locks.
func lockOut(t *testing.T, g *Guard, l *fakeLedger, c *fakeClock) time.Time {
	t.Helper()
	for range 4 {
		g.Check(t.Context(), "0912")
	}
	var le *LockedError
	if err := g.Check(t.Context(), "0912"); !errors.As(err, &le) {
		t.Fatalf("fifth wrong PIN = %v, want *LockedError", err)
	}
	if want := c.Now().Add(5 * time.Minute); !le.Until.Equal(want) {
		t.Fatalf("locked until %v, want %v", le.Until, want)
	}
	last := l.audit[len(l.audit)-1]
	if last.Kind != checkout.AuditPINLocked || last.Detail != le.Until.Format(time.RFC3339) {
		t.Fatalf("last audit %+v, want pin.locked with the until time", last)
	}
	return le.Until
}

func TestFiveWrongLockFiveMinutes(t *testing.T) {
	g, l, c := setup(t)
	until := lockOut(t, g, l, c)
	if got := l.kinds(); !slices.Equal(got, []checkout.AuditKind{
		checkout.AuditPINSet, checkout.AuditPINFailed, checkout.AuditPINFailed,
		checkout.AuditPINFailed, checkout.AuditPINFailed, checkout.AuditPINLocked,
	}) {
		t.Fatalf("audit kinds %q", got)
	}
	st, _ := g.Status(t.Context())
	if !st.LockedUntil.Equal(until) || st.Failures != 5 {
		t.Fatalf("Status = %+v", st)
	}

	// During the lock even the right PIN is refused, and nothing counts.
	c.Advance(5*time.Minute - time.Second)
	before, audits := l.state(), len(l.audit)
	for _, pin := range []string{goodPIN, "0912"} {
		var le *LockedError
		if err := g.Check(t.Context(), pin); !errors.As(err, &le) || !le.Until.Equal(until) {
			t.Fatalf("Check(%q) while locked = %v, want *LockedError", pin, err)
		}
	}
	if l.state() != before || len(l.audit) != audits {
		t.Fatalf("a check during the lock wrote: %+v, %d audit entries", l.state(), len(l.audit))
	}
}

func TestLockDoesNotVerify(t *testing.T) {
	g, l, c := setup(t)
	lockOut(t, g, l, c)
	// If Check hashed during the lock, this record would give ErrBadHash.
	l.st.Hash = "damaged"
	var le *LockedError
	if err := g.Check(t.Context(), goodPIN); !errors.As(err, &le) {
		t.Fatalf("Check while locked = %v, want *LockedError before any hashing", err)
	}
}

func TestLockSurvivesRestart(t *testing.T) {
	g, l, c := setup(t)
	until := lockOut(t, g, l, c)
	c.Advance(time.Minute)

	g2 := New(l, c, WithParams(cheap)) // the program restarted
	var le *LockedError
	if err := g2.Check(t.Context(), goodPIN); !errors.As(err, &le) || !le.Until.Equal(until) {
		t.Fatalf("after restart Check = %v, want locked until %v", err, until)
	}
	if st, _ := g2.Status(t.Context()); !st.LockedUntil.Equal(until) {
		t.Fatalf("after restart Status = %+v", st)
	}
}

func TestLockEnds(t *testing.T) {
	g, l, c := setup(t)
	lockOut(t, g, l, c)
	c.Advance(5 * time.Minute)

	st, _ := g.Status(t.Context())
	if !st.LockedUntil.IsZero() || st.Failures != 0 || !st.HasPIN {
		t.Fatalf("Status after the lock = %+v, want unlocked", st)
	}
	if err := g.Check(t.Context(), goodPIN); err != nil {
		t.Fatalf("right PIN after the lock: %v", err)
	}
	if s := l.state(); s.Failures != 0 || !s.LockedUntil.IsZero() {
		t.Fatalf("stored after right PIN = %+v, want count reset", s)
	}
	var w *WrongPINError
	if err := g.Check(t.Context(), "0912"); !errors.As(err, &w) || w.Left != 4 {
		t.Fatalf("wrong PIN after reset = %v, want 4 left", err)
	}
}

func TestWrongAfterLockStartsAfresh(t *testing.T) {
	g, l, c := setup(t)
	lockOut(t, g, l, c)
	c.Advance(6 * time.Minute)
	var w *WrongPINError
	if err := g.Check(t.Context(), "0912"); !errors.As(err, &w) || w.Left != 4 {
		t.Fatalf("first wrong PIN after the lock = %v, want 4 left", err)
	}
}

func TestRightPINResetsCount(t *testing.T) {
	g, l, _ := setup(t)
	for range 3 {
		g.Check(t.Context(), "0912")
	}
	audits := len(l.audit)
	if err := g.Check(t.Context(), goodPIN); err != nil {
		t.Fatal(err)
	}
	if l.state().Failures != 0 || len(l.audit) != audits {
		t.Fatalf("after right PIN: %+v, %d audit entries (want reset, none added)", l.state(), len(l.audit)-audits)
	}
}

func TestLedgerFailureIsNotAWrongPIN(t *testing.T) {
	g, l, _ := setup(t)
	disk := errors.New("disk full")
	l.failUpdate = disk
	for _, pin := range []string{goodPIN, "0912"} {
		err := g.Check(t.Context(), pin)
		var w *WrongPINError
		if !errors.Is(err, disk) || errors.As(err, &w) {
			t.Fatalf("Check(%q) with a failing ledger = %v, want the ledger error", pin, err)
		}
	}
	l.failUpdate = nil
	if l.state().Failures != 0 {
		t.Fatalf("failures %d counted through a ledger failure", l.state().Failures)
	}

	l.failRead = disk
	if err := g.Check(t.Context(), goodPIN); !errors.Is(err, disk) {
		t.Fatalf("Check with a failing read = %v", err)
	}
	if _, err := g.Status(t.Context()); !errors.Is(err, disk) {
		t.Fatalf("Status with a failing read = %v", err)
	}
}

func TestDamagedHashIsNotAWrongPIN(t *testing.T) {
	g, l, _ := setup(t)
	l.st.Hash = "$argon2id$v=19$m=4194304,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	if err := g.Check(t.Context(), goodPIN); !errors.Is(err, ErrBadHash) {
		t.Fatalf("Check with a damaged hash = %v, want ErrBadHash", err)
	}
	if l.state().Failures != 0 {
		t.Fatal("a damaged hash counted as a wrong PIN")
	}
}

func TestLockSetMeanwhileWins(t *testing.T) {
	g, l, c := setup(t)
	until := c.Now().Add(3 * time.Minute)
	l.meanwhile = func(s *checkout.PINState) { s.Failures, s.LockedUntil = 5, until }
	audits := len(l.audit)
	var le *LockedError
	if err := g.Check(t.Context(), goodPIN); !errors.As(err, &le) || !le.Until.Equal(until) {
		t.Fatalf("Check = %v, want the lock another process set", err)
	}
	if s := l.state(); s.Failures != 5 || len(l.audit) != audits {
		t.Fatalf("the refused check wrote: %+v", s)
	}
}

func TestPINChangedMeanwhile(t *testing.T) {
	g, l, _ := setup(t)
	other, _ := Hash("739155", cheap)
	l.meanwhile = func(s *checkout.PINState) { s.Hash = other }
	if err := g.Check(t.Context(), "0912"); !errors.Is(err, ErrPINChanged) {
		t.Fatalf("Check = %v, want ErrPINChanged", err)
	}
	if l.state().Failures != 0 {
		t.Fatal("a try against a replaced PIN was counted")
	}
}

func TestSetRequiresOldPIN(t *testing.T) {
	g, l, c := setup(t)
	var w *WrongPINError
	if err := g.Set(t.Context(), "0912", "739155"); !errors.As(err, &w) || w.Left != 4 {
		t.Fatalf("Set with a wrong old PIN = %v, want *WrongPINError", err)
	}
	if err := g.Check(t.Context(), "739155"); err == nil {
		t.Fatal("the new PIN was stored without the old one")
	}
	c.Advance(time.Hour)
	if err := g.Set(t.Context(), goodPIN, "739155"); err != nil {
		t.Fatalf("Set with the right old PIN: %v", err)
	}
	st := l.state()
	if st.Failures != 0 || !st.SetAt.Equal(c.Now()) {
		t.Fatalf("stored %+v, want failures reset and SetAt now", st)
	}
	last := l.audit[len(l.audit)-1]
	if last.Kind != checkout.AuditPINSet || last.Detail != "changed" {
		t.Fatalf("last audit %+v, want pin.set changed", last)
	}
	if err := g.Check(t.Context(), "739155"); err != nil {
		t.Fatalf("new PIN: %v", err)
	}
	if err := g.Check(t.Context(), goodPIN); !errors.As(err, &w) {
		t.Fatalf("old PIN after change = %v, want wrong", err)
	}
}

func TestSetRefusesWeakPIN(t *testing.T) {
	l := &fakeLedger{}
	g := New(l, newClock(), WithParams(cheap))
	var pe *PINError
	if err := g.Set(t.Context(), "", "1234"); !errors.As(err, &pe) || pe.Code != PINTooSimple {
		t.Fatalf("Set 1234 = %v, want PINTooSimple", err)
	}
	if l.state().Hash != "" || len(l.audit) != 0 {
		t.Fatal("a refused PIN was stored")
	}
}

func TestSetWhileLocked(t *testing.T) {
	g, l, c := setup(t)
	lockOut(t, g, l, c)
	var le *LockedError
	if err := g.Set(t.Context(), goodPIN, "739155"); !errors.As(err, &le) {
		t.Fatalf("Set while locked = %v, want *LockedError", err)
	}
}

func TestPolicyOptions(t *testing.T) {
	l, c := &fakeLedger{}, newClock()
	g := New(l, c, WithParams(cheap), WithMaxFailures(3), WithLockout(time.Minute))
	if err := g.Set(t.Context(), "", goodPIN); err != nil {
		t.Fatal(err)
	}
	var results []string
	for range 3 {
		results = append(results, fmt.Sprint(g.Check(t.Context(), "0912")))
	}
	want := []string{
		(&WrongPINError{Left: 2}).Error(),
		(&WrongPINError{Left: 1}).Error(),
		(&LockedError{Until: c.Now().Add(time.Minute)}).Error(),
	}
	if !slices.Equal(results, want) {
		t.Fatalf("results %q, want %q", results, want)
	}
	c.Advance(time.Minute)
	if err := g.Check(t.Context(), goodPIN); err != nil {
		t.Fatalf("after a one-minute lock: %v", err)
	}
}
