package store

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata"

	"till/checkout"
)

func TestOrdersPaidByPaidDay(t *testing.T) {
	s, clk := mustOpen(t)
	ctx := t.Context()
	mustCreate(t, s, newOrder("late", t0, 100)) // created on day 1
	mustCreate(t, s, newOrder("same", t0.Add(time.Hour), 100))
	mustCreate(t, s, newOrder("never", t0, 100))
	mustAdvance(t, s, "same", checkout.StatePaid, func(o *checkout.Order) { o.PaidAt = t0.Add(2 * time.Hour) })
	mustAdvance(t, s, "late", checkout.StateClosed, nil)
	clk.Add(24 * time.Hour)
	// Paid with no PaidAt from the provider: stamped from the clock.
	mustAdvance(t, s, "late", checkout.StatePaid, nil)

	day1 := t0.Truncate(24 * time.Hour)
	get := func(from time.Time) string {
		got, err := s.OrdersPaid(ctx, from, from.Add(24*time.Hour), 0)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(nos(got), ",")
	}
	if got := get(day1); got != "same" {
		t.Errorf("paid on day 1 = %s, want same", got)
	}
	if got := get(day1.Add(24 * time.Hour)); got != "late" {
		t.Errorf("paid on day 2 = %s, want late", got)
	}
	if o := mustOrder(t, s, "late"); !o.PaidAt.Equal(clk.Now()) {
		t.Errorf("PaidAt = %v, want the clock's %v", o.PaidAt, clk.Now())
	}
}
