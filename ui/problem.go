package ui

import (
	"errors"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"till/checkout"
)

type problemKind int

const (
	problemCreateUnknown problemKind = iota // no clear answer to create: retry with the same number, or give up (query + close)
	problemCloseFailed                      // could not close: retry, or leave it to recovery
)

// retryCreateMsg, retryCloseMsg and abandonMsg are the clerk's answers on
// the problem screen; the root handles them.
type (
	retryCreateMsg struct{ order checkout.Order }
	retryCloseMsg  struct{ order checkout.Order }
	abandonMsg     struct{ order checkout.Order }
)

// problemModel explains a provider fault in plain words and offers a
// retry. The sale is never lost: the order is in the ledger.
type problemModel struct {
	deps  deps
	keys  problemKeys
	kind  problemKind
	order checkout.Order
	err   error
	width int
}

func newProblem(d deps, kind problemKind, o checkout.Order, err error) problemModel {
	return problemModel{deps: d, keys: defaultProblemKeys(), kind: kind, order: o, err: err}
}

func (m problemModel) shortHelp() []key.Binding {
	return []key.Binding{m.keys.Retry, m.keys.Abandon}
}

func (m problemModel) Update(msg tea.Msg) (problemModel, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return m, nil
	}
	o := m.order
	switch {
	case key.Matches(k, m.keys.Retry):
		if m.kind == problemCreateUnknown {
			return m, func() tea.Msg { return retryCreateMsg{order: o} }
		}
		return m, func() tea.Msg { return retryCloseMsg{order: o} }
	case key.Matches(k, m.keys.Abandon):
		return m, func() tea.Msg { return abandonMsg{order: o} }
	}
	return m, nil
}

func (m problemModel) View() string {
	s := m.deps.styles
	o := m.order
	head := s.Error.Width(m.width).Render("⚠ " + capitalize(checkout.UserMessage(m.err)))
	var se *checkout.SaveError
	var body string
	switch {
	case m.kind == problemCreateUnknown:
		body = "We could not tell whether " + o.Method.Label() + " created this sale:\n" +
			"order " + o.No + ", " + o.Amount.Yuan() + ". The sale is kept.\n" +
			"Retry asks again with the same order number, so the customer can\n" +
			"never be charged twice. Giving up checks with " + o.Method.Label() + ", then closes it."
	case errors.As(m.err, &se) && (se.To == checkout.StatePaid || se.To == checkout.StateDisputed):
		body = "The customer has paid order " + o.No + " (" + o.Amount.Yuan() + ") at " + o.Method.Label() + ",\n" +
			"but the ledger could not record it yet. Retry tries again; if you leave\n" +
			"it, till keeps retrying and records the sale as soon as the ledger works."
	default:
		body = "Order " + o.No + " for " + o.Amount.Yuan() + " is not settled: till could not\n" +
			"confirm with " + o.Method.Label() + " whether it was paid, so nothing was closed.\n" +
			"Do not hand over goods unless it shows PAID. Retry asks again; if you\n" +
			"leave it, till keeps asking " + o.Method.Label() + " and records what happened."
	}
	return head + "\n\n" + body
}
