// Package ui is till's cashier desk in Bubble Tea: one model per screen
// (sale entry, waiting with the QR, result, problem), and a root model
// that routes between them. Screens talk to each other and to the engine
// only through messages; every engine call runs in a tea.Cmd, so the
// screen never freezes while a provider thinks.
package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"till/checkout"
)

// deps is what every screen needs, fixed at construction and read-only.
type deps struct {
	ctx     context.Context
	engine  *checkout.Engine
	styles  Styles
	now     func() time.Time
	loc     *time.Location
	sandbox bool
}

func (d deps) hasMethod(m checkout.Method) bool {
	for _, x := range d.engine.Methods() {
		if x == m {
			return true
		}
	}
	return false
}

// Options configure the desk.
type Options struct {
	Context  context.Context
	Engine   *checkout.Engine
	Renderer *lipgloss.Renderer // nil: the default renderer
	Sandbox  bool               // say SANDBOX on screen
	Terminal string
	// SkipRecovery leaves orders open at start untouched (tests only).
	SkipRecovery bool
}

type screen int

const (
	screenEntry screen = iota
	screenWaiting
	screenResult
	screenProblem
)

func (s screen) String() string {
	return [...]string{"entry", "waiting", "result", "problem"}[s]
}

// Model is the root: it holds the active screen, the window size, the
// help line and a notice, and routes messages.
type Model struct {
	deps     deps
	keys     globalKeys
	help     help.Model
	terminal string
	recover  bool

	active  screen
	entry   entryModel
	waiting waitingModel
	result  resultModel
	problem problemModel

	// One recovery pass at a time, and at most one queued.
	recovering    bool
	recoverQueued bool

	notice     string
	noticeWarn bool
	quitArmed  bool

	width, height int
}

// New builds the desk.
func New(o Options) Model {
	ctx := o.Context
	if ctx == nil {
		ctx = context.Background()
	}
	r := o.Renderer
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	cfg := o.Engine.Config()
	d := deps{ctx: ctx, engine: o.Engine, styles: DefaultStyles(r), now: o.Engine.Now, loc: cfg.Location, sandbox: o.Sandbox}
	h := help.New()
	return Model{
		deps:     d,
		keys:     defaultGlobalKeys(),
		help:     h,
		terminal: o.Terminal,
		recover:  !o.SkipRecovery,
		entry:    newEntry(d),
		width:    80,
		height:   24,
	}
}

// Init settles orders left open by the last run and loads today's sales.
func (m Model) Init() tea.Cmd {
	cmds := []tea.Cmd{recentCmd(m.deps.ctx, m.deps.engine, recentLimit)}
	if m.recover {
		// Init cannot record it, so the first pass is not marked as
		// running; Engine.Recover is safe to run twice at once anyway.
		cmds = append(cmds, recoverCmd(m.deps.ctx, m.deps.engine))
	}
	return tea.Batch(cmds...)
}

// InFlight reports whether a sale is under way, so that quitting can
// warn first.
func (m Model) InFlight() bool { return m.active == screenWaiting || m.active == screenProblem }

// Active names the screen on show (for tests and logs).
func (m Model) Active() string { return m.active.String() }

func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	// 1. Window size and global keys.
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.Width = msg.Width
		m = m.resize()
		return m, nil
	case tea.KeyMsg:
		if key.Matches(msg, m.keys.ForceQuit) {
			if m.InFlight() && !m.quitArmed {
				m.quitArmed = true
				m.notice, m.noticeWarn = "A sale is under way. Press ctrl+c again to quit; till will settle it at the next start.", true
				return m, nil
			}
			return m, tea.Quit
		}
		m.quitArmed = false
		if m.active == screenEntry && !m.entry.editingNote {
			switch {
			case key.Matches(msg, m.keys.Quit):
				return m, tea.Quit
			case key.Matches(msg, m.keys.Help):
				m.help.ShowAll = !m.help.ShowAll
				return m, nil
			}
		}
	}

	// 2. Navigation.
	switch msg := msg.(type) {
	case recoveredMsg:
		if notice, warn := recoveryNotice(msg); notice != "" || m.noticeWarn {
			m.notice, m.noticeWarn = notice, warn
		}
		m.recovering = false
		cmds := []tea.Cmd{recentCmd(m.deps.ctx, m.deps.engine, recentLimit)}
		if len(msg.errs) > 0 {
			cmds = append(cmds, m.recoverLater())
		}
		return m, tea.Batch(cmds...)
	case recoverTickMsg:
		m.recoverQueued = false
		if m.recovering {
			return m, m.recoverLater()
		}
		m.recovering = true
		return m, recoverCmd(m.deps.ctx, m.deps.engine)
	case chargeMsg:
		m.notice = ""
		return m.toWaiting(newCreating(m.deps, msg.method, msg.amount),
			startCmd(m.deps.ctx, m.deps.engine, msg.method, msg.amount, msg.note))
	case saleStartedMsg:
		return m.started(msg)
	case saleDoneMsg:
		m.active = screenResult
		m.result = newResult(m.deps, msg.order)
		return m, recentCmd(m.deps.ctx, m.deps.engine, recentLimit)
	case closeFailedMsg:
		m.active = screenProblem
		m.problem = newProblem(m.deps, problemCloseFailed, msg.order, msg.err)
		return m, nil
	case retryCreateMsg:
		return m.toWaiting(newCreating(m.deps, msg.order.Method, msg.order.Amount),
			retryCmd(m.deps.ctx, m.deps.engine, msg.order.No))
	case retryCloseMsg:
		return m.closeSale(msg.order)
	case abandonMsg:
		o := msg.order
		if m.problem.kind == problemCreateUnknown {
			return m.closeSale(o) // giving up: query once more, then close
		}
		// The close itself failed: hand the order to recovery.
		m.deps.engine.Release(o.No)
		next, cmd := m.toEntry("Order "+o.No+" is still open; till keeps checking it with "+o.Method.Label()+" and records what happened.", true)
		nm := next.(Model)
		return nm, tea.Batch(cmd, nm.recoverLater())
	case nextSaleMsg:
		return m.toEntry(msg.notice, false)
	}

	// 3. Engine and tick messages go to the screen that owns them.
	switch msg.(type) {
	case recentMsg:
		var cmd tea.Cmd
		m.entry, cmd = m.entry.Update(msg)
		return m, cmd
	case polledMsg, finishedMsg, pollTickMsg, clockTickMsg:
		// A sale's late answers die with its screen: once the clerk has
		// moved on, an old result must not come back over the next sale.
		// (The ledger has them all the same.)
		if m.active != screenWaiting {
			return m, nil
		}
		var cmd tea.Cmd
		m.waiting, cmd = m.waiting.Update(msg)
		return m, cmd
	}

	// 4. Everything else goes to the active screen.
	var cmd tea.Cmd
	switch m.active {
	case screenEntry:
		m.entry, cmd = m.entry.Update(msg)
	case screenWaiting:
		m.waiting, cmd = m.waiting.Update(msg)
	case screenResult:
		m.result, cmd = m.result.Update(msg)
	case screenProblem:
		m.problem, cmd = m.problem.Update(msg)
	}
	return m, cmd
}

func (m Model) started(msg saleStartedMsg) (tea.Model, tea.Cmd) {
	o := msg.order
	switch {
	case o.State == checkout.StateAwaiting:
		m.active = screenWaiting
		var cmd tea.Cmd
		m.waiting, cmd = m.waiting.begin(o)
		m = m.resize()
		return m, cmd
	case o.No == "":
		// Nothing was written (a refused input or a ledger fault).
		m.entry.err = checkout.UserMessage(msg.err)
		m.active = screenEntry
		return m, nil
	case o.State == checkout.StateCreated:
		m.active = screenProblem
		m.problem = newProblem(m.deps, problemCreateUnknown, o, msg.err)
		return m, nil
	default:
		// Failed, or settled (paid/closed) while retrying.
		m.active = screenResult
		m.result = newResult(m.deps, o)
		return m, recentCmd(m.deps.ctx, m.deps.engine, recentLimit)
	}
}

// toWaiting shows w and runs cmd, the engine call it waits on.
func (m Model) toWaiting(w waitingModel, cmd tea.Cmd) (tea.Model, tea.Cmd) {
	m.active = screenWaiting
	m.waiting = w
	m = m.resize()
	return m, tea.Batch(m.waiting.spinner.Tick, cmd)
}

// closeSale shows o closing while the engine queries once more and
// closes it.
func (m Model) closeSale(o checkout.Order) (tea.Model, tea.Cmd) {
	w := newCreating(m.deps, o.Method, o.Amount)
	w.order, w.phase = o, phaseClosing
	return m.toWaiting(w, finishCmd(m.deps.ctx, m.deps.engine, o.No, "cancelled by clerk"))
}

func (m Model) toEntry(notice string, warn bool) (tea.Model, tea.Cmd) {
	m.active = screenEntry
	m.entry = m.entry.reset()
	m.waiting = waitingModel{}
	m.notice, m.noticeWarn = notice, warn
	return m, recentCmd(m.deps.ctx, m.deps.engine, recentLimit)
}

// recoverLater queues one more recovery pass unless one is queued.
// (Called on a copy that the caller returns, so the flag sticks.)
func (m *Model) recoverLater() tea.Cmd {
	if m.recoverQueued {
		return nil
	}
	m.recoverQueued = true
	return recoverTickCmd()
}

func recoveryNotice(msg recoveredMsg) (string, bool) {
	if len(msg.settled) == 0 && len(msg.errs) == 0 {
		return "", false
	}
	var parts []string
	for _, o := range msg.settled {
		parts = append(parts, fmt.Sprintf("%s %s %s", o.No, o.Amount.Yuan(), stateWord(o.State)))
	}
	s := ""
	if len(parts) > 0 {
		s = fmt.Sprintf("Settled %d order(s) left open: %s.", len(parts), strings.Join(parts, "; "))
	}
	if len(msg.errs) > 0 {
		s = strings.TrimSpace(s + fmt.Sprintf(" %d order(s) could not be checked yet (%s); till keeps asking.",
			len(msg.errs), checkout.UserMessage(msg.errs[0])))
		return s, true
	}
	return s, false
}

// chrome is the number of lines the header and help take.
const chrome = 5

func (m Model) resize() Model {
	w, h := m.width-2, m.height-chrome
	m.entry.width, m.entry.height = w, h
	m.waiting = m.waiting.setSize(w, h)
	return m
}

func (m Model) shortHelp() []key.Binding {
	var bs []key.Binding
	switch m.active {
	case screenEntry:
		if m.help.ShowAll {
			bs = m.entry.fullHelp()
		} else {
			bs = m.entry.shortHelp()
		}
		if !m.entry.editingNote {
			bs = append(bs, m.keys.Quit, m.keys.Help)
		}
	case screenWaiting:
		bs = m.waiting.shortHelp()
	case screenResult:
		bs = m.result.shortHelp()
	case screenProblem:
		bs = m.problem.shortHelp()
	}
	return bs
}

func (m Model) View() string {
	s := m.deps.styles
	header := s.Title.Render("till") + s.Muted.Render(" · counter "+m.terminal)
	if m.deps.sandbox {
		header += "  " + s.Sandbox.Render("SANDBOX") + s.Muted.Render(" no real money")
	}
	if m.notice != "" {
		style := s.Accent
		if m.noticeWarn {
			style = s.Warn
		}
		header += "\n" + style.Width(m.width-2).Render(m.notice)
	}
	var body string
	switch m.active {
	case screenEntry:
		body = m.entry.View()
	case screenWaiting:
		body = m.waiting.View()
	case screenResult:
		body = m.result.View()
	case screenProblem:
		body = m.problem.View()
	}
	helpLine := m.help.ShortHelpView(m.shortHelp())
	if m.help.ShowAll {
		var cols [][]key.Binding
		bs := m.shortHelp()
		for len(bs) > 0 {
			n := min(3, len(bs))
			cols, bs = append(cols, bs[:n]), bs[n:]
		}
		helpLine = m.help.FullHelpView(cols)
	}
	return s.App.Render(s.Header.Render(header) + "\n" + body + "\n" + s.HelpLine.Render(helpLine))
}
