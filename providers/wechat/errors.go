package wechat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/wechatpay-apiv3/wechatpay-go/core"

	"till/checkout"
)

// codeKinds are WeChat's definite refusals (4xx business codes) and what
// they mean to checkout, with a message a clerk understands. A code not
// listed here that comes with a 4xx is KindRefused.
var codeKinds = map[string]struct {
	kind checkout.ErrorKind
	msg  string
}{
	"SIGN_ERROR":            {checkout.KindAuth, "WeChat Pay refused till's signature: check merchant_serial and private_key_file"},
	"APPID_MCHID_NOT_MATCH": {checkout.KindAuth, "the appid is not bound to this merchant id"},
	"MCH_NOT_EXISTS":        {checkout.KindAuth, "WeChat Pay does not know this merchant id"},
	"NO_AUTH":               {checkout.KindAuth, "this merchant may not use Native payments"},
	"ACCOUNT_ERROR":         {checkout.KindAuth, "the merchant account is restricted"},
	"PARAM_ERROR":           {checkout.KindRefused, "WeChat Pay refused a parameter of the request"},
	"INVALID_REQUEST":       {checkout.KindRefused, "WeChat Pay refused the request in the order's present state"},
	"OUT_TRADE_NO_USED":     {checkout.KindRefused, "this order number was already used with other details"},
	"RULE_LIMIT":            {checkout.KindRefused, "refused by WeChat Pay's rules"},
	"TRADE_ERROR":           {checkout.KindRefused, "WeChat Pay refused the trade"},
	"INVALID_TRANSACTIONID": {checkout.KindRefused, "WeChat Pay does not accept this transaction id"},
	"ORDERPAID":             {checkout.KindAlreadyPaid, "the order is already paid"},
	"ORDER_CLOSED":          {checkout.KindClosed, "the order is closed"},
	"ORDER_NOT_EXIST":       {checkout.KindNotFound, "WeChat Pay does not know this order"},
	"ORDERNOTEXIST":         {checkout.KindNotFound, "WeChat Pay does not know this order"},
	"RESOURCE_NOT_EXISTS":   {checkout.KindNotFound, "WeChat Pay does not know this order or refund"},
	"NOT_ENOUGH":            {checkout.KindInsufficient, "not enough balance for this refund"},
	"REFUND_EXCEED":         {checkout.KindInsufficient, "the refund is above what is left to refund"},
	"USER_ACCOUNT_ABNORMAL": {checkout.KindRefused, "the payer's account cannot take refunds; refund another way"},
}

// transientCodes leave the outcome unknown whatever the status.
var transientCodes = map[string]bool{
	"SYSTEM_ERROR":        true,
	"SYSTEMERROR":         true,
	"BANK_ERROR":          true,
	"BANKERROR":           true,
	"FREQUENCY_LIMITED":   true,
	"RATELIMIT_EXCEEDED":  true,
	"SERVICE_UNAVAILABLE": true,
	"USER_PAYING":         true,
	"USERPAYING":          true,
}

// classify is the one place that maps an SDK error to checkout's kinds.
// Only a WeChat error answer (status 4xx with a known shape) is definite;
// everything else (transport errors, timeouts, 5xx, 429, transient codes,
// answers whose signature or body cannot be trusted) is KindUnknown, to be
// settled by query with the same number.
func classify(op string, res *core.APIResult, err error) error {
	if err == nil {
		return nil
	}
	var ae *core.APIError
	if errors.As(err, &ae) {
		code := ae.Code
		err := wireError{ae}
		switch {
		case ae.StatusCode >= 500 || ae.StatusCode == http.StatusTooManyRequests || transientCodes[code]:
			msg := "WeChat Pay is busy or unavailable"
			if code == "FREQUENCY_LIMITED" || code == "RATELIMIT_EXCEEDED" || ae.StatusCode == http.StatusTooManyRequests {
				msg = "too many requests to WeChat Pay"
			}
			return unknown(op, code, msg, err)
		case code == "":
			// A 4xx without WeChat's error body came from something in
			// between (a proxy, a wrong api_base); nothing says WeChat
			// saw the request.
			return unknown(op, "", fmt.Sprintf("unexpected HTTP %d answer", ae.StatusCode), err)
		}
		if k, ok := codeKinds[code]; ok {
			return &checkout.ProviderError{Op: op, Kind: k.kind, Code: code, Message: k.msg, Err: err}
		}
		if ae.StatusCode == http.StatusUnauthorized {
			return &checkout.ProviderError{Op: op, Kind: checkout.KindAuth, Code: code, Message: "WeChat Pay refused till's credentials", Err: err}
		}
		return &checkout.ProviderError{Op: op, Kind: checkout.KindRefused, Code: code, Message: "WeChat Pay refused the request", Err: err}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return unknown(op, "", "the request was cancelled before WeChat Pay answered", err)
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return unknown(op, "", "WeChat Pay did not answer in time", err)
	case res != nil && res.Response != nil && res.Response.StatusCode >= 200 && res.Response.StatusCode <= 299:
		// The SDK got a 2xx but refused it: a signature that does not
		// verify, a stale timestamp, or a body it cannot read. Whatever
		// happened at WeChat, this answer says nothing trustworthy.
		return unknown(op, "", "WeChat Pay's answer could not be verified", err)
	case isNetwork(err):
		return unknown(op, "", "the connection to WeChat Pay failed", err)
	}
	return unknown(op, "", "the request to WeChat Pay failed", err)
}

// unknown is an outcome-unknown error that still carries the operation.
func unknown(op, code, msg string, err error) error {
	return &checkout.ProviderError{Op: op, Kind: checkout.KindUnknown, Code: code, Message: msg, Err: err}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isNetwork(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ne) || errors.As(err, &oe) || strings.Contains(err.Error(), "EOF") ||
		strings.Contains(err.Error(), "connection reset")
}

// logText is err for the log: one line, no response headers. The SDK
// never puts our keys or Authorization header in an error, but its
// APIError prints every response header.
func logText(err error) string {
	var ae *core.APIError
	if errors.As(err, &ae) {
		return fmt.Sprintf("HTTP %d %s: %s", ae.StatusCode, ae.Code, ae.Message)
	}
	s := err.Error()
	if i := strings.Index(s, ", request: "); i >= 0 {
		s = s[:i]
	}
	return strings.ReplaceAll(s, "\n", " ")
}

// wireError is a WeChat error answer in one line (APIError's own text
// lists every response header); it unwraps to the *core.APIError.
type wireError struct{ ae *core.APIError }

func (w wireError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", w.ae.StatusCode, w.ae.Code, w.ae.Message)
}

func (w wireError) Unwrap() error { return w.ae }
