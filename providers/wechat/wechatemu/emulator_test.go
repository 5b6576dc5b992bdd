package wechatemu_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"till/providers/fake"
	"till/providers/wechat/wechatemu"
)

const (
	mchID    = "1900000001"
	appID    = "wx8888888888888888"
	serial   = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
	keyID    = "PUB_KEY_ID_0119000000012024112300000000"
	apiV3Key = "0123456789abcdefABCDEF0123456789"
)

var keys struct {
	once               sync.Once
	merchant, platform *rsa.PrivateKey
}

func testKeys() (merchant, platform *rsa.PrivateKey) {
	keys.once.Do(func() {
		var wg sync.WaitGroup
		out := make([]*rsa.PrivateKey, 2)
		for i := range out {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k, err := rsa.GenerateKey(rand.Reader, 2048)
				if err != nil {
					panic(err)
				}
				out[i] = k
			}()
		}
		wg.Wait()
		keys.merchant, keys.platform = out[0], out[1]
	})
	return keys.merchant, keys.platform
}

func config(mod ...func(*wechatemu.Config)) wechatemu.Config {
	merchant, platform := testKeys()
	c := wechatemu.Config{
		MchID: mchID, AppID: appID, MerchantSerial: serial,
		MerchantPublicKey: &merchant.PublicKey, PlatformKey: platform, PlatformKeyID: keyID,
		APIv3Key: apiV3Key, NotifyRetryUnit: time.Millisecond,
	}
	for _, m := range mod {
		m(&c)
	}
	return c
}

type harness struct {
	t   *testing.T
	emu *wechatemu.Emulator
	srv *httptest.Server
}

func start(t *testing.T, mod ...func(*wechatemu.Config)) *harness {
	emu, err := wechatemu.New(config(mod...))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { srv.Close(); emu.Close() })
	return &harness{t: t, emu: emu, srv: srv}
}

// auth is the merchant's Authorization header, built as the SDK does.
type auth struct {
	mchid, serial string
	ts            time.Time
	key           *rsa.PrivateKey
	tamper        bool
}

func (a auth) header(method, target, body string) string {
	merchant, _ := testKeys()
	if a.mchid == "" {
		a.mchid = mchID
	}
	if a.serial == "" {
		a.serial = serial
	}
	if a.ts.IsZero() {
		a.ts = time.Now()
	}
	if a.key == nil {
		a.key = merchant
	}
	ts := strconv.FormatInt(a.ts.Unix(), 10)
	nonce := "593BEC0C930BF1AFEB40B4A08C8FB242"
	msg := method + "\n" + target + "\n" + ts + "\n" + nonce + "\n" + body + "\n"
	if a.tamper {
		msg += "x"
	}
	sum := sha256.Sum256([]byte(msg))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, a.key, crypto.SHA256, sum[:])
	return fmt.Sprintf(`WECHATPAY2-SHA256-RSA2048 mchid="%s",nonce_str="%s",timestamp="%s",serial_no="%s",signature="%s"`,
		a.mchid, nonce, ts, a.serial, base64.StdEncoding.EncodeToString(sig))
}

// do sends a signed API request and checks the answer's platform
// signature.
func (h *harness) do(method, target, body string, a auth) (int, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", a.header(method, target, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	verify(h.t, resp.Header, raw)
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			h.t.Fatalf("answer %d is not JSON: %s", resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, m
}

// verify checks the platform signature as the SDK does.
func verify(t *testing.T, h http.Header, body []byte) {
	t.Helper()
	_, platform := testKeys()
	if h.Get("Wechatpay-Serial") != keyID {
		t.Fatalf("Wechatpay-Serial %q", h.Get("Wechatpay-Serial"))
	}
	ts, err := strconv.ParseInt(h.Get("Wechatpay-Timestamp"), 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
		t.Fatalf("Wechatpay-Timestamp %q", h.Get("Wechatpay-Timestamp"))
	}
	sig, _ := base64.StdEncoding.DecodeString(h.Get("Wechatpay-Signature"))
	sum := sha256.Sum256([]byte(h.Get("Wechatpay-Timestamp") + "\n" + h.Get("Wechatpay-Nonce") + "\n" + string(body) + "\n"))
	if err := rsa.VerifyPKCS1v15(&platform.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("answer not signed by the platform: %v", err)
	}
}

func prepayBody(no string, total int64, notify string) string {
	return fmt.Sprintf(`{"amount":{"currency":"CNY","total":%d},"appid":%q,"attach":"terminal=T1","description":"till","mchid":%q,"notify_url":%q,"out_trade_no":%q,"time_expire":%q}`+"\n",
		total, appID, mchID, notify, no, time.Now().Add(3*time.Minute).Format(time.RFC3339))
}

func TestAuthorizationRefusals(t *testing.T) {
	h := start(t)
	_, other := testKeys() // the platform key is not the merchant's
	body := prepayBody("T20261123000001", 100, "")
	cases := map[string]auth{
		"wrong signature":     {tamper: true},
		"wrong key":           {key: other},
		"wrong mchid":         {mchid: "1900000002"},
		"wrong serial":        {serial: "0011AABB"},
		"stale timestamp":     {ts: time.Now().Add(-6 * time.Minute)},
		"timestamp in future": {ts: time.Now().Add(6 * time.Minute)},
	}
	for name, a := range cases {
		t.Run(name, func(t *testing.T) {
			h.t = t
			status, m := h.do("POST", "/v3/pay/transactions/native", body, a)
			if status != 401 || m["code"] != "SIGN_ERROR" || m["message"] == "" {
				t.Fatalf("got %d %v", status, m)
			}
		})
	}
	// No Authorization at all.
	resp, err := http.Post(h.srv.URL+"/v3/pay/transactions/native", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("unsigned: %d", resp.StatusCode)
	}
	if _, ok := h.emu.Trade("T20261123000001"); ok {
		t.Fatal("a refused request created a trade")
	}
	// The body is part of what is signed.
	req, _ := http.NewRequest("POST", h.srv.URL+"/v3/pay/transactions/native", strings.NewReader(prepayBody("T20261123000001", 1, "")))
	req.Header.Set("Authorization", auth{}.header("POST", "/v3/pay/transactions/native", body))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("body swapped: %d", resp.StatusCode)
	}
}

func TestTradeLifecycleAndSignedAnswers(t *testing.T) {
	h := start(t)
	no := "T20261123000002"
	status, m := h.do("POST", "/v3/pay/transactions/native", prepayBody(no, 1234, ""), auth{})
	if status != 200 || !strings.HasPrefix(m["code_url"].(string), h.srv.URL+"/pay/") {
		t.Fatalf("prepay: %d %v", status, m)
	}
	status, m = h.do("POST", "/v3/pay/transactions/native", prepayBody(no, 999, ""), auth{})
	if status != 403 || m["code"] != "OUT_TRADE_NO_USED" {
		t.Fatalf("changed parameters: %d %v", status, m)
	}
	q := "/v3/pay/transactions/out-trade-no/" + no + "?mchid=" + mchID
	if status, m = h.do("GET", q, "", auth{}); status != 200 || m["trade_state"] != "NOTPAY" {
		t.Fatalf("query: %d %v", status, m)
	}
	if err := h.emu.Pay(no); err != nil {
		t.Fatal(err)
	}
	status, m = h.do("GET", q, "", auth{})
	if status != 200 || m["trade_state"] != "SUCCESS" || m["success_time"] == nil || m["transaction_id"] == nil {
		t.Fatalf("query paid: %d %v", status, m)
	}
	txn := m["transaction_id"].(string)
	if status, m = h.do("GET", "/v3/pay/transactions/id/"+txn+"?mchid="+mchID, "", auth{}); status != 200 || m["out_trade_no"] != no {
		t.Fatalf("query by id: %d %v", status, m)
	}
	closeBody := `{"mchid":"` + mchID + `"}` + "\n"
	if status, m = h.do("POST", "/v3/pay/transactions/out-trade-no/"+no+"/close", closeBody, auth{}); status != 403 || m["code"] != "ORDERPAID" {
		t.Fatalf("close paid: %d %v", status, m)
	}
	no2 := "T20261123000003"
	h.do("POST", "/v3/pay/transactions/native", prepayBody(no2, 1, ""), auth{})
	// 204 with an empty body, signed all the same (do verifies).
	if status, _ = h.do("POST", "/v3/pay/transactions/out-trade-no/"+no2+"/close", closeBody, auth{}); status != 204 {
		t.Fatalf("close: %d", status)
	}
	if status, m = h.do("GET", "/v3/pay/transactions/out-trade-no/NOPE000?mchid="+mchID, "", auth{}); status != 404 || m["code"] != "ORDER_NOT_EXIST" {
		t.Fatalf("unknown: %d %v", status, m)
	}
	refund := func(rno string, amount int64) (int, map[string]any) {
		return h.do("POST", "/v3/refund/domestic/refunds",
			fmt.Sprintf(`{"amount":{"currency":"CNY","refund":%d,"total":1234},"out_refund_no":%q,"out_trade_no":%q}`+"\n", amount, rno, no), auth{})
	}
	if status, m = refund("R1", 1000); status != 200 || m["status"] != "SUCCESS" || m["success_time"] == nil {
		t.Fatalf("refund: %d %v", status, m)
	}
	if status, m = refund("R2", 235); status != 400 || m["code"] != "INVALID_REQUEST" {
		t.Fatalf("over-refund: %d %v", status, m)
	}
	if status, m = refund("R1", 999); status != 400 || m["code"] != "INVALID_REQUEST" {
		t.Fatalf("same number, other amount: %d %v", status, m)
	}
	if status, m = h.do("GET", "/v3/refund/domestic/refunds/R1", "", auth{}); status != 200 || m["refund_id"] == nil {
		t.Fatalf("refund query: %d %v", status, m)
	}
	if status, m = h.do("GET", "/v3/refund/domestic/refunds/R9", "", auth{}); status != 404 || m["code"] != "RESOURCE_NOT_EXISTS" {
		t.Fatalf("unknown refund: %d %v", status, m)
	}
	if status, m = h.do("GET", q, "", auth{}); m["trade_state"] != "REFUND" {
		t.Fatalf("after refund: %d %v", status, m)
	}
}

func TestPayerPage(t *testing.T) {
	h := start(t)
	no := "T20261123000004"
	_, m := h.do("POST", "/v3/pay/transactions/native", prepayBody(no, 5, ""), auth{})
	code := m["code_url"].(string)

	get := func(u string) (int, string) { // as a browser
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func(u, action string, html bool) (int, string) {
		req, _ := http.NewRequest("POST", u, strings.NewReader(url.Values{"action": {action}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if html {
			req.Header.Set("Accept", "text/html")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if s, page := get(code); s != 200 || !strings.Contains(page, "¥0.05") || !strings.Contains(page, no) || !strings.Contains(page, "Pay") {
		t.Fatalf("GET: %d %s", s, page)
	}
	if s, _ := get(h.srv.URL + "/pay/unknown"); s != 404 {
		t.Fatalf("unknown token: %d", s)
	}
	if s, _ := post(code, "dance", false); s != 400 {
		t.Fatalf("bad action: %d", s)
	}
	if s, msg := post(code, "decline", false); s != 200 || !strings.Contains(msg, "Declined") {
		t.Fatalf("decline: %d %s", s, msg)
	}
	if tr, _ := h.emu.Trade(no); tr.State != wechatemu.StateNotPay {
		t.Fatalf("declined trade is %s", tr.State)
	}
	if s, msg := post(code, "pay", true); s != 200 || !strings.Contains(msg, "<html") || !strings.Contains(msg, "Paid ¥0.05") {
		t.Fatalf("pay: %d %s", s, msg)
	}
	if s, msg := post(code, "pay", false); s != http.StatusConflict || !strings.Contains(msg, "already paid") {
		t.Fatalf("pay again: %d %s", s, msg)
	}
	if s, page := get(code); s != 200 || strings.Contains(page, `value="pay"`) || !strings.Contains(page, "Paid") {
		t.Fatalf("GET paid: %d %s", s, page)
	}
	req, _ := http.NewRequest("DELETE", code, nil)
	resp, _ := http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
}

func TestExpiry(t *testing.T) {
	var off atomic.Int64
	h := start(t, func(c *wechatemu.Config) {
		c.Clock = func() time.Time { return time.Now().Add(time.Duration(off.Load())) }
	})
	no := "T20261123000005"
	h.do("POST", "/v3/pay/transactions/native", prepayBody(no, 5, ""), auth{})
	off.Store(int64(4 * time.Minute))
	if tr, _ := h.emu.Trade(no); tr.State != wechatemu.StateClosed {
		t.Fatalf("past time_expire: %s", tr.State)
	}
	if err := h.emu.Pay(no); err != wechatemu.ErrNotPayable {
		t.Fatalf("Pay: %v", err)
	}
}

func TestTradesSurviveARestart(t *testing.T) {
	store := fake.NewStore()
	s1, err := wechatemu.Start("127.0.0.1:0", config(func(c *wechatemu.Config) { c.Store = store }))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, emu: s1.Emulator, srv: &httptest.Server{URL: s1.URL}}
	no := "T20261123000006"
	_, m := h.do("POST", "/v3/pay/transactions/native", prepayBody(no, 700, ""), auth{})
	if !strings.HasPrefix(m["code_url"].(string), s1.URL+"/pay/") {
		t.Fatalf("code_url %v, server %s", m["code_url"], s1.URL)
	}
	if err := s1.Emulator.Pay(no); err != nil {
		t.Fatal(err)
	}
	h.do("POST", "/v3/refund/domestic/refunds", `{"amount":{"currency":"CNY","refund":100,"total":700},"out_refund_no":"R1","out_trade_no":"`+no+`"}`, auth{})
	before, _ := s1.Emulator.Trade(no)
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := wechatemu.Start("127.0.0.1:0", config(func(c *wechatemu.Config) { c.Store = store }))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	after, ok := s2.Emulator.Trade(no)
	if !ok || after.State != wechatemu.StateRefund || after.TransactionID != before.TransactionID || after.Refunded != 100 {
		t.Fatalf("after restart: %+v", after)
	}
	if r, ok := s2.Emulator.Refund("R1"); !ok || r.Status != wechatemu.RefundSuccess {
		t.Fatalf("refund after restart: %+v", r)
	}
	resp, err := http.Get(s2.URL + after.PayPath())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("payer page after restart: %d", resp.StatusCode)
	}
}

func TestNotificationRetriesFollowTheSchedule(t *testing.T) {
	var calls atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 3 {
			w.WriteHeader(500)
			return
		}
		w.WriteHeader(200)
	}))
	defer hook.Close()
	h := start(t)
	no := "T20261123000007"
	h.do("POST", "/v3/pay/transactions/native", prepayBody(no, 5, hook.URL+"/n"), auth{})
	start := time.Now()
	if err := h.emu.Pay(no); err != nil {
		t.Fatal(err)
	}
	ds := waitDeliveries(t, h.emu, 4)
	for i, d := range ds {
		if d.Attempt != i+1 || d.EventType != "TRANSACTION.SUCCESS" || d.ID != ds[0].ID {
			t.Fatalf("delivery %d: %+v", i, d)
		}
	}
	if !ds[3].Delivered() || ds[2].Delivered() {
		t.Fatalf("deliveries %+v", ds)
	}
	// 15 + 15 + 30 units of 1 ms at least.
	if el := time.Since(start); el < 60*time.Millisecond {
		t.Fatalf("retries came after %v, faster than the schedule", el)
	}
}

func TestNotificationGivesUpAfterTheSchedule(t *testing.T) {
	var calls atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(503)
	}))
	defer hook.Close()
	h := start(t, func(c *wechatemu.Config) { c.NotifyRetryUnit = 10 * time.Microsecond })
	no := "T20261123000008"
	h.do("POST", "/v3/pay/transactions/native", prepayBody(no, 5, hook.URL), auth{})
	h.emu.Pay(no)
	want := len(wechatemu.RetrySchedule) + 1
	waitDeliveries(t, h.emu, want)
	time.Sleep(50 * time.Millisecond)
	if n := int(calls.Load()); n != want {
		t.Fatalf("%d attempts, want %d", n, want)
	}
}

func TestCloseStopsPendingNotifications(t *testing.T) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer hook.Close()
	emu, err := wechatemu.New(config(func(c *wechatemu.Config) { c.NotifyRetryUnit = time.Second }))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	defer srv.Close()
	h := &harness{t: t, emu: emu, srv: srv}
	h.do("POST", "/v3/pay/transactions/native", prepayBody("T20261123000009", 5, hook.URL), auth{})
	emu.Pay("T20261123000009")
	waitDeliveries(t, emu, 1)
	done := make(chan struct{})
	go func() { emu.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close waited for the retry schedule")
	}
}

func TestFaultsCountAndPath(t *testing.T) {
	h := start(t)
	h.emu.SetFaults(wechatemu.Faults{Path: "/refunds", Status: 500, Times: 2})
	q := "/v3/pay/transactions/out-trade-no/NOPE000?mchid=" + mchID
	if s, _ := h.do("GET", q, "", auth{}); s != 404 {
		t.Fatalf("other path affected: %d", s)
	}
	for range 2 {
		if s, m := h.do("GET", "/v3/refund/domestic/refunds/R1", "", auth{}); s != 500 || m["code"] != "SYSTEM_ERROR" {
			t.Fatalf("fault: %d %v", s, m)
		}
	}
	if s, _ := h.do("GET", "/v3/refund/domestic/refunds/R1", "", auth{}); s != 404 {
		t.Fatalf("fault outlived Times: %d", s)
	}
}

func TestNewChecksConfig(t *testing.T) {
	if _, err := wechatemu.New(wechatemu.Config{}); err == nil || !strings.Contains(err.Error(), "MchID") {
		t.Fatalf("got %v", err)
	}
	if _, err := wechatemu.New(config(func(c *wechatemu.Config) { c.APIv3Key = "short" })); err == nil {
		t.Fatal("short APIv3 key accepted")
	}
}

func waitDeliveries(t *testing.T, emu *wechatemu.Emulator, n int) []wechatemu.Delivery {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ds := emu.Deliveries()
		if len(ds) >= n {
			return ds
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries after 5 s, want %d: %+v", len(ds), n, ds)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
