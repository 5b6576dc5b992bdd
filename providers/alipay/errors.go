package alipay

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/smartwalle/alipay/v3"

	"till/checkout"
)

// Sub-codes the adapter branches on.
const (
	subTradeNotExist    = "ACQ.TRADE_NOT_EXIST"
	subSystemError      = "ACQ.SYSTEM_ERROR"
	subTradeStatusError = "ACQ.TRADE_STATUS_ERROR"
)

// kindBySubCode maps definite 40004 sub-codes. A 40004 sub-code not listed
// is KindRefused: Alipay answered, and the answer was no.
var kindBySubCode = map[string]checkout.ErrorKind{
	"ACQ.TRADE_NOT_EXIST":             checkout.KindNotFound,
	"ACQ.TRADE_HAS_SUCCESS":           checkout.KindAlreadyPaid,
	"ACQ.TRADE_HAS_CLOSE":             checkout.KindClosed,
	"ACQ.REASON_TRADE_REFUND_FEE_ERR": checkout.KindInsufficient,
	"ACQ.SELLER_BALANCE_NOT_ENOUGH":   checkout.KindInsufficient,
	"ACQ.TRADE_HAS_FINISHED":          checkout.KindRefused,
	"ACQ.TRADE_STATUS_ERROR":          checkout.KindRefused,
	"ACQ.DISCORDANT_REPEAT_REQUEST":   checkout.KindRefused,
}

// messages are what a clerk reads, by sub-code.
var messages = map[string]string{
	"ACQ.TRADE_NOT_EXIST":             "Alipay has no such order (not scanned, or never created)",
	"ACQ.TRADE_HAS_SUCCESS":           "the order is already paid",
	"ACQ.TRADE_HAS_CLOSE":             "the order is closed at Alipay",
	"ACQ.REASON_TRADE_REFUND_FEE_ERR": "the refund is more than what is left to refund",
	"ACQ.SELLER_BALANCE_NOT_ENOUGH":   "the shop's Alipay balance is too low for this refund",
	"ACQ.TRADE_HAS_FINISHED":          "the sale is finished at Alipay and can no longer be refunded",
	"ACQ.TRADE_STATUS_ERROR":          "Alipay refused: the order is not in a state that allows this",
	"ACQ.DISCORDANT_REPEAT_REQUEST":   "this refund number was already used with another amount",
	"ACQ.REFUND_AMT_NOT_EQUAL_TOTAL":  "Alipay refused: the refund amount must equal the total",
	"ACQ.CONTEXT_INCONSISTENT":        "this order number was already sent to Alipay with other details",
	"ACQ.INVALID_PARAMETER":           "Alipay refused a parameter of the request",
	"ACQ.TRADE_CANCEL_TIME_OUT":       "the order is too old to cancel; refund it instead",
	"ACQ.TOTAL_FEE_EXCEED":            "the amount is above what Alipay accepts",
	"ACQ.ACCESS_FORBIDDEN":            "the Alipay app is not allowed to do this",
	"isv.invalid-signature":           "Alipay refused till's signature: check alipay.private_key_file against the app's public key on the open platform",
	"isv.missing-signature":           "Alipay got no signature: check alipay.private_key_file",
	"isv.invalid-app-id":              "Alipay does not know this app: check alipay.app_id",
	"isv.missing-app-id":              "Alipay got no app id: check alipay.app_id",
	"isv.invalid-timestamp":           "Alipay refused the request time: check the computer's clock",
}

// classify is the one place where an SDK result becomes an error. rsp is
// the embedded alipay.Error of the answer (nil when the SDK returned
// none). It returns nil only for a signed 10000.
//
//   - transport errors (timeouts, resets, refused connections), bodies that
//     do not parse and answers that fail verification: outcome unknown;
//   - an answer with no signature: the SDK hands its code back as err.
//     40001/40002 refusals of till's credentials (isv.invalid-app-id,
//     isv.invalid-signature, ...) are KindAuth, as the gateway sends them
//     unsigned when it cannot tell whose key to sign with; any other
//     unsigned code, 10000 included, is not trusted: outcome unknown;
//   - 20000, ACQ.SYSTEM_ERROR and isp.* sub-codes: outcome unknown;
//   - 40002 signature, app id and certificate faults, 20001 and 40006:
//     KindAuth, a configuration fault;
//   - other 4000x: definite kinds (kindBySubCode, else KindRefused).
func classify(op string, err error, rsp *alipay.Error) error {
	if err != nil {
		if a, ok := unsignedAnswer(err); ok {
			// Only a refusal of till's own credentials is believed
			// unsigned: the same credentials sign every call, so it
			// cannot come from some other request (the SDK's certificate
			// download in production certificate mode also surfaces here).
			if (a.Code == alipay.CodeMissingParam || a.Code == alipay.CodeInvalidParam) && isAuthSubCode(a.SubCode) {
				return byCode(op, a, err)
			}
			return unknown(op, "Alipay's answer was not signed", err)
		}
		return transport(op, err)
	}
	if rsp == nil {
		return unknown(op, "no answer from Alipay", alipay.ErrBadResponse)
	}
	if rsp.Code == alipay.CodeSuccess {
		return nil
	}
	return byCode(op, *rsp, *rsp)
}

// unsignedAnswer finds the code the SDK hands back as err when an answer
// carries no signature (or is an error_response).
func unsignedAnswer(err error) (alipay.Error, bool) {
	var ap *alipay.Error
	if errors.As(err, &ap) && ap != nil {
		return *ap, true
	}
	var av alipay.Error
	if errors.As(err, &av) {
		return av, true
	}
	return alipay.Error{}, false
}

func byCode(op string, a alipay.Error, cause error) error {
	code := a.SubCode
	if code == "" {
		code = string(a.Code)
	}
	pe := &checkout.ProviderError{Op: op, Code: code, Err: cause, Message: messages[a.SubCode]}
	switch {
	case a.Code == alipay.CodeUnknowError, a.SubCode == subSystemError, strings.HasPrefix(a.SubCode, "isp."), strings.HasPrefix(a.SubCode, "aop.unknow"):
		pe.Kind = checkout.KindUnknown
		pe.Message = "Alipay had an internal error; the outcome is not known yet"
	case a.Code == alipay.CodeInvalidAuthToken, a.Code == alipay.CodePermissionDenied:
		pe.Kind = checkout.KindAuth
		if pe.Message == "" {
			pe.Message = "the Alipay app is not allowed to do this: check the products signed for it on the open platform"
		}
	case a.Code == alipay.CodeMissingParam || a.Code == alipay.CodeInvalidParam:
		pe.Kind = checkout.KindRefused
		if isAuthSubCode(a.SubCode) {
			pe.Kind = checkout.KindAuth
		}
		if pe.Message == "" {
			pe.Message = "Alipay refused the request as malformed"
		}
	case a.Code == alipay.CodeBusinessFailed, a.Code == alipay.CodeInsufficientConditions, a.Code == alipay.CodeCallLimited:
		pe.Kind = checkout.KindRefused
		if k, ok := kindBySubCode[a.SubCode]; ok {
			pe.Kind = k
		}
		if pe.Message == "" {
			pe.Message = "Alipay refused the request"
			if a.Code == alipay.CodeCallLimited {
				pe.Message = "Alipay is limiting calls; try again in a moment"
			}
		}
	default: // a code we do not know: do not guess
		pe.Kind = checkout.KindUnknown
		pe.Message = "Alipay gave an answer till does not understand"
	}
	return pe
}

// isAuthSubCode reports 40001/40002 sub-codes that mean the credentials
// (not the request) are wrong.
func isAuthSubCode(sub string) bool {
	for _, s := range []string{"signature", "app-id", "app_id", "cert", "private-key", "public-key"} {
		if strings.Contains(sub, s) {
			return true
		}
	}
	return false
}

func unknown(op, msg string, err error) error {
	return &checkout.ProviderError{Op: op, Kind: checkout.KindUnknown, Message: msg, Err: err}
}

// transport classifies an error that came before any readable answer.
func transport(op string, err error) error {
	msg := "no clear answer from Alipay"
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		msg = "the call to Alipay was cancelled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		msg = "Alipay did not answer in time"
	case strings.Contains(err.Error(), "connection reset"), strings.Contains(err.Error(), "EOF"):
		msg = "the connection to Alipay was cut"
	case strings.Contains(err.Error(), "connection refused"):
		msg = "cannot reach Alipay (connection refused)"
	case strings.Contains(err.Error(), "verification"), strings.Contains(err.Error(), "public key"), errors.Is(err, alipay.ErrAliPublicKeyNotFound):
		msg = "Alipay's answer failed signature verification: check alipay_public_key_file or the certificates"
	case strings.Contains(err.Error(), "invalid character"), strings.Contains(err.Error(), "unexpected end of JSON"), errors.Is(err, alipay.ErrBadResponse):
		msg = "Alipay's answer could not be read"
	}
	return unknown(op, msg, err)
}
