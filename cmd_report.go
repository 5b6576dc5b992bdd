package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"till/catalog"
	"till/checkout"
)

// reportCmd prints a day's report (or a range's), from the one place in
// checkout that computes the figures: the manager's screen and the Z
// close show the same numbers.
type reportCmd struct {
	Day  string `help:"The day, YYYY-MM-DD in the shop's time zone (default: today)." placeholder:"YYYY-MM-DD" xor:"range"`
	From string `help:"The first day of a range (with --to)." placeholder:"YYYY-MM-DD" xor:"range" and:"span"`
	To   string `help:"The last day of a range, included." placeholder:"YYYY-MM-DD" and:"span"`
	JSON bool   `name:"json" help:"Print JSON (amounts in integer fen)." xor:"format"`
	CSV  bool   `name:"csv" help:"Print CSV for a spreadsheet (UTF-8, amounts in yuan)." xor:"format"`
	// ForTerminal narrows the report to one counter (--terminal is this
	// process's own identity).
	ForTerminal string `name:"for-terminal" help:"Only what counter ID did: its sales, its refunds (default: the whole shop)." placeholder:"ID"`
}

func (c *reportCmd) Run(cli *CLI, out io.Writer, e errWriter) error { return onLedger(cli, out, e, c) }

func (c *reportCmd) runOn(s *services, out io.Writer) error {
	var (
		r   checkout.DayReport
		err error
	)
	if c.From != "" {
		var first, last time.Time
		if first, err = s.dayStart(c.From); err != nil {
			return err
		}
		if last, err = s.dayStart(c.To); err != nil {
			return err
		}
		r, err = s.engine.ReportFor(s.ctx(), first, last, c.ForTerminal)
	} else {
		var day time.Time
		if day, err = s.dayStart(c.Day); err != nil {
			return err
		}
		r, err = s.engine.CounterReport(s.ctx(), day, c.ForTerminal)
	}
	var de *checkout.DayError
	if errors.As(err, &de) {
		return usageError{errors.New(s.p.T("cli.report.bad_range", catalog.V{"Err": de.Reason}))}
	}
	if err != nil {
		return err
	}
	switch {
	case c.JSON:
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case c.CSV:
		days, err := c.days(s, r)
		if err != nil {
			return err
		}
		return writeReportCSV(out, r, days)
	}
	if r.Terminal != "" {
		fmt.Fprintln(out, s.p.T("cli.report.for_terminal", catalog.V{"Terminal": r.Terminal}))
	}
	writeReportText(out, s, r)
	return nil
}

// dayStart is the first instant of the shop's day arg ("" today).
func (s *services) dayStart(arg string) (time.Time, error) {
	_, from, _, err := s.day(arg)
	return from, err
}

// days are a range's own days, for the CSV's day rows (nil for one day).
func (c *reportCmd) days(s *services, r checkout.DayReport) ([]checkout.DayReport, error) {
	if r.From == "" {
		return nil, nil
	}
	first, _ := checkout.ParseDay(r.From, s.cfg.location)
	last, _ := checkout.ParseDay(r.To, s.cfg.location)
	var out []checkout.DayReport
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		dr, err := s.engine.ReportFor(s.ctx(), d, d, c.ForTerminal) // as the day stands now, as the range is summed
		if err != nil {
			return nil, err
		}
		out = append(out, dr)
	}
	return out, nil
}

// reportCSVHeader is the CSV's first row: one row per group of figures.
var reportCSVHeader = []string{"day", "group", "name", "sales_count", "sales", "refunds_count", "refunds", "net"}

// writeReportCSV writes the figures for a spreadsheet: the totals, each
// provider, each operator, each hour and, for a range, each day; amounts
// in yuan with two decimals (the CSV is the one place they are not fen).
func writeReportCSV(out io.Writer, r checkout.DayReport, days []checkout.DayReport) error {
	w := csv.NewWriter(out)
	day := r.Day
	if day == "" {
		day = r.From + ".." + r.To
	}
	row := func(group, name string, sc int, s checkout.Money, rc int, rf checkout.Money, net checkout.Money) {
		_ = w.Write([]string{day, group, name, strconv.Itoa(sc), s.String(), strconv.Itoa(rc), rf.String(), net.String()})
	}
	_ = w.Write(reportCSVHeader)
	row("total", "", r.Sales.Count, r.Sales.Amount, r.Refunds.Count, r.Refunds.Amount, r.NetFen)
	for _, m := range []checkout.Method{checkout.MethodWeChat, checkout.MethodAlipay} {
		g := r.ByProvider[m]
		row("provider", string(m), g.SalesCount, g.SalesFen, g.RefundsCount, g.RefundsFen, g.NetFen)
	}
	for _, op := range sortedKeys(r.ByOperator) {
		g := r.ByOperator[op]
		row("operator", op, g.SalesCount, g.SalesFen, g.RefundsCount, g.RefundsFen, g.NetFen)
	}
	for _, h := range r.ByHour {
		row("hour", fmt.Sprintf("%02d", h.Hour), h.SalesCount, h.SalesFen, h.RefundsCount, h.RefundsFen, h.SalesFen-h.RefundsFen)
	}
	for _, d := range days {
		row("day", d.Day, d.Sales.Count, d.Sales.Amount, d.Refunds.Count, d.Refunds.Amount, d.NetFen)
	}
	if r.Closed() {
		var sales, refunds int
		var in, outs checkout.Money
		for _, c := range r.ChangesAfterClose {
			switch {
			case c.AmountFen > 0:
				sales++
				in += c.AmountFen
			case c.AmountFen < 0:
				refunds++
				outs -= c.AmountFen
			}
		}
		row("after_close", "", sales, in, refunds, outs, r.ChangesNetFen)
	}
	w.Flush()
	return w.Error()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// writeReportText prints the report for a person at a terminal.
func writeReportText(out io.Writer, s *services, r checkout.DayReport) {
	p, loc := s.p, s.cfg.location
	v := catalog.V{"Day": r.Day, "From": r.From, "To": r.To, "Zone": r.Timezone}
	if r.Day != "" {
		fmt.Fprintln(out, p.T("cli.report.title", v))
	} else {
		fmt.Fprintln(out, p.T("cli.report.title_range", v))
	}
	if z := r.Z; z != nil {
		fmt.Fprintln(out, p.T("cli.report.closed", catalog.V{"Seq": z.Seq, "At": z.ClosedAt.In(loc).Format("2006-01-02 15:04"), "Operator": z.Operator, "Terminal": z.Terminal}))
	}
	if len(r.CounterCloses) > 0 {
		var cs []string
		for _, c := range r.CounterCloses {
			cs = append(cs, p.T("cli.report.counter_closed", catalog.V{"Counter": c.Counter, "Seq": c.Seq, "At": c.ClosedAt.In(loc).Format("2006-01-02 15:04")}))
		}
		fmt.Fprintln(out, p.T("cli.report.counters_closed", catalog.V{"Closes": strings.Join(cs, ", ")}))
	}
	fmt.Fprintln(out)
	money := func(m checkout.Money) string { return fmt.Sprintf("%14s", p.Money(m)) }
	count := func(n int) string { return fmt.Sprintf("%5d", n) }
	label := func(id string) string { return padRight(p.T(id), 12) }
	fmt.Fprintln(out, label("cli.report.sales")+count(r.Sales.Count)+money(r.Sales.Amount))
	fmt.Fprintln(out, label("cli.report.refunds")+count(r.Refunds.Count)+money(-r.Refunds.Amount))
	fmt.Fprintln(out, label("cli.report.net")+"     "+money(r.NetFen))
	group := func(name string, g checkout.GroupFigures) {
		fmt.Fprintln(out, "  "+padRight(name, 12)+count(g.SalesCount)+money(g.SalesFen)+count(g.RefundsCount)+money(-g.RefundsFen)+money(g.NetFen))
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, p.T("cli.report.by_provider"))
	for _, m := range []checkout.Method{checkout.MethodWeChat, checkout.MethodAlipay} {
		group(providerLabel(p, m), r.ByProvider[m])
	}
	if len(r.ByOperator) > 0 {
		fmt.Fprintln(out, p.T("cli.report.by_operator"))
		for _, op := range sortedKeys(r.ByOperator) {
			group(op, r.ByOperator[op])
		}
	}
	var busiest checkout.Money
	for _, h := range r.ByHour {
		busiest = max(busiest, h.SalesFen)
	}
	if busiest > 0 {
		fmt.Fprintln(out, p.T("cli.report.by_hour"))
		for _, h := range r.ByHour {
			if h.SalesCount == 0 && h.RefundsCount == 0 {
				continue
			}
			bar := strings.Repeat("█", int((int64(h.SalesFen)*30+int64(busiest)-1)/int64(busiest)))
			fmt.Fprintf(out, "  %02d:00 %s%s  %s\n", h.Hour, count(h.SalesCount), money(h.SalesFen), bar)
		}
	}
	fmt.Fprintln(out)
	if r.Unsettled.Count == 0 {
		fmt.Fprintln(out, p.T("cli.report.unsettled_none"))
	} else {
		fmt.Fprintln(out, p.N("cli.report.unsettled", r.Unsettled.Count))
	}
	for _, o := range r.Unsettled.Orders {
		fmt.Fprintln(out, "  "+p.T("cli.report.unsettled_order", catalog.V{"No": o.No, "Provider": providerLabel(p, o.Method), "Amount": p.Money(o.Amount), "At": o.CreatedAt.In(loc).Format("2006-01-02 15:04"), "State": stateName(p, o.State)}))
	}
	for _, rf := range r.Unsettled.Refunds {
		fmt.Fprintln(out, "  "+p.T("cli.report.unsettled_refund", catalog.V{"No": rf.No, "Order": rf.OrderNo, "Provider": providerLabel(p, rf.Method), "Amount": p.Money(rf.Amount), "At": rf.CreatedAt.In(loc).Format("2006-01-02 15:04")}))
	}
	a := r.Anomalies
	if a.Count == 0 {
		fmt.Fprintln(out, p.T("cli.report.anomalies_none"))
	} else {
		fmt.Fprintln(out, p.N("cli.report.anomalies", a.Count))
	}
	for _, o := range a.Disputed {
		fmt.Fprintln(out, "  "+p.T("cli.report.disputed", catalog.V{"No": o.No, "Amount": p.Money(o.Amount), "Paid": p.Money(o.ProviderAmount), "Provider": providerLabel(p, o.Method)}))
	}
	for _, o := range a.LatePayments {
		fmt.Fprintln(out, "  "+p.T("cli.report.late", catalog.V{"No": o.No, "Amount": p.Money(o.Amount), "At": p.Clock(o.PaidAt.In(loc))}))
	}
	for _, rf := range a.FailedRefunds {
		fmt.Fprintln(out, "  "+p.T("cli.report.refund_failed", catalog.V{"No": rf.No, "Order": rf.OrderNo, "Amount": p.Money(rf.Amount), "Reason": rf.FailReason}))
	}
	for _, rf := range a.DisputedRefunds {
		fmt.Fprintln(out, "  "+p.T("cli.report.disputed_refund", catalog.V{"No": rf.No, "Order": rf.OrderNo, "Amount": p.Money(rf.Amount)}))
	}
	if r.Closed() {
		fmt.Fprintln(out, p.N("cli.report.changes", len(r.ChangesAfterClose), catalog.V{"Net": signed(p, r.ChangesNetFen)}))
		for _, c := range r.ChangesAfterClose {
			fmt.Fprintln(out, "  "+p.T(changeIDs[c.Kind], catalog.V{"Order": c.Order, "Refund": c.Refund, "Amount": signed(p, c.AmountFen), "At": whenAt(p, c.At, loc)}))
		}
	}
}

// changeIDs word each kind of change after a close.
var changeIDs = map[checkout.ChangeKind]string{
	checkout.ChangeSale:          "cli.report.change.sale",
	checkout.ChangeRefund:        "cli.report.change.refund",
	checkout.ChangeDisputed:      "cli.report.change.disputed",
	checkout.ChangeSettled:       "cli.report.change.settled",
	checkout.ChangeSaleGone:      "cli.report.change.sale_gone",
	checkout.ChangeRefundGone:    "cli.report.change.refund_gone",
	checkout.ChangeRefundSettled: "cli.report.change.refund_settled",
}

// signed writes an amount with its sign: a change adds or takes away.
func signed(p *catalog.Printer, m checkout.Money) string {
	if m > 0 {
		return "+" + p.Money(m)
	}
	return p.Money(m)
}

func whenAt(p *catalog.Printer, t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format("2006-01-02 15:04")
}

// providerIDs name the providers on the command line.
var providerIDs = map[checkout.Method]string{
	checkout.MethodWeChat: "cli.provider.wechat",
	checkout.MethodAlipay: "cli.provider.alipay",
}

func providerLabel(p *catalog.Printer, m checkout.Method) string {
	if id, ok := providerIDs[m]; ok {
		return p.T(id)
	}
	return m.Label()
}

// padRight pads s to w columns (CJK counts two).
func padRight(s string, w int) string {
	if n := w - ansi.StringWidth(s); n > 0 {
		return s + strings.Repeat(" ", n)
	}
	return s + " "
}
