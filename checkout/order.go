package checkout

import (
	"cmp"
	"time"
)

// Method is a payment provider a clerk can charge with.
type Method string

const (
	MethodWeChat Method = "wechat"
	MethodAlipay Method = "alipay"
)

// Label is the name a clerk sees.
func (m Method) Label() string {
	switch m {
	case MethodWeChat:
		return "WeChat Pay"
	case MethodAlipay:
		return "Alipay"
	}
	return string(m)
}

// Order is one sale. No is the out_trade_no sent to the provider.
type Order struct {
	No       string `json:"no"`
	Terminal string `json:"terminal"`
	Method   Method `json:"method"`
	Amount   Money  `json:"amount_fen"`
	Note     string `json:"note,omitempty"`
	State    State  `json:"state"`

	// Operator is who rang the sale up (DefaultOperator on a desk with no
	// operators configured).
	Operator string `json:"operator,omitempty"`

	// Way is how it is paid: the shop's QR (WayQR) or the customer's
	// payment code (WayCode), of which only CodeTail, its last four
	// digits, is kept.
	Way      Way    `json:"way,omitempty"`
	CodeTail string `json:"code_tail,omitempty"`

	CodeURL         string `json:"code_url,omitempty"`          // what the QR encodes
	ProviderTradeNo string `json:"provider_trade_no,omitempty"` // transaction_id / trade_no
	Refunded        Money  `json:"refunded_fen,omitempty"`      // sum of succeeded refunds
	Reason          string `json:"reason,omitempty"`            // why it failed, closed or is disputed
	// ProviderAmount is what the provider says was paid when that is not
	// Amount: the order is disputed, and both figures are kept.
	ProviderAmount Money `json:"provider_amount_fen,omitempty"`
	// Late marks a sale paid after till had closed it (found by the late
	// check); LateSeenAt is when a clerk acknowledged the banner.
	Late       bool      `json:"late,omitempty"`
	LateSeenAt time.Time `json:"late_seen_at,omitzero"`
	// ProviderSaid is the provider's own word about the trade the last
	// time it changed ("NOTPAY", "WAIT_BUYER_PAY", "SUCCESS"), for the
	// order's detail.
	ProviderSaid   string    `json:"provider_said,omitempty"`
	ProviderSaidAt time.Time `json:"provider_said_at,omitzero"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	ExpiresAt time.Time `json:"expires_at"` // last moment the customer may pay, as till asks it
	// AcceptedAt is when the provider answered the create: the QR went on
	// screen then, and a provider's own expiry counts from about then.
	AcceptedAt time.Time `json:"accepted_at,omitzero"`
	PaidAt     time.Time `json:"paid_at,omitzero"`
	ClosedAt   time.Time `json:"closed_at,omitzero"`
	// RecheckAt is set on a closed order that the customer might still pay
	// (Alipay keeps an unscanned code payable until its QR expiry): it is
	// queried once more at that time, and the mark is cleared once the
	// provider has answered.
	RecheckAt time.Time `json:"recheck_at,omitzero"`
}

// NeedsFollowUp reports whether a settled order still needs a look: a late
// check to run, or a late payment no clerk has acknowledged.
func (o Order) NeedsFollowUp() bool {
	return !o.RecheckAt.IsZero() || (o.Late && o.LateSeenAt.IsZero())
}

// PayableUntil is the latest moment a provider may still take the
// customer's money for o, on the provider's clock: the absolute expiry
// till sent, or, if later, the sale's timeout rounded up to whole minutes
// from when the provider accepted the order (Alipay's
// qr_code_timeout_express counts whole minutes from the precreate). An
// order that never showed a code: its ExpiresAt. A code shown by a till
// that kept no AcceptedAt (ledger schema 1) was precreated without
// qr_code_timeout_express: UnlimitedQRLife from the order's creation.
func PayableUntil(o Order) time.Time {
	until := o.ExpiresAt
	var qr time.Time
	switch {
	case !o.AcceptedAt.IsZero():
		qr = o.AcceptedAt.Add(WholeMinutes(o.ExpiresAt.Sub(o.CreatedAt)))
	case o.CodeURL != "":
		qr = o.CreatedAt.Add(UnlimitedQRLife)
	}
	if qr.After(until) {
		until = qr
	}
	return until
}

// UnlimitedQRLife is how long an Alipay precreate code sent without
// qr_code_timeout_express is taken to stay payable: two hours, the default
// reported for it and the emulator's (not confirmed by Alipay's docs).
const UnlimitedQRLife = 2 * time.Hour

// WholeMinutes rounds d up to whole minutes, at least one: the unit
// Alipay's timeouts take.
func WholeMinutes(d time.Duration) time.Duration {
	m := (d + time.Minute - 1) / time.Minute
	if m < 1 {
		m = 1
	}
	return m * time.Minute
}

// Refund is one refund of an order, its own record with its own number
// (out_refund_no / out_request_no), written before the provider is called.
type Refund struct {
	No               string      `json:"no"`
	OrderNo          string      `json:"order_no"`
	Method           Method      `json:"method"`
	Amount           Money       `json:"amount_fen"`
	State            RefundState `json:"state"`
	Reason           string      `json:"reason,omitempty"`
	ProviderRefundNo string      `json:"provider_refund_no,omitempty"`
	Terminal         string      `json:"terminal,omitempty"`
	Operator         string      `json:"operator,omitempty"` // who asked for it
	// Sent says the refund may have reached the provider: from then on
	// only a query (or a resend with the same number) may settle it.
	Sent bool `json:"sent,omitempty"`
	// Attempts counts the times it was sent (the first, and each resend
	// of a refund the provider had no record of).
	Attempts int `json:"attempts,omitempty"`
	// ProviderSaid is the provider's last word about it ("PROCESSING",
	// "SUCCESS", "ABNORMAL", "fund_change=Y") or, for a failed refund,
	// the refusal's code; FailReason says why it failed, in English.
	ProviderSaid   string    `json:"provider_said,omitempty"`
	ProviderSaidAt time.Time `json:"provider_said_at,omitzero"`
	FailReason     string    `json:"fail_reason,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	SucceededAt    time.Time `json:"succeeded_at,omitzero"`
	// FailedAt is when till learnt the provider refused it: a failed
	// refund is listed on that day's report.
	FailedAt time.Time `json:"failed_at,omitzero"`
}

// SettledAt is when r succeeded or failed, zero while it is requested.
func (r Refund) SettledAt() time.Time {
	switch r.State {
	case RefundSucceeded:
		return r.SucceededAt
	case RefundFailed:
		return cmp.Or(r.FailedAt, r.UpdatedAt)
	}
	return time.Time{}
}

// Refundable is how much of o's money can go back at most: what was paid
// for a sale, what the provider took for a disputed order, nothing for an
// order that was never paid.
func Refundable(o Order) Money {
	switch {
	case o.State == StateDisputed:
		return o.ProviderAmount
	case o.State.WasPaid():
		return o.Amount
	}
	return 0
}
