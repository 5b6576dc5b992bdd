package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"till/catalog"
	"till/checkout"
)

// todayModel lists every order of the shop's day, newest first, scrolled
// with the arrows: where the sale screen's "… and N more" leads. (History
// and search, behind the manager's PIN, build on it.)
type todayModel struct {
	deps   deps
	keys   todayKeys
	orders []checkout.Order
	err    error
	loaded bool
	top    int // the first row shown

	width, height int
}

func newToday(d deps) todayModel { return todayModel{deps: d, keys: defaultTodayKeys(d.p)} }

// open shows the list and loads the whole day.
func (m todayModel) open() (todayModel, tea.Cmd) {
	m.top, m.loaded = 0, false
	return m, recentCmd(m.deps.ctx, m.deps.engine, 0)
}

func (m todayModel) shortHelp() []key.Binding {
	return []key.Binding{m.keys.Up, m.keys.Down, m.keys.Page, m.keys.Back}
}

// rows is how many orders fit under the title and the column names.
func (m todayModel) rows() int { return max(m.height-3, 1) }

func (m todayModel) Update(msg tea.Msg) (todayModel, tea.Cmd) {
	switch msg := msg.(type) {
	case recentMsg:
		if msg.limit == 0 {
			m.orders, m.err, m.loaded = msg.orders, msg.err, true
		}
	case tea.KeyMsg:
		last := max(len(m.orders)-m.rows(), 0)
		switch msg.String() {
		case "up":
			m.top--
		case "down":
			m.top++
		case "pgup":
			m.top -= m.rows()
		case "pgdown":
			m.top += m.rows()
		case "home":
			m.top = 0
		case "end":
			m.top = last
		}
		m.top = min(max(m.top, 0), last)
	}
	return m, nil
}

func (m todayModel) View() string {
	s := m.deps.styles
	p := m.deps.p
	if !m.loaded {
		return s.Muted.Render(p.T("today.loading"))
	}
	if m.err != nil {
		return s.Error.Render(p.T("entry.recent_failed", catalog.V{"Err": describe(p, m.err, "")}))
	}
	count, paid := dayTotal(m.orders)
	day := p.Date(m.deps.now().In(m.deps.loc))
	var b strings.Builder
	b.WriteString(s.Title.Render(ansi.Truncate(p.N("today.title", len(m.orders), catalog.V{"Day": day, "Paid": count, "Net": p.Money(paid)}), m.width, "…")))
	if len(m.orders) == 0 {
		return b.String() + "\n\n" + s.Muted.Render(p.T("entry.no_sales"))
	}
	b.WriteString("\n" + s.Label.Render(ansi.Truncate(p.T("today.columns"), m.width, "…")))
	end := min(m.top+m.rows(), len(m.orders))
	for _, o := range m.orders[m.top:end] {
		b.WriteString("\n" + pad(orderLine(m.deps, o, m.width-27), m.width-27) + s.Muted.Render(ansi.Truncate("  "+o.No, 27, "")))
	}
	if len(m.orders) > m.rows() {
		b.WriteString("\n" + s.Muted.Render(p.T("today.position", catalog.V{"From": m.top + 1, "To": end, "Of": len(m.orders)})))
	}
	return b.String()
}
