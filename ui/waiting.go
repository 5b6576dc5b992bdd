package ui

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"till/checkout"
)

// saleDoneMsg says a sale reached its end (paid, closed, failed,
// refunded). Sent by the waiting screen; handled by the root, which shows
// the result.
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

// waitingModel shows the QR, the amount, the order number and a
// countdown, and polls the provider until the sale ends.
type waitingModel struct {
	deps    deps
	keys    waitingKeys
	phase   waitPhase
	order   checkout.Order
	method  checkout.Method
	amount  checkout.Money
	spinner spinner.Model
	polling bool
	warning string // the last poll's or close's trouble, shown while still trying
	// closeAttempt counts the closes tried since the clerk (or the
	// timeout) asked for one.
	closeAttempt int
	closeTag     int64  // the close call whose answer the screen waits for
	reason       string // why it is being closed
	// unsaved is the error of a payment the provider confirmed and the
	// ledger could not yet record. Once the provider has said "paid" it
	// stays said, whatever the later calls answer, until the sale ends.
	unsaved error
	now     time.Time
	qr      string // the drawn code, made once per order and size, not per frame

	width, height int
}

// infoWidth is the room kept right of the QR for the sale's details.
const infoWidth = 38 // 36 of text and a gap of 2

// setSize fits the screen to w x h and redraws the code if the size
// changed.
func (m waitingModel) setSize(w, h int) waitingModel {
	if w == m.width && h == m.height {
		return m
	}
	m.width, m.height = w, h
	return m.drawQR()
}

func (m waitingModel) drawQR() waitingModel {
	s := m.deps.styles
	if m.order.CodeURL == "" {
		m.qr = ""
		return m
	}
	text, err := renderQR(m.order.CodeURL, m.width-infoWidth, m.height)
	switch {
	case err != nil:
		m.qr = s.Error.Render("Cannot draw the QR code: " + err.Error())
	case text == "":
		m.qr = s.Error.Render("The window is too small\nfor the QR code.\nMake it at least 80x24.")
	default:
		m.qr = s.QR.Render(text)
	}
	return m
}

func newCreating(d deps, meth checkout.Method, amount checkout.Money) waitingModel {
	sp := spinner.New(spinner.WithSpinner(spinner.Dot))
	return waitingModel{deps: d, keys: defaultWaitingKeys(), phase: phaseCreating, method: meth,
		amount: amount, spinner: sp, now: d.now()}
}

// begin shows an order the provider accepted and starts polling and the
// countdown.
func (m waitingModel) begin(o checkout.Order) (waitingModel, tea.Cmd) {
	m.order, m.phase, m.method, m.amount = o, phaseWaiting, o.Method, o.Amount
	m.now = m.deps.now()
	m = m.drawQR()
	interval := m.deps.engine.Config().PollInterval
	return m, tea.Batch(m.spinner.Tick, pollTick(interval, o.No), clockTick(o.No))
}

func (m waitingModel) shortHelp() []key.Binding {
	if m.phase == phaseWaiting {
		return []key.Binding{m.keys.Cancel}
	}
	return nil
}

func (m waitingModel) Update(msg tea.Msg) (waitingModel, tea.Cmd) {
	switch msg := msg.(type) {
	case spinner.TickMsg:
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		return m, cmd
	case tea.KeyMsg:
		if m.phase == phaseWaiting && key.Matches(msg, m.keys.Cancel) {
			return m.close("cancelled by clerk")
		}
	case pollTickMsg:
		if msg.no != m.order.No || m.phase != phaseWaiting || m.polling {
			return m, nil
		}
		m.polling = true
		return m, pollCmd(m.deps.ctx, m.deps.engine, m.order.No)
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
			m.warning = fmt.Sprintf("%s Asking again (%d of %d).", m.warning, m.closeAttempt, closeRetries)
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
	m.warning = warningWithUnsaved(m.unsaved, err)
	return m
}

// warningWithUnsaved is the warning for the last error err, led by the
// unsaved payment when there is one.
func warningWithUnsaved(unsaved, err error) string {
	switch {
	case unsaved == nil:
		return warningFor(err)
	case err == nil || paidUnsaved(err):
		return warningFor(unsaved)
	}
	return warningFor(unsaved) + " (Last try: " + checkout.UserMessage(err) + ".)"
}

// warningFor says what went wrong with the last call, while till keeps
// trying: a payment the ledger could not save is named as such.
func warningFor(err error) string {
	var (
		se *checkout.SaveError
		le *checkout.LedgerError
	)
	switch {
	case err == nil:
		return ""
	case errors.As(err, &se):
		return capitalize(checkout.UserMessage(err)) + ". Retrying until it is saved."
	case errors.As(err, &le):
		return capitalize(checkout.UserMessage(err)) + "; still trying."
	}
	return "Provider not answering (" + checkout.UserMessage(err) + "); still trying."
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

func (m waitingModel) View() string {
	s := m.deps.styles
	if m.phase == phaseCreating {
		return fmt.Sprintf("%s Creating a %s order for %s…", m.spinner.View(), m.method.Label(), s.Amount.Render(m.amount.Yuan()))
	}

	var info strings.Builder
	info.WriteString(s.Title.Render("Scan to pay with "+m.order.Method.Label()) + "\n\n")
	info.WriteString(s.Label.Render("Amount") + s.Amount.Render(m.order.Amount.Yuan()) + "\n")
	info.WriteString(s.Label.Render("Order") + m.order.No + "\n")
	if m.order.Note != "" {
		info.WriteString(s.Label.Render("Note") + truncate(m.order.Note, 30) + "\n")
	}
	left := m.order.ExpiresAt.Sub(m.now)
	if left < 0 {
		left = 0
	}
	info.WriteString(s.Label.Render("Closes in") + formatCountdown(left) + "\n\n")
	switch {
	case m.unsaved != nil:
		info.WriteString(m.spinner.View() + " " + s.Amount.Render("The customer has paid") + "; saving it\n")
	case m.phase == phaseClosing:
		info.WriteString(m.spinner.View() + " Closing the order…\n")
	default:
		info.WriteString(m.spinner.View() + " Waiting for the customer to pay\n")
	}
	if m.warning != "" {
		info.WriteString(s.Warn.Width(infoWidth-2).Render(m.warning) + "\n")
	}
	infoText := info.String()
	body := lipgloss.JoinHorizontal(lipgloss.Top, m.qr, "  ", infoText)
	if m.deps.sandbox {
		body += "\n" + s.Muted.Render("Sandbox payer page: "+m.order.CodeURL)
	}
	return body
}

func formatCountdown(d time.Duration) string {
	secs := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%d:%02d", secs/60, secs%60)
}
