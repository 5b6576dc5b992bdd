package ui

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"till/catalog"
	"till/checkout"
)

// The refund screen: the amount (prefilled with what is left), a reason
// from a short list or typed, a confirmation naming the money and the
// provider; then the refund's progress until the provider has said how it
// ended. An unknown outcome is asked about again with the same refund
// number, never sent as a new refund; a refund the provider still
// processes is handed to the settling passes when the manager leaves.

type refundStep int

const (
	refundAmount  refundStep = iota // how much
	refundReason                    // why, from the list
	refundOther                     // why, typed
	refundConfirm                   // the last word before the money moves
	refundRunning                   // sent; waiting for the provider's word
	refundDone                      // succeeded or failed
)

// refundReasons are the short list, by catalogue id; the last is "other".
var refundReasons = []string{"refund.reason.returned", "refund.reason.wrong_amount", "refund.reason.duplicate", "refund.reason.service", "refund.reason.typed"}

// refundAnsweredMsg is the answer to a refund or to a poll of it. Sent by
// refundCmd and refundPollCmd; handled by the refund screen.
type refundAnsweredMsg struct {
	call   uint64 // the refund screen's call it answers (refundModel.call)
	refund checkout.Refund
	order  checkout.Order
	err    error
}

// refundCalls numbers the refund screens' calls, so that an answer that
// comes after its screen was left is known for an orphan.
var refundCalls atomic.Uint64

// refundTickMsg is the timer of the next poll of refund no.
type refundTickMsg struct{ no string }

// refundPollEvery and refundWatch: a refund still in progress is asked
// about so often, and the screen keeps asking for so long before it says
// the settling passes will finish it.
const (
	refundPollEvery = 2 * time.Second
	refundWatch     = 30 * time.Second
)

func refundCmd(ctx context.Context, e *checkout.Engine, call uint64, no string, amount checkout.Money, reason string) tea.Cmd {
	return func() tea.Msg {
		c, cancel := withDeadline(ctx)
		defer cancel()
		// The counter's operator, in manager mode: the audit line says a
		// manager's PIN let it through.
		c = checkout.WithActor(c, checkout.Actor{Terminal: e.Config().Terminal, Operator: e.Operator(), Via: "desk manager"})
		r, o, err := e.Refund(c, no, amount, reason)
		if r.No != "" {
			e.WatchRefund(r.No) // this screen asks about it from now on
		}
		return refundAnsweredMsg{call: call, refund: r, order: o, err: err}
	}
}

func refundPollCmd(ctx context.Context, e *checkout.Engine, call uint64, no string) tea.Cmd {
	return func() tea.Msg {
		c, cancel := withDeadline(ctx)
		defer cancel()
		r, o, err := e.PollRefund(c, no)
		return refundAnsweredMsg{call: call, refund: r, order: o, err: err}
	}
}

func refundTick(no string) tea.Cmd {
	return tea.Tick(refundPollEvery, func(time.Time) tea.Msg { return refundTickMsg{no: no} })
}

type refundKeys struct {
	Next, Back, Confirm, Choose key.Binding
}

func defaultRefundKeys(p *catalog.Printer) refundKeys {
	return refundKeys{
		Next:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", p.T("key.next"))),
		Back:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", p.T("key.back"))),
		Confirm: key.NewBinding(key.WithKeys("enter", "y"), key.WithHelp("enter", p.T("key.refund_now"))),
		Choose:  key.NewBinding(key.WithKeys("1", "2", "3", "4", "5"), key.WithHelp("1-5", p.T("key.choose"))),
	}
}

type refundModel struct {
	deps    deps
	keys    refundKeys
	hist    checkout.OrderHistory
	left    checkout.Money
	step    refundStep
	amount  textinput.Model
	other   textinput.Model
	reason  string
	money   checkout.Money // the amount confirmed
	err     string
	spinner spinner.Model

	refund  checkout.Refund
	order   checkout.Order
	callErr error     // the last call's trouble while the refund is in progress
	since   time.Time // when it was sent
	polling bool
	call    uint64 // the call in flight or last made, see refundCalls
	width   int
	height  int

	leave bool // intent: back to the order (the root reloads it)
}

func newRefund(d deps, h checkout.OrderHistory) refundModel {
	left := checkout.RefundLeft(h.Order, h.Refunds)
	am := textinput.New()
	am.Prompt, am.CharLimit = "¥ ", maxAmountChars
	am.SetValue(left.String())
	am.CursorEnd()
	am.Focus()
	other := textinput.New()
	other.Prompt, other.CharLimit = "", checkout.MaxReasonRunes
	return refundModel{deps: d, keys: defaultRefundKeys(d.p), hist: h, left: left, amount: am, other: other,
		spinner: spinner.New(spinner.WithSpinner(spinner.Dot))}
}

func (m refundModel) shortHelp() []key.Binding {
	switch m.step {
	case refundReason:
		return []key.Binding{m.keys.Choose, m.keys.Back}
	case refundConfirm:
		return []key.Binding{m.keys.Confirm, m.keys.Back}
	case refundRunning, refundDone:
		return []key.Binding{m.keys.Back}
	}
	return []key.Binding{m.keys.Next, m.keys.Back}
}

// busy reports a refund sent and not yet settled: manager mode running out
// does not take this screen away.
func (m refundModel) busy() bool { return m.step == refundRunning }

func (m refundModel) Update(msg tea.Msg) (refundModel, tea.Cmd) {
	switch msg := msg.(type) {
	case spinner.TickMsg:
		if m.step != refundRunning {
			return m, nil
		}
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		return m, cmd
	case refundAnsweredMsg:
		return m.answered(msg)
	case refundTickMsg:
		if m.step != refundRunning || msg.no != m.refund.No || m.polling {
			return m, nil
		}
		m.polling = true
		m.call = refundCalls.Add(1)
		return m, refundPollCmd(m.deps.ctx, m.deps.engine, m.call, m.refund.No)
	case tea.KeyMsg:
		return m.key(msg)
	}
	return m, nil
}

func (m refundModel) key(k tea.KeyMsg) (refundModel, tea.Cmd) {
	p := m.deps.p
	back := key.Matches(k, m.keys.Back)
	switch m.step {
	case refundAmount:
		if back {
			m.leave = true
			return m, nil
		}
		if key.Matches(k, m.keys.Next) {
			amount, err := checkout.ParseMoney(m.amount.Value(), 0)
			switch {
			case err != nil:
				m.err = describe(p, err, "")
			case amount > m.left:
				m.err = p.T("refund.above_left", catalog.V{"Left": p.Money(m.left), "Amount": p.Money(amount)})
			case m.hist.Order.State == checkout.StateDisputed && amount != m.left:
				m.err = p.T("refund.disputed_full", catalog.V{"Left": p.Money(m.left)})
			default:
				m.money, m.err, m.step = amount, "", refundReason
			}
			return m, nil
		}
		var cmd tea.Cmd
		m.amount, cmd = m.amount.Update(k)
		return m, cmd
	case refundReason:
		if back {
			m.step = refundAmount
			return m, nil
		}
		if k.Type == tea.KeyRunes && len(k.Runes) == 1 && k.Runes[0] >= '1' && int(k.Runes[0]-'1') < len(refundReasons) {
			i := int(k.Runes[0] - '1')
			if i == len(refundReasons)-1 {
				m.step = refundOther
				return m, m.other.Focus()
			}
			m.reason, m.step = p.T(refundReasons[i]), refundConfirm
		}
		return m, nil
	case refundOther:
		if back {
			m.other.Blur()
			m.step = refundReason
			return m, nil
		}
		if key.Matches(k, m.keys.Next) {
			reason, err := checkout.CheckReason(m.other.Value())
			if err != nil || reason == "" {
				m.err = p.T("refund.reason_needed", catalog.V{"Max": checkout.MaxReasonRunes})
				return m, nil
			}
			m.other.Blur()
			m.reason, m.err, m.step = reason, "", refundConfirm
			return m, nil
		}
		var cmd tea.Cmd
		m.other, cmd = m.other.Update(k)
		return m, cmd
	case refundConfirm:
		if back {
			m.step = refundReason
			return m, nil
		}
		if key.Matches(k, m.keys.Confirm) {
			m.step, m.since, m.call = refundRunning, m.deps.now(), refundCalls.Add(1)
			return m, tea.Batch(m.spinner.Tick, refundCmd(m.deps.ctx, m.deps.engine, m.call, m.hist.Order.No, m.money, m.reason))
		}
	case refundRunning, refundDone:
		if back || key.Matches(k, m.keys.Next) && m.step == refundDone {
			if m.refund.No != "" && m.refund.State == checkout.RefundRequested {
				// Still at the provider: the settling passes finish it.
				m.deps.engine.ReleaseRefund(m.refund.No)
			}
			m.leave = true
		}
	}
	return m, nil
}

// owns reports whether msg answers this screen's call in flight.
func (m refundModel) owns(msg refundAnsweredMsg) bool {
	return msg.call == m.call && m.step == refundRunning
}

// orphanRefund takes an answer whose screen is gone (the manager left
// while the refund was being sent): a refund still at the provider is
// handed to the settling passes, which the screen had kept off it.
func orphanRefund(e *checkout.Engine, msg refundAnsweredMsg) {
	if msg.refund.No != "" && msg.refund.State == checkout.RefundRequested {
		e.ReleaseRefund(msg.refund.No)
	}
}

// answered takes the engine's answer to the refund or a poll.
func (m refundModel) answered(msg refundAnsweredMsg) (refundModel, tea.Cmd) {
	m.polling = false
	if m.step != refundRunning {
		return m, nil
	}
	var re *checkout.RefundError
	if errors.As(msg.err, &re) {
		// Refused before anything was written: back to the amount.
		m.step, m.err = refundAmount, refundRefusalText(m.deps.p, re)
		if re.Code == checkout.RefundAboveLeft || re.Code == checkout.RefundNothingLeft {
			m.left = re.Left
			m.amount.SetValue(re.Left.String())
		}
		return m, nil
	}
	if msg.refund.No == "" {
		// Not even written (a ledger fault): nothing was sent.
		m.step, m.err = refundAmount, describe(m.deps.p, msg.err, m.hist.Order.Method)
		return m, nil
	}
	m.refund, m.callErr = msg.refund, msg.err
	if msg.order.No != "" {
		m.order = msg.order
	}
	if msg.refund.State != checkout.RefundRequested {
		m.step = refundDone
		m.deps.engine.ReleaseRefund(msg.refund.No)
		return m, nil
	}
	return m, refundTick(m.refund.No)
}

var refundRefusalIDs = map[checkout.RefundCode]string{
	checkout.RefundNoOrder:         "refund.refused.no_order",
	checkout.RefundNotPaid:         "refund.refused.not_paid",
	checkout.RefundNothingLeft:     "refund.refused.nothing_left",
	checkout.RefundAboveLeft:       "refund.above_left",
	checkout.RefundBadAmount:       "refund.refused.bad_amount",
	checkout.RefundDisputedPartial: "refund.disputed_full",
	checkout.RefundBadReason:       "refund.reason_needed",
}

// refundRefusalText words a refund refused before it was sent.
func refundRefusalText(p *catalog.Printer, re *checkout.RefundError) string {
	id, ok := refundRefusalIDs[re.Code]
	if !ok {
		return re.Error()
	}
	return p.T(id, catalog.V{"Left": p.Money(re.Left), "Amount": p.Money(re.Amount), "Max": checkout.MaxReasonRunes,
		"State": stateWord(p, checkout.Order{State: re.State})})
}

func (m refundModel) View() string {
	s, p := m.deps.styles, m.deps.p
	o := m.hist.Order
	w := max(m.width, 20)
	v := catalog.V{"No": o.No, "Method": methodName(p, o.Method), "Amount": p.Money(m.money), "Left": p.Money(m.left),
		"Paid": p.Money(checkout.Refundable(o)), "Reason": m.reason}
	if m.step == refundRunning || m.step == refundDone {
		return m.progressView(w, v)
	}
	var b strings.Builder
	b.WriteString(s.Title.Render(truncate(p.T("refund.title", v), w)) + "\n")
	b.WriteString(s.Muted.Width(w).Render(p.T("refund.order", v)) + "\n\n")
	switch m.step {
	case refundAmount:
		b.WriteString(s.Label.Render(p.T("refund.amount")) + "\n" + s.InputOn.Width(min(20, w-2)).Render(m.amount.View()) + "\n")
	case refundReason, refundOther:
		b.WriteString(s.Label.Render(p.T("refund.amount")) + " " + s.Amount.Render(p.Money(m.money)) + "\n\n")
		b.WriteString(s.Label.Render(p.T("refund.why")) + "\n")
		for i, id := range refundReasons {
			b.WriteString(truncate(" "+string(rune('1'+i))+"  "+p.T(id), w) + "\n")
		}
		if m.step == refundOther {
			b.WriteString("\n" + s.InputOn.Width(min(w-2, 50)).Render(m.other.View()) + "\n")
		}
	case refundConfirm:
		b.WriteString(s.Band["refunded"].Width(w).Render(truncate("  "+p.T("refund.confirm", v), w)) + "\n")
		b.WriteString(s.Row.Width(w).Render(p.T("refund.confirm_detail", v)) + "\n")
	}
	if m.err != "" {
		b.WriteString("\n" + s.Error.Width(w).Render("✗ "+m.err) + "\n")
	}
	return b.String()
}

// progressView is the refund once sent: in progress, done or failed.
func (m refundModel) progressView(w int, v catalog.V) string {
	s, p := m.deps.styles, m.deps.p
	r := m.refund
	v["Refund"] = r.No
	line := func(band, text string) string { return s.Band[band].Width(w).Render(truncate(text, w)) }
	switch {
	case r.State == checkout.RefundSucceeded:
		left := checkout.Refundable(m.order) - m.order.Refunded
		v["Left"] = p.Money(max(left, 0))
		rows := []string{line("refunded", ""), line("refunded", "  ↺ "+p.T("refund.done", v))}
		if amount := p.Money(r.Amount); bigWidth(amount)+4 <= w {
			for _, l := range strings.Split(bigText(amount), "\n") {
				rows = append(rows, line("refunded", "  "+l))
			}
		}
		rows = append(rows, line("refunded", ""))
		return lipgloss.JoinVertical(lipgloss.Left, rows...) + "\n\n" + s.Row.Width(w).Render(p.T("refund.done_detail", v))
	case r.State == checkout.RefundFailed:
		v["Why"] = r.FailReason
		if m.callErr != nil {
			v["Why"] = describe(p, m.callErr, m.hist.Order.Method)
		}
		return line("failed", "") + "\n" + line("failed", "  ✗ "+p.T("refund.failed", v)) + "\n" + line("failed", "") + "\n\n" +
			s.Row.Width(w).Render(p.T("refund.failed_detail", v))
	}
	// Requested: sent, the provider's word not final yet.
	var b strings.Builder
	b.WriteString(line("waiting", "  "+p.T("refund.running", v)) + "\n\n")
	b.WriteString(m.spinner.View() + " ")
	switch {
	case m.callErr != nil:
		b.WriteString(s.Warn.Width(w - 2).Render(p.T("refund.unknown", catalog.V{"Problem": describe(p, m.callErr, m.hist.Order.Method), "Refund": r.No})))
	case r.ProviderSaid == "ABNORMAL":
		b.WriteString(s.Warn.Width(w - 2).Render(p.T("refund.abnormal", v)))
	case r.ProviderSaid != "":
		b.WriteString(p.T("refund.processing", v))
	default:
		b.WriteString(p.T("refund.sending", v))
	}
	if m.deps.now().Sub(m.since) >= refundWatch {
		b.WriteString("\n\n" + s.Muted.Width(w).Render(p.T("refund.leave_ok", v)))
	}
	return b.String()
}
