package webhook_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"till/checkout"
	"till/providers/alipay"
	"till/providers/alipay/alipayemu"
	"till/providers/fake"
	"till/providers/sandbox"
	"till/providers/sandbox/sandboxtest"
	"till/providers/wechat"
	"till/providers/wechat/wechatemu"
	"till/store"
	"till/webhook"
)

// env is a sandbox (both emulators, notifying with their retry schedules
// in milliseconds), a ledger, an engine that never polls by itself, and
// the listener on a free port in front of it.
type env struct {
	sb     *sandbox.Sandbox
	ledger *store.Store
	eng    *checkout.Engine
	wx     *wechat.Provider
	ali    *alipay.Provider
	h      *webhook.Handler
	l      *webhook.Listener

	// fail answers the next fail requests 500 without handling them;
	// lose handles the next lose requests and then answers 500, as a
	// listener that crashed after its commit.
	fail, lose atomic.Int32
	hits       atomic.Int32
}

// sandboxEnv starts both emulators (retries every unit, logging to log)
// and a ledger, all closed when the test ends; the engine and the
// listener are the caller's.
func sandboxEnv(t testing.TB, log *slog.Logger, unit time.Duration) *env {
	t.Helper()
	sb, ledger := sandboxtest.Start(t, log, sandbox.WithNotifyRetryUnit(unit))
	e := &env{sb: sb, ledger: ledger}
	for _, p := range sb.Providers {
		switch p := p.(type) {
		case *wechat.Provider:
			e.wx = p
		case *alipay.Provider:
			e.ali = p
		}
	}
	return e
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := sandboxEnv(t, nil, time.Millisecond)
	var base string
	var err error
	e.eng = checkout.NewEngine(e.ledger, e.sb.Providers, checkout.Config{Terminal: "T1", PollInterval: time.Hour,
		NotifyURL: func(m checkout.Method) string { return base + "/notify/" + string(m) }}, nil, nil)
	e.h = webhook.New(webhook.Config{Engine: e.eng, WeChat: e.wx, Alipay: e.ali})
	e.l, err = webhook.Listen("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		if e.fail.Add(-1) >= 0 {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		e.fail.Store(0)
		if e.lose.Add(-1) >= 0 {
			e.h.ServeHTTP(httptest.NewRecorder(), r)
			http.Error(w, "crashed", http.StatusInternalServerError)
			return
		}
		e.lose.Store(0)
		e.h.ServeHTTP(w, r)
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	base = e.l.URL
	t.Cleanup(func() { e.l.Close(context.Background()) })
	return e
}

// waitOrder waits for the ledger (never a poll) to show order no in state.
func (e *env) waitOrder(t *testing.T, no string, want checkout.State) checkout.Order {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		o, err := e.ledger.Order(context.Background(), no)
		if err == nil && o.State == want {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s is %s (%v), want %s", no, o.State, err, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) waitRefund(t *testing.T, no string, want checkout.RefundState) checkout.Refund {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := e.ledger.Refund(context.Background(), no)
		if err == nil && r.State == want {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("refund %s is %s (%v), want %s", no, r.State, err, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitDeliveries waits for the WeChat emulator to have made n attempts.
func (e *env) waitDeliveries(t *testing.T, n int) []wechatemu.Delivery {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ds := e.sb.WeChat.Emulator.Deliveries()
		if len(ds) >= n {
			return ds
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries: %+v, want %d", ds, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) paidEntries(t *testing.T, no string) int {
	t.Helper()
	es, err := e.ledger.AuditOf(context.Background(), no)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range es {
		if a.Kind == checkout.AuditSaleState && a.To == string(checkout.StatePaid) {
			n++
		}
	}
	return n
}

func payOnPage(t *testing.T, codeURL string) {
	t.Helper()
	resp, err := http.PostForm(codeURL, url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		t.Fatalf("payer page: %s", resp.Status)
	}
}

func TestWeChatPaymentAndRefundByNotification(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	o, err := e.eng.Start(ctx, checkout.MethodWeChat, 1230, "")
	if err != nil {
		t.Fatal(err)
	}
	payOnPage(t, o.CodeURL)
	got := e.waitOrder(t, o.No, checkout.StatePaid)
	if got.ProviderTradeNo == "" || e.paidEntries(t, o.No) != 1 {
		t.Fatalf("paid: %+v", got)
	}
	// The sandbox's refunds stay PROCESSING for 2 s, then succeed and
	// notify.
	r, _, err := e.eng.Refund(ctx, o.No, 230, "")
	if err != nil || r.State != checkout.RefundRequested {
		t.Fatalf("refund: %+v %v", r, err)
	}
	done := e.waitRefund(t, r.No, checkout.RefundSucceeded)
	if done.ProviderRefundNo == "" {
		t.Errorf("refund: %+v", done)
	}
	if s := e.waitOrder(t, o.No, checkout.StatePartiallyRefunded); s.Refunded != 230 {
		t.Fatalf("order after the refund: %+v", s)
	}
}

func TestWeChatRetryAfterA500AndAfterALostAnswer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.fail.Store(1)
	o, err := e.eng.Start(ctx, checkout.MethodWeChat, 500, "")
	if err != nil {
		t.Fatal(err)
	}
	payOnPage(t, o.CodeURL)
	e.waitOrder(t, o.No, checkout.StatePaid)
	// The emulator records an attempt once it has read the answer.
	ds := e.waitDeliveries(t, 2)
	if ds[0].Status != 500 || !ds[1].Delivered() {
		t.Fatalf("deliveries: %+v", ds)
	}

	// Applied, then the answer lost: the resend is a duplicate, applied
	// once and acknowledged.
	e.lose.Store(1)
	o2, err := e.eng.Start(ctx, checkout.MethodWeChat, 700, "")
	if err != nil {
		t.Fatal(err)
	}
	payOnPage(t, o2.CodeURL)
	e.waitOrder(t, o2.No, checkout.StatePaid)
	if ds = e.waitDeliveries(t, 4); ds[2].Status != 500 || !ds[3].Delivered() {
		t.Fatalf("deliveries: %+v", ds)
	}
	if n := e.paidEntries(t, o2.No); n != 1 {
		t.Fatalf("applied %d times", n)
	}
}

func TestAlipayPaymentAndRefundByNotification(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.fail.Store(1) // the first delivery finds the listener down
	o, err := e.eng.Start(ctx, checkout.MethodAlipay, 990, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sb.Alipay.Emulator.Pay(o.No); err != nil {
		t.Fatal(err)
	}
	e.waitOrder(t, o.No, checkout.StatePaid)
	if n := e.paidEntries(t, o.No); n != 1 {
		t.Fatalf("applied %d times", n)
	}
	// The refund's answer is lost after Alipay made it: the notification
	// (out_biz_no, refund_fee) settles it.
	e.sb.Alipay.Emulator.SetFaults(alipayemu.Faults{Method: "alipay.trade.refund", Reset: true, Times: 1})
	r, _, err := e.eng.Refund(ctx, o.No, 990, "")
	if err == nil || r.State != checkout.RefundRequested {
		t.Fatalf("refund with the answer lost: %+v %v", r, err)
	}
	e.waitRefund(t, r.No, checkout.RefundSucceeded)
	if s := e.waitOrder(t, o.No, checkout.StateRefunded); s.Refunded != 990 {
		t.Fatalf("order: %+v", s)
	}
}

func TestForgedNotificationsChangeNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	o, err := e.eng.Start(ctx, checkout.MethodWeChat, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	before, _ := e.ledger.AuditOf(ctx, o.No)
	for _, tc := range []struct {
		path, ctype, body string
		want              int
	}{
		{"/notify/wechat", "application/json", `{"id":"x","resource":{"nonce":"123456789012","ciphertext":"AAAA"}}`, 401},
		{"/notify/wechat", "application/json", `not json`, 401},
		{"/notify/alipay", "application/x-www-form-urlencoded", "out_trade_no=" + o.No + "&total_amount=1.00&trade_status=TRADE_SUCCESS&sign=AAAA&app_id=" + sandbox.AlipayAppID, 400},
	} {
		resp, err := http.Post(e.l.URL+tc.path, tc.ctype, stringsReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %q: %d, want %d", tc.path, tc.body, resp.StatusCode, tc.want)
		}
	}
	// Still as written: created in the ledger (the code is the desk's
	// until the sale settles), with no word of the forgeries.
	if s := e.waitOrder(t, o.No, checkout.StateCreated); s.ProviderSaid != "" {
		t.Errorf("changed: %+v", s)
	}
	if after, _ := e.ledger.AuditOf(ctx, o.No); len(after) != len(before) {
		t.Errorf("audit entries %d -> %d", len(before), len(after))
	}
	resp, err := http.Get(e.l.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz: %s", resp.Status)
	}
}

func TestListenOnAnAddressInUse(t *testing.T) {
	e := newEnv(t)
	addr := e.l.Addr().String()
	if _, err := webhook.Listen(addr, e.h, nil); err == nil || !contains(err.Error(), addr) {
		t.Fatalf("err %v, want one naming %s", err, addr)
	}
}

// Junk is logged once per interval per route, with the count of the
// lines left out; the parsers' own refusals stay at debug.
func TestRefusalsAreRateLimited(t *testing.T) {
	e := newEnv(t)
	var buf fake.Buffer
	h := webhook.New(webhook.Config{Engine: e.eng, WeChat: e.wx, Alipay: e.ali, LogEvery: time.Hour,
		Log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	for range 5 {
		for _, path := range []string{"/notify/wechat", "/notify/alipay"} {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, stringsReader("sign=x")))
			if w.Code < 400 {
				t.Fatalf("%s: %d", path, w.Code)
			}
		}
	}
	if n := strings.Count(buf.String(), "level=WARN"); n != 2 {
		t.Fatalf("%d lines, want one per route:\n%s", n, buf.String())
	}
	// A big body is refused before it is read.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/notify/wechat", strings.NewReader(strings.Repeat("x", webhook.MaxBody+1))))
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("big body: %d", w.Code)
	}
}

// A full listener answers 503 at once.
func TestBusyListenerAnswers503(t *testing.T) {
	block := make(chan struct{})
	entered := make(chan struct{}, 1)
	h := webhook.New(webhook.Config{MaxConcurrent: 1, Ping: func(context.Context) error {
		entered <- struct{}{}
		<-block
		return nil
	}})
	go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/healthz", nil))
	<-entered
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	close(block)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("%d, want 503", w.Code)
	}
}
