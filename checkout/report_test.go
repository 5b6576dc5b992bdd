package checkout_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"till/checkout"
	"till/providers/fake"
	"till/store"
)

// The report's figures, checked against sums the test computes itself
// from what it wrote: random sales (paid, closed, paid late, disputed,
// left open), partial refunds (succeeded, failed, left requested) and Z
// closes, over several days and across midnight, in a shop zone with a
// daylight-saving change in the range (New York, 1 Nov 2026) on a machine
// set to another zone.

// modelOrder is an order as the test knows it, with its refunds.
type modelOrder struct {
	o       checkout.Order
	refunds []checkout.Refund
}

type reportModel struct {
	ctx     context.Context
	t       *rapid.T
	st      *store.Store
	eng     *checkout.Engine
	loc     *time.Location
	clock   *fake.Clock
	now     time.Time
	orders  []*modelOrder
	n       int
	days    map[string]bool
	closed  map[string]checkout.DayClose
	methods []checkout.Method
	ops     []string
}

func (m *reportModel) next(prefix string) string {
	m.n++
	return fmt.Sprintf("%s%05d", prefix, m.n)
}

func (m *reportModel) day(t time.Time) string { return t.In(m.loc).Format(checkout.DayLayout) }

// sale writes one order and its outcome.
func (m *reportModel) sale(t *rapid.T) {
	m.now = m.now.Add(within(t, 0, 5*time.Hour, "gap"))
	o := checkout.Order{
		No: m.next("O"), Terminal: "T1", Method: rapid.SampledFrom(m.methods).Draw(t, "method"),
		Amount:   checkout.Money(rapid.Int64Range(1, 500_000).Draw(t, "amount")),
		Operator: rapid.SampledFrom([]string{"", "ana", "bo"}).Draw(t, "operator"),
		State:    checkout.StateCreated, CreatedAt: m.now, UpdatedAt: m.now, ExpiresAt: m.now.Add(3 * time.Minute),
	}
	if err := m.st.CreateOrder(m.ctx, o); err != nil {
		t.Fatal(err)
	}
	m.days[m.day(m.now)] = true
	paidAt := m.now.Add(within(t, 0, 3*time.Minute, "paid after"))
	var err error
	switch outcome := rapid.SampledFrom([]string{"paid", "paid", "paid", "closed", "late", "disputed", "open"}).Draw(t, "outcome"); outcome {
	case "paid":
		o, err = m.st.Advance(m.ctx, o.No, checkout.StatePaid, func(s *checkout.Order) { s.PaidAt = paidAt })
	case "closed":
		o, err = m.st.Advance(m.ctx, o.No, checkout.StateClosed, func(s *checkout.Order) { s.ClosedAt = m.now.Add(3 * time.Minute) })
	case "late":
		if _, err = m.st.Advance(m.ctx, o.No, checkout.StateClosed, nil); err == nil {
			late := m.now.Add(within(t, time.Minute, 10*time.Hour, "late by"))
			o, err = m.st.Advance(m.ctx, o.No, checkout.StatePaid, func(s *checkout.Order) { s.PaidAt, s.Late = late, true })
		}
	case "disputed":
		o, err = m.st.Advance(m.ctx, o.No, checkout.StateDisputed, func(s *checkout.Order) {
			s.PaidAt, s.ProviderAmount = paidAt, s.Amount+checkout.Money(rapid.Int64Range(1, 1000).Draw(t, "extra"))
		})
	case "open":
		o, err = m.st.Advance(m.ctx, o.No, checkout.StateAwaiting, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !o.PaidAt.IsZero() {
		m.days[m.day(o.PaidAt)] = true
	}
	m.orders = append(m.orders, &modelOrder{o: o})
	m.ops = append(m.ops, "sale "+o.No)
}

// refund refunds part of a sale (all of a disputed one).
func (m *reportModel) refund(t *rapid.T) {
	var can []*modelOrder
	for _, mo := range m.orders {
		if (mo.o.State.WasPaid() || mo.o.State == checkout.StateDisputed) && m.left(mo) > 0 {
			can = append(can, mo)
		}
	}
	if len(can) == 0 {
		return
	}
	mo := rapid.SampledFrom(can).Draw(t, "refunded order")
	left := m.left(mo)
	amount := left
	if mo.o.State != checkout.StateDisputed {
		amount = checkout.Money(rapid.Int64Range(1, int64(left)).Draw(t, "refund"))
	}
	at := maxTime(m.now, mo.o.PaidAt).Add(within(t, 0, 20*time.Hour, "refund after"))
	r := checkout.Refund{No: m.next("R"), OrderNo: mo.o.No, Method: mo.o.Method, Amount: amount, State: checkout.RefundRequested,
		Operator: rapid.SampledFrom([]string{"", "ana", "mgr"}).Draw(t, "refund operator"), CreatedAt: at, UpdatedAt: at}
	if _, err := m.st.CreateRefund(m.ctx, r); err != nil {
		t.Fatal(err)
	}
	done := at.Add(within(t, 0, 30*time.Hour, "settled after"))
	switch rapid.SampledFrom([]string{"succeeded", "succeeded", "failed", "open"}).Draw(t, "refund outcome") {
	case "succeeded":
		got, o, err := m.st.SettleRefund(m.ctx, r.No, checkout.RefundSucceeded, func(s *checkout.Refund) { s.SucceededAt = done })
		if err != nil {
			t.Fatal(err)
		}
		r, mo.o = got, o
		m.days[m.day(done)] = true
	case "failed":
		got, _, err := m.st.SettleRefund(m.ctx, r.No, checkout.RefundFailed, func(s *checkout.Refund) { s.FailedAt = done })
		if err != nil {
			t.Fatal(err)
		}
		r = got
	}
	mo.refunds = append(mo.refunds, r)
	m.ops = append(m.ops, "refund "+r.No+" of "+mo.o.No)
}

// left is what a refund may still take of mo.
func (m *reportModel) left(mo *modelOrder) checkout.Money {
	l := checkout.Refundable(mo.o)
	for _, r := range mo.refunds {
		if r.State != checkout.RefundFailed {
			l -= r.Amount
		}
	}
	return l
}

// closeDay closes one of the days seen so far (whatever is unsettled).
func (m *reportModel) closeDay(t *rapid.T) {
	var open []string
	for d := range m.days {
		if _, ok := m.closed[d]; !ok {
			open = append(open, d)
		}
	}
	if len(open) == 0 {
		return
	}
	slices.Sort(open)
	d := rapid.SampledFrom(open).Draw(t, "closed day")
	day, err := checkout.ParseDay(d, m.loc)
	if err != nil {
		t.Fatal(err)
	}
	z, err := m.eng.CloseDay(m.ctx, day, true)
	if err != nil {
		t.Fatalf("CloseDay %s: %v", d, err)
	}
	if want := len(m.closed) + 1; z.Seq != want {
		t.Fatalf("Z of %s has number %d, want %d", d, z.Seq, want)
	}
	m.closed[d] = z
	m.ops = append(m.ops, "close "+d)
}

// expected is the test's own sum of one day (or range [from, to)).
func (m *reportModel) expected(from, to time.Time) checkout.Figures {
	f := checkout.Figures{ByProvider: map[checkout.Method]checkout.GroupFigures{}, ByOperator: map[string]checkout.GroupFigures{}, ByHour: make([]checkout.HourFigures, 24)}
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	// add counts a sale (or a refund) in the totals, its provider's, its
	// operator's and its hour's figures.
	add := func(sale bool, method checkout.Method, op string, at time.Time, amount checkout.Money) {
		if op == "" {
			op = checkout.DefaultOperator
		}
		pg, og, h := f.ByProvider[method], f.ByOperator[op], &f.ByHour[at.In(m.loc).Hour()]
		if sale {
			f.Sales.Count, f.Sales.Amount = f.Sales.Count+1, f.Sales.Amount+amount
			pg.SalesCount, pg.SalesFen = pg.SalesCount+1, pg.SalesFen+amount
			og.SalesCount, og.SalesFen = og.SalesCount+1, og.SalesFen+amount
			h.SalesCount, h.SalesFen = h.SalesCount+1, h.SalesFen+amount
		} else {
			f.Refunds.Count, f.Refunds.Amount = f.Refunds.Count+1, f.Refunds.Amount+amount
			pg.RefundsCount, pg.RefundsFen = pg.RefundsCount+1, pg.RefundsFen+amount
			og.RefundsCount, og.RefundsFen = og.RefundsCount+1, og.RefundsFen+amount
			h.RefundsCount, h.RefundsFen = h.RefundsCount+1, h.RefundsFen+amount
		}
		f.ByProvider[method], f.ByOperator[op] = pg, og
	}
	for _, mo := range m.orders {
		o := mo.o
		if o.State.WasPaid() && in(o.PaidAt) {
			add(true, o.Method, o.Operator, o.PaidAt, o.Amount)
		}
		if o.State == checkout.StateDisputed {
			continue
		}
		for _, r := range mo.refunds {
			if r.State == checkout.RefundSucceeded && in(r.SucceededAt) {
				add(false, r.Method, r.Operator, r.SucceededAt, r.Amount)
			}
		}
	}
	f.NetFen = f.Sales.Amount - f.Refunds.Amount
	return f
}

// check compares every day's report with the test's own sums.
func (m *reportModel) check(t *rapid.T) {
	for d := range m.days {
		day, _ := checkout.ParseDay(d, m.loc)
		from, to := checkout.DayBounds(day, m.loc)
		want := m.expected(from, to)
		live, err := m.eng.ReportRange(m.ctx, day, day)
		if err != nil {
			t.Fatal(err)
		}
		m.same(t, d+" (live)", live.Figures, want)
		m.checkLists(t, d, live, from, to)
		rep, err := m.eng.Report(m.ctx, day)
		if err != nil {
			t.Fatal(err)
		}
		z, closed := m.closed[d]
		if !closed {
			m.same(t, d, rep.Figures, want)
			if rep.Z != nil || len(rep.ChangesAfterClose) != 0 {
				t.Fatalf("%s is not closed, yet its report has a Z or changes: %+v", d, rep.Z)
			}
			continue
		}
		// A closed day shows what was frozen, and its changes add up to
		// what the day is now.
		if rep.Z == nil || rep.Z.Seq != z.Seq {
			t.Fatalf("%s: report Z %+v, want number %d", d, rep.Z, z.Seq)
		}
		m.same(t, d+" (frozen)", rep.Figures, z.Figures)
		sales, refunds := 0, 0
		for _, c := range rep.ChangesAfterClose {
			switch c.Kind {
			case checkout.ChangeSale:
				sales++
			case checkout.ChangeRefund:
				refunds++
			case checkout.ChangeSaleGone, checkout.ChangeRefundGone:
				t.Fatalf("%s: %s after the close: the state rules allow none", d, c.Kind)
			}
		}
		if z.Figures.NetFen+rep.ChangesNetFen != want.NetFen || z.Figures.Sales.Count+sales != want.Sales.Count || z.Figures.Refunds.Count+refunds != want.Refunds.Count {
			t.Fatalf("%s: frozen %+v plus changes (net %d, %d sales, %d refunds) is not the day now: net %d, %d sales, %d refunds",
				d, z.Figures.Sales, rep.ChangesNetFen, sales, refunds, want.NetFen, want.Sales.Count, want.Refunds.Count)
		}
	}
	// The whole range at once is the sum of its days.
	var first, last string
	for d := range m.days {
		if first == "" || d < first {
			first = d
		}
		if d > last {
			last = d
		}
	}
	a, _ := checkout.ParseDay(first, m.loc)
	b, _ := checkout.ParseDay(last, m.loc)
	from, _ := checkout.DayBounds(a, m.loc)
	_, to := checkout.DayBounds(b, m.loc)
	all, err := m.eng.ReportRange(m.ctx, a, b)
	if err != nil {
		t.Fatal(err)
	}
	m.same(t, first+".."+last, all.Figures, m.expected(from, to))
}

// checkLists checks the listed anomalies and unsettled orders of one day.
func (m *reportModel) checkLists(t *rapid.T, d string, r checkout.DayReport, from, to time.Time) {
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	disputed, late, failed, open, openRefunds := 0, 0, 0, 0, 0
	for _, mo := range m.orders {
		o := mo.o
		switch {
		case o.State == checkout.StateDisputed && in(o.PaidAt):
			disputed++
		case o.Late && o.State.WasPaid() && in(o.PaidAt):
			late++
		case o.State.Open() && o.CreatedAt.Before(to) && !o.ExpiresAt.Add(checkout.DefaultLateCheckMargin).Before(from):
			open++
		}
		for _, rf := range mo.refunds {
			switch {
			case rf.State == checkout.RefundFailed && in(rf.FailedAt):
				failed++
			case rf.State == checkout.RefundRequested && rf.CreatedAt.Before(to):
				openRefunds++
			}
		}
	}
	a := r.Anomalies
	if len(a.Disputed) != disputed || len(a.LatePayments) != late || len(a.FailedRefunds) != failed {
		t.Fatalf("%s: listed %d disputed, %d late, %d failed refunds; want %d, %d, %d", d, len(a.Disputed), len(a.LatePayments), len(a.FailedRefunds), disputed, late, failed)
	}
	if len(r.Unsettled.Orders) != open || len(r.Unsettled.Refunds) != openRefunds || r.Unsettled.Count != open+openRefunds {
		t.Fatalf("%s: unsettled %d orders and %d refunds (count %d), want %d and %d", d, len(r.Unsettled.Orders), len(r.Unsettled.Refunds), r.Unsettled.Count, open, openRefunds)
	}
	if a.Count != len(a.Disputed)+len(a.LatePayments)+len(a.FailedRefunds)+len(a.DisputedRefunds) {
		t.Fatalf("%s: anomalies.count %d is not the sum of its lists", d, a.Count)
	}
}

func (m *reportModel) same(t *rapid.T, what string, got, want checkout.Figures) {
	if got.Sales != want.Sales || got.Refunds != want.Refunds || got.NetFen != want.NetFen {
		t.Fatalf("%s: sales %+v refunds %+v net %d; want sales %+v refunds %+v net %d\nops: %v",
			what, got.Sales, got.Refunds, got.NetFen, want.Sales, want.Refunds, want.NetFen, m.ops)
	}
	var provSales checkout.Money
	for _, meth := range []checkout.Method{checkout.MethodWeChat, checkout.MethodAlipay} {
		g, ok := got.ByProvider[meth]
		if !ok {
			t.Fatalf("%s: by_provider has no %s", what, meth)
		}
		w := want.ByProvider[meth]
		w.NetFen = w.SalesFen - w.RefundsFen
		if g != w {
			t.Fatalf("%s: %s %+v, want %+v", what, meth, g, w)
		}
		provSales += g.SalesFen
	}
	if provSales != got.Sales.Amount {
		t.Fatalf("%s: the providers' sales add up to %d, not %d", what, provSales, got.Sales.Amount)
	}
	for op, w := range want.ByOperator {
		w.NetFen = w.SalesFen - w.RefundsFen
		if g := got.ByOperator[op]; g != w {
			t.Fatalf("%s: operator %s %+v, want %+v", what, op, g, w)
		}
	}
	if len(got.ByOperator) != len(want.ByOperator) {
		t.Fatalf("%s: %d operators, want %d", what, len(got.ByOperator), len(want.ByOperator))
	}
	if len(got.ByHour) != 24 {
		t.Fatalf("%s: %d hours, want 24", what, len(got.ByHour))
	}
	for h, w := range want.ByHour {
		w.Hour = h
		if got.ByHour[h] != w {
			t.Fatalf("%s: hour %d %+v, want %+v", what, h, got.ByHour[h], w)
		}
	}
}

func TestReportFiguresAddUp(t *testing.T) {
	machine := time.Local
	time.Local = time.FixedZone("machine", 5*3600+1800) // the machine's zone is not the shop's
	t.Cleanup(func() { time.Local = machine })
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	runs := 0
	rapid.Check(t, func(rt *rapid.T) {
		runs++
		st, err := store.Open(filepath.Join(dir, fmt.Sprintf("till%d.db", runs)))
		if err != nil {
			rt.Fatal(err)
		}
		defer st.Close()
		begin := time.Date(2026, 10, 30, 20, 0, 0, 0, ny) // the clocks go back on 1 Nov
		clock := fake.NewClock(begin.AddDate(0, 0, 30))
		m := &reportModel{
			ctx: context.Background(), t: rt, st: st, loc: ny, clock: clock, now: begin,
			days: map[string]bool{}, closed: map[string]checkout.DayClose{},
			methods: []checkout.Method{checkout.MethodWeChat, checkout.MethodAlipay},
		}
		m.eng = checkout.NewEngine(st, []checkout.Provider{fake.New(checkout.MethodWeChat), fake.New(checkout.MethodAlipay)},
			checkout.Config{Terminal: "T1", Location: ny}, clock, nil)
		rt.Repeat(map[string]func(*rapid.T){
			"sale":   m.sale,
			"refund": m.refund,
			"close":  m.closeDay,
			"":       func(t *rapid.T) {},
		})
		if len(m.days) > 0 {
			m.check(rt)
		}
	})
}

// within draws a duration in [lo, hi].
func within(t *rapid.T, lo, hi time.Duration, label string) time.Duration {
	return time.Duration(rapid.Int64Range(int64(lo), int64(hi)).Draw(t, label))
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// TestCloseDayRefusals: a day that has not begun, a day with an order the
// provider has not settled (unless anyway), a day already closed, and a
// ledger that fails: each refused with its reason, nothing written.
func TestCloseDayRefusals(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	var ce *checkout.CloseError
	if _, err := r.eng.CloseDay(ctx, start.AddDate(0, 0, 1), false); !errors.As(err, &ce) || ce.Code != checkout.CloseFuture {
		t.Fatalf("tomorrow: %v", err)
	}
	open := r.start(t, checkout.MethodWeChat, 500) // awaiting: the customer may still pay
	_, err := r.eng.CloseDay(ctx, start, false)
	if !errors.As(err, &ce) || ce.Code != checkout.CloseUnsettled || len(ce.Left.Orders) != 1 || ce.Left.Orders[0].No != open.No {
		t.Fatalf("with a sale awaiting: %v", err)
	}
	if rep, _ := r.eng.Report(ctx, start); rep.Z != nil {
		t.Fatal("a refused close was written")
	}
	r.faulty.Fail(func(op fake.Op) error {
		if op.Name == "close day" {
			return fake.ErrDisk
		}
		return nil
	})
	var le *checkout.LedgerError
	if _, err := r.eng.CloseDay(ctx, start, true); !errors.As(err, &le) || !errors.Is(err, fake.ErrDisk) {
		t.Fatalf("a failing ledger: %v", err)
	}
	r.faulty.Fail(nil)
	z, err := r.eng.CloseDay(ctx, start, true)
	if err != nil || z.Seq != 1 || len(z.Unsettled) != 1 {
		t.Fatalf("closed anyway: %+v %v", z, err)
	}
	if _, err := r.eng.CloseDay(ctx, start, true); !errors.As(err, &ce) || ce.Code != checkout.CloseAlready || !errors.Is(err, checkout.ErrDayClosed) || ce.Z.Seq != 1 {
		t.Fatalf("closed twice: %v", err)
	}
	// The sale is paid after the close: the day shows its frozen figures
	// and lists the sale as a change after the close.
	if err := r.wx.Pay(open.No); err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.Poll(ctx, open.No); err != nil {
		t.Fatal(err)
	}
	rep, err := r.eng.Report(ctx, start)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sales.Count != 0 || len(rep.ChangesAfterClose) != 1 || rep.ChangesAfterClose[0].Kind != checkout.ChangeSale ||
		rep.ChangesAfterClose[0].Order != open.No || rep.ChangesNetFen != 500 || rep.Unsettled.Count != 0 {
		t.Fatalf("after a late payment: sales %+v, changes %+v", rep.Sales, rep.ChangesAfterClose)
	}
}

// TestReportRangeRefusals: a range that ends before it starts, or is
// longer than a year and a day.
func TestReportRangeRefusals(t *testing.T) {
	r := newRig(t)
	var de *checkout.DayError
	if _, err := r.eng.ReportRange(context.Background(), start, start.AddDate(0, 0, -1)); !errors.As(err, &de) {
		t.Fatalf("backwards: %v", err)
	}
	if _, err := r.eng.ReportRange(context.Background(), start, start.AddDate(0, 0, checkout.MaxReportDays)); !errors.As(err, &de) {
		t.Fatalf("too long: %v", err)
	}
	if _, err := r.eng.ReportRange(context.Background(), start, start.AddDate(0, 0, checkout.MaxReportDays-1)); err != nil {
		t.Fatalf("a year and a day: %v", err)
	}
	if _, err := checkout.ParseDay("2026-13-01", time.UTC); !errors.As(err, &de) {
		t.Fatalf("month 13: %v", err)
	}
}

// TestCodeThatMayStillBePaidIsUnsettled: an Alipay sale cancelled before
// the scan is closed, but its code may still be paid until its late
// check: the day lists it as unsettled and will not close without anyway;
// once the late check has found it unpaid, the day closes.
func TestCodeThatMayStillBePaidIsUnsettled(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	o := r.start(t, checkout.MethodAlipay, 500)
	got, err := r.eng.Finish(ctx, o.No, "cancelled by clerk")
	if err != nil || got.State != checkout.StateClosed || got.RecheckAt.IsZero() {
		t.Fatalf("cancel: %+v %v", got, err)
	}
	rep, err := r.eng.Report(ctx, start)
	if err != nil || rep.Unsettled.Count != 1 || rep.Unsettled.Orders[0].No != o.No {
		t.Fatalf("unsettled: %+v %v", rep.Unsettled, err)
	}
	var ce *checkout.CloseError
	if _, err := r.eng.CloseDay(ctx, start, false); !errors.As(err, &ce) || ce.Code != checkout.CloseUnsettled {
		t.Fatalf("close with a code that may still be paid: %v", err)
	}
	r.clock.Set(got.RecheckAt)
	r.eng.Recover(ctx) // the late check: Alipay has no trade, so never paid
	if rep, _ := r.eng.Report(ctx, start); rep.Unsettled.Count != 0 {
		t.Fatalf("after the late check: %+v", rep.Unsettled)
	}
	if _, err := r.eng.CloseDay(ctx, start, false); err != nil {
		t.Fatalf("close after the late check: %v", err)
	}
}

// dayOf is a day of n paid sales, the records BuildReport takes.
func dayOf(n int) checkout.DayRecords {
	from := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	rec := checkout.DayRecords{From: from, To: from.AddDate(0, 0, 1), Orders: map[string]checkout.Order{}}
	for i := range n {
		at := from.Add(time.Duration(i) * time.Second)
		rec.Paid = append(rec.Paid, checkout.Order{No: fmt.Sprintf("O%08d", i), Method: checkout.MethodWeChat, Amount: 100, State: checkout.StatePaid, CreatedAt: at, PaidAt: at})
	}
	return rec
}

// benchBuild computes the report of a day of 8,000 sales, closed or not.
func benchBuild(b *testing.B, closed bool) {
	rec := dayOf(8000)
	if closed {
		z := checkout.NewDayClose(rec, time.UTC, "2026-11-23", checkout.Actor{})
		rec.Close = &z
	}
	b.ReportAllocs()
	for b.Loop() {
		checkout.BuildReport(rec, time.UTC, "2026-11-23", "2026-11-23")
	}
}

// BenchmarkBuildReportClosedDay: a closed day's report finds its changes
// after the close by set lookups, so it costs about what an open day's
// does (its floor, below), not the square of the day's sales.
func BenchmarkBuildReportClosedDay(b *testing.B) { benchBuild(b, true) }

// BenchmarkBuildReportOpenDay is the floor: the same day, not closed.
func BenchmarkBuildReportOpenDay(b *testing.B) { benchBuild(b, false) }

// TestPaidAndRefundedNetsOutForItsOperator: a sale the provider paid and
// refunded in its close answer (Alipay's cancel of a trade paid at the
// last moment) nets to nothing for the clerk who rang it up; before, the
// refund counted for "counter" and the clerk kept the sale.
func TestPaidAndRefundedNetsOutForItsOperator(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.eng.SetOperator("lin")
	r.wx.PayOnClose, r.wx.RefundOnClose = true, true
	o := r.start(t, checkout.MethodWeChat, 880)
	if _, err := r.eng.Finish(ctx, o.No, "timed out"); err != nil {
		t.Fatal(err)
	}
	rep, err := r.eng.Report(ctx, start)
	if err != nil {
		t.Fatal(err)
	}
	if g := rep.ByOperator["lin"]; g.NetFen != 0 || g.RefundsCount != 1 || g.SalesCount != 1 {
		t.Errorf("lin: %+v, want the sale and its refund (net 0)", g)
	}
	if g, ok := rep.ByOperator[checkout.DefaultOperator]; ok {
		t.Errorf("%s: %+v, want no row", checkout.DefaultOperator, g)
	}
}

// TestClosedDayKeepsItsZone: a closed day is shown in the zone its
// figures were frozen in, even after [shop] timezone changed.
func TestClosedDayKeepsItsZone(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.paid(t, 1000)
	z, err := r.eng.CloseDay(ctx, start, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg := r.eng.Config()
	ny, _ := time.LoadLocation("America/New_York")
	cfg.Location = ny
	e2 := checkout.NewEngine(r.faulty, []checkout.Provider{r.wx, r.ali}, cfg, r.clock, nil)
	day, _ := time.ParseInLocation(checkout.DayLayout, z.Day, ny)
	rep, err := e2.Report(ctx, day)
	if err != nil || !rep.Closed() || rep.Timezone != "Asia/Shanghai" {
		t.Fatalf("closed day in another zone: %s %v", rep.Timezone, err)
	}
}

// TestNoCloseBeforeTheFirstSale: a day that ended before the ledger's
// first order is not closed (it would take a Z number and put the Zs out
// of the days' order); nor is any day of an empty ledger.
func TestNoCloseBeforeTheFirstSale(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	var ce *checkout.CloseError
	if _, err := r.eng.CloseDay(ctx, start, false); !errors.As(err, &ce) || ce.Code != checkout.CloseBefore {
		t.Fatalf("an empty ledger: %v", err)
	}
	r.paid(t, 1000)
	if _, err := r.eng.CloseDay(ctx, start.AddDate(-1, 0, 0), false); !errors.As(err, &ce) || ce.Code != checkout.CloseBefore {
		t.Fatalf("a year before the first sale: %v", err)
	}
	if z, err := r.eng.CloseDay(ctx, start, false); err != nil || z.Seq != 1 {
		t.Fatalf("the first sale's day: %+v %v", z, err)
	}
}

// TestReportCountsCodeSalesAsSales: the day report treats code sales as
// QR sales: a paid code sale is a sale; one the customer confirmed as it
// was reversed is a sale and a refund on the day (netting to nothing for
// its clerk); one reversed unpaid is neither; the history of the given
// back one shows its refund.
func TestReportCountsCodeSalesAsSales(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.eng.SetOperator("lin")
	qr := r.paid(t, 1000)
	paid, err := r.eng.ChargeCode(ctx, 1230, wxCode, "")
	if err != nil || paid.State != checkout.StatePaid {
		t.Fatalf("paid at once: %+v %v", paid, err)
	}
	r.wx.CodeWaits = true
	unpaid, _ := r.eng.ChargeCode(ctx, 450, wxCode, "")
	back, _ := r.eng.ChargeCode(ctx, 990, wxCode, "")
	r.wx.OnReverse = func(_ context.Context, no string) error {
		if no == back.No {
			return r.wx.Confirm(no)
		}
		return nil
	}
	r.clock.Advance(checkout.DefaultCodeDeadline)
	if got, err := r.eng.PollCode(ctx, unpaid.No); err != nil || got.State != checkout.StateClosed {
		t.Fatalf("reversed unpaid: %+v %v", got, err)
	}
	if got, err := r.eng.PollCode(ctx, back.No); err != nil || got.State != checkout.StateRefunded {
		t.Fatalf("given back by the reverse: %+v %v", got, err)
	}

	rep, err := r.eng.Report(ctx, start)
	if err != nil {
		t.Fatal(err)
	}
	sales := qr.Amount + paid.Amount + back.Amount
	if rep.Sales != (checkout.Tally{Count: 3, Amount: sales}) || rep.Refunds != (checkout.Tally{Count: 1, Amount: back.Amount}) || rep.NetFen != qr.Amount+paid.Amount {
		t.Fatalf("sales %+v, refunds %+v, net %s", rep.Sales, rep.Refunds, rep.NetFen)
	}
	want := checkout.GroupFigures{SalesCount: 3, SalesFen: sales, RefundsCount: 1, RefundsFen: back.Amount, NetFen: qr.Amount + paid.Amount}
	if g := rep.ByProvider[checkout.MethodWeChat]; g != want {
		t.Errorf("WeChat Pay: %+v, want %+v", g, want)
	}
	if g := rep.ByOperator["lin"]; g != want {
		t.Errorf("lin: %+v, want %+v", g, want)
	}
	h, err := r.eng.History(ctx, back.No)
	if err != nil || h.Order.Way != checkout.WayCode || len(h.Refunds) != 1 || h.Refunds[0].Amount != back.Amount || h.Refunds[0].State != checkout.RefundSucceeded {
		t.Fatalf("history of the sale given back: %+v %v", h, err)
	}
}
