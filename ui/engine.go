package ui

import (
	"context"
	"sync/atomic"
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

// recoveredMsg reports one settling pass: orders left open and now
// settled, late checks done, late payments to show. Sent by recoverCmd;
// handled by the root, which shows a notice and the late-payment banner
// and schedules the next pass.
type recoveredMsg struct{ pass checkout.Pass }

// recentMsg carries today's newest orders for the entry screen, and
// today's figures as the day report computes them (sales on their paid
// day, refunds on the day they succeeded) for its "Today" line. Sent by
// recentCmd; handled by the entry screen.
type recentMsg struct {
	limit  int // what was asked for: recentLimit, or 0 for the whole day
	orders []checkout.Order
	err    error
	day    checkout.DayReport
	dayErr error
}

// recoverTickMsg is the timer of the next settling pass; seq tells the
// current timer from stale ones. Sent by recoverTickCmd; handled by the
// root.
type recoverTickMsg struct{ seq int }

// recoverNowMsg asks for a settling pass now (or right after the one
// running): the clerk handed a sale over to recovery. Sent by the root to
// itself, and by tests.
type recoverNowMsg struct{}

// recoverEvery is the longest wait between two settling passes: orders
// left open are asked about again, and late checks that fell due run.
const recoverEvery = checkout.SettleEvery

func recoverTickCmd(d time.Duration, seq int) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return recoverTickMsg{seq: seq} })
}

// saleStartedMsg is the answer to starting (or retrying) a sale. asked is
// the order a retry was about (zero for a new sale), so that an answer
// without the order's state still names it. Sent by startCmd and retryCmd;
// handled by the root, which picks the next screen.
type saleStartedMsg struct {
	asked checkout.Order
	order checkout.Order
	err   error
}

// polledMsg is one poll's answer about order no. Sent by pollCmd; handled
// by the waiting screen that owns the order.
type polledMsg struct {
	no    string
	order checkout.Order
	trade checkout.TradeStatus // what the provider said (Scanned)
	err   error
}

// finishedMsg is the answer to a close of order no at the timeout or on
// cancel; tag names the call, so a screen takes only the answer it is
// waiting for. Sent by finishCmd and closeCmd; handled by the waiting and
// the problem screen.
type finishedMsg struct {
	no    string
	tag   int64
	order checkout.Order
	err   error
}

// callTags numbers the close calls, for finishedMsg.tag.
var callTags atomic.Int64

func nextTag() int64 { return callTags.Add(1) }

// closeRetryMsg asks the waiting screen to try closing order no again
// after a close it could not confirm; attempt counts the tries.
type closeRetryMsg struct {
	no      string
	attempt int
}

// lateSeenMsg is the answer to the clerk acknowledging the late payment of
// order no. Sent by lateSeenCmd; handled by the root, which drops it from
// the banner.
type lateSeenMsg struct {
	no  string
	err error
}

// notifiedMsg is an order a provider's notification has just settled.
// Sent by noticeCmd, which the root re-arms after each one; handled by the
// waiting screen when the order is its own, so that PAID shows at once
// rather than at the next poll.
type notifiedMsg struct{ order checkout.Order }

// noticeCmd waits for the next order the engine's notifications settle;
// it gives up (nil) when the desk stops.
func noticeCmd(ctx context.Context, e *checkout.Engine) tea.Cmd {
	if e == nil {
		return nil
	}
	ch := e.Notices()
	return func() tea.Msg {
		select {
		case o := <-ch:
			return notifiedMsg{order: o}
		case <-ctx.Done():
			return nil
		}
	}
}

// changedMsg is what other processes committed to the shared ledger
// since the last one: the changes, and their orders as this desk reads
// them now (those it could read). Sent by changesCmd, which the root
// re-arms after each one; handled by the root.
type changedMsg struct {
	changes []checkout.LedgerChange
	orders  []checkout.Order
}

// maxChangeBatch bounds the changes one changedMsg takes: sixteen busy
// counters announce faster than a desk redraws, and one reload of the
// today line, the history and the report answers a whole batch.
const maxChangeBatch = 64

// changesCmd waits for the next change on the shared ledger and takes
// with it those already waiting behind it, reading each changed order
// once; it gives up (nil) when the desk stops or the announcements end.
func changesCmd(ctx context.Context, e *checkout.Engine, ch <-chan checkout.LedgerChange) tea.Cmd {
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		var msg changedMsg
		select {
		case c, ok := <-ch:
			if !ok {
				return nil
			}
			msg.changes = append(msg.changes, c)
		case <-ctx.Done():
			return nil
		}
	more:
		for len(msg.changes) < maxChangeBatch {
			select {
			case c, ok := <-ch:
				if !ok {
					break more // the next changesCmd sees the channel closed
				}
				msg.changes = append(msg.changes, c)
			default:
				break more
			}
		}
		// One deadline for the batch's reads: a ledger that hangs holds
		// the batch (and its reload) for one call's time, not 64.
		rc, cancel := withDeadline(ctx)
		defer cancel()
		seen := map[string]bool{}
		for _, c := range msg.changes {
			if c.Order == "" || seen[c.Order] {
				continue
			}
			seen[c.Order] = true
			o, err := e.Order(rc, c.Order)
			if err == nil {
				msg.orders = append(msg.orders, o)
			}
		}
		return msg
	}
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
		return recoveredMsg{pass: e.Recover(ctx)}
	}
}

func recentCmd(ctx context.Context, e *checkout.Engine, limit int) tea.Cmd {
	return func() tea.Msg {
		c, cancel := withDeadline(ctx)
		defer cancel()
		orders, err := e.Today(c, limit)
		// The day as it stands now: a closed day's report would give the
		// figures frozen at its close.
		now := e.Now()
		day, dayErr := e.ReportRange(c, now, now)
		return recentMsg{limit: limit, orders: orders, err: err, day: day, dayErr: dayErr}
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

func retryCmd(ctx context.Context, e *checkout.Engine, asked checkout.Order) tea.Cmd {
	return func() tea.Msg {
		c, cancel := withDeadline(ctx)
		defer cancel()
		o, err := e.Retry(c, asked.No)
		return saleStartedMsg{asked: asked, order: o, err: err}
	}
}

func pollCmd(ctx context.Context, e *checkout.Engine, no string) tea.Cmd {
	return func() tea.Msg {
		c, cancel := withDeadline(ctx)
		defer cancel()
		o, st, err := e.Watch(c, no)
		return polledMsg{no: no, order: o, trade: st, err: err}
	}
}

func finishCmd(ctx context.Context, e *checkout.Engine, no, reason string, tag int64) tea.Cmd {
	return finishWithin(ctx, e, no, reason, tag, callTimeout)
}

// closeCmd is the close the clerk waits for on the waiting screen: each try
// is cut short at closeCallTimeout, so that a provider that hangs brings
// the problem screen within seconds rather than minutes. A try cut short
// changes nothing: the order stays open and the next try asks again.
func closeCmd(ctx context.Context, e *checkout.Engine, no, reason string, tag int64) tea.Cmd {
	return finishWithin(ctx, e, no, reason, tag, closeCallTimeout)
}

func finishWithin(ctx context.Context, e *checkout.Engine, no, reason string, tag int64, d time.Duration) tea.Cmd {
	return func() tea.Msg {
		c, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		o, err := e.Finish(c, no, reason)
		return finishedMsg{no: no, tag: tag, order: o, err: err}
	}
}

func lateSeenCmd(ctx context.Context, e *checkout.Engine, no string) tea.Cmd {
	return func() tea.Msg {
		c, cancel := withDeadline(ctx)
		defer cancel()
		_, err := e.AcknowledgeLate(c, no)
		return lateSeenMsg{no: no, err: err}
	}
}

// closeRetries, closeRetryDelay and closeCallTimeout: a close that cannot
// be confirmed is tried again this many times, so far apart, each try at
// most so long (6 s in all when the provider refuses at once, under 20 s
// when it hangs), before the problem screen asks the clerk. The problem
// screen then keeps trying every problemRetryEvery with the full deadline.
const (
	closeRetries      = 3
	closeRetryDelay   = 2 * time.Second
	closeCallTimeout  = 3 * time.Second
	problemRetryEvery = 5 * time.Second
)

func closeRetryTick(no string, attempt int) tea.Cmd {
	return tea.Tick(closeRetryDelay, func(time.Time) tea.Msg { return closeRetryMsg{no: no, attempt: attempt} })
}

func pollTick(d time.Duration, no string) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return pollTickMsg{no: no} })
}

func clockTick(no string) tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return clockTickMsg{no: no} })
}
