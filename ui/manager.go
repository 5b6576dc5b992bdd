package ui

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"till/backup"
	"till/catalog"
	"till/manager"
)

// Manager mode: the manager's menu (m), refunds and changing the PIN sit
// behind one manager PIN. The PIN is asked on a screen of its own, masked;
// a ledger with no PIN yet says so and sets it (typed twice). A right PIN
// opens manager mode for an idle timeout, shown at the top with what is
// left; any key in it starts the timeout again. The checks are argon2id
// (about 0.3 s) and run in tea.Cmds.

// pinPurpose is what the PIN screen is for.
type pinPurpose int

const (
	pinLoading pinPurpose = iota // asking the ledger whether a PIN is set
	pinOpen                      // enter manager mode
	pinFirst                     // no PIN yet: set one, typed twice
	pinChange                    // the current PIN, then the new one twice
)

// afterPIN is where a right PIN leads.
type afterPIN int

const (
	toMenu   afterPIN = iota // the manager's menu
	toRefund                 // the refund of the order the history had open
)

// pinStatusMsg is the ledger's answer about the PIN. Sent by
// pinStatusCmd; handled by the PIN screen.
type pinStatusMsg struct {
	status manager.Status
	err    error
}

// pinCheckedMsg is the answer to a PIN check or a PIN set. Sent by
// pinCheckCmd and pinSetCmd; handled by the PIN screen.
type pinCheckedMsg struct {
	set bool // it was a set, not a check
	err error
}

// managerTickMsg redraws manager mode's countdown and ends the mode when
// it ran out; seq tells the current timer from stale ones.
type managerTickMsg struct{ seq int }

func pinStatusCmd(ctx context.Context, g *manager.Guard) tea.Cmd {
	return func() tea.Msg {
		c, cancel := withDeadline(ctx)
		defer cancel()
		st, err := g.Status(c)
		return pinStatusMsg{status: st, err: err}
	}
}

func pinCheckCmd(ctx context.Context, g *manager.Guard, pin string) tea.Cmd {
	return func() tea.Msg {
		c, cancel := withDeadline(ctx)
		defer cancel()
		return pinCheckedMsg{err: g.Check(c, pin)}
	}
}

func pinSetCmd(ctx context.Context, g *manager.Guard, old, pin string) tea.Cmd {
	return func() tea.Msg {
		c, cancel := withDeadline(ctx)
		defer cancel()
		return pinCheckedMsg{set: true, err: g.Set(c, old, pin)}
	}
}

func managerTick(seq int) tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return managerTickMsg{seq: seq} })
}

type pinKeys struct {
	Enter key.Binding
	Back  key.Binding
}

func defaultPINKeys(p *catalog.Printer) pinKeys {
	return pinKeys{
		Enter: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", p.T("key.ok"))),
		Back:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", p.T("key.back"))),
	}
}

// pinModel is the PIN screen.
type pinModel struct {
	deps    deps
	keys    pinKeys
	purpose pinPurpose
	after   afterPIN
	step    int // pinFirst: 0 new, 1 again; pinChange: 0 current, 1 new, 2 again
	input   textinput.Model
	spinner spinner.Model
	busy    bool
	old     string // pinChange: the current PIN, once typed
	first   string // the new PIN, typed once
	err     string
	locked  time.Time // manager actions are locked until then
	width   int

	// Intents the root takes in the same Update.
	done  bool // the PIN was right (or set): manager mode opens
	leave bool // Esc
}

func newPINModel(d deps, purpose pinPurpose, after afterPIN) pinModel {
	ti := textinput.New()
	ti.EchoMode = textinput.EchoPassword
	ti.EchoCharacter = '•'
	ti.CharLimit = manager.MaxPINLen
	ti.Prompt = ""
	ti.Focus()
	return pinModel{deps: d, keys: defaultPINKeys(d.p), purpose: purpose, after: after, input: ti,
		spinner: spinner.New(spinner.WithSpinner(spinner.Dot))}
}

func (m pinModel) shortHelp() []key.Binding {
	if m.busy {
		return nil
	}
	return []key.Binding{m.keys.Enter, m.keys.Back}
}

func (m pinModel) Update(msg tea.Msg) (pinModel, tea.Cmd) {
	switch msg := msg.(type) {
	case spinner.TickMsg:
		if !m.busy {
			return m, nil
		}
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		return m, cmd
	case pinStatusMsg:
		if m.purpose != pinLoading {
			return m, nil
		}
		if msg.err != nil {
			m.err = describe(m.deps.p, msg.err, "")
			return m, nil
		}
		m.purpose = pinOpen
		if !msg.status.HasPIN {
			m.purpose = pinFirst
		}
		m.locked = msg.status.LockedUntil
		return m, nil
	case pinCheckedMsg:
		m.busy = false
		return m.checked(msg)
	case tea.KeyMsg:
		if m.busy {
			return m, nil
		}
		switch {
		case key.Matches(msg, m.keys.Back):
			m.leave = true
			return m, nil
		case key.Matches(msg, m.keys.Enter):
			return m.enter()
		}
		if m.purpose == pinLoading {
			return m, nil
		}
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	return m, nil
}

// enter takes the PIN typed for the current step.
func (m pinModel) enter() (pinModel, tea.Cmd) {
	pin := strings.TrimSpace(m.input.Value())
	m.input.SetValue("")
	if m.purpose == pinLoading || pin == "" {
		return m, nil
	}
	if !m.locked.IsZero() && m.deps.now().Before(m.locked) {
		return m, nil // the screen says until when; no try counts
	}
	m.err = ""
	busy := func(cmd tea.Cmd) (pinModel, tea.Cmd) {
		m.busy = true
		return m, tea.Batch(m.spinner.Tick, cmd)
	}
	g := m.deps.guard
	switch {
	case m.purpose == pinOpen:
		return busy(pinCheckCmd(m.deps.ctx, g, pin))
	case m.purpose == pinChange && m.step == 0:
		m.old, m.step = pin, 1
		return m, nil
	case m.step == m.lastStep()-1: // the new PIN, the first time
		if err := manager.ValidatePIN(pin); err != nil {
			m.err = pinRuleText(m.deps.p, err)
			return m, nil
		}
		m.first, m.step = pin, m.step+1
		return m, nil
	}
	// The new PIN again.
	if pin != m.first {
		m.err = m.deps.p.T("manager.pin.mismatch")
		m.first, m.step = "", m.lastStep()-1
		return m, nil
	}
	return busy(pinSetCmd(m.deps.ctx, g, m.old, pin))
}

// lastStep is the step that types the new PIN again.
func (m pinModel) lastStep() int {
	if m.purpose == pinChange {
		return 2
	}
	return 1
}

// checked takes the answer to a check or a set.
func (m pinModel) checked(msg pinCheckedMsg) (pinModel, tea.Cmd) {
	p := m.deps.p
	var (
		wrong  *manager.WrongPINError
		locked *manager.LockedError
	)
	switch err := msg.err; {
	case err == nil:
		m.done = true
	case errors.As(err, &wrong):
		m.err = p.N("manager.pin.wrong", wrong.Left)
		if m.purpose == pinChange {
			m.step, m.old, m.first = 0, "", ""
		}
	case errors.As(err, &locked):
		m.locked = locked.Until
		m.step, m.old, m.first = 0, "", ""
	case errors.Is(err, manager.ErrNoPIN):
		m.purpose, m.step = pinFirst, 0
	case errors.Is(err, manager.ErrPINChanged):
		m.err = p.T("manager.pin.changed_meanwhile")
		m.step, m.old, m.first = 0, "", ""
	default:
		var pe *manager.PINError
		if errors.As(err, &pe) {
			m.err = pinRuleText(p, err)
		} else {
			m.err = describe(p, err, "")
		}
		m.step, m.first = m.lastStep()-1, ""
		if m.purpose == pinChange {
			m.step, m.old = 0, ""
		}
	}
	return m, nil
}

// pinRuleText words why a new PIN was refused.
func pinRuleText(p *catalog.Printer, err error) string {
	var pe *manager.PINError
	if !errors.As(err, &pe) {
		return describe(p, err, "")
	}
	v := catalog.V{"Min": manager.MinPINLen, "Max": manager.MaxPINLen}
	switch pe.Code {
	case manager.PINNotDigits:
		return p.T("manager.pin.rule.digits", v)
	case manager.PINTooSimple:
		return p.T("manager.pin.rule.simple", v)
	}
	return p.T("manager.pin.rule.length", v)
}

// prompt is what the current step asks for.
func (m pinModel) prompt() string {
	p := m.deps.p
	switch {
	case m.purpose == pinLoading:
		return ""
	case m.purpose == pinOpen:
		return p.T("manager.pin.enter")
	case m.purpose == pinChange && m.step == 0:
		return p.T("manager.pin.current")
	case m.step == m.lastStep():
		return p.T("manager.pin.again")
	}
	return p.T("manager.pin.new")
}

func (m pinModel) View() string {
	s, p := m.deps.styles, m.deps.p
	w := max(m.width, 20)
	var b strings.Builder
	b.WriteString(s.Title.Render(p.T("manager.pin.title")) + "\n\n")
	if m.purpose == pinFirst {
		b.WriteString(s.Row.Width(w).Render(p.T("manager.pin.none_yet", catalog.V{"Min": manager.MinPINLen, "Max": manager.MaxPINLen})) + "\n\n")
	}
	if !m.locked.IsZero() && m.deps.now().Before(m.locked) {
		b.WriteString(s.Error.Width(w).Render("✗ "+p.T("manager.pin.locked", catalog.V{"Until": p.Clock(m.locked.In(m.deps.loc))})) + "\n")
		return b.String()
	}
	if m.purpose != pinLoading {
		label := m.prompt()
		box := s.InputOn.Width(min(16, max(w-ansi.StringWidth(label)-4, 6))).Render(m.input.View())
		b.WriteString(lipgloss.JoinHorizontal(lipgloss.Center, s.Label.Render(label+" "), box) + "\n")
	}
	if m.busy {
		b.WriteString("\n" + m.spinner.View() + " " + p.T("manager.pin.checking") + "\n")
	}
	if m.err != "" {
		b.WriteString("\n" + s.Error.Width(w).Render("✗ "+m.err) + "\n")
	}
	return b.String()
}

// menuItem is one line of the manager's menu.
type menuItem int

const (
	menuRefund   menuItem = iota // find an order in the history and refund it
	menuReport                   // the day report, today's first
	menuCloseDay                 // today's report, then its close
	menuChangePIN
	menuLock // leave manager mode now
)

type menuKeys struct {
	Up, Down, Choose, Back key.Binding
}

func defaultMenuKeys(p *catalog.Printer) menuKeys {
	return menuKeys{
		Up:     key.NewBinding(key.WithKeys("up"), key.WithHelp("↑↓", p.T("key.choose"))),
		Down:   key.NewBinding(key.WithKeys("down")),
		Choose: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", p.T("key.ok"))),
		Back:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", p.T("key.back"))),
	}
}

// menuModel is the manager's menu.
type menuModel struct {
	deps   deps
	keys   menuKeys
	cursor int
	width  int

	chosen *menuItem // intent: the item picked (Enter, or its digit)
	leave  bool      // intent: Esc
}

var menuItems = []menuItem{menuRefund, menuReport, menuCloseDay, menuChangePIN, menuLock}

var menuKeyIDs = map[menuItem]string{
	menuRefund:    "manager.menu.refund",
	menuReport:    "manager.menu.report",
	menuCloseDay:  "manager.menu.close_day",
	menuChangePIN: "manager.menu.change_pin",
	menuLock:      "manager.menu.lock",
}

func newMenu(d deps) menuModel { return menuModel{deps: d, keys: defaultMenuKeys(d.p)} }

func (m menuModel) shortHelp() []key.Binding {
	return []key.Binding{m.keys.Up, m.keys.Choose, m.keys.Back}
}

func (m menuModel) Update(msg tea.Msg) (menuModel, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return m, nil
	}
	switch {
	case key.Matches(k, m.keys.Up):
		m.cursor = max(m.cursor-1, 0)
	case key.Matches(k, m.keys.Down):
		m.cursor = min(m.cursor+1, len(menuItems)-1)
	case key.Matches(k, m.keys.Choose):
		it := menuItems[m.cursor]
		m.chosen = &it
	case key.Matches(k, m.keys.Back):
		m.leave = true
	case k.Type == tea.KeyRunes && len(k.Runes) == 1 && k.Runes[0] >= '1' && int(k.Runes[0]-'1') < len(menuItems):
		it := menuItems[k.Runes[0]-'1']
		m.cursor, m.chosen = int(k.Runes[0]-'1'), &it
	}
	return m, nil
}

func (m menuModel) View() string {
	s, p := m.deps.styles, m.deps.p
	var b strings.Builder
	b.WriteString(s.Title.Render(p.T("manager.menu.title")) + "\n\n")
	for i, it := range menuItems {
		line := truncate(string(rune('1'+i))+"  "+p.T(menuKeyIDs[it]), max(m.width-2, 10))
		if i == m.cursor {
			line = s.Selected.Render(" " + line + " ")
		} else {
			line = " " + line
		}
		b.WriteString(line + "\n")
	}
	if m.deps.backups != nil {
		b.WriteString("\n" + m.backupLine(m.deps.backups()) + "\n")
	}
	return b.String()
}

// backupLine says how the automatic backups go: a failure in the warning
// colour until a copy succeeds again.
func (m menuModel) backupLine(st backup.Status) string {
	s, p := m.deps.styles, m.deps.p
	w := max(m.width-2, 10)
	last := p.T("manager.backup.none_yet")
	if !st.LastAt.IsZero() {
		at := st.LastAt.In(m.deps.loc)
		last = p.T("manager.backup.last", catalog.V{"At": p.Date(at) + " " + p.Clock(at), "Path": st.LastPath})
	}
	if st.Failed {
		text := p.T("manager.backup.failed", catalog.V{"At": p.Clock(st.FailedAt.In(m.deps.loc)), "Err": st.Err, "Dir": st.Dir}) + " " + last
		return s.Warn.Render(strings.Join(wrapText(text, w), "\n"))
	}
	return s.Muted.Render(strings.Join(wrapText(last, w), "\n"))
}
