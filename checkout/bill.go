package checkout

import (
	"context"
	"errors"
	"time"
)

// BillZone is the zone of the providers' bills: a bill's day is a China
// calendar day whatever the shop's zone. China has kept UTC+8 without
// daylight saving since 1991, so a fixed zone is exact and needs no tzdata.
var BillZone = time.FixedZone("CST", 8*60*60)

// BillDayBounds are the instants [from, to) of the bill day named day
// (YYYY-MM-DD, China time).
func BillDayBounds(day string) (from, to time.Time, err error) {
	t, err := time.ParseInLocation(DayLayout, day, BillZone)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	return t, t.AddDate(0, 0, 1), nil
}

// Biller is a Provider that can fetch its daily trade bill, the provider's
// own list of what was paid and refunded on a China day.
type Biller interface {
	// Bill downloads, checks and parses the bill of day (YYYY-MM-DD,
	// China time). A bill the provider has not made yet (real bills are
	// ready the next morning) is ErrBillNotReady; a download that fails or
	// does not match its digest is an error, never an empty bill.
	Bill(ctx context.Context, day string) (Bill, error)
}

// ErrBillNotReady says the provider has no bill for the day yet.
var ErrBillNotReady = errors.New("the provider's bill for that day is not ready yet")

// Bill is one provider's trade bill of one day.
type Bill struct {
	Method Method
	Day    string // YYYY-MM-DD, China time
	// Trades are the payments that succeeded on the day (WeChat's SUCCESS
	// rows, Alipay's 交易 rows).
	Trades []BillTrade
	// Refunds are the refunds that succeeded on the day (WeChat's REFUND
	// rows, Alipay's 退款 rows).
	Refunds []BillRefund
}

// BillTrade is a payment row of a bill.
type BillTrade struct {
	OrderNo         string // out_trade_no, 商户订单号
	ProviderTradeNo string // transaction_id, 支付宝交易号
	Amount          Money  // the order's amount
	At              time.Time
	Raw             string // the row's state as the bill words it
}

// BillRefund is a refund row of a bill.
type BillRefund struct {
	OrderNo          string // out_trade_no
	RefundNo         string // out_refund_no, 退款批次号/请求号
	ProviderRefundNo string
	Amount           Money // the refund's amount, positive
	At               time.Time
	Raw              string
}

// Billers are the configured providers that can fetch their bills.
func (e *Engine) Billers() map[Method]Biller {
	bs := map[Method]Biller{}
	for m, p := range e.providers {
		if b, ok := p.(Biller); ok {
			bs[m] = b
		}
	}
	return bs
}

// SettleByQuery asks the provider about order no with the same number and
// records the answer, whatever the order's state: an open order is
// finished as a settling pass would (query, then close if unpaid); a
// closed one that the provider has paid becomes a late payment. Nothing
// is closed or cancelled on a failed query. It is how a reconciliation
// settles what a bill shows paid and the ledger does not.
func (e *Engine) SettleByQuery(ctx context.Context, no string) (Order, error) {
	ctx = e.as(ctx, "reconcile")
	release, err := e.lock(ctx, no)
	if err != nil {
		return Order{No: no}, err
	}
	defer release()
	o, err := e.read(ctx, no)
	if err != nil {
		return o, err
	}
	p, err := e.provider(o.Method)
	if err != nil {
		return o, err
	}
	if o.State.Open() {
		return e.settle(ctx, p, o, "settled by reconciliation", false)
	}
	if o.State != StateClosed {
		return o, nil // paid, refunded, failed or disputed: a query moves none of them
	}
	st, err := p.Query(ctx, no)
	if err != nil {
		return o, err
	}
	if st.State == TradePaid || st.State == TradeRefunded {
		got, err := e.apply(ctx, o, st)
		if err == nil && got.State != o.State {
			e.publish(got) // the desk shows a late payment at once
		}
		return got, err
	}
	return o, nil
}
