package ui

import (
	"slices"

	tea "github.com/charmbracelet/bubbletea"

	"till/catalog"
	"till/checkout"
)

// The root's side of manager mode: which screen a right PIN leads to, the
// idle timer, and where the refund screen goes back to.

// openManager goes to what after names: at once while manager mode is
// open, else by the PIN screen.
func (m Model) openManager(after afterPIN) (Model, tea.Cmd) {
	if m.session.Active(m.deps.now()) {
		return m.managerOpened(after)
	}
	m.active = screenPIN
	m.pin = newPINModel(m.deps, pinLoading, after)
	m = m.resize()
	return m, pinStatusCmd(m.deps.ctx, m.deps.guard)
}

// afterPINUpdate takes the PIN screen's intents.
func (m Model) afterPINUpdate(cmd tea.Cmd) (Model, tea.Cmd) {
	switch {
	case m.pin.done && m.pin.purpose == pinChange:
		m.pin.done = false
		m.active = screenMenu
		m.notice, m.noticeWarn, m.noticeFromPass = m.deps.p.T("manager.pin_changed"), false, false
		return m, cmd
	case m.pin.done:
		m.pin.done = false
		now := m.deps.now()
		m.session.Open(now)
		m.managerSeq++
		next, open := m.managerOpened(m.pin.after)
		return next, tea.Batch(cmd, open, managerTick(next.managerSeq))
	case m.pin.leave:
		m.pin.leave = false
		m.pendingRefund = nil
		if m.pin.purpose == pinChange {
			m.active = screenMenu
			return m, cmd
		}
		m.active = screenEntry
		return m, cmd
	}
	return m, cmd
}

// managerOpened shows what a right PIN was asked for.
func (m Model) managerOpened(after afterPIN) (Model, tea.Cmd) {
	if after == toRefund && m.pendingRefund != nil {
		h := *m.pendingRefund
		m.pendingRefund = nil
		m.active = screenRefund
		m.refund = newRefund(m.deps, h)
		return m.resize(), nil
	}
	m.active = screenMenu
	m.menu = newMenu(m.deps)
	return m.resize(), nil
}

// afterMenuUpdate takes the menu's intents.
func (m Model) afterMenuUpdate(cmd tea.Cmd) (Model, tea.Cmd) {
	if m.menu.leave {
		m.menu.leave = false
		m.active = screenEntry
		// What the manager did (a refund, a close) shows on the sale
		// screen's list and its "Today" line.
		return m, tea.Batch(cmd, recentCmd(m.deps.ctx, m.deps.engine, recentLimit))
	}
	if m.menu.chosen == nil {
		return m, cmd
	}
	item := *m.menu.chosen
	m.menu.chosen = nil
	switch item {
	case menuRefund:
		next, load := m.openHistory()
		return next, tea.Batch(cmd, load)
	case menuReport, menuCloseDay:
		next, load := m.openReport(item == menuCloseDay)
		return next, tea.Batch(cmd, load)
	case menuChangePIN:
		m.active = screenPIN
		m.pin = newPINModel(m.deps, pinChange, toMenu)
		return m.resize(), cmd
	}
	// menuLock
	m.session.Close()
	next, load := m.toEntry(m.deps.p.T("manager.locked_now"), false)
	return next, tea.Batch(cmd, load)
}

// managerTick redraws the countdown, and ends manager mode when its idle
// time ran out: the screens only a manager may see go, a refund already
// sent stays on screen until it is settled.
func (m Model) managerTick(msg managerTickMsg) (Model, tea.Cmd) {
	if msg.seq != m.managerSeq {
		return m, nil
	}
	now := m.deps.now()
	if m.session.Active(now) {
		return m, managerTick(m.managerSeq)
	}
	m.session.Close()
	switch {
	case m.active == screenMenu, m.active == screenPIN && m.pin.purpose == pinChange, m.active == screenRefund && !m.refund.busy() && m.refund.step != refundDone,
		m.active == screenReport && !m.report.busy():
		return m.toEntry(m.deps.p.T("manager.ended", catalog.V{"Idle": m.deps.p.Countdown(m.session.Idle())}), false)
	}
	return m, nil
}

// askRefund is the history's r on an order: the refund screen, by the PIN
// screen unless manager mode is open.
func (m Model) askRefund(h checkout.OrderHistory) (Model, tea.Cmd) {
	m.pendingRefund = &h
	return m.openManager(toRefund)
}

// leaveRefund goes back from the refund screen to the order in the
// history, reloaded, so the refund shows.
func (m Model) leaveRefund() (Model, tea.Cmd) {
	m.active = screenHistory
	return m, m.history.reload()
}

// openHistory shows today's orders.
func (m Model) openHistory() (Model, tea.Cmd) {
	m.active = screenHistory
	var load tea.Cmd
	m.history, load = m.history.open(m.deps.now())
	return m.resize(), load
}

// afterHistoryUpdate takes the history's intents: back to the sale, or
// the refund of the order it shows.
func (m Model) afterHistoryUpdate(cmd tea.Cmd) (Model, tea.Cmd) {
	switch {
	case m.history.leave:
		m.history.leave = false
		m.active = screenEntry
		// A refund made from the history changed today's net: the sale
		// screen reads it again.
		return m, tea.Batch(cmd, recentCmd(m.deps.ctx, m.deps.engine, recentLimit))
	case m.history.refund != nil:
		h := *m.history.refund
		m.history.refund = nil
		if m.deps.guard == nil {
			return m, cmd
		}
		next, open := m.askRefund(h)
		return next, tea.Batch(cmd, open)
	}
	return m, cmd
}

// openReport shows today's report, and its close when closing (the
// menu's "Close the day").
func (m Model) openReport(closing bool) (Model, tea.Cmd) {
	m.active = screenReport
	var load tea.Cmd
	m.report, load = m.report.open(m.deps.now(), closing)
	return m.resize(), load
}

// leaveReport goes back from the report to the manager's menu, or to the
// sale screen when manager mode ended meanwhile (a close was answering).
func (m Model) leaveReport() (Model, tea.Cmd) {
	if m.session.Active(m.deps.now()) {
		m.active = screenMenu
		m.menu = newMenu(m.deps)
		m.menu.cursor = max(slices.Index(menuItems, menuReport), 0)
		return m.resize(), nil
	}
	return m.toEntry("", false)
}
