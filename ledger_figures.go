package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"till/catalog"
	"till/checkout"
	"till/ledger"
)

// The figures till ledger copy checks, side by side: the file's and the
// shared ledger's, a row that differs marked ≠.

// stateOrder and refundStateOrder are the order the rows go in: an
// order's life, then any state this till does not know.
var (
	stateOrder = []checkout.State{checkout.StateCreated, checkout.StateAwaiting, checkout.StatePaid,
		checkout.StatePartiallyRefunded, checkout.StateRefunded, checkout.StateClosed, checkout.StateFailed, checkout.StateDisputed}
	refundStateOrder = []checkout.RefundState{checkout.RefundRequested, checkout.RefundSucceeded, checkout.RefundFailed}
)

// figureRow is one line of the table.
type figureRow struct{ label, file, shared string }

// writeFigures prints a's figures (the file's) beside b's (the shared
// ledger's).
func writeFigures(out io.Writer, p *catalog.Printer, cfg *Config, a, b ledger.Figures) {
	rows := []figureRow{{"", p.T("cli.ledger.copy.col.file"), p.T("cli.ledger.copy.col.shared")}}
	add := func(id string, f func(ledger.Figures) string) {
		rows = append(rows, figureRow{p.T(id), f(a), f(b)})
	}
	add("cli.ledger.copy.row.mode", func(f ledger.Figures) string { return modeName(p, f.Mode) })
	add("cli.ledger.copy.row.orders", func(f ledger.Figures) string { return fmt.Sprint(total(f.Orders)) })
	for _, st := range inOrder(stateOrder, a.Orders, b.Orders) {
		rows = append(rows, figureRow{"  " + stateName(p, st), tally(p, a.Orders[st]), tally(p, b.Orders[st])})
	}
	add("cli.ledger.copy.row.refunds", func(f ledger.Figures) string { return fmt.Sprint(total(f.Refunds)) })
	for _, st := range inOrder(refundStateOrder, a.Refunds, b.Refunds) {
		rows = append(rows, figureRow{"  " + refundStateName(p, st), tally(p, a.Refunds[st]), tally(p, b.Refunds[st])})
	}
	add("cli.ledger.copy.row.audit", func(f ledger.Figures) string { return fmt.Sprint(f.Audit) })
	add("cli.ledger.copy.row.head", func(f ledger.Figures) string { return headText(f.Head) })
	add("cli.ledger.copy.row.chain", func(f ledger.Figures) string {
		if f.Chain.OK() {
			return p.T("cli.ledger.copy.chain.ok")
		}
		return p.T("cli.ledger.copy.chain.broken", catalog.V{"N": f.Chain.Broken})
	})
	add("cli.ledger.copy.row.closes", func(f ledger.Figures) string { return fmt.Sprint(f.Closes) })
	add("cli.ledger.copy.row.last_close", func(f ledger.Figures) string { return fmt.Sprint(f.LastClose) })
	add("cli.ledger.copy.row.operators", func(f ledger.Figures) string { return fmt.Sprint(f.Operators) })
	add("cli.ledger.copy.row.pin", func(f ledger.Figures) string { return pinText(p, cfg, f.PIN) })

	var lw, fw int
	for _, r := range rows {
		lw, fw = max(lw, ansi.StringWidth(r.label)), max(fw, ansi.StringWidth(r.file))
	}
	for i, r := range rows {
		line := padRight(r.label, lw+2) + padRight(r.file, fw+2) + r.shared
		if i > 0 && r.file != r.shared {
			line += "  ≠"
		}
		fmt.Fprintln(out, strings.TrimRight(line, " "))
	}
}

// inOrder is the states either side has records in, in order's order.
func inOrder[S ~string](order []S, a, b map[S]ledger.Tally) []S {
	var out []S
	for _, st := range order {
		if _, ok := a[st]; ok {
			out = append(out, st)
		} else if _, ok := b[st]; ok {
			out = append(out, st)
		}
	}
	var other []S
	for _, m := range []map[S]ledger.Tally{a, b} {
		for st := range m {
			if !slices.Contains(order, st) && !slices.Contains(other, st) {
				other = append(other, st)
			}
		}
	}
	slices.Sort(other)
	return append(out, other...)
}

func total[S comparable](m map[S]ledger.Tally) int64 {
	var n int64
	for _, t := range m {
		n += t.Count
	}
	return n
}

func tally(p *catalog.Printer, t ledger.Tally) string {
	return fmt.Sprintf("%d · %s", t.Count, p.Money(t.Amount))
}

// headText is the trail's last entry: its number and the start of its
// hash, enough to tell two heads apart at a glance.
func headText(h ledger.AuditHead) string {
	hash := h.Hash
	if len(hash) > 12 {
		hash = hash[:12]
	}
	return strings.TrimSpace(fmt.Sprintf("#%d %s", h.Seq, hash))
}

func pinText(p *catalog.Printer, cfg *Config, s checkout.PINState) string {
	if s.Hash == "" {
		return p.T("cli.ledger.copy.pin.none")
	}
	at := s.SetAt.In(cfg.location)
	text := p.T("cli.ledger.copy.pin.set", catalog.V{"At": p.Date(at) + " " + p.Clock(at)})
	if s.Failures > 0 {
		text += p.N("cli.ledger.copy.pin.failures", s.Failures)
	}
	return text
}
