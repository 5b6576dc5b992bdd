package ui

import (
	"errors"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"till/catalog"
	"till/checkout"
)

// saleDoneMsg says a sale reached its end (paid, closed, failed,
// refunded). Sent by the waiting and problem screens; handled by the root,
// which shows the result.
type saleDoneMsg struct{ order checkout.Order }

// closeFailedMsg says the close at the timeout or on cancel could not be
// confirmed. Sent by the waiting screen; the root shows the problem
// screen with a retry.
type closeFailedMsg struct {
	order  checkout.Order
	reason string // why it was being closed
	err    error
	// unsaved is set when the provider said paid and the ledger could not
	// record it: that stays true whatever the last try said.
	unsaved error
}

type waitPhase int

const (
	phaseCreating waitPhase = iota // asking the provider for the QR
	phaseWaiting                   // QR on screen, polling
	phaseClosing                   // final query and close under way
)

// waitingModel shows the QR, the amount, the order number, the state and a
// countdown, and polls the provider until the sale ends. It lays itself
// out for the window it is given (layout.go).
type waitingModel struct {
	deps    deps
	keys    waitingKeys
	phase   waitPhase
	order   checkout.Order
	method  checkout.Method
	amount  checkout.Money
	spinner spinner.Model
	polling bool
	scanned bool // the provider says the customer has opened the code
	// cancelAsked: esc came while the code was being made; the sale is
	// closed as soon as the provider has answered.
	cancelAsked bool
	// alert is the root's one urgent line (the quit warning, a late
	// payment), for the layouts that draw the whole window themselves.
	alert string
	// alertFirst: the alert matters more than the sale's summary line
	// (the quit warning) where only one of them fits.
	alertFirst bool
	warning    string // the last poll's or close's trouble, shown while still trying
	now        time.Time
	// closeAttempt counts the closes tried since the clerk (or the
	// timeout) asked for one.
	closeAttempt int
	closeTag     int64  // the close call whose answer the screen waits for
	reason       string // why it is being closed
	// unsaved is the error of a payment the provider confirmed and the
	// ledger could not yet record. Once the provider has said "paid" it
	// stays said, whatever the later calls answer, until the sale ends.
	unsaved error

	frame frame  // the window, and what the root's header and help take
	qr    qrDraw // the drawn code, made once per order and size, not per frame
}

func newCreating(d deps, meth checkout.Method, amount checkout.Money) waitingModel {
	sp := spinner.New(spinner.WithSpinner(spinner.Dot))
	return waitingModel{deps: d, keys: defaultWaitingKeys(d.p), phase: phaseCreating, method: meth,
		amount: amount, spinner: sp, now: d.now()}
}

// setSize fits the screen to the frame and redraws the code if the frame
// changed.
func (m waitingModel) setSize(f frame) waitingModel {
	if f == m.frame {
		return m
	}
	m.frame = f
	return m.redraw()
}

// redraw draws the code for the order and the frame.
func (m waitingModel) redraw() waitingModel {
	m.qr = drawQR(m.order.CodeURL, m.frame, m.deps.sandbox, m.payerLine)
	if m.qr.text != "" {
		m.qr.styled = m.deps.styles.QR.Render(m.qr.text)
		m.qr.code = measure(m.qr.styled)
		bw, _ := m.frame.body()
		if m.deps.sandbox && bw > 0 {
			m.qr.payer = measure(m.payerURL(bw))
		}
		switch l := m.qr.layout; l.kind {
		case layoutBig, layoutBeside:
			m.qr.parts = m.panelParts(l.panelW, m.qr.code.height(), false)
		case layoutCompact:
			m.qr.parts = m.panelParts(l.panelW, m.frame.H, true)
		case layoutBelow:
			m.qr.below = m.belowParts(bw)
		}
	}
	return m
}

// begin shows an order the provider accepted and starts polling and the
// countdown.
func (m waitingModel) begin(o checkout.Order) (waitingModel, tea.Cmd) {
	m.order, m.phase, m.method, m.amount = o, phaseWaiting, o.Method, o.Amount
	m.now = m.deps.now()
	m = m.redraw()
	interval := m.deps.engine.Config().PollInterval
	return m, tea.Batch(m.spinner.Tick, pollTick(interval, o.No), clockTick(o.No))
}

func (m waitingModel) shortHelp() []key.Binding {
	if m.phase == phaseWaiting || m.phase == phaseCreating && !m.cancelAsked {
		return []key.Binding{m.keys.Cancel}
	}
	return nil
}

// fullScreen reports whether the screen draws the whole window itself
// (title and keys folded in beside the code), because the root's header
// and help would leave the code no room.
func (m waitingModel) fullScreen() bool {
	return m.phase != phaseCreating && !m.cancelAsked && m.qr.layout.full
}

func (m waitingModel) Update(msg tea.Msg) (waitingModel, tea.Cmd) {
	switch msg := msg.(type) {
	case spinner.TickMsg:
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		return m, cmd
	case tea.KeyMsg:
		switch {
		case m.phase == phaseWaiting && key.Matches(msg, m.keys.Cancel):
			return m.close("cancelled by clerk")
		case m.phase == phaseCreating && key.Matches(msg, m.keys.Cancel):
			m.cancelAsked = true
		}
	case pollTickMsg:
		if msg.no != m.order.No || m.phase != phaseWaiting || m.polling {
			return m, nil
		}
		m.polling = true
		return m, pollCmd(m.deps.ctx, m.deps.engine, m.order.No)
	case notifiedMsg:
		// Settled by a notification: done, whatever a poll in flight
		// answers later (the next screen drops it).
		if msg.order.No != m.order.No || msg.order.State.Open() || m.phase != phaseWaiting {
			return m, nil
		}
		m.order = msg.order
		o := m.order
		return m, func() tea.Msg { return saleDoneMsg{order: o} }
	case polledMsg:
		if msg.no != m.order.No {
			return m, nil
		}
		m.polling = false
		if msg.order.State != "" {
			m.order = msg.order
		}
		if !m.order.State.Open() {
			o := m.order
			return m, func() tea.Msg { return saleDoneMsg{order: o} }
		}
		if msg.err == nil {
			m.scanned = msg.trade.Scanned
		}
		m = m.noteErr(msg.err)
		if m.phase != phaseWaiting {
			return m, nil
		}
		return m, pollTick(m.deps.engine.Config().PollInterval, m.order.No)
	case clockTickMsg:
		if msg.no != m.order.No || m.phase != phaseWaiting {
			return m, nil
		}
		m.now = m.deps.now()
		if !m.now.Before(m.order.ExpiresAt) {
			return m.close("timed out")
		}
		return m, clockTick(m.order.No)
	case finishedMsg:
		if msg.no != m.order.No || m.phase != phaseClosing || msg.tag != m.closeTag {
			return m, nil
		}
		if msg.order.State != "" {
			m.order = msg.order
		}
		o := m.order
		if msg.err == nil || !o.State.Open() {
			return m, func() tea.Msg { return saleDoneMsg{order: o} }
		}
		// Not settled: nothing was closed. Ask again a few times before
		// troubling the clerk.
		m = m.noteErr(msg.err)
		if m.closeAttempt < closeRetries {
			m.closeAttempt++
			m.warning = m.deps.p.T("waiting.asking_again", catalog.V{"Warning": m.warning, "N": m.closeAttempt, "Of": closeRetries})
			return m, closeRetryTick(o.No, m.closeAttempt)
		}
		failed := closeFailedMsg{order: o, reason: m.reason, err: msg.err, unsaved: m.unsaved}
		return m, func() tea.Msg { return failed }
	case closeRetryMsg:
		if msg.no != m.order.No || m.phase != phaseClosing || msg.attempt != m.closeAttempt {
			return m, nil
		}
		m.closeTag = nextTag()
		return m, closeCmd(m.deps.ctx, m.deps.engine, m.order.No, m.reason, m.closeTag)
	}
	return m, nil
}

// noteErr takes the last call's error: the warning says what went wrong
// and, once a payment could not be saved, keeps saying that first.
func (m waitingModel) noteErr(err error) waitingModel {
	if paidUnsaved(err) {
		m.unsaved = err
	}
	m.warning = warningWithUnsaved(m.deps.p, m.order.Method, m.unsaved, err)
	return m
}

// warningFor says what went wrong with the last call, while till keeps
// trying: a payment the ledger could not save is named as such.
func warningFor(p *catalog.Printer, meth checkout.Method, err error) string {
	var (
		se *checkout.SaveError
		le *checkout.LedgerError
	)
	switch {
	case err == nil:
		return ""
	case errors.As(err, &se):
		return p.T("waiting.retrying_save", catalog.V{"Problem": capitalize(describe(p, err, meth))})
	case errors.As(err, &le):
		return p.T("waiting.still_trying", catalog.V{"Problem": capitalize(describe(p, err, meth))})
	}
	return p.T("waiting.not_answering", catalog.V{"Problem": describe(p, err, meth)})
}

// warningWithUnsaved is the warning for the last error err, led by the
// unsaved payment when there is one.
func warningWithUnsaved(p *catalog.Printer, meth checkout.Method, unsaved, err error) string {
	switch {
	case unsaved == nil:
		return warningFor(p, meth, err)
	case err == nil || paidUnsaved(err):
		return warningFor(p, meth, unsaved)
	}
	return p.T("waiting.last_try", catalog.V{"Warning": warningFor(p, meth, unsaved), "Last": describe(p, err, meth)})
}

// paidUnsaved reports an error that says the customer paid and the
// ledger could not record it.
func paidUnsaved(err error) bool {
	var se *checkout.SaveError
	return errors.As(err, &se) && (se.To == checkout.StatePaid || se.To == checkout.StateDisputed || se.To == checkout.StateRefunded)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// close ends the sale: the engine queries once more, then closes it.
func (m waitingModel) close(reason string) (waitingModel, tea.Cmd) {
	m.phase, m.reason, m.closeAttempt = phaseClosing, reason, 0
	m.closeTag = nextTag()
	return m, closeCmd(m.deps.ctx, m.deps.engine, m.order.No, reason, m.closeTag)
}

// stateLine is the waiting screen's headline: what the customer is doing.
func (m waitingModel) stateLine() (text, band string) {
	band = m.stateBand()
	return m.stateText(band), band
}

// stateBand is the band of the waiting state: "paid" (paid, not yet
// saved), "closed" (closing), "scanned" or "waiting".
func (m waitingModel) stateBand() string {
	switch {
	case m.unsaved != nil:
		return "paid"
	case m.phase == phaseClosing:
		return "closed"
	case m.scanned:
		return "scanned"
	}
	return "waiting"
}

// stateText is the headline of the band stateBand names.
func (m waitingModel) stateText(band string) string {
	p := m.deps.p
	switch band {
	case "paid":
		return p.T("waiting.state.paid_unsaved")
	case "closed":
		return p.T("waiting.state.closing")
	case "scanned":
		return p.T("waiting.state.scanned")
	}
	return p.T("waiting.state.waiting")
}

// countdown is the time left, coloured amber in the last 30 s and red in
// the last 10 s.
func (m waitingModel) countdown() string {
	return m.countdownStyle().Render(m.deps.p.Countdown(m.order.ExpiresAt.Sub(m.now)))
}

func (m waitingModel) View() string {
	if m.phase != phaseCreating && !m.cancelAsked {
		return m.layoutView()
	}
	// Before the code, and after a cancel asked for before it: the code
	// a clerk has cancelled is never shown to a customer.
	s, p := m.deps.styles, m.deps.p
	w := max(m.frame.W-2, 10)
	text := p.T("waiting.creating", catalog.V{"Method": methodName(p, m.method), "Amount": s.Amount.Render(p.Money(m.amount))})
	if m.phase == phaseClosing {
		text = p.T("waiting.closing")
	}
	out := s.Row.Width(w).Render(m.spinner.View() + " " + text)
	if m.cancelAsked {
		out += "\n\n" + s.Warn.Width(w).Render(p.T("waiting.cancel_pending"))
	}
	return out
}
