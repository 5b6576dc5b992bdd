package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"till/catalog"
	"till/checkout"
)

// closeDayCmd does the Z close from a script: the PIN first, then what is
// unsettled asked about by query, then the day's figures frozen into the
// ledger with the next Z number.
type closeDayCmd struct {
	Day    string `help:"The day to close, YYYY-MM-DD in the shop's time zone (default: today)." placeholder:"YYYY-MM-DD"`
	Anyway bool   `help:"Close even with orders or refunds the providers have not settled: they are kept as unsettled at the close, and listed as changes after it if they land on the day."`
	// ForTerminal closes one counter's day (its own Z, of what
	// `till report --for-terminal` shows) beside the shop's.
	ForTerminal string `name:"for-terminal" help:"Close only counter ID's day: its sales and refunds, in a Z of its own (default: the whole shop)." placeholder:"ID"`
}

func (c *closeDayCmd) Run(cli *CLI, out io.Writer, e errWriter) error {
	return onLedger(cli, out, e, c)
}

func (c *closeDayCmd) needsPIN() bool { return true }

func (c *closeDayCmd) runOn(s *services, out io.Writer) error {
	p, loc := s.p, s.cfg.location
	day, err := s.dayStart(c.Day)
	if err != nil {
		return err
	}
	if err := s.requirePIN(); err != nil {
		return err
	}
	rep, err := s.engine.CounterReport(s.ctx(), day, c.ForTerminal)
	if err != nil {
		return err
	}
	if rep.Unsettled.Count > 0 && !rep.Closed() {
		// Settle first: most of what is open is only waiting for a query.
		// Now, whatever the settling passes' backoff says (a manager is
		// closing the day, as the report's s does).
		pass := s.engine.RecoverNow(s.ctx())
		fmt.Fprintln(s.stderr, p.N("cli.close.settled", len(pass.Settled)+len(pass.Refunds)))
	}
	z, err := s.engine.CloseCounter(s.ctx(), day, c.ForTerminal, c.Anyway)
	var ce *checkout.CloseError
	switch {
	case errors.As(err, &ce) && ce.Code == checkout.CloseUnsettled:
		var b []string
		for _, o := range ce.Left.Orders {
			b = append(b, "  "+p.T("cli.report.unsettled_order", catalog.V{"No": o.No, "Provider": providerLabel(p, o.Method), "Amount": p.Money(o.Amount), "At": o.CreatedAt.In(loc).Format("2006-01-02 15:04"), "State": stateName(p, o.State)}))
		}
		for _, rf := range ce.Left.Refunds {
			b = append(b, "  "+p.T("cli.report.unsettled_refund", catalog.V{"No": rf.No, "Order": rf.OrderNo, "Provider": providerLabel(p, rf.Method), "Amount": p.Money(rf.Amount), "At": rf.CreatedAt.In(loc).Format("2006-01-02 15:04")}))
		}
		for _, l := range b {
			fmt.Fprintln(s.stderr, l)
		}
		return errors.New(p.N("cli.close.unsettled", ce.Left.Count, catalog.V{"Day": c.what(p, ce.Day)}))
	case errors.As(err, &ce) && ce.Code == checkout.CloseAlready:
		return errors.New(p.T("cli.close.already", catalog.V{"Day": c.what(p, ce.Day), "Seq": ce.Z.Seq, "At": ce.Z.ClosedAt.In(loc).Format("2006-01-02 15:04"), "Operator": ce.Z.Operator}))
	case errors.As(err, &ce) && ce.Code == checkout.CloseIdle:
		seen := strings.Join(ce.Counters, ", ")
		if seen == "" {
			seen = p.T("cli.close.no_counters")
		}
		return usageError{errors.New(p.T("cli.close.idle_counter", catalog.V{"Day": ce.Day, "Terminal": ce.Counter, "Counters": seen}))}
	case errors.As(err, &ce) && ce.Code == checkout.CloseFuture:
		return errors.New(p.T("cli.close.future", catalog.V{"Day": ce.Day}))
	case errors.As(err, &ce) && ce.Code == checkout.CloseBefore:
		return errors.New(p.T("cli.close.before_ledger", catalog.V{"Day": ce.Day}))
	case err != nil:
		return err
	}
	if _, end := checkout.DayBounds(day, loc); s.engine.Now().Before(end) {
		fmt.Fprintln(s.stderr, p.T("cli.close.not_over", catalog.V{"Day": z.Day, "Now": p.Clock(s.engine.Now().In(loc))}))
	}
	f := z.Figures
	fmt.Fprintln(out, p.T("cli.close.done", catalog.V{
		"Day": c.what(p, z.Day), "Seq": z.Seq, "Sales": f.Sales.Count, "SalesAmount": p.Money(f.Sales.Amount),
		"Refunds": f.Refunds.Count, "RefundsAmount": p.Money(f.Refunds.Amount), "Net": p.Money(f.NetFen),
	}))
	if n := len(z.Unsettled) + len(z.UnsettledRefunds); n > 0 {
		fmt.Fprintln(out, p.N("cli.close.with_unsettled", n))
	}
	if s.backups != nil {
		// The copy at the close was written (or not) before CloseDay
		// returned: say which, the close stands either way.
		if st := s.backups.Status(); st.Failed {
			fmt.Fprintln(s.stderr, p.T("cli.close.backup_failed", catalog.V{"Err": st.Err, "Dir": st.Dir}))
		} else if st.LastPath != "" {
			fmt.Fprintln(out, p.T("cli.close.backed_up", catalog.V{"Path": st.LastPath}))
		}
	}
	return nil
}

// what names the day being closed: the day, or one counter's day.
func (c *closeDayCmd) what(p *catalog.Printer, day string) string {
	if c.ForTerminal == "" {
		return day
	}
	return p.T("cli.close.counter_day", catalog.V{"Day": day, "Terminal": c.ForTerminal})
}
