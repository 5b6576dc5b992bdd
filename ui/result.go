package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"till/checkout"
)

// nextSaleMsg asks the root for a fresh sale screen. Sent by the result
// and problem screens.
type nextSaleMsg struct{ notice string }

// resultModel shows how a sale ended, large enough to read across the
// counter.
type resultModel struct {
	deps  deps
	keys  resultKeys
	order checkout.Order
	width int
}

func newResult(d deps, o checkout.Order) resultModel {
	return resultModel{deps: d, keys: defaultResultKeys(), order: o}
}

func (m resultModel) shortHelp() []key.Binding { return []key.Binding{m.keys.Next} }

func (m resultModel) Update(msg tea.Msg) (resultModel, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok && key.Matches(k, m.keys.Next) {
		return m, func() tea.Msg { return nextSaleMsg{} }
	}
	return m, nil
}

func (m resultModel) View() string {
	s := m.deps.styles
	o := m.order
	var headline, detail string
	style := s.Closed
	switch o.State {
	case checkout.StatePaid:
		style = s.Paid
		headline = "PAID  " + o.Amount.Yuan()
		detail = o.Method.Label() + " · order " + o.No
	case checkout.StateRefunded, checkout.StatePartiallyRefunded:
		style = s.Failed
		headline = "PAID, THEN REFUNDED  " + o.Refunded.Yuan()
		detail = fmt.Sprintf("The customer paid as the sale was closed and %s refunded it.\nNo money was kept. Order %s", o.Method.Label(), o.No)
	case checkout.StateFailed:
		style = s.Failed
		headline = "NOT CREATED"
		detail = o.Reason + "\nOrder " + o.No + ". Nothing was charged."
	case checkout.StateDisputed:
		style = s.Failed
		headline = "AMOUNT DISPUTED  " + o.ProviderAmount.Yuan() + " PAID"
		detail = fmt.Sprintf("%s reports %s paid for this %s sale. It is not counted as a sale. "+
			"Do not hand over goods; a manager must check order %s.", o.Method.Label(), o.ProviderAmount.Yuan(), o.Amount.Yuan(), o.No)
	case checkout.StateClosed:
		headline = "CLOSED  " + o.Amount.Yuan()
		detail = fmt.Sprintf("Not paid; %s. The code can no longer be paid.\nOrder %s", o.Reason, o.No)
		if !o.RecheckAt.IsZero() {
			// Alipay before the scan: closing locked nothing.
			detail = fmt.Sprintf("Not paid; %s. %s may still accept this code until about %s; "+
				"till checks it again then and says so if it was paid. Order %s",
				o.Reason, o.Method.Label(), o.RecheckAt.In(m.deps.loc).Format("15:04"), o.No)
		}
	default:
		headline = strings.ToUpper(string(o.State)) + "  " + o.Amount.Yuan()
		detail = "Order " + o.No
	}
	return style.Render(headline) + "\n\n" + s.Row.Width(m.width).Render(strings.TrimSpace(detail))
}
