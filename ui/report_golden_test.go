package ui

import (
	"fmt"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"till/catalog"
	"till/checkout"
	"till/providers/fake"
)

// The report's golden screens: a busy day (today, with unsettled orders
// and every kind of anomaly), a closed day with changes after its close,
// and the close's steps, in both languages at 80x24 (go test ./ui -run
// TestReportGoldens -update rewrites them); every view is also checked to
// fit 60x20, 120x40 and 80x24, line by line in display columns. The
// figures are computed by checkout.BuildReport from fixed records, as the
// engine computes them from the ledger's.

var reportSizes = [][2]int{{80, 24}, {60, 20}, {120, 40}}

// goldenReportDay is the shop day of t0 (2026-11-23 in Asia/Shanghai).
func goldenReportDay(loc *time.Location) (from, to time.Time) { return checkout.DayBounds(t0, loc) }

// goldenReportRecords are the records of a day: 18 sales through the day
// by two operators and the counter, a late payment, a disputed order and
// its refund, two refunds, one refused, one order and one refund still
// open.
func goldenReportRecords(loc *time.Location) checkout.DayRecords {
	from, to := goldenReportDay(loc)
	rec := checkout.DayRecords{From: from, To: to, Orders: map[string]checkout.Order{}}
	at := func(h, m int) time.Time { return from.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	no := func(t time.Time, i int) string {
		return fmt.Sprintf("%s000T1K4QZ%02d", t.UTC().Format("20060102150405"), i)
	}
	hours := []int{8, 8, 9, 10, 11, 11, 12, 12, 12, 12, 13, 13, 14, 15, 17, 18, 19, 21}
	for i, h := range hours {
		created := at(h, 3*i%60)
		o := checkout.Order{No: no(created, i), Terminal: "T1", Method: []checkout.Method{checkout.MethodWeChat, checkout.MethodAlipay}[i%3%2],
			Amount: checkout.Money(880 + i*415), State: checkout.StatePaid, CreatedAt: created, ExpiresAt: created.Add(3 * time.Minute),
			PaidAt: created.Add(40 * time.Second), Operator: []string{"alice", "bob", ""}[i%3]}
		switch i {
		case 4:
			o.Late, o.PaidAt = true, created.Add(9*time.Minute)
		case 6:
			o.State, o.Refunded = checkout.StatePartiallyRefunded, 500
		case 9:
			o.State, o.Amount, o.ProviderAmount, o.Method = checkout.StateDisputed, 3000, 1, checkout.MethodAlipay
		case 12:
			o.Amount = 12800
		}
		rec.Paid = append(rec.Paid, o)
		rec.Orders[o.No] = o
	}
	refund := func(i int, o checkout.Order, amount checkout.Money, st checkout.RefundState, d time.Duration) checkout.Refund {
		r := checkout.Refund{No: no(o.CreatedAt.Add(d), 60+i), OrderNo: o.No, Method: o.Method, Amount: amount, State: st,
			Operator: o.Operator, Terminal: "T1", CreatedAt: o.CreatedAt.Add(d)}
		switch st {
		case checkout.RefundSucceeded:
			r.SucceededAt = r.CreatedAt.Add(2 * time.Second)
		case checkout.RefundFailed:
			r.FailedAt, r.FailReason = r.CreatedAt.Add(2*time.Second), "the shop's balance is too low"
		}
		return r
	}
	rec.Settled = []checkout.Refund{
		refund(0, rec.Paid[6], 500, checkout.RefundSucceeded, 20*time.Minute),
		refund(1, rec.Paid[10], rec.Paid[10].Amount, checkout.RefundSucceeded, 30*time.Minute),
		refund(2, rec.Paid[13], 300, checkout.RefundFailed, 10*time.Minute),
		refund(3, rec.Paid[9], 1, checkout.RefundSucceeded, 5*time.Minute),
	}
	openAt := at(13, 58)
	rec.Open = []checkout.Order{{No: no(openAt, 40), Terminal: "T1", Method: checkout.MethodWeChat, Amount: 1230, State: checkout.StateAwaiting,
		CreatedAt: openAt, ExpiresAt: openAt.Add(3 * time.Minute)}}
	rec.OpenRefunds = []checkout.Refund{refund(4, rec.Paid[12], 2000, checkout.RefundRequested, 3*time.Minute)}
	return rec
}

// goldenReport is the report of the golden day, as it stands.
func goldenReport(loc *time.Location) checkout.DayReport {
	from, _ := goldenReportDay(loc)
	day := from.Format(checkout.DayLayout)
	return checkout.BuildReport(goldenReportRecords(loc), loc, day, day)
}

// goldenClosedReport is the golden day closed at 22:05 as Z 12 with the
// open order and refund still unsettled, then changed: the open order
// paid at 22:31 and a refund that succeeded at 22:40.
func goldenClosedReport(loc *time.Location) checkout.DayReport {
	from, _ := goldenReportDay(loc)
	day := from.Format(checkout.DayLayout)
	rec := goldenReportRecords(loc)
	z := checkout.NewDayClose(rec, loc, day, checkout.Actor{Terminal: "T1", Operator: "alice"})
	z.Seq, z.ClosedAt = 12, from.Add(22*time.Hour+5*time.Minute)
	late := rec.Open[0]
	late.State, late.PaidAt = checkout.StatePaid, from.Add(22*time.Hour+31*time.Minute)
	rec.Paid = append(rec.Paid, late)
	rec.Open = nil
	r := rec.OpenRefunds[0]
	r.State, r.SucceededAt = checkout.RefundSucceeded, from.Add(22*time.Hour+40*time.Minute)
	rec.Settled = append(rec.Settled, r)
	rec.OpenRefunds = nil
	rec.Close = &z
	return checkout.BuildReport(rec, loc, day, day)
}

// reportAt is a report screen of d at a body of w x h, the day of now on
// show with rep loaded.
func reportAt(d deps, now time.Time, rep checkout.DayReport, w, h int) reportModel {
	d.now = func() time.Time { return now }
	m := newReport(d)
	m.width, m.height = w, h
	m, _ = m.open(now, false)
	m, _ = m.Update(reportLoadedMsg{call: m.call, day: m.day, rep: rep})
	return m
}

// reportViews builds the report's views in lang at a window of w x h, by
// name. The body is what the root leaves a screen (see historyViews).
func reportViews(t *testing.T, lang catalog.Lang, w, h int) map[string]reportModel {
	t.Helper()
	r := newRig(t)
	d := r.model.deps
	d.p = catalog.New(lang)
	loc := d.loc
	bw, bh := w-2, h-5
	rep := goldenReport(loc)
	from, _ := goldenReportDay(loc)
	now := from.Add(23 * time.Hour) // 23:00 on the golden day
	open := reportAt(d, now, rep, bw, bh)
	views := map[string]reportModel{"report": open}
	views["report_closed"] = reportAt(d, now.Add(24*time.Hour), goldenClosedReport(loc), bw, bh)
	views["report_closed"] = func() reportModel {
		m := views["report_closed"]
		m, _ = m.Update(keyMsg("left"))
		m, _ = m.Update(reportLoadedMsg{call: m.call, day: m.day, rep: goldenClosedReport(loc)})
		return m
	}()
	close, _ := open.Update(keyMsg("c"))
	views["close_unsettled"] = close
	asked, _ := close.Update(keyMsg("s"))
	views["close_settling"] = asked
	still := rep
	still.Unsettled.Orders = still.Unsettled.Orders[:1]
	still.Unsettled.Refunds = nil
	still.Unsettled.Count = 1
	asked, _ = asked.Update(reportSettledMsg{call: asked.call, day: asked.day, rep: still,
		pass: checkout.Pass{Refunds: []checkout.Refund{rep.Unsettled.Refunds[0]},
			Errors: []error{&checkout.ProviderError{Op: "query", Kind: checkout.KindUnknown, Err: fake.ErrTimeout, Message: "slow"}}}})
	views["close_anyway"] = asked
	none := rep
	none.Unsettled = checkout.Unsettled{Orders: []checkout.Order{}, Refunds: []checkout.Refund{}}
	confirm := reportAt(d, now, none, bw, bh)
	confirm, _ = confirm.Update(keyMsg("c"))
	views["close_confirm"] = confirm

	// Views with no golden, checked to fit.
	loading := newReport(d)
	loading.width, loading.height = bw, bh
	loading, _ = loading.open(now, false)
	views["loading"] = loading
	views["failed"], _ = loading.Update(reportLoadedMsg{call: loading.call, day: loading.day, err: &checkout.LedgerError{Op: "reading", Err: fake.ErrDisk}})
	empty, _ := loading.Update(reportLoadedMsg{call: loading.call, day: loading.day, rep: checkout.BuildReport(checkout.DayRecords{}, loc, "2026-11-23", "2026-11-23")})
	views["empty"] = empty
	views["date_prompt"], _ = open.Update(keyMsg("d"))
	bad := views["date_prompt"]
	for _, c := range "2026-13-01" {
		bad, _ = bad.Update(keyMsg(string(c)))
	}
	views["date_bad"], _ = bad.Update(keyMsg("enter"))
	views["settling"], _ = open.Update(keyMsg("s"))
	closing, _ := confirm.Update(keyMsg("enter"))
	views["closing"] = closing
	views["closed_now"], _ = closing.Update(dayClosedMsg{call: closing.call, day: closing.day, z: checkout.DayClose{Seq: 12},
		rep: goldenClosedReport(loc)})
	views["close_failed"], _ = closing.Update(dayClosedMsg{call: closing.call, day: closing.day, err: &checkout.LedgerError{Op: "closing", Err: fake.ErrDisk},
		repErr: fake.ErrDisk})
	end := open
	for range 40 {
		end, _ = end.Update(keyMsg("pgdown"))
	}
	views["scrolled_end"] = end
	views["already_closed"], _ = views["report_closed"].Update(keyMsg("c"))
	return views
}

// reportFrame draws m as the root would: the desk's title over it, the
// help line under it.
func reportFrame(m reportModel, w int) string {
	s := m.deps.styles
	hm := help.New()
	hm.Width = w - 2
	header := s.Header.Render(ansi.Truncate(m.deps.title(), w-2, "…"))
	helpLine := s.HelpLine.Render(ansi.Truncate(hm.ShortHelpView(m.shortHelp()), w-2, "…"))
	return s.App.Render(header + "\n" + m.View() + "\n" + helpLine)
}

func TestReportGoldens(t *testing.T) {
	// Words of the report's English catalogue that must not be left on a
	// Chinese screen (the engine's English reasons aside).
	english := []string{"Day report", "Sales", "Refunds", "Net", "By provider", "By operator", "counter", "peak", "settled",
		"To look at", "Closed", "Close", "refund", "order", "Changes", "scroll", "back", "today", "Reading", "WeChat", "Alipay"}
	for _, lang := range catalog.Langs {
		for _, size := range reportSizes {
			w, h := size[0], size[1]
			for name, m := range reportViews(t, lang, w, h) {
				t.Run(fmt.Sprintf("%s/%dx%d/%s", lang, w, h, name), func(t *testing.T) {
					frame := reportFrame(m, w)
					checkScreen(t, lang, m.View(), m.width, m.height, frame, w, h, english)
					if w == 80 {
						switch name {
						case "report", "report_closed", "close_unsettled", "close_anyway", "close_confirm":
							golden.RequireEqual(t, []byte(frame))
						}
					}
				})
			}
		}
	}
}
