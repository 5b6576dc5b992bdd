package alipay

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smartwalle/alipay/v3"

	"till/checkout"
	"till/providers/httpclient"
)

// Defaults of the HTTP client New builds (the SDK's own has no timeout).
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultTimeout        = 15 * time.Second
)

// ProductCode is the product of QR face-to-face payments.
const ProductCode = "FACE_TO_FACE_PAYMENT"

// Provider implements checkout.Provider on Alipay's OpenAPI.
type Provider struct {
	client *alipay.Client
	http   *http.Client // the SDK's client; bill files are fetched with it too
	appID  string
	notify string // Credentials.NotifyURL: for orders that name none
	clock  func() time.Time
	log    *slog.Logger
}

// Option configures New.
type Option func(*options)

type options struct {
	http  *http.Client
	clock func() time.Time
	log   *slog.Logger
}

// WithHTTPClient replaces the default client (connect 5 s, whole call 15 s).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.http = c } }

// WithClock sets the clock used for times Alipay does not give (a refund's
// success time). The request timestamp is the SDK's own, from the machine
// clock, in Beijing time.
func WithClock(now func() time.Time) Option { return func(o *options) { o.clock = now } }

// WithLogger sets the logger; the default discards. Keys are never logged.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// New builds a provider from checked credentials.
func New(c Credentials, opts ...Option) (*Provider, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	o := options{clock: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.http == nil {
		o.http = defaultHTTPClient(c.Timeout)
	}
	if o.clock == nil {
		o.clock = time.Now
	}
	if o.log == nil {
		o.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	// The SDK honours WithProductionGateway only in production and
	// WithSandboxGateway only in its sandbox, silently ignoring the other:
	// pass the one that matches.
	gateway := alipay.WithSandboxGateway(c.Gateway)
	if c.Production {
		gateway = alipay.WithProductionGateway(c.Gateway)
	}
	key := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(c.PrivateKey)})
	client, err := alipay.New(c.AppID, string(key), c.Production,
		alipay.WithTimeLocation(Shanghai),
		alipay.WithHTTPClient(o.http),
		gateway,
	)
	if err != nil {
		return nil, fieldErr("private_key_file", "the SDK refused the key: %v", err)
	}
	if !c.CertMode() {
		der, err := x509.MarshalPKIXPublicKey(c.AlipayPublicKey)
		if err == nil {
			err = client.LoadAliPayPublicKey(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
		}
		if err != nil {
			return nil, fieldErr("alipay_public_key_file", "the SDK refused the key: %v", err)
		}
	} else {
		if err := client.LoadAppCertPublicKey(certPEM(c.AppCert)); err != nil {
			return nil, fieldErr("app_cert_file", "the SDK refused the certificate: %v", err)
		}
		var roots strings.Builder
		for _, r := range c.AlipayRootCerts {
			roots.WriteString(certPEM(r))
		}
		if err := client.LoadAliPayRootCert(roots.String()); err != nil {
			return nil, fieldErr("alipay_root_cert_file", "the SDK refused the certificates: %v", err)
		}
		if err := client.LoadAlipayCertPublicKey(certPEM(c.AlipayCert)); err != nil {
			return nil, fieldErr("alipay_cert_file", "the SDK refused the certificate: %v", err)
		}
	}
	return &Provider{client: client, http: o.http, appID: c.AppID, notify: c.NotifyURL, clock: o.clock, log: o.log}, nil
}

func certPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// defaultHTTPClient bounds the connect and the whole call; the SDK's
// default (http.DefaultClient) waits for ever.
func defaultHTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return httpclient.New(DefaultConnectTimeout, timeout)
}

// Method is checkout.MethodAlipay.
func (p *Provider) Method() checkout.Method { return checkout.MethodAlipay }

// call runs one SDK call, classifies its answer (classify) and logs it:
// the one path every API takes.
func call[R any](p *Provider, op, no string, do func() (*R, error), errOf func(*R) *alipay.Error) (*R, error) {
	start := time.Now()
	rsp, err := do()
	var ae *alipay.Error
	if rsp != nil {
		ae = errOf(rsp)
	}
	c, s := codes(ae)
	err = classify(op, err, ae)
	p.logCall(op, no, start, err, c, s)
	return rsp, err
}

func (p *Provider) logCall(op, no string, start time.Time, err error, code alipay.Code, sub string) {
	p.log.Debug("alipay call", "op", op, "order", no, "code", string(code), "sub_code", sub,
		"took", time.Since(start).Round(time.Millisecond), "err", err)
}

func codes(e *alipay.Error) (alipay.Code, string) {
	if e == nil {
		return "", ""
	}
	return e.Code, e.SubCode
}

// subject makes a description acceptable as Alipay's subject: no / = &
// and at most 256 characters.
func subject(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == '=' || r == '&' || r < ' ' {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if utf8.RuneCountInString(s) > 256 {
		s = string([]rune(s)[:256])
	}
	if strings.TrimSpace(s) == "" {
		s = "till"
	}
	return s
}

// preCreate is alipay.trade.precreate with qr_code_timeout_express, which
// smartwalle's TradePreCreate lacks: the QR code's own life, in whole
// minutes from the precreate. timeout_express and time_expire limit the
// trade, which exists only once the customer scans; without a limit of
// its own an unscanned code stays payable (protocols.md E1).
type preCreate struct {
	alipay.TradePreCreate
	QRCodeTimeoutExpress string `json:"qr_code_timeout_express,omitempty"`
}

// Create precreates a QR order. time_expire carries the engine's absolute
// deadline in Beijing time: unlike timeout_express (whole minutes, counted
// from the scan) it says exactly the ExpiresAt the ledger holds, and a
// retried Create sends the very same value. qr_code_timeout_express is the
// sale's timeout rounded up to whole minutes, so an unscanned code dies
// with the sale (give or take a minute, which the engine's late check
// covers).
func (p *Provider) Create(ctx context.Context, req checkout.CreateRequest) (checkout.CreateResult, error) {
	const op = "create"
	if req.Amount <= 0 {
		return checkout.CreateResult{}, &checkout.ProviderError{Op: op, Kind: checkout.KindRefused, Message: "the amount must be at least 0.01"}
	}
	notifyURL := req.NotifyURL
	if notifyURL == "" {
		notifyURL = p.notify
	}
	param := preCreate{TradePreCreate: alipay.TradePreCreate{
		Trade: alipay.Trade{
			NotifyURL:   notifyURL,
			Subject:     subject(req.Description),
			OutTradeNo:  req.OrderNo,
			TotalAmount: req.Amount.String(),
			ProductCode: ProductCode,
		},
		TerminalId: req.Terminal,
	}}
	if !req.ExpiresAt.IsZero() {
		param.TimeExpire = req.ExpiresAt.In(Shanghai).Format(TimeLayout)
	}
	if req.Timeout > 0 {
		param.QRCodeTimeoutExpress = fmt.Sprintf("%dm", checkout.WholeMinutes(req.Timeout)/time.Minute)
	}
	rsp, err := call(p, op, req.OrderNo, func() (*alipay.TradePreCreateRsp, error) {
		var rsp *alipay.TradePreCreateRsp
		err := p.client.Request(ctx, param, &rsp)
		return rsp, err
	}, func(r *alipay.TradePreCreateRsp) *alipay.Error { return &r.Error })
	if err != nil {
		return checkout.CreateResult{}, err
	}
	if rsp.QRCode == "" {
		return checkout.CreateResult{}, unknown(op, "Alipay's answer has no QR code", errors.New("empty qr_code"))
	}
	return checkout.CreateResult{CodeURL: rsp.QRCode}, nil
}

// Query reports the trade's state. Before the customer scans, Alipay has
// no trade: ACQ.TRADE_NOT_EXIST is TradeNotFound with a nil error.
//
// TRADE_CLOSED is also what a paid trade becomes once refunded in full
// (cancel action=refund, or refunds): such a trade is reported
// TradeRefunded, since money did arrive and went back.
func (p *Provider) Query(ctx context.Context, orderNo string) (checkout.TradeStatus, error) {
	const op = "query"
	rsp, err := call(p, op, orderNo, func() (*alipay.TradeQueryRsp, error) {
		return p.client.TradeQuery(ctx, alipay.TradeQuery{OutTradeNo: orderNo})
	},
		func(r *alipay.TradeQueryRsp) *alipay.Error { return &r.Error })
	if err != nil {
		if pe := (*checkout.ProviderError)(nil); errors.As(err, &pe) && pe.Kind == checkout.KindNotFound && pe.Code == subTradeNotExist {
			return checkout.TradeStatus{State: checkout.TradeNotFound, Raw: subTradeNotExist}, nil
		}
		return checkout.TradeStatus{}, err
	}
	if rsp.OutTradeNo != "" && rsp.OutTradeNo != orderNo {
		return checkout.TradeStatus{}, unknown(op, "Alipay answered about another order", fmt.Errorf("asked %s, answered %s", orderNo, rsp.OutTradeNo))
	}
	st := checkout.TradeStatus{ProviderTradeNo: rsp.TradeNo, Raw: string(rsp.TradeStatus)}
	if rsp.TotalAmount != "" {
		if st.Amount, err = parseYuan(rsp.TotalAmount); err != nil {
			return checkout.TradeStatus{}, unknown(op, "Alipay's answer has an unreadable amount", err)
		}
	}
	paidAt := parseTime(rsp.SendPayDate)
	switch rsp.TradeStatus {
	case alipay.TradeStatusWaitBuyerPay:
		st.State, st.Scanned = checkout.TradeNotPaid, true
	case alipay.TradeStatusSuccess, alipay.TradeStatusFinished:
		if rsp.TotalAmount == "" {
			return checkout.TradeStatus{}, unknown(op, "Alipay's answer has no amount", errors.New("empty total_amount"))
		}
		st.State, st.PaidAt = checkout.TradePaid, paidAt
	case alipay.TradeStatusClosed:
		st.State = checkout.TradeClosed
		buyerPaid, perr := parseYuan(rsp.BuyerPayAmount)
		if !paidAt.IsZero() || (perr == nil && buyerPaid > 0) {
			// Paid, then refunded in full: the money did arrive.
			st.State, st.PaidAt = checkout.TradeRefunded, paidAt
		}
	default:
		return checkout.TradeStatus{}, unknown(op, fmt.Sprintf("Alipay reported an unknown trade status %q", rsp.TradeStatus), errors.New("unknown trade_status"))
	}
	return st, nil
}

// Close stops an unpaid trade with alipay.trade.close, which only closes
// a WAIT_BUYER_PAY trade and refuses a paid one: never alipay.trade.cancel,
// which would refund a customer who paid at the last moment. Answers:
// closed (CloseClosed); ACQ.TRADE_STATUS_ERROR, the trade is not waiting
// (paid, or already closed), which is CloseWasPaid for the engine to
// settle by query; ACQ.TRADE_NOT_EXIST, no trade because nobody scanned
// yet, a *checkout.ProviderError of KindNotFound (and the code itself is
// not locked by it).
func (p *Provider) Close(ctx context.Context, orderNo string) (checkout.CloseResult, error) {
	const op = "close"
	rsp, err := call(p, op, orderNo, func() (*alipay.TradeCloseRsp, error) {
		return p.client.TradeClose(ctx, alipay.TradeClose{OutTradeNo: orderNo})
	},
		func(r *alipay.TradeCloseRsp) *alipay.Error { return &r.Error })
	if err != nil {
		var pe *checkout.ProviderError
		if errors.As(err, &pe) && pe.Code == subTradeStatusError {
			return checkout.CloseResult{Outcome: checkout.CloseWasPaid}, nil
		}
		return checkout.CloseResult{}, err
	}
	if rsp.OutTradeNo != "" && rsp.OutTradeNo != orderNo {
		return checkout.CloseResult{}, unknown(op, "Alipay answered about another order", fmt.Errorf("asked %s, answered %s", orderNo, rsp.OutTradeNo))
	}
	return checkout.CloseResult{Outcome: checkout.CloseClosed, ProviderTradeNo: rsp.TradeNo}, nil
}

// Refund asks for a refund with out_request_no = req.RefundNo, so a retry
// is answered, not repeated. fund_change=Y means this call moved the
// money; otherwise (a replay) the refund query says where it stands.
func (p *Provider) Refund(ctx context.Context, req checkout.RefundRequest) (checkout.RefundStatus, error) {
	const op = "refund"
	switch {
	case req.Amount <= 0:
		return checkout.RefundStatus{}, &checkout.ProviderError{Op: op, Kind: checkout.KindRefused, Message: "the refund must be at least 0.01"}
	case req.RefundNo == "":
		return checkout.RefundStatus{}, &checkout.ProviderError{Op: op, Kind: checkout.KindRefused, Message: "the refund has no number"}
	}
	rsp, err := call(p, op, req.OrderNo, func() (*alipay.TradeRefundRsp, error) {
		return p.client.TradeRefund(ctx, alipay.TradeRefund{
			OutTradeNo:   req.OrderNo,
			RefundAmount: req.Amount.String(),
			RefundReason: req.Reason,
			OutRequestNo: req.RefundNo,
		})
	},
		func(r *alipay.TradeRefundRsp) *alipay.Error { return &r.Error })
	if err != nil {
		return checkout.RefundStatus{}, err
	}
	if rsp.FundChange == "Y" {
		return checkout.RefundStatus{State: checkout.RefundSucceeded, SucceededAt: p.clock(), Raw: "fund_change=Y"}, nil
	}
	st, qerr := p.QueryRefund(ctx, req.OrderNo, req.RefundNo)
	if qerr != nil {
		// Accepted, but where it stands is not known yet.
		return checkout.RefundStatus{State: checkout.RefundRequested, Raw: "fund_change=" + rsp.FundChange}, nil
	}
	return st, nil
}

// QueryRefund asks alipay.trade.fastpay.refund.query. refund_status
// REFUND_SUCCESS is succeeded; no refund_status means Alipay has not
// received it or it failed, which cannot be told apart: requested and
// Missing (the same RefundNo may be sent again safely).
func (p *Provider) QueryRefund(ctx context.Context, orderNo, refundNo string) (checkout.RefundStatus, error) {
	const op = "query refund"
	rsp, err := call(p, op, orderNo, func() (*alipay.TradeFastPayRefundQueryRsp, error) {
		return p.client.TradeFastPayRefundQuery(ctx, alipay.TradeFastPayRefundQuery{OutTradeNo: orderNo, OutRequestNo: refundNo})
	},
		func(r *alipay.TradeFastPayRefundQueryRsp) *alipay.Error { return &r.Error })
	if err != nil {
		return checkout.RefundStatus{}, err
	}
	switch rsp.RefundStatus {
	case "REFUND_SUCCESS":
		at := parseTime(rsp.GMTRefundPay)
		if at.IsZero() {
			at = p.clock()
		}
		return checkout.RefundStatus{State: checkout.RefundSucceeded, SucceededAt: at, Raw: rsp.RefundStatus}, nil
	case "REFUND_FAIL":
		return checkout.RefundStatus{State: checkout.RefundFailed, Raw: rsp.RefundStatus}, nil
	}
	return checkout.RefundStatus{State: checkout.RefundRequested, Missing: true, Raw: "refund_status absent"}, nil
}
