package ui

import (
	"context"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"till/catalog"
	"till/checkout"
)

// Operators: with operators configured (till operator add), the desk asks
// who is at the counter at start and on o, and the engine stamps every
// sale, cancel and refund with the one chosen. Without, everything is
// done by "counter" and the question is never asked.

// Staff is where the desk finds the operators and records who took the
// counter; the ledger is it.
type Staff interface {
	Operators(ctx context.Context) ([]checkout.Operator, error)
	Append(ctx context.Context, e checkout.AuditEntry) (checkout.AuditEntry, error)
}

// operatorsMsg carries the operators. Sent by operatorsCmd; handled by
// the root (at start) and the operator screen.
type operatorsMsg struct {
	ops []checkout.Operator
	err error
}

// onDutyMsg is the answer to recording who took the counter.
type onDutyMsg struct{ err error }

func operatorsCmd(ctx context.Context, s Staff) tea.Cmd {
	return func() tea.Msg {
		c, cancel := withDeadline(ctx)
		defer cancel()
		ops, err := s.Operators(c)
		return operatorsMsg{ops: ops, err: err}
	}
}

// onDutyCmd records in the audit trail that op took the counter.
func onDutyCmd(ctx context.Context, s Staff, terminal string, op checkout.Operator) tea.Cmd {
	return func() tea.Msg {
		c, cancel := withDeadline(ctx)
		defer cancel()
		c = checkout.WithActor(c, checkout.Actor{Terminal: terminal, Operator: op.ID, Via: "desk"})
		_, err := s.Append(c, checkout.AuditEntry{Kind: checkout.AuditOperatorOnDuty, Detail: op.ID + " " + op.Name})
		return onDutyMsg{err: err}
	}
}

type operatorKeys struct {
	Up, Down, Choose, Back key.Binding
}

func defaultOperatorKeys(p *catalog.Printer) operatorKeys {
	return operatorKeys{
		Up:     key.NewBinding(key.WithKeys("up"), key.WithHelp("↑↓", p.T("key.choose"))),
		Down:   key.NewBinding(key.WithKeys("down")),
		Choose: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", p.T("key.ok"))),
		Back:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", p.T("key.back"))),
	}
}

// operatorModel asks who is at the counter.
type operatorModel struct {
	deps    deps
	keys    operatorKeys
	ops     []checkout.Operator
	cursor  int
	current string // who is on now ("" at start)
	must    bool   // at start: a choice is needed, Esc does not skip it
	err     string
	width   int

	chosen *checkout.Operator // intent: the operator picked
	leave  bool               // intent: Esc (not at start)
}

func newOperatorModel(d deps, ops []checkout.Operator, current string, must bool) operatorModel {
	m := operatorModel{deps: d, keys: defaultOperatorKeys(d.p), ops: ops, current: current, must: must}
	for i, op := range ops {
		if op.ID == current {
			m.cursor = i
		}
	}
	return m
}

func (m operatorModel) shortHelp() []key.Binding {
	if m.must {
		return []key.Binding{m.keys.Up, m.keys.Choose}
	}
	return []key.Binding{m.keys.Up, m.keys.Choose, m.keys.Back}
}

func (m operatorModel) Update(msg tea.Msg) (operatorModel, tea.Cmd) {
	switch msg := msg.(type) {
	case operatorsMsg:
		if msg.err != nil {
			m.err = describe(m.deps.p, msg.err, "")
			return m, nil
		}
		m.ops = msg.ops
		m.cursor = min(m.cursor, max(len(m.ops)-1, 0))
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, m.keys.Up):
			m.cursor = max(m.cursor-1, 0)
		case key.Matches(msg, m.keys.Down):
			m.cursor = min(m.cursor+1, max(len(m.ops)-1, 0))
		case key.Matches(msg, m.keys.Choose) && len(m.ops) > 0:
			op := m.ops[m.cursor]
			m.chosen = &op
		case key.Matches(msg, m.keys.Back) && !m.must:
			m.leave = true
		}
	}
	return m, nil
}

func (m operatorModel) View() string {
	s, p := m.deps.styles, m.deps.p
	w := max(m.width, 20)
	var b strings.Builder
	b.WriteString(s.Title.Render(p.T("operator.title")) + "\n\n")
	if len(m.ops) == 0 && m.err == "" {
		b.WriteString(s.Muted.Width(w).Render(p.T("operator.none")) + "\n")
	}
	for i, op := range m.ops {
		line := truncate(pad(op.ID, 8)+"  "+op.Name, w-2)
		if op.ID == m.current {
			line = truncate(line+"  "+p.T("operator.now"), w-2)
		}
		if i == m.cursor {
			line = s.Selected.Render(" " + line + " ")
		} else {
			line = " " + line
		}
		b.WriteString(line + "\n")
	}
	if m.err != "" {
		b.WriteString("\n" + s.Error.Width(w).Render("✗ "+m.err) + "\n")
	}
	return b.String()
}
