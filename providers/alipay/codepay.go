package alipay

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/smartwalle/alipay/v3"

	"till/checkout"
)

// SceneBarCode is alipay.trade.pay's scene for a scanned payment code.
const SceneBarCode = "bar_code"

// Sub-codes of a refused payment code.
const (
	subBalanceNotEnough    = "ACQ.BUYER_BALANCE_NOT_ENOUGH"
	subPaymentAuthCodeBad  = "ACQ.PAYMENT_AUTH_CODE_INVALID"
	subAuthCodeInvalid     = "ACQ.AUTH_CODE_INVALID"
	msgBalanceNotEnough    = "the customer's balance is not enough"
	msgAuthCodeInvalid     = "the code expired or was used: ask the customer to refresh it"
	retryFlagYes           = "Y"
	cancelActionClose      = "close"
	cancelActionRefund     = "refund"
	msgCancelRetry         = "Alipay asks to cancel again; the outcome is not known yet"
	msgCancelUnknownAction = "Alipay's cancel answer says neither closed nor refunded"
)

// codeKinds are the definite refusals of a payment code, with what the
// clerk reads.
var codeKinds = map[string]struct {
	kind checkout.ErrorKind
	msg  string
}{
	subBalanceNotEnough:   {checkout.KindInsufficient, msgBalanceNotEnough},
	subPaymentAuthCodeBad: {checkout.KindRefused, msgAuthCodeInvalid},
	subAuthCodeInvalid:    {checkout.KindRefused, msgAuthCodeInvalid},
}

var (
	_ checkout.Provider  = (*Provider)(nil)
	_ checkout.CodePayer = (*Provider)(nil)
)

// PayCode charges a customer's payment code with alipay.trade.pay,
// scene=bar_code. 10000 is paid (TradePaid, with the amount, trade_no and
// gmt_payment); 10003 is TradeNotPaid, the customer is asked to confirm on
// the phone; 20000, ACQ.SYSTEM_ERROR, transport faults and answers that
// fail verification are unknown (settle by query); a refused code is a
// *checkout.ProviderError of a definite kind (insufficient balance, an
// expired or used code, ...). The code is sent and never logged: any
// error text that could carry it (a gateway echoing the signed content)
// has it replaced by its last four digits.
func (p *Provider) PayCode(ctx context.Context, req checkout.CodePayRequest) (checkout.TradeStatus, error) {
	const op = "pay"
	if req.Amount <= 0 {
		return checkout.TradeStatus{}, &checkout.ProviderError{Op: op, Kind: checkout.KindRefused, Message: "the amount must be at least 0.01"}
	}
	if req.AuthCode == "" {
		return checkout.TradeStatus{}, &checkout.ProviderError{Op: op, Kind: checkout.KindRefused, Message: "no payment code was scanned"}
	}
	param := alipay.TradePay{
		Trade: alipay.Trade{
			Subject:     subject(req.Description),
			OutTradeNo:  req.OrderNo,
			TotalAmount: req.Amount.String(),
			ProductCode: ProductCode,
		},
		Scene:      SceneBarCode,
		AuthCode:   req.AuthCode,
		TerminalId: req.Terminal,
	}
	start := time.Now()
	rsp, err := p.client.TradePay(ctx, param)
	var ae *alipay.Error
	if rsp != nil {
		ae = &rsp.Error
	}
	code, sub := codes(ae)
	if err == nil && ae != nil && ae.Code == alipay.CodeOrderSuccessPayInProcess {
		p.logCall(op, req.OrderNo, start, nil, code, sub)
		if rsp.OutTradeNo != "" && rsp.OutTradeNo != req.OrderNo {
			return checkout.TradeStatus{}, unknown(op, "Alipay answered about another order", fmt.Errorf("asked %s, answered %s", req.OrderNo, rsp.OutTradeNo))
		}
		return checkout.TradeStatus{State: checkout.TradeNotPaid, ProviderTradeNo: rsp.TradeNo, Raw: string(code)}, nil
	}
	err = redact(classify(op, err, ae), req.AuthCode)
	var pe *checkout.ProviderError
	if errors.As(err, &pe) && pe.Kind != checkout.KindUnknown {
		if k, ok := codeKinds[pe.Code]; ok {
			pe.Kind, pe.Message = k.kind, k.msg
		}
	}
	p.logCall(op, req.OrderNo, start, err, code, sub)
	if err != nil {
		return checkout.TradeStatus{}, err
	}
	if rsp.OutTradeNo != "" && rsp.OutTradeNo != req.OrderNo {
		return checkout.TradeStatus{}, unknown(op, "Alipay answered about another order", fmt.Errorf("asked %s, answered %s", req.OrderNo, rsp.OutTradeNo))
	}
	if rsp.TotalAmount == "" {
		return checkout.TradeStatus{}, unknown(op, "Alipay's answer has no amount", errors.New("empty total_amount"))
	}
	amount, aerr := parseYuan(rsp.TotalAmount)
	if aerr != nil {
		return checkout.TradeStatus{}, unknown(op, "Alipay's answer has an unreadable amount", aerr)
	}
	paidAt := parseTime(rsp.GmtPayment)
	if paidAt.IsZero() {
		paidAt = p.clock()
	}
	return checkout.TradeStatus{State: checkout.TradePaid, Amount: amount, ProviderTradeNo: rsp.TradeNo, PaidAt: paidAt, Raw: string(code)}, nil
}

// redact replaces a payment code in an error's text by its last four
// digits: the gateway's answer to a bad signature echoes the signed
// content, biz_content and its auth_code included.
func redact(err error, code string) error {
	if err == nil || code == "" {
		return err
	}
	var pe *checkout.ProviderError
	isPE := errors.As(err, &pe)
	if !strings.Contains(err.Error(), code) && (!isPE || pe.Err == nil || !strings.Contains(pe.Err.Error(), code)) {
		return err
	}
	tail := "…" + checkout.CodeTail(code)
	if isPE {
		c := *pe
		c.Message = strings.ReplaceAll(c.Message, code, tail)
		if c.Err != nil {
			c.Err = errors.New(strings.ReplaceAll(c.Err.Error(), code, tail))
		}
		if !strings.Contains(c.Error(), code) {
			return &c
		}
	}
	return &checkout.ProviderError{Op: "pay", Kind: checkout.KindOf(err), Message: "Alipay refused the payment code",
		Err: errors.New(strings.ReplaceAll(err.Error(), code, tail))}
}

// Reverse ends a payment-code trade that is not final with
// alipay.trade.cancel, the one place cancel is right: it closes a waiting
// trade (action close: CloseClosed) and refunds one the customer paid
// after all (action refund: CloseRefunded, with the trade_no). One call
// per Reverse: the engine repeats. retry_flag=Y, and any answer whose
// outcome is not known, is an unknown-kind error; ACQ.TRADE_NOT_EXIST is
// KindNotFound (the pay call never reached Alipay).
func (p *Provider) Reverse(ctx context.Context, orderNo string) (checkout.CloseResult, error) {
	const op = "reverse"
	var retry string
	rsp, err := call(p, op, orderNo, func() (*alipay.TradeCancelRsp, error) {
		return p.client.TradeCancel(ctx, alipay.TradeCancel{OutTradeNo: orderNo})
	}, func(r *alipay.TradeCancelRsp) *alipay.Error {
		retry = r.RetryFlag
		return &r.Error
	})
	if retry == retryFlagYes {
		return checkout.CloseResult{}, unknown(op, msgCancelRetry, errors.Join(errors.New("retry_flag=Y"), err))
	}
	if err != nil {
		return checkout.CloseResult{}, err
	}
	if rsp.OutTradeNo != "" && rsp.OutTradeNo != orderNo {
		return checkout.CloseResult{}, unknown(op, "Alipay answered about another order", fmt.Errorf("asked %s, answered %s", orderNo, rsp.OutTradeNo))
	}
	switch rsp.Action {
	case cancelActionClose:
		return checkout.CloseResult{Outcome: checkout.CloseClosed, ProviderTradeNo: rsp.TradeNo}, nil
	case cancelActionRefund:
		return checkout.CloseResult{Outcome: checkout.CloseRefunded, ProviderTradeNo: rsp.TradeNo}, nil
	}
	return checkout.CloseResult{}, unknown(op, msgCancelUnknownAction, fmt.Errorf("action %q", rsp.Action))
}
