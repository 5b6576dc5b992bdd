package wechatemu

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// answer is an API reply before it is signed and written.
type answer struct {
	status int
	body   []byte
	// unsigned answers carry no Wechatpay-* headers, as WeChat sends a
	// bill file; contentType then names the body.
	unsigned    bool
	contentType string
}

func (a answer) ok() bool { return a.status >= 200 && a.status <= 299 }

type errorBody struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Detail  *errorDetail `json:"detail,omitempty"`
}

type errorDetail struct {
	Field    string `json:"field,omitempty"`
	Value    any    `json:"value,omitempty"`
	Issue    string `json:"issue,omitempty"`
	Location string `json:"location,omitempty"`
}

func failure(status int, code, msg string) answer {
	b, _ := json.Marshal(errorBody{Code: code, Message: msg})
	return answer{status: status, body: b}
}

// paramError is the real service's 400 PARAM_ERROR with a detail naming
// the field.
func paramError(field string, value any, issue string) answer {
	b, _ := json.Marshal(errorBody{
		Code:    "PARAM_ERROR",
		Message: "参数错误: " + field + " " + issue,
		Detail:  &errorDetail{Field: field, Value: value, Issue: issue, Location: "body"},
	})
	return answer{status: http.StatusBadRequest, body: b}
}

func okJSON(v any) answer {
	b, err := json.Marshal(v)
	if err != nil {
		return failure(http.StatusInternalServerError, "SYSTEM_ERROR", "系统错误")
	}
	return answer{status: http.StatusOK, body: b}
}

var (
	noContent     = answer{status: http.StatusNoContent}
	systemError   = failure(http.StatusInternalServerError, "SYSTEM_ERROR", "系统错误")
	orderNotExist = failure(http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
	orderPaid     = failure(http.StatusForbidden, "ORDERPAID", "该订单已支付")
	orderClosed   = failure(http.StatusBadRequest, "ORDER_CLOSED", "订单已关闭")
	mchNotExists  = failure(http.StatusBadRequest, "MCH_NOT_EXISTS", "商户号不存在")
)

const maxBody = 1 << 20

func (e *Emulator) serveAPI(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		e.write(w, failure(http.StatusBadRequest, "PARAM_ERROR", "请求体过大或无法读取"), false)
		return
	}
	f := e.takeFault(r.URL.Path)
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if !f.Processed && e.strike(w, f) {
		return
	}
	a := e.handle(r, body)
	if f.Processed && e.strike(w, f) {
		return
	}
	if f.MalformedBody && a.ok() && len(a.body) > 0 {
		a.body = a.body[:len(a.body)/2]
	}
	e.write(w, a, f.BadSignature && a.ok())
}

// write signs and sends an answer. Every answer is signed, errors too (the
// SDK checks only 2xx), except a bill file, which WeChat sends unsigned.
func (e *Emulator) write(w http.ResponseWriter, a answer, badSignature bool) {
	if !a.unsigned {
		h, err := e.signHeaders(a.body, badSignature)
		if err != nil {
			http.Error(w, "signing failed", http.StatusInternalServerError)
			return
		}
		for k, v := range h {
			w.Header().Set(k, v)
		}
	}
	w.Header().Set("Request-ID", randString(32))
	switch {
	case a.contentType != "":
		w.Header().Set("Content-Type", a.contentType)
	case len(a.body) > 0:
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// requestTarget is the path and query the merchant signed.
func requestTarget(r *http.Request) string {
	if strings.HasPrefix(r.RequestURI, "/") {
		return r.RequestURI
	}
	if u, err := url.Parse(r.RequestURI); err == nil && u.Path != "" {
		return u.RequestURI()
	}
	return r.URL.RequestURI()
}

func (e *Emulator) handle(r *http.Request, body []byte) answer {
	if err := e.authenticate(r.Method, requestTarget(r), r.Header.Get("Authorization"), body); err != nil {
		e.log.Warn("refused request", "path", r.URL.Path, "why", err.Error())
		return failure(http.StatusUnauthorized, "SIGN_ERROR", err.Error())
	}
	p := r.URL.Path
	method := func(m string, h func() answer) answer {
		if r.Method != m {
			return failure(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "不支持的请求方法")
		}
		return h()
	}
	switch {
	case p == "/v3/pay/transactions/native":
		return method(http.MethodPost, func() answer { return e.prepay(r, body) })
	case p == "/v3/pay/transactions/codepay":
		return method(http.MethodPost, func() answer { return e.codePay(body) })
	case strings.HasPrefix(p, "/v3/pay/transactions/out-trade-no/"):
		rest := strings.TrimPrefix(p, "/v3/pay/transactions/out-trade-no/")
		if no, ok := strings.CutSuffix(rest, "/close"); ok && no != "" && !strings.Contains(no, "/") {
			return method(http.MethodPost, func() answer { return e.closeTrade(no, body) })
		}
		if no, ok := strings.CutSuffix(rest, "/reverse"); ok && no != "" && !strings.Contains(no, "/") {
			return method(http.MethodPost, func() answer { return e.reverse(no, body) })
		}
		if rest != "" && !strings.Contains(rest, "/") {
			return method(http.MethodGet, func() answer { return e.query(r, rest, false) })
		}
	case strings.HasPrefix(p, "/v3/pay/transactions/id/"):
		id := strings.TrimPrefix(p, "/v3/pay/transactions/id/")
		if id != "" && !strings.Contains(id, "/") {
			return method(http.MethodGet, func() answer { return e.query(r, id, true) })
		}
	case p == "/v3/refund/domestic/refunds":
		return method(http.MethodPost, func() answer { return e.createRefund(body) })
	case strings.HasPrefix(p, "/v3/refund/domestic/refunds/"):
		no := strings.TrimPrefix(p, "/v3/refund/domestic/refunds/")
		if no != "" && !strings.Contains(no, "/") {
			return method(http.MethodGet, func() answer { return e.queryRefund(no) })
		}
	case p == "/v3/bill/tradebill":
		return method(http.MethodGet, func() answer { return e.tradeBill(r) })
	case p == billFilePath:
		return method(http.MethodGet, func() answer { return e.billFile(r) })
	}
	return failure(http.StatusNotFound, "NOT_FOUND", "请求的资源不存在")
}

// ---- views: what the API answers ----

type amountView struct {
	Total         int64  `json:"total"`
	PayerTotal    *int64 `json:"payer_total,omitempty"`
	Currency      string `json:"currency"`
	PayerCurrency string `json:"payer_currency"`
}

type payerView struct {
	OpenID string `json:"openid"`
}

type transactionView struct {
	AppID          string     `json:"appid"`
	MchID          string     `json:"mchid"`
	OutTradeNo     string     `json:"out_trade_no"`
	TransactionID  string     `json:"transaction_id,omitempty"`
	TradeType      string     `json:"trade_type,omitempty"`
	TradeState     string     `json:"trade_state"`
	TradeStateDesc string     `json:"trade_state_desc"`
	BankType       string     `json:"bank_type,omitempty"`
	Attach         string     `json:"attach"`
	SuccessTime    string     `json:"success_time,omitempty"`
	Payer          *payerView `json:"payer,omitempty"`
	Amount         amountView `json:"amount"`
}

var stateDesc = map[string]string{
	StateNotPay:  "订单未支付",
	StateSuccess: "支付成功",
	StateRefund:  "订单发生过退款",
	StateClosed:  "订单已关闭",

	StateUserPaying: "用户支付中，需要输入密码",
	StateRevoked:    "已撤销",
	StatePayError:   "支付失败，请重新下单支付",
}

func transactionOf(t Trade) transactionView {
	v := transactionView{
		AppID:          t.AppID,
		MchID:          t.MchID,
		OutTradeNo:     t.OutTradeNo,
		TradeState:     t.State,
		TradeStateDesc: stateDesc[t.State],
		Attach:         t.Attach,
		Amount:         amountView{Total: t.Total, Currency: t.Currency, PayerCurrency: t.Currency},
	}
	if t.TransactionID != "" {
		total := t.Total
		v.TransactionID = t.TransactionID
		v.TradeType = t.Type()
		v.BankType = "OTHERS"
		v.SuccessTime = rfc3339(t.SuccessTime)
		v.Payer = &payerView{OpenID: t.PayerOpenID}
		v.Amount.PayerTotal = &total
	}
	return v
}

type refundAmountView struct {
	Total            int64  `json:"total"`
	Refund           int64  `json:"refund"`
	From             []any  `json:"from"`
	PayerTotal       int64  `json:"payer_total"`
	PayerRefund      int64  `json:"payer_refund"`
	SettlementRefund int64  `json:"settlement_refund"`
	SettlementTotal  int64  `json:"settlement_total"`
	DiscountRefund   int64  `json:"discount_refund"`
	Currency         string `json:"currency"`
}

type refundView struct {
	RefundID            string           `json:"refund_id"`
	OutRefundNo         string           `json:"out_refund_no"`
	TransactionID       string           `json:"transaction_id"`
	OutTradeNo          string           `json:"out_trade_no"`
	Channel             string           `json:"channel"`
	UserReceivedAccount string           `json:"user_received_account"`
	SuccessTime         string           `json:"success_time,omitempty"`
	CreateTime          string           `json:"create_time"`
	Status              string           `json:"status"`
	FundsAccount        string           `json:"funds_account"`
	Amount              refundAmountView `json:"amount"`
	PromotionDetail     []any            `json:"promotion_detail"`
}

func refundOf(r Refund) refundView {
	v := refundView{
		RefundID:            r.RefundID,
		OutRefundNo:         r.OutRefundNo,
		TransactionID:       r.TransactionID,
		OutTradeNo:          r.OutTradeNo,
		Channel:             "ORIGINAL",
		UserReceivedAccount: "支付用户零钱",
		CreateTime:          rfc3339(r.CreatedAt),
		Status:              r.Status,
		FundsAccount:        "AVAILABLE",
		Amount: refundAmountView{
			Total: r.Total, Refund: r.Amount, From: []any{},
			PayerTotal: r.Total, PayerRefund: r.Amount,
			SettlementRefund: r.Amount, SettlementTotal: r.Total,
			Currency: "CNY",
		},
		PromotionDetail: []any{},
	}
	if r.Status == RefundSuccess {
		v.SuccessTime = rfc3339(r.SuccessTime)
	}
	return v
}

// ---- prepay ----

var (
	outTradeNoRE  = regexp.MustCompile(`^[0-9A-Za-z_\-|*]{6,32}$`)
	outRefundNoRE = regexp.MustCompile(`^[0-9A-Za-z_\-|*@]{1,64}$`)
)

// orderRequest is what every order the merchant places carries, a Native
// prepay and a payment-code pay alike.
type orderRequest struct {
	AppID       *string `json:"appid"`
	MchID       *string `json:"mchid"`
	Description *string `json:"description"`
	OutTradeNo  *string `json:"out_trade_no"`
	Attach      *string `json:"attach"`
	Amount      *struct {
		Total    *int64  `json:"total"`
		Currency *string `json:"currency"`
	} `json:"amount"`
}

type prepayRequest struct {
	orderRequest
	TimeExpire *string `json:"time_expire"`
	NotifyURL  *string `json:"notify_url"`
}

// checkOrder checks an order's shared fields as the platform does and
// returns its number, total and currency ("CNY" when unset); ok is false
// with the refusal to answer. check runs between the required fields and
// the rest, for the checks of the request's own kind.
func (e *Emulator) checkOrder(req orderRequest, check func() (answer, bool)) (no string, total int64, currency string, bad answer, ok bool) {
	for _, f := range []struct {
		name string
		v    *string
	}{{"appid", req.AppID}, {"mchid", req.MchID}, {"description", req.Description}, {"out_trade_no", req.OutTradeNo}} {
		if str(f.v) == "" {
			return "", 0, "", paramError(f.name, nil, "此字段为必填项"), false
		}
	}
	if check != nil {
		if a, ok := check(); !ok {
			return "", 0, "", a, false
		}
	}
	if req.Amount == nil || req.Amount.Total == nil {
		return "", 0, "", paramError("amount.total", nil, "此字段为必填项"), false
	}
	if *req.MchID != e.cfg.MchID {
		return "", 0, "", mchNotExists, false
	}
	if *req.AppID != e.cfg.AppID {
		return "", 0, "", failure(http.StatusBadRequest, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配"), false
	}
	no = *req.OutTradeNo
	if !outTradeNoRE.MatchString(no) {
		return "", 0, "", paramError("out_trade_no", no, "长度须为6-32个字符，只能是数字、大小写字母_-|*"), false
	}
	if utf8.RuneCountInString(*req.Description) > 127 {
		return "", 0, "", paramError("description", nil, "长度不能超过127个字符"), false
	}
	if len(str(req.Attach)) > 128 {
		return "", 0, "", paramError("attach", nil, "长度不能超过128个字节"), false
	}
	total = *req.Amount.Total
	if total <= 0 {
		return "", 0, "", paramError("amount.total", total, "必须大于0"), false
	}
	currency = str(req.Amount.Currency)
	if currency == "" {
		currency = "CNY"
	}
	if currency != "CNY" {
		return "", 0, "", paramError("amount.currency", currency, "境内商户号仅支持人民币CNY"), false
	}
	return no, total, currency, answer{}, true
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (e *Emulator) prepay(r *http.Request, body []byte) answer {
	var req prepayRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return failure(http.StatusBadRequest, "PARAM_ERROR", "请求体不是合法的JSON: "+err.Error())
	}
	no, total, currency, bad, ok := e.checkOrder(req.orderRequest, nil)
	if !ok {
		return bad
	}
	notifyURL := str(req.NotifyURL)
	if notifyURL != "" {
		u, err := url.Parse(notifyURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
			return paramError("notify_url", notifyURL, "必须为可直接访问的URL，不允许携带查询串")
		}
	}
	var expire time.Time
	if raw := str(req.TimeExpire); raw != "" {
		t, err := time.Parse(time.RFC3339, raw)
		if err != nil {
			return paramError("time_expire", raw, "格式须为rfc3339，如2018-06-08T10:34:56+08:00")
		}
		expire = t
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if t, ok := e.trade(no); ok {
		same := t.AppID == *req.AppID && t.Description == *req.Description && t.Total == total &&
			t.Currency == currency && t.Attach == str(req.Attach) && t.NotifyURL == notifyURL &&
			t.TimeExpire.Equal(expire)
		if !same {
			return failure(http.StatusForbidden, "OUT_TRADE_NO_USED", "商户订单号重复")
		}
		switch t.State {
		case StateSuccess, StateRefund:
			return orderPaid
		case StateClosed:
			return orderClosed
		}
		return okJSON(map[string]string{"code_url": e.codeURL(r, t)})
	}
	now := e.now()
	if !expire.IsZero() && !expire.After(now) {
		return paramError("time_expire", str(req.TimeExpire), "订单失效时间不能早于当前时间")
	}
	t := Trade{
		AppID:         *req.AppID,
		MchID:         *req.MchID,
		OutTradeNo:    no,
		Description:   *req.Description,
		Attach:        str(req.Attach),
		NotifyURL:     notifyURL,
		Total:         total,
		Currency:      currency,
		TimeExpire:    expire,
		TimeExpireRaw: str(req.TimeExpire),
		CreatedAt:     now,
		State:         StateNotPay,
		Token:         randString(24),
	}
	if err := e.saveTrade(t); err != nil {
		return systemError
	}
	e.log.Info("native prepay", "trade", no, "total_fen", total)
	return okJSON(map[string]string{"code_url": e.codeURL(r, t)})
}

// codeURL is the http URL of the trade's payer page.
func (e *Emulator) codeURL(r *http.Request, t Trade) string {
	base := e.cfg.PayerBase
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + t.PayPath()
}

// ---- query and close ----

func (e *Emulator) query(r *http.Request, key string, byID bool) answer {
	mchid := r.URL.Query().Get("mchid")
	if mchid == "" {
		return failure(http.StatusBadRequest, "PARAM_ERROR", "缺少参数mchid")
	}
	if mchid != e.cfg.MchID {
		return mchNotExists
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	no := key
	if byID {
		var ok bool
		if no, ok = e.byTxn[key]; !ok {
			return orderNotExist
		}
	}
	t, ok := e.trade(no)
	if !ok {
		return orderNotExist
	}
	return okJSON(transactionOf(t))
}

func (e *Emulator) closeTrade(no string, body []byte) answer {
	var req struct {
		MchID string `json:"mchid"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return failure(http.StatusBadRequest, "PARAM_ERROR", "请求体不是合法的JSON")
	}
	if req.MchID == "" {
		return paramError("mchid", nil, "此字段为必填项")
	}
	if req.MchID != e.cfg.MchID {
		return mchNotExists
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.trade(no)
	if !ok {
		return orderNotExist
	}
	switch t.State {
	case StateSuccess, StateRefund:
		return orderPaid
	case StateClosed:
		return noContent // closing again succeeds
	}
	t.State = StateClosed
	if err := e.saveTrade(t); err != nil {
		return systemError
	}
	e.log.Info("closed", "trade", no)
	return noContent
}

// ---- refunds ----

type refundRequest struct {
	TransactionID *string `json:"transaction_id"`
	OutTradeNo    *string `json:"out_trade_no"`
	OutRefundNo   *string `json:"out_refund_no"`
	Reason        *string `json:"reason"`
	NotifyURL     *string `json:"notify_url"`
	Amount        *struct {
		Refund   *int64  `json:"refund"`
		Total    *int64  `json:"total"`
		Currency *string `json:"currency"`
	} `json:"amount"`
}

var errNoTrade = errors.New("no trade")

func (e *Emulator) createRefund(body []byte) answer {
	var req refundRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return failure(http.StatusBadRequest, "PARAM_ERROR", "请求体不是合法的JSON: "+err.Error())
	}
	refundNo := str(req.OutRefundNo)
	if refundNo == "" {
		return paramError("out_refund_no", nil, "此字段为必填项")
	}
	if !outRefundNoRE.MatchString(refundNo) {
		return paramError("out_refund_no", refundNo, "长度不能超过64个字符，只能是数字、大小写字母_-|*@")
	}
	if str(req.OutTradeNo) == "" && str(req.TransactionID) == "" {
		return paramError("out_trade_no", nil, "transaction_id和out_trade_no必须二选一")
	}
	if req.Amount == nil || req.Amount.Refund == nil || req.Amount.Total == nil || req.Amount.Currency == nil {
		return paramError("amount", nil, "refund、total和currency为必填项")
	}
	amount, total := *req.Amount.Refund, *req.Amount.Total
	if amount <= 0 {
		return paramError("amount.refund", amount, "必须大于0")
	}
	if *req.Amount.Currency != "CNY" {
		return paramError("amount.currency", *req.Amount.Currency, "境内商户号仅支持人民币CNY")
	}
	notifyURL := str(req.NotifyURL)
	if notifyURL != "" {
		u, err := url.Parse(notifyURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
			return paramError("notify_url", notifyURL, "必须为可直接访问的URL，不允许携带查询串")
		}
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	t, err := e.refundTrade(str(req.OutTradeNo), str(req.TransactionID))
	if err != nil {
		return failure(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "订单不存在")
	}
	if old, ok := e.refund(refundNo); ok {
		if old.OutTradeNo != t.OutTradeNo || old.Amount != amount || old.Total != total {
			return failure(http.StatusBadRequest, "INVALID_REQUEST", "退款单号已存在，但请求参数与之前不一致")
		}
		return okJSON(refundOf(old))
	}
	if t.State != StateSuccess && t.State != StateRefund {
		return failure(http.StatusBadRequest, "INVALID_REQUEST", "订单未支付，不能退款")
	}
	if total != t.Total {
		return paramError("amount.total", total, "与原订单金额不一致")
	}
	if amount > t.Total-t.Refunded {
		// Not NOT_ENOUGH: that is the merchant's balance (protocols.md A8).
		return failure(http.StatusBadRequest, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
	}
	now := e.now().Truncate(time.Second)
	rf := Refund{
		RefundID:      newDigits("50", now, 16),
		OutRefundNo:   refundNo,
		OutTradeNo:    t.OutTradeNo,
		TransactionID: t.TransactionID,
		Reason:        str(req.Reason),
		NotifyURL:     notifyURL,
		Amount:        amount,
		Total:         total,
		Status:        RefundProcessing,
		CreatedAt:     now,
	}
	if e.cfg.RefundDelay <= 0 {
		rf.Status = RefundSuccess
		rf.SuccessTime = now
	} else {
		rf.SettleAt = e.now().Add(e.cfg.RefundDelay)
	}
	t.Refunded += amount
	t.State = StateRefund
	if err := e.saveRefund(rf); err != nil {
		return systemError
	}
	if err := e.saveTrade(t); err != nil {
		return systemError
	}
	e.log.Info("refund", "trade", t.OutTradeNo, "refund", refundNo, "fen", amount, "status", rf.Status)
	if rf.Status == RefundSuccess {
		e.queueRefundNotification(rf)
	} else if !e.closed {
		e.scheduleSettle(refundNo, e.cfg.RefundDelay)
	}
	return okJSON(refundOf(rf))
}

// refundTrade finds the trade a refund names; the caller holds mu.
func (e *Emulator) refundTrade(outTradeNo, transactionID string) (Trade, error) {
	if outTradeNo != "" {
		if t, ok := e.trade(outTradeNo); ok {
			return t, nil
		}
		return Trade{}, errNoTrade
	}
	if no, ok := e.byTxn[transactionID]; ok {
		if t, ok := e.trade(no); ok {
			return t, nil
		}
	}
	return Trade{}, errNoTrade
}

func (e *Emulator) queryRefund(no string) answer {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.refund(no)
	if !ok {
		return failure(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "退款单不存在")
	}
	return okJSON(refundOf(r))
}
