package ui

// The day report and the day close at the desk (issue 10): the figures
// after sales and a refund, the days either side, the date prompt, the
// settling of what is left open, the close with an order still unsettled
// (anyway, after asking) and with none, a closed day's frozen figures
// with a change after its close; and the sale screen's "Today" line
// computed by the report's code.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"till/backup"
	"till/catalog"
	"till/checkout"
	"till/manager"
	"till/providers/fake"
	"till/store"
)

// newDayRig is a rig whose ledger stamps its own times (a refund's
// success when the provider gives none, a close) with the rig's clock, as
// the desk's ledger does with the engine's: a day's figures then fall on
// the rig's day, not on the machine's.
func newDayRig(t *testing.T) *rig {
	t.Helper()
	r := newRig(t)
	st, err := store.Open(filepath.Join(t.TempDir(), "till.db"), store.WithClock(r.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r.ledger, r.faulty = st, fake.NewLedger(st)
	r.engine = checkout.NewEngine(r.faulty, []checkout.Provider{r.wx, r.ali}, r.engine.Config(), r.clock, nil)
	rend := lipgloss.NewRenderer(io.Discard)
	rend.SetColorProfile(termenv.Ascii)
	r.model = New(Options{Engine: r.engine, Renderer: rend, Sandbox: true, Terminal: "T1"})
	return r
}

// reportDesk is the rig's manager desk with the PIN 4826 set, on the
// manager's menu.
func (r *rig) reportDesk(t *testing.T, w, h int) *teatest.TestModel {
	t.Helper()
	if err := manager.New(r.ledger, r.clock, cheap).Set(context.Background(), "", "4826"); err != nil {
		t.Fatal(err)
	}
	tm := r.managerDesk(t, w, h)
	waitFor(t, tm, "Amount")
	tm.Type("m")
	waitFor(t, tm, "Manager PIN")
	tm.Type("4826")
	keys(tm, tea.KeyEnter)
	waitFor(t, tm, "2  Day report", "3  Close the day")
	return tm
}

// openAtProvider is an awaiting WeChat order of amount created at
// created, known to the provider and left open by an earlier run (the
// settling passes' to settle).
func (r *rig) openAtProvider(t *testing.T, i int, created time.Time, amount checkout.Money) checkout.Order {
	t.Helper()
	o := put(t, r, i, created, checkout.StateAwaiting, amount, "", func(o *checkout.Order) { o.Method = checkout.MethodWeChat })
	r.wx.CreateAnyway(checkout.CreateRequest{OrderNo: o.No, Amount: o.Amount})
	return o
}

// unanswered makes the WeChat provider give no answer to queries while
// the flag is set.
func (r *rig) unanswered() *atomic.Bool {
	var off atomic.Bool
	off.Store(true)
	r.wx.OnQuery = func(ctx context.Context, no string) error {
		if off.Load() {
			return fake.ErrTimeout
		}
		return nil
	}
	return &off
}

// TestReportShowsTheDay: after two sales and a partial refund, m → Day
// report shows today's totals, by provider and operator, the hours with
// the bars, and esc goes back to the menu.
func TestReportShowsTheDay(t *testing.T) {
	r := newDayRig(t)
	a := r.paidSale(t, 1230)
	r.paidSale(t, 4560)
	if _, _, err := r.engine.Refund(context.Background(), a.No, 500, "wrong size"); err != nil {
		t.Fatal(err)
	}
	tm := r.reportDesk(t, 80, 24)
	tm.Type("2")
	waitFor(t, tm, "Day report · Mon 23 Nov 2026 · Asia/Shanghai · today",
		"Sales 2 · ¥57.90   Refunds 1 · ¥5.00   Net ¥52.90", "WeChat Pay  2  ¥57.90   1  ¥5.00   ¥52.90",
		"By operator", "counter", "Sales by hour · peak 14:00–15:00: ¥57.90 in 2 sales", "█", "12")
	keys(tm, tea.KeyEsc)
	waitFor(t, tm, "Refund an order")
}

// TestReportDays: ← shows the day before with its own figures, → comes
// back and never goes past today, t is today again.
func TestReportDays(t *testing.T) {
	r := newDayRig(t)
	yesterday := t0.Add(-24 * time.Hour)
	put(t, r, 1, yesterday, checkout.StatePaid, 777, "", nil)
	r.paidSale(t, 1230)
	tm := r.reportDesk(t, 80, 24)
	tm.Type("2")
	waitFor(t, tm, "Mon 23 Nov 2026", "Sales 1 · ¥12.30")
	keys(tm, tea.KeyLeft)
	waitFor(t, tm, "Sun 22 Nov 2026", "Sales 1 · ¥7.77", "Alipay")
	keys(tm, tea.KeyLeft)
	waitFor(t, tm, "Sat 21 Nov 2026", "Sales 0 · ¥0.00", "No sales on this day.")
	keys(tm, tea.KeyRight, tea.KeyRight)
	waitFor(t, tm, "Mon 23 Nov 2026 · Asia/Shanghai · today", "Sales 1 · ¥12.30")
	keys(tm, tea.KeyRight) // past today: nothing
	keys(tm, tea.KeyLeft)
	waitFor(t, tm, "Sun 22 Nov 2026")
	tm.Type("t")
	waitFor(t, tm, "Mon 23 Nov 2026 · Asia/Shanghai · today")
	tm.Send(ShutdownMsg{})
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(3*time.Second)).(Model)
	if got := fm.report.day.Format(checkout.DayLayout); got != "2026-11-23" {
		t.Fatalf("the day on show after → past today and t: %s", got)
	}
}

// TestReportDatePrompt: d asks for a day; a day that is not one, or has
// not begun, is said and changes nothing; a good one is shown.
func TestReportDatePrompt(t *testing.T) {
	r := newDayRig(t)
	tm := r.reportDesk(t, 80, 24)
	tm.Type("2")
	waitFor(t, tm, "Mon 23 Nov 2026")
	tm.Type("d")
	waitFor(t, tm, "Day (YYYY-MM-DD):", "enter show")
	tm.Type("2026-13-01")
	keys(tm, tea.KeyEnter)
	waitFor(t, tm, `"2026-13-01" is not a day: write it YYYY-MM-DD, like 2026-11-23. Nothing`)
	for range 10 {
		keys(tm, tea.KeyBackspace)
	}
	tm.Type("2026-12-01")
	keys(tm, tea.KeyEnter)
	waitFor(t, tm, "Tue 1 Dec 2026 has not begun yet")
	for range 10 {
		keys(tm, tea.KeyBackspace)
	}
	tm.Type("2026-11-20")
	keys(tm, tea.KeyEnter)
	waitFor(t, tm, "Day report · Fri 20 Nov 2026 · Asia/Shanghai")
}

// TestDatePromptRefusalChangesNothing: the refused day leaves the day on
// show, its figures and the prompt as they were, and reads nothing.
func TestDatePromptRefusalChangesNothing(t *testing.T) {
	r := newDayRig(t)
	rep, err := r.engine.Report(context.Background(), t0)
	if err != nil {
		t.Fatal(err)
	}
	m := reportAt(r.model.deps, t0, rep, 78, 19)
	m, _ = m.Update(keyMsg("d"))
	for _, in := range []string{"2026-11-31", "23/11/2026", "yesterday", "", "2026-11-24"} {
		mm := m
		for _, c := range in {
			mm, _ = mm.Update(keyMsg(string(c)))
		}
		mm, cmd := mm.Update(keyMsg("enter"))
		if cmd != nil || !mm.dating || mm.dateErr == "" || !mm.day.Equal(m.day) || mm.call != m.call || !mm.loaded {
			t.Errorf("%q: cmd %v dating %v err %q day %s", in, cmd != nil, mm.dating, mm.dateErr, mm.day)
		}
	}
}

// TestReportSettlesByQuery: an order left open by an earlier run is
// listed as unsettled; s asks the provider (a settling pass) and reads
// the day again: while the provider does not answer the order is still
// listed, with why and since when; once it does, it is a sale of the day.
func TestReportSettlesByQuery(t *testing.T) {
	r := newDayRig(t)
	silent := r.unanswered()
	o := r.openAtProvider(t, 0, t0.Add(-time.Minute), 1230)
	tm := r.reportDesk(t, 80, 24)
	tm.Type("2")
	waitFor(t, tm, "Not settled yet: 1 order or refund · s asks the providers now", o.No)
	tm.Type("s")
	// Under the order: since when its provider fails, and when it is
	// asked again (the engine's backoff, 30 s after the failure).
	waitFor(t, tm, "Asked the providers: 0 settled, 1 still not settled.", "fake: request timed out")
	for range 10 {
		keys(tm, tea.KeyDown)
	}
	waitFor(t, tm, "the provider failed 1 time since 14:00", "asked again at 14:00")
	if err := r.wx.Pay(o.No); err != nil {
		t.Fatal(err)
	}
	silent.Store(false)
	for range 10 {
		keys(tm, tea.KeyUp)
	}
	tm.Type("s")
	waitFor(t, tm, "Asked the providers: 1 settled; nothing on this day is left unsettled.", "Sales 1 · ¥12.30")
	if st := r.state(t, o.No); st != checkout.StatePaid {
		t.Fatalf("the order after s: %s", st)
	}
}

// TestCloseTheDayAnyway: the menu's "Close the day" lists the order the
// provider has not settled; Enter does nothing until the providers were
// asked (s); then Enter closes anyway, the order recorded as unsettled at
// the close. When it is paid later it is a change after the close, and
// the frozen figures stay as they were.
func TestCloseTheDayAnyway(t *testing.T) {
	r := newDayRig(t)
	r.paidSale(t, 500)
	silent := r.unanswered()
	o := r.openAtProvider(t, 0, t0.Add(-time.Minute), 1230)
	tm := r.reportDesk(t, 80, 24)
	tm.Type("3")
	waitFor(t, tm, "Close the day · Mon 23 Nov 2026", "has 1 order or refund the provider has not settled yet", o.No, "Press s to ask")
	keys(tm, tea.KeyEnter) // not before the providers were asked
	tm.Type("s")
	waitFor(t, tm, "1 still not settled", "enter closes the day anyway", "listed as a change after the close", "enter close anyway")
	ctx := context.Background()
	if rep, _ := r.engine.Report(ctx, t0); rep.Closed() {
		t.Fatal("the day was closed by the Enter before s")
	}
	keys(tm, tea.KeyEnter)
	waitFor(t, tm, "Mon 23 Nov 2026 is closed: Z 1.", "Closed · Z 1 at", "1 was unsettled then", "Sales 1 · ¥5.00")
	rep, err := r.engine.Report(ctx, t0)
	if err != nil || !rep.Closed() || rep.Z.Seq != 1 || rep.Z.UnsettledAtClose != 1 || rep.Sales.Amount != 500 {
		t.Fatalf("the day after the close: %+v %v", rep.Z, err)
	}
	if rep.Z.Operator != checkout.DefaultOperator || rep.Z.Terminal != "T1" {
		t.Fatalf("closed by %q at %q", rep.Z.Operator, rep.Z.Terminal)
	}

	// The order is paid after all: a change after the close.
	if err := r.wx.Pay(o.No); err != nil {
		t.Fatal(err)
	}
	silent.Store(false)
	r.engine.RecoverNow(ctx) // past the failed order's backoff
	tm.Type("t")
	waitFor(t, tm, "Sales 1 · ¥5.00   Refunds 0 · ¥0.00   Net ¥5.00")
	for range 30 {
		keys(tm, tea.KeyDown)
	}
	waitFor(t, tm, "Changes after the close: 1 · net +¥12.30 (not in the Z figures)", "sale +¥12.30 · WeChat Pay · order "+o.No)
	tm.Type("c")
	waitFor(t, tm, "Mon 23 Nov 2026 is already closed (Z 1 at")
}

// TestCloseTheDay: with nothing unsettled the close asks once, warns
// that it is before midnight, and Enter closes: the screen shows the
// frozen report. A sale after the close is a change after it; the menu's
// close of a closed day says so.
func TestCloseTheDay(t *testing.T) {
	r := newDayRig(t)
	r.paidSale(t, 1230)
	tm := r.reportDesk(t, 80, 24)
	tm.Type("2")
	waitFor(t, tm, "Sales 1 · ¥12.30", "c close day")
	tm.Type("c")
	waitFor(t, tm, "Close Mon 23 Nov 2026?", "frozen into the ledger as the next Z report", "It is only 14:00",
		"Sales 1 · ¥12.30   Refunds 0 · ¥0.00   Net ¥12.30", "enter close the day")
	keys(tm, tea.KeyEnter)
	waitFor(t, tm, "Mon 23 Nov 2026 is closed: Z 1.", "Closed · Z 1 at")

	after := r.paidSale(t, 4560)
	tm.Type("t")
	waitFor(t, tm, "Sales 1 · ¥12.30   Refunds 0 · ¥0.00")
	for range 30 {
		keys(tm, tea.KeyDown)
	}
	waitFor(t, tm, "Changes after the close: 1 · net +¥45.60", "sale +¥45.60 · WeChat Pay · order "+after.No)
	keys(tm, tea.KeyEsc)
	waitFor(t, tm, "Refund an order")
	tm.Type("3")
	waitFor(t, tm, "Mon 23 Nov 2026 is already closed (Z 1 at")
	// The sale screen's line is the day as it stands: the frozen figures
	// and what came after the close.
	keys(tm, tea.KeyEsc, tea.KeyEsc)
	waitFor(t, tm, "Today: 2 paid, ¥57.90 net")
	ctx := context.Background()
	if _, err := r.engine.CloseDay(ctx, t0, false); !errors.Is(err, checkout.ErrDayClosed) {
		t.Fatalf("a second close: %v", err)
	}
}

// TestReportLeavesWithManagerMode: the report is a manager's screen: it
// goes when manager mode runs out.
func TestReportLeavesWithManagerMode(t *testing.T) {
	r := newDayRig(t)
	tm := r.reportDesk(t, 80, 24)
	tm.Type("2")
	waitFor(t, tm, "Day report")
	r.clock.Advance(manager.DefaultIdle + time.Second)
	waitFor(t, tm, "Manager mode ended")
	tm.Send(ShutdownMsg{})
	if fm := tm.FinalModel(t, teatest.WithFinalTimeout(3*time.Second)).(Model); fm.Active() != "entry" {
		t.Fatalf("after manager mode ended: %s", fm.Active())
	}
}

// TestTodayLineIsTheReports: the sale screen's "Today" line is the day
// report's: 60 sales today (more than the 50 the screen lists), one made
// yesterday at 23:59:59 and paid after midnight, and a refund; before,
// the line added up the 50 newest orders created today.
func TestTodayLineIsTheReports(t *testing.T) {
	r := newDayRig(t)
	ctx := context.Background()
	day, _ := checkout.DayBounds(t0, r.engine.Config().Location)
	var first checkout.Order
	for i := range 60 {
		o := put(t, r, i, day.Add(8*time.Hour+time.Duration(i)*time.Minute), checkout.StatePaid, checkout.Money(100+i), "", nil)
		if i == 0 {
			first = o
		}
	}
	put(t, r, 99, day.Add(-time.Second), checkout.StatePaid, 200, "", func(o *checkout.Order) {
		o.PaidAt = day.Add(30 * time.Second) // 00:00:30, today
	})
	if _, err := r.ledger.CreateRefund(ctx, checkout.Refund{No: "20261123010000000T1RTEST01", OrderNo: first.No, Amount: 50,
		State: checkout.RefundSucceeded, CreatedAt: t0, SucceededAt: t0}); err != nil {
		t.Fatal(err)
	}
	r.model.recover = false
	tm := r.run(t)
	// 60 sales of 1.00 + 0.00…0.59, one of 2.00, less 0.50.
	waitFor(t, tm, "Today: 61 paid, ¥79.20 net")
}

// TestTodayLineSaysWhenTheFiguresCannotBeRead: a report that cannot be
// read says so where the line was, and the list still shows.
func TestTodayLineSaysWhenTheFiguresCannotBeRead(t *testing.T) {
	r := newDayRig(t)
	r.paidSale(t, 1230)
	m := r.sized(80, 24)
	m, _ = update(m, recentMsg{limit: recentLimit, orders: []checkout.Order{goldenOrder(checkout.MethodWeChat, checkout.StatePaid)},
		dayErr: &checkout.LedgerError{Op: "reading", Err: fake.ErrDisk}})
	view := m.View()
	if !strings.Contains(view, "Could not read today's figures") || !strings.Contains(view, "¥12.30") || strings.Contains(view, "Today: 0 paid") {
		t.Fatalf("the sale screen:\n%s", view)
	}
}

func TestHourBars(t *testing.T) {
	hours := make([]checkout.HourFigures, 24)
	for h := range hours {
		hours[h].Hour = h
	}
	hours[0].SalesFen, hours[12].SalesFen, hours[23].SalesFen = 1, 800, 400
	m := newRig(t).model.deps.styles.Bar
	lines := hourBars(hours, 800, 72, m)
	if len(lines) != barRows+1 {
		t.Fatalf("%d lines", len(lines))
	}
	col := func(h int) string {
		var s []string
		for _, l := range lines[:barRows] {
			rs := []rune(l)
			if i := 2 + h*3; i < len(rs) {
				s = append(s, string(rs[i]))
			} else {
				s = append(s, " ")
			}
		}
		return strings.Join(s, "")
	}
	if got := col(12); got != "████" {
		t.Errorf("the tallest hour: %q", got)
	}
	if got := col(23); got != "  ██" {
		t.Errorf("half of it: %q", got)
	}
	if got := col(0); got != "   ▁" {
		t.Errorf("one fen shows an eighth: %q", got)
	}
	if got := col(6); got != "    " {
		t.Errorf("an hour with nothing: %q", got)
	}
	if l := lines[barRows]; !strings.HasPrefix(l, "  0     ") || !strings.Contains(l, "12") || !strings.Contains(l, "18") {
		t.Errorf("the hours: %q", l)
	}
	for _, w := range []int{72, 48, 30, 10} {
		for _, l := range hourBars(hours, 800, w, m) {
			if n := len([]rune(l)); n > w+2 {
				t.Errorf("width %d: a line of %d", w, n)
			}
		}
	}
}

func TestWrapText(t *testing.T) {
	for _, c := range []struct {
		in   string
		w    int
		want []string
	}{
		{"the day is closed", 10, []string{"the day is", "closed"}},
		{"a  b", 10, []string{"a  b"}},
		{"这一天的数据将作为下一张 Z 报表冻结。", 12, []string{"这一天的数据", "将作为下一张", "Z 报表冻结。"}},
		{"已结清：1 笔，仍有", 10, []string{"已结清：1", "笔，仍有"}},
		{"订单 20261123042700000T1K4QZ09", 12, []string{"订单", "202611230427", "00000T1K4QZ0", "9"}},
	} {
		got := wrapText(c.in, c.w)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%q at %d: %q, want %q", c.in, c.w, got, c.want)
		}
	}
}

// TestReportEveryKeyItPicksExists: the ids the report picks at run time
// are in both catalogues.
func TestReportEveryKeyItPicksExists(t *testing.T) {
	for _, lang := range catalog.Langs {
		keys, err := catalog.Keys(lang)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, k := range keys {
			have[k] = true
		}
		for _, id := range changeKeys {
			if !have[id] {
				t.Errorf("%s: %s is missing", lang, id)
			}
		}
		for _, id := range menuKeyIDs {
			if !have[id] {
				t.Errorf("%s: %s is missing", lang, id)
			}
		}
	}
}

// TestTodayLineCountsASalePaidAfterMidnight: a sale rung up yesterday at
// 23:59:59 (the shop's zone) and paid at 00:00:30 is today's, on the
// "Today" line, though no order was created today.
func TestTodayLineCountsASalePaidAfterMidnight(t *testing.T) {
	r := newDayRig(t)
	day, _ := checkout.DayBounds(t0, r.engine.Config().Location)
	put(t, r, 1, day.Add(-time.Second), checkout.StatePaid, 200, "", func(o *checkout.Order) { o.PaidAt = day.Add(30 * time.Second) })
	r.model.recover = false
	tm := r.run(t)
	waitFor(t, tm, "Today: 1 paid, ¥2.00 net")
	tm.Send(ShutdownMsg{})
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(3*time.Second)).(Model)
	if v := fm.entry.recentView(10); strings.Contains(v, "No sales yet today") {
		t.Fatalf("a sale today and no sales said:\n%s", v)
	}
}

// TestReportTableNeverCutsFigures: at 60x20 a day of six-figure takings
// with a long operator name keeps every figure of the table whole: the
// gaps close up and the name gives way, never the net.
func TestReportTableNeverCutsFigures(t *testing.T) {
	r := newRig(t)
	d := r.model.deps
	from, to := goldenReportDay(d.loc)
	rec := checkout.DayRecords{From: from, To: to, Orders: map[string]checkout.Order{}}
	for i := range 120 {
		at := from.Add(8*time.Hour + time.Duration(i)*time.Minute)
		rec.Paid = append(rec.Paid, checkout.Order{No: fmt.Sprintf("O%03d", i), Method: checkout.MethodWeChat, Amount: 99_999,
			State: checkout.StatePaid, CreatedAt: at, PaidAt: at, Operator: "nightsh1"})
	}
	for i := range 12 {
		o := rec.Paid[i]
		rec.Settled = append(rec.Settled, checkout.Refund{No: fmt.Sprintf("R%03d", i), OrderNo: o.No, Method: o.Method, Amount: 99_999,
			State: checkout.RefundSucceeded, Operator: o.Operator, CreatedAt: o.PaidAt, SucceededAt: o.PaidAt.Add(time.Hour)})
		rec.Orders[o.No] = o
	}
	day := from.Format(checkout.DayLayout)
	m := reportAt(d, from.Add(23*time.Hour), checkout.BuildReport(rec, d.loc, day, day), 58, 15)
	rows := 0
	for _, l := range m.bodyLines() {
		pl := ansi.Strip(l)
		if strings.Contains(pl, "WeChat") || strings.Contains(pl, "nightsh1") {
			rows++
			if !strings.HasSuffix(pl, "¥107,998.92") {
				t.Errorf("the row's net is cut: %q", pl)
			}
		}
	}
	if rows != 2 {
		t.Fatalf("%d rows of the table found", rows)
	}
}

// TestTodayLineAfterARefundFromTheHistory: a refund made from the history
// shows in the sale screen's Today line as soon as the manager is back
// there; before, the line kept the old net until the next settling pass.
func TestTodayLineAfterARefundFromTheHistory(t *testing.T) {
	r := newDayRig(t)
	o := r.paidSale(t, 1230)
	if err := manager.New(r.ledger, r.clock, cheap).Set(context.Background(), "", "4826"); err != nil {
		t.Fatal(err)
	}
	tm := r.managerDesk(t, 100, 30)
	waitFor(t, tm, "Today: 1 paid, ¥12.30 net")
	tm.Type("h")
	waitFor(t, tm, "1 order, 1 paid, ¥12.30 net")
	keys(tm, tea.KeyEnter)
	waitFor(t, tm, "Order "+o.No)
	tm.Type("r")
	waitFor(t, tm, "PIN")
	tm.Type("4826")
	keys(tm, tea.KeyEnter)
	waitFor(t, tm, "Amount to refund")
	keys(tm, tea.KeyBackspace, tea.KeyBackspace, tea.KeyBackspace, tea.KeyBackspace, tea.KeyBackspace)
	tm.Type("5")
	keys(tm, tea.KeyEnter)
	waitFor(t, tm, "Why?")
	tm.Type("1")
	keys(tm, tea.KeyEnter)
	waitFor(t, tm, "REFUNDED ¥5.00")
	keys(tm, tea.KeyEsc)
	waitFor(t, tm, "1 refund")
	keys(tm, tea.KeyEsc)
	waitFor(t, tm, "1 order, 1 paid")
	keys(tm, tea.KeyEsc)
	waitFor(t, tm, "Today: 1 paid, ¥7.30 net")
}

// TestManagerMenuShowsABackupFailure: with automatic backups on, the
// manager's menu says when the last copy was written, and a copy that
// failed in the warning colour with why, until one succeeds again.
func TestManagerMenuShowsABackupFailure(t *testing.T) {
	r := newDayRig(t)
	short, err := os.MkdirTemp("", "b") // a short path: the line must not wrap
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(short) })
	blocked := filepath.Join(short, "f")
	if err := os.WriteFile(blocked, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	k := &backup.Keeper{Dir: filepath.Join(blocked, "copies"), Src: r.ledger, Loc: r.engine.Config().Location, Now: r.clock.Now}
	if _, err := k.Daily(context.Background()); err == nil {
		t.Fatal("a copy into a directory under a file succeeded")
	}
	r.backups = k.Status
	if err := manager.New(r.ledger, r.clock, cheap).Set(context.Background(), "", "4826"); err != nil {
		t.Fatal(err)
	}
	tm := r.managerDesk(t, 240, 24) // wide: the error names a long path
	waitFor(t, tm, "Amount")
	tm.Type("m")
	waitFor(t, tm, "Manager PIN")
	tm.Type("4826")
	keys(tm, tea.KeyEnter)
	waitFor(t, tm, "2  Day report", "⚠ The automatic backup failed at 14:00", "not a directory", "No automatic backup written yet")

	k.Dir = t.TempDir()
	if _, err := k.Daily(context.Background()); err != nil {
		t.Fatal(err)
	}
	tm.Type("5") // leave manager mode, then open the menu again
	waitFor(t, tm, "Amount")
	tm.Type("m")
	waitFor(t, tm, "Manager PIN")
	tm.Type("4826")
	keys(tm, tea.KeyEnter)
	waitFor(t, tm, "Last automatic backup: Mon 23 Nov 2026 14:00", "till-2026-11-23.db")
}
