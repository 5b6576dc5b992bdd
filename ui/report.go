package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"till/catalog"
	"till/checkout"
)

// The day report (behind the manager PIN): one shop day's figures as
// checkout.Engine.Report computes them for every caller (the totals, by
// provider, by operator, the sales of each hour drawn as bars), what is
// still unsettled with a key to ask the providers now, the anomalies, and
// for a closed day its Z close with the changes since. ←/→ and t move
// between days (never past today), d asks for a date. c closes the day:
// unsettled orders and refunds are listed first, with s to settle them by
// query, and only then Enter closes anyway; a day with none asks once and
// closes. Every engine call runs in a Cmd; View reads no clock.

// reportStep is what the screen shows: the report, or the close.
type reportStep int

const (
	reportShow  reportStep = iota // the figures
	reportClose                   // closing the day: the leftovers, the confirmation
)

func (s reportStep) String() string { return [...]string{"show", "close"}[s] }

// reportLoadedMsg carries the report of day, the answer to call. Sent by
// reportCmd; handled by reportModel, which drops an answer to any call
// but its last. The root routes it to the report whatever is on screen.
type reportLoadedMsg struct {
	call uint64
	day  time.Time
	rep  checkout.DayReport
	err  error
}

// reportSettledMsg is a settling pass asked for from the report (s), with
// the day's report read after it. Sent by reportSettleCmd; handled and
// routed like reportLoadedMsg.
type reportSettledMsg struct {
	call uint64
	day  time.Time
	pass checkout.Pass
	rep  checkout.DayReport
	err  error
}

// dayClosedMsg is the answer to closing day (z, or why not), with the
// day's report read after it. Sent by closeDayCmd; handled and routed
// like reportLoadedMsg.
type dayClosedMsg struct {
	call   uint64
	day    time.Time
	z      checkout.DayClose
	err    error
	rep    checkout.DayReport
	repErr error
}

// reportCalls numbers the report's engine calls, so that an answer to one
// no longer awaited (another day chosen, the screen left and opened
// again) is known and dropped.
var reportCalls atomic.Uint64

func reportCmd(ctx context.Context, e *checkout.Engine, day time.Time, call uint64) tea.Cmd {
	return func() tea.Msg {
		c, cancel := withDeadline(ctx)
		defer cancel()
		rep, err := e.Report(c, day)
		return reportLoadedMsg{call: call, day: day, rep: rep, err: err}
	}
}

func reportSettleCmd(ctx context.Context, e *checkout.Engine, day time.Time, call uint64) tea.Cmd {
	return func() tea.Msg {
		// A pass may query many orders; each call inside has the
		// adapters' own HTTP timeouts (as recoverCmd).
		pass := e.RecoverNow(ctx)
		c, cancel := withDeadline(ctx)
		defer cancel()
		rep, err := e.Report(c, day)
		return reportSettledMsg{call: call, day: day, pass: pass, rep: rep, err: err}
	}
}

func closeDayCmd(ctx context.Context, e *checkout.Engine, day time.Time, anyway bool, call uint64) tea.Cmd {
	return func() tea.Msg {
		c, cancel := withDeadline(ctx)
		defer cancel()
		// The counter's operator, in manager mode, as for a refund.
		c = checkout.WithActor(c, checkout.Actor{Terminal: e.Config().Terminal, Operator: e.Operator(), Via: "desk manager"})
		z, err := e.CloseDay(c, day, anyway)
		rep, repErr := e.Report(c, day)
		return dayClosedMsg{call: call, day: day, z: z, err: err, rep: rep, repErr: repErr}
	}
}

// reportKeys are the report's keys. Prev carries the help of the pair
// (←/→), Up that of the arrows.
type reportKeys struct {
	Prev, Next, Today, Date, Settle, Close key.Binding
	Up, Down, PageUp, PageDown             key.Binding
	Back                                   key.Binding
	// The date prompt.
	DateOK, DateCancel key.Binding
	// The close.
	Confirm, Anyway key.Binding
}

func defaultReportKeys(p *catalog.Printer) reportKeys {
	return reportKeys{
		Prev:       key.NewBinding(key.WithKeys("left", "["), key.WithHelp("←/→", p.T("report.key.day"))),
		Next:       key.NewBinding(key.WithKeys("right", "]"), key.WithHelp("→", p.T("report.key.day"))),
		Today:      key.NewBinding(key.WithKeys("t"), key.WithHelp("t", p.T("report.key.today"))),
		Date:       key.NewBinding(key.WithKeys("d"), key.WithHelp("d", p.T("report.key.date"))),
		Settle:     key.NewBinding(key.WithKeys("s"), key.WithHelp("s", p.T("report.key.settle"))),
		Close:      key.NewBinding(key.WithKeys("c"), key.WithHelp("c", p.T("report.key.close"))),
		Up:         key.NewBinding(key.WithKeys("up"), key.WithHelp("↑/↓", p.T("report.key.scroll"))),
		Down:       key.NewBinding(key.WithKeys("down")),
		PageUp:     key.NewBinding(key.WithKeys("pgup")),
		PageDown:   key.NewBinding(key.WithKeys("pgdown")),
		Back:       key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", p.T("report.key.back"))),
		DateOK:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", p.T("report.key.show"))),
		DateCancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", p.T("report.key.cancel"))),
		Confirm:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", p.T("report.key.confirm"))),
		Anyway:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", p.T("report.key.anyway"))),
	}
}

// reportModel is the day report and the day close.
type reportModel struct {
	deps deps
	keys reportKeys

	day time.Time // the shop day shown: its first instant, in deps.loc
	// isToday marks the day on show as the current one, as the clock said
	// when it was chosen (View reads no clock).
	isToday bool
	call    uint64 // the call whose answer is awaited (reportCalls)
	loaded  bool   // rep (or err) is of day
	rep     checkout.DayReport
	err     error
	top     int // the first line of the body in the window

	dating  bool // the date prompt is open
	date    textinput.Model
	dateErr string

	settling bool // a settling pass asked for here is running
	closing  bool // the close is being written
	spinner  spinner.Model
	notice   string // what the last settle or close came to
	warn     bool   // the notice is a warning

	step reportStep
	// closeOnLoad opens the close once the day is read (the menu's "Close
	// the day").
	closeOnLoad bool
	// asked: in the close, the providers were asked (s) since the
	// leftovers were listed; only then does Enter close anyway.
	asked    bool
	closeErr string
	at       time.Time // the clock when the close opened, for its warning

	leave bool // intent: back to the manager's menu

	width, height int
}

func newReport(d deps) reportModel {
	ti := textinput.New()
	ti.Prompt = ""
	ti.CharLimit = 10
	ti.Placeholder = "YYYY-MM-DD"
	ti.Cursor.SetMode(cursor.CursorStatic)
	return reportModel{deps: d, keys: defaultReportKeys(d.p), date: ti, spinner: spinner.New(spinner.WithSpinner(spinner.Dot))}
}

// open shows the day that holds now and loads it; closing opens the close
// once it is read.
func (m reportModel) open(now time.Time, closing bool) (reportModel, tea.Cmd) {
	w, h := m.width, m.height
	m = newReport(m.deps)
	m.width, m.height = w, h
	m.closeOnLoad = closing
	day, _ := checkout.DayBounds(now, m.deps.loc)
	return m.showDay(day, day)
}

// showDay shows day (its first instant) as loading and loads it; today
// is the current day's.
func (m reportModel) showDay(day, today time.Time) (reportModel, tea.Cmd) {
	m.day, m.isToday = day, day.Equal(today)
	m.loaded, m.rep, m.err, m.top = false, checkout.DayReport{}, nil, 0
	m.notice, m.warn, m.step = "", false, reportShow
	m.call = reportCalls.Add(1)
	return m, reportCmd(m.deps.ctx, m.deps.engine, day, m.call)
}

// refresh reads the day on show again, keeping what is on screen until
// the answer comes (another desk changed the shared ledger).
func (m reportModel) refresh() (reportModel, tea.Cmd) {
	if m.day.IsZero() || m.step != reportShow {
		return m, nil
	}
	m.call = reportCalls.Add(1)
	return m, reportCmd(m.deps.ctx, m.deps.engine, m.day, m.call)
}

// today is the first instant of the shop's current day, by the clock:
// for Update, never View.
func (m reportModel) today() time.Time {
	day, _ := checkout.DayBounds(m.deps.now(), m.deps.loc)
	return day
}

// busy reports an engine call that changes the day under way: manager
// mode running out leaves the screen up until it answers.
func (m reportModel) busy() bool { return m.settling || m.closing }

// canSettle and canClose say whether s and c apply to what is on show.
func (m reportModel) canSettle() bool {
	return m.loaded && m.err == nil && m.rep.Unsettled.Count > 0 && !m.busy()
}

func (m reportModel) canClose() bool { return m.loaded && m.err == nil && !m.rep.Closed() && !m.busy() }

func (m reportModel) shortHelp() []key.Binding {
	k := m.keys
	if m.busy() {
		return []key.Binding{k.Back}
	}
	if m.dating {
		return []key.Binding{k.DateOK, k.DateCancel}
	}
	var bs []key.Binding
	if m.step == reportClose {
		if m.canSettle() {
			bs = append(bs, k.Settle)
		}
		switch {
		case m.rep.Unsettled.Count == 0:
			bs = append(bs, k.Confirm)
		case m.asked:
			bs = append(bs, k.Anyway)
		}
		if m.scrolls() {
			bs = append(bs, k.Up)
		}
		return append(bs, k.Back)
	}
	bs = append(bs, k.Prev, k.Today, k.Date)
	if m.canSettle() {
		bs = append(bs, k.Settle)
	}
	if m.canClose() {
		bs = append(bs, k.Close)
	}
	if m.scrolls() {
		bs = append(bs, k.Up)
	}
	return append(bs, k.Back)
}

func (m reportModel) Update(msg tea.Msg) (reportModel, tea.Cmd) {
	switch msg := msg.(type) {
	case spinner.TickMsg:
		if !m.busy() {
			return m, nil
		}
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		return m, cmd
	case reportLoadedMsg:
		if msg.call != m.call {
			return m, nil
		}
		m = m.loadedWith(msg.rep, msg.err)
		if m.closeOnLoad && m.err == nil {
			m = m.openClose()
		}
		m.closeOnLoad = false // once: a day read after a failure, or another day, is only shown
		return m, nil
	case reportSettledMsg:
		if msg.call != m.call {
			return m, nil
		}
		return m.settled(msg), nil
	case dayClosedMsg:
		if msg.call != m.call {
			return m, nil
		}
		return m.closed(msg), nil
	case tea.KeyMsg:
		if m.busy() {
			if key.Matches(msg, m.keys.Back) {
				// The call goes on: its answer finds the screen gone, or
				// another day on it, and is dropped. The ledger has it.
				m.leave = true
				return m, nil
			}
			return m.scroll(msg), nil
		}
		switch {
		case m.dating:
			return m.updateDate(msg)
		case m.step == reportClose:
			return m.updateClose(msg)
		}
		return m.updateShow(msg)
	}
	return m, nil
}

// loadedWith puts the day's report (or the failure to read it) on show,
// the window kept where it was as far as the new lines allow.
func (m reportModel) loadedWith(rep checkout.DayReport, err error) reportModel {
	m.loaded, m.err = true, err
	if err == nil {
		m.rep = rep
	}
	return m.clampTop()
}

func (m reportModel) updateShow(msg tea.KeyMsg) (reportModel, tea.Cmd) {
	k := m.keys
	switch {
	case key.Matches(msg, k.Back):
		m.leave = true
	case key.Matches(msg, k.Prev):
		return m.showDay(m.day.AddDate(0, 0, -1), m.today())
	case key.Matches(msg, k.Next):
		// Never after today; but a desk left open past midnight reaches
		// the new day.
		if next, today := m.day.AddDate(0, 0, 1), m.today(); !next.After(today) {
			return m.showDay(next, today)
		}
	case key.Matches(msg, k.Today):
		// Today, read again (on today, t is how a manager refreshes).
		today := m.today()
		return m.showDay(today, today)
	case key.Matches(msg, k.Date):
		m.dating, m.dateErr = true, ""
		m.date.SetValue("")
		return m, m.date.Focus()
	case key.Matches(msg, k.Settle):
		return m.settle()
	case key.Matches(msg, k.Close):
		if m.loaded && m.err == nil {
			return m.openClose(), nil
		}
	default:
		return m.scroll(msg), nil
	}
	return m, nil
}

// updateDate takes the date prompt's keys: Enter shows the day typed, a
// day that is not one (or has not begun) is said and changes nothing.
func (m reportModel) updateDate(msg tea.KeyMsg) (reportModel, tea.Cmd) {
	p := m.deps.p
	switch {
	case key.Matches(msg, m.keys.DateCancel):
		m.dating, m.dateErr = false, ""
		m.date.Blur()
		return m, nil
	case key.Matches(msg, m.keys.DateOK):
		in := strings.TrimSpace(m.date.Value())
		today := m.today()
		day, err := checkout.ParseDay(in, m.deps.loc)
		switch {
		case err != nil:
			m.dateErr = p.T("report.date.bad", catalog.V{"Input": checkout.Quoted(in), "Example": today.Format(checkout.DayLayout)})
			return m, nil
		case day.After(today):
			m.dateErr = p.T("report.date.future", catalog.V{"Day": p.Date(day)})
			return m, nil
		}
		m.dating, m.dateErr = false, ""
		m.date.Blur()
		return m.showDay(day, today)
	}
	var cmd tea.Cmd
	m.date, cmd = m.date.Update(msg)
	return m, cmd
}

// settle asks the providers about what is unsettled now (a settling
// pass), then reads the day again.
func (m reportModel) settle() (reportModel, tea.Cmd) {
	p := m.deps.p
	if !m.loaded || m.err != nil {
		return m, nil
	}
	if m.rep.Unsettled.Count == 0 {
		m.notice, m.warn = p.T("report.settle.nothing"), false
		return m, nil
	}
	m.settling, m.notice, m.warn = true, "", false
	m.call = reportCalls.Add(1)
	return m, tea.Batch(m.spinner.Tick, reportSettleCmd(m.deps.ctx, m.deps.engine, m.day, m.call))
}

// settled takes a settling pass's outcome and the day read after it.
func (m reportModel) settled(msg reportSettledMsg) reportModel {
	p := m.deps.p
	m.settling = false
	m = m.loadedWith(msg.rep, msg.err)
	if m.step == reportClose {
		m.asked = true
	}
	if msg.err != nil {
		return m
	}
	n := len(msg.pass.Settled) + len(msg.pass.Refunds)
	left := m.rep.Unsettled.Count
	if left == 0 {
		m.notice, m.warn = p.N("report.settle.all", n), false
	} else {
		m.notice, m.warn = p.N("report.settle.left", left, catalog.V{"Settled": n}), true
	}
	problem := msg.pass.LedgerErr
	if problem == nil && len(msg.pass.Errors) > 0 {
		problem = msg.pass.Errors[0]
	}
	if problem != nil && left > 0 {
		m.notice += " " + p.T("report.settle.problem", catalog.V{"Problem": describe(p, problem, "")})
	}
	return m
}

// openClose opens the close of the day on show, or says why it cannot be
// closed.
func (m reportModel) openClose() reportModel {
	p := m.deps.p
	switch {
	case m.rep.Closed():
		m.notice, m.warn = m.alreadyClosed(m.rep.Z.Seq, m.rep.Z.ClosedAt), true
		return m
	case m.day.After(m.today()):
		m.notice, m.warn = p.T("report.close.not_begun", catalog.V{"Day": p.Date(m.day)}), true
		return m
	}
	m.step, m.asked, m.closeErr, m.notice, m.top = reportClose, false, "", "", 0
	m.at = m.deps.now()
	return m
}

func (m reportModel) alreadyClosed(seq int, at time.Time) string {
	p := m.deps.p
	return p.T("report.close.already", catalog.V{"Day": p.Date(m.day), "Seq": seq, "At": m.when(at)})
}

func (m reportModel) updateClose(msg tea.KeyMsg) (reportModel, tea.Cmd) {
	k := m.keys
	switch {
	case key.Matches(msg, k.Back):
		m.step, m.notice, m.closeErr, m.top = reportShow, "", "", 0
		return m, nil
	case key.Matches(msg, k.Settle):
		return m.settle()
	case key.Matches(msg, k.Confirm):
		// anyway only once the manager has seen the leftovers and had the
		// providers asked: a close with none refuses whatever appeared
		// since it was read, and lists it.
		left := m.rep.Unsettled.Count
		if left > 0 && !m.asked {
			return m, nil
		}
		m.closing, m.closeErr = true, ""
		m.call = reportCalls.Add(1)
		return m, tea.Batch(m.spinner.Tick, closeDayCmd(m.deps.ctx, m.deps.engine, m.day, left > 0, m.call))
	}
	return m.scroll(msg), nil
}

// closed takes the close's answer: the frozen report on success, or what
// stopped it.
func (m reportModel) closed(msg dayClosedMsg) reportModel {
	p := m.deps.p
	m.closing = false
	if msg.repErr == nil {
		m.rep, m.err, m.loaded = msg.rep, nil, true
	}
	var ce *checkout.CloseError
	switch {
	case msg.err == nil:
		m.step, m.top = reportShow, 0
		m.notice, m.warn = p.T("report.close.done", catalog.V{"Day": p.Date(m.day), "Seq": msg.z.Seq}), false
	case errors.As(msg.err, &ce) && ce.Code == checkout.CloseUnsettled:
		// Something is unsettled that was not when the close was asked:
		// list it, and ask the providers again before closing anyway.
		m.rep.Unsettled = ce.Left
		m.asked = false
		m.closeErr = p.T("report.close.new_unsettled")
	case errors.As(msg.err, &ce) && ce.Code == checkout.CloseAlready && ce.Z != nil:
		m.step = reportShow
		m.notice, m.warn = m.alreadyClosed(ce.Z.Seq, ce.Z.ClosedAt), true
	case errors.As(msg.err, &ce) && ce.Code == checkout.CloseFuture:
		m.step = reportShow
		m.notice, m.warn = p.T("report.close.not_begun", catalog.V{"Day": p.Date(m.day)}), true
	case errors.As(msg.err, &ce) && ce.Code == checkout.CloseBefore:
		m.step = reportShow
		m.notice, m.warn = p.T("report.close.before_ledger", catalog.V{"Day": p.Date(m.day)}), true
	default:
		m.closeErr = p.T("report.close.failed", catalog.V{"Err": describe(p, msg.err, "")})
	}
	return m.clampTop()
}

// scroll takes the keys that move the window.
func (m reportModel) scroll(msg tea.KeyMsg) reportModel {
	k := m.keys
	rows := m.bodyRows(len(m.bodyLines()))
	switch {
	case key.Matches(msg, k.Up):
		m.top--
	case key.Matches(msg, k.Down):
		m.top++
	case key.Matches(msg, k.PageUp):
		m.top -= rows
	case key.Matches(msg, k.PageDown):
		m.top += rows
	default:
		return m
	}
	return m.clampTop()
}

func (m reportModel) clampTop() reportModel {
	n := len(m.bodyLines())
	m.top = min(max(m.top, 0), max(n-m.bodyRows(n), 0))
	return m
}

// The layout: the fixed lines (the title, the close's Z line, the date
// prompt, the notice), then the body through a window that the arrows
// scroll, and the position under it when the body does not fit.

// w is the width lines are cut and wrapped to.
func (m reportModel) w() int { return max(m.width, 10) }

// cut is text cut to the width.
func (m reportModel) cut(text string) string { return ansi.Truncate(text, m.w(), "…") }

// when is t in the shop's zone: the time of day, with the date in front
// when it is not the day on show.
func (m reportModel) when(t time.Time) string {
	p := m.deps.p
	t = t.In(m.deps.loc)
	if d, _ := checkout.DayBounds(t, m.deps.loc); !d.Equal(m.day) {
		return p.Date(t) + " " + p.Clock(t)
	}
	return p.Clock(t)
}

// short is t in the shop's zone as a list writes it: 14:03, or 11-22
// 23:59 for another day than the one on show.
func (m reportModel) short(t time.Time) string {
	t = t.In(m.deps.loc)
	if d, _ := checkout.DayBounds(t, m.deps.loc); !d.Equal(m.day) {
		return t.Format("01-02 15:04")
	}
	return t.Format("15:04")
}

func (m reportModel) fixedLines() []string {
	s, p := m.deps.styles, m.deps.p
	day := p.Date(m.day)
	var lines []string
	if m.step == reportClose {
		lines = append(lines, s.Title.Render(m.cut(p.T("report.close.title", catalog.V{"Day": day}))))
	} else {
		title := p.T("report.title", catalog.V{"Day": day, "Zone": m.deps.loc.String()})
		if m.isToday {
			title += " · " + p.T("report.today")
		}
		lines = append(lines, s.Title.Render(m.cut(title)))
		if m.loaded && m.err == nil && m.rep.Closed() {
			z := m.rep.Z
			text := p.T("report.closed", catalog.V{"Seq": z.Seq, "At": m.when(z.ClosedAt), "Operator": m.operatorName(z.Operator)})
			if z.UnsettledAtClose > 0 {
				text += " · " + p.N("report.closed_left", z.UnsettledAtClose)
			}
			lines = append(lines, s.Band["closed"].Render(m.cut(" "+text+" ")))
		}
	}
	if m.dating {
		label := s.Accent.Render(p.T("report.date.label") + " ")
		lines = append(lines, m.cut(label+m.date.View()))
		if m.dateErr != "" {
			lines = append(lines, m.para(s.Error, "✗ "+m.dateErr, 4)...)
		}
	}
	switch {
	case m.busy():
		text := p.N("report.settle.running", m.rep.Unsettled.Count)
		if m.closing {
			text = p.T("report.close.closing", catalog.V{"Day": day})
		}
		lines = append(lines, m.cut(m.spinner.View()+" "+text))
	case m.notice != "":
		st := s.Accent
		if m.warn {
			st = s.Warn
		}
		lines = append(lines, m.para(st, m.notice, 4)...)
	}
	return lines
}

// bodyRows is how many body lines the window shows for a body of n
// lines: what the fixed lines leave, less the position line when the
// body does not fit.
func (m reportModel) bodyRows(n int) int {
	room := max(m.height-len(m.fixedLines())-1, 1) // a blank line under the fixed ones
	if n > room {
		room--
	}
	return max(room, 1)
}

// scrolls reports whether the body is longer than its window.
func (m reportModel) scrolls() bool {
	n := len(m.bodyLines())
	return n > m.bodyRows(n)
}

func (m reportModel) View() string {
	s, p := m.deps.styles, m.deps.p
	lines := append(m.fixedLines(), "")
	body := m.bodyLines()
	rows := m.bodyRows(len(body))
	top := min(max(m.top, 0), max(len(body)-rows, 0))
	end := min(top+rows, len(body))
	lines = append(lines, body[top:end]...)
	if len(body) > rows {
		lines = append(lines, s.Muted.Render(m.cut(p.T("report.position", catalog.V{"From": top + 1, "To": end, "Of": len(body)}))))
	}
	if len(lines) > m.height {
		lines = lines[:max(m.height, 1)]
	}
	return strings.Join(lines, "\n")
}

// bodyLines is the body, line by line, each within the width.
func (m reportModel) bodyLines() []string {
	s, p := m.deps.styles, m.deps.p
	day := p.Date(m.day)
	switch {
	case !m.loaded:
		return []string{s.Muted.Render(m.cut(p.T("report.loading", catalog.V{"Day": day})))}
	case m.err != nil:
		return m.para(s.Error, p.T("report.load_failed", catalog.V{"Day": day, "Err": describe(p, m.err, "")}), 6)
	case m.step == reportClose:
		return m.closeLines()
	}
	r := m.rep
	var lines []string
	lines = append(lines, s.Amount.Render(m.cut(m.headline(r.Figures))), "")
	lines = append(lines, m.tableLines(r.Figures)...)
	lines = append(lines, "")
	lines = append(lines, m.hourLines(r.ByHour)...)
	lines = append(lines, "")
	lines = append(lines, m.unsettledLines(r.Unsettled, true)...)
	lines = append(lines, "")
	lines = append(lines, m.anomalyLines(r.Anomalies)...)
	if r.Closed() {
		lines = append(lines, "")
		lines = append(lines, m.changeLines(r)...)
	}
	return lines
}

// headline is the day in one line: sales, refunds, net.
func (m reportModel) headline(f checkout.Figures) string {
	p := m.deps.p
	return p.T("report.headline", catalog.V{"Sales": f.Sales.Count, "SalesAmount": p.Money(f.Sales.Amount),
		"Refunds": f.Refunds.Count, "RefundsAmount": p.Money(f.Refunds.Amount), "Net": p.Money(f.NetFen)})
}

// reportMethods are the providers in the order the report lists them.
var reportMethods = []checkout.Method{checkout.MethodWeChat, checkout.MethodAlipay}

// operatorName is how the report names an operator: the id, and for the
// records of no operator, the counter in the manager's words.
func (m reportModel) operatorName(id string) string {
	if id == "" || id == checkout.DefaultOperator {
		return m.deps.p.T("report.counter")
	}
	return id
}

// tableLines are the figures by provider and by operator, in columns
// measured over both: sales (count, amount), refunds (count, amount),
// net.
func (m reportModel) tableLines(f checkout.Figures) []string {
	s, p := m.deps.styles, m.deps.p
	type row struct {
		name string
		g    checkout.GroupFigures
	}
	var provs, ops []row
	for _, meth := range reportMethods {
		provs = append(provs, row{methodName(p, meth), f.ByProvider[meth]})
	}
	for meth, g := range f.ByProvider {
		if !slices.Contains(reportMethods, meth) {
			provs = append(provs, row{methodName(p, meth), g})
		}
	}
	ids := make([]string, 0, len(f.ByOperator))
	for id := range f.ByOperator {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		// The counter (records of no operator) last.
		switch {
		case a == b:
			return 0
		case a == checkout.DefaultOperator:
			return 1
		case b == checkout.DefaultOperator:
			return -1
		}
		return strings.Compare(a, b)
	})
	for _, id := range ids {
		ops = append(ops, row{m.operatorName(id), f.ByOperator[id]})
	}

	w := ansi.StringWidth
	byProv, byOp := p.T("report.by_provider"), p.T("report.by_operator")
	colSales, colRefunds, colNet := p.T("report.col.sales"), p.T("report.col.refunds"), p.T("report.col.net")
	nameW := max(w(byProv), w(byOp)) - 2
	var sc, sa, rc, ra, net int
	for _, r := range append(slices.Clone(provs), ops...) {
		nameW = max(nameW, min(w(r.name), 16))
		sc, sa = max(sc, len(strconv.Itoa(r.g.SalesCount))), max(sa, w(p.Money(r.g.SalesFen)))
		rc, ra = max(rc, len(strconv.Itoa(r.g.RefundsCount))), max(ra, w(p.Money(r.g.RefundsFen)))
		net = max(net, w(p.Money(r.g.NetFen)))
	}
	// The figures are never cut: on a narrow screen the gaps close up
	// first, then the names give way.
	inner, gap := "  ", "   "
	salesW := max(sc+2+sa, w(colSales))
	refundsW := max(rc+2+ra, w(colRefunds))
	netW := max(net, w(colNet))
	if 2+nameW+2+salesW+3+refundsW+3+netW > m.w() {
		inner, gap = " ", " "
		salesW, refundsW = max(sc+1+sa, w(colSales)), max(rc+1+ra, w(colRefunds))
		nameW = max(4, min(nameW, m.w()-(2+2+salesW+1+refundsW+1+netW)))
	}
	line := func(r row) string {
		g := r.g
		return m.cut("  " + cell(r.name, nameW) + "  " +
			padLeft(padLeft(strconv.Itoa(g.SalesCount), sc)+inner+padLeft(p.Money(g.SalesFen), sa), salesW) + gap +
			padLeft(padLeft(strconv.Itoa(g.RefundsCount), rc)+inner+padLeft(p.Money(g.RefundsFen), ra), refundsW) + gap +
			padLeft(p.Money(g.NetFen), netW))
	}
	header := func(label string, cols bool) string {
		text := label
		if cols {
			text = cell(label, nameW+4) + padLeft(colSales, salesW) + gap + padLeft(colRefunds, refundsW) + gap + padLeft(colNet, netW)
		}
		return s.Label.Render(m.cut(text))
	}
	lines := []string{header(byProv, true)}
	for _, r := range provs {
		lines = append(lines, line(r))
	}
	lines = append(lines, header(byOp, false))
	if len(ops) == 0 {
		lines = append(lines, s.Muted.Render(m.cut("  "+p.T("report.no_operators"))))
	}
	for _, r := range ops {
		lines = append(lines, line(r))
	}
	return lines
}

// barRows is how tall the hours' bars are; barGlyphs fill a row's cell in
// eighths.
const barRows = 4

var barGlyphs = []rune("▁▂▃▄▅▆▇█")

// hourLines are the sales of each hour of the day as vertical bars, one
// column an hour, with the hours 0, 6, 12 and 18 under them.
func (m reportModel) hourLines(hours []checkout.HourFigures) []string {
	s, p := m.deps.styles, m.deps.p
	var most checkout.Money
	peak := -1
	for i, h := range hours {
		if h.SalesFen > most {
			most, peak = h.SalesFen, i
		}
	}
	title := p.T("report.hours.title")
	if peak < 0 {
		return []string{s.Label.Render(m.cut(title)), s.Muted.Render(m.cut("  " + p.T("report.hours.none")))}
	}
	h := hours[peak]
	title += " · " + p.N("report.hours.peak", h.SalesCount, catalog.V{
		"From": fmt.Sprintf("%02d:00", h.Hour), "To": fmt.Sprintf("%02d:00", h.Hour+1), "Amount": p.Money(h.SalesFen)})
	lines := []string{s.Label.Render(m.cut(title))}
	return append(lines, hourBars(hours, most, m.w()-2, s.Bar)...)
}

// hourBars draws the 24 hours' sales in width columns (each hour a bar
// and a gap when there is room), barRows tall, scaled to most, and the
// hour labels under them, each line indented by two and cut to width
// after that. An hour with any sale shows at least an eighth.
func hourBars(hours []checkout.HourFigures, most checkout.Money, width int, st lipgloss.Style) []string {
	cw := min(max(width/24, 1), 3)
	bar := max(cw-1, 1)
	levels := make([]int64, 24)
	full := int64(barRows * 8)
	for _, h := range hours {
		if h.Hour < 0 || h.Hour > 23 || h.SalesFen <= 0 || most <= 0 {
			continue
		}
		levels[h.Hour] = max((int64(h.SalesFen)*full+int64(most)-1)/int64(most), 1)
	}
	var lines []string
	for r := range barRows {
		floor := int64(barRows-1-r) * 8
		var b strings.Builder
		for _, l := range levels {
			fill := min(max(l-floor, 0), 8)
			g := " "
			if fill > 0 {
				g = string(barGlyphs[fill-1])
			}
			b.WriteString(strings.Repeat(g, bar))
			if cw > bar {
				b.WriteString(strings.Repeat(" ", cw-bar))
			}
		}
		lines = append(lines, "  "+st.Render(ansi.Truncate(strings.TrimRight(b.String(), " "), max(width, 1), "")))
	}
	labels := []byte(strings.Repeat(" ", 24*cw))
	for _, h := range []int{0, 6, 12, 18} {
		copy(labels[h*cw:], strconv.Itoa(h))
	}
	return append(lines, "  "+ansi.Truncate(strings.TrimRight(string(labels), " "), max(width, 1), ""))
}

// item is one entry of a list: prefix, then text (plain) wrapped under
// it.
func (m reportModel) item(prefix, text string) []string {
	pw := ansi.StringWidth(prefix)
	if pw >= m.w()-8 {
		return []string{m.cut(prefix + text)}
	}
	lines := wrapText(text, m.w()-pw)
	for i, l := range lines {
		if i == 0 {
			lines[i] = prefix + l
		} else {
			lines[i] = strings.Repeat(" ", pw) + l
		}
	}
	return lines
}

// para is text (plain) wrapped to the width in style st, at most n
// lines.
func (m reportModel) para(st lipgloss.Style, text string, n int) []string {
	lines := wrapText(text, m.w())
	if len(lines) > n {
		lines = lines[:max(n, 1)]
		lines[len(lines)-1] = ansi.Truncate(lines[len(lines)-1]+"…", m.w(), "…")
	}
	for i, l := range lines {
		lines[i] = st.Render(l)
	}
	return lines
}

// wrapText wraps plain text to w columns as each script wants: at
// spaces, and between any two Chinese characters (a closing mark stays
// with the character before it, an opening one with the one after), so a
// Chinese sentence fills its lines instead of breaking at its first
// space. A word wider than a line is cut where it must be.
func wrapText(text string, w int) []string {
	w = max(w, 1)
	var lines []string
	for _, para := range strings.Split(text, "\n") {
		var line strings.Builder
		cur, space := 0, 0 // the spaces before the next word
		flush := func() {
			lines = append(lines, line.String())
			line.Reset()
			cur, space = 0, 0
		}
		for _, tok := range wrapTokens(para) {
			if strings.TrimLeft(tok, " ") == "" {
				if cur > 0 {
					space = len(tok)
				}
				continue
			}
			tw := ansi.StringWidth(tok)
			need := tw + space
			if cur+need > w && cur > 0 {
				flush()
				need = tw
			}
			for tw > w { // a word too long for any line
				head := ansi.Truncate(tok, w, "")
				line.WriteString(head)
				flush()
				tok = strings.TrimPrefix(tok, head)
				tw = ansi.StringWidth(tok)
				need = tw
			}
			line.WriteString(strings.Repeat(" ", space))
			line.WriteString(tok)
			cur += need
			space = 0
		}
		flush()
	}
	return lines
}

// wrapTokens splits text into what a line may break between: runs of
// spaces, words of narrow characters, and each wide
// character with the closing marks after it and the opening marks before
// it.
func wrapTokens(text string) []string {
	var toks []string
	var word strings.Builder
	opening := false // the last token is an opening mark, waiting for its character
	end := func() {
		if word.Len() > 0 {
			toks = append(toks, word.String())
			word.Reset()
		}
	}
	for _, r := range text {
		switch {
		case r == ' ':
			end()
			if n := len(toks); n > 0 && strings.TrimLeft(toks[n-1], " ") == "" {
				toks[n-1] += " "
			} else {
				toks = append(toks, " ")
			}
			opening = false
		case strings.ContainsRune("，。、：；！？）」』》”’", r):
			end()
			if n := len(toks); n > 0 && strings.TrimLeft(toks[n-1], " ") != "" {
				toks[n-1] += string(r)
			} else {
				toks = append(toks, string(r))
			}
			opening = false
		case strings.ContainsRune("（「『《“‘", r):
			end()
			toks = append(toks, string(r))
			opening = true
		case ansi.StringWidth(string(r)) == 2:
			end()
			if opening {
				toks[len(toks)-1] += string(r)
			} else {
				toks = append(toks, string(r))
			}
			opening = false
		default:
			if opening {
				toks[len(toks)-1] += string(r)
				opening = false
				// The rest of the word joins the mark's token.
				word.WriteString(toks[len(toks)-1])
				toks = toks[:len(toks)-1]
				continue
			}
			word.WriteRune(r)
		}
	}
	end()
	return toks
}

// unsettledLines list what the providers have not settled yet; hint
// names the key that asks them now.
func (m reportModel) unsettledLines(u checkout.Unsettled, hint bool) []string {
	s, p := m.deps.styles, m.deps.p
	if u.Count == 0 {
		return []string{s.Muted.Render(m.cut(p.T("report.unsettled.none")))}
	}
	title := p.N("report.unsettled.title", u.Count)
	if hint && m.canSettle() {
		title += " · " + p.T("report.unsettled.hint", catalog.V{"Key": m.keys.Settle.Help().Key})
	}
	lines := []string{s.Warn.Render(m.cut(title))}
	tries := m.deps.engine.Attempts()
	for _, o := range u.Orders {
		text := methodName(p, o.Method) + "  " + p.Money(o.Amount) + "  " + stateWord(p, o) + "  " + o.No
		lines = append(lines, m.item("  "+m.short(o.CreatedAt)+"  ", text)...)
		lines = append(lines, m.attemptLines(tries[o.No])...)
	}
	for _, r := range u.Refunds {
		text := p.T("report.unsettled.refund", catalog.V{"Amount": p.Money(r.Amount), "Method": methodName(p, r.Method), "No": r.OrderNo})
		lines = append(lines, m.item("  "+m.short(r.CreatedAt)+"  ", text)...)
		lines = append(lines, m.attemptLines(tries[r.No])...)
	}
	return lines
}

// attemptLines say, under an unsettled order or refund, how asking its
// provider has gone: failing since when, and when it is asked next.
func (m reportModel) attemptLines(a checkout.Attempt) []string {
	if a.Fails == 0 {
		return nil
	}
	s, p := m.deps.styles, m.deps.p
	text := p.N("report.unsettled.failing", a.Fails, catalog.V{"Since": m.short(a.Since), "Next": m.short(a.Next), "Err": a.Err})
	var out []string
	for _, l := range m.item("         ", text) {
		out = append(out, s.Muted.Render(l))
	}
	return out
}

// anomalyLines list what a manager should look at.
func (m reportModel) anomalyLines(a checkout.Anomalies) []string {
	s, p := m.deps.styles, m.deps.p
	if a.Count == 0 {
		return []string{s.Muted.Render(m.cut(p.T("report.anomalies.none")))}
	}
	lines := []string{s.Warn.Render(m.cut(p.N("report.anomalies.title", a.Count)))}
	for _, o := range a.Disputed {
		lines = append(lines, m.item("  ⚠ "+m.short(o.PaidAt)+"  ", p.T("report.anomaly.disputed", catalog.V{
			"Method": methodName(p, o.Method), "Amount": p.Money(o.Amount), "Took": p.Money(o.ProviderAmount), "No": o.No}))...)
	}
	for _, o := range a.LatePayments {
		lines = append(lines, m.item("  ⚠ "+m.short(o.PaidAt)+"  ", p.T("report.anomaly.late", catalog.V{
			"Method": methodName(p, o.Method), "Amount": p.Money(o.Amount), "No": o.No}))...)
	}
	for _, r := range a.FailedRefunds {
		why := r.FailReason
		if why == "" {
			why = r.ProviderSaid
		}
		lines = append(lines, m.item("  ✗ "+m.short(r.FailedAt)+"  ", p.T("report.anomaly.failed_refund", catalog.V{
			"Method": methodName(p, r.Method), "Amount": p.Money(r.Amount), "No": r.OrderNo, "Why": why}))...)
	}
	for _, r := range a.DisputedRefunds {
		lines = append(lines, m.item("  ⚠ "+m.short(r.SucceededAt)+"  ", p.T("report.anomaly.disputed_refund", catalog.V{
			"Method": methodName(p, r.Method), "Amount": p.Money(r.Amount), "No": r.OrderNo}))...)
	}
	return lines
}

// changeKeys word each kind of change after a close.
var changeKeys = map[checkout.ChangeKind]string{
	checkout.ChangeSale:          "report.change.sale",
	checkout.ChangeRefund:        "report.change.refund",
	checkout.ChangeDisputed:      "report.change.disputed",
	checkout.ChangeSettled:       "report.change.settled",
	checkout.ChangeSaleGone:      "report.change.sale_gone",
	checkout.ChangeRefundGone:    "report.change.refund_gone",
	checkout.ChangeRefundSettled: "report.change.refund_settled",
}

// signed is an amount with its sign, + for money in.
func signed(p *catalog.Printer, m checkout.Money) string {
	if m > 0 {
		return "+" + p.Money(m)
	}
	return p.Money(m)
}

// changeLines list what changed a closed day's money after its close,
// never merged into its frozen figures, and their net.
func (m reportModel) changeLines(r checkout.DayReport) []string {
	s, p := m.deps.styles, m.deps.p
	if len(r.ChangesAfterClose) == 0 {
		return []string{s.Muted.Render(m.cut(p.T("report.changes.none")))}
	}
	lines := []string{s.Warn.Render(m.cut(p.N("report.changes.title", len(r.ChangesAfterClose), catalog.V{"Net": signed(p, r.ChangesNetFen)})))}
	for _, c := range r.ChangesAfterClose {
		id, ok := changeKeys[c.Kind]
		text := string(c.Kind) + " " + c.Order + " " + c.Refund
		if ok {
			text = p.T(id, catalog.V{"Amount": signed(p, c.AmountFen), "Method": methodName(p, c.Method), "No": c.Order, "Refund": c.Refund})
		}
		when := "     "
		if !c.At.IsZero() {
			when = m.short(c.At)
		}
		lines = append(lines, m.item("  "+when+"  ", text)...)
	}
	return lines
}

// closeLines are the close of the day: what is unsettled and what the
// manager can do about it, or the confirmation with the figures that
// will be frozen.
func (m reportModel) closeLines() []string {
	s, p := m.deps.styles, m.deps.p
	day := p.Date(m.day)
	var lines []string
	if m.closeErr != "" {
		lines = append(lines, m.para(s.Error, "✗ "+m.closeErr, 12)...)
		lines = append(lines, "")
	}
	u := m.rep.Unsettled
	if u.Count > 0 {
		lines = append(lines, m.para(s.Warn, p.N("report.close.unsettled", u.Count, catalog.V{"Day": day}), 12)...)
		lines = append(lines, m.unsettledLines(u, false)[1:]...)
		lines = append(lines, "")
		if !m.asked {
			lines = append(lines, m.para(s.Row, p.T("report.close.settle_first", catalog.V{"Key": m.keys.Settle.Help().Key}), 12)...)
			return lines
		}
		lines = append(lines, m.para(s.Warn, p.N("report.close.anyway", u.Count, catalog.V{"Key": m.keys.Anyway.Help().Key}), 12)...)
		return lines
	}
	lines = append(lines, s.Amount.Render(m.cut(p.T("report.close.confirm", catalog.V{"Day": day}))))
	lines = append(lines, m.para(s.Row, p.T("report.close.frozen"), 12)...)
	lines = append(lines, "", m.cut("  "+m.headline(m.rep.Figures)))
	if m.isToday {
		lines = append(lines, "")
		lines = append(lines, m.para(s.Warn, p.T("report.close.before_midnight", catalog.V{"Now": p.Clock(m.at.In(m.deps.loc))}), 12)...)
	}
	return lines
}
