package ui

import (
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"till/catalog"
)

// This file lays the waiting screen out for the window it has. The QR code
// is what must never be lost: it is shown in any window that can hold it,
// with the sale's details beside it when there is width, below it when
// there is height, and folded into a short line when neither. The root's
// header and help give way (full) before the code does.

// frame is the window the root gives a screen: the whole terminal, and
// the rows its header and help line take when it draws them.
type frame struct {
	W, H          int
	headerH, help int
}

// body is the room left between the root's header and help, inside the
// app's side padding.
func (f frame) body() (w, h int) { return f.W - 2, f.H - f.headerH - f.help }

type layoutKind int

const (
	layoutNone     layoutKind = iota // no code yet
	layoutBig                        // full blocks (2 columns a module), details beside
	layoutBeside                     // half blocks, details beside
	layoutBelow                      // half blocks, details below
	layoutCompact                    // the whole window: code, details folded beside it
	layoutMinimal                    // the whole window: code and one line
	layoutTooSmall                   // not even the code fits
)

type qrLayout struct {
	kind   layoutKind
	full   bool // draws the whole window, without the root's header and help
	panelW int  // the details' width, beside the code
	needW  int  // for layoutTooSmall: the window the code needs
	needH  int
}

// qrDraw is a drawn code and the layout it was drawn for.
type qrDraw struct {
	text   string
	styled string // text in the code's style: styled once, not per frame
	layout qrLayout
	err    error
}

// Widths of the details beside the code: what reads well, and the least
// that still holds them (the amount, the countdown, the state).
const (
	panelWide = 30
	panelMin  = 23
	panelTiny = 20
	gap       = 2
)

// drawQR chooses the layout for url in f and draws the code for it;
// sandboxURL says the payer page's address is written under the code.
func drawQR(url string, f frame, sandboxURL bool, payerLine func(string) string) qrDraw {
	if url == "" || f.W == 0 {
		return qrDraw{}
	}
	grid, err := qrGrid(url)
	if err != nil {
		return qrDraw{err: err}
	}
	n := len(grid)
	half := (n + 1) / 2
	bw, bh := f.body()
	url1 := 0 // rows the sandbox payer URL takes below the code, at the body's width
	if bw > 0 && sandboxURL {
		url1 = (ansi.StringWidth(payerLine(url)) + bw - 1) / bw
	}
	var l qrLayout
	switch {
	case 2*n+gap+panelWide <= bw && n+url1 <= bh:
		l = qrLayout{kind: layoutBig, panelW: bw - 2*n - gap}
	case n+gap+panelMin <= bw && half+url1 <= bh:
		l = qrLayout{kind: layoutBeside, panelW: bw - n - gap}
	case n <= bw && half+belowRows+url1 <= bh:
		l = qrLayout{kind: layoutBelow}
	case n+1+panelTiny <= f.W && half <= f.H:
		l = qrLayout{kind: layoutCompact, full: true, panelW: f.W - n - 1}
	case n <= f.W && half+1 <= f.H:
		l = qrLayout{kind: layoutMinimal, full: true}
	default:
		return qrDraw{layout: qrLayout{kind: layoutTooSmall, needW: n, needH: half + 1}}
	}
	if l.kind == layoutBig {
		return qrDraw{text: fullBlocks(grid), layout: l}
	}
	return qrDraw{text: halfBlocks(grid), layout: l}
}

// belowRows is what the details take under the code.
const belowRows = 4

// qrMinimum is the window a code of the usual length needs (a WeChat
// weixin:// or an Alipay qr.alipay.com code, or a sandbox payer page): a
// sale is refused before anything is written when the window is smaller.
func qrMinimum() (w, h int) {
	w, h = qrCells("http://127.0.0.1:65535/pay/" + strings.Repeat("x", 24))
	return w, h + 1
}

func (m waitingModel) layoutView() string {
	s := m.deps.styles
	p := m.deps.p
	l := m.qr.layout
	switch {
	case m.qr.err != nil:
		return s.Error.Render(p.T("waiting.qr_error", catalog.V{"Err": m.qr.err.Error()}))
	case l.kind == layoutTooSmall:
		return s.Error.Width(max(m.frame.W-2, 1)).Render(p.T("waiting.too_small", catalog.V{"W": l.needW, "H": l.needH, "NowW": m.frame.W, "NowH": m.frame.H})) +
			"\n\n" + m.summaryLine(m.frame.W-2)
	}
	code := m.qr.styled
	bw, _ := m.frame.body()
	switch l.kind {
	case layoutBig, layoutBeside:
		body := lipgloss.JoinHorizontal(lipgloss.Top, code, strings.Repeat(" ", gap), m.panel(l.panelW, lipgloss.Height(code), false))
		return body + m.payerURL(bw)
	case layoutBelow:
		return code + "\n" + m.below(bw) + m.payerURL(bw)
	case layoutCompact:
		return lipgloss.JoinHorizontal(lipgloss.Top, code, " ", m.panel(l.panelW, m.frame.H, true))
	}
	// layoutMinimal: the code and one line, two when there is room.
	summary := ansi.Truncate(m.summaryLine(m.frame.W), m.frame.W, "…")
	switch {
	case m.alert == "":
		return code + "\n" + summary
	case lipgloss.Height(code)+2 <= m.frame.H:
		return code + "\n" + m.alert + "\n" + summary
	case m.alertFirst:
		return code + "\n" + m.alert
	}
	return code + "\n" + summary
}

// panelItem is a part of the details beside the code, and how much it
// matters when the rows run out.
type panelItem struct {
	text string
	keep int // higher stays longer
}

// panel is the sale's details beside the code, at most height rows of
// width columns. compact adds what the root's header and help would have
// said (the desk, the key, the urgent line). When the rows run out the
// parts that matter least go first, whole: the amount, the state and the
// countdown stay to the last, and a payer address is shown whole or not
// at all.
func (m waitingModel) panel(width, height int, compact bool) string {
	s := m.deps.styles
	p := m.deps.p
	var items []panelItem
	add := func(keep int, text string) { items = append(items, panelItem{text, keep}) }
	blank := func() { add(1, "") }
	if compact {
		name, mode := m.deps.titleParts()
		add(3, ansi.Truncate(name, width, "…"))
		add(4, ansi.Truncate(mode, width, "…"))
		if m.alert != "" {
			add(10, m.alert)
		}
	}
	add(4, s.Title.Width(width).Render(p.T("waiting.scan_to_pay", catalog.V{"Method": methodName(p, m.order.Method)})))
	blank()
	state, band := m.stateLine()
	add(9, s.Band[band].Width(width).Render(ansi.Truncate(" "+state, width, "…")))
	blank()
	amount := p.Money(m.order.Amount)
	roomy := height >= 16 && !compact
	if roomy && bigWidth(amount) <= width {
		add(9, s.Amount.Render(bigText(amount)))
	} else {
		add(9, s.Amount.Render(amount))
	}
	add(8, s.Label.Render(p.T("waiting.closes_in"))+" "+m.countdown())
	add(5, s.Label.Render(p.T("waiting.order"))+" "+fitNumber(m.order.No, width-ansi.StringWidth(p.T("waiting.order"))-1))
	if m.order.Note != "" {
		add(3, s.Label.Render(p.T("waiting.note"))+" "+truncate(m.order.Note, width-ansi.StringWidth(p.T("waiting.note"))-1))
	}
	blank()
	add(2, ansi.Truncate(m.spinner.View()+" "+m.activity(), width, "…"))
	if m.warning != "" {
		add(6, s.Warn.Width(width).Render(m.warning))
	}
	if compact && m.deps.sandbox {
		blank()
		add(2, s.Muted.Render(wrapHard(m.payerLine(m.order.CodeURL), width)))
	}
	if compact {
		blank()
		add(7, s.Muted.Render(ansi.Truncate(m.keys.Cancel.Help().Key+" "+m.keys.Cancel.Help().Desc, width, "…")))
	}
	return fitItems(items, height)
}

// fitItems joins items in order, first dropping, while they take more than
// height rows, the one that matters least (the lowest, then the last of
// those).
func fitItems(items []panelItem, height int) string {
	rows := func() int {
		n := 0
		for _, it := range items {
			n += lipgloss.Height(it.text)
		}
		return n
	}
	for len(items) > 0 && rows() > height {
		drop := len(items) - 1
		for i := len(items) - 1; i >= 0; i-- {
			if items[i].keep < items[drop].keep {
				drop = i
			}
		}
		items = append(items[:drop:drop], items[drop+1:]...)
	}
	texts := make([]string, len(items))
	for i, it := range items {
		texts[i] = it.text
	}
	return strings.Join(texts, "\n")
}

// below is the details under the code, in belowRows rows.
func (m waitingModel) below(width int) string {
	s := m.deps.styles
	p := m.deps.p
	state, band := m.stateLine()
	lines := []string{
		s.Band[band].Width(width).Render(ansi.Truncate(" "+state+" · "+methodName(p, m.order.Method), width, "…")),
		s.Amount.Render(p.Money(m.order.Amount)) + "  " + s.Label.Render(p.T("waiting.closes_in")) + " " + m.countdown(),
		s.Label.Render(p.T("waiting.order")) + " " + fitNumber(m.order.No, width-ansi.StringWidth(p.T("waiting.order"))-1),
	}
	if m.warning != "" {
		lines = append(lines, s.Warn.Render(ansi.Truncate(m.warning, width, "…")))
	} else {
		lines = append(lines, ansi.Truncate(m.spinner.View()+" "+m.activity(), width, "…"))
	}
	return strings.Join(lines, "\n")
}

// summaryLine is the sale in one line, for the smallest windows.
func (m waitingModel) summaryLine(width int) string {
	s := m.deps.styles
	p := m.deps.p
	state, _ := m.stateLine()
	return ansi.Truncate(s.Amount.Render(p.Money(m.order.Amount))+" · "+m.countdown()+" · "+state+" · "+
		m.keys.Cancel.Help().Key+" "+m.keys.Cancel.Help().Desc, width, "…")
}

// payerURL is the sandbox payer page's address under the code, wrapped,
// never cut: a cut URL answers 404.
func (m waitingModel) payerURL(width int) string {
	if !m.deps.sandbox || width <= 0 {
		return ""
	}
	return "\n" + m.deps.styles.Muted.Render(wrapHard(m.payerLine(m.order.CodeURL), width))
}

// payerLine is the line that gives the sandbox payer page's address.
func (m waitingModel) payerLine(url string) string {
	return m.deps.p.T("waiting.payer_page", catalog.V{"URL": url})
}

// activity is what the spinner line says.
func (m waitingModel) activity() string {
	switch {
	case m.unsaved != nil:
		return m.deps.p.T("waiting.saving")
	case m.phase == phaseClosing:
		return m.deps.p.T("waiting.closing")
	}
	return m.deps.p.T("waiting.waiting_for_customer")
}

func (m waitingModel) countdownStyle() lipgloss.Style {
	s := m.deps.styles
	left := m.order.ExpiresAt.Sub(m.now)
	switch {
	case left <= 10*time.Second:
		return s.CountdownLast
	case left <= 30*time.Second:
		return s.CountdownSoon
	}
	return s.Amount
}

// fitNumber shows an order number whole when it fits, else its end, the
// part that tells one day's orders apart.
func fitNumber(no string, width int) string {
	if len(no) <= width || width < 4 {
		return no
	}
	return "…" + no[len(no)-(width-1):]
}

// wrapHard breaks s into lines of at most width columns, anywhere: for
// URLs, which have no spaces to break at and must not lose a character.
func wrapHard(s string, width int) string {
	if width <= 0 {
		return s
	}
	return ansi.Hardwrap(s, width, true)
}
