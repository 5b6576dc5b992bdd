package ledgertest

import (
	"errors"
	"fmt"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Shanghai, on a machine without a zone database

	"till/checkout"
)

// testCreateAndRead: an order reads back as written, every field; a
// second order with the number is refused and changes nothing; zero
// stamps are filled from the clock; an order without a number, an amount
// or a known state is refused; every lookup of a number that is not there
// says ErrNotFound.
func testCreateAndRead(t *testing.T, l checkout.Ledger) {
	ctx := t.Context()
	o := NewOrder("20240310040000000T1", t0, 1230)
	o.Note = "two coffees"
	mustCreate(t, l, o)
	if got := mustOrder(t, l, o.No); !same(got, o) {
		t.Errorf("read back:\n got %+v\nwant %+v", got, o)
	}

	dup := o
	dup.Amount = 1
	if err := l.CreateOrder(ctx, dup); !errors.Is(err, checkout.ErrExists) {
		t.Errorf("duplicate CreateOrder: err = %v, want ErrExists", err)
	}
	if got := mustOrder(t, l, o.No); got.Amount != 1230 {
		t.Errorf("duplicate overwrote the order: %+v", got)
	}

	bare := checkout.Order{No: "B1", Amount: 1, State: checkout.StateCreated}
	w := during(func() { mustCreate(t, l, bare) })
	got := mustOrder(t, l, "B1")
	if !w.holds(got.CreatedAt) || !got.UpdatedAt.Equal(got.CreatedAt) {
		t.Errorf("stamps = %v, %v; want one instant in %v", got.CreatedAt, got.UpdatedAt, w)
	}

	for _, bad := range []checkout.Order{
		{Amount: 1, State: checkout.StateCreated},
		{No: "X", Amount: 0, State: checkout.StateCreated},
		{No: "X", Amount: -1, State: checkout.StateCreated},
		{No: "X", Amount: 1, State: "weird"},
	} {
		if err := l.CreateOrder(ctx, bad); err == nil {
			t.Errorf("CreateOrder(%+v) accepted", bad)
		}
	}
	if _, err := l.Order(ctx, "X"); !errors.Is(err, checkout.ErrNotFound) {
		t.Errorf("a refused order was stored: %v", err)
	}

	notFound := map[string]func() error{
		"Order":   func() error { _, err := l.Order(ctx, "nope"); return err },
		"Advance": func() error { _, err := l.Advance(ctx, "nope", checkout.StatePaid, nil); return err },
		"Update": func() error {
			_, err := l.Update(ctx, "nope", func(*checkout.Order) error { return nil })
			return err
		},
		"Refunds": func() error { _, err := l.Refunds(ctx, "nope"); return err },
		"Refund":  func() error { _, err := l.Refund(ctx, "nope"); return err },
		"CreateRefund": func() error {
			_, err := l.CreateRefund(ctx, refund("R", "nope", 1, checkout.RefundRequested))
			return err
		},
		"SettleRefund": func() error { _, _, err := l.SettleRefund(ctx, "nope", checkout.RefundFailed, nil); return err },
		"UpdateRefund": func() error {
			_, err := l.UpdateRefund(ctx, "nope", func(*checkout.Refund) error { return nil })
			return err
		},
		"PaidAndRefunded": func() error {
			_, err := l.PaidAndRefunded(ctx, "nope", nil, checkout.Refund{No: "R"})
			return err
		},
	}
	for name, call := range notFound {
		if err := call(); !errors.Is(err, checkout.ErrNotFound) {
			t.Errorf("%s(nope): err = %v, want ErrNotFound", name, err)
		}
	}
}

// testEveryFieldKept: an order and a refund with every field set, times
// in another zone than UTC and with nanoseconds, text that is not ASCII
// or holds a NUL (a provider's message may), read back the same.
func testEveryFieldKept(t *testing.T, l checkout.Ledger) {
	ctx := t.Context()
	sh := time.FixedZone("CST", 8*3600)
	at := time.Date(2024, 3, 10, 12, 0, 0, 123456789, sh)
	o := checkout.Order{
		No: "FULL1", Terminal: "T9", Method: checkout.MethodAlipay, Amount: 123456789, Note: "两杯咖啡 ☕",
		State: checkout.StateCreated, Operator: "lin", Way: checkout.WayCode, CodeTail: "1234",
		CodeURL: "https://qr.alipay.com/x?a=1&b=2", ProviderTradeNo: "2024031022001", Reason: "bad\x00byte \"quoted\" \\",
		ProviderSaid: "WAIT_BUYER_PAY", ProviderSaidAt: at.Add(time.Second),
		CreatedAt: at, UpdatedAt: at.Add(time.Nanosecond), ExpiresAt: at.Add(3 * time.Minute),
		AcceptedAt: at.Add(2 * time.Second), RecheckAt: at.Add(time.Hour),
	}
	mustCreate(t, l, o)
	if got := mustOrder(t, l, o.No); !same(got, o) {
		t.Errorf("order read back:\n got %+v\nwant %+v", got, o)
	}
	paid := mustAdvance(t, l, o.No, checkout.StatePaid, func(x *checkout.Order) {
		x.PaidAt, x.Late, x.LateSeenAt, x.ClosedAt = at.Add(time.Minute), true, at.Add(2*time.Minute), at.Add(30*time.Second)
	})
	if got := mustOrder(t, l, o.No); !same(got, paid) {
		t.Errorf("paid order read back:\n got %+v\nwant %+v", got, paid)
	}
	r := checkout.Refund{
		No: "FULLR1", OrderNo: o.No, Method: checkout.MethodAlipay, Amount: 1000, State: checkout.RefundRequested,
		Reason: "退货", Terminal: "T9", Operator: "manager", Sent: true, Attempts: 2, ProviderSaid: "PROCESSING\x00",
		ProviderSaidAt: at.Add(time.Hour), CreatedAt: at.Add(time.Hour),
	}
	if _, err := l.CreateRefund(ctx, r); err != nil {
		t.Fatal(err)
	}
	stored, err := l.Refund(ctx, r.No)
	if err != nil {
		t.Fatal(err)
	}
	r.UpdatedAt = stored.UpdatedAt // stamped by the ledger
	if !same(stored, r) {
		t.Errorf("refund read back:\n got %+v\nwant %+v", stored, r)
	}
}

// testAdvanceTransitions: every move the state machine allows is made,
// with fn's edits but never to No, CreatedAt or Amount, and UpdatedAt
// stamped; every other move is a *TransitionError carrying the stored
// order, which it leaves as it was.
func testAdvanceTransitions(t *testing.T, l checkout.Ledger) {
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
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s_to_%s", tt.from, tt.to), func(t *testing.T) {
			no := fmt.Sprintf("T%02d", i)
			o := NewOrder(no, t0, 1000)
			o.State = tt.from
			mustCreate(t, l, o)
			before := mustOrder(t, l, no)

			var got checkout.Order
			var err error
			w := during(func() {
				got, err = l.Advance(t.Context(), no, tt.to, func(o *checkout.Order) {
					o.Reason = "moved"
					o.No = "hijack"
					o.CreatedAt = time.Time{}
					o.Amount = 1
				})
			})
			stored := mustOrder(t, l, no)
			if !tt.ok {
				var te *checkout.TransitionError
				if !errors.As(err, &te) || !errors.Is(err, checkout.ErrTransition) {
					t.Fatalf("err = %v, want *TransitionError", err)
				}
				if te.From != tt.from || te.To != tt.to || !same(te.Current, before) {
					t.Errorf("TransitionError = %+v, want from %s to %s with the stored order", te, tt.from, tt.to)
				}
				if !same(stored, before) {
					t.Errorf("refused move changed the order:\n got %+v\nwant %+v", stored, before)
				}
				return
			}
			if err != nil {
				t.Fatalf("Advance: %v", err)
			}
			if !same(got, stored) {
				t.Errorf("returned %+v, stored %+v", got, stored)
			}
			if got.State != tt.to || got.Reason != "moved" || !w.holds(got.UpdatedAt) {
				t.Errorf("after move: state %s reason %q updated %v (want in %v)", got.State, got.Reason, got.UpdatedAt, w)
			}
			if got.No != no || !got.CreatedAt.Equal(t0) || got.Amount != 1000 {
				t.Errorf("immutable fields changed: %+v", got)
			}
		})
	}
	if _, err := l.Order(t.Context(), "hijack"); !errors.Is(err, checkout.ErrNotFound) {
		t.Errorf("fn renamed an order: err = %v", err)
	}
}

// testPaidAtStamped: a move to paid without a PaidAt is stamped with the
// clock (so the sale is in its day); one with a PaidAt keeps it.
func testPaidAtStamped(t *testing.T, l checkout.Ledger) {
	mustCreate(t, l, NewOrder("S1", t0, 100))
	mustCreate(t, l, NewOrder("S2", t0, 100))
	var o checkout.Order
	w := during(func() { o = mustAdvance(t, l, "S1", checkout.StatePaid, nil) })
	if !w.holds(o.PaidAt) || !o.PaidAt.Equal(o.UpdatedAt) {
		t.Errorf("PaidAt = %v, UpdatedAt = %v; want the clock's, in %v", o.PaidAt, o.UpdatedAt, w)
	}
	at := t0.Add(time.Minute)
	if o := mustAdvance(t, l, "S2", checkout.StatePaid, func(o *checkout.Order) { o.PaidAt = at }); !o.PaidAt.Equal(at) {
		t.Errorf("PaidAt = %v, want the provider's %v", o.PaidAt, at)
	}
}

// testDuplicatePaidLeavesOrderUnchanged: a second "paid" (a duplicate
// notification) and a late "closed" are refused with the order as
// stored, and the sale is in its day once.
func testDuplicatePaidLeavesOrderUnchanged(t *testing.T, l checkout.Ledger) {
	ctx := t.Context()
	mustCreate(t, l, NewOrder("P1", t0, 500))
	mustAdvance(t, l, "P1", checkout.StateAwaiting, nil)
	paidAt := t0.Add(30 * time.Second)
	mustAdvance(t, l, "P1", checkout.StatePaid, func(o *checkout.Order) {
		o.ProviderTradeNo = "first"
		o.PaidAt = paidAt
	})
	before := mustOrder(t, l, "P1")

	_, err := l.Advance(ctx, "P1", checkout.StatePaid, func(o *checkout.Order) {
		o.ProviderTradeNo = "second"
		o.PaidAt = t0.Add(time.Hour)
	})
	var te *checkout.TransitionError
	if !errors.As(err, &te) || !same(te.Current, before) {
		t.Fatalf("duplicate paid: err = %v, want TransitionError carrying %+v", err, before)
	}
	if got := mustOrder(t, l, "P1"); !same(got, before) {
		t.Errorf("duplicate paid changed the order:\n got %+v\nwant %+v", got, before)
	}
	if _, err := l.Advance(ctx, "P1", checkout.StateClosed, nil); !errors.As(err, &te) {
		t.Errorf("late close: err = %v", err)
	}
	rec, err := l.DayRecords(ctx, t0, t0.Add(2*time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Paid) != 1 || !same(rec.Paid[0], before) {
		t.Errorf("paid in the day = %+v, want just P1", rec.Paid)
	}
}

// testOpenOrders: OpenOrders lists the orders in created or awaiting,
// oldest first (not by number), and follows every move; a refused move
// leaves the list as it was.
func testOpenOrders(t *testing.T, l checkout.Ledger) {
	ctx := t.Context()
	for i, no := range []string{"D", "C", "B", "A"} {
		mustCreate(t, l, NewOrder(no, t0.Add(time.Duration(i)*time.Minute), 100))
	}
	check := func(want string) {
		t.Helper()
		open, err := l.OpenOrders(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := nos(open); got != want {
			t.Errorf("OpenOrders = %s, want %s", got, want)
		}
		for _, o := range open {
			if !o.State.Open() {
				t.Errorf("OpenOrders returned %s in %s", o.No, o.State)
			}
		}
	}
	check("D,C,B,A")
	mustAdvance(t, l, "D", checkout.StateAwaiting, nil)
	mustAdvance(t, l, "C", checkout.StateFailed, nil)
	check("D,B,A")
	mustAdvance(t, l, "D", checkout.StatePaid, nil)
	mustAdvance(t, l, "B", checkout.StateAwaiting, nil)
	mustAdvance(t, l, "B", checkout.StateClosed, nil)
	check("A")
	if _, err := l.Advance(ctx, "A", checkout.StateRefunded, nil); err == nil {
		t.Fatal("created -> refunded allowed")
	}
	check("A")
	mustAdvance(t, l, "A", checkout.StateClosed, nil)
	check("")
}

// testFollowUps: an order is listed with a late check or an
// unacknowledged late payment and leaves the list when neither is left,
// whichever write (Advance or Update) changes the fields; oldest first.
func testFollowUps(t *testing.T, l checkout.Ledger) {
	ctx := t.Context()
	check := func(want string) {
		t.Helper()
		f, err := l.FollowUps(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := nos(f); got != want {
			t.Errorf("FollowUps = %s, want %s", got, want)
		}
	}
	for i, no := range []string{"C", "B", "A"} {
		mustCreate(t, l, NewOrder(no, t0.Add(time.Duration(i)*time.Minute), 100))
		mustAdvance(t, l, no, checkout.StateAwaiting, nil)
	}
	check("")
	mustAdvance(t, l, "A", checkout.StateClosed, func(o *checkout.Order) { o.RecheckAt = t0.Add(5 * time.Minute) })
	mustAdvance(t, l, "B", checkout.StateClosed, nil)
	mustAdvance(t, l, "C", checkout.StateClosed, func(o *checkout.Order) { o.RecheckAt = t0.Add(5 * time.Minute) })
	check("C,A")
	// The late check finds A paid: still listed until a clerk has seen it.
	mustAdvance(t, l, "A", checkout.StatePaid, func(o *checkout.Order) { o.RecheckAt, o.Late = time.Time{}, true })
	check("C,A")
	if _, err := l.Update(ctx, "A", func(o *checkout.Order) error { o.LateSeenAt = t0.Add(time.Hour); return nil }); err != nil {
		t.Fatal(err)
	}
	check("C")
	if got := mustOrder(t, l, "A"); got.State != checkout.StatePaid || !got.Late || got.LateSeenAt.IsZero() {
		t.Fatalf("after the acknowledgement: %+v", got)
	}
	// C's late check finds it unpaid: Update clears the mark.
	if _, err := l.Update(ctx, "C", func(o *checkout.Order) error { o.RecheckAt = time.Time{}; return nil }); err != nil {
		t.Fatal(err)
	}
	check("")
}

// testUpdateKeepsStateAndRefusals: Update cannot move an order's state or
// its keyed fields (State, No, CreatedAt, Amount, PaidAt), stamps
// UpdatedAt, and an error from fn is returned as is and writes nothing.
func testUpdateKeepsStateAndRefusals(t *testing.T, l checkout.Ledger) {
	ctx := t.Context()
	paidOrder(t, l, "P", 900)
	before := mustOrder(t, l, "P")
	refusal := errors.New("no")
	if _, err := l.Update(ctx, "P", func(o *checkout.Order) error { o.Note = "changed"; return refusal }); !errors.Is(err, refusal) {
		t.Fatalf("refused update: %v", err)
	}
	if got := mustOrder(t, l, "P"); !same(got, before) {
		t.Fatalf("a refused update wrote:\n got %+v\nwant %+v", got, before)
	}
	var got checkout.Order
	var err error
	w := during(func() {
		got, err = l.Update(ctx, "P", func(o *checkout.Order) error {
			o.State, o.Amount, o.No, o.PaidAt, o.CreatedAt = checkout.StateClosed, 1, "X", time.Time{}, t0.Add(time.Hour)
			o.Note = "kept"
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != checkout.StatePaid || got.Amount != 900 || got.No != "P" || !got.PaidAt.Equal(before.PaidAt) ||
		!got.CreatedAt.Equal(t0) || got.Note != "kept" || !w.holds(got.UpdatedAt) {
		t.Fatalf("Update: %+v", got)
	}
	if stored := mustOrder(t, l, "P"); !same(stored, got) {
		t.Fatalf("stored %+v, returned %+v", stored, got)
	}
	if _, err := l.Order(ctx, "X"); !errors.Is(err, checkout.ErrNotFound) {
		t.Fatalf("Update renamed the order: %v", err)
	}
}

// testOrdersCreatedShanghaiDay: OrdersCreated is [from, to) by creation
// instant to the nanosecond, newest first, with its limit; a day in
// Shanghai is not a UTC day.
func testOrdersCreatedShanghaiDay(t *testing.T, l checkout.Ledger) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	from, to := checkout.DayBounds(time.Date(2024, 3, 10, 12, 0, 0, 0, loc), loc)
	// 10 March in Shanghai is [9 March 16:00 UTC, 10 March 16:00 UTC).
	at := map[string]time.Time{
		"Z-before": time.Date(2024, 3, 10, 23, 59, 59, 999e6, loc).AddDate(0, 0, -1), // 9th, last ms
		"Y-first":  time.Date(2024, 3, 10, 0, 0, 0, 0, loc),
		"X-noon":   time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC).In(loc), // 20:00 local
		"W-morn":   time.Date(2024, 3, 10, 2, 0, 0, 0, time.UTC),          // 10:00 local
		"V-last":   time.Date(2024, 3, 10, 23, 59, 59, 999999999, loc),    // the day's last nanosecond
		"U-next":   time.Date(2024, 3, 11, 0, 0, 0, 0, loc),
	}
	for no, tm := range at {
		mustCreate(t, l, NewOrder(no, tm, 100))
	}
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
		{"to the nanosecond", at["V-last"], to, 0, "V-last"},
		{"up to the nanosecond", from, at["V-last"], 0, "X-noon,W-morn,Y-first"},
	}
	for _, c := range cases {
		got, err := l.OrdersCreated(ctx, c.from, c.to, c.limit)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if g := nos(got); g != c.want {
			t.Errorf("%s: got %s, want %s", c.name, g, c.want)
		}
	}
	// Two orders of one instant: by number, newest (highest) first.
	mustCreate(t, l, NewOrder("W-morn2", at["W-morn"], 100))
	got, err := l.OrdersCreated(ctx, at["W-morn"], at["X-noon"], 0)
	if err != nil || nos(got) != "W-morn2,W-morn" {
		t.Errorf("one instant: %s %v, want W-morn2,W-morn", nos(got), err)
	}
}
