package checkout

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Notifications: a provider's signed word that a trade or a refund
// changed, pushed to the webhook. The webhook verifies and decrypts it and
// hands the engine a provider-neutral notice; Notified and NotifiedRefund
// check it against the ledger and apply it through the ledger's
// compare-and-set, without the per-order lock (a poll may hold that across
// a provider call for seconds, and the provider wants an answer sooner):
// the compare-and-set makes the two safe together. They return after the
// commit, so that the webhook acknowledges only what is on disk.

// Notification refusals the webhook branches on: ErrUnknownOrder and
// ErrUnknownRefund are not acknowledged, so that the provider sends again;
// ErrNoticeMismatch is refused, and recorded in the audit trail.
var (
	ErrUnknownOrder   = errors.New("notification for an order the ledger does not hold")
	ErrUnknownRefund  = errors.New("notification for a refund the ledger does not hold")
	ErrNoticeMismatch = errors.New("notification does not match the ledger")
)

// Currency is the only currency till takes; Money is fen of it.
const Currency = "CNY"

// PaymentNotice is a verified payment notification in checkout's words.
type PaymentNotice struct {
	Method          Method
	ID              string // the provider's notification id, for logs
	OrderNo         string
	ProviderTradeNo string
	Amount          Money
	Currency        string // "" is taken as CNY
	State           TradeState
	PaidAt          time.Time
	Raw             string // the provider's own word, e.g. "SUCCESS", "TRADE_SUCCESS"
}

// RefundNotice is a verified refund notification in checkout's words.
type RefundNotice struct {
	Method           Method
	ID               string
	OrderNo          string // "" when the provider does not say
	RefundNo         string // out_refund_no / out_request_no: till's number
	ProviderRefundNo string
	// Amount is this refund's amount; 0 when the provider gives only the
	// running total (Alipay's refund_fee), in Refunded.
	Amount   Money
	Refunded Money // all the order's refunds together; 0 when not given
	// Total is the order's amount as the provider holds it (WeChat's
	// amount.total); 0 when not given.
	Total       Money
	State       RefundState
	SucceededAt time.Time
	Raw         string
}

// NoticeError is a notification refused: Err is one of the sentinels above
// (or a *LedgerError), Reason says why in English.
type NoticeError struct {
	OrderNo, RefundNo string
	Reason            string
	Err               error
}

func (e *NoticeError) Error() string { return e.Reason }
func (e *NoticeError) Unwrap() error { return e.Err }

// Notified applies a verified payment notification. A payment of the
// order's amount moves an open order to paid, and one closed by till to
// paid with the late mark; an order already paid (or further) is returned
// as it is, with no error: retries and duplicates are harmless. A notice
// that is not a payment records nothing but the provider's word. A
// mismatch (method, amount, currency) is refused with ErrNoticeMismatch
// and an audit entry; an unknown order is ErrUnknownOrder.
func (e *Engine) Notified(ctx context.Context, n PaymentNotice) (Order, error) {
	ctx = e.as(ctx, "notify")
	o, err := e.noticeOrder(ctx, n.OrderNo)
	if err != nil {
		return o, err
	}
	if o.Method != n.Method {
		return o, e.mismatch(ctx, o.No, "", n.Amount, fmt.Sprintf("a %s notification for a %s order", n.Method.Label(), o.Method.Label()))
	}
	if n.State != TradePaid && n.State != TradeRefunded {
		// Not a payment: the poll and the close settle the rest.
		if n.Raw != "" && n.Raw != o.ProviderSaid && o.State.Open() {
			got, err := e.ledger.Update(context.WithoutCancel(ctx), o.No, func(s *Order) error {
				e.carry(o.No, s)
				s.ProviderSaid, s.ProviderSaidAt = n.Raw, e.clock.Now()
				return nil
			})
			if err != nil {
				// Not acknowledged unless written: the provider sends it again.
				return o, &LedgerError{Op: "recording the word on order " + o.No, Err: err}
			}
			o = e.overlay(got)
		}
		return o, nil
	}
	if n.Currency != "" && n.Currency != Currency {
		return o, e.mismatch(ctx, o.No, "", n.Amount, fmt.Sprintf("%s notification in %q, not %s", n.Method.Label(), n.Currency, Currency))
	}
	if n.Amount != o.Amount {
		return o, e.mismatch(ctx, o.No, "", n.Amount, fmt.Sprintf("%s notification of %s paid for this %s sale", n.Method.Label(), n.Amount.Yuan(), o.Amount.Yuan()))
	}
	if o.State.WasPaid() || o.State == StateDisputed {
		return o, nil // a duplicate, or a poll got there first
	}
	if o.State == StateFailed {
		return o, e.mismatch(ctx, o.No, "", n.Amount, fmt.Sprintf("%s says the order was paid, and it was refused at creation", n.Method.Label()))
	}
	var got Order
	if n.State == TradeRefunded {
		got, err = e.paidAndRefunded(ctx, o, n.ProviderTradeNo, n.PaidAt)
	} else {
		got, err = e.markPaid(ctx, o, TradeStatus{State: TradePaid, Amount: n.Amount, ProviderTradeNo: n.ProviderTradeNo, PaidAt: n.PaidAt, Raw: n.Raw})
	}
	if err != nil {
		return got, err
	}
	e.log.Info("payment notification applied", "order", o.No, "id", n.ID, "state", got.State)
	e.publish(got)
	return got, nil
}

// noticeBuffer is how many settled orders Notices holds for a slow
// reader; more are dropped (the reader's next poll finds them).
const noticeBuffer = 64

// Notices yields each order a payment notification has just settled, so
// that a screen waiting on it can show it at once rather than at its next
// poll. One reader; orders it does not take in time are dropped.
func (e *Engine) Notices() <-chan Order { return e.notices }

func (e *Engine) publish(o Order) {
	select {
	case e.notices <- o:
	default:
	}
}

// NotifiedRefund applies a verified refund notification to a refund till
// wrote (it is in the ledger before the provider is asked, so its order
// was paid then). A final state settles it; a settled refund is returned
// as it is. A refund or order the ledger does not hold is
// ErrUnknownRefund or ErrUnknownOrder; a mismatch is ErrNoticeMismatch
// with an audit entry.
func (e *Engine) NotifiedRefund(ctx context.Context, n RefundNotice) (Refund, Order, error) {
	ctx = e.as(ctx, "notify")
	r, err := e.ledger.Refund(ctx, n.RefundNo)
	switch {
	case errors.Is(err, ErrNotFound):
		e.log.Warn("refund notification for an unknown refund", "refund", n.RefundNo, "order", n.OrderNo, "id", n.ID)
		return Refund{No: n.RefundNo}, Order{No: n.OrderNo}, &NoticeError{OrderNo: n.OrderNo, RefundNo: n.RefundNo,
			Reason: fmt.Sprintf("there is no refund %s", n.RefundNo), Err: ErrUnknownRefund}
	case err != nil:
		return Refund{No: n.RefundNo}, Order{No: n.OrderNo}, &LedgerError{Op: "reading refund " + n.RefundNo, Err: err}
	}
	o, err := e.noticeOrder(ctx, r.OrderNo)
	if err != nil {
		return r, o, err
	}
	bad := func(reason string) (Refund, Order, error) {
		return r, o, e.mismatch(ctx, o.No, r.No, n.Amount, reason)
	}
	switch {
	case r.Method != n.Method:
		return bad(fmt.Sprintf("a %s notification for a %s refund", n.Method.Label(), r.Method.Label()))
	case n.OrderNo != "" && n.OrderNo != r.OrderNo:
		return bad(fmt.Sprintf("the notification puts refund %s on order %s, the ledger on %s", r.No, n.OrderNo, r.OrderNo))
	case n.Amount != 0 && n.Amount != r.Amount:
		return bad(fmt.Sprintf("%s notification of a %s refund for this %s one", n.Method.Label(), n.Amount.Yuan(), r.Amount.Yuan()))
	case n.Total != 0 && n.Total != providerTotal(o):
		return bad(fmt.Sprintf("%s notification of a refund from an order of %s; the ledger's is %s", n.Method.Label(), n.Total.Yuan(), providerTotal(o).Yuan()))
	case n.Refunded != 0 && (n.Refunded < r.Amount || n.Refunded > Refundable(o)):
		return bad(fmt.Sprintf("%s says %s refunded in all, with this refund of %s on an order of %s", n.Method.Label(), n.Refunded.Yuan(), r.Amount.Yuan(), Refundable(o).Yuan()))
	}
	if n.State != RefundSucceeded && n.State != RefundFailed {
		// In progress (ABNORMAL, PROCESSING): keep the word only.
		if r.State == RefundRequested && n.Raw != "" && n.Raw != r.ProviderSaid {
			got, err := e.ledger.UpdateRefund(context.WithoutCancel(ctx), r.No, func(s *Refund) error {
				s.ProviderSaid, s.ProviderSaidAt = n.Raw, e.clock.Now()
				return nil
			})
			if err != nil {
				return r, o, &LedgerError{Op: "recording the word on refund " + r.No, Err: err}
			}
			r = got
		}
		return r, o, nil
	}
	if r.State == n.State {
		return r, o, nil // a duplicate, or a poll got there first
	}
	if r.State != RefundRequested {
		return bad(fmt.Sprintf("%s says refund %s is %s; the ledger has it %s", n.Method.Label(), r.No, n.State, r.State))
	}
	settled, so, err := e.ledger.SettleRefund(context.WithoutCancel(ctx), r.No, n.State, e.providerSaid(n.State, n.Raw, n.ProviderRefundNo, n.SucceededAt))
	if errors.Is(err, ErrTransition) {
		// Settled by a poll meanwhile: read what it is now.
		if cur, rerr := e.ledger.Refund(ctx, r.No); rerr == nil {
			if cur.State == n.State {
				co, _ := e.ledger.Order(ctx, cur.OrderNo)
				return cur, co, nil
			}
			r = cur
			return bad(fmt.Sprintf("%s says refund %s is %s; the ledger has it %s", n.Method.Label(), r.No, n.State, cur.State))
		}
	}
	if err != nil {
		e.log.Error("ledger write failed", "refund", r.No, "to", n.State, "err", err)
		return r, o, &SaveError{No: o.No, Method: o.Method, To: o.State, Err: err}
	}
	e.log.Info("refund notification applied", "refund", r.No, "order", o.No, "id", n.ID, "state", settled.State)
	return settled, so, nil
}

// RefuseNotice records in the audit trail a verified notification the
// webhook refuses for what only it can check (a merchant or app id that
// is not the shop's), and returns the refusal, wrapping ErrNoticeMismatch.
func (e *Engine) RefuseNotice(ctx context.Context, orderNo, refundNo string, amount Money, reason string) error {
	return e.mismatch(e.as(ctx, "notify"), orderNo, refundNo, amount, reason)
}

// noticeOrder reads the order a notification names.
func (e *Engine) noticeOrder(ctx context.Context, no string) (Order, error) {
	o, err := e.ledger.Order(ctx, no)
	switch {
	case errors.Is(err, ErrNotFound):
		e.log.Warn("notification for an unknown order", "order", no)
		return Order{No: no}, &NoticeError{OrderNo: no, Reason: fmt.Sprintf("there is no order %q", no), Err: ErrUnknownOrder}
	case err != nil:
		return Order{No: no}, &LedgerError{Op: "reading order " + no, Err: err}
	}
	return e.overlay(o), nil
}

// mismatch records a refused notification in the audit trail and returns
// the refusal. If even the line cannot be written, the refusal stands.
func (e *Engine) mismatch(ctx context.Context, orderNo, refundNo string, amount Money, reason string) error {
	if _, err := e.ledger.Append(context.WithoutCancel(ctx), AuditEntry{Kind: AuditNotifyMismatch, Order: orderNo, Refund: refundNo, Amount: amount, Detail: reason}); err != nil {
		e.log.Warn("could not record a refused notification", "order", orderNo, "err", err)
	}
	e.log.Error("notification refused", "order", orderNo, "refund", refundNo, "reason", reason)
	return &NoticeError{OrderNo: orderNo, RefundNo: refundNo, Reason: reason, Err: ErrNoticeMismatch}
}

// providerTotal is the order's amount as the provider holds it: what the
// customer paid for a disputed order, the sale's amount otherwise.
func providerTotal(o Order) Money {
	if o.State == StateDisputed && o.ProviderAmount > 0 {
		return o.ProviderAmount
	}
	return o.Amount
}
