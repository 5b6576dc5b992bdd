package wechat

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"

	"till/checkout"
	"till/providers/httpclient"
)

// Provider is checkout.Provider on WeChat Pay API v3 Native payments.
type Provider struct {
	creds    Credentials
	api      *core.Client // signs and verifies; for calls the SDK has no service for
	download *core.Client // signs, verifies nothing: bill files come unsigned
	native   *native.NativeApiService
	refunds  *refunddomestic.RefundsApiService
	notify   *Notifier
	clock    func() time.Time
	log      *slog.Logger
}

var _ checkout.Provider = (*Provider)(nil)

// Option configures New.
type Option func(*options)

type options struct {
	httpClient *http.Client
	clock      func() time.Time
	log        *slog.Logger
}

// WithHTTPClient sets the HTTP client. Its transport is wrapped so that
// requests go to Credentials.APIBase; its timeouts are kept.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithClock sets the clock used to check notification timestamps.
func WithClock(now func() time.Time) Option { return func(o *options) { o.clock = now } }

// WithLogger sets the logger (default: discard). Keys and Authorization
// headers are never logged.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

func buildOptions(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	if o.clock == nil {
		o.clock = time.Now
	}
	if o.log == nil {
		o.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// New builds the adapter. It checks c (Load's output always passes) but
// makes no request.
func New(c Credentials, opts ...Option) (*Provider, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.APIBase == "" {
		c.APIBase = DefaultAPIBase
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	o := buildOptions(opts)
	hc, err := httpClient(c, o.httpClient)
	if err != nil {
		return nil, err
	}
	var auth core.ClientOption
	if c.PlatformCert != nil {
		auth = clientOptions{
			option.WithMerchantCredential(c.MchID, c.MerchantSerial, c.PrivateKey),
			option.WithWechatPayCertificate([]*x509.Certificate{c.PlatformCert}),
		}
	} else {
		auth = option.WithWechatPayPublicKeyAuthCipher(c.MchID, c.MerchantSerial, c.PrivateKey, c.PlatformKeyID, c.PlatformPublicKey)
	}
	client, err := core.NewClient(context.Background(), auth, option.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("wechat: %w", err)
	}
	n, err := newNotifier(c, o)
	if err != nil {
		return nil, err
	}
	p := &Provider{
		creds:    c,
		api:      client,
		download: core.NewClientWithValidator(client, &validators.NullValidator{}),
		native:   &native.NativeApiService{Client: client},
		refunds:  &refunddomestic.RefundsApiService{Client: client},
		notify:   n,
		clock:    o.clock,
		log:      o.log,
	}
	p.log.Info("wechat provider ready", "credentials", c)
	return p, nil
}

// clientOptions applies several options as one.
type clientOptions []core.ClientOption

func (cs clientOptions) Apply(s *core.DialSettings) error {
	for _, c := range cs {
		if err := c.Apply(s); err != nil {
			return err
		}
	}
	return nil
}

// httpClient returns the client the SDK uses: the given one or a default
// with connect and overall timeouts, its transport rewritten to APIBase.
func httpClient(c Credentials, given *http.Client) (*http.Client, error) {
	var hc http.Client
	if given != nil {
		hc = *given
	} else {
		hc = *httpclient.New(DefaultConnectTimeout, c.RequestTimeout)
	}
	base, err := url.Parse(c.APIBase)
	if err != nil {
		return nil, fmt.Errorf("wechat: api_base: %w", err)
	}
	if c.APIBase != DefaultAPIBase {
		next := hc.Transport
		if next == nil {
			next = http.DefaultTransport
		}
		hc.Transport = &rebase{scheme: base.Scheme, host: base.Host, next: next}
	}
	// The SDK never needs redirects; following one would re-send a signed
	// request to another host.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hc, nil
}

// rebase sends every request to another scheme and host. The SDK signs
// only the path and query, so the signature stays valid.
type rebase struct {
	scheme, host string
	next         http.RoundTripper
}

func (r *rebase) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.URL.Scheme = r.scheme
	out.URL.Host = r.host
	out.Host = ""
	return r.next.RoundTrip(out)
}

// Method is WeChat Pay.
func (p *Provider) Method() checkout.Method { return checkout.MethodWeChat }

// Merchant is the mchid and appid this provider is configured with, which a
// notification must carry.
func (p *Provider) Merchant() (mchID, appID string) { return p.creds.MchID, p.creds.AppID }

// cst is Beijing time: WeChat's RFC 3339 fields use +08:00.
var cst = time.FixedZone("CST", 8*3600)

// FormatTimeExpire renders a deadline as WeChat documents it: whole
// seconds in +08:00, e.g. 2026-11-23T10:34:56+08:00, whatever the
// machine's zone.
func FormatTimeExpire(t time.Time) string {
	return t.Truncate(time.Second).In(cst).Format(time.RFC3339)
}

// AttachPrefix starts the attach field till sends: "terminal=<id>".
const AttachPrefix = "terminal="

// Create places a Native order and returns its code_url.
func (p *Provider) Create(ctx context.Context, req checkout.CreateRequest) (checkout.CreateResult, error) {
	const op = "create"
	if req.Amount <= 0 {
		return checkout.CreateResult{}, &checkout.ProviderError{Op: op, Kind: checkout.KindRefused, Message: "the amount must be at least 0.01"}
	}
	if req.OrderNo == "" {
		return checkout.CreateResult{}, &checkout.ProviderError{Op: op, Kind: checkout.KindRefused, Message: "the order has no number"}
	}
	desc := truncateRunes(req.Description, 127)
	if desc == "" {
		desc = req.OrderNo
	}
	notifyURL := req.NotifyURL
	if notifyURL == "" {
		notifyURL = p.creds.NotifyURL
	}
	total := int64(req.Amount)
	pr := native.PrepayRequest{
		Appid:       &p.creds.AppID,
		Mchid:       &p.creds.MchID,
		Description: &desc,
		OutTradeNo:  &req.OrderNo,
		NotifyUrl:   &notifyURL, // required by the SDK; empty when neither is configured
		Amount:      &native.Amount{Total: &total, Currency: ptr("CNY")},
	}
	if !req.ExpiresAt.IsZero() {
		// The model's MarshalJSON formats with time.RFC3339 in the time's
		// own zone; give it whole seconds in +08:00.
		exp := req.ExpiresAt.Truncate(time.Second).In(cst)
		pr.TimeExpire = &exp
	}
	if req.Terminal != "" {
		pr.Attach = ptr(truncateBytes(AttachPrefix+req.Terminal, 128))
	}
	resp, res, err := p.native.Prepay(ctx, pr)
	if err != nil {
		return checkout.CreateResult{}, p.fail(op, req.OrderNo, res, err)
	}
	if resp.CodeUrl == nil || *resp.CodeUrl == "" {
		return checkout.CreateResult{}, unknown(op, "", "WeChat Pay answered without a code_url", nil)
	}
	p.log.Info("wechat order created", "order", req.OrderNo, "amount_fen", total)
	return checkout.CreateResult{CodeURL: *resp.CodeUrl}, nil
}

// Query asks for a trade by out_trade_no.
func (p *Provider) Query(ctx context.Context, orderNo string) (checkout.TradeStatus, error) {
	const op = "query"
	tx, res, err := p.native.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{
		OutTradeNo: &orderNo, Mchid: &p.creds.MchID,
	})
	if err != nil {
		if code := apiCode(err); code == "ORDER_NOT_EXIST" || code == "ORDERNOTEXIST" {
			return checkout.TradeStatus{State: checkout.TradeNotFound, Raw: code}, nil
		}
		return checkout.TradeStatus{}, p.fail(op, orderNo, res, err)
	}
	st, err := tradeStatus(tx, orderNo, p.creds.MchID)
	if err != nil {
		p.log.Warn("wechat query answer refused", "order", orderNo, "err", err)
		return checkout.TradeStatus{}, err
	}
	p.log.Debug("wechat query", "order", orderNo, "trade_state", st.Raw)
	return st, nil
}

// tradeStatus maps a query answer to checkout's words. An answer about
// another order or merchant, or a state this code does not know, is an
// unknown outcome.
func tradeStatus(tx *payments.Transaction, orderNo, mchID string) (checkout.TradeStatus, error) {
	const op = "query"
	if tx == nil || tx.TradeState == nil {
		return checkout.TradeStatus{}, unknown(op, "", "WeChat Pay answered without a trade state", nil)
	}
	if tx.OutTradeNo != nil && *tx.OutTradeNo != orderNo {
		return checkout.TradeStatus{}, unknown(op, "", "WeChat Pay answered about another order", nil)
	}
	if tx.Mchid != nil && *tx.Mchid != mchID {
		return checkout.TradeStatus{}, unknown(op, "", "WeChat Pay answered about another merchant", nil)
	}
	st := checkout.TradeStatus{Raw: *tx.TradeState}
	if tx.Amount != nil && tx.Amount.Total != nil {
		st.Amount = checkout.Money(*tx.Amount.Total)
	}
	if tx.TransactionId != nil {
		st.ProviderTradeNo = *tx.TransactionId
	}
	switch st.Raw {
	case "SUCCESS", "REFUND":
		st.State = checkout.TradePaid
		if tx.SuccessTime != nil {
			if t, err := time.Parse(time.RFC3339, *tx.SuccessTime); err == nil {
				st.PaidAt = t
			}
		}
	case "NOTPAY", "USERPAYING", "ACCEPT":
		st.State = checkout.TradeNotPaid
	case "CLOSED":
		st.State = checkout.TradeClosed
	case "REVOKED":
		// A payment-code trade reversed (Reverse): closed when nothing had
		// been paid; with a success_time it had been paid and the reverse
		// gave the money back, which the ledger keeps as paid and refunded.
		st.State = checkout.TradeClosed
		if tx.SuccessTime != nil && *tx.SuccessTime != "" {
			st.State = checkout.TradeRefunded
			if t, err := time.Parse(time.RFC3339, *tx.SuccessTime); err == nil {
				st.PaidAt = t
			}
		}
	case "PAYERROR":
		st.State = checkout.TradeFailed
	default:
		return checkout.TradeStatus{}, unknown(op, st.Raw, "WeChat Pay answered an unknown trade state", nil)
	}
	return st, nil
}

// Close closes an unpaid trade. A paid trade is CloseWasPaid, not an
// error.
func (p *Provider) Close(ctx context.Context, orderNo string) (checkout.CloseResult, error) {
	const op = "close"
	res, err := p.native.CloseOrder(ctx, native.CloseOrderRequest{OutTradeNo: &orderNo, Mchid: &p.creds.MchID})
	if err == nil {
		p.log.Info("wechat order closed", "order", orderNo)
		return checkout.CloseResult{Outcome: checkout.CloseClosed}, nil
	}
	switch apiCode(err) {
	case "ORDERPAID":
		p.log.Info("wechat close found the order paid", "order", orderNo)
		return checkout.CloseResult{Outcome: checkout.CloseWasPaid}, nil
	case "TRADE_ERROR":
		// Ambiguous: it may mean paid. Let a query decide; if it cannot,
		// the outcome stays unknown and the engine keeps the order open.
		st, qerr := p.Query(ctx, orderNo)
		switch {
		case qerr != nil:
		case st.State == checkout.TradePaid:
			return checkout.CloseResult{Outcome: checkout.CloseWasPaid, ProviderTradeNo: st.ProviderTradeNo}, nil
		case st.State == checkout.TradeClosed:
			return checkout.CloseResult{Outcome: checkout.CloseClosed}, nil
		}
		return checkout.CloseResult{}, unknown(op, "TRADE_ERROR", "WeChat Pay would not close the order; checking again later", err)
	}
	return checkout.CloseResult{}, p.fail(op, orderNo, res, err)
}

// Refund asks for a domestic refund; retries reuse req.RefundNo, which
// WeChat treats as the idempotency key.
func (p *Provider) Refund(ctx context.Context, req checkout.RefundRequest) (checkout.RefundStatus, error) {
	const op = "refund"
	switch {
	case req.Amount <= 0:
		return checkout.RefundStatus{}, &checkout.ProviderError{Op: op, Kind: checkout.KindRefused, Message: "the refund must be at least 0.01"}
	case req.Total <= 0 || req.Amount > req.Total:
		return checkout.RefundStatus{}, &checkout.ProviderError{Op: op, Kind: checkout.KindRefused, Message: "the refund is above the order's total"}
	case req.OrderNo == "" || req.RefundNo == "":
		return checkout.RefundStatus{}, &checkout.ProviderError{Op: op, Kind: checkout.KindRefused, Message: "the refund has no order or refund number"}
	}
	amount, total := int64(req.Amount), int64(req.Total)
	cr := refunddomestic.CreateRequest{
		OutTradeNo:  &req.OrderNo,
		OutRefundNo: &req.RefundNo,
		Amount:      &refunddomestic.AmountReq{Refund: &amount, Total: &total, Currency: ptr("CNY")},
	}
	if r := truncateRunes(req.Reason, 80); r != "" {
		cr.Reason = &r
	}
	if p.creds.NotifyURL != "" {
		cr.NotifyUrl = ptr(p.creds.NotifyURL)
	}
	rf, res, err := p.refunds.Create(ctx, cr)
	if err != nil {
		return checkout.RefundStatus{}, p.fail(op, req.RefundNo, res, err)
	}
	st, err := refundStatus(op, rf, req.OrderNo, req.RefundNo)
	if err != nil {
		return checkout.RefundStatus{}, err
	}
	p.log.Info("wechat refund", "order", req.OrderNo, "refund", req.RefundNo, "amount_fen", amount, "status", st.Raw)
	return st, nil
}

// QueryRefund asks for a refund by out_refund_no.
func (p *Provider) QueryRefund(ctx context.Context, orderNo, refundNo string) (checkout.RefundStatus, error) {
	const op = "query refund"
	rf, res, err := p.refunds.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: &refundNo})
	if err != nil {
		return checkout.RefundStatus{}, p.fail(op, refundNo, res, err)
	}
	return refundStatus(op, rf, orderNo, refundNo)
}

// refundStatus maps a refund answer. ABNORMAL is not final: it needs
// manual handling on the merchant platform, so it stays requested.
func refundStatus(op string, rf *refunddomestic.Refund, orderNo, refundNo string) (checkout.RefundStatus, error) {
	if rf == nil || rf.Status == nil {
		return checkout.RefundStatus{}, unknown(op, "", "WeChat Pay answered without a refund status", nil)
	}
	if rf.OutRefundNo != nil && *rf.OutRefundNo != refundNo {
		return checkout.RefundStatus{}, unknown(op, "", "WeChat Pay answered about another refund", nil)
	}
	if orderNo != "" && rf.OutTradeNo != nil && *rf.OutTradeNo != orderNo {
		return checkout.RefundStatus{}, &checkout.ProviderError{Op: op, Kind: checkout.KindRefused,
			Message: "this refund number belongs to another order"}
	}
	st := checkout.RefundStatus{Raw: string(*rf.Status)}
	if rf.RefundId != nil {
		st.ProviderRefundNo = *rf.RefundId
	}
	switch *rf.Status {
	case refunddomestic.STATUS_PROCESSING, refunddomestic.STATUS_ABNORMAL:
		st.State = checkout.RefundRequested
	case refunddomestic.STATUS_SUCCESS:
		st.State = checkout.RefundSucceeded
		if rf.SuccessTime != nil {
			st.SucceededAt = *rf.SuccessTime
		}
	case refunddomestic.STATUS_CLOSED:
		st.State = checkout.RefundFailed
	default:
		return checkout.RefundStatus{}, unknown(op, st.Raw, "WeChat Pay answered an unknown refund status", nil)
	}
	return st, nil
}

// fail classifies err and logs it (without secrets).
func (p *Provider) fail(op, number string, res *core.APIResult, err error) error {
	out := classify(op, res, err)
	level := slog.LevelWarn
	if checkout.IsDefinite(out) {
		level = slog.LevelInfo
	}
	p.log.Log(context.Background(), level, "wechat call failed", "op", op, "number", number,
		"kind", checkout.KindOf(out).String(), "err", logText(err))
	return out
}

func ptr[T any](v T) *T { return &v }

func truncateRunes(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// apiCode is the error code of a WeChat error answer, or "".
func apiCode(err error) string {
	var ae *core.APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}
