package wechatemu

import (
	"errors"

	"till/checkout"
	"till/providers/payerpage"
)

// payer is the emulator's side of the payer page (providers/payerpage
// renders it, the same as Alipay's). A declined Native scan leaves the
// trade NOTPAY: the customer may still pay until it expires or the
// merchant closes it.
type payer struct{ e *Emulator }

func orderOf(t Trade) payerpage.Order {
	o := payerpage.Order{OrderNo: t.OutTradeNo, Subject: t.Description, Amount: checkout.Money(t.Total), Status: t.State}
	switch t.State {
	case StateSuccess:
		o.State = payerpage.Paid
	case StateRefund:
		o.State = payerpage.Refunded
	case StateClosed:
		o.State = payerpage.Closed
	default:
		o.State = payerpage.Payable
	}
	return o
}

// find returns the trade of a payer-page token (expiry applied).
func (p payer) find(token string) (Trade, error) {
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	if no, ok := p.e.byToken[token]; ok {
		if t, ok := p.e.trade(no); ok {
			return t, nil
		}
	}
	return Trade{}, payerpage.ErrUnknownCode
}

func (p payer) Look(token string) (payerpage.Order, error) {
	t, err := p.find(token)
	return orderOf(t), err
}

// Open: for WeChat opening the page changes nothing.
func (p payer) Open(token string) (payerpage.Order, error) { return p.Look(token) }

func (p payer) Pay(token string) (payerpage.Order, error) {
	t, err := p.find(token)
	if err != nil {
		return payerpage.Order{}, err
	}
	already, err := p.e.pay(t.OutTradeNo)
	if after, ok := p.e.Trade(t.OutTradeNo); ok {
		t = after
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return payerpage.Order{}, payerpage.ErrUnknownCode
	case errors.Is(err, ErrNotPayable):
		return orderOf(t), payerpage.ErrClosed
	case err != nil:
		return orderOf(t), payerpage.ErrNotSaved
	case already:
		return orderOf(t), payerpage.ErrPaid
	}
	return orderOf(t), nil
}

func (p payer) Decline(token string) (payerpage.Order, error) {
	t, err := p.find(token)
	if err != nil {
		return payerpage.Order{}, err
	}
	switch t.State {
	case StateSuccess, StateRefund:
		return orderOf(t), payerpage.ErrPaid
	case StateClosed:
		return orderOf(t), payerpage.ErrClosed
	}
	return orderOf(t), nil
}
