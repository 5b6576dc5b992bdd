package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata"

	"till/checkout"
)

func TestCreateAndRead(t *testing.T) {
	s, clk := mustOpen(t)
	ctx := t.Context()
	o := newOrder("20240310040000000T1", t0, 1230)
	o.Note = "two coffees"
	mustCreate(t, s, o)
	if got := mustOrder(t, s, o.No); got != o {
		t.Errorf("read back:\n got %+v\nwant %+v", got, o)
	}

	dup := o
	dup.Amount = 1
	if err := s.CreateOrder(ctx, dup); !errors.Is(err, checkout.ErrExists) {
		t.Errorf("duplicate CreateOrder: err = %v, want ErrExists", err)
	}
	if got := mustOrder(t, s, o.No); got.Amount != 1230 {
		t.Errorf("duplicate overwrote the order: %+v", got)
	}

	// Zero stamps are filled from the clock.
	clk.Add(time.Hour)
	bare := checkout.Order{No: "B1", Amount: 1, State: checkout.StateCreated}
	mustCreate(t, s, bare)
	if got := mustOrder(t, s, "B1"); !got.CreatedAt.Equal(clk.Now()) || !got.UpdatedAt.Equal(clk.Now()) {
		t.Errorf("stamps = %v, %v; want %v", got.CreatedAt, got.UpdatedAt, clk.Now())
	}

	for _, bad := range []checkout.Order{
		{Amount: 1, State: checkout.StateCreated},
		{No: "X", Amount: 0, State: checkout.StateCreated},
		{No: "X", Amount: 1, State: "weird"},
	} {
		if err := s.CreateOrder(ctx, bad); err == nil {
			t.Errorf("CreateOrder(%+v) accepted", bad)
		}
	}

	if _, err := s.Order(ctx, "nope"); !errors.Is(err, checkout.ErrNotFound) {
		t.Errorf("Order(nope): err = %v, want ErrNotFound", err)
	}
	if _, err := s.Advance(ctx, "nope", checkout.StatePaid, nil); !errors.Is(err, checkout.ErrNotFound) {
		t.Errorf("Advance(nope): err = %v, want ErrNotFound", err)
	}
	if _, err := s.Refunds(ctx, "nope"); !errors.Is(err, checkout.ErrNotFound) {
		t.Errorf("Refunds(nope): err = %v, want ErrNotFound", err)
	}
}

func TestAdvanceTransitions(t *testing.T) {
	const (
		created  = checkout.StateCreated
		awaiting = checkout.StateAwaiting
		paid     = checkout.StatePaid
		partial  = checkout.StatePartiallyRefunded
		refunded = checkout.StateRefunded
		closed   = checkout.StateClosed
		failed   = checkout.StateFailed
		disputed = checkout.StateDisputed
	)
	tests := []struct {
		from, to checkout.State
		ok       bool
	}{
		// Every move design.md allows.
		{created, awaiting, true},
		{created, failed, true},
		{created, closed, true},
		{created, paid, true},
		{awaiting, paid, true},
		{awaiting, closed, true},
		{closed, paid, true},
		{paid, partial, true},
		{paid, refunded, true},
		{partial, partial, true},
		{partial, refunded, true},
		{created, disputed, true},
		{awaiting, disputed, true},
		{closed, disputed, true},
		// Backwards, sideways and duplicate moves.
		{awaiting, created, false},
		{awaiting, awaiting, false},
		{paid, awaiting, false},
		{paid, closed, false},
		{paid, paid, false},
		{closed, awaiting, false},
		{closed, closed, false},
		{failed, paid, false},
		{refunded, paid, false},
		{refunded, partial, false},
		{partial, paid, false},
		{disputed, paid, false},
		{disputed, refunded, false},
		{disputed, closed, false},
		{paid, disputed, false},
		{disputed, disputed, false},
	}
	s, clk := mustOpen(t)
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s_to_%s", tt.from, tt.to), func(t *testing.T) {
			no := fmt.Sprintf("T%02d", i)
			o := newOrder(no, t0, 1000)
			o.State = tt.from
			mustCreate(t, s, o)
			before := mustOrder(t, s, no)
			clk.Add(time.Second)

			got, err := s.Advance(t.Context(), no, tt.to, func(o *checkout.Order) {
				o.Reason = "moved"
				o.No = "hijack"
				o.CreatedAt = time.Time{}
				o.Amount = 1
			})
			stored := mustOrder(t, s, no)
			if !tt.ok {
				var te *checkout.TransitionError
				if !errors.As(err, &te) || !errors.Is(err, checkout.ErrTransition) {
					t.Fatalf("err = %v, want *TransitionError", err)
				}
				if te.From != tt.from || te.To != tt.to || te.Current != before {
					t.Errorf("TransitionError = %+v, want from %s to %s with the stored order", te, tt.from, tt.to)
				}
				if stored != before {
					t.Errorf("refused move changed the order:\n got %+v\nwant %+v", stored, before)
				}
				return
			}
			if err != nil {
				t.Fatalf("Advance: %v", err)
			}
			if got != stored {
				t.Errorf("returned %+v, stored %+v", got, stored)
			}
			if got.State != tt.to || got.Reason != "moved" || !got.UpdatedAt.Equal(clk.Now()) {
				t.Errorf("after move: state %s reason %q updated %v", got.State, got.Reason, got.UpdatedAt)
			}
			if got.No != no || !got.CreatedAt.Equal(t0) || got.Amount != 1000 {
				t.Errorf("immutable fields changed: %+v", got)
			}
		})
	}
	if _, err := s.Order(t.Context(), "hijack"); !errors.Is(err, checkout.ErrNotFound) {
		t.Errorf("fn renamed an order: err = %v", err)
	}
}

func TestDuplicatePaidLeavesOrderUnchanged(t *testing.T) {
	s, clk := mustOpen(t)
	ctx := t.Context()
	mustCreate(t, s, newOrder("P1", t0, 500))
	mustAdvance(t, s, "P1", checkout.StateAwaiting, nil)
	paidAt := t0.Add(30 * time.Second)
	mustAdvance(t, s, "P1", checkout.StatePaid, func(o *checkout.Order) {
		o.ProviderTradeNo = "first"
		o.PaidAt = paidAt
	})
	before := mustOrder(t, s, "P1")

	clk.Add(time.Minute)
	_, err := s.Advance(ctx, "P1", checkout.StatePaid, func(o *checkout.Order) {
		o.ProviderTradeNo = "second"
		o.PaidAt = clk.Now()
	})
	var te *checkout.TransitionError
	if !errors.As(err, &te) || te.Current != before {
		t.Fatalf("duplicate paid: err = %v, want TransitionError carrying %+v", err, before)
	}
	if got := mustOrder(t, s, "P1"); got != before {
		t.Errorf("duplicate paid changed the order:\n got %+v\nwant %+v", got, before)
	}
	// A late "closed" cannot undo it either.
	if _, err := s.Advance(ctx, "P1", checkout.StateClosed, nil); !errors.As(err, &te) {
		t.Errorf("late close: err = %v", err)
	}
	paid, err := s.OrdersPaid(ctx, t0, t0.Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(paid) != 1 || paid[0] != before {
		t.Errorf("paid index = %+v, want just P1", paid)
	}
}

func TestOpenIndex(t *testing.T) {
	s, _ := mustOpen(t)
	ctx := t.Context()
	// Numbers deliberately not in creation order: OpenOrders sorts by time.
	for i, no := range []string{"D", "C", "B", "A"} {
		mustCreate(t, s, newOrder(no, t0.Add(time.Duration(i)*time.Minute), 100))
	}
	check := func(want string) {
		t.Helper()
		open, err := s.OpenOrders(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(nos(open), ","); got != want {
			t.Errorf("OpenOrders = %s, want %s", got, want)
		}
		for _, o := range open {
			if !o.State.Open() {
				t.Errorf("OpenOrders returned %s in %s", o.No, o.State)
			}
		}
	}
	check("D,C,B,A")
	mustAdvance(t, s, "D", checkout.StateAwaiting, nil)
	mustAdvance(t, s, "C", checkout.StateFailed, nil)
	check("D,B,A")
	mustAdvance(t, s, "D", checkout.StatePaid, nil)
	mustAdvance(t, s, "B", checkout.StateAwaiting, nil)
	mustAdvance(t, s, "B", checkout.StateClosed, nil)
	check("A")
	// A refused move does not touch the index.
	if _, err := s.Advance(ctx, "A", checkout.StateRefunded, nil); err == nil {
		t.Fatal("created -> refunded allowed")
	}
	check("A")
	mustAdvance(t, s, "A", checkout.StateClosed, nil)
	check("")
}

// TestFollowUpsIndex: an order enters the follow-ups index with a late
// check or an unacknowledged late payment and leaves it when neither is
// left, whichever write (Advance or Update) changes the fields.
func TestFollowUpsIndex(t *testing.T) {
	s, _ := mustOpen(t)
	ctx := t.Context()
	check := func(want string) {
		t.Helper()
		f, err := s.FollowUps(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(nos(f), ","); got != want {
			t.Errorf("FollowUps = %s, want %s", got, want)
		}
	}
	for i, no := range []string{"B", "A"} {
		mustCreate(t, s, newOrder(no, t0.Add(time.Duration(i)*time.Minute), 100))
		mustAdvance(t, s, no, checkout.StateAwaiting, nil)
	}
	check("")
	mustAdvance(t, s, "A", checkout.StateClosed, func(o *checkout.Order) { o.RecheckAt = t0.Add(5 * time.Minute) })
	mustAdvance(t, s, "B", checkout.StateClosed, nil)
	check("A")
	// The late check finds it paid: still listed until a clerk has seen it.
	mustAdvance(t, s, "A", checkout.StatePaid, func(o *checkout.Order) { o.RecheckAt, o.Late = time.Time{}, true })
	check("A")
	if _, err := s.Update(ctx, "A", func(o *checkout.Order) error { o.LateSeenAt = t0.Add(time.Hour); return nil }); err != nil {
		t.Fatal(err)
	}
	check("")
	if got := mustOrder(t, s, "A"); got.State != checkout.StatePaid || !got.Late || got.LateSeenAt.IsZero() {
		t.Fatalf("after the acknowledgement: %+v", got)
	}
}

// TestUpdateKeepsStateAndRefusals: Update cannot move an order's state or
// its keyed fields, and an error from fn writes nothing.
func TestUpdateKeepsStateAndRefusals(t *testing.T) {
	s, clk := mustOpen(t)
	ctx := t.Context()
	paidOrder(t, s, "P", 900)
	before := mustOrder(t, s, "P")
	clk.Add(time.Minute)
	refusal := errors.New("no")
	if _, err := s.Update(ctx, "P", func(o *checkout.Order) error { o.Note = "changed"; return refusal }); !errors.Is(err, refusal) {
		t.Fatalf("refused update: %v", err)
	}
	if got := mustOrder(t, s, "P"); got != before {
		t.Fatalf("a refused update wrote:\n got %+v\nwant %+v", got, before)
	}
	got, err := s.Update(ctx, "P", func(o *checkout.Order) error {
		o.State, o.Amount, o.No, o.PaidAt = checkout.StateClosed, 1, "X", time.Time{}
		o.Note = "kept"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != checkout.StatePaid || got.Amount != 900 || got.No != "P" || !got.PaidAt.Equal(before.PaidAt) || got.Note != "kept" || !got.UpdatedAt.Equal(clk.Now()) {
		t.Fatalf("Update: %+v", got)
	}
	if stored := mustOrder(t, s, "P"); stored != got {
		t.Fatalf("stored %+v, returned %+v", stored, got)
	}
	if _, err := s.Update(ctx, "nope", func(*checkout.Order) error { return nil }); !errors.Is(err, checkout.ErrNotFound) {
		t.Fatalf("Update(nope): %v", err)
	}
}

func TestOrdersCreatedShanghaiDay(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := mustOpen(t)
	ctx := t.Context()
	day := func(y int, m time.Month, d int) (time.Time, time.Time) {
		return checkout.DayBounds(time.Date(y, m, d, 12, 0, 0, 0, loc), loc)
	}
	// 10 March in Shanghai is [9 March 16:00 UTC, 10 March 16:00 UTC).
	at := map[string]time.Time{
		"Z-before": time.Date(2024, 3, 10, 23, 59, 59, 999e6, loc).AddDate(0, 0, -1), // 9th, last ms
		"Y-first":  time.Date(2024, 3, 10, 0, 0, 0, 0, loc),
		"X-noon":   time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC).In(loc), // 20:00 local
		"W-morn":   time.Date(2024, 3, 10, 2, 0, 0, 0, time.UTC),          // 10:00 local
		"V-last":   time.Date(2024, 3, 10, 23, 59, 59, 999999999, loc),
		"U-next":   time.Date(2024, 3, 11, 0, 0, 0, 0, loc),
	}
	for no, tm := range at {
		mustCreate(t, s, newOrder(no, tm, 100))
	}

	from, to := day(2024, 3, 10)
	cases := []struct {
		name     string
		from, to time.Time
		limit    int
		want     string
	}{
		{"whole day", from, to, 0, "V-last,X-noon,W-morn,Y-first"},
		{"limit", from, to, 2, "V-last,X-noon"},
		{"limit above count", from, to, 10, "V-last,X-noon,W-morn,Y-first"},
		{"day before", from.AddDate(0, 0, -1), from, 0, "Z-before"},
		{"day after", to, to.AddDate(0, 0, 1), 0, "U-next"},
		{"empty range", from, from, 0, ""},
		{"reversed range", to, from, 0, ""},
		{"two days", from.AddDate(0, 0, -1), to, -1, "V-last,X-noon,W-morn,Y-first,Z-before"},
	}
	for _, c := range cases {
		got, err := s.OrdersCreated(ctx, c.from, c.to, c.limit)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if g := strings.Join(nos(got), ","); g != c.want {
			t.Errorf("%s: got %s, want %s", c.name, g, c.want)
		}
	}
}

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
