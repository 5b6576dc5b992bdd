package checkout

import "time"

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

	CodeURL         string `json:"code_url,omitempty"`          // what the QR encodes
	ProviderTradeNo string `json:"provider_trade_no,omitempty"` // transaction_id / trade_no
	Refunded        Money  `json:"refunded_fen,omitempty"`      // sum of succeeded refunds
	Reason          string `json:"reason,omitempty"`            // why it failed or closed

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	ExpiresAt time.Time `json:"expires_at"` // last moment the customer may pay
	PaidAt    time.Time `json:"paid_at,omitzero"`
	ClosedAt  time.Time `json:"closed_at,omitzero"`
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
	CreatedAt        time.Time   `json:"created_at"`
	UpdatedAt        time.Time   `json:"updated_at"`
	SucceededAt      time.Time   `json:"succeeded_at,omitzero"`
}
