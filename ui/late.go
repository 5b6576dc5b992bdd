package ui

import (
	"github.com/charmbracelet/x/ansi"

	"till/catalog"
	"till/checkout"
)

// lateBanner is the line every screen shows while a payment found after
// its sale was closed has not been acknowledged: the customer paid, the
// desk had said CLOSED, and the clerk must know (hand over the goods, or
// call the manager). It names the order and the amount and stays until
// the clerk presses the seen key.
func (m Model) lateBanner(width int) string {
	s := m.deps.styles
	p := m.deps.p
	o := m.late[0]
	v := catalog.V{"Amount": p.Money(o.Amount), "Paid": p.Money(o.ProviderAmount), "Method": methodName(p, o.Method),
		"At": p.Clock(o.PaidAt.In(m.deps.loc)), "More": len(m.late) - 1}
	key := "late.paid"
	switch o.State {
	case checkout.StateDisputed:
		key = "late.disputed"
	case checkout.StateRefunded:
		key = "late.refunded" // no money kept: no goods
	}
	seen := " · " + m.keys.SeenLate.Help().Key + " " + m.keys.SeenLate.Help().Desc
	line := func(no string) string {
		v["No"] = no
		text := p.T(key, v)
		if n := len(m.late) - 1; n > 0 {
			text += " " + p.N("late.more", n)
		}
		return text
	}
	// One line whatever the width: the order number keeps its end (the
	// part that tells orders of one day apart), then the line is cut, but
	// never the key that dismisses it.
	room := width - ansi.StringWidth(seen)
	text := line(p.T("late.order", catalog.V{"No": o.No}))
	if ansi.StringWidth(text) > room && len(o.No) > 10 {
		text = line("…" + o.No[len(o.No)-10:])
	}
	return s.Late.Width(width).Render(ansi.Truncate(text, room, "…") + seen)
}
