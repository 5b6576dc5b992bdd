package alipayemu

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"till/catalog"
	"till/providers/payerpage"
)

// Config sets up an emulator. AppID, AppPublicKey and AlipayKey are
// required (public-key mode); the rest have defaults.
type Config struct {
	AppID        string          // the only app_id the gateway accepts
	AppPublicKey *rsa.PublicKey  // verifies the app's request signatures
	AlipayKey    *rsa.PrivateKey // signs answers and notifications

	// AlipayCertSN, when set, is sent as alipay_cert_sn in every answer
	// (certificate mode): the SN of the "Alipay public certificate" the
	// client loaded. Leave it empty in public-key mode.
	AlipayCertSN string

	Clock func() time.Time // default time.Now; called from several goroutines
	Store Store            // nil: trades live in memory only

	// PayerBase is the scheme and host the qr_code URLs start with,
	// e.g. "http://127.0.0.1:8765". Empty: taken from each request's Host.
	PayerBase string

	// NotifyRetryUnit scales the notification retry schedule: the real
	// one waits 4, 10, 10, 60, 120, 360 and 900 minutes, that is so many
	// units. Default time.Minute (the real schedule); tests use a
	// millisecond.
	NotifyRetryUnit time.Duration
	NotifyClient    *http.Client // default: 5 s timeout

	// DefaultExpiry is how long a trade stays payable when the request
	// sets no limit of its own (time_expire or timeout_express for a
	// payment-code trade, timeout_express from the scan for a precreate),
	// and how long an unscanned precreate code lives without
	// qr_code_timeout_express. Default 2 h.
	DefaultExpiry time.Duration

	Logger *slog.Logger // default: discard

	// Lang is the payer page's language for a request whose
	// Accept-Language names neither Chinese nor English; zero: English.
	Lang catalog.Lang
}

// String keeps the Alipay private key out of logs.
func (c Config) String() string {
	return fmt.Sprintf("alipayemu.Config{AppID: %q, AlipayKey: [redacted], PayerBase: %q}", c.AppID, c.PayerBase)
}

// GoString keeps the Alipay private key out of %#v.
func (c Config) GoString() string { return c.String() }

// Store persists trades, one JSON value per out_trade_no. The sandbox backs
// it with a bbolt bucket. Put is called after every change; ForEach once,
// in New.
type Store interface {
	Put(key string, value []byte) error
	ForEach(fn func(key string, value []byte) error) error
}

// Faults damages the emulator's behaviour on purpose. The zero value is
// no fault.
type Faults struct {
	Method string // only requests for this API method, e.g. "alipay.trade.cancel"; "" = all

	Latency       time.Duration // wait this long before answering
	Status5xx     bool          // answer HTTP 502 with an HTML body
	Reset         bool          // drop the connection without an answer
	MalformedBody bool          // answer with truncated JSON
	BadSignature  bool          // sign the answer wrongly
	SystemError   bool          // answer 40004 ACQ.SYSTEM_ERROR (cancel adds retry_flag=Y)
	Unavailable   bool          // answer 20000 isp.unknow-error
	// OtherOrder answers, signed and well formed, about another
	// out_trade_no than the one asked for: a mixed-up answer.
	OtherOrder string

	// Unprocessed leaves the request undone. By default the request is
	// carried out and only the answer is lost or damaged, which is the
	// case a caller must settle by query.
	Unprocessed bool

	// Times is how many matching requests the faults hit; 0 = every one
	// until SetFaults is called again.
	Times int
}

func (f Faults) any() bool {
	return f.Latency > 0 || f.Status5xx || f.Reset || f.MalformedBody || f.BadSignature || f.SystemError || f.Unavailable || f.OtherOrder != ""
}

// Sentinel errors of the test hooks; the payer page answers them with
// 404 and 409 (and ErrNotSaved with 500).
var (
	ErrUnknownTrade = errors.New("no such trade")
	ErrTradeClosed  = errors.New("the trade is closed and can no longer be paid")
	ErrTradePaid    = errors.New("the trade is already paid")
)

// Emulator is the Alipay gateway and payer pages as an http.Handler.
type Emulator struct {
	cfg    Config
	log    *slog.Logger
	mux    *http.ServeMux
	client *http.Client

	mu      sync.Mutex
	trades  map[string]*trade // by out_trade_no
	byToken map[string]*trade
	byNo    map[string]*trade // by trade_no
	faults  Faults
	lastReq url.Values
	closed  bool
	saveErr error              // the first save that failed in the request under way
	bills   map[string]billZip // download token -> zip (bill.go)
	payer   *payerpage.Handler

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New checks cfg, loads the trades in cfg.Store, and returns the handler.
func New(cfg Config) (*Emulator, error) {
	switch {
	case cfg.AppID == "":
		return nil, errors.New("alipayemu: AppID is required")
	case cfg.AppPublicKey == nil:
		return nil, errors.New("alipayemu: AppPublicKey is required")
	case cfg.AlipayKey == nil:
		return nil, errors.New("alipayemu: AlipayKey is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.NotifyRetryUnit <= 0 {
		cfg.NotifyRetryUnit = time.Minute
	}
	if cfg.DefaultExpiry <= 0 {
		cfg.DefaultExpiry = 2 * time.Hour
	}
	cfg.PayerBase = strings.TrimRight(cfg.PayerBase, "/")
	e := &Emulator{
		cfg:     cfg,
		log:     cfg.Logger,
		client:  cfg.NotifyClient,
		trades:  map[string]*trade{},
		byToken: map[string]*trade{},
		byNo:    map[string]*trade{},
	}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if e.client == nil {
		e.client = &http.Client{Timeout: 5 * time.Second}
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	if cfg.Store != nil {
		err := cfg.Store.ForEach(func(key string, value []byte) error {
			var t trade
			if err := json.Unmarshal(value, &t); err != nil {
				return fmt.Errorf("trade %s: %w", key, err)
			}
			e.index(&t)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("alipayemu: loading trades: %w", err)
		}
	}
	e.mux = http.NewServeMux()
	e.mux.HandleFunc("/gateway.do", e.serveGateway)
	e.mux.HandleFunc(BillDownloadPath, e.serveBill)
	e.payer = payerpage.New(payerpage.Alipay, cfg.Lang, payer{e})
	e.mux.HandleFunc("/qr/", func(w http.ResponseWriter, r *http.Request) {
		e.payer.Serve(w, r, strings.TrimPrefix(r.URL.Path, "/qr/"))
	})
	return e, nil
}

func (e *Emulator) index(t *trade) {
	e.trades[t.OutTradeNo] = t
	if t.Token != "" {
		e.byToken[t.Token] = t
	}
	if t.TradeNo != "" {
		e.byNo[t.TradeNo] = t
	}
}

// ServeHTTP serves POST /gateway.do and the payer pages under /qr/.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.mux.ServeHTTP(w, r) }

// Close stops the notification retries and waits for them to end.
func (e *Emulator) Close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	e.wg.Wait()
}

// SetFaults replaces the fault switches.
func (e *Emulator) SetFaults(f Faults) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = f
}

// takeFault returns the faults that hit this request, counting it.
func (e *Emulator) takeFault(method string) (Faults, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.faults
	if !f.any() || (f.Method != "" && f.Method != method) {
		return Faults{}, false
	}
	if f.Times > 0 {
		e.faults.Times--
		if e.faults.Times == 0 {
			e.faults = Faults{}
		}
	}
	return f, true
}

// LastRequest returns a copy of the parameters of the last gateway request
// (timestamp, app_cert_sn, biz_content, …), for tests.
func (e *Emulator) LastRequest() url.Values {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := url.Values{}
	for k, v := range e.lastReq {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// Trade returns a copy of a trade as the emulator holds it.
func (e *Emulator) Trade(outTradeNo string) (TradeInfo, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.trades[outTradeNo]
	if !ok {
		return TradeInfo{}, false
	}
	e.expireLocked(t, e.cfg.Clock())
	return t.info(), true
}

// Scan does what opening the payer page does: the precreated trade comes
// into existence as WAIT_BUYER_PAY.
func (e *Emulator) Scan(outTradeNo string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.trades[outTradeNo]
	if !ok {
		return ErrUnknownTrade
	}
	return e.scanLocked(t, e.cfg.Clock())
}

// Pay does what the payer page's Pay button does: scan if needed, then
// pay. Paying a closed or expired trade returns ErrTradeClosed.
func (e *Emulator) Pay(outTradeNo string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.trades[outTradeNo]
	if !ok {
		return ErrUnknownTrade
	}
	return e.payLocked(t, e.cfg.Clock())
}

// Finish moves a paid trade to TRADE_FINISHED, as Alipay does when the
// refund period is over: it can no longer be refunded.
func (e *Emulator) Finish(outTradeNo string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.trades[outTradeNo]
	if !ok {
		return ErrUnknownTrade
	}
	if t.Status != StatusSuccess {
		return fmt.Errorf("trade %s is %s, not %s", outTradeNo, t.Status, StatusSuccess)
	}
	before := t.info()
	t.Status = StatusFinished
	if err := e.saveLocked(t); err != nil {
		e.restoreLocked(t, before)
		return err
	}
	e.notifyLocked(t, nil)
	return nil
}

// Server is an emulator listening on a loopback port.
type Server struct {
	URL      string // http://127.0.0.1:PORT
	Gateway  string // URL + "/gateway.do"
	Emulator *Emulator

	srv *http.Server
}

// Start listens on addr ("" = 127.0.0.1 on a free port) and serves an
// emulator built from cfg; PayerBase defaults to the server's URL.
func Start(addr string, cfg Config) (*Server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("alipayemu: %w", err)
	}
	base := "http://" + ln.Addr().String()
	if cfg.PayerBase == "" {
		cfg.PayerBase = base
	}
	emu, err := New(cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	s := &Server{
		URL:      base,
		Gateway:  base + "/gateway.do",
		Emulator: emu,
		// net/http reports to ErrorLog, by default stderr: in the sandbox
		// that is the terminal the desk owns.
		srv: &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(emu.log.Handler(), slog.LevelWarn)},
	}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the listener, drops open connections and stops the
// emulator's notifications.
func (s *Server) Close() error {
	err := s.srv.Close()
	s.Emulator.Close()
	return err
}
