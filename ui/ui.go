// Package ui is till's cashier desk in Bubble Tea: one model per screen
// (sale entry, waiting with the QR, result, problem, history, the manager's
// PIN, menu, refund and day report, who is at the counter), and a
// root model that routes between them. Screens talk to each other and to
// the engine only through messages; every engine call runs in a tea.Cmd,
// so the screen never freezes while a provider thinks. Every word comes
// from the catalogue, in the clerk's language.
package ui

import (
	"context"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"till/backup"
	"till/catalog"
	"till/checkout"
	"till/manager"
)

// deps is what every screen needs, fixed at construction and read-only.
type deps struct {
	ctx    context.Context
	engine *checkout.Engine
	// styles by pointer: the styles are 11 KB, deps is in every
	// screen's model, and Bubble Tea's models are passed by value (the
	// root was 176 KB, copied on every call of a method of it).
	styles   *Styles
	p        *catalog.Printer
	now      func() time.Time
	loc      *time.Location
	sandbox  bool
	shop     string
	terminal string
	guard    *manager.Guard // the manager PIN; nil: no manager mode
	staff    Staff          // the operators; nil: none
	backups  func() backup.Status
	// testCodes are the sandbox's payment codes, for the help screen.
	testCodes []TestCode
	// memo keeps the parts of the frame drawn the same on most frames
	// (nil: all drawn each time).
	memo *viewMemo
}

// viewMemo keeps the title, the header and the help line as last drawn,
// each with what it was drawn from: they are on every frame (ten a second
// while a sale waits) and change only with the operator, the window, the
// keys or the words.
type viewMemo struct {
	title                  atomic.Pointer[titleEntry]
	titleCut, header, help lastDrawn
}

// titleEntry is a title drawn, and what it was drawn from that a copy
// of deps may change (the tests draw a desk in another language).
type titleEntry struct {
	p                  *catalog.Printer
	sandbox            bool
	op, shop, terminal string
	name, mode         string
}

// lastDrawn is the last answer of a pure function of a string.
type lastDrawn struct{ last atomic.Pointer[[2]string] }

// get is draw's answer for key: the last one if key is the last key.
func (l *lastDrawn) get(key string, draw func() string) string {
	if e := l.last.Load(); e != nil && e[0] == key {
		return e[1]
	}
	v := draw()
	l.last.Store(&[2]string{key, v})
	return v
}

// canCode reports that the desk takes payment codes: a wallet is set up
// (both adapters charge codes; the prompt tells the wallet from the code).
func (d deps) canCode() bool { return len(d.engine.Methods()) > 0 }

func (d deps) hasMethod(m checkout.Method) bool {
	for _, x := range d.engine.Methods() {
		if x == m {
			return true
		}
	}
	return false
}

// title is the desk's first line: the shop, the counter and the mode, as
// plainly for a live desk (LIVE) as for the sandbox (SANDBOX).
func (d deps) title() string {
	name, mode := d.titleParts()
	return name + "  " + mode
}

// titleParts is the title's two halves, for a layout that stacks them.
func (d deps) titleParts() (name, mode string) {
	if d.memo == nil {
		return d.drawTitle()
	}
	op := d.engine.Operator()
	if e := d.memo.title.Load(); e != nil && e.op == op && e.p == d.p && e.sandbox == d.sandbox && e.shop == d.shop && e.terminal == d.terminal {
		return e.name, e.mode
	}
	name, mode = d.drawTitle()
	d.memo.title.Store(&titleEntry{p: d.p, sandbox: d.sandbox, op: op, shop: d.shop, terminal: d.terminal, name: name, mode: mode})
	return name, mode
}

func (d deps) drawTitle() (name, mode string) {
	s := d.styles
	shop := ""
	if d.shop != "" && d.shop != "till" { // the default name says nothing twice
		shop = " · " + d.shop
	}
	counter := shop + " · " + d.p.T("header.counter", catalog.V{"Terminal": d.terminal})
	if op := d.engine.Operator(); op != checkout.DefaultOperator {
		counter += " · " + op
	}
	name = s.Title.Render("till") + s.Muted.Render(counter)
	if d.sandbox {
		return name, s.Sandbox.Render(d.p.T("header.sandbox")) + s.Muted.Render(" "+d.p.T("header.no_real_money"))
	}
	return name, s.Live.Render(d.p.T("header.live"))
}

// Options configure the desk.
type Options struct {
	Context  context.Context
	Engine   *checkout.Engine
	Renderer *lipgloss.Renderer // nil: the default renderer
	Sandbox  bool               // say SANDBOX on screen; otherwise LIVE
	Terminal string
	Shop     string       // the shop's name, on the first line
	Lang     catalog.Lang // the clerk's language; "" is English
	// Bell, when set, gets a BEL (the terminal's bell) when a sale shows
	// PAID.
	Bell io.Writer
	// Notice is a warning about the setup, shown from the start until the
	// first sale.
	Notice string
	// SkipRecovery leaves orders open at start untouched and runs no
	// settling passes (tests only).
	SkipRecovery bool
	// Guard checks the manager PIN (m: the manager's menu, refunds); nil
	// leaves manager mode out.
	Guard *manager.Guard
	// ManagerIdle is how long manager mode stays open without a key
	// (manager.DefaultIdle when zero).
	ManagerIdle time.Duration
	// Staff lists the operators and records who took the counter; nil:
	// no operators.
	Staff Staff
	// Backups says how the automatic backups go, for the manager's menu;
	// nil: none are configured.
	Backups func() backup.Status
	// TestCodes are the sandbox emulators' payment codes, listed on the
	// help screen (?) so a new user has one to paste; none on a live desk.
	TestCodes []TestCode
	// Changes are what other desks (and till serve) commit to a ledger
	// this desk shares with them: the screens follow them at once. Nil
	// for a ledger of its own.
	Changes <-chan checkout.LedgerChange
}

// TestCode is a sandbox payment code and what the emulated customer does
// with it (Behaviour: pays, password, never, balance, expired).
type TestCode struct {
	Method    checkout.Method
	Behaviour string
	Code      string
}

type screen int

const (
	screenEntry screen = iota
	screenWaiting
	screenResult
	screenProblem
	screenHistory
	screenPIN
	screenMenu
	screenRefund
	screenOperator
	screenReport
	screenCode
)

func (s screen) String() string {
	return [...]string{"entry", "waiting", "result", "problem", "history", "pin", "menu", "refund", "operator", "report", "code"}[s]
}

// ShutdownMsg stops the desk as q does, whatever is on screen: sent by
// main on a signal (kill, a shutdown, the terminal closing). A sale under
// way stays in the ledger and is settled at the next start.
type ShutdownMsg struct{}

// Model is the root: it holds the active screen, the window size, the
// help line, a notice and the late-payment banner, and routes messages.
type Model struct {
	deps     deps
	keys     globalKeys
	help     help.Model
	terminal string
	recover  bool
	bell     io.Writer

	active  screen
	entry   entryModel
	waiting waitingModel
	result  resultModel
	code    codeSaleModel
	problem problemModel
	history historyModel
	pin     pinModel
	menu    menuModel
	refund  refundModel
	picker  operatorModel
	report  reportModel

	// Manager mode: open while session is active; managerSeq numbers its
	// timer. pendingRefund is the order whose refund waits for the PIN.
	session       manager.Session
	managerSeq    int
	pendingRefund *checkout.OrderHistory
	// operators are the configured operators (none: "counter" does all).
	operators []checkout.Operator

	// Settling passes: one at a time (recovering), again right after
	// the running one when asked meanwhile (again), and one timer whose
	// number is tickSeq (older timers are stale).
	recovering bool
	again      bool
	tickSeq    int
	nextPassIn time.Duration // the wait set on the current timer

	// late are the payments found after their sale was closed that no
	// clerk has acknowledged yet: the banner shows the first. acked holds
	// those acknowledged here, so a pass that read the ledger before the
	// acknowledgement landed cannot bring one back.
	late  []checkout.Order
	acked map[string]bool

	notice     string
	noticeWarn bool
	// noticeFromPass: the notice reports a settling pass, so the next pass
	// with nothing to say clears it (and leaves other notices alone).
	noticeFromPass bool
	// setup is the start-up warning (Options.Notice), kept apart from the
	// passes' notices so that none of them replaces it.
	setup     string
	quitArmed bool
	// quitting blanks the last frame: the terminal leaves the alternate
	// screen with nothing on it and the cursor at the top, so no part of
	// the desk is left in the shell (tmux copies the alternate screen's
	// rows back when the window was resized in between).
	quitting bool

	// changes are the shared ledger's announcements (Options.Changes).
	changes <-chan checkout.LedgerChange

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
	lang := o.Lang
	if lang == "" {
		lang = catalog.English
	}
	p := catalog.New(lang)
	shop := o.Shop
	if shop == "" {
		shop = o.Engine.Config().ShopName
	}
	cfg := o.Engine.Config()
	styles := DefaultStyles(r)
	d := deps{ctx: ctx, engine: o.Engine, styles: &styles, p: p, now: o.Engine.Now, loc: cfg.Location,
		sandbox: o.Sandbox, shop: shop, terminal: o.Terminal, guard: o.Guard, staff: o.Staff, backups: o.Backups, testCodes: o.TestCodes,
		memo: &viewMemo{}}
	h := help.New()
	m := Model{
		deps:     d,
		keys:     defaultGlobalKeys(p),
		help:     h,
		terminal: o.Terminal,
		recover:  !o.SkipRecovery,
		bell:     o.Bell,
		// Init starts the first pass; until it reports, no other starts.
		recovering: !o.SkipRecovery,
		entry:      newEntry(d),
		history:    newHistory(d),
		report:     newReport(d),
		setup:      o.Notice,
		acked:      map[string]bool{},
		session:    manager.NewSession(o.ManagerIdle),
		changes:    o.Changes,
		width:      80,
		height:     24,
	}
	return m.resize()
}

// Init settles orders left open by the last run and loads today's sales.
func (m Model) Init() tea.Cmd {
	cmds := []tea.Cmd{recentCmd(m.deps.ctx, m.deps.engine, recentLimit), noticeCmd(m.deps.ctx, m.deps.engine)}
	if m.recover {
		cmds = append(cmds, recoverCmd(m.deps.ctx, m.deps.engine))
	}
	if m.deps.staff != nil {
		cmds = append(cmds, operatorsCmd(m.deps.ctx, m.deps.staff))
	}
	if m.changes != nil {
		cmds = append(cmds, changesCmd(m.deps.ctx, m.deps.engine, m.changes))
	}
	return tea.Batch(cmds...)
}

// typingText reports a text field that takes what is typed as it is: the
// note, the history's search, a refund's reason.
func (m Model) typingText() bool {
	return m.active == screenEntry && m.entry.editingNote || m.active == screenHistory && m.history.typing() ||
		m.active == screenRefund && m.refund.step == refundOther
}

// InFlight reports whether a sale is under way, so that quitting can
// warn first.
func (m Model) InFlight() bool {
	return m.active == screenWaiting || m.active == screenProblem || m.active == screenCode ||
		m.active == screenRefund && m.refund.busy()
}

// Active names the screen on show (for tests and logs).
func (m Model) Active() string { return m.active.String() }

// Update routes msg, then refits the screens: a notice or the banner may
// have changed the header's height.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok && k.Type == tea.KeyRunes && len(k.Runes) > 1 && !k.Paste {
		return m.burst(k)
	}
	next, cmd := m.update(msg)
	return next.resize(), cmd
}

// burst takes typed runes that arrived together ("12.30w" from a fast
// typist, a scanner or a script) one key at a time through the whole desk,
// as if each had come alone: the w starts the sale and what follows is the
// waiting screen's, a q quits, an h opens the history. None is lost and
// none goes to a screen that is no longer there.
func (m Model) burst(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	var cmds []tea.Cmd
	for _, r := range k.Runes {
		next, cmd := m.update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: k.Alt})
		m = next.resize()
		cmds = append(cmds, cmd)
		if m.quitting {
			break
		}
	}
	return m, tea.Batch(cmds...)
}

func (m Model) update(msg tea.Msg) (Model, tea.Cmd) {
	p := m.deps.p
	if k, ok := msg.(tea.KeyMsg); ok && !m.typingText() {
		msg = narrowKey(k) // a Chinese keyboard's "１２。３" is "12.3"
	}
	// 1. Window size and global keys.
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.Width = msg.Width - 2 // inside the app's side padding
		return m, nil
	case tea.KeyMsg:
		if key.Matches(msg, m.keys.ForceQuit) {
			if m.InFlight() && !m.quitArmed {
				m.quitArmed = true
				m.notice, m.noticeWarn, m.noticeFromPass = p.T("notice.quit_armed"), true, false
				return m, nil
			}
			m.quitting = true
			return m, tea.Quit
		}
		if m.quitArmed {
			m.quitArmed = false
			m.notice = ""
		}
		if m.session.Active(m.deps.now()) {
			m.session.Touch(m.deps.now())
		}
		typing := m.typingText()
		if len(m.late) > 0 && !typing && key.Matches(msg, m.keys.SeenLate) {
			return m, lateSeenCmd(m.deps.ctx, m.deps.engine, m.late[0].No)
		}
		switch m.active {
		case screenEntry:
			if !typing {
				switch {
				case key.Matches(msg, m.keys.Quit):
					m.quitting = true
					return m, tea.Quit
				case key.Matches(msg, m.keys.Help):
					m.help.ShowAll = !m.help.ShowAll
					m.entry.showCodes = m.help.ShowAll
					return m, nil
				case key.Matches(msg, m.entry.keys.Today):
					return m.openHistory()
				case key.Matches(msg, m.entry.keys.Manager) && m.deps.guard != nil:
					return m.openManager(toMenu)
				case key.Matches(msg, m.entry.keys.Operator) && m.deps.staff != nil:
					// Opened whatever the desk knew at start: operators
					// added since (through the desk's socket) come with
					// the reload.
					m.active = screenOperator
					m.picker = newOperatorModel(m.deps, m.operators, m.deps.engine.Operator(), false)
					return m, operatorsCmd(m.deps.ctx, m.deps.staff)
				}
			}
		case screenResult:
			return m.leaveResult(msg)
		case screenCode:
			return m.codeKey(msg)
		}
	}

	// 2. Navigation and the settling passes.
	switch msg := msg.(type) {
	case ShutdownMsg:
		m.quitting = true
		return m, tea.Quit
	case recoveredMsg:
		return m.recovered(msg.pass)
	case recoverTickMsg:
		if msg.seq != m.tickSeq {
			return m, nil // a stale timer
		}
		return m.recoverNow()
	case recoverNowMsg:
		return m.recoverNow()
	case lateSeenMsg:
		if msg.err != nil {
			m.notice, m.noticeWarn, m.noticeFromPass = p.T("notice.seen_failed", catalog.V{"Problem": describe(p, msg.err, "")}), true, false
			return m, nil
		}
		m.acked[msg.no] = true
		m.late = dropOrder(m.late, msg.no)
		return m, recentCmd(m.deps.ctx, m.deps.engine, recentLimit)
	case managerTickMsg:
		return m.managerTick(msg)
	case operatorsMsg:
		if msg.err == nil {
			m.operators = msg.ops
		}
		if m.active == screenOperator {
			m.picker, _ = m.picker.Update(msg)
		} else if len(m.operators) > 0 && m.deps.engine.Operator() == checkout.DefaultOperator && m.active == screenEntry {
			// Operators are configured and nobody has said who is at
			// the counter: ask before the first sale.
			m.active = screenOperator
			m.picker = newOperatorModel(m.deps, m.operators, "", true)
		}
		return m, nil
	case onDutyMsg:
		if msg.err != nil {
			m.notice, m.noticeWarn, m.noticeFromPass = describe(p, msg.err, ""), true, false
		}
		return m, nil
	case pinStatusMsg, pinCheckedMsg:
		if m.active != screenPIN {
			return m, nil
		}
		m.pin, _ = m.pin.Update(msg)
		return m.afterPINUpdate(nil)
	case refundAnsweredMsg, refundTickMsg:
		if a, ok := msg.(refundAnsweredMsg); ok && (m.active != screenRefund || !m.refund.owns(a)) {
			orphanRefund(m.deps.engine, a)
			return m, nil
		}
		if m.active != screenRefund {
			return m, nil
		}
		var cmd tea.Cmd
		m.refund, cmd = m.refund.Update(msg)
		return m, cmd
	case saleStartedMsg:
		return m.started(msg)
	case saleDoneMsg:
		return m.showResult(msg.order, nil)
	case codeAnswerMsg:
		return m.codeAnswered(msg)
	case codeTickMsg:
		// A poll timer of a code sale no longer on screen dies with it.
		if m.active != screenCode {
			return m, nil
		}
		var cmd tea.Cmd
		m.code, cmd = m.code.Update(msg)
		return m, cmd
	case closeFailedMsg:
		m.active = screenProblem
		m.problem = newProblem(m.deps, problemCloseFailed, msg.order, msg.err)
		m.problem.reason = msg.reason
		if msg.unsaved != nil {
			m.problem.unsaved = msg.unsaved
		}
		return m, m.problem.retryLater()
	case retryCreateMsg:
		return m.toWaiting(newCreating(m.deps, msg.order.Method, msg.order.Amount),
			retryCmd(m.deps.ctx, m.deps.engine, msg.order))
	case retryCloseMsg:
		return m.closeSale(msg.order)
	case abandonMsg:
		o := msg.order
		if m.problem.kind == problemCreateUnknown {
			return m.closeSale(o) // giving up: query once more, then close
		}
		// The close could not be confirmed: hand the order to recovery,
		// whose next pass (at most recoverEvery away) asks again.
		m.deps.engine.Release(o.No)
		v := catalog.V{"No": o.No, "Amount": p.Money(o.Amount), "Method": methodName(p, o.Method)}
		if m.problem.unsaved != nil {
			return m.toEntry(p.T("notice.left_unsaved", v), true)
		}
		return m.toEntry(p.T("notice.left_open", v), true)
	case nextSaleMsg:
		return m.toEntry(msg.notice, false)
	}

	// 3. Engine and tick messages go to the screen that owns them.
	switch tm := msg.(type) {
	case recentMsg:
		var cmd tea.Cmd
		m.entry, cmd = m.entry.Update(msg)
		return m, cmd
	case reportLoadedMsg, reportSettledMsg, dayClosedMsg:
		// The report's answers go to it whatever is on screen; it drops
		// those it no longer waits for.
		var cmd tea.Cmd
		m.report, cmd = m.report.Update(msg)
		return m, cmd
	case historyLoadedMsg, historyDetailMsg, historyFoundMsg:
		// The history's answers go to it whatever is on screen: the
		// reload after a refund answers while the refund is up.
		var cmd tea.Cmd
		m.history, cmd = m.history.Update(msg)
		return m.afterHistoryUpdate(cmd)
	case notifiedMsg:
		next, cmd := m.settled(tm.order)
		return next, tea.Batch(cmd, noticeCmd(m.deps.ctx, m.deps.engine))
	case changedMsg:
		// Another desk, or till serve, changed the shared ledger: what
		// is on show follows at once.
		next, cmd := m.followChange(tm)
		return next, tea.Batch(cmd, changesCmd(m.deps.ctx, m.deps.engine, m.changes))
	case polledMsg, finishedMsg, pollTickMsg, clockTickMsg, closeRetryMsg, problemRetryMsg:
		// A sale's late answers die with its screen: once the clerk has
		// moved on, an old result must not come back over the next sale.
		// (The ledger has them all the same.) Each screen checks the
		// order number and its own timers.
		var cmd tea.Cmd
		switch m.active {
		case screenWaiting:
			m.waiting, cmd = m.waiting.Update(msg)
		case screenProblem:
			m.problem, cmd = m.problem.Update(msg)
		}
		return m, cmd
	}

	// 4. Everything else goes to the active screen.
	var cmd tea.Cmd
	switch m.active {
	case screenEntry:
		m.entry, cmd = m.entry.Update(msg)
		if c := m.entry.charging; c != nil {
			// The sale starts in this Update, so that the key after the
			// w (a second w, an esc) already meets the waiting screen.
			m.entry.charging = nil
			var start tea.Cmd
			m, start = m.charge(*c)
			return m, tea.Batch(cmd, start)
		}
		if c := m.entry.codeCharge; c != nil {
			m.entry.codeCharge = nil
			var start tea.Cmd
			m, start = m.chargeCode(*c)
			return m, tea.Batch(cmd, start)
		}
	case screenCode:
		m.code, cmd = m.code.Update(msg)
	case screenWaiting:
		m.waiting, cmd = m.waiting.Update(msg)
	case screenResult:
		m.result, cmd = m.result.Update(msg)
	case screenProblem:
		m.problem, cmd = m.problem.Update(msg)
		if a := m.problem.answer; a != nil {
			m.problem.answer = nil
			var next tea.Cmd
			m, next = m.update(a)
			return m, tea.Batch(cmd, next)
		}
	case screenHistory:
		m.history, cmd = m.history.Update(msg)
		return m.afterHistoryUpdate(cmd)
	case screenPIN:
		m.pin, cmd = m.pin.Update(msg)
		return m.afterPINUpdate(cmd)
	case screenMenu:
		m.menu, cmd = m.menu.Update(msg)
		return m.afterMenuUpdate(cmd)
	case screenRefund:
		m.refund, cmd = m.refund.Update(msg)
		if m.refund.leave {
			m.refund.leave = false
			next, back := m.leaveRefund()
			return next, tea.Batch(cmd, back)
		}
	case screenReport:
		m.report, cmd = m.report.Update(msg)
		if m.report.leave {
			m.report.leave = false
			next, back := m.leaveReport()
			return next, tea.Batch(cmd, back)
		}
	case screenOperator:
		m.picker, cmd = m.picker.Update(msg)
		switch {
		case m.picker.chosen != nil:
			op := *m.picker.chosen
			m.deps.engine.SetOperator(op.ID)
			next, load := m.toEntry("", false)
			return next, tea.Batch(cmd, load, onDutyCmd(m.deps.ctx, m.deps.staff, m.terminal, op))
		case m.picker.leave:
			m.active = screenEntry
		}
	}
	return m, cmd
}

// settled shows an order a notification (or another process) settled:
// the sale screen's list and line, the banner of a payment that came after
// its sale was closed, and the waiting screen of that sale, at once rather
// than at the next poll or settling pass.
func (m Model) settled(o checkout.Order) (Model, tea.Cmd) {
	m, cmd := m.takeSettled(o)
	return m, tea.Batch(cmd, recentCmd(m.deps.ctx, m.deps.engine, recentLimit))
}

// takeSettled is settled without the reload of the today line: a late
// payment joins the banner, and the waiting screen hears of its order.
func (m Model) takeSettled(o checkout.Order) (Model, tea.Cmd) {
	if o.Late && o.LateSeenAt.IsZero() && !m.acked[o.No] && !slices.ContainsFunc(m.late, func(l checkout.Order) bool { return l.No == o.No }) {
		m.late = append(m.late, o)
	}
	if m.active != screenWaiting {
		return m, nil
	}
	var cmd tea.Cmd
	m.waiting, cmd = m.waiting.Update(notifiedMsg{order: o})
	return m, cmd
}

// followChange takes a batch of changes on the shared ledger: each
// settled order as a notification's, then the day's figures, the history
// and the report on show read again, once for the whole batch.
func (m Model) followChange(c changedMsg) (Model, tea.Cmd) {
	cmds := []tea.Cmd{recentCmd(m.deps.ctx, m.deps.engine, recentLimit)}
	for _, o := range c.orders {
		if o.State.Open() {
			continue
		}
		var cmd tea.Cmd
		m, cmd = m.takeSettled(o)
		cmds = append(cmds, cmd)
	}
	switch m.active {
	case screenHistory:
		cmds = append(cmds, m.history.reload())
	case screenReport:
		var cmd tea.Cmd
		m.report, cmd = m.report.refresh()
		cmds = append(cmds, cmd)
	}
	return m, tea.Batch(cmds...)
}

// leaveResult takes a key on the result screen in the same Update, so that
// nothing typed right after is lost: the next-sale key starts a fresh
// sale, and an amount key (or a burst of them, "45.60w") starts it and is
// typed into it.
func (m Model) leaveResult(k tea.KeyMsg) (Model, tea.Cmd) {
	if key.Matches(k, m.result.keys.Next) {
		return m.toEntry("", false)
	}
	if k.Type == tea.KeyRunes && strings.TrimSpace(string(k.Runes)) != "" && (k.Paste || strings.ContainsRune(amountRunes, k.Runes[0])) {
		m, load := m.toEntry("", false)
		var cmd tea.Cmd
		m.entry, cmd = m.entry.Update(k)
		return m, tea.Batch(load, cmd)
	}
	return m, nil
}

// chargeCode starts the payment-code sale the entry screen asked for.
func (m Model) chargeCode(c codeChargeMsg) (Model, tea.Cmd) {
	m.notice, m.noticeFromPass, m.setup = "", false, ""
	m.active = screenCode
	m.code = newCodeSale(m.deps, c)
	m.code.tag = nextTag()
	m = m.resize()
	return m, tea.Batch(m.code.spinner.Tick, chargeCodeCmd(m.deps.ctx, m.deps.engine, c, m.code.tag))
}

// codeAnswered takes the engine's answer about the code sale on screen:
// the result once it has ended; back to the prompt when nothing was
// written (the ledger failed, or the code was refused before the call).
func (m Model) codeAnswered(a codeAnswerMsg) (Model, tea.Cmd) {
	if m.active != screenCode || a.tag != m.code.tag {
		return m, nil // a call the screen no longer waits for: the ledger has it
	}
	if a.order.No == "" && m.code.order.No == "" {
		m.active = screenEntry
		m.entry.prompt, m.entry.code = true, ""
		m.entry.err = describe(m.deps.p, a.err, m.code.method)
		return m, nil
	}
	next, done, cmd := m.code.answered(a)
	m.code = next
	if done {
		return m.showResult(m.code.order, a.err)
	}
	return m, cmd
}

// codeKey takes a key on the code sale's screen: Esc cancels (the trade is
// reversed as soon as the provider allows); once a cancelled or overdue
// sale's reverse keeps failing, Esc leaves it to till's settling. Other
// keys wait: the customer is paying.
func (m Model) codeKey(k tea.KeyMsg) (Model, tea.Cmd) {
	if k.Type != tea.KeyEsc {
		return m, nil
	}
	if m.code.unsaved != nil || m.code.leavable() {
		o := m.code.order
		m.deps.engine.Release(o.No)
		v := catalog.V{"No": o.No, "Amount": m.deps.p.Money(o.Amount), "Method": methodName(m.deps.p, o.Method)}
		if m.code.unsaved != nil {
			return m.toEntry(m.deps.p.T("notice.left_unsaved", v), true)
		}
		return m.toEntry(m.deps.p.T("notice.left_open", v), true)
	}
	if m.code.cancel {
		return m, nil
	}
	m.code.cancel = true
	var cmd tea.Cmd
	m.code, cmd = m.code.ask()
	return m, cmd
}

// charge starts the sale the entry screen asked for.
func (m Model) charge(c chargeMsg) (Model, tea.Cmd) {
	m.notice, m.noticeFromPass, m.setup = "", false, ""
	return m.toWaiting(newCreating(m.deps, c.method, c.amount),
		startCmd(m.deps.ctx, m.deps.engine, c.method, c.amount, c.note))
}

// showResult ends a sale on the result screen, ringing the bell on PAID,
// and takes down the ctrl+c warning the sale had raised.
func (m Model) showResult(o checkout.Order, err error) (Model, tea.Cmd) {
	m.active = screenResult
	m.result = newResult(m.deps, o)
	m.result.err = err
	if m.quitArmed {
		m.quitArmed, m.notice = false, ""
	}
	cmds := []tea.Cmd{recentCmd(m.deps.ctx, m.deps.engine, recentLimit)}
	if o.State == checkout.StatePaid && m.bell != nil {
		w := m.bell
		cmds = append(cmds, func() tea.Msg { _, _ = io.WriteString(w, "\a"); return nil })
	}
	return m, tea.Batch(cmds...)
}

// recoverNow starts a settling pass, or asks for one right after the pass
// that is running.
func (m Model) recoverNow() (Model, tea.Cmd) {
	if !m.recover {
		return m, nil
	}
	if m.recovering {
		m.again = true
		return m, nil
	}
	m.recovering = true
	return m, recoverCmd(m.deps.ctx, m.deps.engine)
}

// recovered takes a pass's report: a notice for what it settled or could
// not, the banner for late payments, and the timer of the next pass (at
// the next late check if that comes sooner than recoverEvery).
func (m Model) recovered(pass checkout.Pass) (Model, tea.Cmd) {
	m.recovering = false
	if notice, warn := m.recoveryNotice(pass); notice != "" {
		m.notice, m.noticeWarn, m.noticeFromPass = notice, warn, true
	} else if m.noticeFromPass {
		m.notice, m.noticeWarn, m.noticeFromPass = "", false, false
	}
	if pass.LateKnown {
		// Only a pass that read the follow-ups knows what is left to
		// show; after a read error the banner stays as it was.
		m.late = nil
		for _, o := range pass.Late {
			if !m.acked[o.No] {
				m.late = append(m.late, o)
			}
		}
	}
	// The engine keeps the schedule (late checks, backoff); the desk
	// only waits as long as it says.
	wait := checkout.NextPassIn(pass, m.deps.now())
	if m.again {
		m.again, wait = false, 0
	}
	m.tickSeq++
	m.nextPassIn = wait
	return m, tea.Batch(recentCmd(m.deps.ctx, m.deps.engine, recentLimit), recoverTickCmd(wait, m.tickSeq))
}

func dropOrder(os []checkout.Order, no string) []checkout.Order {
	var out []checkout.Order
	for _, o := range os {
		if o.No != no {
			out = append(out, o)
		}
	}
	return out
}

func (m Model) started(msg saleStartedMsg) (Model, tea.Cmd) {
	o := msg.order
	switch {
	case o.State == checkout.StateAwaiting:
		m.active = screenWaiting
		var cmd tea.Cmd
		cancel := m.waiting.cancelAsked
		m.waiting, cmd = m.waiting.begin(o)
		if cancel {
			// The clerk cancelled while the code was being made: close
			// it now, before the customer can scan it.
			var closeCmd tea.Cmd
			m.waiting, closeCmd = m.waiting.close("cancelled by clerk")
			return m, tea.Batch(cmd, closeCmd)
		}
		return m, cmd
	case o.State == "" && msg.asked.No == "":
		// Nothing was written (a refused input or a ledger fault).
		m.entry.err = describe(m.deps.p, msg.err, "")
		m.active = screenEntry
		return m, nil
	case o.State == "":
		// A retry whose order could not even be read: the sale is still
		// there and still unsettled; say so and offer the same choices.
		m.active = screenProblem
		m.problem = newProblem(m.deps, problemCreateUnknown, msg.asked, msg.err)
		return m, nil
	case o.State == checkout.StateCreated:
		m.active = screenProblem
		m.problem = newProblem(m.deps, problemCreateUnknown, o, msg.err)
		return m, nil
	}
	// Failed, or settled (paid/closed) while retrying.
	return m.showResult(o, nil)
}

// toWaiting shows w and runs cmd, the engine call it waits on.
func (m Model) toWaiting(w waitingModel, cmd tea.Cmd) (Model, tea.Cmd) {
	m.active = screenWaiting
	m.waiting = w
	m = m.resize()
	return m, tea.Batch(m.waiting.spinner.Tick, cmd)
}

// closeSale shows o closing while the engine queries once more and
// closes it.
func (m Model) closeSale(o checkout.Order) (Model, tea.Cmd) {
	w := newCreating(m.deps, o.Method, o.Amount)
	w.order = o
	w, cmd := w.close("cancelled by clerk")
	return m.toWaiting(w, cmd)
}

func (m Model) toEntry(notice string, warn bool) (Model, tea.Cmd) {
	m.active = screenEntry
	m.entry = m.entry.reset()
	m.waiting = waitingModel{}
	m.notice, m.noticeWarn, m.noticeFromPass = notice, warn, false
	return m, recentCmd(m.deps.ctx, m.deps.engine, recentLimit)
}

func (m Model) recoveryNotice(pass checkout.Pass) (string, bool) {
	p := m.deps.p
	var parts []string
	for _, o := range pass.Settled {
		parts = append(parts, o.No+" "+p.Money(o.Amount)+" "+stateWord(p, o))
	}
	var s []string
	if len(parts) > 0 {
		s = append(s, p.N("notice.settled", len(parts), catalog.V{"List": strings.Join(parts, "; ")}))
	}
	warn := false
	if len(pass.Errors) > 0 {
		s = append(s, p.N("notice.not_checked", len(pass.Errors), catalog.V{"Problem": describe(p, pass.Errors[0], "")}))
		warn = true
	}
	if pass.LedgerErr != nil {
		s = append(s, p.T("notice.ledger_unreadable", catalog.V{"Problem": describe(p, pass.LedgerErr, "")}))
		warn = true
	}
	return strings.Join(s, " "), warn
}

// resize gives the screens what the header, the banner and the help line
// leave of the window, and the waiting screen the whole window to lay the
// code out in.
func (m Model) resize() Model {
	w := m.width - 2
	headerH, helpH := lipgloss.Height(m.headerView()), lipgloss.Height(m.helpView())
	// One spare line, so a view that ends in a newline still fits.
	h := m.height - headerH - helpH - 1
	m.entry.width, m.entry.height = w, h
	m.entry.winW, m.entry.winH = m.width, m.height
	m.history.width, m.history.height = w, h
	m.problem.width, m.result.width, m.code.width = w, w, w
	m.problem.height, m.result.height = h, h
	m.pin.width, m.menu.width, m.picker.width = w, w, w
	m.refund.width, m.refund.height = w, h
	m.report.width, m.report.height = w, h
	m.waiting = m.waiting.setSize(frame{W: m.width, H: m.height, headerH: headerH, help: helpH})
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
	case screenCode:
		bs = m.code.shortHelp()
	case screenProblem:
		bs = m.problem.shortHelp()
	case screenHistory:
		bs = m.history.shortHelp()
	case screenPIN:
		bs = m.pin.shortHelp()
	case screenMenu:
		bs = m.menu.shortHelp()
	case screenRefund:
		bs = m.refund.shortHelp()
	case screenOperator:
		bs = m.picker.shortHelp()
	case screenReport:
		bs = m.report.shortHelp()
	}
	return bs
}

// headerView is the title line, the late-payment banner and the notice,
// with a blank line under them. While a QR code is on screen every line
// counts: one line at most follows the title (the quit warning, else the
// banner, else the notice, cut to the width) and the blank line goes, so
// the code keeps its room.
func (m Model) headerView() string {
	s := m.deps.styles
	w := m.width - 2
	t := m.deps.title()
	if now := m.deps.now(); m.session.Active(now) {
		t += "  " + s.Live.Render(m.deps.p.T("manager.badge", catalog.V{"Left": m.deps.p.Countdown(m.session.Left(now))}))
	}
	title := m.memoized(func(v *viewMemo) *lastDrawn { return &v.titleCut }, t+"\x00"+strconv.Itoa(w),
		func() string { return ansi.Truncate(t, w, "…") })
	noticeStyle := s.Accent
	if m.noticeWarn {
		noticeStyle = s.Warn
	}
	if m.active == screenWaiting {
		if alert := m.waitingAlert(w, false); alert != "" {
			return title + "\n" + alert
		}
		return m.memoized(func(v *viewMemo) *lastDrawn { return &v.header }, title, func() string { return s.Header.Render(title) })
	}
	lines := []string{title}
	if len(m.late) > 0 {
		lines = append(lines, m.lateBanner(w))
	}
	if m.setup != "" {
		lines = append(lines, s.Warn.Width(w).Render(m.setup))
	}
	if m.notice != "" {
		lines = append(lines, noticeStyle.Width(w).Render(m.notice))
	}
	all := strings.Join(lines, "\n")
	return m.memoized(func(v *viewMemo) *lastDrawn { return &v.header }, all, func() string { return s.Header.Render(all) })
}

// memoized is draw's answer for key, kept in the memo which names:
// the last one if key is the last key.
func (m Model) memoized(which func(*viewMemo) *lastDrawn, key string, draw func() string) string {
	if m.deps.memo == nil {
		return draw()
	}
	return which(m.deps.memo).get(key, draw)
}

// waitingAlert is the one line a QR screen has room for besides the
// title, width columns: the quit warning, else the late-payment banner,
// else the notice.
// In a narrow panel (wrap) the notice is wrapped rather than cut.
func (m Model) waitingAlert(w int, wrap bool) string {
	s := m.deps.styles
	noticeStyle := s.Accent
	if m.noticeWarn {
		noticeStyle = s.Warn
	}
	switch {
	case m.notice != "" && (m.quitArmed || len(m.late) == 0) && wrap:
		return noticeStyle.Width(w).Render(m.notice)
	case m.notice != "" && (m.quitArmed || len(m.late) == 0):
		return noticeStyle.Render(ansi.Truncate(m.notice, w, "…"))
	case len(m.late) > 0:
		return m.lateBanner(w)
	}
	return ""
}

func (m Model) helpView() string {
	bs := m.shortHelp()
	// What the line is drawn from: the window, the keys and their words.
	var k strings.Builder
	k.WriteString(strconv.Itoa(m.width))
	k.WriteByte(' ')
	k.WriteString(strconv.Itoa(m.help.Width))
	k.WriteString(strconv.FormatBool(m.help.ShowAll))
	for _, b := range bs {
		h := b.Help()
		k.WriteString(strconv.FormatBool(b.Enabled()))
		k.WriteString(h.Key)
		k.WriteByte(0)
		k.WriteString(h.Desc)
		k.WriteByte(0)
	}
	return m.memoized(func(v *viewMemo) *lastDrawn { return &v.help }, k.String(), func() string { return m.drawHelp(bs) })
}

// drawHelp is the help line of the keys bs.
func (m Model) drawHelp(bs []key.Binding) string {
	helpLine := m.help.ShortHelpView(bs)
	if m.help.ShowAll {
		var cols [][]key.Binding
		for len(bs) > 0 {
			n := min(3, len(bs))
			cols, bs = append(cols, bs[:n]), bs[n:]
		}
		helpLine = m.help.FullHelpView(cols)
	}
	// bubbles/help lets the last key run past its width when even its
	// ellipsis would not fit: cut it here.
	lines := strings.Split(helpLine, "\n")
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, m.width-2, "…")
	}
	return m.deps.styles.HelpLine.Render(strings.Join(lines, "\n"))
}

func (m Model) View() string {
	if m.quitting {
		return ""
	}
	if m.active == screenWaiting && m.waiting.fullScreen() {
		// The code needs every row: the screen draws the title, the keys
		// and the one urgent line itself, beside or under the code.
		w := m.waiting
		compact := w.qr.layout.kind == layoutCompact
		width := m.width
		if compact {
			width = w.qr.layout.panelW
		}
		w.alert, w.alertFirst = m.waitingAlert(width, compact), m.quitArmed
		return w.View()
	}
	var body string
	switch m.active {
	case screenWaiting:
		if w := m.waiting; w.phase != phaseCreating && !w.cancelAsked {
			// The code's lines come measured: the frame measures only
			// the rest.
			return m.frameView(w.layoutBlock())
		}
		body = m.waiting.View()
	case screenEntry:
		body = m.entry.View()
	case screenResult:
		body = m.result.View()
	case screenCode:
		body = m.code.View()
	case screenProblem:
		body = m.problem.View()
	case screenHistory:
		body = m.history.View()
	case screenPIN:
		body = m.pin.View()
	case screenMenu:
		body = m.menu.View()
	case screenRefund:
		body = m.refund.View()
	case screenOperator:
		body = m.picker.View()
	case screenReport:
		body = m.report.View()
	}
	return m.frameView(measure(body))
}

// frameView is the window: the header, body cut to the room left
// (clampView) and the help line, in the app's padding. It measures each
// line once, and the body's lines not at all.
func (m Model) frameView(body block) string {
	header, help := measure(m.headerView()), measure(m.helpView())
	all := header.below(body.clamp(m.width-2, m.height-header.height()-help.height())).below(help)
	if s, ok := padApp(all); ok {
		return s
	}
	return m.deps.styles.App.Render(all.String())
}
