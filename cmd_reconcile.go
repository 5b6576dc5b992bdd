package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"till/catalog"
	"till/checkout"
	"till/reconcile"
)

// exitIncomplete is reconcile's exit code when a provider's bill is not
// ready yet and nothing that was compared differs: neither "agree" (0)
// nor "differ" (1). A bill that fails to download or read is 1.
const exitIncomplete = 3

// reconcileCmd compares the providers' bills of a day with the ledger.
type reconcileCmd struct {
	Day    string `help:"The bill day, YYYY-MM-DD in China time (the providers' bills are China days, whatever the shop's zone); default: yesterday." placeholder:"YYYY-MM-DD"`
	JSON   bool   `name:"json" help:"Print JSON (amounts in integer fen)."`
	Settle bool   `help:"Settle by query, with the same numbers, what a query can settle; then say what is left for a person."`
}

func (c *reconcileCmd) Run(cli *CLI, out io.Writer, e errWriter) error {
	return onLedger(cli, out, e, c)
}

func (c *reconcileCmd) runOn(s *services, out io.Writer) error {
	day := c.Day
	if day == "" {
		day = s.engine.Now().In(checkout.BillZone).AddDate(0, 0, -1).Format(checkout.DayLayout)
	} else if _, _, err := checkout.BillDayBounds(day); err != nil {
		return usageError{errors.New(s.p.T("cli.day.bad", catalog.V{"Day": day}))}
	}
	billers := s.engine.Billers()
	if len(billers) == 0 {
		return errors.New(s.p.T("cli.reconcile.no_providers"))
	}
	var settler reconcile.Settler
	if c.Settle {
		settler = s.engine
	}
	res, err := reconcile.Run(s.ctx(), day, billers, reconcile.FromLedger(s.ledger), settler)
	if err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			reconcile.Result
			Agrees bool `json:"agrees"`
		}{res, res.Agrees()}); err != nil {
			return err
		}
	} else {
		writeReconcileText(out, s.p, res, c.Settle)
	}
	failed := slices.ContainsFunc(res.Providers, func(p reconcile.Provider) bool { return p.Err != "" || p.NotConfigured })
	switch {
	case len(res.Diffs) > 0, failed:
		// A bill that was had and does not read, or whose download
		// failed, is a failure, not "not ready yet".
		return exitError{exitFail}
	case !res.Complete():
		return exitError{exitIncomplete}
	}
	return nil
}

var diffKeys = map[reconcile.Kind]string{
	reconcile.MissingHere:         "cli.reconcile.kind.missing_here",
	reconcile.MissingThere:        "cli.reconcile.kind.missing_there",
	reconcile.AmountDiffers:       "cli.reconcile.kind.amount",
	reconcile.StateDiffers:        "cli.reconcile.kind.state",
	reconcile.RefundMissingHere:   "cli.reconcile.kind.refund_missing_here",
	reconcile.RefundMissingThere:  "cli.reconcile.kind.refund_missing_there",
	reconcile.RefundAmountDiffers: "cli.reconcile.kind.refund_amount",
	reconcile.RefundStateDiffers:  "cli.reconcile.kind.refund_state",
	reconcile.ListedTwice:         "cli.reconcile.kind.listed_twice",
	reconcile.RefundListedTwice:   "cli.reconcile.kind.refund_listed_twice",
}

// diffLine words one difference for a person.
func diffLine(p *catalog.Printer, d reconcile.Difference) string {
	state := d.LedgerState
	if d.RefundNo != "" {
		state = refundStateName(p, checkout.RefundState(state))
	} else if state != "" {
		state = stateName(p, checkout.State(state))
	}
	return p.T(diffKeys[d.Kind], catalog.V{
		"Provider": providerLabel(p, d.Method), "Order": d.OrderNo, "Refund": d.RefundNo,
		"Bill": p.Money(d.BillFen), "Ledger": p.Money(d.LedgerFen), "State": state,
	})
}

func writeReconcileText(out io.Writer, p *catalog.Printer, res reconcile.Result, settled bool) {
	fmt.Fprintln(out, p.T("cli.reconcile.title", catalog.V{"Day": res.Day}))
	fmt.Fprintln(out)
	side := func(s reconcile.Side) catalog.V {
		return catalog.V{"Payments": s.Payments, "PaymentsAmount": p.Money(s.PaymentsFen), "Refunds": s.Refunds, "RefundsAmount": p.Money(s.RefundsFen)}
	}
	for _, pr := range res.Providers {
		name := padRight(providerLabel(p, pr.Method), 12)
		switch {
		case pr.NotReady:
			fmt.Fprintln(out, name+p.T("cli.reconcile.not_ready", catalog.V{"Day": res.Day}))
		case pr.NotConfigured:
			fmt.Fprintln(out, name+p.T("cli.reconcile.not_configured", side(pr.Ledger)))
		case pr.Err != "":
			fmt.Fprintln(out, name+p.T("cli.reconcile.failed", catalog.V{"Err": pr.Err}))
		default:
			fmt.Fprintln(out, name+p.T("cli.reconcile.bill", side(pr.Bill)))
			fmt.Fprintln(out, padRight("", 12)+p.T("cli.reconcile.ledger", side(pr.Ledger)))
		}
	}
	fmt.Fprintln(out)
	if len(res.Settled) > 0 {
		fmt.Fprintln(out, p.N("cli.reconcile.settled", len(res.Settled)))
		for _, d := range res.Settled {
			fmt.Fprintln(out, "  "+diffLine(p, d)+p.T("cli.reconcile.now_agrees"))
		}
		fmt.Fprintln(out)
	}
	switch {
	case len(res.Diffs) > 0:
		fmt.Fprintln(out, p.N("cli.reconcile.differences", len(res.Diffs)))
		byQuery := 0
		for _, d := range res.Diffs {
			line := "  " + diffLine(p, d)
			if d.ByQuery {
				byQuery++
				line += p.T("cli.reconcile.by_query")
			}
			fmt.Fprintln(out, line)
		}
		if byQuery > 0 && !settled {
			fmt.Fprintln(out, p.T("cli.reconcile.hint_settle"))
		}
		if left := len(res.Diffs) - byQuery; left > 0 || settled {
			fmt.Fprintln(out, p.N("cli.reconcile.for_a_person", left))
		}
	case res.Complete():
		fmt.Fprintln(out, p.T("cli.reconcile.agree"))
	default:
		fmt.Fprintln(out, p.T("cli.reconcile.incomplete"))
	}
}
