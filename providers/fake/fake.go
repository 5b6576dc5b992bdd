// Package fake holds the fakes of engine and UI tests: a scriptable
// in-memory payment provider, a settable clock, and a ledger wrapper that
// fails chosen calls. A trade can be paid after N polls, at the last
// second before close, after it was closed, or never; any call can be
// made to fail or to hang until its context ends. Every unset hook falls
// back to behaviour that follows the real providers' rules.
package fake

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"till/checkout"
)

// Clock is a settable clock for tests that must not sleep.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// Trade is the fake provider's record of one order.
type Trade struct {
	OrderNo string
	Amount  checkout.Money
	// State is TradeNotFound for a ScanFirst trade nobody has scanned.
	State    checkout.TradeState
	Expired  bool // the unscanned code expired: it can no longer be paid
	CodeURL  string
	Creates  int // create calls seen for this number
	Queries  int // query calls seen
	Closes   int
	Refunded checkout.Money
	PaidAt   time.Time // when Pay ran, by Provider.Clock; zero without one
}

// ErrTimeout is an error whose outcome is unknown, as a timeout is.
var ErrTimeout = errors.New("fake: request timed out")

// Provider is the scriptable provider. The hooks run before the default
// behaviour; a hook that returns a non-nil error makes the call fail with
// it (the default behaviour is skipped).
type Provider struct {
	M checkout.Method
	// Clock, when set, stamps a payment's time, which queries report as
	// the provider's paid time (success_time, send_pay_date).
	Clock *Clock

	// PayAfterPolls pays a trade on its Nth query (0: never by itself).
	PayAfterPolls int
	// PayOnClose pays the trade just before a close arrives, as a customer
	// paying at the last second; the close then answers as the real
	// provider would (see RefundOnClose).
	PayOnClose bool
	// RefundOnClose makes a close of a paid trade refund it (Alipay's
	// cancel) instead of answering "already paid" (WeChat's close,
	// Alipay's trade.close).
	RefundOnClose bool
	// ScanFirst models Alipay's precreate: no trade exists until the
	// customer scans (Scan, or Pay), so a query answers TradeNotFound and
	// a close answers KindNotFound, and a code closed before the scan
	// stays payable until Expire.
	ScanFirst bool

	// Hooks: return a non-nil error to fail the call.
	OnCreate func(ctx context.Context, req checkout.CreateRequest) error
	OnQuery  func(ctx context.Context, orderNo string) error
	OnClose  func(ctx context.Context, orderNo string) error
	OnRefund func(ctx context.Context, req checkout.RefundRequest) error
	// OnQueryRefund fails a refund query.
	OnQueryRefund func(ctx context.Context, refundNo string) error
	// LoseRefundAnswer runs after a refund was carried out: a non-nil
	// error is answered instead of the result, as a timeout after the
	// provider did the work.
	LoseRefundAnswer func(req checkout.RefundRequest) error
	// RefundProcessing makes a new refund answer PROCESSING (requested)
	// until SettleRefund, as WeChat's refunds to a bank card do.
	RefundProcessing bool
	// Rewrite edits a query's answer before it is returned, e.g. to report
	// an amount other than the one created.
	Rewrite func(st *checkout.TradeStatus)

	// Payment codes (PayCode, Reverse). CodeWaits makes a charge wait for
	// the customer to confirm on the phone (USERPAYING, Alipay 10003):
	// Confirm, or PayAfterPolls, pays it. OnPayCode fails the call before
	// it reaches the trade; LosePayCodeAnswer after the charge was made
	// (an answer lost). OnReverse fails a reverse before it is done.
	CodeWaits         bool
	OnPayCode         func(ctx context.Context, req checkout.CodePayRequest) error
	LosePayCodeAnswer func(req checkout.CodePayRequest) error
	OnReverse         func(ctx context.Context, orderNo string) error
	// AuthCodes are the codes the charges carried, for tests that check
	// where a code went.
	AuthCodes []string

	mu      sync.Mutex
	trades  map[string]*Trade
	refunds map[string]checkout.RefundStatus
	// refundOf is each refund's order and amount.
	refundOf map[string]refundOf
	calls    []string
}

type refundOf struct {
	order  string
	amount checkout.Money
}

var (
	_ checkout.Provider  = (*Provider)(nil)
	_ checkout.CodePayer = (*Provider)(nil)
)

// New returns a fake provider for method m.
func New(m checkout.Method) *Provider {
	return &Provider{M: m, trades: map[string]*Trade{}, refunds: map[string]checkout.RefundStatus{}, refundOf: map[string]refundOf{}}
}

// Method names the provider.
func (p *Provider) Method() checkout.Method { return p.M }

// Trade returns a copy of a trade, and whether it exists.
func (p *Provider) Trade(no string) (Trade, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.trades[no]
	if !ok {
		return Trade{}, false
	}
	return *t, true
}

// Calls lists the calls made, as "op orderNo", in order.
func (p *Provider) Calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.calls...)
}

// Count is how many calls of op ("close", "reverse", "paycode", …) the
// provider got.
func (p *Provider) Count(op string) int {
	n := 0
	for _, c := range p.Calls() {
		if strings.HasPrefix(c, op+" ") {
			n++
		}
	}
	return n
}

// Pay marks a trade paid, as a customer scanning and paying.
func (p *Provider) Pay(no string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, err := p.scan(no)
	if err != nil {
		return err
	}
	if t.State != checkout.TradeNotPaid {
		return fmt.Errorf("fake: trade %s is %s", no, t.State)
	}
	p.paid(t)
	return nil
}

func (p *Provider) paid(t *Trade) {
	t.State = checkout.TradePaid
	if p.Clock != nil {
		t.PaidAt = p.Clock.Now()
	}
}

// Scan makes a ScanFirst trade exist, unpaid, as the customer's scan does.
func (p *Provider) Scan(no string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := p.scan(no)
	return err
}

func (p *Provider) scan(no string) (*Trade, error) {
	t, ok := p.trades[no]
	switch {
	case !ok:
		return nil, fmt.Errorf("fake: no trade %s", no)
	case t.Expired:
		return nil, fmt.Errorf("fake: the code of %s expired", no)
	case t.State == checkout.TradeNotFound:
		t.State = checkout.TradeNotPaid
	}
	return t, nil
}

// Expire ends the life of a code nobody scanned: it can no longer be paid.
func (p *Provider) Expire(no string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.trades[no]; ok && t.State == checkout.TradeNotFound {
		t.Expired = true
	}
}

func (p *Provider) record(op, no string) {
	p.mu.Lock()
	p.calls = append(p.calls, op+" "+no)
	p.mu.Unlock()
}

// Create records the trade; the same number again answers the same code,
// as both real providers do.
func (p *Provider) Create(ctx context.Context, req checkout.CreateRequest) (checkout.CreateResult, error) {
	p.record("create", req.OrderNo)
	if p.OnCreate != nil {
		if err := p.OnCreate(ctx, req); err != nil {
			// A hook error may still leave the trade created, as a lost
			// answer does; tests choose with CreateAnyway.
			return checkout.CreateResult{}, err
		}
	}
	return p.create(req), nil
}

// CreateAnyway records the trade as the provider would have before its
// answer was lost; call it from an OnCreate hook.
func (p *Provider) CreateAnyway(req checkout.CreateRequest) { p.create(req) }

func (p *Provider) create(req checkout.CreateRequest) checkout.CreateResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.trades[req.OrderNo]
	if !ok {
		t = &Trade{OrderNo: req.OrderNo, Amount: req.Amount, State: checkout.TradeNotPaid,
			CodeURL: "fake://pay/" + req.OrderNo}
		if p.ScanFirst {
			t.State = checkout.TradeNotFound
		}
		p.trades[req.OrderNo] = t
	}
	t.Creates++
	return checkout.CreateResult{CodeURL: t.CodeURL}
}

// Query answers the trade's state; an unknown number is TradeNotFound.
func (p *Provider) Query(ctx context.Context, no string) (checkout.TradeStatus, error) {
	p.record("query", no)
	if p.OnQuery != nil {
		if err := p.OnQuery(ctx, no); err != nil {
			return checkout.TradeStatus{}, err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.trades[no]
	if !ok {
		return checkout.TradeStatus{State: checkout.TradeNotFound}, nil
	}
	t.Queries++
	if p.PayAfterPolls > 0 && t.Queries >= p.PayAfterPolls && t.State == checkout.TradeNotPaid {
		p.paid(t)
	}
	st := p.status(t)
	if p.Rewrite != nil {
		p.Rewrite(&st)
	}
	return st, nil
}

func (p *Provider) status(t *Trade) checkout.TradeStatus {
	st := checkout.TradeStatus{State: t.State, Raw: string(t.State), Amount: t.Amount,
		Scanned: p.ScanFirst && t.State == checkout.TradeNotPaid}
	if t.State == checkout.TradePaid {
		st.ProviderTradeNo = "FAKE" + t.OrderNo
		st.PaidAt = t.PaidAt
	}
	return st
}

// Close closes an unpaid trade. A paid one answers CloseWasPaid, or is
// refunded with RefundOnClose. A ScanFirst trade nobody scanned is not
// found, and its code stays payable.
func (p *Provider) Close(ctx context.Context, no string) (checkout.CloseResult, error) {
	p.record("close", no)
	if p.OnClose != nil {
		if err := p.OnClose(ctx, no); err != nil {
			return checkout.CloseResult{}, err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.trades[no]
	if !ok {
		return checkout.CloseResult{}, &checkout.ProviderError{Op: "close", Kind: checkout.KindNotFound, Code: "ORDER_NOT_EXIST", Message: "no such order"}
	}
	t.Closes++
	if p.PayOnClose && (t.State == checkout.TradeNotPaid || t.State == checkout.TradeNotFound) {
		p.paid(t)
	}
	if t.State == checkout.TradeNotFound {
		return checkout.CloseResult{}, &checkout.ProviderError{Op: "close", Kind: checkout.KindNotFound, Code: "TRADE_NOT_EXIST", Message: "not scanned yet"}
	}
	switch t.State {
	case checkout.TradePaid:
		if p.RefundOnClose {
			t.State = checkout.TradeClosed
			t.Refunded = t.Amount
			return checkout.CloseResult{Outcome: checkout.CloseRefunded, ProviderTradeNo: "FAKE" + no}, nil
		}
		return checkout.CloseResult{Outcome: checkout.CloseWasPaid, ProviderTradeNo: "FAKE" + no}, nil
	default:
		t.State = checkout.TradeClosed
		return checkout.CloseResult{Outcome: checkout.CloseClosed}, nil
	}
}

// Refund refunds a paid trade; the same refund number answers the same
// refund.
func (p *Provider) Refund(ctx context.Context, req checkout.RefundRequest) (checkout.RefundStatus, error) {
	p.record("refund", req.OrderNo)
	if p.OnRefund != nil {
		if err := p.OnRefund(ctx, req); err != nil {
			return checkout.RefundStatus{}, err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.refunds[req.RefundNo]; ok {
		return st, nil
	}
	t, ok := p.trades[req.OrderNo]
	if !ok {
		return checkout.RefundStatus{}, &checkout.ProviderError{Op: "refund", Kind: checkout.KindNotFound, Message: "no such order"}
	}
	if t.State != checkout.TradePaid || t.Refunded+req.Amount > t.Amount {
		return checkout.RefundStatus{}, &checkout.ProviderError{Op: "refund", Kind: checkout.KindInsufficient, Code: "NOT_ENOUGH", Message: "more than is left to refund"}
	}
	t.Refunded += req.Amount
	st := checkout.RefundStatus{State: checkout.RefundSucceeded, ProviderRefundNo: "FAKER" + req.RefundNo, Raw: "SUCCESS"}
	if p.RefundProcessing {
		st.State, st.Raw = checkout.RefundRequested, "PROCESSING"
	}
	p.refunds[req.RefundNo] = st
	p.refundOf[req.RefundNo] = refundOf{order: req.OrderNo, amount: req.Amount}
	if p.LoseRefundAnswer != nil {
		if err := p.LoseRefundAnswer(req); err != nil {
			return checkout.RefundStatus{}, err
		}
	}
	return st, nil
}

// SettleRefund ends a PROCESSING refund as succeeded or failed (its money
// back to the trade).
func (p *Provider) SettleRefund(refundNo string, to checkout.RefundState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, ok := p.refunds[refundNo]
	if !ok || st.State != checkout.RefundRequested {
		return
	}
	st.State, st.Raw = to, "SUCCESS"
	if to == checkout.RefundFailed {
		st.Raw = "CLOSED"
		if t := p.trades[p.refundOf[refundNo].order]; t != nil {
			t.Refunded -= p.refundOf[refundNo].amount
		}
	}
	p.refunds[refundNo] = st
}

// RefundCount is how many distinct refunds the provider has made or is
// making: a retry under the same number is not a new one.
func (p *Provider) RefundCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.refunds)
}

// QueryRefund answers a refund's state.
func (p *Provider) QueryRefund(ctx context.Context, orderNo, refundNo string) (checkout.RefundStatus, error) {
	p.record("query refund", refundNo)
	if p.OnQueryRefund != nil {
		if err := p.OnQueryRefund(ctx, refundNo); err != nil {
			return checkout.RefundStatus{}, err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	st, ok := p.refunds[refundNo]
	if !ok {
		return checkout.RefundStatus{}, &checkout.ProviderError{Op: "query refund", Kind: checkout.KindNotFound, Message: "no such refund"}
	}
	return st, nil
}

// Hang is a hook that blocks until the call's context ends, as a provider
// that never answers; the error is the context's.
func Hang(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// PayCode charges a customer's payment code: paid at once, or waiting for
// the customer with CodeWaits.
func (p *Provider) PayCode(ctx context.Context, req checkout.CodePayRequest) (checkout.TradeStatus, error) {
	p.record("paycode", req.OrderNo)
	if p.OnPayCode != nil {
		if err := p.OnPayCode(ctx, req); err != nil {
			return checkout.TradeStatus{}, err
		}
	}
	p.mu.Lock()
	p.AuthCodes = append(p.AuthCodes, req.AuthCode)
	t, ok := p.trades[req.OrderNo]
	if !ok {
		t = &Trade{OrderNo: req.OrderNo, Amount: req.Amount, State: checkout.TradeNotPaid}
		p.trades[req.OrderNo] = t
		if !p.CodeWaits {
			p.paid(t)
		}
	}
	t.Creates++
	st := p.status(t)
	p.mu.Unlock()
	if p.LosePayCodeAnswer != nil {
		if err := p.LosePayCodeAnswer(req); err != nil {
			return checkout.TradeStatus{}, err
		}
	}
	return st, nil
}

// Confirm is the customer confirming a waiting code charge on the phone.
func (p *Provider) Confirm(no string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.trades[no]
	if !ok || t.State != checkout.TradeNotPaid {
		return fmt.Errorf("fake: no waiting trade %s", no)
	}
	p.paid(t)
	return nil
}

// Reverse ends a code trade: an unpaid one is closed, a paid one is
// refunded in full (the money goes back, as a reverse does).
func (p *Provider) Reverse(ctx context.Context, no string) (checkout.CloseResult, error) {
	p.record("reverse", no)
	if p.OnReverse != nil {
		if err := p.OnReverse(ctx, no); err != nil {
			return checkout.CloseResult{}, err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.trades[no]
	if !ok {
		return checkout.CloseResult{}, &checkout.ProviderError{Op: "reverse", Kind: checkout.KindNotFound, Code: "ORDER_NOT_EXIST", Message: "no such order"}
	}
	t.Closes++
	switch t.State {
	case checkout.TradePaid:
		t.State, t.Refunded = checkout.TradeRefunded, t.Amount
		return checkout.CloseResult{Outcome: checkout.CloseRefunded, ProviderTradeNo: "FAKE" + no}, nil
	case checkout.TradeRefunded:
		return checkout.CloseResult{Outcome: checkout.CloseRefunded, ProviderTradeNo: "FAKE" + no}, nil
	}
	t.State = checkout.TradeClosed
	return checkout.CloseResult{Outcome: checkout.CloseClosed}, nil
}

// Store is an emulator's Store (wechatemu.Store, alipayemu.Store) in
// memory, for tests that restart an emulator on what it kept or read what
// it wrote.
type Store struct {
	mu sync.Mutex
	m  map[string][]byte
}

// NewStore returns an empty Store.
func NewStore() *Store { return &Store{m: map[string][]byte{}} }

// Put keeps a copy of value under key.
func (s *Store) Put(key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = append([]byte(nil), value...)
	return nil
}

// ForEach calls fn on every key and value, with the store unlocked.
func (s *Store) ForEach(fn func(key string, value []byte) error) error {
	s.mu.Lock()
	kv := make(map[string][]byte, len(s.m))
	for k, v := range s.m {
		kv[k] = v
	}
	s.mu.Unlock()
	for k, v := range kv {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// Get is what was last put under key (nil: nothing).
func (s *Store) Get(key string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key]
}
