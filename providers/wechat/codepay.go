package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"

	"till/checkout"
)

// Payment codes (付款码, protocols.md E2): the clerk scans the code the
// customer's WeChat shows. wechatpay-go v0.2.21 has no service for these
// calls, so they go through the core client, which signs the request and
// verifies the answer like every other call.
//
//	POST /v3/pay/transactions/codepay                          PayCode
//	POST /v3/pay/transactions/out-trade-no/{no}/reverse        Reverse
//
// The customer's code is a bearer credential: it is sent in the one pay
// call and appears in no log line and no error (errors are scrubbed of it
// in case an answer echoes the request).

var _ checkout.CodePayer = (*Provider)(nil)

// codeKinds are the refusals a pay call may get, worded for the clerk
// (they override codeKinds of errors.go for "pay"). Spellings differ
// between v2 (NOTENOUGH, AUTHCODEEXPIRE) and the v3 error table
// (NOT_ENOUGH): both are accepted.
var payCodeKinds = map[string]struct {
	kind checkout.ErrorKind
	msg  string
}{
	"NOT_ENOUGH":        {checkout.KindInsufficient, "余额不足 / insufficient balance: ask the customer to pay another way or pick another card in WeChat"},
	"NOTENOUGH":         {checkout.KindInsufficient, "余额不足 / insufficient balance: ask the customer to pay another way or pick another card in WeChat"},
	"AUTHCODEEXPIRE":    {checkout.KindRefused, "the code expired or was used: ask the customer to refresh it"},
	"AUTH_CODE_EXPIRE":  {checkout.KindRefused, "the code expired or was used: ask the customer to refresh it"},
	"AUTH_CODE_INVALID": {checkout.KindRefused, "the code expired or was used: ask the customer to refresh it"},
	"AUTH_CODE_ERROR":   {checkout.KindRefused, "the code expired or was used: ask the customer to refresh it"},
	"PARAM_ERROR":       {checkout.KindRefused, "WeChat Pay refused the payment (a parameter, or the code): scan the code again"},
	"NOTSUPORTCARD":     {checkout.KindRefused, "the customer's card is not accepted: ask them to pick another one in WeChat"},
	"BUYER_MISMATCH":    {checkout.KindRefused, "the code belongs to another payer than this order's"},
	"ORDERREVERSED":     {checkout.KindClosed, "the order was reversed: start a new sale"},
	"ORDER_CLOSED":      {checkout.KindClosed, "the order is closed: start a new sale"},
	"ORDERCLOSED":       {checkout.KindClosed, "the order is closed: start a new sale"},
}

// userPaying reports a "the customer is asked for the password" answer:
// the v3 table's USERPAYING (202) or its spelling USER_PAYING.
func userPaying(code string) bool { return code == "USERPAYING" || code == "USER_PAYING" }

type codePayBody struct {
	AppID       string        `json:"appid"`
	MchID       string        `json:"mchid"`
	Description string        `json:"description"`
	OutTradeNo  string        `json:"out_trade_no"`
	Attach      string        `json:"attach,omitempty"`
	Payer       codePayPayer  `json:"payer"`
	Amount      codePayAmount `json:"amount"`
	SceneInfo   codePayScene  `json:"scene_info"`
}

type codePayPayer struct {
	AuthCode string `json:"auth_code"`
}

type codePayAmount struct {
	Total    int64  `json:"total"`
	Currency string `json:"currency"`
}

type codePayScene struct {
	DeviceID  string           `json:"device_id"`
	DeviceIP  string           `json:"device_ip"`
	StoreInfo codePayStoreInfo `json:"store_info"`
}

type codePayStoreInfo struct {
	ID string `json:"id"`
}

// codeAnswer is a 2xx answer of pay or reverse: a transaction, or (202)
// WeChat's {"code","message"} saying the customer is paying.
type codeAnswer struct {
	payments.Transaction
	Code    string `json:"code"`
	Message string `json:"message"`
}

// PayCode charges a customer's payment code: paid at once is TradePaid;
// the customer asked for the password (USERPAYING) is TradeNotPaid, to
// be polled; a definite refusal is a *checkout.ProviderError of a definite
// kind (insufficient balance, an expired or invalid code); anything else
// (SYSTEM_ERROR, 5xx, timeouts, answers that do not verify) is unknown,
// settled by a query with the same number.
func (p *Provider) PayCode(ctx context.Context, req checkout.CodePayRequest) (checkout.TradeStatus, error) {
	const op = "pay"
	switch {
	case req.Amount <= 0:
		return checkout.TradeStatus{}, &checkout.ProviderError{Op: op, Kind: checkout.KindRefused, Message: "the amount must be at least 0.01"}
	case req.OrderNo == "":
		return checkout.TradeStatus{}, &checkout.ProviderError{Op: op, Kind: checkout.KindRefused, Message: "the order has no number"}
	case req.AuthCode == "":
		return checkout.TradeStatus{}, &checkout.ProviderError{Op: op, Kind: checkout.KindRefused, Message: "no payment code was scanned"}
	}
	desc := truncateRunes(req.Description, 127)
	if desc == "" {
		desc = req.OrderNo
	}
	// scene_info is required with device_id, device_ip and store_info.id
	// (E2). till has no store id of its own: the terminal stands for both.
	terminal := truncateBytes(req.Terminal, 32)
	if terminal == "" {
		terminal = "till"
	}
	body := codePayBody{
		AppID: p.creds.AppID, MchID: p.creds.MchID, Description: desc, OutTradeNo: req.OrderNo,
		Payer:     codePayPayer{AuthCode: req.AuthCode},
		Amount:    codePayAmount{Total: int64(req.Amount), Currency: "CNY"},
		SceneInfo: codePayScene{DeviceID: terminal, DeviceIP: localIP(), StoreInfo: codePayStoreInfo{ID: terminal}},
	}
	if req.Terminal != "" {
		body.Attach = truncateBytes(AttachPrefix+req.Terminal, 128)
	}
	tail := checkout.CodeTail(req.AuthCode)
	res, err := p.api.Post(ctx, DefaultAPIBase+"/v3/pay/transactions/codepay", body)
	if err != nil {
		err = scrub(err, req.AuthCode)
		if code := apiCode(err); userPaying(code) {
			p.log.Info("wechat code pay: the customer is asked for the password", "order", req.OrderNo, "code_tail", tail)
			return checkout.TradeStatus{State: checkout.TradeNotPaid, Raw: "USERPAYING"}, nil
		}
		return checkout.TradeStatus{}, p.failCode(op, req.OrderNo, tail, res, err)
	}
	ans, err := readCodeAnswer(res)
	if err != nil {
		err = unknown(op, "", "WeChat Pay's pay answer could not be read", scrub(err, req.AuthCode))
		p.log.Warn("wechat code pay answer refused", "order", req.OrderNo, "code_tail", tail, "err", logText(err))
		return checkout.TradeStatus{}, err
	}
	if ans.TradeState == nil {
		if userPaying(ans.Code) {
			p.log.Info("wechat code pay: the customer is asked for the password", "order", req.OrderNo, "code_tail", tail)
			return checkout.TradeStatus{State: checkout.TradeNotPaid, Raw: "USERPAYING"}, nil
		}
		// Any other non-final answer: query (E2).
		return checkout.TradeStatus{}, unknown(op, ans.Code, "WeChat Pay answered without a trade state; checking again", nil)
	}
	st, err := tradeStatus(&ans.Transaction, req.OrderNo, p.creds.MchID)
	if err != nil {
		p.log.Warn("wechat code pay answer refused", "order", req.OrderNo, "code_tail", tail, "err", logText(err))
		return checkout.TradeStatus{}, err
	}
	if st.State == checkout.TradeFailed {
		p.log.Info("wechat code pay failed", "order", req.OrderNo, "code_tail", tail, "trade_state", st.Raw)
	} else {
		p.log.Info("wechat code pay", "order", req.OrderNo, "code_tail", tail, "amount_fen", int64(req.Amount), "trade_state", st.Raw)
	}
	return st, nil
}

// Reverse ends a code trade that is not final (撤销): WeChat stops the
// password prompt, or, when the customer had paid, gives the money back.
// Its answer does not say which, so a query decides (the emulator and,
// as far as the docs tell, WeChat show REVOKED either way):
//
//   - REVOKED with a success_time (it had been paid), or REFUND: the
//     reverse refunded it, CloseRefunded;
//   - REVOKED, CLOSED, NOTPAY or PAYERROR without a payment: CloseClosed;
//   - anything else (still USERPAYING or SUCCESS, or no answer): unknown,
//     and the engine reverses again.
//
// A USERPAYING answer to the reverse itself is unknown too (retry, E2);
// ORDER_NOT_EXIST is KindNotFound.
func (p *Provider) Reverse(ctx context.Context, orderNo string) (checkout.CloseResult, error) {
	const op = "reverse"
	if orderNo == "" {
		return checkout.CloseResult{}, &checkout.ProviderError{Op: op, Kind: checkout.KindRefused, Message: "the order has no number"}
	}
	u := DefaultAPIBase + "/v3/pay/transactions/out-trade-no/" + url.PathEscape(orderNo) + "/reverse"
	res, err := p.api.Post(ctx, u, map[string]string{"appid": p.creds.AppID, "mchid": p.creds.MchID})
	if err != nil {
		if code := apiCode(err); userPaying(code) {
			p.log.Info("wechat reverse: the customer is paying; reversing again later", "order", orderNo)
			return checkout.CloseResult{}, unknown(op, code, "the customer is still confirming on the phone; reversing again", wrapAPI(err))
		}
		return checkout.CloseResult{}, p.fail(op, orderNo, res, err)
	}
	if ans, rerr := readCodeAnswer(res); rerr == nil && userPaying(ans.Code) {
		return checkout.CloseResult{}, unknown(op, ans.Code, "the customer is still confirming on the phone; reversing again", nil)
	}
	st, qerr := p.Query(ctx, orderNo)
	if qerr != nil {
		return checkout.CloseResult{}, unknown(op, "", "reversed, but the query that tells whether money went back failed; reversing again", qerr)
	}
	switch {
	case st.State == checkout.TradeRefunded || st.Raw == "REFUND":
		p.log.Warn("wechat reverse refunded a paid code trade", "order", orderNo, "trade_state", st.Raw)
		return checkout.CloseResult{Outcome: checkout.CloseRefunded, ProviderTradeNo: st.ProviderTradeNo}, nil
	case st.State == checkout.TradeClosed || st.State == checkout.TradeFailed || st.Raw == "NOTPAY":
		p.log.Info("wechat code trade reversed", "order", orderNo, "trade_state", st.Raw)
		return checkout.CloseResult{Outcome: checkout.CloseClosed}, nil
	}
	return checkout.CloseResult{}, unknown(op, st.Raw, "WeChat Pay accepted the reverse but the trade is still "+st.Raw+"; reversing again", nil)
}

func readCodeAnswer(res *core.APIResult) (codeAnswer, error) {
	var ans codeAnswer
	if res == nil || res.Response == nil {
		return ans, errors.New("no answer")
	}
	if res.Response.StatusCode == http.StatusNoContent {
		return ans, nil
	}
	b, err := io.ReadAll(res.Response.Body)
	res.Response.Body.Close()
	if err != nil {
		return ans, err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return ans, nil
	}
	return ans, json.Unmarshal(b, &ans)
}

// failCode is fail for the pay call: its own words for code refusals, and
// the customer's code never in the log.
func (p *Provider) failCode(op, orderNo, tail string, res *core.APIResult, err error) error {
	out := classify(op, res, err)
	var pe *checkout.ProviderError
	if errors.As(out, &pe) && pe.Kind != checkout.KindUnknown {
		if k, ok := payCodeKinds[pe.Code]; ok {
			pe.Kind, pe.Message = k.kind, k.msg
		}
	}
	level := slog.LevelWarn
	if checkout.IsDefinite(out) {
		level = slog.LevelInfo
	}
	p.log.Log(context.Background(), level, "wechat call failed", "op", op, "number", orderNo, "code_tail", tail,
		"kind", checkout.KindOf(out).String(), "err", logText(err))
	return out
}

// wrapAPI is err's WeChat answer in one line, as classify keeps it.
func wrapAPI(err error) error {
	var ae *core.APIError
	if errors.As(err, &ae) {
		return wireError{ae}
	}
	return err
}

// scrub makes sure err's text never holds the customer's code, whatever
// the SDK or an answer echoed: the code is replaced by its last four
// digits. An APIError keeps its code and status (classify needs them)
// with its message and body scrubbed.
func scrub(err error, code string) error {
	if err == nil || code == "" {
		return err
	}
	mask := "…" + checkout.CodeTail(code)
	var ae *core.APIError
	if errors.As(err, &ae) {
		c := *ae
		c.Message = strings.ReplaceAll(c.Message, code, mask)
		c.Body = strings.ReplaceAll(c.Body, code, mask)
		c.Detail = nil
		return &c
	}
	if !strings.Contains(err.Error(), code) {
		return err
	}
	return scrubbed{err: err, code: code, mask: mask}
}

// scrubbed is an error whose text has the customer's code masked; it
// unwraps to the original for errors.Is (timeouts, cancellations).
type scrubbed struct {
	err        error
	code, mask string
}

func (s scrubbed) Error() string { return strings.ReplaceAll(s.err.Error(), s.code, s.mask) }
func (s scrubbed) Unwrap() error { return s.err }

var localIPOnce struct {
	sync.Once
	ip string
}

// localIP is scene_info.device_ip: the machine's first non-loopback IPv4
// address, or 127.0.0.1 when it has none.
func localIP() string {
	localIPOnce.Do(func() {
		localIPOnce.ip = "127.0.0.1"
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			return
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
				localIPOnce.ip = n.IP.String()
				return
			}
		}
	})
	return localIPOnce.ip
}
