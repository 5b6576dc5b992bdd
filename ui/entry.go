package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"till/catalog"
	"till/checkout"
)

// chargeMsg is the sale the entry screen asks the root to start, when the
// clerk presses w or a with a valid amount: the root takes it from
// entryModel.charging in the same Update.
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
	// today is the day's sales and net as the day report has them (the
	// one place that computes them), for the "Today" line; todayErr the
	// failure to read them.
	today    checkout.Figures
	todayErr error

	// charging is the sale to start, set by the w or a key and taken
	// (and cleared) by the root at once.
	charging *chargeMsg

	width, height int // the body's room
	winW, winH    int // the whole window, for the QR code's needs
}

func newEntry(d deps) entryModel {
	ti := textinput.New()
	// The placeholder is drawn by View: bubbles' textinput cuts it to its
	// first rune without a Width, and with one it counts a Chinese
	// character's two columns as two runes.
	ti.CharLimit = checkout.MaxNoteRunes
	ti.Prompt = ""
	return entryModel{deps: d, keys: defaultEntryKeys(d.p), noteKeys: defaultNoteKeys(d.p), note: ti}
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
	return append(bs, m.keys.Note, m.keys.Today)
}

func (m entryModel) fullHelp() []key.Binding {
	return append(m.shortHelp(), m.keys.Backspace, m.keys.Clear, m.keys.Refresh)
}

func (m entryModel) Update(msg tea.Msg) (entryModel, tea.Cmd) {
	switch msg := msg.(type) {
	case recentMsg:
		if msg.limit == recentLimit {
			m.recent, m.recentErr = msg.orders, msg.err
			m.todayErr = msg.dayErr
			if msg.dayErr == nil {
				m.today = msg.day.Figures
			}
		}
		return m, nil
	case tea.KeyMsg:
		// The root hands typed runes over one at a time (Model.burst).
		if m.editingNote {
			return m.updateNote(msg)
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
	case msg.Paste:
		// A pasted amount is taken as the clerk would read it (" ¥45.60 "
		// is 45.60); anything else is said, not typed.
		text := strings.TrimSpace(checkout.NarrowAmount(string(msg.Runes)))
		text = strings.TrimSpace(strings.TrimPrefix(text, "¥"))
		if strings.TrimSpace(string(msg.Runes)) == "" {
			return m, nil // an empty paste (some terminals send one) is nothing
		}
		if !isAmountText(text) {
			m.err = m.deps.p.T("entry.paste_not_amount", catalog.V{"Input": checkout.Quoted(string(msg.Runes))})
			return m, nil
		}
		if len(m.amount)+len(text) <= maxAmountChars {
			m.amount += text
			m.err = ""
		} else {
			m.err = m.deps.p.T("entry.too_long", catalog.V{"Max": maxAmountChars})
		}
	case key.Matches(msg, m.keys.Digit):
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
	return s != "" && strings.Trim(s, amountRunes) == ""
}

// charge checks the amount and the window before anything is written: a
// refused amount, or a window the QR code cannot fit in, shows why and
// changes nothing.
func (m entryModel) charge(meth checkout.Method) (entryModel, tea.Cmd) {
	p := m.deps.p
	amount, err := m.deps.engine.ParseAmount(m.amount)
	if err != nil {
		m.err = describe(p, err, "")
		return m, nil
	}
	if !m.deps.hasMethod(meth) {
		m.err = p.T("entry.not_configured", catalog.V{"Method": methodName(p, meth)})
		return m, nil
	}
	if w, h := qrMinimum(); m.winW < w || m.winH < h {
		m.err = p.T("entry.window_too_small", catalog.V{"W": w, "H": h, "NowW": m.winW, "NowH": m.winH})
		return m, nil
	}
	note, err := checkout.CheckNote(m.note.Value())
	if err != nil {
		m.err = describe(p, err, "")
		return m, nil
	}
	m.charging = &chargeMsg{method: meth, amount: amount, note: note}
	return m, nil
}

func (m entryModel) View() string {
	s := m.deps.styles
	p := m.deps.p
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
	labelW := max(ansi.StringWidth(p.T("entry.amount")), ansi.StringWidth(p.T("entry.note"))) + 2
	// The box is 22 columns wide (its border takes 2 more), less in a
	// window too narrow for that.
	amountBox := box.Width(max(8, min(22, m.width-labelW-2))).Render(s.Amount.Render("¥ "+amountText) + cursor)
	b.WriteString(lipgloss.JoinHorizontal(lipgloss.Center, s.Label.Render(pad(p.T("entry.amount"), labelW)), amountBox))
	b.WriteByte('\n')

	noteView := m.note.View()
	switch {
	case !m.editingNote && m.note.Value() == "":
		noteView = s.Muted.Render(p.T("entry.note_hint"))
	case m.note.Value() == "":
		noteView += s.Muted.Render(p.T("entry.note_placeholder"))
	}
	b.WriteString(s.Label.Render(pad(p.T("entry.note"), labelW)) + noteView + "\n")
	if m.err != "" {
		b.WriteString("\n" + s.Error.Width(m.width).Render("✗ "+m.err) + "\n")
	}
	b.WriteString("\n")
	b.WriteString(m.recentView(m.height - lipgloss.Height(b.String())))
	return b.String()
}

// dayTotal is how many of orders were paid and what they brought in net
// of what was refunded of them: the history's line over a day's list of
// orders (by the day they were created). The sale screen's "Today" line
// is the day report's instead.
func dayTotal(orders []checkout.Order) (count int, net checkout.Money) {
	for _, o := range orders {
		if o.State.WasPaid() {
			net += o.Amount - o.Refunded
			count++
		}
	}
	return count, net
}

// recentLimit is how many of today's sales the entry screen asks for.
const recentLimit = 50

// recentView lists today's sales in the height lines left below the entry.
func (m entryModel) recentView(height int) string {
	s := m.deps.styles
	p := m.deps.p
	if m.recentErr != nil {
		return s.Error.Render(p.T("entry.recent_failed", catalog.V{"Err": describe(p, m.recentErr, "")}))
	}
	var b strings.Builder
	if m.todayErr != nil {
		b.WriteString(s.Error.Render(ansi.Truncate(p.T("entry.today_failed", catalog.V{"Err": describe(p, m.todayErr, "")}), max(m.width, 1), "…")))
	} else {
		b.WriteString(s.Title.Render(p.N("entry.today", m.today.Sales.Count, catalog.V{"Net": p.Money(m.today.NetFen)})))
	}
	if len(m.recent) == 0 && m.today.Sales.Count > 0 {
		return b.String() // sold today, none of it rung up today (paid after midnight)
	}
	if len(m.recent) == 0 {
		b.WriteString("\n" + s.Muted.Render(p.T("entry.no_sales")))
		return b.String()
	}
	rows := height - 2 // the title line, and the "… more" line
	if rows < 3 {
		rows = 3
	}
	for i, o := range m.recent {
		if i >= rows {
			more := len(m.recent) - rows
			if len(m.recent) == recentLimit {
				more = -1 // there may be more than were fetched
			}
			b.WriteString("\n" + s.Muted.Render(m.moreLine(more)))
			break
		}
		b.WriteString("\n" + orderLine(m.deps, o, m.width))
	}
	return b.String()
}

// moreLine says how many orders the list left out (n < 0: an unknown
// number) and which key shows them all.
func (m entryModel) moreLine(n int) string {
	p := m.deps.p
	k := m.keys.Today.Help()
	if n < 0 {
		return p.T("entry.more_unknown", catalog.V{"Key": k.Key})
	}
	return p.N("entry.more", n, catalog.V{"Key": k.Key})
}

// orderLine is one order in a list: time (the shop's), method, amount,
// state, note; cut to width.
func orderLine(d deps, o checkout.Order, width int) string {
	s := d.styles
	p := d.p
	st := s.State[string(o.State)]
	line := p.Clock(o.CreatedAt.In(d.loc)) + "  " + pad(methodName(p, o.Method), 10) + "  " +
		padLeft(p.Money(o.Amount), 12) + "  " + st.Render(stateWord(p, o))
	if o.Note != "" {
		line += "  " + s.Muted.Render(o.Note)
	}
	return ansi.Truncate(line, width, "…")
}

// pad fills s with spaces to w display columns (a Chinese character takes
// two).
func pad(s string, w int) string {
	if n := ansi.StringWidth(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

func padLeft(s string, w int) string {
	if n := ansi.StringWidth(s); n < w {
		return strings.Repeat(" ", w-n) + s
	}
	return s
}

// truncate cuts s to n display columns.
func truncate(s string, n int) string { return ansi.Truncate(s, max(n, 1), "…") }
