package webhook_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"till/checkout"
	"till/providers/fake"
	"till/store"
	"till/webhook"
)

type rv struct {
	k   *keys
	st  *store.Store
	fl  *fake.Ledger
	eng *checkout.Engine
	h   *webhook.Handler
}

func newRV(t *testing.T) *rv {
	k := newKeys(t)
	wx, ali, err := k.providers()
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "l.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fl := fake.NewLedger(st)
	eng := checkout.NewEngine(fl, nil, checkout.Config{Terminal: "T1", PollInterval: time.Hour}, nil, nil)
	h := webhook.New(webhook.Config{Engine: eng, WeChat: wx, Alipay: ali})
	return &rv{k, st, fl, eng, h}
}

func (r *rv) order(t *testing.T, no string, m checkout.Method, amt checkout.Money, paid bool) {
	ctx := checkout.WithActor(context.Background(), checkout.Actor{Operator: "x", Via: "test"})
	now := time.Now()
	if err := r.st.CreateOrder(ctx, checkout.Order{No: no, Terminal: "T1", Method: m, Amount: amt, State: checkout.StateCreated, Operator: "x", ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.st.Advance(ctx, no, checkout.StateAwaiting, func(s *checkout.Order) { s.AcceptedAt = now }); err != nil {
		t.Fatal(err)
	}
	if paid {
		if _, err := r.st.Advance(ctx, no, checkout.StatePaid, func(s *checkout.Order) { s.PaidAt = now }); err != nil {
			t.Fatal(err)
		}
	}
}

func (r *rv) do(n notice) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, n.Path, strings.NewReader(string(n.Body)))
	for k, v := range n.Header {
		req.Header[k] = v
	}
	r.h.ServeHTTP(w, req)
	return w
}

func (r *rv) audits(t *testing.T, no string) int {
	es, err := r.st.AuditOf(context.Background(), no)
	if err != nil {
		t.Fatal(err)
	}
	c := 0
	for _, e := range es {
		if e.Kind == checkout.AuditNotifyMismatch {
			c++
		}
	}
	return c
}

func TestWeChatRefusalsAreJSON(t *testing.T) {
	r := newRV(t)
	w := httptest.NewRecorder()
	r.h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/notify/wechat", strings.NewReader(strings.Repeat("x", webhook.MaxBody+1))))
	if w.Code != http.StatusRequestEntityTooLarge || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("413: %d ct=%q body=%q", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}
	// chunked body over the limit
	l, _ := webhook.Listen("127.0.0.1:0", r.h, nil)
	defer l.Close(context.Background())
	pr, pw := io.Pipe()
	go func() { pw.Write([]byte(strings.Repeat("x", 70000))); pw.Close() }()
	resp, err := http.Post(l.URL+"/notify/wechat", "application/json", pr)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("chunked 70000: %d body=%q", resp.StatusCode, b)
		}
	}
	h := webhook.New(webhook.Config{MaxConcurrent: 1, Ping: func(context.Context) error { time.Sleep(300 * time.Millisecond); return nil }})
	go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/healthz", nil))
	time.Sleep(50 * time.Millisecond)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/notify/wechat", strings.NewReader("{}")))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("503: %d ct=%q body=%q", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}
}

func TestAlipayOtherAppIsAudited(t *testing.T) {
	r := newRV(t)
	r.order(t, "A1", checkout.MethodAlipay, 100, false)
	v := alipayForm("A1", "2026T1", 100)
	v.Set("app_id", "2021999999999999")
	v.Set("auth_app_id", "2021999999999999")
	w := r.do(r.k.alipay(v))
	o, _ := r.st.Order(context.Background(), "A1")
	if w.Code != http.StatusBadRequest || w.Body.String() != "fail" || o.State != checkout.StateAwaiting || r.audits(t, "A1") != 1 {
		t.Errorf("other app_id: %d %q state=%s audits=%d", w.Code, w.Body.String(), o.State, r.audits(t, "A1"))
	}
}

func TestWeChatWrongAmountIsAudited(t *testing.T) {
	r := newRV(t)
	r.order(t, "W1", checkout.MethodWeChat, 100, false)
	n := r.k.wechatPaid("W1", 100, "42T")
	_ = n
	// amount mismatch
	w := r.do(r.k.wechatPaid("W1", 99, "42T"))
	o, _ := r.st.Order(context.Background(), "W1")
	if w.Code != http.StatusBadRequest || o.State != checkout.StateAwaiting || r.audits(t, "W1") != 1 {
		t.Errorf("wrong amount: %d %q state=%s audits=%d", w.Code, w.Body.String(), o.State, r.audits(t, "W1"))
	}
}

func TestNothingAcknowledgedUnlessWritten(t *testing.T) {
	r := newRV(t)
	r.order(t, "W2", checkout.MethodWeChat, 100, false)
	boom := errors.New("disk full")
	r.fl.Fail(func(op fake.Op) error {
		if op.Name != "read" && op.Name != "read refund" && op.Name != "read audit" {
			return boom
		}
		return nil
	})
	w := r.do(r.k.wechatPaid("W2", 100, "42T"))
	o, _ := r.st.Order(context.Background(), "W2")
	if w.Code != http.StatusInternalServerError || o.State != checkout.StateAwaiting {
		t.Errorf("pay, writes fail: %d %q state=%s", w.Code, w.Body.String(), o.State)
	}
	v := alipayForm("W2", "T", 100)
	_ = v
	// alipay
	r.fl.Fail(nil)
	r.order(t, "A2", checkout.MethodAlipay, 100, false)
	r.fl.Fail(func(op fake.Op) error {
		if op.Name != "read" && op.Name != "read refund" {
			return boom
		}
		return nil
	})
	w = r.do(r.k.alipayPaid("A2", 100, "T2"))
	o, _ = r.st.Order(context.Background(), "A2")
	if w.Code != http.StatusInternalServerError || w.Body.String() != "fail" || o.State != checkout.StateAwaiting {
		t.Errorf("alipay pay, writes fail: %d %q state=%s", w.Code, w.Body.String(), o.State)
	}
	// non-payment alipay (WAIT_BUYER_PAY) with failing Update
	f := alipayForm("A2", "T2", 100)
	f.Set("trade_status", "WAIT_BUYER_PAY")
	f.Del("gmt_payment")
	w = r.do(r.k.alipay(f))
	o, _ = r.st.Order(context.Background(), "A2")
	if w.Code == http.StatusOK || w.Body.String() == "success" {
		t.Errorf("alipay WAIT_BUYER_PAY, update fails, acknowledged: %d %q said=%q", w.Code, w.Body.String(), o.ProviderSaid)
	}
	// refund settle fails
	r.fl.Fail(nil)
	r.order(t, "W3", checkout.MethodWeChat, 100, true)
	ctx := context.Background()
	if _, err := r.st.CreateRefund(ctx, checkout.Refund{No: "R3", OrderNo: "W3", Method: checkout.MethodWeChat, Amount: 40, State: checkout.RefundRequested, Terminal: "T1", Operator: "x", Sent: true, Attempts: 1}); err != nil {
		t.Fatal(err)
	}
	r.fl.Fail(func(op fake.Op) error {
		if op.Name == "settle refund" || op.Name == "read refund" && false {
			return boom
		}
		return nil
	})
	w = r.do(r.k.wechatRefunded("W3", "42T", "R3", 100, 40))
	rf, _ := r.st.Refund(ctx, "R3")
	if w.Code != http.StatusInternalServerError || rf.State != checkout.RefundRequested {
		t.Errorf("refund settle fails: %d %q state=%s", w.Code, w.Body.String(), rf.State)
	}
	r.fl.Fail(nil)
	// refund total mismatch
	w = r.do(r.k.wechatRefunded("W3", "42T", "R3", 5000, 40))
	rf, _ = r.st.Refund(ctx, "R3")
	if w.Code != http.StatusBadRequest || rf.State != checkout.RefundRequested || r.audits(t, "W3") < 1 {
		t.Errorf("refund with amount.total 5000 on a 100 order: %d %q state=%s audits=%d", w.Code, w.Body.String(), rf.State, r.audits(t, "W3"))
	}
}

// slow clients hold the semaphore
func TestSlowClientsDoNotStarveNotifications(t *testing.T) {
	r := newRV(t)
	l, _ := webhook.Listen("127.0.0.1:0", r.h, nil)
	defer l.Close(context.Background())
	addr := strings.TrimPrefix(l.URL, "http://")
	var cs []net.Conn
	for range webhook.DefaultMaxConcurrent {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("POST /notify/wechat HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"))
		cs = append(cs, c)
	}
	time.Sleep(200 * time.Millisecond)
	r.order(t, "W9", checkout.MethodWeChat, 100, false)
	n := r.k.wechatPaid("W9", 100, "42T")
	start := time.Now()
	resp, err := http.DefaultClient.Do(n.request(l.URL))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("real notification while 64 slow clients hang: %d %q after %s", resp.StatusCode, b, time.Since(start))
	}
	for _, c := range cs {
		c.Close()
	}
}

func TestConcurrentPaidAndRefundedAndMisplacedRefunds(t *testing.T) {
	r := newRV(t)
	ctx := checkout.WithActor(context.Background(), checkout.Actor{Operator: "x", Via: "test"})
	r.order(t, "A5", checkout.MethodAlipay, 300, false)
	if _, err := r.st.Advance(ctx, "A5", checkout.StateClosed, func(s *checkout.Order) {}); err != nil {
		t.Fatal(err)
	}
	var ns []notice
	for range 20 {
		v := alipayForm("A5", "T5", 300)
		v.Set("trade_status", "TRADE_CLOSED")
		v.Set("gmt_close", beijing(time.Now()))
		ns = append(ns, r.k.alipay(v))
	}
	done := make(chan string, 20)
	for _, n := range ns {
		go func() { w := r.do(n); done <- w.Body.String() }()
	}
	for range 20 {
		<-done
	}
	o, _ := r.st.Order(context.Background(), "A5")
	rs, _ := r.st.Refunds(context.Background(), "A5")
	if o.State != checkout.StateRefunded || !o.Late || len(rs) != 1 {
		t.Errorf("20 paid-and-closed notices at once: state=%s late=%v refunds=%d", o.State, o.Late, len(rs))
	}
	// then a refund notification of another order's refund
	r.order(t, "A6", checkout.MethodAlipay, 500, true)
	r.order(t, "A7", checkout.MethodAlipay, 500, true)
	if _, err := r.st.CreateRefund(ctx, checkout.Refund{No: "R6", OrderNo: "A6", Method: checkout.MethodAlipay, Amount: 100, State: checkout.RefundRequested, Terminal: "T1", Operator: "x", Sent: true, Attempts: 1}); err != nil {
		t.Fatal(err)
	}
	w := r.do(r.k.alipayRefunded("A7", "T7", "R6", 500, 100))
	rf, _ := r.st.Refund(context.Background(), "R6")
	if w.Code == http.StatusOK || rf.State != checkout.RefundRequested {
		t.Errorf("R6 via A7: %d %q state=%s audits A7=%d A6=%d", w.Code, w.Body.String(), rf.State, r.audits(t, "A7"), r.audits(t, "A6"))
	}
	w = r.do(r.k.wechatRefunded("A6", "T7", "R6", 500, 100))
	rf, _ = r.st.Refund(context.Background(), "R6")
	if w.Code < 400 || rf.State != checkout.RefundRequested {
		t.Errorf("R6 via wechat: %d %q state=%s", w.Code, w.Body.String(), rf.State)
	}
}

func TestWeChatOtherMerchantUnknownOrderNoSerial(t *testing.T) {
	r := newRV(t)
	r.order(t, "W7", checkout.MethodWeChat, 100, false)
	n := r.k.wechatPaid("W7", 100, "42T")
	var body map[string]any
	_ = body
	// other mchid: rebuild plaintext
	plain := []byte(`{"appid":"wx0000sandbox0000","mchid":"1999999999","out_trade_no":"W7","transaction_id":"42T","trade_type":"NATIVE","trade_state":"SUCCESS","amount":{"total":100,"currency":"CNY"}}`)
	w := r.do(r.k.wechat("TRANSACTION.SUCCESS", "x", "transaction", plain))
	o, _ := r.st.Order(context.Background(), "W7")
	if w.Code != http.StatusBadRequest || o.State != checkout.StateAwaiting || r.audits(t, "W7") != 1 {
		t.Errorf("other mchid: %d %q state=%s audits=%d", w.Code, w.Body.String(), o.State, r.audits(t, "W7"))
	}
	if w = r.do(r.k.wechatPaid("NOPE", 100, "42T")); w.Code != http.StatusNotFound {
		t.Errorf("unknown order: %d %q", w.Code, w.Body.String())
	}
	n.Header.Del("Wechatpay-Serial")
	if w = r.do(n); w.Code != http.StatusUnauthorized {
		t.Errorf("no serial: %d %q", w.Code, w.Body.String())
	}
}
