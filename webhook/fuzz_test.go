package webhook_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"till/checkout"
)

// fuzzEnv is one sandbox and listener handler for a whole fuzz run, with
// an order of each method whose records must never change.
type fuzzEnv struct {
	*env
	orders []string
	before map[string]int // audit entries per order
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	e := &fuzzEnv{env: newEnv(f), before: map[string]int{}}
	for _, m := range []checkout.Method{checkout.MethodWeChat, checkout.MethodAlipay} {
		o, err := e.eng.Start(context.Background(), m, 100, "")
		if err != nil {
			f.Fatal(err)
		}
		e.orders = append(e.orders, o.No)
		es, _ := e.ledger.AuditOf(context.Background(), o.No)
		e.before[o.No] = len(es)
	}
	return e
}

// unchanged fails unless every order is as it was.
func (e *fuzzEnv) unchanged(t *testing.T) {
	for _, no := range e.orders {
		o, err := e.ledger.Order(context.Background(), no)
		if err != nil || o.State != checkout.StateCreated || o.ProviderSaid != "" { // as Start wrote it
			t.Fatalf("order %s changed: %+v %v", no, o, err)
		}
		if es, _ := e.ledger.AuditOf(context.Background(), no); len(es) != e.before[no] {
			t.Fatalf("order %s: audit entries %d -> %d", no, e.before[no], len(es))
		}
	}
}

// FuzzWeChatNotification posts arbitrary bodies and headers to
// /notify/wechat: the parser never panics, nothing unverified is
// acknowledged, and the ledger does not change.
func FuzzWeChatNotification(f *testing.F) {
	e := newFuzzEnv(f)
	now := strconv.FormatInt(time.Now().Unix(), 10)
	f.Add([]byte(`{"id":"EV-1","create_time":"2026-01-01T00:00:00+08:00","event_type":"TRANSACTION.SUCCESS","resource_type":"encrypt-resource","resource":{"original_type":"transaction","algorithm":"AEAD_AES_256_GCM","ciphertext":"AAAA","associated_data":"transaction","nonce":"123456789012"}}`), now, "c2ln", "nonce", "PUB_KEY_ID_0119000000012026112300000000000000")
	f.Add([]byte(`{"resource":{"nonce":"short"}}`), now, "", "", "")
	f.Add([]byte(`{"resource":null}`), "x", "", "", "")
	f.Add([]byte{}, "", "", "", "")
	f.Fuzz(func(t *testing.T, body []byte, ts, sig, nonce, serial string) {
		header := func(r *http.Request) {
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Wechatpay-Timestamp", ts)
			r.Header.Set("Wechatpay-Signature", sig)
			r.Header.Set("Wechatpay-Nonce", nonce)
			r.Header.Set("Wechatpay-Serial", serial)
		}
		// The parser on its own: no panic, a refusal.
		r := httptest.NewRequest(http.MethodPost, "/notify/wechat", bytes.NewReader(body))
		header(r)
		if ev, err := e.wx.ParseNotification(r); err == nil {
			t.Fatalf("unsigned input verified: %#v", ev)
		}
		// The handler: never acknowledged.
		r = httptest.NewRequest(http.MethodPost, "/notify/wechat", bytes.NewReader(body))
		header(r)
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code < 400 {
			t.Fatalf("answered %d to unverified input", w.Code)
		}
		e.unchanged(t)
	})
}

// FuzzAlipayNotification does the same for /notify/alipay with arbitrary
// form bodies.
func FuzzAlipayNotification(f *testing.F) {
	e := newFuzzEnv(f)
	f.Add([]byte("notify_type=trade_status_sync&app_id=2021000000000000&out_trade_no="+e.orders[1]+"&trade_status=TRADE_SUCCESS&total_amount=1.00&sign_type=RSA2&sign=AAAA"), "application/x-www-form-urlencoded")
	f.Add([]byte("sign=%zz&&&=;"), "application/x-www-form-urlencoded")
	f.Add([]byte("sign=AAAA&sign_type=RSA"), "application/x-www-form-urlencoded")
	f.Add([]byte(`{"sign":"x"}`), "application/json")
	f.Fuzz(func(t *testing.T, body []byte, ctype string) {
		r := httptest.NewRequest(http.MethodPost, "/notify/alipay", bytes.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		if ev, err := e.ali.ParseNotificationRequest(r); err == nil {
			t.Fatalf("unsigned input verified: %#v", ev)
		}
		r = httptest.NewRequest(http.MethodPost, "/notify/alipay", bytes.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code < 400 || w.Body.String() == "success" {
			t.Fatalf("answered %d %q to unverified input", w.Code, w.Body.String())
		}
		e.unchanged(t)
	})
}
