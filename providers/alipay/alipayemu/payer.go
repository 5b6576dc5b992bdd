package alipayemu

import (
	"errors"

	"till/checkout"
	"till/providers/payerpage"
)

// payer is the emulator's side of the payer page (providers/payerpage
// renders it, the same as WeChat's). Opening the page is the scan; a
// decline is a scan too and leaves the trade WAIT_BUYER_PAY, payable until
// it expires or the merchant closes it.
type payer struct{ e *Emulator }

// orderOf is t as the page shows it; the caller holds mu.
func orderOf(t *trade) payerpage.Order {
	o := payerpage.Order{OrderNo: t.OutTradeNo, Subject: t.Subject, Amount: checkout.Money(t.TotalFen), Status: t.Status}
	switch {
	case t.Locked || (t.Status == StatusClosed && !t.WasPaid()):
		o.State, o.Status = payerpage.Closed, StatusClosed
	case t.WasPaid() && t.RefundedFen > 0:
		o.State = payerpage.Refunded
	case t.WasPaid():
		o.State = payerpage.Paid
	default: // PRECREATED (paying scans it first) or WAIT_BUYER_PAY
		o.State = payerpage.Payable
	}
	return o
}

// do runs fn on the trade of a payer-page token, under mu, and answers
// with the trade as it stands after.
func (p payer) do(token string, fn func(t *trade) error) (payerpage.Order, error) {
	e := p.e
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.byToken[token]
	if !ok {
		return payerpage.Order{}, payerpage.ErrUnknownCode
	}
	err := fn(t)
	switch {
	case err == nil:
	case errors.Is(err, ErrTradeClosed):
		err = payerpage.ErrClosed
	case errors.Is(err, ErrTradePaid):
		err = payerpage.ErrPaid
	default:
		err = payerpage.ErrNotSaved
	}
	return orderOf(t), err
}

func (p payer) Look(token string) (payerpage.Order, error) {
	return p.do(token, func(t *trade) error {
		p.e.expireLocked(t, p.e.cfg.Clock())
		return nil
	})
}

// Open is the scan: the precreated trade comes into existence. A closed
// or paid trade is shown as it is.
func (p payer) Open(token string) (payerpage.Order, error) {
	return p.do(token, func(t *trade) error {
		if err := p.e.scanLocked(t, p.e.cfg.Clock()); errors.Is(err, ErrNotSaved) {
			return err
		}
		return nil
	})
}

func (p payer) Pay(token string) (payerpage.Order, error) {
	return p.do(token, func(t *trade) error { return p.e.payLocked(t, p.e.cfg.Clock()) })
}

func (p payer) Decline(token string) (payerpage.Order, error) {
	return p.do(token, func(t *trade) error { return p.e.scanLocked(t, p.e.cfg.Clock()) })
}
