package wechatemu

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"till/catalog"
	"till/providers/payerpage"
)

// DefaultPlatformKeyID is the public-key id used when Config.PlatformKeyID
// is empty. Real ids look like this: PUB_KEY_ID_ and digits.
const DefaultPlatformKeyID = "PUB_KEY_ID_0100000000000000000000000000000001"

// Trade states, as WeChat spells them.
const (
	StateNotPay  = "NOTPAY"
	StateSuccess = "SUCCESS"
	StateRefund  = "REFUND"
	StateClosed  = "CLOSED"
)

// Refund statuses, as WeChat spells them.
const (
	RefundProcessing = "PROCESSING"
	RefundSuccess    = "SUCCESS"
	RefundClosed     = "CLOSED"
	RefundAbnormal   = "ABNORMAL"
)

// Errors of the test hooks and the payer page.
var (
	ErrNotFound   = errors.New("wechatemu: no such trade or refund")
	ErrNotPayable = errors.New("wechatemu: the trade is closed and can no longer be paid")
	// ErrNotSaved: the payment could not be written to the Store, so it
	// did not happen (the payer page answers 500).
	ErrNotSaved = errors.New("wechatemu: the trade could not be saved")
)

// Store keeps trades and refunds across restarts (the sandbox backs it with
// a bbolt bucket). Keys are "trade/<out_trade_no>" and
// "refund/<out_refund_no>"; values are JSON.
type Store interface {
	Put(key string, value []byte) error
	ForEach(fn func(key string, value []byte) error) error
}

// Config is the merchant the emulator serves and the platform it plays.
type Config struct {
	MchID             string
	AppID             string
	MerchantSerial    string         // serial_no the merchant signs with
	MerchantPublicKey *rsa.PublicKey // verifies the merchant's Authorization
	PlatformKey       *rsa.PrivateKey
	PlatformKeyID     string // Wechatpay-Serial of every answer; default DefaultPlatformKeyID
	APIv3Key          string // 32 bytes; encrypts notifications
	Clock             func() time.Time
	Store             Store  // nil: memory only
	PayerBase         string // code_url prefix, e.g. http://127.0.0.1:8080; empty: the Host the request came to

	// NotifyRetryUnit is what one second of the real retry schedule
	// (15s, 15s, 30s, 3m, ...) lasts; default time.Second. Tests use
	// time.Millisecond.
	NotifyRetryUnit time.Duration
	// NotifyClient posts notifications; default a client with WeChat's
	// 5 s answer timeout.
	NotifyClient *http.Client
	// RefundDelay is how long a refund stays PROCESSING before it becomes
	// SUCCESS; 0 means SUCCESS at once, in the answer to the create.
	RefundDelay time.Duration
	Logger      *slog.Logger
	// Lang is the payer page's language for a request whose
	// Accept-Language names neither Chinese nor English; zero: English.
	Lang catalog.Lang
}

// Trade is the emulator's record of one order.
type Trade struct {
	AppID         string    `json:"appid"`
	MchID         string    `json:"mchid"`
	OutTradeNo    string    `json:"out_trade_no"`
	Description   string    `json:"description"`
	Attach        string    `json:"attach,omitempty"`
	NotifyURL     string    `json:"notify_url,omitempty"`
	Total         int64     `json:"total"` // fen
	Currency      string    `json:"currency"`
	TimeExpire    time.Time `json:"time_expire,omitzero"`      // zero: not given (payable 7 days)
	TimeExpireRaw string    `json:"time_expire_raw,omitempty"` // as the merchant sent it
	CreatedAt     time.Time `json:"created_at"`
	State         string    `json:"trade_state"`
	TransactionID string    `json:"transaction_id,omitempty"`
	SuccessTime   time.Time `json:"success_time,omitzero"`
	PayerOpenID   string    `json:"openid,omitempty"`
	Refunded      int64     `json:"refunded"` // sum of refunds not closed, fen
	Token         string    `json:"token"`    // the payer page is /pay/<token>; empty for a code trade

	// Payment-code trades (codepay.go): MICROPAY, what the customer does,
	// when they confirm, and the last four digits of the code (never the
	// code). A reverse that gave a payment back keeps when it did and the
	// refund id WeChat gave that money (RevokeRefundID), which its bill
	// row shows.
	TradeType      string    `json:"trade_type,omitempty"`
	Customer       string    `json:"customer,omitempty"`
	ConfirmAt      time.Time `json:"confirm_at,omitzero"`
	CodeTail       string    `json:"code_tail,omitempty"`
	DeviceID       string    `json:"device_id,omitempty"`
	RevokedAt      time.Time `json:"revoked_at,omitzero"`
	RevokeRefundID string    `json:"revoke_refund_id,omitempty"`
}

// PayPath is the path of the trade's payer page.
func (t Trade) PayPath() string { return "/pay/" + t.Token }

// Type is the trade's trade_type: MICROPAY for a code trade, else NATIVE.
func (t Trade) Type() string {
	if t.TradeType != "" {
		return t.TradeType
	}
	return "NATIVE"
}

// Refund is the emulator's record of one refund.
type Refund struct {
	RefundID      string    `json:"refund_id"`
	OutRefundNo   string    `json:"out_refund_no"`
	OutTradeNo    string    `json:"out_trade_no"`
	TransactionID string    `json:"transaction_id"`
	Reason        string    `json:"reason,omitempty"`
	NotifyURL     string    `json:"notify_url,omitempty"`
	Amount        int64     `json:"refund"` // fen
	Total         int64     `json:"total"`  // fen
	Status        string    `json:"status"`
	CreatedAt     time.Time `json:"create_time"`
	SettleAt      time.Time `json:"settle_at,omitzero"` // PROCESSING becomes SUCCESS then
	SuccessTime   time.Time `json:"success_time,omitzero"`
}

// Emulator is an http.Handler serving the v3 API and the payer page.
type Emulator struct {
	cfg    Config
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	trades     map[string]Trade
	byToken    map[string]string // token -> out_trade_no
	byTxn      map[string]string // transaction_id -> out_trade_no
	refunds    map[string]Refund
	faults     Faults
	faultsLeft int // remaining requests for faults.Times > 0
	faultsOn   bool
	deliveries []Delivery
	closed     bool
	bills      map[string]billFile // download token -> file (bill.go)

	payer *payerpage.Handler
}

// New checks cfg, loads the trades kept in cfg.Store and returns the
// emulator. Close it to stop pending notifications.
func New(cfg Config) (*Emulator, error) {
	var missing []string
	if cfg.MchID == "" {
		missing = append(missing, "MchID")
	}
	if cfg.AppID == "" {
		missing = append(missing, "AppID")
	}
	if cfg.MerchantSerial == "" {
		missing = append(missing, "MerchantSerial")
	}
	if cfg.MerchantPublicKey == nil {
		missing = append(missing, "MerchantPublicKey")
	}
	if cfg.PlatformKey == nil {
		missing = append(missing, "PlatformKey")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("wechatemu: config lacks %s", strings.Join(missing, ", "))
	}
	if len(cfg.APIv3Key) != 32 {
		return nil, errors.New("wechatemu: the APIv3 key must be 32 bytes")
	}
	if cfg.PlatformKeyID == "" {
		cfg.PlatformKeyID = DefaultPlatformKeyID
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.NotifyRetryUnit <= 0 {
		cfg.NotifyRetryUnit = time.Second
	}
	if cfg.NotifyClient == nil {
		cfg.NotifyClient = &http.Client{Timeout: 5 * time.Second}
	}
	cfg.PayerBase = strings.TrimRight(cfg.PayerBase, "/")
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Emulator{
		cfg:     cfg,
		log:     log,
		ctx:     ctx,
		cancel:  cancel,
		trades:  map[string]Trade{},
		byToken: map[string]string{},
		byTxn:   map[string]string{},
		refunds: map[string]Refund{},
	}
	e.payer = payerpage.New(payerpage.WeChat, cfg.Lang, payer{e})
	if err := e.load(); err != nil {
		cancel()
		return nil, err
	}
	return e, nil
}

func (e *Emulator) load() error {
	if e.cfg.Store == nil {
		return nil
	}
	err := e.cfg.Store.ForEach(func(key string, value []byte) error {
		switch {
		case strings.HasPrefix(key, "trade/"):
			var t Trade
			if err := json.Unmarshal(value, &t); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			e.index(t)
		case strings.HasPrefix(key, "refund/"):
			var r Refund
			if err := json.Unmarshal(value, &r); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			e.refunds[r.OutRefundNo] = r
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("wechatemu: loading trades: %w", err)
	}
	for _, r := range e.refunds {
		if r.Status == RefundProcessing && !r.SettleAt.IsZero() {
			e.scheduleSettle(r.OutRefundNo, r.SettleAt.Sub(e.now()))
		}
	}
	return nil
}

func (e *Emulator) index(t Trade) {
	e.trades[t.OutTradeNo] = t
	if t.Token != "" {
		e.byToken[t.Token] = t.OutTradeNo
	}
	if t.TransactionID != "" {
		e.byTxn[t.TransactionID] = t.OutTradeNo
	}
}

// Close stops pending notifications and refund timers. The handler keeps
// answering; Server.Close stops the listener too.
func (e *Emulator) Close() error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	e.wg.Wait()
	return nil
}

func (e *Emulator) now() time.Time { return e.cfg.Clock() }

// ServeHTTP routes /v3/ to the API and /pay/ to the payer page.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/v3/"):
		e.serveAPI(w, r)
	case strings.HasPrefix(r.URL.Path, "/pay/"):
		e.payer.Serve(w, r, strings.TrimPrefix(r.URL.Path, "/pay/"))
	case r.URL.Path == "/" || r.URL.Path == "/healthz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "WeChat Pay API v3 emulator (till sandbox); merchant", e.cfg.MchID)
	default:
		http.NotFound(w, r)
	}
}

// saveTrade writes t to the store, then to memory; the caller holds mu.
func (e *Emulator) saveTrade(t Trade) error {
	if e.cfg.Store != nil {
		b, err := json.Marshal(t)
		if err != nil {
			return err
		}
		if err := e.cfg.Store.Put("trade/"+t.OutTradeNo, b); err != nil {
			e.log.Error("store put failed", "trade", t.OutTradeNo, "err", err)
			return err
		}
	}
	e.index(t)
	return nil
}

// saveRefund writes r to the store, then to memory; the caller holds mu.
func (e *Emulator) saveRefund(r Refund) error {
	if e.cfg.Store != nil {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if err := e.cfg.Store.Put("refund/"+r.OutRefundNo, b); err != nil {
			e.log.Error("store put failed", "refund", r.OutRefundNo, "err", err)
			return err
		}
	}
	e.refunds[r.OutRefundNo] = r
	return nil
}

// unpaidLife is how long an order without time_expire stays payable.
const unpaidLife = 7 * 24 * time.Hour

// expiry is the last moment t can be paid.
func (t Trade) expiry() time.Time {
	if !t.TimeExpire.IsZero() {
		return t.TimeExpire
	}
	return t.CreatedAt.Add(unpaidLife)
}

// trade returns the trade with expiry applied (a NOTPAY trade past its
// time_expire becomes CLOSED); the caller holds mu.
func (e *Emulator) trade(no string) (Trade, bool) {
	t, ok := e.trades[no]
	if !ok {
		return t, false
	}
	if t.State == StateNotPay && e.now().After(t.expiry()) {
		t.State = StateClosed
		if err := e.saveTrade(t); err != nil {
			// Still report it closed: the clock says so.
			e.trades[no] = t
		}
	}
	if t.State == StateUserPaying && !t.ConfirmAt.IsZero() && !e.now().Before(t.ConfirmAt) {
		// The customer typed the password (or the payment failed) by now.
		t = e.settleCode(t, t.ConfirmAt)
		if err := e.saveTrade(t); err != nil {
			e.trades[no] = t
		}
	}
	return t, true
}

// refund returns the refund with its delayed settlement applied; the
// caller holds mu.
func (e *Emulator) refund(no string) (Refund, bool) {
	r, ok := e.refunds[no]
	if !ok {
		return r, false
	}
	if r.Status == RefundProcessing && !r.SettleAt.IsZero() && !e.now().Before(r.SettleAt) {
		r = e.setRefundStatus(r, RefundSuccess, r.SettleAt)
	}
	return r, true
}

// setRefundStatus moves r to status, keeps the trade's refunded sum right,
// saves both and queues the REFUND.* notification; the caller holds mu.
func (e *Emulator) setRefundStatus(r Refund, status string, at time.Time) Refund {
	if r.Status == status {
		return r
	}
	prev := r.Status
	r.Status = status
	if status == RefundSuccess {
		r.SuccessTime = at
	}
	if err := e.saveRefund(r); err != nil {
		r.Status = prev
		return r
	}
	if status == RefundClosed && prev != RefundClosed {
		if t, ok := e.trades[r.OutTradeNo]; ok {
			t.Refunded -= r.Amount
			_ = e.saveTrade(t)
		}
	}
	if status != RefundProcessing {
		e.queueRefundNotification(r)
	}
	return r
}

// Trade returns the emulator's record of a trade (expiry applied).
func (e *Emulator) Trade(outTradeNo string) (Trade, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.trade(outTradeNo)
}

// Refund returns the emulator's record of a refund (settlement applied).
func (e *Emulator) Refund(outRefundNo string) (Refund, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.refund(outRefundNo)
}

// RefundsOf returns the refunds made of a trade (settlement applied), in
// no set order: a test counts them.
func (e *Emulator) RefundsOf(outTradeNo string) []Refund {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Refund
	for no, r := range e.refunds {
		if r.OutTradeNo == outTradeNo {
			r, _ = e.refund(no)
			out = append(out, r)
		}
	}
	return out
}

// Pay pays a trade as a customer would from the payer page. Paying a paid
// trade again is a no-op; a closed or expired one gives ErrNotPayable, a
// payment the Store could not keep ErrNotSaved (and the trade stays
// unpaid).
func (e *Emulator) Pay(outTradeNo string) error {
	_, err := e.pay(outTradeNo)
	return err
}

// pay reports whether the trade was already paid.
func (e *Emulator) pay(no string) (already bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.trade(no)
	if !ok {
		return false, ErrNotFound
	}
	switch t.State {
	case StateSuccess, StateRefund:
		return true, nil
	case StateClosed, StateRevoked, StatePayError:
		return false, ErrNotPayable
	}
	t.State = StateSuccess
	t.TransactionID = newDigits("4200", e.now(), 10)
	t.SuccessTime = e.now().Truncate(time.Second)
	t.PayerOpenID = "oEmu" + randString(24)
	if err := e.saveTrade(t); err != nil {
		return false, fmt.Errorf("%w: %v", ErrNotSaved, err)
	}
	e.queuePaymentNotification(t)
	e.log.Info("paid", "trade", no, "total_fen", t.Total)
	return false, nil
}

// SetRefundStatus forces a refund's status (PROCESSING, SUCCESS, CLOSED or
// ABNORMAL), as the bank might, and sends the matching notification. A
// CLOSED refund gives its amount back to what the trade can refund.
func (e *Emulator) SetRefundStatus(outRefundNo, status string) error {
	switch status {
	case RefundProcessing, RefundSuccess, RefundClosed, RefundAbnormal:
	default:
		return fmt.Errorf("wechatemu: unknown refund status %q", status)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.refunds[outRefundNo]
	if !ok {
		return ErrNotFound
	}
	if r.Status == RefundSuccess || r.Status == RefundClosed {
		return fmt.Errorf("wechatemu: refund %s is final (%s)", outRefundNo, r.Status)
	}
	if status == RefundProcessing {
		r.SettleAt = time.Time{} // stays processing until told otherwise
		return e.saveRefund(r)
	}
	e.setRefundStatus(r, status, e.now().Truncate(time.Second))
	return nil
}

// scheduleSettle settles a processing refund after d (real time), so its
// notification goes out even if nobody queries.
func (e *Emulator) scheduleSettle(no string, d time.Duration) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if d < 0 {
			d = 0
		}
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-e.ctx.Done():
			return
		case <-timer.C:
		}
		e.mu.Lock()
		e.refund(no)
		e.mu.Unlock()
	}()
}
