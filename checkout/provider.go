package checkout

import (
	"context"
	"time"
)

// Provider is what the engine needs from a payment provider. Adapters in
// providers/* implement it on the real SDKs.
//
// Errors: a definite answer from the provider is a *ProviderError whose
// Kind is not KindUnknown. Anything else (timeouts, resets, 5xx, bodies that
// fail verification) means the outcome is unknown and must be settled by
// querying with the same number.
type Provider interface {
	Method() Method
	// Create asks the provider for a QR order. Calling it again with the
	// same request is safe: both providers answer the same code.
	Create(ctx context.Context, req CreateRequest) (CreateResult, error)
	// Query reports the trade's state. A trade the provider does not know
	// yet (Alipay before the scan) is TradeNotFound, not an error.
	Query(ctx context.Context, orderNo string) (TradeStatus, error)
	// Close stops an unpaid trade from being paid and must never refund a
	// paid one. It reports what the provider did: closed it, or found it
	// paid (the engine then confirms by query). A trade the provider does
	// not know (never created, or Alipay before the scan) is a
	// *ProviderError of KindNotFound. CloseRefunded is kept for a provider
	// that answers so anyway.
	Close(ctx context.Context, orderNo string) (CloseResult, error)
	// Refund asks for a refund; retries reuse req.RefundNo. Adapters that
	// cannot refund yet return a *ProviderError of KindNotSupported.
	Refund(ctx context.Context, req RefundRequest) (RefundStatus, error)
	// QueryRefund reports a refund's state by its refund number.
	QueryRefund(ctx context.Context, orderNo, refundNo string) (RefundStatus, error)
}

// CreateRequest is a QR order to create at the provider.
type CreateRequest struct {
	OrderNo     string
	Amount      Money
	Description string
	ExpiresAt   time.Time
	// Timeout is the sale's payable window (ExpiresAt minus the order's
	// creation), the same on every retry: Alipay limits the QR code itself
	// with it, in whole minutes (qr_code_timeout_express).
	Timeout   time.Duration
	Terminal  string
	NotifyURL string // empty when no webhook is configured
}

// CreateResult is what the customer scans.
type CreateResult struct {
	CodeURL string
}

// TradeState is the provider's view of a trade, mapped to what the engine
// needs to decide.
type TradeState string

const (
	TradeNotFound TradeState = "not_found" // unknown to the provider (Alipay: not scanned yet)
	TradeNotPaid  TradeState = "not_paid"  // created or scanned, still payable
	TradePaid     TradeState = "paid"      // paid (partial refunds may have followed)
	TradeRefunded TradeState = "refunded"  // paid, then refunded in full at the provider (Alipay TRADE_CLOSED after a payment)
	TradeClosed   TradeState = "closed"    // closed or expired unpaid
	TradeFailed   TradeState = "failed"    // payment failed at the provider
)

// TradeStatus is a provider's answer to a query.
type TradeStatus struct {
	State TradeState
	// Amount is the trade's total as the provider has it; 0 if the answer
	// had none. A paid answer without one cannot be checked and is not
	// believed.
	Amount          Money
	ProviderTradeNo string
	PaidAt          time.Time
	// Scanned says the customer has opened the code and the provider
	// waits for the payment (Alipay's WAIT_BUYER_PAY); providers that
	// cannot tell leave it false.
	Scanned bool
	Raw     string // the provider's own word, e.g. "NOTPAY", for logs
}

// CloseOutcome is what a close did.
type CloseOutcome string

const (
	CloseClosed   CloseOutcome = "closed"   // unpaid, and now it cannot be paid
	CloseWasPaid  CloseOutcome = "paid"     // it was paid: WeChat ORDERPAID, Alipay trade.close ACQ.TRADE_STATUS_ERROR; confirm by query
	CloseRefunded CloseOutcome = "refunded" // it was paid and the close refunded it (only Alipay's cancel does that; till closes QR sales with trade.close)
)

// CloseResult is a provider's answer to a close.
type CloseResult struct {
	Outcome         CloseOutcome
	ProviderTradeNo string
}

// RefundRequest is a refund to ask for.
type RefundRequest struct {
	OrderNo  string
	RefundNo string
	Amount   Money // this refund
	Total    Money // the order's total
	Reason   string
}

// RefundStatus is a provider's answer about a refund.
type RefundStatus struct {
	State            RefundState // requested means still processing
	ProviderRefundNo string
	SucceededAt      time.Time
	// Missing says the provider has no record of the refund (Alipay's
	// query without a refund_status: not received, or refused before it
	// was recorded). It is requested, and sending it again with the same
	// number is safe. WeChat says so with a KindNotFound error instead.
	Missing bool
	Raw     string
}
