package alipay

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"till/checkout"
)

// signByHand follows the documented rule for notifications (protocols.md
// B8), with nothing from the emulator: drop sign and sign_type, sort the
// other fields by key, join raw k=v with &, SHA256withRSA, base64.
func signByHand(t *testing.T, key *rsa.PrivateKey, form url.Values) {
	t.Helper()
	var keys []string
	for k := range form {
		if k != "sign" && k != "sign_type" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = k + "=" + form.Get(k)
	}
	sum := sha256.Sum256([]byte(strings.Join(pairs, "&")))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	form.Set("sign", base64.StdEncoding.EncodeToString(sig))
}

// sampleNotification is shaped like Alipay's documented example.
func sampleNotification() url.Values {
	return url.Values{
		"gmt_create":       {"2026-11-23 10:00:01"},
		"charset":          {"utf-8"},
		"seller_email":     {"shop@example.com"},
		"subject":          {"till - coffee"},
		"buyer_id":         {"2088102177846880"},
		"invoice_amount":   {"12.30"},
		"notify_id":        {"2026112300222100002011234567890"},
		"fund_bill_list":   {`[{"amount":"12.30","fundChannel":"ALIPAYACCOUNT"}]`},
		"notify_type":      {"trade_status_sync"},
		"trade_status":     {"TRADE_SUCCESS"},
		"receipt_amount":   {"12.30"},
		"app_id":           {testAppID},
		"auth_app_id":      {testAppID},
		"buyer_pay_amount": {"12.30"},
		"sign_type":        {"RSA2"},
		"seller_id":        {"2088102177649450"},
		"gmt_payment":      {"2026-11-23 10:00:09"},
		"notify_time":      {"2026-11-23 10:00:10"},
		"version":          {"1.0"},
		"out_trade_no":     {"20261123020000123T1AB"},
		"total_amount":     {"12.30"},
		"trade_no":         {"2026112322001400001234567890"},
		"buyer_logon_id":   {"cus***@example.com"},
		"point_amount":     {"0.00"},
	}
}

func TestNotificationSignedByHand(t *testing.T) {
	e := newEnv(t)
	form := sampleNotification()
	signByHand(t, alipayKey, form)
	ev, err := e.p.ParseNotification(form)
	if err != nil {
		t.Fatalf("a correctly signed notification was refused: %v", err)
	}
	want := Event{
		NotifyID:       "2026112300222100002011234567890",
		NotifyType:     "trade_status_sync",
		NotifyTime:     time.Date(2026, 11, 23, 10, 0, 10, 0, Shanghai),
		AppID:          testAppID,
		OrderNo:        "20261123020000123T1AB",
		TradeNo:        "2026112322001400001234567890",
		TradeStatus:    "TRADE_SUCCESS",
		TotalAmount:    1230,
		ReceiptAmount:  1230,
		BuyerPayAmount: 1230,
		GmtCreate:      time.Date(2026, 11, 23, 10, 0, 1, 0, Shanghai),
		GmtPayment:     time.Date(2026, 11, 23, 10, 0, 9, 0, Shanghai),
	}
	if ev != want {
		t.Errorf("event\n got %+v\nwant %+v", ev, want)
	}
	if !ev.Paid() || ev.Refund() {
		t.Errorf("Paid() = %v, Refund() = %v", ev.Paid(), ev.Refund())
	}

	// The same through an HTTP request, as the webhook receives it.
	r := httptest.NewRequest(http.MethodPost, "/notify/alipay", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if got, err := e.p.ParseNotificationRequest(r); err != nil || got != want {
		t.Fatalf("from a request: %+v, %v", got, err)
	}

	// A refund notification.
	refund := sampleNotification()
	refund.Set("refund_fee", "5.00")
	refund.Set("out_biz_no", "20261123020500000T1RAB")
	refund.Set("gmt_refund", "2026-11-23 10:05:00.123")
	signByHand(t, alipayKey, refund)
	if ev, err = e.p.ParseNotification(refund); err != nil || ev.RefundFee != 500 || !ev.Refund() || ev.OutBizNo != "20261123020500000T1RAB" ||
		!ev.GmtRefund.Equal(time.Date(2026, 11, 23, 10, 5, 0, 123e6, Shanghai)) {
		t.Fatalf("refund notification: %+v, %v", ev, err)
	}
}

func TestNotificationRefused(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		make func() url.Values
	}{
		{"tampered amount", func() url.Values {
			f := sampleNotification()
			signByHand(t, alipayKey, f)
			f.Set("total_amount", "0.01")
			return f
		}},
		{"tampered status", func() url.Values {
			f := sampleNotification()
			f.Set("trade_status", "WAIT_BUYER_PAY")
			signByHand(t, alipayKey, f)
			f.Set("trade_status", "TRADE_SUCCESS")
			return f
		}},
		{"added field", func() url.Values {
			f := sampleNotification()
			signByHand(t, alipayKey, f)
			f.Set("refund_fee", "12.30")
			return f
		}},
		{"wrong key", func() url.Values {
			f := sampleNotification()
			signByHand(t, otherKey, f)
			return f
		}},
		{"signed by the app, not Alipay", func() url.Values {
			f := sampleNotification()
			signByHand(t, appKey, f)
			return f
		}},
		{"wrong app_id", func() url.Values {
			f := sampleNotification()
			f.Set("app_id", "2021000000000999")
			f.Set("auth_app_id", "2021000000000999")
			signByHand(t, alipayKey, f)
			return f
		}},
		{"wrong auth_app_id", func() url.Values {
			f := sampleNotification()
			f.Set("auth_app_id", "2021000000000999")
			signByHand(t, alipayKey, f)
			return f
		}},
		{"unparseable amount", func() url.Values {
			f := sampleNotification()
			f.Set("total_amount", "12.345")
			signByHand(t, alipayKey, f)
			return f
		}},
		{"float amount", func() url.Values {
			f := sampleNotification()
			f.Set("receipt_amount", "1.23e1")
			signByHand(t, alipayKey, f)
			return f
		}},
		{"no amount", func() url.Values {
			f := sampleNotification()
			f.Del("total_amount")
			signByHand(t, alipayKey, f)
			return f
		}},
		{"RSA (SHA1) sign_type", func() url.Values {
			f := sampleNotification()
			f.Set("sign_type", "RSA")
			signByHand(t, alipayKey, f)
			return f
		}},
		{"no sign", sampleNotification},
		{"garbage sign", func() url.Values {
			f := sampleNotification()
			f.Set("sign", "not base64!")
			return f
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.p.ParseNotification(tc.make())
			if !errors.Is(err, ErrBadNotification) {
				t.Fatalf("accepted, or refused without ErrBadNotification: %v", err)
			}
		})
	}
	r := httptest.NewRequest(http.MethodGet, "/notify/alipay?"+sampleNotification().Encode(), nil)
	if _, err := e.p.ParseNotificationRequest(r); !errors.Is(err, ErrBadNotification) {
		t.Fatalf("GET accepted: %v", err)
	}
}

// The emulator's notifications are retried until the answer is exactly
// "success", with the same notify_id, and then stop.
func TestNotificationRetries(t *testing.T) {
	e := newEnv(t)
	sink := newNotifySink(t)
	sink.answer = func(n int) string {
		switch n {
		case 1:
			return "fail"
		case 2:
			return "success\n" // not exactly "success"
		}
		return "success"
	}
	req := e.create(t, 1230, func(r *checkout.CreateRequest) { r.NotifyURL = sink.URL })
	if err := e.emu.Pay(req.OrderNo); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 3 {
		f := sink.next(t)
		ev, err := e.p.ParseNotification(f)
		if err != nil {
			t.Fatal(err)
		}
		if ev.OrderNo != req.OrderNo || ev.TotalAmount != 1230 || ev.TradeStatus != "TRADE_SUCCESS" {
			t.Fatalf("event %+v", ev)
		}
		for k, v := range f {
			if v[0] == "" {
				t.Errorf("empty field %s sent", k)
			}
		}
		if f.Has("alipay_cert_sn") {
			t.Error("alipay_cert_sn sent in public-key mode")
		}
		ids = append(ids, ev.NotifyID)
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("notify_id changed between retries: %v", ids)
	}
	// The next retry would come 10 units (10 ms) later: wait well past it.
	time.Sleep(100 * time.Millisecond)
	if n := sink.count(); n != 3 {
		t.Fatalf("%d deliveries, want 3", n)
	}
}
