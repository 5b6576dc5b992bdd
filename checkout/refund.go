package checkout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// A refund, as the engine runs it:
//
//  1. Refund checks the input and writes the refund as requested, with its
//     own number, in the transaction that checks the order's balance
//     (paid, minus refunds succeeded and in flight). A refusal writes
//     nothing but an audit line.
//  2. The provider is asked, with that number. A definite answer settles
//     the refund (succeeded, failed) or leaves it in progress (WeChat's
//     PROCESSING); a definite refusal is confirmed by a query first.
//  3. An unknown outcome (timeout, reset, 5xx, bad signature) leaves it
//     requested: PollRefund, and every settling pass, ask about it with
//     the same number, and send it again with the same number when the
//     provider has no record of it. A retry never makes a second refund.

// MaxReasonRunes bounds a refund's reason (WeChat shows at most 80
// characters to the payer; Alipay takes 256).
const MaxReasonRunes = 80

// RefundCode names why a refund was refused before anything was sent.
type RefundCode string

const (
	RefundNoOrder         RefundCode = "no_order"         // no such order
	RefundNotPaid         RefundCode = "not_paid"         // open, closed, failed: no money to give back
	RefundNothingLeft     RefundCode = "nothing_left"     // refunded in full already (or in flight)
	RefundAboveLeft       RefundCode = "above_left"       // more than is left
	RefundBadAmount       RefundCode = "bad_amount"       // zero or below
	RefundDisputedPartial RefundCode = "disputed_partial" // a disputed order goes back in full only
	RefundBadReason       RefundCode = "bad_reason"       // too long or with control characters
)

// RefundError is a refund refused before it was written or sent: it
// changed nothing (but the audit line). Left is what is left to refund.
type RefundError struct {
	Code    RefundCode
	OrderNo string
	Amount  Money
	Left    Money
	State   State
	Reason  string // English, for the log and the command line
}

func (e *RefundError) Error() string { return e.Reason }

// RefundLeft is what is left to refund of o, given its refunds: what can
// go back at most, minus the refunds that succeeded or may still.
func RefundLeft(o Order, refunds []Refund) Money {
	left := Refundable(o)
	for _, r := range refunds {
		if r.State == RefundRequested || r.State == RefundSucceeded {
			left -= r.Amount
		}
	}
	return max(left, 0)
}

// CheckReason trims a refund's reason and refuses one that is too long or
// holds control characters.
func CheckReason(s string) (string, error) {
	s = strings.TrimSpace(s)
	control := func(r rune) bool { return unicode.IsControl(r) || invisible(r) }
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxReasonRunes || strings.ContainsFunc(s, control) {
		return "", &RefundError{Code: RefundBadReason, Reason: fmt.Sprintf("the reason must be at most %d characters of plain text: no tabs, line breaks or control characters", MaxReasonRunes)}
	}
	return s, nil
}

// Refund refunds amount of order orderNo. It returns the refund as
// recorded and its order. A *RefundError means nothing was written; an
// error with a written refund (its No set) means the outcome is not known
// yet and the refund stays requested, to be settled by PollRefund or the
// next settling pass; a *ProviderError of a definite kind with a failed
// refund is the provider's refusal.
func (e *Engine) Refund(ctx context.Context, orderNo string, amount Money, reason string) (Refund, Order, error) {
	ctx = e.as(ctx, "desk")
	reason, err := CheckReason(reason)
	if err != nil {
		return Refund{}, Order{No: orderNo}, e.refused(ctx, orderNo, amount, err)
	}
	o, err := e.read(ctx, orderNo)
	if errors.Is(err, ErrNotFound) {
		return Refund{}, o, e.refused(ctx, orderNo, amount, &RefundError{Code: RefundNoOrder, OrderNo: orderNo,
			Reason: fmt.Sprintf("there is no order %s", orderNo)})
	}
	if err != nil {
		return Refund{}, o, err
	}
	refunds, err := e.ledger.Refunds(ctx, orderNo)
	if err != nil {
		return Refund{}, o, &LedgerError{Op: "reading the refunds of order " + orderNo, Err: err}
	}
	if rerr := refundable(o, refunds, amount); rerr != nil {
		return Refund{}, o, e.refused(ctx, orderNo, amount, rerr)
	}
	p, err := e.provider(o.Method)
	if err != nil {
		return Refund{}, o, err
	}
	actor, _ := ActorFrom(ctx)
	r := Refund{No: e.numbers.Refund(), OrderNo: o.No, Method: o.Method, Amount: amount, State: RefundRequested,
		Reason: reason, Terminal: actor.Terminal, Operator: actor.Operator}
	e.startedRefunds.Store(r.No, true)
	defer e.startedRefunds.Delete(r.No)
	// The ledger checks the balance again in the transaction that writes
	// the refund: a refund racing this one on another desk or command
	// cannot take the same money.
	if _, err := e.ledger.CreateRefund(ctx, r); err != nil {
		if errors.Is(err, ErrRefundAboveBalance) || errors.Is(err, ErrTransition) {
			// Another refund took the money since the check above.
			stored, _ := e.ledger.Order(ctx, orderNo)
			now, _ := e.ledger.Refunds(ctx, orderNo)
			if rerr := refundable(stored, now, amount); rerr != nil {
				return Refund{}, stored, e.refused(ctx, orderNo, amount, rerr)
			}
		}
		return Refund{}, o, &LedgerError{Op: "recording the refund (nothing was sent to " + o.Method.Label() + ")", Err: err}
	}
	e.log.Info("refund requested", "order", o.No, "refund", r.No, "amount_fen", int64(amount))
	return e.pushRefund(ctx, p, r.No)
}

// refundable says why amount cannot be refunded of o with its refunds,
// or nil when it can.
func refundable(o Order, refunds []Refund, amount Money) *RefundError {
	left := RefundLeft(o, refunds)
	re := &RefundError{OrderNo: o.No, Amount: amount, Left: left, State: o.State}
	switch {
	case amount <= 0:
		re.Code, re.Reason = RefundBadAmount, "a refund must be at least ¥0.01"
	case !o.State.WasPaid() && o.State != StateDisputed:
		re.Code, re.Reason = RefundNotPaid, fmt.Sprintf("order %s is %s: only a paid order can be refunded", o.No, o.State)
	case left == 0:
		re.Code, re.Reason = RefundNothingLeft, fmt.Sprintf("order %s has nothing left to refund", o.No)
	case amount > left:
		re.Code, re.Reason = RefundAboveLeft, fmt.Sprintf("%s is left to refund of order %s, not %s", left.Yuan(), o.No, amount.Yuan())
	case o.State == StateDisputed && amount != left:
		re.Code, re.Reason = RefundDisputedPartial, fmt.Sprintf("order %s is disputed: it is refunded in full, %s, or not at all", o.No, left.Yuan())
	default:
		return nil
	}
	return re
}

// refused records a refusal in the audit trail and returns it. The line
// is all a refusal writes; if even that fails, the refusal still stands.
func (e *Engine) refused(ctx context.Context, orderNo string, amount Money, err error) error {
	if _, aerr := e.ledger.Append(ctx, AuditEntry{Kind: AuditRefundRefused, Order: orderNo, Amount: amount, Detail: err.Error()}); aerr != nil {
		e.log.Warn("could not record a refused refund", "order", orderNo, "err", aerr)
	}
	e.log.Info("refund refused", "order", orderNo, "amount_fen", int64(amount), "reason", err.Error())
	return err
}

// PollRefund asks the provider about a refund still requested and records
// what it learns; a refund the provider has no record of is sent again,
// with the same number. A settled refund is returned as it is.
func (e *Engine) PollRefund(ctx context.Context, refundNo string) (Refund, Order, error) {
	ctx = e.as(ctx, "desk")
	r, err := e.ledger.Refund(ctx, refundNo)
	if err != nil {
		return Refund{No: refundNo}, Order{}, &LedgerError{Op: "reading refund " + refundNo, Err: err}
	}
	p, err := e.provider(r.Method)
	if err != nil {
		return r, Order{No: r.OrderNo}, err
	}
	return e.pushRefund(ctx, p, refundNo)
}

// Refunds returns an order's refunds, oldest first.
func (e *Engine) Refunds(ctx context.Context, orderNo string) ([]Refund, error) {
	rs, err := e.ledger.Refunds(ctx, orderNo)
	if err != nil {
		return nil, &LedgerError{Op: "reading the refunds of order " + orderNo, Err: err}
	}
	return rs, nil
}

// pushRefund moves a requested refund on by one call: the first send, or
// a query (and a resend, with the same number, when the provider has no
// record of it). One call at a time per refund.
func (e *Engine) pushRefund(ctx context.Context, p Provider, refundNo string) (Refund, Order, error) {
	release, err := e.lock(ctx, "refund:"+refundNo)
	if err != nil {
		return Refund{No: refundNo}, Order{}, err
	}
	defer release()
	r, err := e.ledger.Refund(ctx, refundNo)
	if err != nil {
		return Refund{No: refundNo}, Order{}, &LedgerError{Op: "reading refund " + refundNo, Err: err}
	}
	o, err := e.read(ctx, r.OrderNo)
	if err != nil || r.State != RefundRequested {
		return r, o, err
	}
	// The provider checks the total against the trade it holds: for a
	// disputed order that is what the customer paid, not the sale.
	req := RefundRequest{OrderNo: o.No, RefundNo: r.No, Amount: r.Amount, Total: providerTotal(o), Reason: r.Reason}
	var st RefundStatus
	if !r.Sent {
		r, st, err = e.send(ctx, p, r, req)
	} else {
		st, err = p.QueryRefund(ctx, o.No, r.No)
		if KindOf(err) == KindNotFound || err == nil && st.Missing {
			// Never received, or refused before it was recorded: the same
			// number again cannot refund twice.
			e.log.Info("refund unknown to the provider, sending again", "refund", r.No)
			r, st, err = e.send(ctx, p, r, req)
		}
	}
	return e.applyRefund(ctx, p, r, o, st, err)
}

// send marks the refund sent (before the call: from then on it may be at
// the provider) and asks for it.
func (e *Engine) send(ctx context.Context, p Provider, r Refund, req RefundRequest) (Refund, RefundStatus, error) {
	marked, err := e.ledger.UpdateRefund(ctx, r.No, func(s *Refund) error { s.Sent = true; s.Attempts++; return nil })
	if err != nil {
		return r, RefundStatus{}, &LedgerError{Op: "recording that refund " + r.No + " is being sent (it was not sent)", Err: err}
	}
	st, err := p.Refund(ctx, req)
	return marked, st, err
}

// applyRefund records the provider's answer st (or err) about r.
func (e *Engine) applyRefund(ctx context.Context, p Provider, r Refund, o Order, st RefundStatus, err error) (Refund, Order, error) {
	var le *LedgerError
	switch {
	case errors.As(err, &le):
		return r, o, err // nothing was sent
	case err != nil && IsDefinite(err) && KindOf(err) != KindNotFound:
		// A refusal: confirm it by query, since it may follow an earlier
		// send whose answer was lost.
		refusal := err
		qs, qerr := p.QueryRefund(ctx, o.No, r.No)
		switch {
		case qerr == nil && qs.State == RefundSucceeded, qerr == nil && qs.State == RefundRequested && !qs.Missing:
			return e.applyRefund(ctx, p, r, o, qs, nil)
		case KindOf(qerr) == KindNotFound, qerr == nil && (qs.Missing || qs.State == RefundFailed):
			code := ""
			if pe := (*ProviderError)(nil); errors.As(refusal, &pe) {
				code = pe.Code
			}
			settled, so, serr := e.ledger.SettleRefund(ctx, r.No, RefundFailed, func(s *Refund) {
				s.FailReason, s.ProviderSaid, s.ProviderSaidAt = userMessage(refusal), code, e.clock.Now()
			})
			if serr != nil {
				return r, o, &LedgerError{Op: "recording that refund " + r.No + " was refused", Err: serr}
			}
			e.log.Info("refund refused by provider", "refund", r.No, "err", refusal)
			return settled, so, refusal
		}
		// The query did not answer: where the refund stands is not known.
		e.log.Warn("refund refused, and the check did not answer", "refund", r.No, "err", refusal, "query_err", qerr)
		return r, o, qerr
	case err != nil:
		e.log.Warn("refund outcome unknown", "refund", r.No, "err", err)
		return r, o, err
	}
	switch st.State {
	case RefundSucceeded, RefundFailed:
		settled, so, serr := e.ledger.SettleRefund(ctx, r.No, st.State, e.providerSaid(st.State, st.Raw, st.ProviderRefundNo, st.SucceededAt))
		if serr != nil {
			// The provider has settled it and the ledger does not say so
			// yet: it stays requested and the next call records it.
			return r, o, &SaveError{No: o.No, Method: o.Method, To: o.State, Err: serr}
		}
		e.log.Info("refund settled", "refund", r.No, "state", st.State)
		return settled, so, nil
	}
	// In progress: keep the provider's word when it changed.
	if st.Raw != r.ProviderSaid || st.ProviderRefundNo != "" && st.ProviderRefundNo != r.ProviderRefundNo {
		if got, uerr := e.ledger.UpdateRefund(ctx, r.No, func(s *Refund) error {
			s.ProviderSaid, s.ProviderSaidAt = st.Raw, e.clock.Now()
			if st.ProviderRefundNo != "" {
				s.ProviderRefundNo = st.ProviderRefundNo
			}
			return nil
		}); uerr == nil {
			r = got
		}
	}
	return r, o, nil
}

// ReleaseRefund hands a refund a screen stopped watching to the settling
// passes.
func (e *Engine) ReleaseRefund(no string) { e.startedRefunds.Delete(no) }

// WatchRefund keeps the settling passes off a refund a screen is
// watching (PollRefund is its screen's to call) until ReleaseRefund.
func (e *Engine) WatchRefund(no string) { e.startedRefunds.Store(no, true) }

// recoverRefunds settles, in a pass, every requested refund no screen is
// watching.
func (e *Engine) recoverRefunds(ctx context.Context, pass *Pass) {
	open, err := e.ledger.OpenRefunds(ctx)
	if err != nil {
		pass.LedgerErr = errors.Join(pass.LedgerErr, &LedgerError{Op: "reading the open refunds", Err: err})
		return
	}
	for _, r := range open {
		if _, watched := e.startedRefunds.Load(r.No); watched {
			continue
		}
		p, err := e.provider(r.Method)
		if err != nil {
			pass.Errors = append(pass.Errors, fmt.Errorf("refund %s: %w", r.No, err))
			continue
		}
		var got Refund
		err = e.try(r.No, pass, func() (err error) {
			got, _, err = e.pushRefund(ctx, p, r.No)
			if err != nil && (got.State == RefundSucceeded || got.State == RefundFailed) {
				err = nil // settled; what failed after is the screen's
			}
			return err
		})
		switch {
		case err != nil: // still requested: asked again, or waiting its retry
			pass.Errors = append(pass.Errors, fmt.Errorf("refund %s: %w", r.No, err))
		case got.State == RefundRequested:
			pass.RefundsPending = append(pass.RefundsPending, got)
		default:
			e.log.Info("refund settled by recovery", "refund", r.No, "state", got.State)
			pass.Refunds = append(pass.Refunds, got)
		}
	}
}

// providerSaid records on a refund being settled what the provider said
// of it (an answer to a query, or a notification): its words, its own
// refund number and success time when it gave them, and why it failed.
func (e *Engine) providerSaid(state RefundState, raw, providerNo string, succeededAt time.Time) func(*Refund) {
	return func(s *Refund) {
		s.ProviderSaid, s.ProviderSaidAt = raw, e.clock.Now()
		if providerNo != "" {
			s.ProviderRefundNo = providerNo
		}
		if !succeededAt.IsZero() {
			s.SucceededAt = succeededAt
		}
		if state == RefundFailed {
			s.FailReason = "the provider closed the refund (" + raw + ")"
		}
	}
}
