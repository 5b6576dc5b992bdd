package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"till/checkout"
)

// chargeMsg asks the root to start a sale. Sent by the entry screen when
// the clerk presses w or a with a valid amount; handled by the root.
type chargeMsg struct {
	method checkout.Method
	amount checkout.Money
	note   string
}

// maxAmountChars bounds what the clerk can type; ParseMoney refuses
// anything too large with a message before this matters.
const maxAmountChars = 12

// entryModel is the sale screen: amount, optional note, method keys, and
// today's recent sales.
type entryModel struct {
	deps     deps
	keys     entryKeys
	noteKeys noteKeys

	amount      string
	note        textinput.Model
	editingNote bool
	err         string

	recent    []checkout.Order
	recentErr error

	width, height int
}

func newEntry(d deps) entryModel {
	ti := textinput.New()
	ti.Placeholder = "optional, e.g. table 4"
	ti.CharLimit = checkout.MaxNoteRunes
	ti.Prompt = ""
	return entryModel{deps: d, keys: defaultEntryKeys(), noteKeys: defaultNoteKeys(), note: ti}
}

// reset clears the sale for the next customer, keeping the recent list.
func (m entryModel) reset() entryModel {
	m.amount, m.err, m.editingNote = "", "", false
	m.note.SetValue("")
	m.note.Blur()
	return m
}

func (m entryModel) shortHelp() []key.Binding {
	if m.editingNote {
		return []key.Binding{m.noteKeys.Done, m.noteKeys.Cancel}
	}
	var bs []key.Binding
	bs = append(bs, m.keys.Digit)
	for _, meth := range m.deps.engine.Methods() {
		switch meth {
		case checkout.MethodWeChat:
			bs = append(bs, m.keys.WeChat)
		case checkout.MethodAlipay:
			bs = append(bs, m.keys.Alipay)
		}
	}
	return append(bs, m.keys.Note)
}

func (m entryModel) fullHelp() []key.Binding {
	return append(m.shortHelp(), m.keys.Backspace, m.keys.Clear, m.keys.Refresh)
}

func (m entryModel) Update(msg tea.Msg) (entryModel, tea.Cmd) {
	switch msg := msg.(type) {
	case recentMsg:
		m.recent, m.recentErr = msg.orders, msg.err
		return m, nil
	case tea.KeyMsg:
		if m.editingNote {
			return m.updateNote(msg)
		}
		// Typed runes may arrive together ("12.30w" from a fast typist or
		// a script): handle them one key at a time.
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste {
			var cmds []tea.Cmd
			for _, r := range msg.Runes {
				var cmd tea.Cmd
				m, cmd = m.updateKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
				cmds = append(cmds, cmd)
				if m.editingNote || cmd != nil {
					break
				}
			}
			return m, tea.Batch(cmds...)
		}
		return m.updateKey(msg)
	}
	return m, nil
}

func (m entryModel) updateNote(msg tea.KeyMsg) (entryModel, tea.Cmd) {
	switch {
	case key.Matches(msg, m.noteKeys.Done):
		m.editingNote = false
		m.note.Blur()
		return m, nil
	case key.Matches(msg, m.noteKeys.Cancel):
		m.editingNote = false
		m.note.SetValue("")
		m.note.Blur()
		return m, nil
	}
	var cmd tea.Cmd
	m.note, cmd = m.note.Update(msg)
	return m, cmd
}

func (m entryModel) updateKey(msg tea.KeyMsg) (entryModel, tea.Cmd) {
	switch {
	case key.Matches(msg, m.keys.Digit), msg.Paste && isAmountText(string(msg.Runes)):
		if len(m.amount)+len(msg.Runes) <= maxAmountChars {
			m.amount += string(msg.Runes)
		}
		m.err = ""
	case key.Matches(msg, m.keys.Backspace):
		if m.amount != "" {
			m.amount = m.amount[:len(m.amount)-1]
		}
		m.err = ""
	case key.Matches(msg, m.keys.Clear):
		m = m.reset()
	case key.Matches(msg, m.keys.Note):
		m.editingNote = true
		return m, m.note.Focus()
	case key.Matches(msg, m.keys.Refresh):
		return m, recentCmd(m.deps.ctx, m.deps.engine, recentLimit)
	case key.Matches(msg, m.keys.WeChat):
		return m.charge(checkout.MethodWeChat)
	case key.Matches(msg, m.keys.Alipay):
		return m.charge(checkout.MethodAlipay)
	}
	return m, nil
}

func isAmountText(s string) bool {
	return s != "" && strings.Trim(s, "0123456789.") == ""
}

// charge checks the amount before anything is written: a refused amount
// shows why and changes nothing.
func (m entryModel) charge(meth checkout.Method) (entryModel, tea.Cmd) {
	amount, err := m.deps.engine.ParseAmount(m.amount)
	if err != nil {
		m.err = checkout.UserMessage(err)
		return m, nil
	}
	if !m.deps.hasMethod(meth) {
		m.err = meth.Label() + " is not configured on this desk"
		return m, nil
	}
	note := strings.TrimSpace(m.note.Value())
	return m, func() tea.Msg { return chargeMsg{method: meth, amount: amount, note: note} }
}

func (m entryModel) View() string {
	s := m.deps.styles
	var b strings.Builder

	amountText := m.amount
	if amountText == "" {
		amountText = s.Muted.Render("0.00")
	}
	cursor := "▌"
	if m.editingNote {
		cursor = " "
	}
	box := s.InputOn
	if m.editingNote {
		box = s.Input
	}
	amountBox := box.Width(22).Render(s.Amount.Render("¥ "+amountText) + cursor)
	b.WriteString(lipgloss.JoinHorizontal(lipgloss.Center, s.Label.Render("Amount"), amountBox))
	b.WriteByte('\n')

	noteView := m.note.View()
	if !m.editingNote && m.note.Value() == "" {
		noteView = s.Muted.Render("tab to add a note")
	}
	b.WriteString(s.Label.Render("Note") + noteView + "\n")
	if m.err != "" {
		b.WriteString("\n" + s.Error.Render("✗ "+m.err) + "\n")
	}
	b.WriteString("\n")
	b.WriteString(m.recentView(m.height - lipgloss.Height(b.String())))
	return b.String()
}

// recentLimit is how many of today's sales the entry screen asks for.
const recentLimit = 50

// recentView lists today's sales in the height lines left below the entry.
func (m entryModel) recentView(height int) string {
	s := m.deps.styles
	if m.recentErr != nil {
		return s.Error.Render("Could not read today's sales: " + m.recentErr.Error())
	}
	var paid checkout.Money
	count := 0
	for _, o := range m.recent {
		if o.State.WasPaid() {
			paid += o.Amount - o.Refunded
			count++
		}
	}
	title := fmt.Sprintf("Today: %d paid, %s net", count, paid.Yuan())
	var b strings.Builder
	b.WriteString(s.Title.Render(title))
	if len(m.recent) == 0 {
		b.WriteString("\n" + s.Muted.Render("No sales yet today."))
		return b.String()
	}
	rows := height - 2 // the title line, and the "… more" line
	if rows < 3 {
		rows = 3
	}
	for i, o := range m.recent {
		if i >= rows {
			b.WriteString("\n" + s.Muted.Render(fmt.Sprintf("… and %d more", len(m.recent)-rows)))
			break
		}
		st := s.State[string(o.State)]
		line := fmt.Sprintf("%s  %-10s  %12s  %s", o.CreatedAt.In(m.deps.loc).Format("15:04"),
			o.Method.Label(), o.Amount.Yuan(), st.Render(stateWord(o)))
		if o.Note != "" {
			line += "  " + s.Muted.Render(truncate(o.Note, 20))
		}
		b.WriteString("\n" + line)
	}
	return b.String()
}

// stateWord is how a list names an order's state.
func stateWord(o checkout.Order) string {
	switch o.State {
	case checkout.StateAwaiting, checkout.StateCreated:
		return "waiting"
	case checkout.StatePartiallyRefunded:
		return "part refunded"
	case checkout.StateDisputed:
		return "DISPUTED " + o.ProviderAmount.Yuan() + " paid"
	case checkout.StatePaid:
		if o.Late {
			return "paid late"
		}
	}
	return string(o.State)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
