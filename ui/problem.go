package ui

import (
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"till/catalog"
	"till/checkout"
)

type problemKind int

const (
	problemCreateUnknown problemKind = iota // no clear answer to create: retry with the same number, or give up (query + close)
	problemCloseFailed                      // could not close: retry, or leave it to recovery
)

// retryCreateMsg, retryCloseMsg and abandonMsg are the clerk's answers on
// the problem screen. The screen leaves one in problemModel.answer and the
// root acts on it in the same Update, so a second r or Esc pressed before
// the screen changes meets the next screen and does nothing twice.
type (
	retryCreateMsg struct{ order checkout.Order }
	retryCloseMsg  struct{ order checkout.Order }
	abandonMsg     struct{ order checkout.Order }
)

// problemRetryMsg is the timer of the problem screen's next try at
// settling a sale it could not close; gen tells this screen's timers from
// an earlier one's. Sent by problemModel.retryLater; handled by the
// problem screen.
type problemRetryMsg struct {
	no  string
	gen int64
}

// problemGen numbers problem screens, for their timers.
var problemGen atomic.Int64

// problemModel explains a provider fault in plain words and offers a
// retry. The sale is never lost: the order is in the ledger. A sale it
// could not close it keeps trying to settle in the background (every
// problemRetryEvery), so that a payment the ledger could not save, or a
// provider that comes back, ends on the result screen without the clerk.
type problemModel struct {
	deps   deps
	keys   problemKeys
	kind   problemKind
	order  checkout.Order
	reason string // why the sale was being closed
	err    error  // the last try's
	// unsaved is a payment the provider confirmed and the ledger could
	// not record: it stays said whatever later tries answer.
	unsaved error
	width   int
	height  int // the body's room
	// answer is the clerk's choice (retry, give up), taken by the root
	// at once.
	answer  tea.Msg
	gen     int64
	pending int64 // the tag of the background try in flight, 0 for none
}

func newProblem(d deps, kind problemKind, o checkout.Order, err error) problemModel {
	m := problemModel{deps: d, keys: defaultProblemKeys(d.p), kind: kind, order: o, err: err, gen: problemGen.Add(1)}
	if paidUnsaved(err) {
		m.unsaved = err
	}
	return m
}

// retryLater starts the background tries of a sale that could not be
// closed; other problems wait for the clerk.
func (m problemModel) retryLater() tea.Cmd {
	if m.kind != problemCloseFailed {
		return nil
	}
	no, gen := m.order.No, m.gen
	return tea.Tick(problemRetryEvery, func(time.Time) tea.Msg { return problemRetryMsg{no: no, gen: gen} })
}

func (m problemModel) shortHelp() []key.Binding {
	return []key.Binding{m.keys.Retry, m.keys.Abandon}
}

func (m problemModel) Update(msg tea.Msg) (problemModel, tea.Cmd) {
	switch msg := msg.(type) {
	case problemRetryMsg:
		if msg.no != m.order.No || msg.gen != m.gen || m.pending != 0 {
			return m, nil
		}
		m.pending = nextTag()
		return m, finishCmd(m.deps.ctx, m.deps.engine, m.order.No, m.reason, m.pending)
	case finishedMsg:
		// Only the answer to this screen's own try: a stray answer to an
		// earlier screen's call must neither settle nor start a timer.
		if msg.no != m.order.No || m.pending == 0 || msg.tag != m.pending {
			return m, nil
		}
		m.pending = 0
		if msg.order.State != "" {
			m.order = msg.order
		}
		if msg.err == nil || !m.order.State.Open() {
			o := m.order
			return m, func() tea.Msg { return saleDoneMsg{order: o} }
		}
		m.err = msg.err
		if paidUnsaved(msg.err) {
			m.unsaved = msg.err
		}
		return m, m.retryLater()
	}
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return m, nil
	}
	o := m.order
	switch {
	case key.Matches(k, m.keys.Retry) && m.kind == problemCreateUnknown:
		m.answer = retryCreateMsg{order: o}
	case key.Matches(k, m.keys.Retry):
		m.answer = retryCloseMsg{order: o}
	case key.Matches(k, m.keys.Abandon):
		m.answer = abandonMsg{order: o}
	}
	return m, nil
}

func (m problemModel) View() string {
	s := m.deps.styles
	p := m.deps.p
	o := m.order
	lead := m.err
	if m.unsaved != nil {
		lead = m.unsaved
	}
	w := max(m.width, 10)
	v := catalog.V{"Method": methodName(p, o.Method), "No": o.No, "Amount": p.Money(o.Amount)}
	var se *checkout.SaveError
	band, headline, body := "failed", p.T("problem.unsettled"), p.T("problem.close_failed", v)
	switch {
	case m.kind == problemCreateUnknown:
		band, headline, body = "scanned", p.T("problem.not_known"), p.T("problem.create_unknown", v)
	case errors.As(lead, &se) && se.To == checkout.StateRefunded:
		band, headline, body = "refunded", p.T("problem.paid_unsaved"), p.T("problem.refunded_unsaved", v)
	case errors.As(lead, &se) && (se.To == checkout.StatePaid || se.To == checkout.StateDisputed):
		band, headline, body = "paid", p.T("problem.paid_unsaved"), p.T("problem.paid_unsaved_detail", v)
	}
	st := s.Band[band]
	line := func(text string) string { return st.Width(w).Render(ansi.Truncate(text, w, "…")) }
	parts := []string{line("  ⚠ " + headline + "   " + p.Money(o.Amount)),
		s.Error.Width(w).Render(capitalize(describe(p, lead, o.Method))), s.Row.Width(w).Render(body)}
	if lead != m.err && m.err != nil && !paidUnsaved(m.err) {
		parts = append(parts, s.Muted.Width(w).Render(p.T("problem.last_try", catalog.V{"Problem": describe(p, m.err, o.Method)})))
	}
	// With room, the band and a blank line between the parts; in a low
	// window only the words, which all matter.
	tight := strings.Join(parts, "\n")
	if m.height > 0 && lipgloss.Height(tight)+len(parts)+1 > m.height {
		return tight
	}
	return line("") + "\n" + parts[0] + "\n" + line("") + "\n\n" + strings.Join(parts[1:], "\n\n")
}
