package alipay

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/smartwalle/alipay/v3"

	"till/checkout"
)

func TestClassify(t *testing.T) {
	signed := func(code, sub string) *alipay.Error {
		return &alipay.Error{Code: alipay.Code(code), SubCode: sub, SubMsg: "…"}
	}
	for _, tc := range []struct {
		name string
		err  error
		rsp  *alipay.Error
		want checkout.ErrorKind
		ok   bool
	}{
		{"10000", nil, signed("10000", ""), 0, true},
		{"20000", nil, signed("20000", "isp.unknow-error"), checkout.KindUnknown, false},
		{"ACQ.SYSTEM_ERROR", nil, signed("40004", "ACQ.SYSTEM_ERROR"), checkout.KindUnknown, false},
		{"isp sub-code", nil, signed("40004", "isp.some-failure"), checkout.KindUnknown, false},
		{"not exist", nil, signed("40004", "ACQ.TRADE_NOT_EXIST"), checkout.KindNotFound, false},
		{"has success", nil, signed("40004", "ACQ.TRADE_HAS_SUCCESS"), checkout.KindAlreadyPaid, false},
		{"has close", nil, signed("40004", "ACQ.TRADE_HAS_CLOSE"), checkout.KindClosed, false},
		{"refund fee", nil, signed("40004", "ACQ.REASON_TRADE_REFUND_FEE_ERR"), checkout.KindInsufficient, false},
		{"seller balance", nil, signed("40004", "ACQ.SELLER_BALANCE_NOT_ENOUGH"), checkout.KindInsufficient, false},
		{"finished", nil, signed("40004", "ACQ.TRADE_HAS_FINISHED"), checkout.KindRefused, false},
		{"status error", nil, signed("40004", "ACQ.TRADE_STATUS_ERROR"), checkout.KindRefused, false},
		{"discordant", nil, signed("40004", "ACQ.DISCORDANT_REPEAT_REQUEST"), checkout.KindRefused, false},
		{"new 40004 sub-code", nil, signed("40004", "ACQ.SOMETHING_NEW"), checkout.KindRefused, false},
		{"invalid signature", nil, signed("40002", "isv.invalid-signature"), checkout.KindAuth, false},
		{"invalid app id", nil, signed("40002", "isv.invalid-app-id"), checkout.KindAuth, false},
		{"missing signature", nil, signed("40001", "isv.missing-signature"), checkout.KindAuth, false},
		{"invalid timestamp", nil, signed("40002", "isv.invalid-timestamp"), checkout.KindRefused, false},
		{"missing param", nil, signed("40001", "isv.missing-method"), checkout.KindRefused, false},
		{"40003", nil, signed("40003", ""), checkout.KindRefused, false},
		{"40005 limited", nil, signed("40005", ""), checkout.KindRefused, false},
		{"40006 permission", nil, signed("40006", "isv.insufficient-isv-permissions"), checkout.KindAuth, false},
		{"20001 token", nil, signed("20001", "aop.invalid-auth-token"), checkout.KindAuth, false},
		{"unknown code", nil, signed("99999", ""), checkout.KindUnknown, false},
		{"no answer", nil, nil, checkout.KindUnknown, false},
		// The SDK returns an unsigned answer as err.
		{"unsigned 10000", &alipay.Error{Code: "10000"}, nil, checkout.KindUnknown, false},
		{"unsigned not exist", &alipay.Error{Code: "40004", SubCode: "ACQ.TRADE_NOT_EXIST"}, nil, checkout.KindUnknown, false},
		{"unsigned 40006", &alipay.Error{Code: "40006"}, nil, checkout.KindUnknown, false},
		{"unsigned bad method", &alipay.Error{Code: "40002", SubCode: "isv.invalid-method"}, nil, checkout.KindUnknown, false},
		{"unsigned app id", &alipay.Error{Code: "40002", SubCode: "isv.invalid-app-id"}, nil, checkout.KindAuth, false},
		{"unsigned app id, wrapped", fmt.Errorf("x: %w", &alipay.Error{Code: "40002", SubCode: "isv.invalid-app-id"}), nil, checkout.KindAuth, false},
		{"deadline", fmt.Errorf("post: %w", context.DeadlineExceeded), nil, checkout.KindUnknown, false},
		{"bad response", alipay.ErrBadResponse, nil, checkout.KindUnknown, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := classify("query", tc.err, tc.rsp)
			if tc.ok {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			var pe *checkout.ProviderError
			if !errors.As(err, &pe) || pe.Kind != tc.want || pe.Op != "query" || pe.Message == "" {
				t.Fatalf("got %#v, want kind %v", err, tc.want)
			}
		})
	}
	err := classify("refund", fmt.Errorf("post: %w", context.Canceled), nil)
	if !errors.Is(err, context.Canceled) || !checkout.IsUnknown(err) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestParseYuan(t *testing.T) {
	for in, want := range map[string]checkout.Money{
		"0.00": 0, "0.01": 1, "0.1": 10, "12.3": 1230, "12.30": 1230, "12": 1200,
		"100000000.00": 10_000_000_000, "0012.30": 1230,
	} {
		if got, err := parseYuan(in); err != nil || got != want {
			t.Errorf("parseYuan(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", ".", "12.", ".5", "12.345", "-1.00", "+1", "1e3", "1.2e1", " 1.00", "1,000.00", "¥1.00", "NaN", "0x10", "1.0.0", "9999999999999.00"} {
		if got, err := parseYuan(in); err == nil {
			t.Errorf("parseYuan(%q) = %d, want an error", in, got)
		}
	}
}

func TestSubject(t *testing.T) {
	long := ""
	for range 300 {
		long += "咖"
	}
	for in, want := range map[string]string{
		"till - coffee": "till - coffee",
		"a/b=c&d":       "a b c d",
		"  ":            "till",
		"line\nbreak":   "line break",
		long:            long[:256*len("咖")],
	} {
		if got := subject(in); got != want {
			t.Errorf("subject(%q) = %q, want %q", in, got, want)
		}
	}
}
