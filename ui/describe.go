package ui

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"till/catalog"
	"till/checkout"
)

// This file puts the engine's errors into the clerk's language. The
// engine and the adapters keep English reasons for the log; a screen says
// what the error means from its type, its code and its cause, in words
// from the catalogue.

// methodName is how the clerk's language names a payment method.
func methodName(p *catalog.Printer, m checkout.Method) string {
	switch m {
	case checkout.MethodWeChat:
		return p.T("method.wechat")
	case checkout.MethodAlipay:
		return p.T("method.alipay")
	}
	return string(m)
}

var amountKeys = map[checkout.AmountCode]string{
	checkout.AmountEmpty:      "amount.empty",
	checkout.AmountNotANumber: "amount.not_a_number",
	checkout.AmountTwoPoints:  "amount.two_points",
	checkout.AmountMixed:      "amount.mixed",
	checkout.AmountThousands:  "amount.thousands",
	checkout.AmountNegative:   "amount.negative",
	checkout.AmountDecimals:   "amount.decimals",
	checkout.AmountTooLarge:   "amount.too_large",
	checkout.AmountZero:       "amount.below_minimum",
	checkout.AmountAboveLimit: "amount.above_limit",
}

var noteCodeKeys = map[checkout.NoteCode]string{
	checkout.NoteInvalid:   "note.invalid",
	checkout.NoteTooLong:   "note.too_long",
	checkout.NoteControl:   "note.control",
	checkout.NoteHoldsCode: "note.holds_code",
}

// saveKeys say what the provider did that the ledger could not record.
var saveKeys = map[checkout.State]string{
	checkout.StatePaid:     "err.unsaved.paid",
	checkout.StateDisputed: "err.unsaved.disputed",
	checkout.StateRefunded: "err.unsaved.refunded",
	checkout.StateClosed:   "err.unsaved.closed",
	checkout.StateFailed:   "err.unsaved.failed",
	checkout.StateAwaiting: "err.unsaved.created",
}

// codeKeys are the providers' own codes a clerk meets at the counter.
var codeKeys = map[string]string{
	"ACQ.TRADE_HAS_SUCCESS":           "err.code.already_paid",
	"ORDERPAID":                       "err.code.already_paid",
	"ACQ.TRADE_HAS_CLOSE":             "err.code.closed",
	"ORDER_CLOSED":                    "err.code.closed",
	"ACQ.TRADE_NOT_EXIST":             "err.code.not_found",
	"ORDER_NOT_EXIST":                 "err.code.not_found",
	"ORDERNOTEXIST":                   "err.code.not_found",
	"RESOURCE_NOT_EXISTS":             "err.code.not_found",
	"ACQ.CONTEXT_INCONSISTENT":        "err.code.number_used",
	"OUT_TRADE_NO_USED":               "err.code.number_used",
	"ACQ.INVALID_PARAMETER":           "err.code.bad_parameter",
	"PARAM_ERROR":                     "err.code.bad_parameter",
	"isv.invalid-signature":           "err.code.signature",
	"isv.missing-signature":           "err.code.signature",
	"SIGN_ERROR":                      "err.code.signature",
	"isv.invalid-app-id":              "err.code.account",
	"isv.missing-app-id":              "err.code.account",
	"APPID_MCHID_NOT_MATCH":           "err.code.account",
	"MCH_NOT_EXISTS":                  "err.code.account",
	"isv.invalid-timestamp":           "err.code.clock",
	"ACQ.ACCESS_FORBIDDEN":            "err.code.not_allowed",
	"NO_AUTH":                         "err.code.not_allowed",
	"ACCOUNT_ERROR":                   "err.code.not_allowed",
	"ACQ.TOTAL_FEE_EXCEED":            "err.code.too_much",
	"RULE_LIMIT":                      "err.code.rules",
	"TRADE_ERROR":                     "err.code.rules",
	"INVALID_REQUEST":                 "err.code.rules",
	"ACQ.TRADE_STATUS_ERROR":          "err.code.rules",
	"ACQ.REASON_TRADE_REFUND_FEE_ERR": "err.code.refund_above",
	"REFUND_EXCEED":                   "err.code.refund_above",
	"ACQ.SELLER_BALANCE_NOT_ENOUGH":   "err.code.balance",
	"NOT_ENOUGH":                      "err.code.balance",
	"ACQ.TRADE_HAS_FINISHED":          "err.code.finished",
}

// payCodeKeys word the refusals of a customer's payment code: the
// customer's balance, not the shop's (NOT_ENOUGH means the shop's on a
// refund), and a code that expired or was used.
var payCodeKeys = map[string]string{
	"NOT_ENOUGH":                    "err.code.customer_balance",
	"NOTENOUGH":                     "err.code.customer_balance",
	"ACQ.BUYER_BALANCE_NOT_ENOUGH":  "err.code.customer_balance",
	"AUTHCODEEXPIRE":                "err.code.code_expired",
	"AUTH_CODE_EXPIRE":              "err.code.code_expired",
	"AUTH_CODE_INVALID":             "err.code.code_expired",
	"AUTH_CODE_ERROR":               "err.code.code_expired",
	"ACQ.PAYMENT_AUTH_CODE_INVALID": "err.code.code_expired",
	"ACQ.AUTH_CODE_INVALID":         "err.code.code_expired",
	"NOTSUPORTCARD":                 "err.code.card_refused",
	"PAYERROR":                      "err.code.pay_failed",
}

// kindKeys say what a definite answer means when its code is not one the
// clerk needs told apart.
var kindKeys = map[checkout.ErrorKind]string{
	checkout.KindRefused:      "err.kind.refused",
	checkout.KindNotFound:     "err.code.not_found",
	checkout.KindAlreadyPaid:  "err.code.already_paid",
	checkout.KindClosed:       "err.code.closed",
	checkout.KindInsufficient: "err.code.balance",
	checkout.KindNotSupported: "err.kind.not_supported",
	checkout.KindAuth:         "err.kind.auth",
}

// describe says err in the clerk's language; m names the provider the
// error is about ("" when none is known).
func describe(p *catalog.Printer, err error, m checkout.Method) string {
	var (
		ae *checkout.AmountError
		ne *checkout.NoteError
		se *checkout.SaveError
		le *checkout.LedgerError
		pe *checkout.ProviderError
	)
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ae):
		key, ok := amountKeys[ae.Code]
		if !ok {
			key = "amount.not_a_number"
		}
		return p.T(key, catalog.V{"Input": checkout.Quoted(ae.Input), "Limit": p.Money(ae.Limit), "Amount": p.Money(ae.Amount)})
	case errors.As(err, &ne):
		return p.T(noteCodeKeys[ne.Code], catalog.V{"Max": checkout.MaxNoteRunes})
	case errors.Is(err, checkout.ErrBusy):
		return p.T("err.busy")
	case errors.As(err, &se):
		key, ok := saveKeys[se.To]
		if !ok {
			key = "err.unsaved.paid"
		}
		return p.T(key, catalog.V{"Provider": methodName(p, se.Method), "Err": se.Err.Error()})
	case errors.Is(err, checkout.ErrNotLate):
		return p.T("err.not_late")
	case errors.As(err, &le):
		// The cause (the disk's or bbolt's words) is the one part left
		// untranslated: it is what a technician needs.
		return p.T("err.ledger", catalog.V{"Err": le.Err.Error()})
	case errors.Is(err, checkout.ErrNoProvider):
		return p.T("err.no_provider")
	case errors.As(err, &pe):
		return providerMessage(p, pe, providerName(p, m))
	}
	if key := causeKey(err); key != "" {
		return p.T(key, catalog.V{"Provider": providerName(p, m)})
	}
	return err.Error()
}

func providerName(p *catalog.Printer, m checkout.Method) string {
	if m == "" {
		return p.T("err.the_provider")
	}
	return methodName(p, m)
}

// providerMessage words a provider's answer or the lack of one.
func providerMessage(p *catalog.Printer, pe *checkout.ProviderError, provider string) string {
	// The code follows the sentence in the language's own brackets, or
	// not at all when the provider gave none.
	code := ""
	if pe.Code != "" {
		code = p.T("err.code_suffix", catalog.V{"Code": pe.Code})
	}
	v := catalog.V{"Provider": provider, "Code": code}
	if pe.Kind == checkout.KindUnknown {
		if key := causeKey(pe); key != "" {
			return p.T(key, v)
		}
		if pe.Code != "" {
			return p.T("err.unknown_code", v)
		}
		return p.T("err.unknown", v)
	}
	if pe.Op == "refund" && (pe.Code == "INVALID_REQUEST" || pe.Code == "PARAM_ERROR") {
		// WeChat's answer to a refund above what it can still refund
		// (money sent back outside till) has no code of its own.
		return p.T("err.code.refund_refused", v)
	}
	if key, ok := payCodeKeys[pe.Code]; ok && pe.Op == "pay" {
		return p.T(key, v)
	}
	if key, ok := codeKeys[pe.Code]; ok {
		return p.T(key, v)
	}
	if key, ok := kindKeys[pe.Kind]; ok {
		return p.T(key, v)
	}
	return p.T("err.kind.refused", v)
}

// causeKey words a network cause: a timeout, a refusal, a cut.
func causeKey(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "err.timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "err.unreachable"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "err.cut"
	case errors.As(err, &ne):
		return "err.unreachable"
	}
	return ""
}

// stateKeys name an order's state in lists.
var stateKeys = map[checkout.State]string{
	checkout.StateCreated:           "state.waiting",
	checkout.StateAwaiting:          "state.waiting",
	checkout.StatePaid:              "state.paid",
	checkout.StatePartiallyRefunded: "state.part_refunded",
	checkout.StateRefunded:          "state.refunded",
	checkout.StateClosed:            "state.closed",
	checkout.StateFailed:            "state.failed",
	checkout.StateDisputed:          "state.disputed",
}

// stateWord is how a list names an order's state.
func stateWord(p *catalog.Printer, o checkout.Order) string {
	switch {
	case o.State == checkout.StateDisputed:
		return p.T("state.disputed", catalog.V{"Amount": p.Money(o.ProviderAmount)})
	case o.State == checkout.StatePaid && o.Late:
		return p.T("state.paid_late")
	case o.Reversed():
		return p.T("state.reversed")
	}
	if key, ok := stateKeys[o.State]; ok {
		return p.T(key)
	}
	return string(o.State)
}
