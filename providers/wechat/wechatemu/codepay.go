package wechatemu

import (
	"encoding/json"
	"net/http"
	"regexp"
	"time"
)

// Payment codes (付款码, protocols.md E2): the merchant scans the code the
// customer's WeChat shows and charges it with
//
//	POST /v3/pay/transactions/codepay
//	POST /v3/pay/transactions/out-trade-no/{out_trade_no}/reverse
//
// A code trade has no code_url and sends no notification: the pay answer
// and the query decide. What the "customer" does is decided by the code
// scanned: the test codes below; any other valid code (18 digits starting
// 10–15) pays at once. The code itself is never stored or logged, only its
// last four digits and the behaviour it decided.

// Test payment codes: what the emulator's customer does when the merchant
// scans each.
const (
	// CodePaysAtOnce pays in the answer to the pay call (SUCCESS).
	CodePaysAtOnce = "134610000000000001"
	// CodeAsksPassword asks the customer for the password: the pay call
	// answers 202 USERPAYING and the trade is SUCCESS CodeConfirmDelay
	// later by Config.Clock (decided when it is next looked at).
	CodeAsksPassword = "134610000000000002"
	// CodeNeverConfirms asks for the password and is never confirmed: the
	// trade stays USERPAYING until it is reversed (REVOKED).
	CodeNeverConfirms = "134610000000000003"
	// CodeInsufficient is refused: 403 NOT_ENOUGH, balance insufficient;
	// no trade is kept.
	CodeInsufficient = "134610000000000004"
	// CodeExpired is an expired code: 400 AUTHCODEEXPIRE (v2's name for
	// it; the v3 spelling is unconfirmed); no trade is kept.
	CodeExpired = "134610000000000005"
	// CodePayFails asks for the password, and CodeConfirmDelay later the
	// payment fails (PAYERROR, e.g. the bank refused).
	CodePayFails = "134610000000000006"
)

// CodeConfirmDelay is how long after the pay call a CodeAsksPassword
// customer confirms (and a CodePayFails payment fails).
const CodeConfirmDelay = 5 * time.Second

// Trade states of payment codes, as WeChat spells them.
const (
	StateUserPaying = "USERPAYING"
	StateRevoked    = "REVOKED"
	StatePayError   = "PAYERROR"
)

// Customer behaviours a code decided (Trade.Customer).
const (
	customerPays     = "pays"     // paid in the answer
	customerPassword = "password" // USERPAYING, SUCCESS at ConfirmAt
	customerNever    = "never"    // USERPAYING until reversed
	customerFails    = "fails"    // USERPAYING, PAYERROR at ConfirmAt
)

// TradeTypeMicropay is the trade_type of a code trade.
const TradeTypeMicropay = "MICROPAY"

var authCodeRE = regexp.MustCompile(`^1[0-5][0-9]{16}$`)

var (
	userPayingAnswer = answer{status: http.StatusAccepted,
		body: []byte(`{"code":"USERPAYING","message":"需要用户输入支付密码"}`)}
	notEnough     = failure(http.StatusForbidden, "NOT_ENOUGH", "用户余额不足")
	codeExpired   = failure(http.StatusBadRequest, "AUTHCODEEXPIRE", "二维码已过期，请用户在微信上刷新后再试")
	codeInvalid   = failure(http.StatusBadRequest, "AUTH_CODE_INVALID", "付款码无效，请重新扫码")
	orderReversed = failure(http.StatusBadRequest, "ORDERREVERSED", "订单已撤销")
)

type codePayRequest struct {
	orderRequest
	Payer *struct {
		AuthCode *string `json:"auth_code"`
	} `json:"payer"`
	SceneInfo *struct {
		DeviceID  *string `json:"device_id"`
		DeviceIP  *string `json:"device_ip"`
		StoreInfo *struct {
			ID *string `json:"id"`
		} `json:"store_info"`
	} `json:"scene_info"`
}

// customerOf is what the customer showing code does.
func customerOf(code string) string {
	switch code {
	case CodeAsksPassword:
		return customerPassword
	case CodeNeverConfirms:
		return customerNever
	case CodePayFails:
		return customerFails
	}
	return customerPays
}

func (e *Emulator) codePay(body []byte) answer {
	var req codePayRequest
	if err := json.Unmarshal(body, &req); err != nil {
		// Not err's text: it could quote the body, and so the code.
		return failure(http.StatusBadRequest, "PARAM_ERROR", "请求体不是合法的JSON")
	}
	no, total, currency, bad, ok := e.checkOrder(req.orderRequest, func() (answer, bool) {
		if req.Payer == nil || str(req.Payer.AuthCode) == "" {
			return paramError("payer.auth_code", nil, "此字段为必填项"), false
		}
		return answer{}, true
	})
	if !ok {
		return bad
	}
	if req.SceneInfo == nil || str(req.SceneInfo.DeviceID) == "" || str(req.SceneInfo.DeviceIP) == "" ||
		req.SceneInfo.StoreInfo == nil || str(req.SceneInfo.StoreInfo.ID) == "" {
		return paramError("scene_info", nil, "device_id、device_ip和store_info.id为必填项")
	}
	code := *req.Payer.AuthCode
	if !authCodeRE.MatchString(code) {
		return codeInvalid
	}
	tail := code[len(code)-4:]

	e.mu.Lock()
	defer e.mu.Unlock()
	if t, ok := e.trade(no); ok {
		// The same pay again (a retry after a lost answer): the trade's
		// present state; other details: the number is used.
		if t.TradeType != TradeTypeMicropay || t.Total != total || t.Description != *req.Description ||
			t.Attach != str(req.Attach) || t.CodeTail != tail {
			return failure(http.StatusForbidden, "OUT_TRADE_NO_USED", "商户订单号重复")
		}
		return codeAnswerOf(t)
	}
	switch code {
	case CodeInsufficient:
		e.log.Info("code pay refused: balance", "trade", no, "code_tail", tail)
		return notEnough
	case CodeExpired:
		e.log.Info("code pay refused: expired code", "trade", no, "code_tail", tail)
		return codeExpired
	}
	now := e.now()
	t := Trade{
		AppID:       *req.AppID,
		MchID:       *req.MchID,
		OutTradeNo:  no,
		Description: *req.Description,
		Attach:      str(req.Attach),
		Total:       total,
		Currency:    currency,
		CreatedAt:   now,
		TradeType:   TradeTypeMicropay,
		Customer:    customerOf(code),
		CodeTail:    tail,
		DeviceID:    str(req.SceneInfo.DeviceID),
		State:       StateUserPaying,
	}
	if t.Customer == customerPays {
		t = e.settleCode(t, now)
	} else {
		t.ConfirmAt = now.Add(CodeConfirmDelay)
		if t.Customer == customerNever {
			t.ConfirmAt = time.Time{}
		}
	}
	if err := e.saveTrade(t); err != nil {
		return systemError
	}
	e.log.Info("code pay", "trade", no, "total_fen", total, "code_tail", tail, "trade_state", t.State)
	return codeAnswerOf(t)
}

// settleCode is what the customer of a code trade does at at: pays, or
// the payment fails; the caller saves it.
func (e *Emulator) settleCode(t Trade, at time.Time) Trade {
	if t.Customer == customerFails {
		t.State = StatePayError
		return t
	}
	t.State = StateSuccess
	t.TransactionID = newDigits("4200", at, 10)
	t.SuccessTime = at.Truncate(time.Second)
	t.PayerOpenID = "oEmu" + randString(24)
	return t
}

// codeAnswerOf is the pay call's answer for a code trade in its state.
func codeAnswerOf(t Trade) answer {
	switch t.State {
	case StateUserPaying:
		return userPayingAnswer
	case StateRevoked:
		return orderReversed
	case StateClosed:
		return orderClosed
	}
	return okJSON(transactionOf(t))
}

// reverse ends a code trade: a customer still at the password prompt is
// stopped (REVOKED); a paid trade is REVOKED and its money goes back to
// the customer (the query keeps its transaction_id and success_time, so
// the merchant can tell), as a refund WeChat numbers itself: the reverse
// takes no refund number (the bill's REVOKED row, bill.go). Reversing a
// reversed, closed or failed trade succeeds again.
func (e *Emulator) reverse(no string, body []byte) answer {
	var req struct {
		AppID string `json:"appid"`
		MchID string `json:"mchid"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return failure(http.StatusBadRequest, "PARAM_ERROR", "请求体不是合法的JSON")
	}
	switch {
	case req.AppID == "":
		return paramError("appid", nil, "此字段为必填项")
	case req.MchID == "":
		return paramError("mchid", nil, "此字段为必填项")
	case req.MchID != e.cfg.MchID:
		return mchNotExists
	case req.AppID != e.cfg.AppID:
		return failure(http.StatusBadRequest, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.trade(no)
	if !ok {
		return orderNotExist
	}
	if t.TradeType != TradeTypeMicropay {
		return failure(http.StatusBadRequest, "INVALID_REQUEST", "非付款码订单不能撤销，请调用关单接口")
	}
	ok200 := okJSON(map[string]string{"appid": t.AppID, "mchid": t.MchID, "out_trade_no": t.OutTradeNo})
	switch t.State {
	case StateRevoked, StateClosed:
		return ok200
	case StateRefund:
		return failure(http.StatusBadRequest, "INVALID_REQUEST", "订单已发生退款，不能撤销")
	case StateSuccess:
		t.Refunded = t.Total // the money goes back to the customer
		t.RevokeRefundID = newDigits("50", e.now(), 16)
	}
	prev := t.State
	t.State = StateRevoked
	t.RevokedAt = e.now()
	if err := e.saveTrade(t); err != nil {
		return systemError
	}
	e.log.Info("reversed", "trade", no, "was", prev)
	return ok200
}
