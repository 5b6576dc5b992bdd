package ui

import (
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"till/catalog"
	"till/checkout"
)

// The detail of one order, in the history: what it is, what the provider
// last said about it, its refunds, and its audit trail as a timeline,
// every time in the shop's zone. It is a few dozen lines at most, built
// whole for each frame and shown through a window that the arrows scroll.

// historyStateKeys name an order's states in the timeline, one word each
// (the lists' words join created and awaiting as "waiting").
var historyStateKeys = map[checkout.State]string{
	checkout.StateCreated:           "history.state.created",
	checkout.StateAwaiting:          "history.state.awaiting",
	checkout.StatePaid:              "history.state.paid",
	checkout.StatePartiallyRefunded: "history.state.partially_refunded",
	checkout.StateRefunded:          "history.state.refunded",
	checkout.StateClosed:            "history.state.closed",
	checkout.StateFailed:            "history.state.failed",
	checkout.StateDisputed:          "history.state.disputed",
}

// historyRefundKeys name a refund's states.
var historyRefundKeys = map[checkout.RefundState]string{
	checkout.RefundRequested: "history.refund.requested",
	checkout.RefundSucceeded: "history.refund.succeeded",
	checkout.RefundFailed:    "history.refund.failed",
}

// historyViaKeys name the ways a change came in (checkout.Actor.Via).
var historyViaKeys = map[string]string{
	"desk":     "history.via.desk",
	"cli":      "history.via.cli",
	"recovery": "history.via.recovery",
}

func historyStateName(p *catalog.Printer, s string) string {
	if k, ok := historyStateKeys[checkout.State(s)]; ok {
		return p.T(k)
	}
	return s
}

func historyRefundName(p *catalog.Printer, s checkout.RefundState) string {
	if k, ok := historyRefundKeys[s]; ok {
		return p.T(k)
	}
	return string(s)
}

// orderReason words the engine's fixed reasons as the result screen does;
// anything else (a provider's refusal) is kept as recorded.
func orderReason(d deps, r string) string {
	return resultModel{deps: d, order: checkout.Order{Reason: r}}.reason()
}

// event says what an audit entry records, and its detail, in the
// manager's words: "created ¥12.30" and the method, "awaiting → paid",
// "refund requested ¥2.00" and its reason.
func (m historyModel) event(e checkout.AuditEntry) (what, detail string) {
	p := m.deps.p
	v := catalog.V{"Amount": p.Money(e.Amount), "From": historyStateName(p, e.From), "To": historyStateName(p, e.To)}
	detail = e.Detail
	switch e.Kind {
	case checkout.AuditSale:
		return p.T("history.event.sale", v), methodName(p, checkout.Method(e.Detail))
	case checkout.AuditSaleState:
		switch {
		case e.To == string(checkout.StateDisputed):
			detail = p.T("history.event.disputed_detail", catalog.V{"Amount": p.Money(m.detail.h.Order.ProviderAmount)})
		case e.Detail == "paid after it was closed":
			detail = p.T("history.event.late_detail")
		default:
			detail = orderReason(m.deps, e.Detail)
		}
		return p.T("history.event.state", v), detail
	case checkout.AuditLateSeen:
		return p.T("history.event.late_seen"), detail
	case checkout.AuditRefund:
		if e.To == string(checkout.RefundSucceeded) {
			return p.T("history.event.refund_recorded", v), detail
		}
		return p.T("history.event.refund_requested", v), detail
	case checkout.AuditRefundState:
		v["From"], v["To"] = historyRefundName(p, checkout.RefundState(e.From)), historyRefundName(p, checkout.RefundState(e.To))
		switch checkout.RefundState(e.To) {
		case checkout.RefundSucceeded:
			return p.T("history.event.refund_succeeded", v), detail
		case checkout.RefundFailed:
			return p.T("history.event.refund_failed", v), detail
		}
		return p.T("history.event.refund_state", v), detail
	case checkout.AuditRefundRefused:
		return p.T("history.event.refund_refused", v), detail
	}
	return string(e.Kind), detail
}

// when is t in the shop's zone: the time of day, with the date in front
// when it is not the day the order was created.
func (m historyModel) when(t time.Time) string {
	p := m.deps.p
	t = t.In(m.deps.loc)
	if d, _ := checkout.DayBounds(t, m.deps.loc); !d.Equal(m.detailDay()) {
		return p.Date(t) + " " + p.ClockSeconds(t)
	}
	return p.ClockSeconds(t)
}

func (m historyModel) detailDay() time.Time {
	d, _ := checkout.DayBounds(m.detail.h.Order.CreatedAt, m.deps.loc)
	return d
}

// hang is prefix then text wrapped to what is left of w columns, the
// lines after the first indented under it.
func hang(prefix, text string, w int) []string {
	pw := ansi.StringWidth(prefix)
	if pw >= w-4 {
		return []string{ansi.Truncate(prefix+text, w, "…")}
	}
	lines := strings.Split(ansi.Wrap(text, w-pw, " "), "\n")
	for i, l := range lines {
		l = strings.TrimRight(l, " ")
		if i == 0 {
			lines[i] = prefix + l
		} else {
			lines[i] = strings.Repeat(" ", pw) + l
		}
	}
	return lines
}

// joinSome joins the parts that are not empty.
func joinSome(sep string, parts ...string) string {
	var out []string
	for _, s := range parts {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, sep)
}

// detailLines is the whole detail, line by line, each within the width.
func (m historyModel) detailLines() []string {
	s := m.deps.styles
	p := m.deps.p
	d := m.detail
	o := d.h.Order
	w := max(m.width, 10)
	cut := func(text string) string { return ansi.Truncate(text, w, "…") }

	lines := []string{s.Title.Render(cut(p.T("history.detail.title", catalog.V{"No": o.No})))}
	st := s.State[string(o.State)]
	lines = append(lines, cut(methodName(p, o.Method)+" · "+s.Amount.Render(p.Money(o.Amount))+" · "+st.Render(historyState(p, o))), "")

	type field struct{ label, value string }
	var fields []field
	add := func(labelID, value string) {
		if value != "" {
			fields = append(fields, field{p.T(labelID), value})
		}
	}
	created := o.CreatedAt.In(m.deps.loc)
	add("history.detail.created", p.Date(created)+" "+p.ClockSeconds(created))
	if !o.PaidAt.IsZero() {
		add("history.detail.paid", m.when(o.PaidAt))
	}
	counter := o.Terminal
	if o.Operator != "" {
		counter = p.T("history.detail.counter_value", catalog.V{"Terminal": o.Terminal, "Operator": o.Operator})
	}
	add("history.detail.counter", counter)
	if o.Way == checkout.WayCode {
		add("history.detail.way", p.T("history.detail.way_code", catalog.V{"Tail": o.CodeTail}))
	}
	add("history.detail.note", o.Note)
	provider := ""
	if o.ProviderTradeNo != "" {
		provider = p.T("history.detail.trade_no", catalog.V{"No": o.ProviderTradeNo})
	}
	if o.ProviderSaid != "" {
		said := p.T("history.detail.said", catalog.V{"Said": o.ProviderSaid, "At": m.when(o.ProviderSaidAt)})
		provider = joinSome(" · ", provider, said)
	}
	if provider == "" {
		provider = p.T("history.detail.nothing_heard")
	}
	add("history.detail.provider", provider)
	if d.loaded && d.err == nil && (checkout.Refundable(o) > 0 || o.Refunded > 0) {
		add("history.detail.refunded", p.T("history.detail.refunded_value", catalog.V{
			"Refunded": p.Money(o.Refunded), "Left": p.Money(checkout.RefundLeft(o, d.h.Refunds))}))
	}
	if o.Reason != "" && o.State != checkout.StateDisputed {
		add("history.detail.reason", orderReason(m.deps, o.Reason))
	}
	if o.Late {
		add("history.detail.late", p.T("history.detail.late_value"))
	}
	labelW := 0
	for _, f := range fields {
		labelW = max(labelW, ansi.StringWidth(f.label))
	}
	for _, f := range fields {
		lines = append(lines, hang(s.Label.Render(pad(f.label, labelW+2)), f.value, w)...)
	}

	switch {
	case !d.loaded:
		return append(lines, "", s.Muted.Render(cut(p.T("history.detail.loading"))))
	case d.err != nil:
		return append(append(lines, ""), wrapped(s.Error, p.T("history.detail.failed", catalog.V{"Err": describe(p, d.err, "")}), w, 6)...)
	}

	lines = append(lines, "")
	if len(d.h.Refunds) == 0 {
		lines = append(lines, s.Muted.Render(cut(p.T("history.detail.no_refunds"))))
	} else {
		lines = append(lines, s.Title.Render(cut(p.N("history.detail.refunds", len(d.h.Refunds)))))
	}
	for _, r := range d.h.Refunds {
		rs := s.Muted
		switch r.State {
		case checkout.RefundSucceeded:
			rs = s.State["refunded"]
		case checkout.RefundFailed:
			rs = s.State["failed"]
		}
		prefix := "  " + m.when(r.CreatedAt) + "  "
		lines = append(lines, hang(prefix, s.Amount.Render(p.Money(r.Amount))+"  "+rs.Render(historyRefundName(p, r.State))+"  "+r.No, w)...)
		var by, prov, done, failed string
		if r.Operator != "" || r.Terminal != "" {
			by = p.T("history.detail.refund_by", catalog.V{"Operator": r.Operator, "Terminal": r.Terminal})
		}
		if r.ProviderRefundNo != "" {
			prov = p.T("history.detail.provider_refund_no", catalog.V{"No": r.ProviderRefundNo})
		}
		if !r.SucceededAt.IsZero() {
			done = p.T("history.detail.succeeded_at", catalog.V{"At": m.when(r.SucceededAt)})
		}
		if r.FailReason != "" {
			failed = p.T("history.detail.fail_reason", catalog.V{"Reason": r.FailReason})
		}
		if more := joinSome(" · ", r.Reason, by, prov, done, failed); more != "" {
			lines = append(lines, hang(strings.Repeat(" ", ansi.StringWidth(prefix)), s.Muted.Render(more), w)...)
		}
	}

	lines = append(lines, "")
	if len(d.h.Entries) == 0 {
		return append(lines, s.Muted.Render(cut(p.T("history.detail.no_entries"))))
	}
	lines = append(lines, s.Title.Render(cut(p.T("history.detail.timeline"))))
	for _, e := range d.h.Entries {
		what, detail := m.event(e)
		via := e.Via
		if k, ok := historyViaKeys[via]; ok {
			via = p.T(k)
		}
		who := joinSome(" · ", e.Terminal, e.Operator, via)
		text := joinSome(" · ", what, detail)
		if who != "" {
			text += "  " + s.Muted.Render(who)
		}
		lines = append(lines, hang("  "+m.when(e.At)+"  ", text, w)...)
	}
	return lines
}

// detailRoom is how many lines of the detail the window shows, and
// whether the position line takes one more.
func (m historyModel) detailRoom(n int) (rows int, position bool) {
	h := max(m.height, 1)
	if n <= h {
		return h, false
	}
	return max(h-1, 1), true
}

func (m historyModel) detailView() string {
	lines := m.detailLines()
	rows, position := m.detailRoom(len(lines))
	top := min(max(m.detail.top, 0), max(len(lines)-rows, 0))
	end := min(top+rows, len(lines))
	out := lines[top:end]
	if position {
		p := m.deps.p
		out = append(out[:len(out):len(out)], m.deps.styles.Muted.Render(ansi.Truncate(
			p.T("history.detail.position", catalog.V{"From": top + 1, "To": end, "Of": len(lines)}), m.width, "…")))
	}
	return strings.Join(out, "\n")
}

func (m historyModel) updateDetail(msg tea.KeyMsg) (historyModel, tea.Cmd) {
	k := m.keys
	switch {
	case key.Matches(msg, k.Back):
		// Back to the list, the cursor where it was.
		m.inDetail, m.detail = false, historyDetail{}
		return m, nil
	case key.Matches(msg, k.Refund):
		if m.canRefund() {
			h := m.detail.h
			m.refund = &h
		}
		return m, nil
	}
	n := len(m.detailLines())
	rows, _ := m.detailRoom(n)
	last := max(n-rows, 0)
	top := min(max(m.detail.top, 0), last)
	switch {
	case key.Matches(msg, k.Up):
		top--
	case key.Matches(msg, k.Down):
		top++
	case key.Matches(msg, k.PageUp):
		top -= rows
	case key.Matches(msg, k.PageDown):
		top += rows
	case key.Matches(msg, k.Home):
		top = 0
	case key.Matches(msg, k.End):
		top = last
	}
	m.detail.top = min(max(top, 0), last)
	return m, nil
}
