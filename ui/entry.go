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
	// (and cleared) by the root at once; codeCharge likewise for a
	// payment-code sale, set by Enter in the code prompt.
	charging   *chargeMsg
	codeCharge *codeChargeMsg

	// The payment-code prompt (Enter after an amount, or digits after a
	// two-decimal one): prompt is open, code holds its digits (never
	// drawn in full), overflow says the prompt was opened by digits that
	// ran past the amount's two decimals, so a code refused there may
	// have taken digits into the amount (the amount is cleared with it).
	prompt   bool
	code     string
	overflow bool
	// scan drops the rest of a scan that came where no code belongs (the
	// amount, the note) once it is recognised.
	scan scanGuard
	// runFrom is where in amount the digits typed as fast as a scanner's
	// began (-1: the last key was no such digit), fast whether the key
	// being handled is one of them.
	runFrom int
	fast    bool
	// showCodes: the help is open, and in the sandbox it lists the test
	// codes where today's sales are.
	showCodes bool

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
	return entryModel{deps: d, keys: defaultEntryKeys(d.p), noteKeys: defaultNoteKeys(d.p), note: ti, runFrom: -1}
}

// reset clears the sale for the next customer, keeping the recent list.
func (m entryModel) reset() entryModel {
	m.amount, m.err, m.editingNote = "", "", false
	m.prompt, m.code, m.overflow, m.scan.armed, m.runFrom = false, "", false, false, -1
	m.note.SetValue("")
	m.note.Blur()
	return m
}

func (m entryModel) shortHelp() []key.Binding {
	if m.editingNote {
		return []key.Binding{m.noteKeys.Done, m.noteKeys.Cancel}
	}
	if m.prompt {
		return []key.Binding{m.keys.CodeDigits, m.keys.Charge, m.keys.Backspace, m.keys.Back}
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
	if m.deps.canCode() {
		bs = append(bs, m.keys.Code)
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
		now := m.deps.now()
		m.fast = m.scan.fast(now)
		if m.scan.drop(msg, now) {
			return m, nil
		}
		if m.editingNote {
			return m.updateNote(msg)
		}
		if m.prompt {
			return m.updatePrompt(msg)
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
	if m.scan.scrub(&m.note, msg, m.fast) {
		// A scan into the note (digits at a scanner's pace, or pasted):
		// the code is taken out at once and the rest of the scan
		// dropped; the note closes so the next scan meets the amount. A
		// long number typed by hand stays, and CheckNote refuses it
		// with a message if it may be a code.
		m.editingNote = false
		m.note.Blur()
		m.err = m.deps.p.T("entry.code_in_note")
	}
	return m, cmd
}

func (m entryModel) updateKey(msg tea.KeyMsg) (entryModel, tea.Cmd) {
	run := m.runFrom
	m.runFrom = -1 // kept only by a digit typed into the amount
	switch {
	case msg.Paste && isCodeText(string(msg.Runes)):
		// A pasted run of digits too long for an amount is a payment
		// code (a scanner in paste mode, a code copied from
		// `till sandbox code`): the prompt's, once there is an amount.
		if m.amount == "" {
			m.err = m.deps.p.T("entry.amount_first")
			return m, nil
		}
		if m, _ = m.openPrompt(false, ""); !m.prompt {
			return m, nil
		}
		return m.updatePrompt(msg)
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
		r := msg.Runes[0]
		digit := r >= '0' && r <= '9'
		switch {
		case digit && hasTwoDecimals(m.amount) && m.fast && run >= 0 && m.deps.canCode():
			// The decimals came as fast as the digit after them: a scan
			// that began before the amount was finished ("12.3" and a
			// scan), whose first digits went into it. Neither the amount
			// it made nor what is left of the code is charged, and the
			// amount is typed again.
			m.err = m.deps.p.T("entry.scan_unfinished", catalog.V{"Amount": m.amount[:run]})
			m.amount, m.scan.armed = "", true
			return m, nil
		case digit && hasTwoDecimals(m.amount) && m.deps.canCode():
			// "9.90" and then a scan: the digits are the code's.
			return m.openPrompt(true, string(r))
		case digit && digitRun(m.amount) >= maxAmountDigits:
			// No price has this many digits: a code scanned before the
			// amount was typed. It is neither an amount nor shown.
			m.amount, m.scan.armed = "", true
			m.err = m.deps.p.T("entry.amount_first")
			return m, nil
		}
		if digit {
			m.runFrom = run
			if !m.fast || run < 0 {
				m.runFrom = len(m.amount) // a new run begins here
			}
		}
		if len(m.amount)+len(msg.Runes) <= maxAmountChars {
			m.amount += string(msg.Runes)
		}
		m.err = ""
	case key.Matches(msg, m.keys.Code) && m.deps.canCode():
		if m.amount == "" {
			m.err = m.deps.p.T("entry.amount_first")
			return m, nil
		}
		return m.openPrompt(false, "")
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

// maxAmountDigits is the longest run of digits an amount has (no price at
// the counter is a billion yuan): one more is a scanned code.
const maxAmountDigits = 8

// digitRun is how many digits end s.
func digitRun(s string) int {
	n := 0
	for n < len(s) && s[len(s)-1-n] >= '0' && s[len(s)-1-n] <= '9' {
		n++
	}
	return n
}

// hasTwoDecimals reports an amount typed to the fen with a point ("9.90").
// A comma does not count: "1,23" may be the start of "1,234" (refused as
// unclear, with a message), so after a comma's two decimals a scan needs
// the Enter first.
func hasTwoDecimals(s string) bool {
	i := strings.LastIndex(s, ".")
	return i >= 0 && len(s)-i-1 == 2 && digitRun(s) == 2
}

// openPrompt opens the code prompt for the amount typed, with first the
// code's first digit when a digit opened it (overflow).
func (m entryModel) openPrompt(overflow bool, first string) (entryModel, tea.Cmd) {
	if _, err := m.deps.engine.ParseAmount(m.amount); err != nil {
		m.err = describe(m.deps.p, err, "")
		return m, nil
	}
	m.prompt, m.overflow, m.code, m.err = true, overflow, first, ""
	return m, nil
}

// maxCodeDigits bounds what the prompt keeps: a payment code has at most
// 24 digits; a longer run is refused at Enter.
const maxCodeDigits = 32

// updatePrompt takes a key in the code prompt: digits (a scanner's, or a
// clerk's typing a code by hand), Enter to charge, backspace, Esc back to
// the amount. w or a in an empty prompt show the QR instead.
func (m entryModel) updatePrompt(msg tea.KeyMsg) (entryModel, tea.Cmd) {
	p := m.deps.p
	switch {
	case msg.Paste:
		text := strings.TrimSpace(checkout.NarrowAmount(string(msg.Runes)))
		enter := strings.ContainsAny(string(msg.Runes), "\r\n")
		if strings.Trim(text, "0123456789") != "" {
			m.code, m.err = "", p.T("entry.code_digits")
			return m, nil
		}
		m.code = (m.code + text)[:min(len(m.code)+len(text), maxCodeDigits)]
		if enter {
			return m.chargeCode()
		}
	case msg.Type == tea.KeyRunes && len(msg.Runes) == 1 && msg.Runes[0] >= '0' && msg.Runes[0] <= '9':
		if len(m.code) < maxCodeDigits {
			m.code += string(msg.Runes)
		}
		m.err = ""
	case key.Matches(msg, m.keys.Charge):
		return m.chargeCode()
	case key.Matches(msg, m.keys.Backspace):
		if m.code != "" {
			m.code = m.code[:len(m.code)-1]
		}
		m.err = ""
	case key.Matches(msg, m.keys.Back):
		m.prompt, m.code, m.overflow, m.err = false, "", false, ""
	case m.code == "" && key.Matches(msg, m.keys.WeChat):
		m.prompt = false
		return m.charge(checkout.MethodWeChat)
	case m.code == "" && key.Matches(msg, m.keys.Alipay):
		m.prompt = false
		return m.charge(checkout.MethodAlipay)
	case msg.Type == tea.KeyRunes:
		m.err = p.T("entry.code_digits")
	}
	return m, nil
}

// chargeCode checks the code the prompt holds and asks for the sale: a
// code that is no wallet's, or a wallet not set up here, is refused with
// a message, nothing is written and the prompt is emptied for the next
// scan.
func (m entryModel) chargeCode() (entryModel, tea.Cmd) {
	p := m.deps.p
	code := m.code
	m.code = ""
	if code == "" {
		m.err = p.T("entry.code_prompt")
		return m, nil
	}
	meth, err := checkout.WalletOf(code)
	if err != nil {
		m.err = p.T("entry.not_a_code", catalog.V{"Digits": len(code)})
		if m.overflow {
			// Digits after the amount's decimals opened the prompt: the
			// scan may have begun in the amount. Type it again.
			m.amount, m.prompt, m.overflow = "", false, false
			m.err = p.T("entry.not_a_code_retype", catalog.V{"Digits": len(code)})
		}
		return m, nil
	}
	if !m.deps.hasMethod(meth) {
		m.err = p.T("entry.not_configured", catalog.V{"Method": methodName(p, meth)})
		return m, nil
	}
	amount, err := m.deps.engine.ParseAmount(m.amount)
	if err != nil {
		m.err = describe(p, err, "")
		return m, nil
	}
	note, err := checkout.CheckNote(m.note.Value())
	if err != nil {
		m.err = describe(p, err, "")
		return m, nil
	}
	m.err = ""
	m.codeCharge = &codeChargeMsg{amount: amount, code: code, note: note, method: meth}
	return m, nil
}

// maskCode draws a code being typed as a dot per digit but the last four:
// the count and the tail tell a clerk typing by hand where they are, and
// the code, a bearer credential, is never on screen whole.
func maskCode(code string) string {
	if code == "" {
		return ""
	}
	keep := min(len(code), 4)
	return strings.Repeat("•", len(code)-keep) + code[len(code)-keep:]
}

// isCodeText reports a paste that is a run of digits longer than an amount
// has (and perhaps the scanner's Enter).
func isCodeText(s string) bool {
	t := strings.TrimSpace(checkout.NarrowAmount(s))
	return len(t) > maxAmountDigits && strings.Trim(t, "0123456789") == ""
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
	if m.editingNote || m.prompt {
		cursor = " "
	}
	box := s.InputOn
	if m.editingNote || m.prompt {
		box = s.Input
	}
	labelW := max(ansi.StringWidth(p.T("entry.amount")), ansi.StringWidth(p.T("entry.note"))) + 2
	if m.prompt {
		labelW = max(labelW, ansi.StringWidth(p.T("entry.code"))+2)
	}
	// The box is 22 columns wide (its border takes 2 more), less in a
	// window too narrow for that.
	amountBox := box.Width(max(8, min(22, m.width-labelW-2))).Render(s.Amount.Render("¥ "+amountText) + cursor)
	b.WriteString(lipgloss.JoinHorizontal(lipgloss.Center, s.Label.Render(pad(p.T("entry.amount"), labelW)), amountBox))
	b.WriteByte('\n')
	if m.prompt {
		codeBox := s.InputOn.Width(max(8, min(30, m.width-labelW-2))).Render(maskCode(m.code) + "▌")
		b.WriteString(lipgloss.JoinHorizontal(lipgloss.Center, s.Label.Render(pad(p.T("entry.code"), labelW)), codeBox))
		b.WriteString("\n" + s.Accent.Width(m.width).Render(p.T("entry.code_prompt")) + "\n")
		if m.deps.sandbox {
			b.WriteString(s.Muted.Width(m.width).Render(p.T("entry.code_sandbox_hint")) + "\n")
		}
	}

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
	if m.showCodes && len(m.deps.testCodes) > 0 {
		b.WriteString(m.testCodesView())
		return b.String()
	}
	b.WriteString(m.recentView(m.height - lipgloss.Height(b.String())))
	return b.String()
}

// behaviourKeys word what the emulated customer does with a test code.
var behaviourKeys = map[string]string{
	"pays": "codes.pays", "password": "codes.password", "never": "codes.never",
	"balance": "codes.balance", "expired": "codes.expired",
}

// testCodesView lists the sandbox's payment codes, to paste at the code
// prompt as a scanner types them.
func (m entryModel) testCodesView() string {
	s := m.deps.styles
	p := m.deps.p
	var b strings.Builder
	b.WriteString(s.Title.Width(m.width).Render(p.T("codes.title")))
	for _, c := range m.deps.testCodes {
		what := c.Behaviour
		if k, ok := behaviourKeys[c.Behaviour]; ok {
			what = p.T(k)
		}
		line := pad(methodName(p, c.Method), 11) + "  " + c.Code + "  " + what
		b.WriteString("\n" + ansi.Truncate(line, max(m.width, 1), "…"))
	}
	b.WriteString("\n" + s.Muted.Width(m.width).Render(p.T("codes.how")))
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
