package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"till/catalog"
	"till/checkout"
)

// nextSaleMsg asks the root for a fresh sale screen with a notice.
type nextSaleMsg struct{ notice string }

// resultModel shows how a sale ended, as the payment screens of counter
// terminals do: a band of colour the width of the window with the outcome
// and the amount in large figures, readable from a metre away, and the
// details below it.
type resultModel struct {
	deps          deps
	keys          resultKeys
	order         checkout.Order
	err           error // why a payment code was refused, in the clerk's words
	width, height int   // the body's room
}

func newResult(d deps, o checkout.Order) resultModel {
	return resultModel{deps: d, keys: defaultResultKeys(d.p), order: o}
}

func (m resultModel) shortHelp() []key.Binding { return []key.Binding{m.keys.Next} }

// Update has nothing to do: the root leaves the screen on a key itself, in
// the same Update, so that no key typed right after is lost.
func (m resultModel) Update(tea.Msg) (resultModel, tea.Cmd) { return m, nil }

// outcome is the band's colour, its headline and the figure it shows.
func (m resultModel) outcome() (band, headline string, figure checkout.Money) {
	p := m.deps.p
	o := m.order
	if o.Way == checkout.WayCode {
		switch o.State {
		case checkout.StateClosed:
			if o.Reversed() {
				return "closed", p.T("result.code_reversed"), o.Amount
			}
			return "failed", p.T("result.code_not_paid"), o.Amount
		case checkout.StateFailed:
			return "failed", p.T("result.code_not_paid"), o.Amount
		case checkout.StateRefunded:
			return "refunded", p.T("result.code_returned"), o.Refunded
		}
	}
	switch o.State {
	case checkout.StatePaid:
		return "paid", p.T("result.paid"), o.Amount
	case checkout.StateRefunded, checkout.StatePartiallyRefunded:
		return "refunded", p.T("result.refunded"), o.Refunded
	case checkout.StateFailed:
		return "failed", p.T("result.not_created"), o.Amount
	case checkout.StateDisputed:
		return "failed", p.T("result.disputed"), o.ProviderAmount
	case checkout.StateClosed:
		return "closed", p.T("result.closed"), o.Amount
	}
	return "closed", strings.ToUpper(string(o.State)), o.Amount
}

func (m resultModel) detail() string {
	p := m.deps.p
	o := m.order
	v := catalog.V{"Method": methodName(p, o.Method), "No": o.No, "Reason": m.reason(),
		"Amount": p.Money(o.Amount), "Paid": p.Money(o.ProviderAmount), "Tail": o.CodeTail}
	if o.Way == checkout.WayCode {
		switch o.State {
		case checkout.StatePaid:
			v["At"] = p.Clock(o.PaidAt.In(m.deps.loc))
			return p.T("result.code_paid_detail", v)
		case checkout.StateFailed:
			if m.err != nil {
				v["Reason"] = describe(p, m.err, o.Method)
			}
			return p.T("result.code_refused_detail", v)
		case checkout.StateClosed:
			switch o.Reason {
			case checkout.ReasonCodeReversed:
				return p.T("result.code_reversed_detail", v)
			case checkout.ReasonCodeCancelled:
				return p.T("result.code_cancelled_detail", v)
			}
			return p.T("result.code_closed_detail", v)
		case checkout.StateRefunded:
			return p.T("result.code_returned_detail", v)
		}
	}
	switch o.State {
	case checkout.StatePaid:
		v["At"] = p.Clock(o.PaidAt.In(m.deps.loc))
		return p.T("result.paid_detail", v)
	case checkout.StateRefunded, checkout.StatePartiallyRefunded:
		return p.T("result.refunded_detail", v)
	case checkout.StateFailed:
		return p.T("result.not_created_detail", v)
	case checkout.StateDisputed:
		return p.T("result.disputed_detail", v)
	case checkout.StateClosed:
		if !o.RecheckAt.IsZero() {
			// Alipay before the scan: closing locked nothing.
			v["Until"] = p.Clock(o.RecheckAt.In(m.deps.loc))
			return p.T("result.closed_may_pay", v)
		}
		return p.T("result.closed_detail", v)
	}
	return p.T("result.order", v)
}

// reason words why an order closed or failed. The engine's reasons are
// fixed phrases; a provider's refusal is kept as the engine recorded it.
func (m resultModel) reason() string {
	p := m.deps.p
	r := m.order.Reason
	switch {
	case r == "cancelled by clerk":
		return p.T("reason.cancelled")
	case r == "timed out":
		return p.T("reason.timed_out")
	case r == "settled by recovery":
		return p.T("reason.recovery")
	case strings.HasPrefix(r, "closed by the provider"):
		return p.T("reason.provider_closed")
	case strings.HasPrefix(r, "refused by provider: ") && m.order.Way == checkout.WayCode:
		return strings.TrimPrefix(r, "refused by provider: ") // the adapter's words for the clerk
	case strings.HasPrefix(r, "refused by provider"):
		return p.T("reason.refused")
	}
	return r
}

func (m resultModel) View() string {
	s := m.deps.styles
	band, headline, figure := m.outcome()
	st := s.Band[band]
	w := max(m.width, 20)
	line := func(text string) string { return st.Width(w).Render(ansi.Truncate(text, w, "…")) }
	amount := m.deps.p.Money(figure)
	mark := map[string]string{"paid": "✓ ", "failed": "✗ ", "refunded": "↺ "}[band]
	headRow := line("  " + mark + headline + "  " + amount + "   " + methodName(m.deps.p, m.order.Method))
	detail := s.Row.Width(w).Render(m.detail())
	// The band, big figures and blank lines as room allows; the headline
	// with the amount and the detail always.
	need := lipgloss.Height(detail) + 2
	// The figures as large as the window allows: double size in a big
	// window, the half-block font in most, the plain amount in a narrow
	// one.
	figures := func(text string) []string {
		var out []string
		for _, r := range strings.Split(text, "\n") {
			out = append(out, line("  "+r))
		}
		return out
	}
	var big []string
	switch {
	case 2*bigWidth(amount)+4 <= w && need+hugeRows+5 <= m.height:
		big = append([]string{line("")}, append(figures(hugeText(amount)), line(""))...)
	case bigWidth(amount)+4 <= w:
		big = figures(bigText(amount))
	default:
		big = []string{line("  " + amount)}
	}
	var rows []string
	switch {
	case m.height <= 0 || need+len(big)+3 <= m.height:
		rows = append(append([]string{line(""), headRow}, big...), line(""), "", detail)
	case need+len(big) <= m.height:
		rows = append(append([]string{headRow}, big...), detail)
	default:
		rows = []string{headRow, detail}
	}
	return strings.Join(rows, "\n")
}
