package ui

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"till/checkout"
)

// This file adapts the checkout engine to Bubble Tea: every engine call
// runs in a tea.Cmd with its own deadline and comes back as a message, so
// Update never blocks on a provider or the disk. Cmds capture values (the
// engine handle, an order number), never the model.

// callTimeout bounds one engine call (a provider round trip plus a ledger
// write). The adapters have their own, shorter HTTP timeouts.
const callTimeout = 30 * time.Second

// recoveredMsg reports the start-up settlement of orders left open.
// Sent by recoverCmd; handled by the root, which shows a notice.
type recoveredMsg struct {
	settled []checkout.Order
	errs    []error
}

// recentMsg carries today's sales for the entry screen. Sent by
// recentCmd; handled by the entry screen.
type recentMsg struct {
	orders []checkout.Order
	err    error
}

// recoverTickMsg asks for another recovery pass, after one that could not
// reach a provider or after the clerk left a sale whose close failed.
type recoverTickMsg struct{}

// recoverRetry is how long till waits before asking about unsettled
// orders again.
const recoverRetry = 30 * time.Second

func recoverTickCmd() tea.Cmd {
	return tea.Tick(recoverRetry, func(time.Time) tea.Msg { return recoverTickMsg{} })
}

// saleStartedMsg is the answer to starting (or retrying) a sale. Sent by
// startCmd and retryCmd; handled by the root, which picks the next screen.
type saleStartedMsg struct {
	order checkout.Order
	err   error
}

// polledMsg is one poll's answer. Sent by pollCmd; handled by the waiting
// screen that owns the order.
type polledMsg struct {
	order checkout.Order
	err   error
}

// finishedMsg is the answer to a close at the timeout or on cancel. Sent
// by finishCmd; handled by the waiting screen.
type finishedMsg struct {
	order checkout.Order
	err   error
}

// pollTickMsg says it is time to poll order no. Stale ticks (for an order
// no longer on screen) are dropped.
type pollTickMsg struct{ no string }

// clockTickMsg redraws the countdown of order no and checks the timeout;
// the time is read from the injected clock, not from the tick.
type clockTickMsg struct{ no string }

func withDeadline(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, callTimeout)
}

func recoverCmd(ctx context.Context, e *checkout.Engine) tea.Cmd {
	return func() tea.Msg {
		// Recovery may query many orders; each call inside has the
		// adapters' own HTTP timeouts.
		settled, errs := e.Recover(ctx)
		return recoveredMsg{settled: settled, errs: errs}
	}
}

func recentCmd(ctx context.Context, e *checkout.Engine, limit int) tea.Cmd {
	return func() tea.Msg {
		c, cancel := withDeadline(ctx)
		defer cancel()
		orders, err := e.Today(c, limit)
		return recentMsg{orders: orders, err: err}
	}
}

func startCmd(ctx context.Context, e *checkout.Engine, m checkout.Method, amount checkout.Money, note string) tea.Cmd {
	return func() tea.Msg {
		c, cancel := withDeadline(ctx)
		defer cancel()
		o, err := e.Start(c, m, amount, note)
		return saleStartedMsg{order: o, err: err}
	}
}

func retryCmd(ctx context.Context, e *checkout.Engine, no string) tea.Cmd {
	return func() tea.Msg {
		c, cancel := withDeadline(ctx)
		defer cancel()
		o, err := e.Retry(c, no)
		return saleStartedMsg{order: o, err: err}
	}
}

func pollCmd(ctx context.Context, e *checkout.Engine, no string) tea.Cmd {
	return func() tea.Msg {
		c, cancel := withDeadline(ctx)
		defer cancel()
		o, err := e.Poll(c, no)
		return polledMsg{order: o, err: err}
	}
}

func finishCmd(ctx context.Context, e *checkout.Engine, no, reason string) tea.Cmd {
	return func() tea.Msg {
		c, cancel := withDeadline(ctx)
		defer cancel()
		o, err := e.Finish(c, no, reason)
		return finishedMsg{order: o, err: err}
	}
}

func pollTick(d time.Duration, no string) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return pollTickMsg{no: no} })
}

func clockTick(no string) tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return clockTickMsg{no: no} })
}
