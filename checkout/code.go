package checkout

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Payment-code sales: the clerk scans the code the customer's wallet shows
// (付款码, "merchant scans customer") instead of showing one. The same
// rules as a QR sale hold (the order is written before the provider is
// called, an unknown answer is settled by a query with the same number),
// with the one exception both providers document for payment codes: a
// trade still not final at the code deadline is reversed (WeChat) or
// cancelled (Alipay), and that is repeated while its answer is unknown.

// Way is how an order is paid.
type Way string

const (
	WayQR   Way = ""     // the customer scans the shop's code (the default)
	WayCode Way = "code" // the clerk scans the customer's payment code
)

// Timings of a payment-code sale.
const (
	// CodePollInterval is how often a code sale waiting for the customer
	// (a password on the phone) or with an unknown answer is queried.
	CodePollInterval = 5 * time.Second
	// DefaultCodeDeadline is how long a code sale may stay unsettled
	// before it is reversed; MaxCodeDeadline the most a shop may set.
	DefaultCodeDeadline = 30 * time.Second
	MaxCodeDeadline     = 60 * time.Second
	// ReverseNotBefore is how long after the pay call WeChat Pay accepts
	// a reverse (its documentation: not within 15 s).
	ReverseNotBefore = 15 * time.Second
)

// The reasons a code sale the reverse ended is closed with (the desk
// words them in the clerk's language).
const (
	ReasonCodeReversed  = "reversed: the customer did not confirm in time"
	ReasonCodeCancelled = "reversed: cancelled by the clerk"
)

// Reversed reports a code sale the reverse (or cancel) ended unpaid: at
// the deadline, or on the clerk's cancel.
func (o Order) Reversed() bool {
	return o.Way == WayCode && o.State == StateClosed && (o.Reason == ReasonCodeReversed || o.Reason == ReasonCodeCancelled)
}

// CodeError says why a scanned code was refused before anything was
// written: it is no wallet's payment code.
type CodeError struct{ Reason string }

func (e *CodeError) Error() string { return e.Reason }

// WalletOf tells the wallet from a customer's payment code (protocols.md
// E4): WeChat Pay's are 18 digits starting 10–15, Alipay's 16–24 digits
// starting 25–30. Anything else is no payment code.
func WalletOf(code string) (Method, error) {
	for _, r := range code {
		if r < '0' || r > '9' {
			return "", &CodeError{Reason: "a payment code is digits only"}
		}
	}
	if len(code) < 2 {
		return "", &CodeError{Reason: "not a payment code: too short"}
	}
	lead := int(code[0]-'0')*10 + int(code[1]-'0')
	switch {
	case len(code) == 18 && lead >= 10 && lead <= 15:
		return MethodWeChat, nil
	case len(code) >= 16 && len(code) <= 24 && lead >= 25 && lead <= 30:
		return MethodAlipay, nil
	}
	return "", &CodeError{Reason: fmt.Sprintf("not a WeChat Pay or Alipay payment code (%d digits starting %02d)", len(code), lead)}
}

// HoldsCode reports text that may hold a customer's payment code: a run
// of digits that is, or ends in, what WalletOf takes for one (a code
// scanned after other digits, "table 9" and then a scan, ends the run).
// A phone number, a price or a till order number (it starts with the
// year, and its digits end at a letter) is none.
func HoldsCode(s string) bool {
	run := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] >= '0' && s[i] <= '9' {
			run++
			continue
		}
		for from := i - run; i-from >= 16; from++ {
			if _, err := WalletOf(s[from:i]); err == nil {
				return true
			}
		}
		run = 0
	}
	return false
}

// CodeTail is what is kept of a customer's code: its last four digits. The
// code itself is a bearer credential: never stored, logged or shown again.
func CodeTail(code string) string {
	if len(code) <= 4 {
		return code
	}
	return code[len(code)-4:]
}

// CodePayRequest is a charge of a customer's payment code.
type CodePayRequest struct {
	OrderNo     string
	Amount      Money
	Description string
	AuthCode    string // the customer's code: for this one call only
	Terminal    string
}

// CodePayer is a Provider that can charge payment codes.
type CodePayer interface {
	// PayCode charges the code. Paid is TradePaid; a customer asked to
	// confirm on the phone is TradeNotPaid; a definite refusal
	// (insufficient balance, an expired or used code) is a *ProviderError
	// of a definite kind; anything else is an unknown outcome.
	PayCode(ctx context.Context, req CodePayRequest) (TradeStatus, error)
	// Reverse ends a code trade that is not final (WeChat's reverse,
	// Alipay's cancel): CloseClosed when nothing was paid, CloseRefunded
	// when the customer had paid and the provider gave it back.
	Reverse(ctx context.Context, orderNo string) (CloseResult, error)
}

// ChargeCode begins a payment-code sale: it tells the wallet from the
// code (a code that is no wallet's writes nothing), writes the order with
// the code's last four digits only, and charges the code. The answer
// decides: paid; refused (the order fails, with the reason); or waiting
// for the customer or unknown, when the order stays open and PollCode
// settles it.
func (e *Engine) ChargeCode(ctx context.Context, amount Money, code, note string) (Order, error) {
	ctx = e.as(ctx, "desk")
	m, err := WalletOf(code)
	if err != nil {
		return Order{}, err
	}
	if note, err = e.checkSale(amount, note); err != nil {
		return Order{}, err
	}
	p, err := e.provider(m)
	if err != nil {
		return Order{}, err
	}
	cp, ok := p.(CodePayer)
	if !ok {
		return Order{}, &ProviderError{Op: "pay", Kind: KindNotSupported, Message: m.Label() + " payment codes are not supported by this till"}
	}
	now := e.clock.Now()
	actor, _ := ActorFrom(ctx)
	o := Order{
		Terminal: e.cfg.Terminal, Operator: actor.Operator, Method: m, Amount: amount, Note: note,
		State: StateCreated, CreatedAt: now, UpdatedAt: now,
		Way: WayCode, CodeTail: CodeTail(code),
		ExpiresAt: now.Add(e.codeDeadline()),
	}
	o, release, err := e.write(ctx, o)
	if err != nil {
		return o, err
	}
	defer release()
	e.log.Info("code sale started", "order", o.No, "method", m, "amount_fen", int64(amount), "code_tail", o.CodeTail)
	st, err := cp.PayCode(ctx, CodePayRequest{OrderNo: o.No, Amount: amount, Description: e.description(o), AuthCode: code, Terminal: o.Terminal})
	switch {
	case err == nil:
		return e.applyCode(ctx, o, st)
	case IsUnknown(err):
		e.log.Warn("code pay outcome unknown; querying", "order", o.No, "err", err)
		return o, err
	default:
		// A definite refusal of the first and only pay call: the code was
		// not charged. A retry is a new sale with a new number.
		e.log.Warn("code pay refused", "order", o.No, "err", err)
		got, aerr := e.advance(ctx, o, StateFailed, func(s *Order) {
			s.Reason = "refused by provider: " + userMessage(err)
			s.ClosedAt = e.clock.Now()
		})
		if aerr != nil {
			return got, aerr
		}
		return got, err
	}
}

func (e *Engine) codeDeadline() time.Duration {
	d := e.cfg.CodeDeadline
	if d <= 0 {
		d = DefaultCodeDeadline
	}
	return min(d, MaxCodeDeadline)
}

// PollCode settles an open payment-code sale one step: it queries the
// trade and records a final answer; still waiting (or unknown) past the
// code deadline, it reverses the trade (not sooner than ReverseNotBefore
// after the pay call, which WeChat requires), and records what the
// reverse did. A reverse whose answer is unknown leaves the order open:
// the next poll, or recovery, reverses again.
func (e *Engine) PollCode(ctx context.Context, no string) (Order, error) {
	o, _, err := e.WatchCode(ctx, no, false)
	return o, err
}

// CancelCode is PollCode for a sale the clerk has cancelled (the customer
// changed their mind, or pays another way): it reverses without waiting
// for the deadline, as soon as the provider takes a reverse (WeChat Pay:
// ReverseNotBefore after the pay call; Alipay: at once). A customer who
// confirmed meanwhile is recorded as paid, or paid and given back.
func (e *Engine) CancelCode(ctx context.Context, no string) (Order, error) {
	o, _, err := e.WatchCode(ctx, no, true)
	return o, err
}

// KeptMoney reports a *SaveError of an outcome in which the provider
// keeps the customer's money (paid, or paid another amount): what must
// never be reversed, and what a screen shows as paid while it is saved.
func KeptMoney(err error) bool {
	var se *SaveError
	return errors.As(err, &se) && (se.To == StatePaid || se.To == StateDisputed)
}

// applyCode records what a provider said of a code sale, and remembers a
// "paid" the ledger could not record, so that the sale is never reversed.
func (e *Engine) applyCode(ctx context.Context, o Order, st TradeStatus) (Order, error) {
	got, err := e.apply(ctx, o, st)
	if KeptMoney(err) {
		e.codePaid.Store(o.No, true)
	}
	return got, err
}

// WatchCode is PollCode (cancel false) or CancelCode (true) for a screen:
// it also says what the provider's query answered (TradeNotPaid: the
// trade is there and the customer is asked to confirm; TradeNotFound: no
// trade; "": no answer), so the screen tells the two apart.
func (e *Engine) WatchCode(ctx context.Context, no string, cancel bool) (Order, TradeState, error) {
	ctx = e.as(ctx, "desk")
	if cancel {
		e.codeCancelled.Store(no, true)
	}
	release, err := e.lock(ctx, no)
	if err != nil {
		return Order{No: no}, "", err
	}
	defer release()
	o, p, err := e.openOrder(ctx, no)
	if err != nil || p == nil {
		return o, "", err
	}
	var seen TradeState
	o, err = e.settleCode(ctx, p, o, &seen)
	return o, seen, err
}

// ReverseDue is when an open code sale is reversed: at its deadline, or,
// once the clerk has cancelled it (cancel), as soon as its provider takes
// a reverse; never sooner than the provider allows.
func ReverseDue(o Order, cancel bool) time.Time {
	earliest := o.CreatedAt
	if o.Method == MethodWeChat {
		earliest = earliest.Add(ReverseNotBefore)
	}
	if cancel || o.ExpiresAt.Before(earliest) {
		return earliest
	}
	return o.ExpiresAt
}

// settleCode is PollCode's step, and recovery's for a code sale an
// earlier run left open: recovery too waits for the deadline, since the
// customer may still be typing the password. A sale the clerk cancelled
// (codeCancelled, which WatchCode sets before it waits for the lock) is
// reversed as soon as the provider allows.
func (e *Engine) settleCode(ctx context.Context, p Provider, o Order, seen *TradeState) (Order, error) {
	st, qerr := p.Query(ctx, o.No)
	if qerr == nil {
		if seen != nil {
			*seen = st.State
		}
		got, err := e.applyCode(ctx, o, st)
		if err != nil || !got.State.Open() {
			return got, err
		}
		o = got
	}
	if _, paid := e.codePaid.Load(o.No); paid {
		// The provider said paid and the ledger could not record it:
		// ask again, never reverse.
		if qerr == nil {
			qerr = &ProviderError{Op: "query", Kind: KindUnknown, Message: o.Method.Label() + " said this sale was paid; confirming it again"}
		}
		return o, qerr
	}
	_, cancel := e.codeCancelled.Load(o.No)
	now := e.clock.Now()
	if now.Before(ReverseDue(o, cancel)) {
		return o, qerr // waiting for the customer (or the answer): poll again
	}
	cp, ok := p.(CodePayer)
	if !ok {
		return o, &ProviderError{Op: "reverse", Kind: KindNotSupported, Message: o.Method.Label() + " payment codes are not supported by this till"}
	}
	cr, err := cp.Reverse(ctx, o.No)
	switch KindOf(err) {
	case KindAlreadyPaid:
		cr.Outcome, err = CloseWasPaid, nil
	case KindNotFound:
		// The provider never had the trade (the pay call did not reach
		// it): nothing was charged, and the code is used up or expires.
		cr.Outcome, err = CloseClosed, nil
	}
	if err != nil {
		e.log.Warn("reverse failed; the sale stays open and is reversed again", "order", o.No, "err", err)
		return o, fmt.Errorf("could not reverse order %s: %w", o.No, err)
	}
	switch cr.Outcome {
	case CloseRefunded:
		return e.paidAndRefunded(ctx, o, cr.ProviderTradeNo, time.Time{})
	case CloseWasPaid:
		st, err := p.Query(ctx, o.No)
		if err != nil {
			return o, err
		}
		return e.applyCode(ctx, o, st)
	}
	reason := ReasonCodeReversed
	if cancel {
		reason = ReasonCodeCancelled
	}
	return e.advance(ctx, o, StateClosed, func(s *Order) {
		s.Reason = reason
		s.ClosedAt = now
	})
}
