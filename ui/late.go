package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"till/checkout"
)

// lateBanner is the line every screen shows while a payment found after
// its sale was closed has not been acknowledged: the customer paid, the
// desk had said CLOSED, and the clerk must know (hand over the goods, or
// call the manager). It names the order and the amount and stays until
// the clerk presses the seen key.
func (m Model) lateBanner(width int) string {
	s := m.deps.styles
	o := m.late[0]
	what := fmt.Sprintf("%s %s %s", o.Amount.Yuan(), o.Method.Label(), o.PaidAt.In(m.deps.loc).Format("15:04"))
	switch o.State {
	case checkout.StateDisputed:
		what = fmt.Sprintf("%s NOT %s, %s", o.ProviderAmount.Yuan(), o.Amount.Yuan(), o.Method.Label())
	case checkout.StateRefunded:
		what += ", REFUNDED BY " + strings.ToUpper(o.Method.Label()) // no money kept: no goods
	}
	more := ""
	if n := len(m.late) - 1; n > 0 {
		more = fmt.Sprintf(" (+%d)", n)
	}
	seen := " · " + m.keys.SeenLate.Help().Key + " " + m.keys.SeenLate.Help().Desc
	line := func(no string) string {
		return "⚠ PAID AFTER IT WAS CLOSED " + what + " · " + no + more
	}
	// One line whatever the width: the order number keeps its end (the
	// part that tells orders of one day apart), then the line is cut, but
	// never the key that dismisses it.
	room := width - ansi.StringWidth(seen)
	text := line("order " + o.No)
	if ansi.StringWidth(text) > room && len(o.No) > 10 {
		text = line("…" + o.No[len(o.No)-10:])
	}
	return s.Late.Width(width).Render(ansi.Truncate(text, room, "…") + seen)
}
