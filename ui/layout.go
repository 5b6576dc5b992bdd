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
	// code is styled split into lines and measured, once: what a frame
	// joins beside the details without measuring it again.
	code block
	// payer is the sandbox payer page's address, wrapped to the body's
	// width, for the layouts that write it under the code.
	payer block
	// parts and below are the details' parts for this order and layout
	// (beside the code, or under it), drawn once.
	parts  panelParts
	below  belowParts
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

func (m waitingModel) layoutView() string { return m.layoutBlock().String() }

// layoutBlock is the screen laid out, as a block: the code's lines come
// measured from m.qr, so only the details are measured per frame.
func (m waitingModel) layoutBlock() block {
	s := m.deps.styles
	p := m.deps.p
	l := m.qr.layout
	switch {
	case m.qr.err != nil:
		return measure(s.Error.Render(p.T("waiting.qr_error", catalog.V{"Err": m.qr.err.Error()})))
	case l.kind == layoutTooSmall:
		return measure(s.Error.Width(max(m.frame.W-2, 1)).Render(p.T("waiting.too_small", catalog.V{"W": l.needW, "H": l.needH, "NowW": m.frame.W, "NowH": m.frame.H})) +
			"\n\n" + m.summaryLine(m.frame.W-2))
	}
	code := m.qr.code
	bw, _ := m.frame.body()
	switch l.kind {
	case layoutBig, layoutBeside:
		body := joinTop(code, spaces(gap), m.panel(l.panelW, code.height(), false))
		return m.withPayerURL(body, bw)
	case layoutBelow:
		return m.withPayerURL(code.below(m.below(bw)), bw)
	case layoutCompact:
		return joinTop(code, spaces(1), m.panel(l.panelW, m.frame.H, true))
	}
	// layoutMinimal: the code and one line, two when there is room.
	summary := ansi.Truncate(m.summaryLine(m.frame.W), m.frame.W, "…")
	switch {
	case m.alert == "":
		return code.below(measure(summary))
	case code.height()+2 <= m.frame.H:
		return code.below(measure(m.alert + "\n" + summary))
	case m.alertFirst:
		return code.below(measure(m.alert))
	}
	return code.below(measure(summary))
}

// panelItem is a part of the details beside the code, and how much it
// matters when the rows run out.
type panelItem struct {
	b    block
	keep int // higher stays longer
}

// states are the bands the waiting state can show (stateLine).
var states = [...]string{"paid", "closed", "scanned", "waiting"}

// activities are what the spinner line can say (activity).
var activities = [...]string{"saving", "closing", "waiting"}

// panelParts are the details' parts that stay while the order and the
// window do, drawn and measured once (redraw) rather than per frame:
// all but the countdown, the spinner, the warning and the alert.
type panelParts struct {
	width, height int
	compact       bool
	op            string // the operator the title was drawn for (compact)
	name, mode    block  // compact: the title's two halves
	title         block  // scan to pay
	band          map[string]block
	amount        block
	closesIn      string // the countdown's label and a space
	order, note   block  // note: zero when the order has none
	activity      map[string]string
	payer         block // compact, sandbox: the payer page's address
	keys          block // compact: the cancel key
}

// panelParts draws the panel's fixed parts for width and height.
func (m waitingModel) panelParts(width, height int, compact bool) panelParts {
	s := m.deps.styles
	p := m.deps.p
	pp := panelParts{width: width, height: height, compact: compact, band: map[string]block{}, activity: map[string]string{}}
	if compact {
		pp.op = m.deps.engine.Operator()
		name, mode := m.deps.titleParts()
		pp.name = measure(ansi.Truncate(name, width, "…"))
		pp.mode = measure(ansi.Truncate(mode, width, "…"))
	}
	pp.title = measure(s.Title.Width(width).Render(p.T("waiting.scan_to_pay", catalog.V{"Method": methodName(p, m.order.Method)})))
	for _, band := range states {
		pp.band[band] = measure(s.Band[band].Width(width).Render(ansi.Truncate(" "+m.stateText(band), width, "…")))
	}
	amount := p.Money(m.order.Amount)
	roomy := height >= 16 && !compact
	if roomy && bigWidth(amount) <= width {
		pp.amount = measure(s.Amount.Render(bigText(amount)))
	} else {
		pp.amount = measure(s.Amount.Render(amount))
	}
	pp.closesIn = s.Label.Render(p.T("waiting.closes_in")) + " "
	pp.order = measure(s.Label.Render(p.T("waiting.order")) + " " + fitNumber(m.order.No, width-ansi.StringWidth(p.T("waiting.order"))-1))
	if m.order.Note != "" {
		pp.note = measure(s.Label.Render(p.T("waiting.note")) + " " + truncate(m.order.Note, width-ansi.StringWidth(p.T("waiting.note"))-1))
	}
	for _, a := range activities {
		pp.activity[a] = m.activityText(a)
	}
	if compact && m.deps.sandbox {
		pp.payer = measure(s.Muted.Render(wrapHard(m.payerLine(m.order.CodeURL), width)))
	}
	if compact {
		pp.keys = measure(s.Muted.Render(ansi.Truncate(m.keys.Cancel.Help().Key+" "+m.keys.Cancel.Help().Desc, width, "…")))
	}
	return pp
}

// parts is the panel's fixed parts for width and height: the ones redraw
// kept, else drawn now.
func (m waitingModel) parts(width, height int, compact bool) panelParts {
	pp := m.qr.parts
	if pp.band == nil || pp.width != width || pp.height != height || pp.compact != compact ||
		compact && pp.op != m.deps.engine.Operator() {
		pp = m.panelParts(width, height, compact)
	}
	return pp
}

// panel is the sale's details beside the code, at most height rows of
// width columns. compact adds what the root's header and help would have
// said (the desk, the key, the urgent line). When the rows run out the
// parts that matter least go first, whole: the amount, the state and the
// countdown stay to the last, and a payer address is shown whole or not
// at all.
func (m waitingModel) panel(width, height int, compact bool) block {
	s := m.deps.styles
	pp := m.parts(width, height, compact)
	items := make([]panelItem, 0, 18)
	add := func(keep int, b block) { items = append(items, panelItem{b, keep}) }
	blank := func() { add(1, block{lines: []string{""}, widths: []int{0}}) }
	if compact {
		add(3, pp.name)
		add(4, pp.mode)
		if m.alert != "" {
			add(10, measure(m.alert))
		}
	}
	add(4, pp.title)
	blank()
	add(9, pp.band[m.stateBand()])
	blank()
	add(9, pp.amount)
	add(8, measure(pp.closesIn+m.countdown()))
	add(5, pp.order)
	if m.order.Note != "" {
		add(3, pp.note)
	}
	blank()
	add(2, measure(ansi.Truncate(m.spinner.View()+" "+pp.activity[m.activityKey()], width, "…")))
	if m.warning != "" {
		add(6, measure(s.Warn.Width(width).Render(m.warning)))
	}
	if compact && m.deps.sandbox {
		blank()
		add(2, pp.payer)
	}
	if compact {
		blank()
		add(7, pp.keys)
	}
	return fitItems(items, height)
}

// fitItems joins items in order, first dropping, while they take more than
// height rows, the one that matters least (the lowest, then the last of
// those).
func fitItems(items []panelItem, height int) block {
	rows := func() int {
		n := 0
		for _, it := range items {
			n += it.b.height()
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
	if len(items) == 0 {
		return block{lines: []string{""}, widths: []int{0}}
	}
	n := rows()
	out := block{lines: make([]string, 0, n), widths: make([]int, 0, n)}
	for _, it := range items {
		out.lines = append(out.lines, it.b.lines...)
		out.widths = append(out.widths, it.b.widths...)
	}
	return out
}

// belowParts are the fixed parts of the details under the code.
type belowParts struct {
	width    int
	band     map[string]block // the state and the method
	amount   string           // the amount, the countdown's label and a space
	order    block
	activity map[string]string
}

func (m waitingModel) belowParts(width int) belowParts {
	s := m.deps.styles
	p := m.deps.p
	bp := belowParts{width: width, band: map[string]block{}, activity: map[string]string{}}
	for _, band := range states {
		bp.band[band] = measure(s.Band[band].Width(width).Render(ansi.Truncate(" "+m.stateText(band)+" · "+methodName(p, m.order.Method), width, "…")))
	}
	bp.amount = s.Amount.Render(p.Money(m.order.Amount)) + "  " + s.Label.Render(p.T("waiting.closes_in")) + " "
	bp.order = measure(s.Label.Render(p.T("waiting.order")) + " " + fitNumber(m.order.No, width-ansi.StringWidth(p.T("waiting.order"))-1))
	for _, a := range activities {
		bp.activity[a] = m.activityText(a)
	}
	return bp
}

// below is the details under the code, in belowRows rows.
func (m waitingModel) below(width int) block {
	s := m.deps.styles
	bp := m.qr.below
	if bp.band == nil || bp.width != width {
		bp = m.belowParts(width)
	}
	out := bp.band[m.stateBand()].below(measure(bp.amount + m.countdown())).below(bp.order)
	if m.warning != "" {
		return out.below(measure(s.Warn.Render(ansi.Truncate(m.warning, width, "…"))))
	}
	return out.below(measure(ansi.Truncate(m.spinner.View()+" "+bp.activity[m.activityKey()], width, "…")))
}

// summaryLine is the sale in one line, for the smallest windows.
func (m waitingModel) summaryLine(width int) string {
	s := m.deps.styles
	p := m.deps.p
	state, _ := m.stateLine()
	return ansi.Truncate(s.Amount.Render(p.Money(m.order.Amount))+" · "+m.countdown()+" · "+state+" · "+
		m.keys.Cancel.Help().Key+" "+m.keys.Cancel.Help().Desc, width, "…")
}

// withPayerURL is body with the sandbox payer page's address under it,
// wrapped, never cut: a cut URL answers 404.
func (m waitingModel) withPayerURL(body block, width int) block {
	if !m.deps.sandbox || width <= 0 {
		return body
	}
	return body.below(m.qr.payer)
}

// payerURL is the sandbox payer page's address, wrapped to width.
func (m waitingModel) payerURL(width int) string {
	return m.deps.styles.Muted.Render(wrapHard(m.payerLine(m.order.CodeURL), width))
}

// payerLine is the line that gives the sandbox payer page's address.
func (m waitingModel) payerLine(url string) string {
	return m.deps.p.T("waiting.payer_page", catalog.V{"URL": url})
}

// activityKey names what the spinner line says: "saving", "closing" or
// "waiting".
func (m waitingModel) activityKey() string {
	switch {
	case m.unsaved != nil:
		return "saving"
	case m.phase == phaseClosing:
		return "closing"
	}
	return "waiting"
}

func (m waitingModel) activityText(key string) string {
	switch key {
	case "saving":
		return m.deps.p.T("waiting.saving")
	case "closing":
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
