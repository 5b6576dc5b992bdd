package ui

import (
	"context"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"till/catalog"
	"till/checkout"
)

// A payment-code sale at the counter: the clerk has scanned the customer's
// code (the entry screen's code prompt) and this screen follows the charge
// until it ends. The code itself is in the charge's tea.Cmd only: the
// screen keeps its last four digits, as the ledger does.

// codeChargeMsg is the code sale the entry screen asks the root to start
// (taken from entryModel.codeCharge in the same Update).
type codeChargeMsg struct {
	amount checkout.Money
	code   string
	note   string
	method checkout.Method
}

// codeAnswerMsg is the engine's answer to a code sale's charge or to one
// of its polls. Sent by chargeCodeCmd and pollCodeCmd; handled by the code
// screen whose order it is.
type codeAnswerMsg struct {
	tag   int64 // the call, so a screen takes only the answer it waits for
	order checkout.Order
	// trade is what the provider said of the trade: TradeNotPaid is a
	// customer asked to confirm on the phone.
	trade checkout.TradeState
	err   error
}

// codeTickMsg says it is time to ask about code sale no again;
// codeClockMsg redraws its countdown. Stale ones are dropped.
type (
	codeTickMsg struct {
		no  string
		seq int // the screen's current timer; older ones are stale
	}
	codeClockMsg struct{ no string }
)

// codeClock redraws code sale no's countdown in a second (clockTick's
// like for the code screen).
func codeClock(no string) tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return codeClockMsg{no: no} })
}

func chargeCodeCmd(ctx context.Context, e *checkout.Engine, c codeChargeMsg, tag int64) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := withDeadline(ctx)
		defer cancel()
		o, err := e.ChargeCode(ctx, c.amount, c.code, c.note)
		a := codeAnswerMsg{tag: tag, order: o, err: err}
		if err == nil && o.State.Open() {
			a.trade = checkout.TradeNotPaid // the pay call's "waiting for the user"
		}
		return a
	}
}

func pollCodeCmd(ctx context.Context, e *checkout.Engine, no string, cancelled bool, tag int64) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := withDeadline(ctx)
		defer cancel()
		o, trade, err := e.WatchCode(ctx, no, cancelled)
		return codeAnswerMsg{tag: tag, order: o, trade: trade, err: err}
	}
}

type codePhase int

const (
	codePaying     codePhase = iota // the charge is under way
	codeConfirming                  // the customer is asked to confirm on the phone
	codeNoAnswer                    // the last answer was not clear: asking again
	// (A "paid" the ledger has not recorded yet is codeSaleModel.unsaved,
	// which outranks the phase until the sale ends.)
)

type codeSaleKeys struct {
	Cancel key.Binding
	Leave  key.Binding
}

func defaultCodeSaleKeys(p *catalog.Printer) codeSaleKeys {
	return codeSaleKeys{
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", p.T("key.cancel_sale"))),
		Leave:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", p.T("key.leave_to_till"))),
	}
}

// codeSaleModel follows one code sale: paying, waiting for the customer to
// confirm, asking again after an unclear answer, reversing at the
// deadline or on the clerk's cancel. The end goes to the result screen.
type codeSaleModel struct {
	deps   deps
	keys   codeSaleKeys
	method checkout.Method
	amount checkout.Money
	tail   string
	order  checkout.Order // once the ledger has it
	phase  codePhase
	err    error // the last call's trouble, while still trying
	tag    int64 // the call whose answer the screen waits for (0: none)
	cancel bool  // the clerk cancelled: reverse as soon as allowed
	// askedCancel: the call in flight is a cancel's; reverseFailed: the
	// last answer was a reverse (or cancel) that could not be confirmed.
	askedCancel, reverseFailed bool
	// unsaved is a "paid" the ledger could not record yet: once the
	// provider has said it, it stays said until the sale ends.
	unsaved error
	tickSeq int // the current poll timer
	spinner spinner.Model
	width   int
	now     time.Time // read on each message, for View's countdown (no View reads the clock)
}

func newCodeSale(d deps, c codeChargeMsg) codeSaleModel {
	sp := spinner.New()
	sp.Spinner = spinner.Dot
	return codeSaleModel{deps: d, keys: defaultCodeSaleKeys(d.p), method: c.method, amount: c.amount,
		tail: checkout.CodeTail(c.code), spinner: sp, now: d.now()}
}

func (m codeSaleModel) shortHelp() []key.Binding {
	switch {
	case m.unsaved != nil || m.leavable():
		return []key.Binding{m.keys.Leave}
	case m.cancel:
		return nil // cancelled: the reverse is on its way
	}
	return []key.Binding{m.keys.Cancel}
}

// leavable: the sale is cancelled or past its deadline and the provider
// has not ended it: the clerk may hand it to till's settling (it is
// reversed and recorded without the screen).
func (m codeSaleModel) leavable() bool {
	return m.order.No != "" && m.reverseFailed
}

// answered takes the answer to the call m waits for: the end of the sale
// (done), or the next ask: at once for a cancel not yet sent, else at
// CodePollInterval, or sooner when the reverse falls due before that.
func (m codeSaleModel) answered(a codeAnswerMsg) (next codeSaleModel, done bool, cmd tea.Cmd) {
	m.now = m.deps.now()
	m.tag = 0
	first := m.order.No == "" && a.order.No != ""
	if a.order.State != "" {
		// An answer without the order's state (a ledger read that
		// failed) says nothing of the sale: keep the one on screen.
		m.order = a.order
	} else if first {
		m.order.No = a.order.No
	}
	if m.order.State != "" && !m.order.State.Open() {
		return m, true, nil
	}
	m.err = a.err
	// A reverse was due for this call (the deadline, or the clerk's
	// cancel once the provider takes one) and its answer is not clear.
	wasCancel := m.askedCancel
	m.askedCancel = false
	due := !m.deps.now().Before(checkout.ReverseDue(m.order, wasCancel))
	m.reverseFailed = a.err != nil && due && m.order.State != ""
	switch {
	case m.unsaved != nil: // said once, it stays said
	case checkout.KeptMoney(a.err):
		m.unsaved = a.err
	case a.err == nil && a.trade == checkout.TradeNotPaid:
		m.phase = codeConfirming // the provider says the customer is asked
	default:
		m.phase = codeNoAnswer
	}
	no := m.order.No
	var cmds []tea.Cmd
	if first {
		// One redraw a second for the countdown, for the sale's life.
		cmds = append(cmds, codeClock(no))
	}
	if m.cancel && !wasCancel && m.unsaved == nil {
		// Cancelled while the charge or a poll was under way: send the
		// cancel now.
		var ask tea.Cmd
		m, ask = m.ask()
		return m, false, tea.Batch(append(cmds, ask)...)
	}
	wait := checkout.CodePollInterval
	if left := checkout.ReverseDue(m.order, m.cancel).Sub(m.deps.now()); left > 0 && left < wait {
		wait = left
	}
	m.tickSeq++
	seq := m.tickSeq
	cmds = append(cmds, tea.Tick(wait, func(time.Time) tea.Msg { return codeTickMsg{no: no, seq: seq} }))
	return m, false, tea.Batch(cmds...)
}

// ask asks the engine about the sale again (a poll, or the cancel's
// reverse).
func (m codeSaleModel) ask() (codeSaleModel, tea.Cmd) {
	if m.tag != 0 || m.order.No == "" {
		return m, nil // one call at a time; the charge's answer comes first
	}
	m.tag = nextTag()
	m.askedCancel = m.cancel
	m.tickSeq++ // a timer set before this call is stale
	return m, pollCodeCmd(m.deps.ctx, m.deps.engine, m.order.No, m.cancel, m.tag)
}

// Update runs the screen's timers and the spinner; the answers come
// through answered, the keys through the root.
func (m codeSaleModel) Update(msg tea.Msg) (codeSaleModel, tea.Cmd) {
	m.now = m.deps.now()
	switch msg := msg.(type) {
	case spinner.TickMsg:
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		return m, cmd
	case codeTickMsg:
		if msg.no != m.order.No || msg.seq != m.tickSeq {
			return m, nil
		}
		return m.ask()
	case codeClockMsg:
		if msg.no != m.order.No {
			return m, nil
		}
		return m, codeClock(msg.no)
	}
	return m, nil
}

func (m codeSaleModel) View() string {
	s := m.deps.styles
	p := m.deps.p
	w := max(m.width, 20)
	v := catalog.V{"Method": methodName(p, m.method), "Amount": p.Money(m.amount), "Tail": m.tail, "No": m.order.No}
	band, head := "waiting", p.T("code.paying", v)
	var lines []string
	now := m.now
	switch {
	case m.unsaved != nil:
		band, head = "paid", p.T("waiting.state.paid_unsaved")
		lines = append(lines, p.T("code.paid_unsaved_detail", v))
	case m.cancel:
		band, head = "scanned", p.T("code.cancelling", v)
		lines = append(lines, p.T("code.cancelling_detail", v))
	case m.phase == codeConfirming:
		band, head = "scanned", p.T("code.confirming", v)
		lines = append(lines, p.T("code.confirming_detail", v))
	case m.phase == codeNoAnswer:
		band, head = "scanned", p.T("code.no_answer", v)
		lines = append(lines, p.T("code.no_answer_detail", v))
	}
	if m.order.No != "" && m.unsaved == nil {
		due := checkout.ReverseDue(m.order, m.cancel)
		switch left := due.Sub(now); {
		case left > 0 && m.cancel:
			v["Left"] = p.Countdown(left.Round(time.Second))
			lines = append(lines, p.T("code.cancel_in", v))
		case left > 0:
			v["Left"] = p.Countdown(left.Round(time.Second))
			lines = append(lines, p.T("code.reversed_in", v))
		case m.err != nil:
			lines = append(lines, p.T("code.reversing", v))
		}
	}
	if m.err != nil && m.unsaved == nil {
		lines = append(lines, s.Warn.Render(p.T("code.last_try", catalog.V{"Problem": describe(p, m.err, m.method)})))
	}
	if m.leavable() {
		lines = append(lines, p.T("code.leave_hint", v))
	}
	st := s.Band[band]
	out := st.Width(w).Render("") + "\n" +
		st.Width(w).Render(ansi.Truncate("  "+m.spinner.View()+" "+head, w, "…")) + "\n" +
		st.Width(w).Render(ansi.Truncate("  "+p.Money(m.amount)+"   "+methodName(p, m.method)+" · "+p.T("code.tail", v), w, "…")) + "\n" +
		st.Width(w).Render("") + "\n"
	for _, l := range lines {
		out += "\n" + s.Row.Width(w).Render(l)
	}
	if m.order.No != "" {
		out += "\n\n" + s.Muted.Render(p.T("code.order", v))
	}
	return out
}
