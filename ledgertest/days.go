package ledgertest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"till/checkout"
)

// testDayRecordsByPaidAndSettledTime: a sale created at 23:59:59 and paid
// after midnight is in the next day's records, not its creation day's; a
// refund asked for on one day and succeeded on the next is in the next,
// with its order; a failed one is on the day it failed.
func testDayRecordsByPaidAndSettledTime(t *testing.T, l checkout.Ledger) {
	ctx := t.Context()
	midnight := time.Date(2024, 3, 11, 0, 0, 0, 0, time.UTC)
	o := NewOrder("LATE", midnight.Add(-time.Second), 990)
	mustCreate(t, l, o)
	mustAdvance(t, l, o.No, checkout.StatePaid, func(x *checkout.Order) { x.PaidAt = midnight.Add(2 * time.Second) })
	r := checkout.Refund{No: "LATER1", OrderNo: o.No, Method: o.Method, Amount: 100, State: checkout.RefundRequested, CreatedAt: midnight.Add(time.Hour)}
	mustRefund(t, l, r)
	if _, _, err := l.SettleRefund(ctx, r.No, checkout.RefundSucceeded, func(x *checkout.Refund) { x.SucceededAt = midnight.Add(25 * time.Hour) }); err != nil {
		t.Fatal(err)
	}
	f := checkout.Refund{No: "LATER2", OrderNo: o.No, Method: o.Method, Amount: 50, State: checkout.RefundRequested, CreatedAt: midnight.Add(time.Hour)}
	mustRefund(t, l, f)
	if _, _, err := l.SettleRefund(ctx, f.No, checkout.RefundFailed, func(x *checkout.Refund) { x.FailedAt = midnight.Add(3 * time.Hour) }); err != nil {
		t.Fatal(err)
	}
	day := func(from time.Time) checkout.DayRecords {
		t.Helper()
		rec, err := l.DayRecords(ctx, from, from.AddDate(0, 0, 1), "")
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	if rec := day(midnight.AddDate(0, 0, -1)); len(rec.Paid) != 0 || len(rec.Settled) != 0 {
		t.Fatalf("the creation day holds %d paid, %d settled", len(rec.Paid), len(rec.Settled))
	}
	rec := day(midnight)
	if nos(rec.Paid) != "LATE" || refundNos(rec.Settled) != "LATER2" || rec.Orders["LATE"].No != "LATE" {
		t.Fatalf("the paid day: paid %s, settled %s, orders %v", nos(rec.Paid), refundNos(rec.Settled), rec.Orders)
	}
	rec = day(midnight.AddDate(0, 0, 1))
	if len(rec.Paid) != 0 || refundNos(rec.Settled) != "LATER1" || len(rec.Orders) != 1 || !same(rec.Orders["LATE"], mustOrder(t, l, "LATE")) {
		t.Fatalf("the refund's day: paid %s, settled %s, orders %v", nos(rec.Paid), refundNos(rec.Settled), rec.Orders)
	}
	if !rec.From.Equal(midnight.AddDate(0, 0, 1)) || !rec.To.Equal(midnight.AddDate(0, 0, 2)) || rec.Close != nil {
		t.Fatalf("the records' range or close: %v %v %v", rec.From, rec.To, rec.Close)
	}
}

// testDayRecordsContents: a day's records hold the sales paid in it
// (disputed ones too) in paid order, to the nanosecond at both ends; the
// refunds settled in it in settled order; the open orders and refunds and
// the closed orders with a late check to come created before its end (by
// number, byte by byte), whatever day they were made; the ledger's first order; an
// empty range holds nothing.
func testDayRecordsContents(t *testing.T, l checkout.Ledger) {
	ctx := t.Context()
	from, to := t0, t0.Add(24*time.Hour)
	sale := func(no string, created, paid time.Time, to checkout.State) {
		t.Helper()
		mustCreate(t, l, NewOrder(no, created, 1000))
		mustAdvance(t, l, no, to, func(o *checkout.Order) {
			o.PaidAt = paid
			if to == checkout.StateDisputed {
				o.ProviderAmount = 999
			}
		})
	}
	sale("FIRST", from.Add(-48*time.Hour), from, checkout.StatePaid) // paid at the first nanosecond
	sale("B-LAST", from, to.Add(-time.Nanosecond), checkout.StatePaid)
	sale("C-DISPUTED", from, from.Add(time.Hour), checkout.StateDisputed)
	sale("D-NEXT", from, to, checkout.StatePaid) // paid at the next day's first nanosecond
	mustCreate(t, l, NewOrder("Z-OPEN-OLD", from.Add(-24*time.Hour), 100))
	mustCreate(t, l, NewOrder("Y-OPEN", from.Add(time.Hour), 100))
	mustAdvance(t, l, "Y-OPEN", checkout.StateAwaiting, nil)
	mustCreate(t, l, NewOrder("X-OPEN-LATER", to, 100)) // created after the day: not one of its open orders
	mustCreate(t, l, NewOrder("a-OPEN", from, 100))     // numbers sort byte by byte: after Z
	mustCreate(t, l, NewOrder("W-RECHECK", from.Add(time.Hour), 100))
	mustAdvance(t, l, "W-RECHECK", checkout.StateClosed, func(o *checkout.Order) { o.RecheckAt = to.Add(time.Hour) })
	mustCreate(t, l, NewOrder("V-CLOSED", from.Add(time.Hour), 100))
	mustAdvance(t, l, "V-CLOSED", checkout.StateClosed, nil)
	mustCreate(t, l, NewOrder("U-LATE-UNSEEN", from.Add(time.Hour), 100))
	mustAdvance(t, l, "U-LATE-UNSEEN", checkout.StateClosed, nil)
	mustAdvance(t, l, "U-LATE-UNSEEN", checkout.StatePaid, func(o *checkout.Order) { o.Late, o.PaidAt = true, to.Add(time.Hour) })

	settle := func(no, orderNo string, state checkout.RefundState, created, at time.Time) {
		t.Helper()
		r := refund(no, orderNo, 10, checkout.RefundRequested)
		r.CreatedAt = created
		mustRefund(t, l, r)
		if state == checkout.RefundRequested {
			return
		}
		if _, _, err := l.SettleRefund(ctx, no, state, func(r *checkout.Refund) { r.SucceededAt, r.FailedAt = at, at }); err != nil {
			t.Fatal(err)
		}
	}
	settle("RB", "FIRST", checkout.RefundSucceeded, from, from.Add(2*time.Hour))
	settle("RA", "B-LAST", checkout.RefundFailed, from, from.Add(3*time.Hour))
	settle("RC", "FIRST", checkout.RefundSucceeded, from, to) // the next day's
	settle("RZ-OPEN", "FIRST", checkout.RefundRequested, from.Add(-time.Hour), time.Time{})
	settle("RY-OPEN-LATER", "FIRST", checkout.RefundRequested, to, time.Time{})

	rec, err := l.DayRecords(ctx, from, to, "")
	if err != nil {
		t.Fatal(err)
	}
	check := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %s, want %s", what, got, want)
		}
	}
	check("Paid", nos(rec.Paid), "FIRST,C-DISPUTED,B-LAST")
	check("Settled", refundNos(rec.Settled), "RB,RA")
	var orders []string
	for no := range rec.Orders {
		orders = append(orders, no)
	}
	if len(rec.Orders) != 2 || rec.Orders["FIRST"].No != "FIRST" || rec.Orders["B-LAST"].No != "B-LAST" {
		t.Errorf("Orders = %v, want FIRST and B-LAST", orders)
	}
	check("Open", nos(rec.Open), "Y-OPEN,Z-OPEN-OLD,a-OPEN")
	check("Rechecks", nos(rec.Rechecks), "W-RECHECK")
	check("OpenRefunds", refundNos(rec.OpenRefunds), "RZ-OPEN")
	if !rec.FirstOrder.Equal(from.Add(-48 * time.Hour)) {
		t.Errorf("FirstOrder = %v, want %v", rec.FirstOrder, from.Add(-48*time.Hour))
	}
	for _, r := range [][2]time.Time{{to, from}, {from, from}} {
		empty, err := l.DayRecords(ctx, r[0], r[1], "2024-03-10")
		if err != nil || len(empty.Paid)+len(empty.Settled)+len(empty.Open)+len(empty.OpenRefunds)+len(empty.Rechecks) != 0 {
			t.Errorf("DayRecords of [%v, %v): %+v %v", r[0], r[1], empty, err)
		}
	}
}

// testEmptyLedgerDay: a ledger with no orders has no first order and an
// empty day.
func testEmptyLedgerDay(t *testing.T, l checkout.Ledger) {
	rec, err := l.DayRecords(t.Context(), t0, t0.Add(24*time.Hour), "2024-03-10")
	if err != nil || !rec.FirstOrder.IsZero() || len(rec.Paid) != 0 || rec.Close != nil || rec.Orders == nil {
		t.Fatalf("an empty ledger's day: %+v %v", rec, err)
	}
}

// closeBuild is the engine's build: refuse a closed day, freeze the rest
// as closed by ana at T1.
func closeBuild(rec checkout.DayRecords) (checkout.DayClose, error) {
	if rec.Close != nil {
		return checkout.DayClose{}, checkout.ErrDayClosed
	}
	return checkout.NewDayClose(rec, time.UTC, "", checkout.Actor{Terminal: "T1", Operator: "ana"}), nil
}

// testCloseDayNumbersAndNeverOverwrites: closes are numbered 1, 2, … in
// the order they are made; build gets the day's records; a second close
// of a day is refused and the first stays, even when build forgets to
// refuse; a build that refuses writes nothing; each close is stamped and
// has its audit line, by the caller's actor; a close for which build
// names no one is the caller's actor's.
func testCloseDayNumbersAndNeverOverwrites(t *testing.T, l checkout.Ledger) {
	ctx := checkout.WithActor(t.Context(), checkout.Actor{Terminal: "T1", Operator: "ana", Via: "cli"})
	d1 := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
	o := NewOrder("SOLD", d1.Add(time.Hour), 1230)
	mustCreate(t, l, o)
	mustAdvance(t, l, o.No, checkout.StatePaid, func(x *checkout.Order) { x.PaidAt = d1.Add(time.Hour) })
	var seen checkout.DayRecords
	var z1 checkout.DayClose
	var err error
	w := during(func() {
		z1, err = l.CloseDay(ctx, d1, d1.AddDate(0, 0, 1), "2024-03-10", func(rec checkout.DayRecords) (checkout.DayClose, error) {
			seen = rec
			return closeBuild(rec)
		})
	})
	if err != nil || z1.Seq != 1 || z1.Figures.Sales.Amount != 1230 || z1.Day != "2024-03-10" || !w.holds(z1.ClosedAt) ||
		z1.Terminal != "T1" || z1.Operator != "ana" {
		t.Fatalf("first close: %+v %v", z1, err)
	}
	if nos(seen.Paid) != "SOLD" || seen.Close != nil {
		t.Fatalf("build was handed %+v", seen)
	}
	refuse := errors.New("not now")
	if _, err := l.CloseDay(ctx, d1.AddDate(0, 0, 1), d1.AddDate(0, 0, 2), "2024-03-11", func(checkout.DayRecords) (checkout.DayClose, error) {
		return checkout.DayClose{}, refuse
	}); !errors.Is(err, refuse) {
		t.Fatalf("a refusing build: %v", err)
	}
	if _, err := l.CloseDay(ctx, d1, d1.AddDate(0, 0, 1), "2024-03-10", closeBuild); !errors.Is(err, checkout.ErrDayClosed) {
		t.Fatalf("a second close of the day: %v", err)
	}
	// A build that forgets to refuse a closed day still cannot overwrite it.
	if _, err := l.CloseDay(ctx, d1, d1.AddDate(0, 0, 1), "2024-03-10", func(rec checkout.DayRecords) (checkout.DayClose, error) {
		if rec.Close == nil || rec.Close.Seq != 1 {
			t.Errorf("a closed day's build got close %+v", rec.Close)
		}
		return checkout.DayClose{}, nil
	}); !errors.Is(err, checkout.ErrDayClosed) {
		t.Fatalf("overwriting a close: %v", err)
	}
	if _, err := l.CloseDay(ctx, d1, d1.AddDate(0, 0, 1), "", closeBuild); err == nil {
		t.Fatal("a close of no day was made")
	}
	bob := checkout.WithActor(t.Context(), checkout.Actor{Terminal: "T2", Operator: "bob", Via: "desk"})
	z2, err := l.CloseDay(bob, d1.AddDate(0, 0, 1), d1.AddDate(0, 0, 2), "2024-03-11", func(rec checkout.DayRecords) (checkout.DayClose, error) {
		return checkout.DayClose{Timezone: "UTC"}, nil // names no one
	})
	if err != nil || z2.Seq != 2 || z2.Terminal != "T2" || z2.Operator != "bob" || z2.Day != "2024-03-11" {
		t.Fatalf("second day's close: %+v %v", z2, err)
	}
	rec, err := l.DayRecords(ctx, d1, d1.AddDate(0, 0, 1), "2024-03-10")
	if err != nil || rec.Close == nil || !same(*rec.Close, z1) {
		t.Fatalf("the day's close as read back: %+v %v, want %+v", rec.Close, err, z1)
	}
	if rec, _ := l.DayRecords(ctx, d1, d1.AddDate(0, 0, 1), ""); rec.Close != nil {
		t.Fatalf("records read without a day carry a close: %+v", rec.Close)
	}
	es := checkChain(t, l)
	var closes []string
	for _, e := range es {
		if e.Kind == checkout.AuditDayClosed {
			closes = append(closes, e.Detail+" by "+e.Operator+" at "+e.Terminal+" via "+e.Via)
		}
	}
	if len(closes) != 2 || !strings.HasPrefix(closes[0], "Z 1 of 2024-03-10: 1 sales ¥12.30") || !strings.HasSuffix(closes[0], " by ana at T1 via cli") ||
		!strings.HasPrefix(closes[1], "Z 2 of 2024-03-11: 0 sales") || !strings.HasSuffix(closes[1], " by bob at T2 via desk") {
		t.Fatalf("day.closed entries %q, want Z 1 and Z 2", closes)
	}
}

// testCounterClosesBesideTheShops: each counter has its own close of a
// day beside the shop's, in the ledger's one series of Z numbers; the
// day's records carry them all, under their counters; a second close of
// one counter is refused and leaves the first, while the others' stay
// open to close; a close of the next day is not among this day's.
func testCounterClosesBesideTheShops(t *testing.T, l checkout.Ledger) {
	ctx := t.Context()
	d1 := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
	day := func(d time.Time) (time.Time, time.Time, string) {
		return d, d.AddDate(0, 0, 1), d.Format(checkout.DayLayout)
	}
	mustCreate(t, l, NewOrder("SOLD", d1.Add(time.Hour), 1230))
	closeAs := func(counter string, d time.Time) (checkout.DayClose, error) {
		from, to, name := day(d)
		// A build that never refuses: the ledger keeps each close once.
		return l.CloseDay(ctx, from, to, name, func(rec checkout.DayRecords) (checkout.DayClose, error) {
			z := checkout.NewDayClose(rec.ForTerminal(counter), time.UTC, "", checkout.Actor{Terminal: "T1", Operator: "ana"})
			z.Counter = counter
			return z, nil
		})
	}
	var zs []checkout.DayClose
	for _, c := range []string{"T2", "", "T1", "T1/a"} {
		z, err := closeAs(c, d1)
		if err != nil || z.Seq != len(zs)+1 || z.Counter != c || z.Day != "2024-03-10" {
			t.Fatalf("close of counter %q: %+v %v, want Z %d", c, z, err, len(zs)+1)
		}
		zs = append(zs, z)
	}
	if _, err := closeAs("T1", d1); !errors.Is(err, checkout.ErrDayClosed) {
		t.Fatalf("a second close of counter T1: %v", err)
	}
	next, err := closeAs("T1", d1.AddDate(0, 0, 1))
	if err != nil || next.Seq != 5 {
		t.Fatalf("T1's close of the next day: %+v %v", next, err)
	}
	from, to, name := day(d1)
	rec, err := l.DayRecords(ctx, from, to, name)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Close == nil || !same(*rec.Close, zs[1]) {
		t.Fatalf("the shop's close read back: %+v, want %+v", rec.Close, zs[1])
	}
	if len(rec.CounterCloses) != 3 || !same(rec.CounterCloses["T2"], zs[0]) || !same(rec.CounterCloses["T1"], zs[2]) || !same(rec.CounterCloses["T1/a"], zs[3]) {
		t.Fatalf("the counters' closes read back: %+v", rec.CounterCloses)
	}
	if z := rec.ForTerminal("T1").Close; z == nil || z.Seq != 3 {
		t.Fatalf("T1's records carry close %+v, want Z 3", z)
	}
	if z := rec.ForTerminal("T3").Close; z != nil {
		t.Fatalf("an unclosed counter's records carry close %+v", z)
	}
}

// testCloseDayFreezes: what build freezes is what the day held when the
// close was made. A refund settled and a sale paid while build is at
// work land after the close (their entries follow the close's in the
// chain) and are not in it; the next report sees them as changes since.
// The pause in build gives a ledger that lets them in the time to; one
// that keeps them out passes however long it is.
func testCloseDayFreezes(t *testing.T, l checkout.Ledger) {
	ctx := t.Context()
	from, to := t0.Truncate(24*time.Hour), t0.Truncate(24*time.Hour).Add(24*time.Hour)
	mustCreate(t, l, NewOrder("SOLD", t0, 1000))
	mustAdvance(t, l, "SOLD", checkout.StatePaid, func(o *checkout.Order) { o.PaidAt = t0 })
	back := refund("BACK", "SOLD", 300, checkout.RefundRequested)
	back.CreatedAt = t0
	mustRefund(t, l, back)
	mustCreate(t, l, NewOrder("LATE", t0, 500))
	mustAdvance(t, l, "LATE", checkout.StateAwaiting, nil)
	var wg sync.WaitGroup
	z, err := l.CloseDay(ctx, from, to, from.Format(checkout.DayLayout), func(rec checkout.DayRecords) (checkout.DayClose, error) {
		wg.Go(func() {
			if _, _, err := l.SettleRefund(ctx, "BACK", checkout.RefundSucceeded, func(r *checkout.Refund) { r.SucceededAt = t0.Add(time.Hour) }); err != nil {
				t.Errorf("settling during the close: %v", err)
			}
		})
		wg.Go(func() {
			if _, err := l.Advance(ctx, "LATE", checkout.StatePaid, func(o *checkout.Order) { o.PaidAt = t0.Add(time.Hour) }); err != nil {
				t.Errorf("paying during the close: %v", err)
			}
		})
		time.Sleep(300 * time.Millisecond)
		return closeBuild(rec)
	})
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(z.Sales, ",") != "SOLD" || len(z.Refunds) != 0 || strings.Join(z.Unsettled, ",") != "LATE" || strings.Join(z.UnsettledRefunds, ",") != "BACK" {
		t.Fatalf("the close froze sales %v refunds %v unsettled %v %v", z.Sales, z.Refunds, z.Unsettled, z.UnsettledRefunds)
	}
	var closed, settled, paid uint64
	for _, e := range checkChain(t, l) {
		switch {
		case e.Kind == checkout.AuditDayClosed:
			closed = e.Seq
		case e.Kind == checkout.AuditRefundState && e.Refund == "BACK":
			settled = e.Seq
		case e.Kind == checkout.AuditSaleState && e.Order == "LATE" && e.To == string(checkout.StatePaid):
			paid = e.Seq
		}
	}
	if closed == 0 || settled < closed || paid < closed {
		t.Fatalf("entries: close %d, refund settled %d, sale paid %d: the changes made during the close must follow it", closed, settled, paid)
	}
}

// testDayRecordsIsOneSnapshot: DayRecords reads its lists in one
// transaction, so a change that moves a record from one list to another
// (a sale paid: from Open to Paid; a refund settled: from OpenRefunds to
// Settled) is seen before or after, never half: each record is in
// exactly one list, however the reads and the writes interleave.
func testDayRecordsIsOneSnapshot(t *testing.T, l checkout.Ledger) {
	ctx := t.Context()
	from, to := t0.Truncate(24*time.Hour), t0.Truncate(24*time.Hour).Add(24*time.Hour)
	const n = 60
	mustCreate(t, l, NewOrder("SNAP", t0, 100000))
	mustAdvance(t, l, "SNAP", checkout.StatePaid, func(o *checkout.Order) { o.PaidAt = t0 })
	for i := range n {
		mustCreate(t, l, NewOrder(fmt.Sprintf("SNAP-O%02d", i), t0, 100))
		r := refund(fmt.Sprintf("SNAP-R%02d", i), "SNAP", 10, checkout.RefundRequested)
		r.CreatedAt = t0
		mustRefund(t, l, r)
	}
	done := make(chan struct{})
	defer func() { <-done }() // a failed read stops the test, not the writes: they use the ledger till the end
	go func() {
		defer close(done)
		for i := range n {
			if _, err := l.Advance(ctx, fmt.Sprintf("SNAP-O%02d", i), checkout.StatePaid, func(o *checkout.Order) { o.PaidAt = t0.Add(time.Hour) }); err != nil {
				t.Errorf("pay: %v", err)
			}
			if _, _, err := l.SettleRefund(ctx, fmt.Sprintf("SNAP-R%02d", i), checkout.RefundSucceeded, func(r *checkout.Refund) { r.SucceededAt = t0.Add(time.Hour) }); err != nil {
				t.Errorf("settle: %v", err)
			}
		}
	}()
	for reads := 0; ; reads++ {
		select {
		case <-done:
			if reads == 0 {
				t.Log("the writes ended before a read")
			}
			return
		default:
		}
		rec, err := l.DayRecords(ctx, from, to, "")
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, o := range append(rec.Paid, rec.Open...) {
			seen[o.No]++
		}
		for _, r := range append(rec.Settled, rec.OpenRefunds...) {
			seen[r.No]++
		}
		for i := range n {
			for _, no := range []string{fmt.Sprintf("SNAP-O%02d", i), fmt.Sprintf("SNAP-R%02d", i)} {
				if seen[no] != 1 {
					t.Fatalf("read %d: %s is in %d of the day's lists: paid %s, open %s, settled %s, open refunds %s",
						reads, no, seen[no], nos(rec.Paid), nos(rec.Open), refundNos(rec.Settled), refundNos(rec.OpenRefunds))
				}
			}
		}
	}
}
