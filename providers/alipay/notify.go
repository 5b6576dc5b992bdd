package alipay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/smartwalle/alipay/v3"

	"till/checkout"
)

// ErrBadNotification is wrapped by every refused notification. The
// webhook answers such a request with something other than "success".
var ErrBadNotification = errors.New("alipay notification refused")

// OtherAppError is a notification whose signature verifies but whose
// app_id is another app's. It wraps ErrBadNotification: it is refused,
// and the listener records it as a mismatch.
type OtherAppError struct {
	AppID   string
	OrderNo string
	Amount  checkout.Money
}

func (e *OtherAppError) Error() string {
	return fmt.Sprintf("%v: app_id %q is not this shop's", ErrBadNotification, e.AppID)
}

func (e *OtherAppError) Unwrap() error { return ErrBadNotification }

// Event is a verified trade_status_sync notification. Amounts are exact
// fen; times are parsed in Beijing time (zero when absent).
type Event struct {
	NotifyID   string // the same on every retry of one notification
	NotifyType string // "trade_status_sync"
	NotifyTime time.Time
	AppID      string

	OrderNo     string // out_trade_no
	TradeNo     string // Alipay's trade_no
	TradeStatus string // WAIT_BUYER_PAY, TRADE_SUCCESS, TRADE_FINISHED, TRADE_CLOSED

	TotalAmount    checkout.Money // the order's total
	ReceiptAmount  checkout.Money // what the shop received; 0 if absent
	BuyerPayAmount checkout.Money // what the buyer paid; 0 if absent
	RefundFee      checkout.Money // refunded so far, all refunds together; 0 if none
	OutBizNo       string         // on a refund: its out_request_no (till's refund number)

	GmtCreate  time.Time
	GmtPayment time.Time
	GmtRefund  time.Time
	GmtClose   time.Time
}

// Paid reports whether the event says money arrived: a success status, or
// a closed trade that had been paid (then refunded in full).
func (e Event) Paid() bool {
	switch e.TradeStatus {
	case string(alipay.TradeStatusSuccess), string(alipay.TradeStatusFinished):
		return true
	case string(alipay.TradeStatusClosed):
		return !e.GmtPayment.IsZero() || e.BuyerPayAmount > 0
	}
	return false
}

// Refund reports whether the event is about a refund.
func (e Event) Refund() bool { return e.RefundFee > 0 || e.OutBizNo != "" }

// ParseNotification verifies an Alipay notification's form and returns
// it as an Event: the RSA2 signature with the Alipay public key or
// certificate (by the SDK), then app_id (which the SDK does not check),
// then the amounts, which must parse exactly. Every refusal wraps
// ErrBadNotification. Comparing the amount with the order is the
// caller's job.
func (p *Provider) ParseNotification(form url.Values) (Event, error) {
	return p.parseNotification(context.Background(), form)
}

// ParseNotificationRequest reads the form POST of a notification (the
// body only, at most 64 KiB) and parses it as ParseNotification does.
func (p *Provider) ParseNotificationRequest(r *http.Request) (Event, error) {
	if r.Method != http.MethodPost {
		return Event{}, fmt.Errorf("%w: method %s, not POST", ErrBadNotification, r.Method)
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return Event{}, fmt.Errorf("%w: unreadable form: %v", ErrBadNotification, err)
	}
	return p.parseNotification(r.Context(), r.PostForm)
}

func (p *Provider) parseNotification(ctx context.Context, form url.Values) (Event, error) {
	bad := func(format string, args ...any) (Event, error) {
		return Event{}, fmt.Errorf("%w: "+format, append([]any{ErrBadNotification}, args...)...)
	}
	if form.Get("sign") == "" {
		return bad("no sign")
	}
	if st := form.Get("sign_type"); st != "" && st != "RSA2" {
		return bad("sign_type %q, not RSA2", st)
	}
	n, err := p.client.DecodeNotification(ctx, form)
	if err != nil {
		return bad("signature does not verify: %v", err)
	}
	if n.AppId != p.appID {
		// Signed by Alipay, but for another app: a mismatch the manager
		// should see, not junk.
		amount, _ := checkout.ParseMoney(n.TotalAmount, 0)
		return Event{}, &OtherAppError{AppID: n.AppId, OrderNo: n.OutTradeNo, Amount: amount}
	}
	if n.AuthAppId != "" && n.AuthAppId != p.appID {
		return bad("auth_app_id %q is not this shop's", n.AuthAppId)
	}
	if n.OutTradeNo == "" {
		return bad("no out_trade_no")
	}
	switch n.TradeStatus {
	case alipay.TradeStatusWaitBuyerPay, alipay.TradeStatusSuccess, alipay.TradeStatusFinished, alipay.TradeStatusClosed:
	default:
		return bad("unknown trade_status %q", n.TradeStatus)
	}
	ev := Event{
		NotifyID:    n.NotifyId,
		NotifyType:  n.NotifyType,
		NotifyTime:  parseTime(n.NotifyTime),
		AppID:       n.AppId,
		OrderNo:     n.OutTradeNo,
		TradeNo:     n.TradeNo,
		TradeStatus: string(n.TradeStatus),
		OutBizNo:    n.OutBizNo,
		GmtCreate:   parseTime(n.GmtCreate),
		GmtPayment:  parseTime(n.GmtPayment),
		GmtRefund:   parseTime(n.GmtRefund),
		GmtClose:    parseTime(n.GmtClose),
	}
	if n.TotalAmount == "" {
		return bad("no total_amount")
	}
	for _, a := range []struct {
		name, s string
		dst     *checkout.Money
	}{
		{"total_amount", n.TotalAmount, &ev.TotalAmount},
		{"receipt_amount", n.ReceiptAmount, &ev.ReceiptAmount},
		{"buyer_pay_amount", n.BuyerPayAmount, &ev.BuyerPayAmount},
		{"refund_fee", n.RefundFee, &ev.RefundFee},
	} {
		if a.s == "" {
			continue
		}
		if *a.dst, err = parseYuan(a.s); err != nil {
			return bad("%s: %v", a.name, err)
		}
	}
	return ev, nil
}
