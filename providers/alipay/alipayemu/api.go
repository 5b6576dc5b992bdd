package alipayemu

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

var (
	outTradeNoRE     = regexp.MustCompile(`^[0-9A-Za-z_]{1,64}$`)
	timeoutExpressRE = regexp.MustCompile(`^([1-9][0-9]*)([mhd])$`)
	authCodeRE       = regexp.MustCompile(`^(2[5-9]|30)[0-9]{14,22}$`)
)

// find looks a trade up by trade_no (which wins) or out_trade_no.
func (e *Emulator) find(c *call) *trade {
	if no := c.s("trade_no"); no != "" {
		return e.byNo[no]
	}
	return e.trades[c.s("out_trade_no")]
}

func notExist(c *call, extra ...field) obj {
	return bizFail("ACQ.TRADE_NOT_EXIST", "交易不存在", append([]field{{"out_trade_no", c.s("out_trade_no")}}, extra...)...)
}

// orderFields checks what precreate and pay share.
func orderFields(c *call) (no string, fen int64, subject string, bad obj) {
	no, amount, subject := c.s("out_trade_no"), c.s("total_amount"), c.s("subject")
	switch {
	case no == "" || amount == "" || subject == "":
		return "", 0, "", invalidParam("out_trade_no, total_amount and subject are required")
	case !outTradeNoRE.MatchString(no):
		return "", 0, "", invalidParam("out_trade_no: up to 64 letters, digits or underscores")
	case utf8.RuneCountInString(subject) > 256 || strings.ContainsAny(subject, "/=&"):
		return "", 0, "", invalidParam("subject: at most 256 characters, no / = &")
	}
	fen, err := parseFen(amount)
	if err != nil || fen < 1 || fen > maxFen {
		return "", 0, "", invalidParam("total_amount: yuan with at most two decimals in [0.01, 100000000]")
	}
	return no, fen, subject, nil
}

// expiry reads time_expire (which wins) or timeout_express, for a trade
// that exists at once (a payment code).
func (e *Emulator) expiry(c *call) (time.Time, obj) {
	if s := c.s("time_expire"); s != "" {
		return timeExpire(c, s)
	}
	d, err := expressDeadline(c.s("timeout_express"), c.now)
	switch {
	case err != nil:
		return time.Time{}, invalidParam("timeout_express: 1m to 15d, integers only")
	case d.IsZero():
		return c.now.Add(e.cfg.DefaultExpiry), nil
	}
	return d, nil
}

// timeExpire parses time_expire, which must lie ahead.
func timeExpire(c *call, s string) (time.Time, obj) {
	t, err := time.ParseInLocation(timeLayout, s, shanghai)
	if err != nil {
		return time.Time{}, invalidParam("time_expire: yyyy-MM-dd HH:mm:ss")
	}
	if !t.After(c.now) {
		return time.Time{}, invalidParam("time_expire is in the past")
	}
	return t, nil
}

// expressDeadline reads a relative timeout ("5m", "2h", "1d", "1c" for
// the end of the day) counted from from; "" is the zero time.
func expressDeadline(s string, from time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if s == "1c" {
		d := from.In(shanghai)
		return time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, shanghai), nil
	}
	m := timeoutExpressRE.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, fmt.Errorf("bad timeout %q", s)
	}
	n, _ := strconv.Atoi(m[1])
	d := map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[m[2]] * time.Duration(n)
	if d > 15*24*time.Hour {
		return time.Time{}, fmt.Errorf("timeout %q above 15d", s)
	}
	return from.Add(d), nil
}

// precreate is alipay.trade.precreate. No trade exists until the scan;
// the code itself lives until qr_code_timeout_express (else
// DefaultExpiry). time_expire and timeout_express are checked and kept;
// timeout_express limits the trade from the scan, time_expire nothing
// (see scanLocked).
func (e *Emulator) precreate(c *call) obj {
	no, fen, subject, bad := orderFields(c)
	if bad != nil {
		return bad
	}
	if s := c.s("time_expire"); s != "" {
		if _, bad := timeExpire(c, s); bad != nil {
			return bad
		}
	}
	if _, err := expressDeadline(c.s("timeout_express"), c.now); err != nil {
		return invalidParam("timeout_express: 1m to 15d, integers only")
	}
	qrExp, err := expressDeadline(c.s("qr_code_timeout_express"), c.now)
	switch {
	case err != nil || c.s("qr_code_timeout_express") == "1c":
		return invalidParam("qr_code_timeout_express: 1m to 15d, integers only")
	case qrExp.IsZero():
		qrExp = c.now.Add(e.cfg.DefaultExpiry)
	}
	if t, ok := e.trades[no]; ok {
		e.expireLocked(t, c.now)
		switch {
		case t.WasPaid():
			return bizFail("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
		case t.Locked || t.Status == StatusClosed:
			return bizFail("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
		case t.Scene != ScenePrecreate || t.TotalFen != fen || t.Subject != subject:
			return bizFail("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
		}
		// The same request again: the same code.
		return success(field{"out_trade_no", no}, field{"qr_code", t.QRCode})
	}
	t := &trade{
		OutTradeNo:       no,
		Status:           StatusPrecreated,
		Scene:            ScenePrecreate,
		Token:            newToken(),
		TotalFen:         fen,
		Subject:          subject,
		Body:             c.s("body"),
		ProductCode:      c.s("product_code"),
		TerminalID:       c.s("terminal_id"),
		StoreID:          c.s("store_id"),
		OperatorID:       c.s("operator_id"),
		NotifyURL:        c.form.Get("notify_url"),
		TimeExpire:       c.s("time_expire"),
		TimeoutExpress:   c.s("timeout_express"),
		QRTimeoutExpress: c.s("qr_code_timeout_express"),
		CreatedAt:        c.now,
		QRExpiresAt:      qrExp,
	}
	t.QRCode = strings.TrimRight(c.base, "/") + "/qr/" + t.Token
	e.index(t)
	e.saveLocked(t)
	return success(field{"out_trade_no", no}, field{"qr_code", t.QRCode})
}

func (e *Emulator) query(c *call) obj {
	t, refused := e.tradeOf(c, notExist(c))
	if t == nil {
		return refused
	}
	if t.Status == StatusPrecreated {
		return notExist(c)
	}
	paid := "0.00"
	if t.WasPaid() {
		paid = yuan(t.TotalFen)
	}
	o := success(
		field{"trade_no", t.TradeNo},
		field{"out_trade_no", t.OutTradeNo},
		field{"buyer_logon_id", t.BuyerLogonID},
		field{"trade_status", t.Status},
		field{"total_amount", yuan(t.TotalFen)},
		field{"buyer_pay_amount", paid},
		field{"point_amount", "0.00"},
		field{"invoice_amount", paid},
		field{"send_pay_date", beijing(t.PaidAt)},
		field{"receipt_amount", paid},
		field{"store_id", t.StoreID},
		field{"terminal_id", t.TerminalID},
		field{"buyer_user_id", t.BuyerUserID},
		field{"subject", t.Subject},
	)
	if c.has("query_options", "fund_bill_list") && t.WasPaid() {
		o = append(o, field{"fund_bill_list", []obj{fundBill(t.TotalFen)}})
	}
	return o
}

func fundBill(fen int64) obj {
	return obj{{"fund_channel", "ALIPAYACCOUNT"}, {"amount", yuan(fen)}, {"real_amount", yuan(fen)}}
}

// cancelTrade is alipay.trade.cancel: it closes an unpaid trade and
// refunds a paid one in full.
func (e *Emulator) cancelTrade(c *call) obj {
	t, refused := e.tradeOf(c, notExist(c, field{"retry_flag", "N"}))
	if t == nil {
		return refused
	}
	answer := func(action string) obj {
		return success(field{"trade_no", t.TradeNo}, field{"out_trade_no", t.OutTradeNo},
			field{"retry_flag", "N"}, field{"action", action})
	}
	switch t.Status {
	case StatusPrecreated:
		// Not a trade yet: nothing to cancel, and nothing locks the code.
		return notExist(c, field{"retry_flag", "N"})
	case StatusWaitBuyerPay:
		e.closeLocked(t, c.now)
		t.CancelAction = "close"
		if e.saveLocked(t) == nil {
			e.notifyLocked(t, nil)
		}
		return answer("close")
	case StatusSuccess:
		if c.now.Sub(t.PaidAt) > 24*time.Hour {
			return bizFail("ACQ.TRADE_CANCEL_TIME_OUT", "超过撤销时间范围", field{"retry_flag", "N"})
		}
		r := *e.refundLocked(t, c.now, t.OutTradeNo, t.TotalFen-t.RefundedFen, "cancel", true)
		t.CancelAction = "refund"
		if e.saveLocked(t) == nil {
			e.notifyLocked(t, &r)
		}
		return answer("refund")
	case StatusClosed:
		action := t.CancelAction
		if action == "" {
			action = "close"
			if t.WasPaid() {
				action = "refund"
			}
		}
		return answer(action)
	}
	return bizFail("ACQ.TRADE_STATUS_ERROR", "交易状态不合法", field{"retry_flag", "N"})
}

// closeTrade is alipay.trade.close: only a waiting trade can be closed.
func (e *Emulator) closeTrade(c *call) obj {
	t, refused := e.tradeOf(c, notExist(c))
	if t == nil {
		return refused
	}
	switch {
	case t.Status == StatusPrecreated:
		// Not a trade yet: nothing to close, and the code stays payable
		// until its QR expiry (the worst case; Alipay documents no lock).
		return notExist(c)
	case t.Status == StatusWaitBuyerPay:
		e.closeLocked(t, c.now)
		if e.saveLocked(t) == nil {
			e.notifyLocked(t, nil)
		}
		fallthrough
	case t.Status == StatusClosed && !t.WasPaid():
		return success(field{"trade_no", t.TradeNo}, field{"out_trade_no", t.OutTradeNo})
	}
	return bizFail("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
}

func (e *Emulator) refundTrade(c *call) obj {
	zero := []field{{"out_trade_no", c.s("out_trade_no")}, {"refund_fee", "0.00"}, {"send_back_fee", "0.00"}}
	fail := func(sub, msg string) obj { return bizFail(sub, msg, zero...) }
	if c.s("out_trade_no") == "" && c.s("trade_no") == "" {
		return invalidParam("out_trade_no or trade_no is required")
	}
	t := e.find(c)
	if t == nil || t.Status == StatusPrecreated {
		return fail("ACQ.TRADE_NOT_EXIST", "交易不存在")
	}
	e.expireLocked(t, c.now)
	fen, err := parseFen(c.s("refund_amount"))
	if err != nil || fen < 1 {
		return invalidParam("refund_amount: yuan with at most two decimals, at least 0.01")
	}
	reqNo := c.s("out_request_no")
	if reqNo == "" {
		// Without out_request_no only a full refund is allowed, and it
		// is keyed by the out_trade_no.
		if fen != t.TotalFen {
			return fail("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额不等于交易金额")
		}
		reqNo = t.OutTradeNo
	}
	answer := func(change string, r RefundInfo) obj {
		o := success(
			field{"trade_no", t.TradeNo},
			field{"out_trade_no", t.OutTradeNo},
			field{"buyer_logon_id", t.BuyerLogonID},
			field{"buyer_user_id", t.BuyerUserID},
			field{"fund_change", change},
			field{"refund_fee", yuan(t.RefundedFen)},
			field{"gmt_refund_pay", beijing(r.At)},
		)
		if change == "Y" {
			o = append(o, field{"send_back_fee", yuan(r.AmountFen)})
		}
		return o
	}
	if r := t.refund(reqNo); r != nil {
		if r.AmountFen != fen {
			return fail("ACQ.DISCORDANT_REPEAT_REQUEST", "退款请求号对应的退款金额不一致")
		}
		return answer("N", *r) // a replay moves no money
	}
	switch {
	case t.Status == StatusFinished:
		return fail("ACQ.TRADE_HAS_FINISHED", "交易已完结")
	case !t.WasPaid():
		return fail("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
	case fen > t.TotalFen-t.RefundedFen:
		return fail("ACQ.REASON_TRADE_REFUND_FEE_ERR", "退款金额超限")
	}
	r := *e.refundLocked(t, c.now, reqNo, fen, c.s("refund_reason"), false)
	if e.saveLocked(t) == nil {
		e.notifyLocked(t, &r)
	}
	return answer("Y", r)
}

func (e *Emulator) refundQuery(c *call) obj {
	reqNo := c.s("out_request_no")
	if reqNo == "" {
		return invalidParam("out_request_no is required")
	}
	if c.s("out_trade_no") == "" && c.s("trade_no") == "" {
		return invalidParam("out_trade_no or trade_no is required")
	}
	t := e.find(c)
	if t == nil || t.Status == StatusPrecreated {
		return notExist(c)
	}
	r := t.refund(reqNo)
	if r == nil {
		// Not received, or failed: refund_status is absent.
		return success(field{"trade_no", t.TradeNo}, field{"out_trade_no", t.OutTradeNo}, field{"out_request_no", reqNo})
	}
	return success(
		field{"trade_no", t.TradeNo},
		field{"out_trade_no", t.OutTradeNo},
		field{"out_request_no", reqNo},
		field{"total_amount", yuan(t.TotalFen)},
		field{"refund_amount", yuan(r.AmountFen)},
		field{"refund_status", "REFUND_SUCCESS"},
		field{"gmt_refund_pay", beijing(r.At)},
		field{"send_back_fee", yuan(r.AmountFen)},
	)
}

// payTrade is alipay.trade.pay with a payment code. What the customer
// does is told by the code (codepay.go: CodePaysAtOnce, CodeConfirmsLater,
// CodeNeverConfirms, CodeInsufficient, CodeExpired); a waiting trade
// answers 10003. The trade keeps the code's last four digits only, and
// the emulator logs no more of it.
func (e *Emulator) payTrade(c *call) obj {
	if sc := c.s("scene"); sc != "bar_code" && sc != "wave_code" {
		return invalidParam("scene: bar_code or wave_code")
	}
	no, fen, subject, bad := orderFields(c)
	if bad != nil {
		return bad
	}
	auth := c.s("auth_code")
	if !authCodeRE.MatchString(auth) {
		e.log.Debug("alipayemu: trade.pay with an invalid code", "out_trade_no", no)
		return bizFail("ACQ.PAYMENT_AUTH_CODE_INVALID", "支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款")
	}
	behave := behaviourOf(auth)
	e.log.Debug("alipayemu: trade.pay", "out_trade_no", no, "code_tail", codeTail(auth), "behaviour", behave)
	t, ok := e.trades[no]
	if ok {
		e.expireLocked(t, c.now)
		switch {
		case t.WasPaid():
			return bizFail("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
		case t.Locked || t.Status == StatusClosed:
			return bizFail("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
		case t.Scene != SceneBarCode || t.TotalFen != fen || t.Subject != subject:
			return bizFail("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
		}
	} else {
		switch behave {
		case behaveBalance:
			return bizFail("ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足", field{"out_trade_no", no})
		case behaveExpired:
			return bizFail("ACQ.PAYMENT_AUTH_CODE_INVALID", "支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款", field{"out_trade_no", no})
		}
		exp, bad := e.expiry(c)
		if bad != nil {
			return bad
		}
		t = &trade{
			OutTradeNo:     no,
			Status:         StatusWaitBuyerPay,
			Scene:          SceneBarCode,
			TotalFen:       fen,
			Subject:        subject,
			Body:           c.s("body"),
			ProductCode:    c.s("product_code"),
			TerminalID:     c.s("terminal_id"),
			StoreID:        c.s("store_id"),
			OperatorID:     c.s("operator_id"),
			NotifyURL:      c.form.Get("notify_url"),
			TimeoutExpress: c.s("timeout_express"),
			CreatedAt:      c.now,
			ScannedAt:      c.now,
			ExpiresAt:      exp,
			BuyerLogonID:   buyerLogonID,
			BuyerUserID:    buyerUserID,
			CodeTail:       codeTail(auth),
			Behaviour:      behave,
		}
		if behave == behaveLater {
			t.ConfirmAt = c.now.Add(ConfirmDelay)
		}
		t.TradeNo = e.newTradeNo(c.now)
		e.index(t)
		e.saveLocked(t)
		if behave == behavePay {
			_ = e.payLocked(t, c.now)
		}
	}
	o := obj{
		{"trade_no", t.TradeNo},
		{"out_trade_no", t.OutTradeNo},
		{"buyer_logon_id", t.BuyerLogonID},
		{"buyer_user_id", t.BuyerUserID},
		{"total_amount", yuan(t.TotalFen)},
	}
	if !t.WasPaid() {
		return append(obj{{"code", "10003"}, {"msg", codeMsg["10003"]}}, o...)
	}
	return success(append(o,
		field{"receipt_amount", yuan(t.TotalFen)},
		field{"buyer_pay_amount", yuan(t.TotalFen)},
		field{"invoice_amount", yuan(t.TotalFen)},
		field{"point_amount", "0.00"},
		field{"gmt_payment", beijing(t.PaidAt)},
		field{"fund_bill_list", []obj{fundBill(t.TotalFen)}},
	)...)
}

// tradeOf finds the trade a call names by out_trade_no or trade_no and
// brings its expiry up to date; when there is none it returns the
// parameter error or the caller's answer for a trade Alipay does not know.
func (e *Emulator) tradeOf(c *call, missing obj) (*trade, obj) {
	if c.s("out_trade_no") == "" && c.s("trade_no") == "" {
		return nil, invalidParam("out_trade_no or trade_no is required")
	}
	t := e.find(c)
	if t == nil {
		return nil, missing
	}
	e.expireLocked(t, c.now)
	return t, nil
}
