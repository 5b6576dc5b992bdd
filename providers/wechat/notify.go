package wechat

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"

	"till/checkout"
)

// Notification errors. Every refusal wraps ErrNotification (answer 4xx or
// 5xx so that WeChat retries); a verified notification of a kind till does
// not handle wraps ErrUnsupportedEvent (answer 200: retrying will not
// help).
var (
	ErrNotification     = errors.New("wechat notification refused")
	ErrUnsupportedEvent = errors.New("wechat notification of an unsupported kind")
)

// MaxNotificationSkew is how far a notification's Wechatpay-Timestamp may
// be from now, as for answers.
const MaxNotificationSkew = 5 * time.Minute

// maxNotificationBytes bounds the body read; real ones are about 1 KiB.
const maxNotificationBytes = 64 << 10

// Event is a verified, decrypted notification: *PaymentEvent or
// *RefundEvent.
type Event interface{ event() }

// PaymentEvent is TRANSACTION.SUCCESS (or another TRANSACTION.* event).
// The webhook must still check AppID, MchID and Amount against the ledger.
type PaymentEvent struct {
	ID            string // notification id; retries repeat it
	EventType     string // TRANSACTION.SUCCESS
	OrderNo       string // out_trade_no
	TransactionID string
	TradeState    string              // SUCCESS, ...
	State         checkout.TradeState // TradeState in checkout's words
	Amount        checkout.Money      // amount.total
	Currency      string              // amount.currency, "CNY"; "" if absent
	AppID         string
	MchID         string
	Attach        string
	Terminal      string // from attach "terminal=<id>", "" if absent
	PaidAt        time.Time
}

// RefundEvent is REFUND.SUCCESS, REFUND.ABNORMAL or REFUND.CLOSED.
type RefundEvent struct {
	ID            string
	EventType     string
	OrderNo       string // out_trade_no
	RefundNo      string // out_refund_no
	RefundID      string
	TransactionID string
	Status        string               // refund_status: SUCCESS, CLOSED, ABNORMAL
	State         checkout.RefundState // Status in checkout's words (ABNORMAL: requested)
	Refund        checkout.Money       // amount.refund
	Total         checkout.Money       // amount.total
	MchID         string
	SucceededAt   time.Time
}

func (*PaymentEvent) event() {}
func (*RefundEvent) event()  {}

// Notifier verifies and decrypts WeChat Pay notifications. The webhook may
// build one from Credentials without a Provider.
type Notifier struct {
	handler *notify.Handler
	clock   func() time.Time
	log     *slog.Logger
}

// NewNotifier builds a Notifier; only WithClock and WithLogger matter.
func NewNotifier(c Credentials, opts ...Option) (*Notifier, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return newNotifier(c, buildOptions(opts))
}

func newNotifier(c Credentials, o options) (*Notifier, error) {
	var v auth.Verifier
	if c.PlatformCert != nil {
		v = verifiers.NewSHA256WithRSAVerifier(core.NewCertificateMapWithList([]*x509.Certificate{c.PlatformCert}))
	} else {
		v = verifiers.NewSHA256WithRSAPubkeyVerifier(c.PlatformKeyID, *c.PlatformPublicKey)
	}
	h, err := notify.NewRSANotifyHandler(c.APIv3Key, v)
	if err != nil {
		return nil, fmt.Errorf("wechat: notification handler: %w", err)
	}
	return &Notifier{handler: h, clock: o.clock, log: o.log}, nil
}

// ParseNotification verifies and decrypts a notification to the webhook.
func (p *Provider) ParseNotification(r *http.Request) (Event, error) { return p.notify.Parse(r) }

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotification, fmt.Sprintf(format, args...))
}

// Parse checks the timestamp against the clock (within 5 minutes), the
// platform signature over "ts\nnonce\nbody\n", and decrypts the
// AEAD_AES_256_GCM resource with the APIv3 key. r.Body stays readable.
//
// The SDK checks the timestamp once more against the machine's clock.
func (n *Notifier) Parse(r *http.Request) (Event, error) {
	ev, err := n.parse(r)
	if err != nil {
		// Debug: anyone can post junk here; the webhook logs refusals
		// itself, rate-limited.
		n.log.Debug("wechat notification not accepted", "err", err)
	} else {
		n.log.Debug("wechat notification", "event", fmt.Sprintf("%T", ev))
	}
	return ev, err
}

func (n *Notifier) parse(r *http.Request) (ev Event, err error) {
	if r.Body == nil {
		return nil, refuse("empty body")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxNotificationBytes+1))
	r.Body.Close()
	if err != nil {
		return nil, refuse("reading the body: %v", err)
	}
	if len(body) > maxNotificationBytes {
		return nil, refuse("body larger than %d bytes", maxNotificationBytes)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	tsText := strings.TrimSpace(r.Header.Get("Wechatpay-Timestamp"))
	ts, perr := strconv.ParseInt(tsText, 10, 64)
	if perr != nil {
		return nil, refuse("missing or malformed Wechatpay-Timestamp")
	}
	if skew := n.clock().Sub(time.Unix(ts, 0)); skew >= MaxNotificationSkew || skew <= -MaxNotificationSkew {
		return nil, refuse("timestamp is %s off (at most %s allowed)", skew.Round(time.Second), MaxNotificationSkew)
	}

	// The SDK panics on a missing resource or a nonce that is not 12
	// bytes; refuse those first.
	var pre struct {
		Resource *struct {
			Nonce string `json:"nonce"`
		} `json:"resource"`
	}
	if err := json.Unmarshal(body, &pre); err != nil {
		return nil, refuse("body is not JSON")
	}
	if pre.Resource == nil {
		return nil, refuse("no resource")
	}
	if len(pre.Resource.Nonce) != 12 {
		return nil, refuse("resource nonce is not 12 bytes")
	}
	defer func() {
		if v := recover(); v != nil {
			ev, err = nil, refuse("malformed notification (%v)", v)
		}
	}()
	var content json.RawMessage
	req, err := n.handler.ParseNotifyRequest(r.Context(), r, &content)
	if err != nil {
		return nil, refuse("%s", logText(err))
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return decodeEvent(req)
}

func decodeEvent(req *notify.Request) (Event, error) {
	plain := []byte(req.Resource.Plaintext)
	kind := req.Resource.OriginalType
	switch {
	case strings.HasPrefix(req.EventType, "TRANSACTION."):
		kind = "transaction"
	case strings.HasPrefix(req.EventType, "REFUND."):
		kind = "refund"
	}
	switch kind {
	case "transaction":
		var tx payments.Transaction
		if err := json.Unmarshal(plain, &tx); err != nil {
			return nil, refuse("payment resource: %v", err)
		}
		ev := &PaymentEvent{
			ID:            req.ID,
			EventType:     req.EventType,
			OrderNo:       deref(tx.OutTradeNo),
			TransactionID: deref(tx.TransactionId),
			TradeState:    deref(tx.TradeState),
			AppID:         deref(tx.Appid),
			MchID:         deref(tx.Mchid),
			Attach:        deref(tx.Attach),
		}
		if ev.OrderNo == "" || ev.TradeState == "" {
			return nil, refuse("payment resource without out_trade_no or trade_state")
		}
		if term, ok := strings.CutPrefix(ev.Attach, AttachPrefix); ok {
			ev.Terminal = term
		}
		if tx.Amount != nil && tx.Amount.Total != nil {
			ev.Amount = checkout.Money(*tx.Amount.Total)
		}
		if tx.Amount != nil && tx.Amount.Currency != nil {
			ev.Currency = *tx.Amount.Currency
		}
		if tx.SuccessTime != nil {
			if t, err := time.Parse(time.RFC3339, *tx.SuccessTime); err == nil {
				ev.PaidAt = t
			}
		}
		if st, err := tradeStatus(&tx, ev.OrderNo, ev.MchID); err == nil {
			ev.State = st.State
		}
		return ev, nil
	case "refund":
		var rn struct {
			MchID         string `json:"mchid"`
			OutTradeNo    string `json:"out_trade_no"`
			TransactionID string `json:"transaction_id"`
			OutRefundNo   string `json:"out_refund_no"`
			RefundID      string `json:"refund_id"`
			RefundStatus  string `json:"refund_status"`
			SuccessTime   string `json:"success_time"`
			Amount        struct {
				Total  int64 `json:"total"`
				Refund int64 `json:"refund"`
			} `json:"amount"`
		}
		if err := json.Unmarshal(plain, &rn); err != nil {
			return nil, refuse("refund resource: %v", err)
		}
		if rn.OutRefundNo == "" || rn.RefundStatus == "" {
			return nil, refuse("refund resource without out_refund_no or refund_status")
		}
		ev := &RefundEvent{
			ID:            req.ID,
			EventType:     req.EventType,
			OrderNo:       rn.OutTradeNo,
			RefundNo:      rn.OutRefundNo,
			RefundID:      rn.RefundID,
			TransactionID: rn.TransactionID,
			Status:        rn.RefundStatus,
			Refund:        checkout.Money(rn.Amount.Refund),
			Total:         checkout.Money(rn.Amount.Total),
			MchID:         rn.MchID,
		}
		switch rn.RefundStatus {
		case "SUCCESS":
			ev.State = checkout.RefundSucceeded
		case "CLOSED":
			ev.State = checkout.RefundFailed
		default: // ABNORMAL, PROCESSING: not final
			ev.State = checkout.RefundRequested
		}
		if rn.SuccessTime != "" {
			if t, err := time.Parse(time.RFC3339, rn.SuccessTime); err == nil {
				ev.SucceededAt = t
			}
		}
		return ev, nil
	}
	return nil, fmt.Errorf("%w: %s (%s)", ErrUnsupportedEvent, req.EventType, req.Resource.OriginalType)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
