package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"till/catalog"
	"till/checkout"
)

// ordersCmd lists one day's orders (by the day they were created, in the
// shop's zone) with their refunds.
type ordersCmd struct {
	Day  string `help:"The day, YYYY-MM-DD in the shop's time zone (default: today)." placeholder:"YYYY-MM-DD"`
	JSON bool   `name:"json" help:"Print JSON." xor:"format"`
	CSV  bool   `name:"csv" help:"Print CSV, one row per order and per refund." xor:"format"`
}

func (c *ordersCmd) Run(cli *CLI, out io.Writer, e errWriter) error { return onLedger(cli, out, e, c) }

// orderWithRefunds is an order as the command prints it.
type orderWithRefunds struct {
	checkout.Order
	Refunds []checkout.Refund `json:"refunds"`
}

func (c *ordersCmd) runOn(s *services, out io.Writer) error {
	day, from, _, err := s.day(c.Day)
	if err != nil {
		return err
	}
	// Through the engine: a sale on the desk's screen is awaiting there,
	// though the ledger has it created until it settles.
	orders, err := s.engine.OrdersOn(s.ctx(), from)
	if err != nil {
		return err
	}
	slices.Reverse(orders) // oldest first, as a day is read
	list := make([]orderWithRefunds, 0, len(orders))
	for _, o := range orders {
		rs, err := s.ledger.Refunds(s.ctx(), o.No)
		if err != nil {
			return err
		}
		list = append(list, orderWithRefunds{Order: o, Refunds: rs})
	}
	switch {
	case c.JSON:
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Day      string             `json:"day"`
			Timezone string             `json:"timezone"`
			Currency string             `json:"currency"`
			Orders   []orderWithRefunds `json:"orders"`
		}{day, s.cfg.location.String(), "CNY", list})
	case c.CSV:
		return writeOrdersCSV(out, list, s.cfg.location)
	}
	return writeOrdersText(out, s, day, list)
}

func writeOrdersText(out io.Writer, s *services, day string, list []orderWithRefunds) error {
	p, loc := s.p, s.cfg.location
	paid, net := 0, checkout.Money(0)
	for _, o := range list {
		if o.State.WasPaid() {
			paid++
			net += o.Amount - o.Refunded
		}
	}
	fmt.Fprintln(out, p.N("cli.orders.title", len(list), catalog.V{"Day": day, "Zone": loc.String(), "Paid": paid, "Net": p.Money(net)}))
	for _, o := range list {
		when := ""
		if !o.PaidAt.IsZero() {
			when = " " + p.T("cli.orders.paid_at", catalog.V{"At": p.Clock(o.PaidAt.In(loc))})
		}
		line := fmt.Sprintf("%s  %s  %-10s %10s  %s%s", p.Clock(o.CreatedAt.In(loc)), o.No, o.Method.Label(), p.Money(o.Amount), orderState(p, o.Order), when)
		if o.Operator != "" {
			line += "  " + o.Operator
		}
		if o.Note != "" {
			line += "  " + o.Note
		}
		fmt.Fprintln(out, line)
		for _, r := range o.Refunds {
			fmt.Fprintln(out, "       ↳ "+refundLine(p, r, loc))
		}
	}
	return nil
}

// cliStateKeys name the states on the command line.
var cliStateKeys = map[checkout.State]string{
	checkout.StateCreated:           "cli.state.created",
	checkout.StateAwaiting:          "cli.state.awaiting",
	checkout.StatePaid:              "cli.state.paid",
	checkout.StatePartiallyRefunded: "cli.state.partially_refunded",
	checkout.StateRefunded:          "cli.state.refunded",
	checkout.StateClosed:            "cli.state.closed",
	checkout.StateFailed:            "cli.state.failed",
	checkout.StateDisputed:          "cli.state.disputed",
}

var refundStateKeys = map[checkout.RefundState]string{
	checkout.RefundRequested: "cli.refund_state.requested",
	checkout.RefundSucceeded: "cli.refund_state.succeeded",
	checkout.RefundFailed:    "cli.refund_state.failed",
}

// stateName names a state, or gives its word when the catalogue has none.
func stateName(p *catalog.Printer, st checkout.State) string {
	if k, ok := cliStateKeys[st]; ok {
		return p.T(k)
	}
	return string(st)
}

// refundStateName names a refund's state, or gives its word when the
// catalogue has none.
func refundStateName(p *catalog.Printer, st checkout.RefundState) string {
	if k, ok := refundStateKeys[st]; ok {
		return p.T(k)
	}
	return string(st)
}

// orderState names an order's state for the command line.
func orderState(p *catalog.Printer, o checkout.Order) string {
	s := stateName(p, o.State)
	switch {
	case o.State == checkout.StateDisputed:
		s += p.T("cli.orders.provider_says", catalog.V{"Amount": p.Money(o.ProviderAmount)})
	case o.Late:
		s += p.T("cli.orders.late")
	}
	if o.Refunded > 0 {
		// The language's brackets carry their own spacing.
		s += p.T("cli.orders.refunded", catalog.V{"Amount": p.Money(o.Refunded)})
	}
	return s
}

// refundLine is one refund in a listing.
func refundLine(p *catalog.Printer, r checkout.Refund, loc *time.Location) string {
	at := r.CreatedAt
	if !r.SucceededAt.IsZero() {
		at = r.SucceededAt
	}
	line := p.T("cli.orders.refund", catalog.V{"No": r.No, "Amount": p.Money(r.Amount), "State": p.T(refundStateKeys[r.State]), "At": p.Clock(at.In(loc))})
	if r.Reason != "" {
		line += "  " + strconv.Quote(r.Reason)
	}
	if r.Operator != "" {
		line += "  " + r.Operator
	}
	return line
}

func writeOrdersCSV(out io.Writer, list []orderWithRefunds, loc *time.Location) error {
	w := csv.NewWriter(out)
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(loc).Format(time.RFC3339)
	}
	_ = w.Write([]string{"kind", "no", "order_no", "created_at", "paid_at", "succeeded_at", "terminal", "operator", "method",
		"amount_fen", "amount", "state", "refunded_fen", "provider_no", "note", "reason"})
	for _, o := range list {
		_ = w.Write([]string{"order", o.No, o.No, stamp(o.CreatedAt), stamp(o.PaidAt), "", o.Terminal, o.Operator, string(o.Method),
			strconv.FormatInt(int64(o.Amount), 10), o.Amount.String(), string(o.State), strconv.FormatInt(int64(o.Refunded), 10),
			o.ProviderTradeNo, csvSafe(o.Note), csvSafe(o.Reason)})
		for _, r := range o.Refunds {
			_ = w.Write([]string{"refund", r.No, r.OrderNo, stamp(r.CreatedAt), "", stamp(r.SucceededAt), r.Terminal, r.Operator, string(r.Method),
				strconv.FormatInt(int64(r.Amount), 10), r.Amount.String(), string(r.State), "", r.ProviderRefundNo, "", csvSafe(r.Reason)})
		}
	}
	w.Flush()
	return w.Error()
}

// csvSafe keeps a clerk's text from being read as a formula by a
// spreadsheet (=, +, -, @ at the start).
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
