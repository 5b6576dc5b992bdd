package ui

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"till/catalog"
	"till/checkout"
)

// historyModel is the order history: one shop day's orders at a time,
// listed by the day they were created with their paid time shown, a
// search over the day (or, by its whole number, over the ledger), and one
// order's detail with its refunds and its audit trail. It replaces the
// today list (h on the sale screen).
//
// The list runs newest first, the cursor on the newest: a manager comes
// here most often for the sale just made (a refund for the customer still
// at the counter, a clerk asking "did it go through?"), and the sale
// screen's own list reads the same way, so the two agree; End reaches the
// morning's first sale in one key.
//
// A busy day is thousands of orders: View draws only the rows in the
// window, and the work that depends on the whole day (the columns' widths,
// the search's matches) is done once per load or per keystroke, never per
// frame.
//
// The screen talks to the root through two intents, taken (and cleared)
// by the root in the same Update, as entryModel.charging is: leave (Esc on
// the list with no search open) and refund (r on the detail of an order
// with money left to refund).
type historyModel struct {
	deps deps
	keys historyKeys

	day time.Time // the shop day shown: its first instant, in deps.loc
	// isToday marks the day on show as the current one, as the clock said
	// when it was chosen (View reads no clock).
	isToday bool
	orders  []checkout.Order
	err     error
	loaded  bool
	cols    historyColumns // the widths of the day's columns, set at each load

	shown  []int // the orders that match the search, as indexes into orders
	cursor int   // the selected row, an index into shown
	top    int   // the first row in the window

	searching bool
	search    textinput.Model
	// scan drops the rest of a customer's code scanned into the search.
	scan    scanGuard
	looking string // the whole order number being looked up in the ledger
	notice  string // what the lookup found (or could not), under the search

	inDetail bool
	detail   historyDetail

	// leave asks the root to go back to the sale screen.
	leave bool
	// refund asks the root for the manager's PIN and then the refund
	// screen, for this order (its refunds and trail as just read).
	refund *checkout.OrderHistory

	width, height int
}

// historyDetail is the order on show in the detail view.
type historyDetail struct {
	no     string
	h      checkout.OrderHistory // h.Order is known from the list before the rest is read
	loaded bool                  // h.Refunds and h.Entries have been read
	err    error
	top    int // the first line in the window
}

// historyColumns are the widths of the list's columns, in display
// columns, measured over the whole day at load so that they do not move
// as the list scrolls, and the words its rows repeat, looked up once a
// load rather than once a row and frame.
type historyColumns struct {
	method, amount, state, refunded, no, operator int

	paid int            // how many of the day's orders were paid
	net  checkout.Money // what they brought in, less refunds

	names   [9]string // created, method, amount, state, paid, refunded, no, operator, note
	methods map[checkout.Method]string
	states  map[stateKind]string
}

// stateKind is what an order's state word depends on.
type stateKind struct {
	st   checkout.State
	late bool
	prov checkout.Money
}

func kindOf(o checkout.Order) stateKind { return stateKind{o.State, o.Late, o.ProviderAmount} }

func (c historyColumns) stateWord(p *catalog.Printer, o checkout.Order) string {
	if w, ok := c.states[kindOf(o)]; ok {
		return w
	}
	return historyState(p, o)
}

func (c historyColumns) methodWord(p *catalog.Printer, m checkout.Method) string {
	if w, ok := c.methods[m]; ok {
		return w
	}
	return historyMethod(p, m)
}

// historyLoadedMsg carries the orders created on day (its first instant
// in the shop's zone), newest first. Sent by historyDayCmd; handled by
// historyModel, which drops the answer for a day no longer on show. The
// root routes it to the history screen whatever screen is active (the
// reload after a refund answers while the refund screen is up).
type historyLoadedMsg struct {
	day    time.Time
	orders []checkout.Order
	err    error
}

// historyDetailMsg carries order no with its refunds and audit trail.
// Sent by historyDetailCmd; handled by historyModel when that order's
// detail is still open. Routed like historyLoadedMsg.
type historyDetailMsg struct {
	no  string
	h   checkout.OrderHistory
	err error
}

// historyFoundMsg answers the search for a whole order number that the
// day on show does not hold. Sent by historyLookupCmd; handled by
// historyModel, which opens the order's detail (and its day) or says what
// went wrong. Routed like historyLoadedMsg.
type historyFoundMsg struct {
	no    string
	order checkout.Order
	err   error
}

func historyDayCmd(ctx context.Context, e *checkout.Engine, day time.Time) tea.Cmd {
	return func() tea.Msg {
		c, cancel := withDeadline(ctx)
		defer cancel()
		orders, err := e.OrdersOn(c, day)
		return historyLoadedMsg{day: day, orders: orders, err: err}
	}
}

func historyDetailCmd(ctx context.Context, e *checkout.Engine, no string) tea.Cmd {
	return func() tea.Msg {
		c, cancel := withDeadline(ctx)
		defer cancel()
		h, err := e.History(c, no)
		return historyDetailMsg{no: no, h: h, err: err}
	}
}

// historyLookupCmd reads order no as typed and, when there is none, in
// capitals (till's numbers are capitals and digits but for the terminal's
// own letters, which may be small).
func historyLookupCmd(ctx context.Context, e *checkout.Engine, no string) tea.Cmd {
	return func() tea.Msg {
		c, cancel := withDeadline(ctx)
		defer cancel()
		o, err := e.Order(c, no)
		if up := strings.ToUpper(no); errors.Is(err, checkout.ErrNotFound) && up != no {
			o, err = e.Order(c, up)
		}
		return historyFoundMsg{no: no, order: o, err: err}
	}
}

// historyKeys are the history's keys. Some bindings carry the help of a
// pair (Up shows "↑/↓", PageUp "pgup/pgdn", Prev "←/→"), so the help line
// names each pair once.
type historyKeys struct {
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Home     key.Binding
	End      key.Binding
	Prev     key.Binding // the day before
	Next     key.Binding // the day after (never after today)
	Today    key.Binding
	Search   key.Binding
	Open     key.Binding
	Back     key.Binding
	Refund   key.Binding // on the detail of a refundable order

	// While the search is open letters are typed: only the arrows and the
	// page keys move the cursor, and Esc clears, then closes.
	ArrowUp     key.Binding
	ArrowDown   key.Binding
	ClearSearch key.Binding
	CloseSearch key.Binding

	Scroll key.Binding // help only: the arrows scroll the detail
}

func defaultHistoryKeys(p *catalog.Printer) historyKeys {
	return historyKeys{
		Up:          key.NewBinding(key.WithKeys("up"), key.WithHelp("↑/↓", p.T("history.key.move"))),
		Down:        key.NewBinding(key.WithKeys("down"), key.WithHelp("↓", p.T("history.key.move"))),
		PageUp:      key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup/pgdn", p.T("history.key.page"))),
		PageDown:    key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", p.T("history.key.page"))),
		Home:        key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/G", p.T("history.key.ends"))),
		End:         key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", p.T("history.key.ends"))),
		Prev:        key.NewBinding(key.WithKeys("left", "["), key.WithHelp("←/→", p.T("history.key.day"))),
		Next:        key.NewBinding(key.WithKeys("right", "]"), key.WithHelp("→", p.T("history.key.day"))),
		Today:       key.NewBinding(key.WithKeys("t"), key.WithHelp("t", p.T("history.key.today"))),
		Search:      key.NewBinding(key.WithKeys("/"), key.WithHelp("/", p.T("history.key.search"))),
		Open:        key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", p.T("history.key.open"))),
		Back:        key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", p.T("history.key.back"))),
		Refund:      key.NewBinding(key.WithKeys("r"), key.WithHelp("r", p.T("history.key.refund"))),
		ArrowUp:     key.NewBinding(key.WithKeys("up"), key.WithHelp("↑/↓", p.T("history.key.move"))),
		ArrowDown:   key.NewBinding(key.WithKeys("down"), key.WithHelp("↓", p.T("history.key.move"))),
		ClearSearch: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", p.T("history.key.clear"))),
		CloseSearch: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", p.T("history.key.close"))),
		Scroll:      key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", p.T("history.key.scroll"))),
	}
}

// maxQueryRunes bounds what the search takes: a whole order number is 32
// characters at most.
const maxQueryRunes = 40

func newHistory(d deps) historyModel {
	ti := textinput.New()
	ti.Prompt = ""
	ti.CharLimit = maxQueryRunes
	// A steady cursor: a blinking one would need its timer routed here.
	ti.Cursor.SetMode(cursor.CursorStatic)
	return historyModel{deps: d, keys: defaultHistoryKeys(d.p), search: ti}
}

// open shows the history of the day that holds now, cursor on its newest
// order, the search closed and empty, and loads it.
func (m historyModel) open(now time.Time) (historyModel, tea.Cmd) {
	m.search.SetValue("")
	m.search.Blur()
	m.searching, m.looking, m.notice = false, "", ""
	m.inDetail, m.detail = false, historyDetail{}
	m.leave, m.refund = false, nil
	m.cursor, m.top = 0, 0
	day, _ := checkout.DayBounds(now, m.deps.loc)
	return m.showDay(day, day)
}

// reload reads the day on show again and, when a detail is open, that
// order: the root calls it after a refund. What is on screen stays until
// the answers replace it, and the cursor stays on its order.
func (m historyModel) reload() tea.Cmd {
	if m.day.IsZero() {
		return nil
	}
	cmds := []tea.Cmd{historyDayCmd(m.deps.ctx, m.deps.engine, m.day)}
	if m.inDetail {
		cmds = append(cmds, historyDetailCmd(m.deps.ctx, m.deps.engine, m.detail.no))
	}
	return tea.Batch(cmds...)
}

// showDay shows day (its first instant) as loading and loads it; today
// is the current day's.
func (m historyModel) showDay(day, today time.Time) (historyModel, tea.Cmd) {
	m.day, m.isToday = day, day.Equal(today)
	m.orders, m.err, m.loaded, m.shown = nil, nil, false, nil
	m.cursor, m.top = 0, 0
	return m, historyDayCmd(m.deps.ctx, m.deps.engine, day)
}

// today is the first instant of the shop's current day, by the clock:
// for Update, never View.
func (m historyModel) today() time.Time {
	day, _ := checkout.DayBounds(m.deps.now(), m.deps.loc)
	return day
}

// typing reports whether keys are typed into the search, so that the
// root leaves letters (and its own one-letter keys) to it.
func (m historyModel) typing() bool { return m.searching && !m.inDetail }

func (m historyModel) shortHelp() []key.Binding {
	k := m.keys
	switch {
	case m.inDetail:
		bs := []key.Binding{k.Scroll}
		if m.canRefund() {
			bs = append(bs, k.Refund)
		}
		return append(bs, k.Back)
	case m.searching:
		esc := k.CloseSearch
		if m.search.Value() != "" {
			esc = k.ClearSearch
		}
		return []key.Binding{k.ArrowUp, k.Open, esc, k.PageUp}
	}
	return []key.Binding{k.Up, k.Open, k.Search, k.Prev, k.Back, k.Today, k.PageUp, k.Home}
}

// canRefund reports whether the detail on show is of an order with money
// left to refund, its refunds read.
func (m historyModel) canRefund() bool {
	d := m.detail
	return m.inDetail && d.loaded && d.err == nil && checkout.RefundLeft(d.h.Order, d.h.Refunds) > 0
}

func (m historyModel) Update(msg tea.Msg) (historyModel, tea.Cmd) {
	switch msg := msg.(type) {
	case historyLoadedMsg:
		if !msg.day.Equal(m.day) {
			return m, nil // a late answer for a day no longer on show
		}
		keep := m.selectedNo()
		if m.inDetail {
			keep = m.detail.no
		}
		m.orders, m.err, m.loaded = msg.orders, msg.err, true
		m.cols = m.measure()
		m = m.refilter(keep)
		return m, nil
	case historyDetailMsg:
		if !m.inDetail || msg.no != m.detail.no {
			return m, nil
		}
		m.detail.loaded, m.detail.err = true, msg.err
		if msg.err == nil {
			m.detail.h = msg.h
		}
		return m, nil
	case historyFoundMsg:
		if msg.no != m.looking {
			return m, nil
		}
		m.looking = ""
		p := m.deps.p
		switch {
		case errors.Is(msg.err, checkout.ErrNotFound):
			m.notice = p.T("history.not_found", catalog.V{"No": msg.no})
			return m, nil
		case msg.err != nil:
			m.notice = p.T("history.lookup_failed", catalog.V{"No": msg.no, "Err": describe(p, msg.err, "")})
			return m, nil
		}
		// Show the order's own day behind its detail: Esc comes back to
		// the list with the search on its number, and it is found there.
		m.notice = ""
		day, _ := checkout.DayBounds(msg.order.CreatedAt, m.deps.loc)
		m, load := m.showDay(day, m.today())
		m, detail := m.openDetail(msg.order)
		return m, tea.Batch(load, detail)
	case tea.KeyMsg:
		switch {
		case m.inDetail:
			return m.updateDetail(msg)
		case m.searching:
			return m.updateSearch(msg)
		}
		return m.updateList(msg)
	}
	return m, nil
}

func (m historyModel) updateList(msg tea.KeyMsg) (historyModel, tea.Cmd) {
	k := m.keys
	switch {
	case key.Matches(msg, k.Back):
		m.leave = true
	case key.Matches(msg, k.Open):
		if o, ok := m.selected(); ok {
			return m.openDetail(o)
		}
	case key.Matches(msg, k.Search):
		m.searching = true
		return m, m.search.Focus()
	case key.Matches(msg, k.Prev):
		return m.showDay(m.day.AddDate(0, 0, -1), m.today())
	case key.Matches(msg, k.Next):
		// Never after today; but a desk left open past midnight reaches
		// the new day.
		if next, today := m.day.AddDate(0, 0, 1), m.today(); !next.After(today) {
			return m.showDay(next, today)
		}
	case key.Matches(msg, k.Today):
		if today := m.today(); !today.Equal(m.day) {
			return m.showDay(today, today)
		}
	default:
		m = m.move(msg)
	}
	return m, nil
}

// move takes the keys that move the cursor, on the list and in the
// search.
func (m historyModel) move(msg tea.KeyMsg) historyModel {
	k := m.keys
	rows := m.rows()
	switch {
	case key.Matches(msg, k.Up), key.Matches(msg, k.ArrowUp):
		m.cursor--
	case key.Matches(msg, k.Down), key.Matches(msg, k.ArrowDown):
		m.cursor++
	case key.Matches(msg, k.PageUp):
		m.cursor -= rows
		m.top -= rows
	case key.Matches(msg, k.PageDown):
		m.cursor += rows
		m.top += rows
	case key.Matches(msg, k.Home):
		m.cursor = 0
	case key.Matches(msg, k.End):
		m.cursor = len(m.shown) - 1
	default:
		return m
	}
	m.cursor = min(max(m.cursor, 0), max(len(m.shown)-1, 0))
	m.top = window(m.top, m.cursor, rows, len(m.shown))
	return m
}

// window is the first row to show so that cursor is in the rows from it,
// moving top as little as it must, and the window stays full.
func window(top, cursor, rows, n int) int {
	rows = max(rows, 1)
	top = min(top, cursor)
	top = max(top, cursor-rows+1)
	return max(min(top, n-rows), 0)
}

func (m historyModel) updateSearch(msg tea.KeyMsg) (historyModel, tea.Cmd) {
	k := m.keys
	now := m.deps.now()
	fast := m.scan.fast(now)
	if m.scan.drop(msg, now) {
		return m, nil
	}
	switch {
	case key.Matches(msg, k.ClearSearch):
		// The first Esc empties the search (the whole day is back), the
		// next closes it: two presses never leave the screen by surprise.
		if m.search.Value() != "" {
			keep := m.selectedNo()
			m.search.SetValue("")
			m.looking, m.notice = "", ""
			return m.refilter(keep), nil
		}
		m.searching = false
		m.search.Blur()
		return m, nil
	case key.Matches(msg, k.Open):
		q := strings.TrimSpace(m.search.Value())
		if looksLikeOrderNo(q) && !m.holds(q) {
			m.looking = q
			m.notice = m.deps.p.T("history.looking_up", catalog.V{"No": m.looking})
			return m, historyLookupCmd(m.deps.ctx, m.deps.engine, m.looking)
		}
		if o, ok := m.selected(); ok {
			return m.openDetail(o)
		}
		return m, nil
	case key.Matches(msg, k.ArrowUp), key.Matches(msg, k.ArrowDown), key.Matches(msg, k.PageUp), key.Matches(msg, k.PageDown):
		return m.move(msg), nil
	}
	before := m.search.Value()
	var cmd tea.Cmd
	m.search, cmd = m.search.Update(msg)
	if m.scan.scrub(&m.search, msg, fast) {
		// A customer's code scanned into the search: not searched, not
		// kept, not shown; the rest of the scan is dropped.
		m.cursor, m.top = 0, 0
		m = m.refilter("")
		m.looking, m.notice = "", m.deps.p.T("history.code_not_searched")
		return m, cmd
	}
	if m.search.Value() != before {
		m.looking, m.notice = "", ""
		m.cursor, m.top = 0, 0
		m = m.refilter("")
	}
	return m, cmd
}

// looksLikeOrderNo reports whether q may be a whole order number: 20
// letters and digits or more (till's are 25, a provider's limit is 32).
func looksLikeOrderNo(q string) bool {
	if len(q) < 20 {
		return false
	}
	for _, r := range q {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}

// holds reports whether the day on show has order no.
func (m historyModel) holds(no string) bool {
	for _, o := range m.orders {
		if strings.EqualFold(o.No, no) {
			return true
		}
	}
	return false
}

// matches reports whether o answers the search q (lower-cased, trimmed):
// a piece of its number (its last digits, say), its amount exactly
// ("12.3" is ¥12.30), or a piece of its note.
func matches(o checkout.Order, q string, amount checkout.Money) bool {
	return strings.Contains(strings.ToLower(o.No), q) ||
		amount > 0 && o.Amount == amount ||
		o.Note != "" && strings.Contains(strings.ToLower(o.Note), q)
}

// refilter lists the orders that match the search, the cursor on order
// keep when it is among them (else where it was, within the list).
func (m historyModel) refilter(keep string) historyModel {
	q := strings.ToLower(strings.TrimSpace(m.search.Value()))
	// A new slice: an earlier copy of the model keeps its own.
	m.shown = make([]int, 0, len(m.orders))
	if q == "" {
		for i := range m.orders {
			m.shown = append(m.shown, i)
		}
	} else {
		amount, err := checkout.ParseMoney(q, 0)
		if err != nil {
			amount = 0
		}
		for i, o := range m.orders {
			if matches(o, q, amount) {
				m.shown = append(m.shown, i)
			}
		}
	}
	if keep != "" {
		for i, j := range m.shown {
			if m.orders[j].No == keep {
				m.cursor = i
				break
			}
		}
	}
	m.cursor = min(max(m.cursor, 0), max(len(m.shown)-1, 0))
	m.top = window(m.top, m.cursor, m.rows(), len(m.shown))
	return m
}

func (m historyModel) selected() (checkout.Order, bool) {
	if m.cursor < 0 || m.cursor >= len(m.shown) {
		return checkout.Order{}, false
	}
	return m.orders[m.shown[m.cursor]], true
}

func (m historyModel) selectedNo() string {
	o, _ := m.selected()
	return o.No
}

// openDetail shows o at once and reads its refunds and trail.
func (m historyModel) openDetail(o checkout.Order) (historyModel, tea.Cmd) {
	m.inDetail = true
	m.detail = historyDetail{no: o.No, h: checkout.OrderHistory{Order: o}}
	return m, historyDetailCmd(m.deps.ctx, m.deps.engine, o.No)
}

// The list's layout: the title, the search and its notice when open, the
// column names, the rows, and the position when the rows do not all fit.

// chrome is how many lines the list spends on other things than rows.
func (m historyModel) chrome() int {
	n := 2 // the title, the column names
	if m.searching {
		n++
	}
	if m.notice != "" {
		n++
	}
	return n
}

// rows is how many orders the window shows.
func (m historyModel) rows() int {
	room := m.height - m.chrome()
	if len(m.shown) > room {
		room-- // the position line
	}
	return max(room, 1)
}

// measure sizes the columns to the day's orders and the column names.
func (m historyModel) measure() historyColumns {
	p := m.deps.p
	w := ansi.StringWidth
	c := historyColumns{
		names: [9]string{p.T("history.col.created"), p.T("history.col.method"), p.T("history.col.amount"),
			p.T("history.col.state"), p.T("history.col.paid"), p.T("history.col.refunded"), p.T("history.col.no"),
			p.T("history.col.operator"), p.T("history.col.note")},
		methods: map[checkout.Method]string{},
		states:  map[stateKind]string{},
	}
	for _, meth := range []checkout.Method{checkout.MethodWeChat, checkout.MethodAlipay} {
		c.methods[meth] = historyMethod(p, meth)
		c.method = max(c.method, w(c.methods[meth]))
	}
	c.method = max(c.method, w(c.names[1]))
	c.amount, c.state, c.no, c.operator = w(c.names[2]), w(c.names[3]), max(w(c.names[6]), noTail), w(c.names[7])
	// The state words differ by state, and by amount for a disputed
	// order: word and measure each kind once, not each order.
	refunded, most := checkout.Money(0), checkout.Money(0)
	for _, o := range m.orders {
		most = max(most, o.Amount)
		refunded = max(refunded, o.Refunded)
		if k := kindOf(o); c.states[k] == "" {
			c.states[k] = historyState(p, o)
			c.state = max(c.state, w(c.states[k]))
		}
		if _, ok := c.methods[o.Method]; !ok {
			c.methods[o.Method] = historyMethod(p, o.Method)
			c.method = max(c.method, w(c.methods[o.Method]))
		}
		c.operator = max(c.operator, w(o.Operator))
	}
	c.paid, c.net = dayTotal(m.orders)
	// A larger amount is never written narrower: measure the largest.
	c.amount = max(c.amount, w(p.Money(most)))
	c.state = min(c.state, 24)
	c.operator = min(c.operator, 10)
	if refunded > 0 {
		c.refunded = max(w(p.Money(refunded)), w(c.names[5]))
	}
	return c
}

// noTail is how much of an order's number the list shows: its end, which
// tells the orders of one day apart (the start is the date and time).
// The column is left out of windows narrower than noTailWidth, where the
// note needs the room more (the search and the detail still have the
// whole number).
const (
	noTail      = 6
	noTailWidth = 100
)

// historyMethodKeys are the methods' short names, for the list's column.
var historyMethodKeys = map[checkout.Method]string{
	checkout.MethodWeChat: "history.method.wechat",
	checkout.MethodAlipay: "history.method.alipay",
}

func historyMethod(p *catalog.Printer, m checkout.Method) string {
	if k, ok := historyMethodKeys[m]; ok {
		return p.T(k)
	}
	return methodName(p, m)
}

// historyState is an order's state as the list says it: the sale
// screen's words, and "paid late" for a late payment that was refunded
// since.
func historyState(p *catalog.Printer, o checkout.Order) string {
	st := stateWord(p, o)
	if o.Late && o.State != checkout.StatePaid && o.State != checkout.StateDisputed {
		st = p.T("history.late", catalog.V{"State": st})
	}
	return st
}

// cell is s cut and padded to w columns.
func cell(s string, w int) string { return pad(ansi.Truncate(s, w, "…"), w) }

// columnsLine is the column names over the rows.
func (m historyModel) columnsLine() string {
	c := m.cols
	n := c.names
	parts := []string{"  " + cell(n[0], 5), cell(n[1], c.method), padLeft(n[2], c.amount), cell(n[3], c.state), cell(n[4], 5)}
	if c.refunded > 0 {
		parts = append(parts, padLeft(n[5], c.refunded))
	}
	if m.width >= noTailWidth {
		parts = append(parts, cell(n[6], c.no))
	}
	parts = append(parts, cell(n[7], c.operator), n[8])
	return m.deps.styles.Label.Render(ansi.Truncate(strings.Join(parts, "  "), m.width, "…"))
}

// row is one order on one line: the cursor, a mark for a payment to look
// at (disputed, or paid after it was closed), created (shop time),
// method, amount, state, paid time, refunded, the number's end, operator,
// note. The selected row is drawn plain and reversed whole.
func (m historyModel) row(o checkout.Order, selected bool) string {
	s := m.deps.styles
	p := m.deps.p
	c := m.cols
	loc := m.deps.loc
	mark, cur := " ", " "
	if o.Late || o.State == checkout.StateDisputed {
		mark = "⚠"
	}
	if selected {
		cur = "›"
	}
	paid := ""
	if !o.PaidAt.IsZero() {
		paid = p.Clock(o.PaidAt.In(loc))
	}
	no := o.No
	if len(no) > noTail {
		no = no[len(no)-noTail:]
	}
	state := cell(c.stateWord(p, o), c.state)
	note := o.Note
	if !selected {
		state = s.State[string(o.State)].Render(state)
		if note != "" {
			note = s.Muted.Render(note)
		}
	}
	parts := []string{cur + mark + p.Clock(o.CreatedAt.In(loc)), cell(c.methodWord(p, o.Method), c.method),
		padLeft(p.Money(o.Amount), c.amount), state, cell(paid, 5)}
	if c.refunded > 0 {
		r := ""
		if o.Refunded > 0 {
			r = p.Money(o.Refunded)
		}
		parts = append(parts, padLeft(r, c.refunded))
	}
	if m.width >= noTailWidth {
		parts = append(parts, cell(no, c.no))
	}
	parts = append(parts, cell(o.Operator, c.operator), note)
	line := ansi.Truncate(strings.TrimRight(strings.Join(parts, "  "), " "), m.width, "…")
	if selected {
		return s.Selected.Render(pad(line, m.width))
	}
	return line
}

func (m historyModel) View() string {
	if m.inDetail {
		return m.detailView()
	}
	return m.listView()
}

// titleLine is the day with its figures: how many orders, how many paid,
// and the net (paid less refunded), as the sale screen counts them.
func (m historyModel) titleLine() string {
	p := m.deps.p
	day := p.Date(m.day.In(m.deps.loc))
	text := day
	if m.loaded && m.err == nil {
		text = p.N("history.title", len(m.orders), catalog.V{"Day": day, "Paid": m.cols.paid, "Net": p.Money(m.cols.net)})
	}
	if m.isToday {
		text += " · " + p.T("history.today")
	}
	return m.deps.styles.Title.Render(ansi.Truncate(text, m.width, "…"))
}

func (m historyModel) searchLine() string {
	s := m.deps.styles
	p := m.deps.p
	label := p.T("history.search_label") + " "
	// The input has no Width (which would pad it to the edge): a query
	// is short, and the line is cut to the window whatever it holds.
	input := m.search
	text := input.View()
	if input.Value() == "" {
		text += s.Muted.Render(p.T("history.search_hint"))
	} else if m.loaded && m.err == nil {
		text += "  " + s.Muted.Render(p.N("history.matches", len(m.shown), catalog.V{"Of": len(m.orders)}))
	}
	return ansi.Truncate(s.Accent.Render(label)+text, m.width, "…")
}

func (m historyModel) listView() string {
	s := m.deps.styles
	p := m.deps.p
	lines := []string{m.titleLine()}
	if m.searching {
		lines = append(lines, m.searchLine())
	}
	if m.notice != "" {
		lines = append(lines, s.Warn.Render(ansi.Truncate(m.notice, m.width, "…")))
	}
	room := max(m.height-len(lines), 1)
	switch {
	case !m.loaded:
		lines = append(lines, s.Muted.Render(ansi.Truncate(p.T("history.loading", catalog.V{"Day": p.Date(m.day.In(m.deps.loc))}), m.width, "…")))
	case m.err != nil:
		text := p.T("history.load_failed", catalog.V{"Day": p.Date(m.day.In(m.deps.loc)), "Err": describe(p, m.err, "")})
		lines = append(lines, wrapped(s.Error, text, m.width, room)...)
	case len(m.orders) == 0:
		lines = append(lines, s.Muted.Render(ansi.Truncate(p.T("history.no_orders"), m.width, "…")))
	case len(m.shown) == 0:
		q := strings.TrimSpace(m.search.Value())
		lines = append(lines, wrapped(s.Muted, p.T("history.no_match", catalog.V{"Query": q}), m.width, room)...)
		if looksLikeOrderNo(q) && m.looking == "" && m.notice == "" && len(lines) < m.height {
			lines = append(lines, s.Muted.Render(ansi.Truncate(p.T("history.lookup_hint", catalog.V{"Key": m.keys.Open.Help().Key}), m.width, "…")))
		}
	default:
		lines = append(lines, m.columnsLine())
		rows := m.rows()
		top := window(m.top, m.cursor, rows, len(m.shown))
		end := min(top+rows, len(m.shown))
		for i := top; i < end; i++ {
			lines = append(lines, m.row(m.orders[m.shown[i]], i == m.cursor))
		}
		if len(m.shown) > rows {
			lines = append(lines, s.Muted.Render(ansi.Truncate(p.T("history.position", catalog.V{"From": top + 1, "To": end, "Of": len(m.shown)}), m.width, "…")))
		}
	}
	if len(lines) > m.height {
		lines = lines[:max(m.height, 1)]
	}
	return strings.Join(lines, "\n")
}

// wrapped is text in style st, wrapped to w columns, at most n lines.
func wrapped(st lipgloss.Style, text string, w, n int) []string {
	lines := strings.Split(ansi.Wrap(text, max(w, 1), " "), "\n")
	if len(lines) > n {
		lines = lines[:max(n, 1)]
		lines[len(lines)-1] = ansi.Truncate(lines[len(lines)-1]+"…", w, "…")
	}
	for i, l := range lines {
		lines[i] = st.Render(strings.TrimRight(l, " "))
	}
	return lines
}
