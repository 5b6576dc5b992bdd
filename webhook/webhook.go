// Package webhook is the HTTP listener for the providers' signed
// notifications: POST /notify/wechat, POST /notify/alipay and GET
// /healthz. Each notification is verified and decrypted by its adapter,
// checked against the shop's merchant and app ids, then handed to the
// engine, which checks it against the ledger and applies it through the
// ledger's compare-and-set; the answer that acknowledges it is written
// only after that commit. A forged or tampered body changes nothing and
// leaves one rate-limited log line, never an audit entry.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"till/checkout"
	"till/providers/alipay"
	"till/providers/wechat"
)

// Limits.
const (
	MaxBody              = 64 << 10 // bytes of a notification body
	DefaultMaxConcurrent = 64       // requests handled at once; more get 503
	DefaultLogEvery      = 10 * time.Second
	ReadTimeout          = 10 * time.Second
	WriteTimeout         = 10 * time.Second
)

// Engine is what the listener needs from checkout.Engine.
type Engine interface {
	Notified(ctx context.Context, n checkout.PaymentNotice) (checkout.Order, error)
	NotifiedRefund(ctx context.Context, n checkout.RefundNotice) (checkout.Refund, checkout.Order, error)
	RefuseNotice(ctx context.Context, orderNo, refundNo string, amount checkout.Money, reason string) error
	Order(ctx context.Context, no string) (checkout.Order, error)
}

var _ Engine = (*checkout.Engine)(nil)

// WeChat parses WeChat Pay notifications (*wechat.Provider).
type WeChat interface {
	ParseNotification(r *http.Request) (wechat.Event, error)
	Merchant() (mchID, appID string)
}

// Alipay parses Alipay notifications (*alipay.Provider); it checks app_id
// itself.
type Alipay interface {
	ParseNotificationRequest(r *http.Request) (alipay.Event, error)
}

// Config is what the listener is built from. A nil WeChat or Alipay
// leaves its route answering 404.
type Config struct {
	Engine Engine
	WeChat WeChat
	Alipay Alipay
	// Ping says whether the ledger answers, for /healthz; nil reads an
	// order that does not exist through the engine.
	Ping          func(ctx context.Context) error
	Log           *slog.Logger // nil discards
	MaxConcurrent int          // 0: DefaultMaxConcurrent
	LogEvery      time.Duration
}

// Handler serves the routes. Build it with New.
type Handler struct {
	cfg  Config
	mux  *http.ServeMux
	sem  chan struct{}
	logs map[string]*limiter
}

// New builds the handler.
func New(cfg Config) *Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = DefaultLogEvery
	}
	if cfg.Ping == nil && cfg.Engine != nil {
		eng := cfg.Engine
		cfg.Ping = func(ctx context.Context) error {
			_, err := eng.Order(ctx, "healthz")
			if errors.Is(err, checkout.ErrNotFound) {
				return nil
			}
			return err
		}
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), sem: make(chan struct{}, cfg.MaxConcurrent),
		logs: map[string]*limiter{"wechat": {every: cfg.LogEvery}, "alipay": {every: cfg.LogEvery}}}
	h.mux.HandleFunc("POST /notify/wechat", h.wechat)
	h.mux.HandleFunc("POST /notify/alipay", h.alipay)
	h.mux.HandleFunc("GET /healthz", h.healthz)
	return h
}

// ServeHTTP reads the body (at most MaxBody, within the server's read
// timeout), then bounds the requests being worked on (503 when full), and
// turns any panic into a 500. The body is read before a slot is taken, so
// clients that send slowly cannot hold the slots real notifications need.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			h.cfg.Log.Error("webhook: panic while handling a request", "path", r.URL.Path, "panic", fmt.Sprint(v))
			h.fail(w, r, http.StatusInternalServerError, "internal error")
		}
	}()
	if r.ContentLength > MaxBody {
		h.fail(w, r, http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	if r.Body != nil {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			h.fail(w, r, http.StatusRequestEntityTooLarge, "body too large")
			return
		case err != nil:
			h.fail(w, r, http.StatusBadRequest, "body could not be read")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	select {
	case h.sem <- struct{}{}:
		defer func() { <-h.sem }()
	default:
		h.fail(w, r, http.StatusServiceUnavailable, "busy")
		return
	}
	h.mux.ServeHTTP(w, r)
}

// fail answers a request that is not acknowledged as its provider reads
// answers: WeChat Pay a JSON error, Alipay (and anything else) plain text.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if r.URL.Path == "/notify/wechat" {
		wechatFail(w, status, msg)
		return
	}
	if r.URL.Path == "/notify/alipay" {
		msg = "fail"
	}
	http.Error(w, msg, status)
}

// wechatFail answers a WeChat notification that is not acknowledged.
func wechatFail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{"FAIL", msg})
}

func (h *Handler) wechat(w http.ResponseWriter, r *http.Request) {
	if h.cfg.WeChat == nil || h.cfg.Engine == nil {
		wechatFail(w, http.StatusNotFound, "WeChat Pay is not configured")
		return
	}
	ev, err := h.cfg.WeChat.ParseNotification(r)
	switch {
	case errors.Is(err, wechat.ErrUnsupportedEvent):
		// Verified, of a kind till does not handle: retrying will not help.
		h.cfg.Log.Info("webhook: wechat notification of an unsupported kind", "err", err)
		w.WriteHeader(http.StatusNoContent)
		return
	case err != nil:
		h.logs["wechat"].log(h.cfg.Log, "webhook: wechat notification refused", err)
		wechatFail(w, http.StatusUnauthorized, "notification not verified")
		return
	}
	mch, app := h.cfg.WeChat.Merchant()
	ctx := r.Context()
	switch ev := ev.(type) {
	case *wechat.PaymentEvent:
		if ev.MchID != mch || ev.AppID != app {
			err = h.cfg.Engine.RefuseNotice(ctx, ev.OrderNo, "", ev.Amount,
				fmt.Sprintf("WeChat Pay notification for mchid %q appid %q, not this shop's", ev.MchID, ev.AppID))
			break
		}
		if ev.State == "" {
			err = &checkout.NoticeError{OrderNo: ev.OrderNo, Reason: "payment notification with trade_state " + ev.TradeState + " that could not be read", Err: checkout.ErrNoticeMismatch}
			break
		}
		_, err = h.cfg.Engine.Notified(ctx, checkout.PaymentNotice{
			Method: checkout.MethodWeChat, ID: ev.ID, OrderNo: ev.OrderNo, ProviderTradeNo: ev.TransactionID,
			Amount: ev.Amount, Currency: ev.Currency, State: ev.State, PaidAt: ev.PaidAt, Raw: ev.TradeState,
		})
	case *wechat.RefundEvent:
		if ev.MchID != mch {
			err = h.cfg.Engine.RefuseNotice(ctx, ev.OrderNo, ev.RefundNo, ev.Refund,
				fmt.Sprintf("WeChat Pay refund notification for mchid %q, not this shop's", ev.MchID))
			break
		}
		_, _, err = h.cfg.Engine.NotifiedRefund(ctx, checkout.RefundNotice{
			Method: checkout.MethodWeChat, ID: ev.ID, OrderNo: ev.OrderNo, RefundNo: ev.RefundNo, ProviderRefundNo: ev.RefundID,
			Amount: ev.Refund, Total: ev.Total, State: ev.State, SucceededAt: ev.SucceededAt, Raw: ev.Status,
		})
	default:
		err = fmt.Errorf("unexpected event %T", ev)
	}
	if err != nil {
		status, msg := h.refusal("wechat", err)
		wechatFail(w, status, msg)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) alipay(w http.ResponseWriter, r *http.Request) {
	fail := func(status int) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		io.WriteString(w, "fail")
	}
	if h.cfg.Alipay == nil || h.cfg.Engine == nil {
		fail(http.StatusNotFound)
		return
	}
	ev, err := h.cfg.Alipay.ParseNotificationRequest(r)
	var other *alipay.OtherAppError
	switch {
	case errors.As(err, &other):
		// Verified, for another app: refused and put in the audit trail.
		_ = h.cfg.Engine.RefuseNotice(r.Context(), other.OrderNo, "", other.Amount,
			fmt.Sprintf("Alipay notification for app_id %q, not this shop's", other.AppID))
		fail(http.StatusBadRequest)
		return
	case err != nil:
		h.logs["alipay"].log(h.cfg.Log, "webhook: alipay notification refused", err)
		fail(http.StatusBadRequest)
		return
	}
	if err := h.applyAlipay(r.Context(), ev); err != nil {
		status, _ := h.refusal("alipay", err)
		fail(status)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "success")
}

// applyAlipay applies the trade part of a notification, then its refund
// part (a refund re-notifies the trade, with out_biz_no and refund_fee).
func (h *Handler) applyAlipay(ctx context.Context, ev alipay.Event) error {
	n := checkout.PaymentNotice{Method: checkout.MethodAlipay, ID: ev.NotifyID, OrderNo: ev.OrderNo, ProviderTradeNo: ev.TradeNo,
		Amount: ev.TotalAmount, Currency: checkout.Currency, PaidAt: ev.GmtPayment, Raw: ev.TradeStatus}
	switch {
	case ev.TradeStatus == "TRADE_CLOSED" && ev.Paid():
		n.State = checkout.TradeRefunded
	case ev.Paid():
		n.State = checkout.TradePaid
	case ev.TradeStatus == "TRADE_CLOSED":
		n.State = checkout.TradeClosed
	default:
		n.State = checkout.TradeNotPaid
	}
	if _, err := h.cfg.Engine.Notified(ctx, n); err != nil {
		return err
	}
	if ev.OutBizNo == "" {
		return nil
	}
	_, _, err := h.cfg.Engine.NotifiedRefund(ctx, checkout.RefundNotice{
		Method: checkout.MethodAlipay, ID: ev.NotifyID, OrderNo: ev.OrderNo, RefundNo: ev.OutBizNo,
		Refunded: ev.RefundFee, State: checkout.RefundSucceeded, SucceededAt: ev.GmtRefund, Raw: ev.TradeStatus,
	})
	return err
}

// refusal maps a verified notification the engine did not apply to a
// status, and logs it. Every one of them makes the provider send again.
func (h *Handler) refusal(route string, err error) (int, string) {
	switch {
	case errors.Is(err, checkout.ErrUnknownOrder), errors.Is(err, checkout.ErrUnknownRefund):
		h.cfg.Log.Warn("webhook: notification for something the ledger does not hold", "route", route, "err", err)
		return http.StatusNotFound, err.Error()
	case errors.Is(err, checkout.ErrNoticeMismatch):
		h.cfg.Log.Error("webhook: notification refused", "route", route, "err", err)
		return http.StatusBadRequest, err.Error()
	}
	h.cfg.Log.Error("webhook: notification not applied", "route", route, "err", err)
	return http.StatusInternalServerError, "not applied; send again"
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	res := struct {
		OK        bool            `json:"ok"`
		Ledger    string          `json:"ledger"`
		Providers map[string]bool `json:"providers"`
	}{OK: true, Ledger: "ok", Providers: map[string]bool{"wechat": h.cfg.WeChat != nil, "alipay": h.cfg.Alipay != nil}}
	if h.cfg.Ping == nil {
		res.OK, res.Ledger = false, "none"
	} else {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := h.cfg.Ping(ctx); err != nil {
			// The detail (paths) goes to the log, not to whoever asks.
			h.cfg.Log.Error("webhook: ledger not reachable", "err", err)
			res.OK, res.Ledger = false, "unreachable"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if !res.OK {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(res)
}

// limiter lets one log line through per interval, counting the others.
type limiter struct {
	every   time.Duration
	mu      sync.Mutex
	last    time.Time
	dropped int
}

func (l *limiter) log(log *slog.Logger, msg string, err error) {
	l.mu.Lock()
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.dropped++
		l.mu.Unlock()
		return
	}
	dropped := l.dropped
	l.last, l.dropped = now, 0
	l.mu.Unlock()
	log.Warn(msg, "err", err, "not_logged_since_last", dropped)
}

// Listener is the webhook served on an address.
type Listener struct {
	// URL is http://host:port of the listener, with no path.
	URL string
	srv *http.Server
	ln  net.Listener
	err chan error

	closeOnce sync.Once
	closeErr  error
}

// Listen serves h on addr ("127.0.0.1:0" for a free port). An address
// that cannot be taken is an error naming it.
func Listen(addr string, h http.Handler, log *slog.Logger) (*Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("webhook: cannot listen on %s: %w", addr, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Listener{
		URL: "http://" + ln.Addr().String(),
		ln:  ln,
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       ReadTimeout,
			WriteTimeout:      WriteTimeout,
			IdleTimeout:       time.Minute,
			MaxHeaderBytes:    16 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		err: make(chan error, 1),
	}
	go func() { l.err <- l.srv.Serve(ln) }()
	return l, nil
}

// Addr is the address listened on.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Close stops the listener, letting requests in flight finish until ctx
// ends.
// A second Close returns the first one's answer.
func (l *Listener) Close(ctx context.Context) error {
	l.closeOnce.Do(func() {
		err := l.srv.Shutdown(ctx)
		if serr := <-l.err; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
		l.closeErr = err
	})
	return l.closeErr
}
