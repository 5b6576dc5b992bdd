package alipayemu

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smartwalle/alipay/v3"

	"till/providers/fake"
)

const appID = "2021000000000002"

var (
	keysOnce          sync.Once
	appKey, alipayKey *rsa.PrivateKey
)

func keys() {
	keysOnce.Do(func() {
		var err error
		if appKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if alipayKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func start(t *testing.T, mod func(*Config)) (*Server, *clock) {
	t.Helper()
	keys()
	c := &clock{now: time.Now()}
	cfg := Config{AppID: appID, AppPublicKey: &appKey.PublicKey, AlipayKey: alipayKey, Clock: c.Now, NotifyRetryUnit: time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	s, err := Start("", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

// sdk is the real client pointed at the emulator.
func sdk(t *testing.T, s *Server) *alipay.Client {
	t.Helper()
	key := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(appKey)})
	c, err := alipay.New(appID, string(key), false, alipay.WithSandboxGateway(s.Gateway), alipay.WithTimeLocation(shanghai))
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&alipayKey.PublicKey)
	if err := c.LoadAliPayPublicKey(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))); err != nil {
		t.Fatal(err)
	}
	return c
}

var ctx = context.Background()

// handSigned builds a gateway form without the emulator's helpers.
func handSigned(key *rsa.PrivateKey, method, biz string) url.Values {
	v := url.Values{
		"app_id": {appID}, "method": {method}, "format": {"JSON"}, "charset": {"utf-8"},
		"sign_type": {"RSA2"}, "timestamp": {time.Now().In(shanghai).Format(timeLayout)}, "version": {"1.0"},
		"biz_content": {biz},
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+v.Get(k))
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "&")))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	v.Set("sign", base64.StdEncoding.EncodeToString(sig))
	return v
}

func post(t *testing.T, u string, form url.Values) string {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

var layoutRE = regexp.MustCompile(`^\{"([a-z_]+)":(\{.*\}),"sign":"([A-Za-z0-9+/=]+)"\}$`)

func checkSigned(t *testing.T, body, key string) string {
	t.Helper()
	m := layoutRE.FindStringSubmatch(body)
	if m == nil || m[1] != key {
		t.Fatalf("layout: %s", body)
	}
	sig, _ := base64.StdEncoding.DecodeString(m[3])
	sum := sha256.Sum256([]byte(m[2]))
	if err := rsa.VerifyPKCS1v15(&alipayKey.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("signature over the raw value: %v", err)
	}
	return m[2]
}

func TestAnswerLayout(t *testing.T) {
	s, _ := start(t, nil)
	body := post(t, s.Gateway, handSigned(appKey, "alipay.trade.query", `{"out_trade_no":"A1"}`))
	biz := checkSigned(t, body, "alipay_trade_query_response")
	if !strings.HasPrefix(biz, `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST"`) {
		t.Fatalf("biz %s", biz)
	}
	body = post(t, s.Gateway, handSigned(appKey, "alipay.trade.precreate", `{"out_trade_no":"A1","total_amount":"0.01","subject":"s","product_code":"","terminal_id":""}`))
	biz = checkSigned(t, body, "alipay_trade_precreate_response")
	if !strings.Contains(biz, `"qr_code":"http:\/\/127.0.0.1:`) {
		t.Fatalf("slashes not escaped as Alipay does: %s", biz)
	}
	// Common parameters in the URL query, as the Java SDK sends them.
	form := handSigned(appKey, "alipay.trade.query", `{"out_trade_no":"A1"}`)
	q := url.Values{}
	for _, k := range []string{"app_id", "method", "sign", "timestamp"} {
		q.Set(k, form.Get(k))
		form.Del(k)
	}
	if body := post(t, s.Gateway+"?"+q.Encode(), form); !strings.Contains(body, `"code":"40004"`) {
		t.Fatalf("query and body merged: %s", body)
	}
}

func TestGatewayChecks(t *testing.T) {
	s, _ := start(t, nil)
	other, _ := rsa.GenerateKey(rand.Reader, 1024)
	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"bad signature", handSigned(other, "alipay.trade.query", `{"out_trade_no":"A1"}`), `"sub_code":"isv.invalid-signature"`},
		{"unknown method", handSigned(appKey, "alipay.trade.nothing", `{}`), `{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-method"`},
		{"missing method", url.Values{"app_id": {appID}}, `{"error_response":{"code":"40001"`},
		{"wrong app id", func() url.Values { f := handSigned(appKey, "alipay.trade.query", `{}`); f.Set("app_id", "1"); return f }(),
			`{"alipay_trade_query_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id","sub_msg":"无效的AppID参数"}}`},
		{"no sign", func() url.Values { f := handSigned(appKey, "alipay.trade.query", `{}`); f.Del("sign"); return f }(), `"sub_code":"isv.missing-signature"`},
		{"bad timestamp", func() url.Values {
			f := handSigned(appKey, "alipay.trade.query", `{}`)
			f.Set("timestamp", "yesterday")
			return f
		}(), `"sub_code":"isv.invalid-timestamp"`},
		{"RSA1", func() url.Values {
			f := handSigned(appKey, "alipay.trade.query", `{}`)
			f.Set("sign_type", "RSA")
			return f
		}(), `"sub_code":"isv.invalid-signature-type"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if body := post(t, s.Gateway, tc.form); !strings.Contains(body, tc.want) {
				t.Fatalf("got %s\nwant %s", body, tc.want)
			}
		})
	}
	if got := s.Emulator.LastRequest().Get("sign_type"); got != "RSA" {
		t.Fatalf("LastRequest sign_type = %q", got)
	}
}

func TestPersistence(t *testing.T) {
	store := fake.NewStore()
	s, _ := start(t, func(c *Config) { c.Store = store })
	c := sdk(t, s)
	rsp, err := c.TradePreCreate(ctx, alipay.TradePreCreate{Trade: alipay.Trade{OutTradeNo: "P1", TotalAmount: "9.99", Subject: "kept"}})
	if err != nil || !rsp.IsSuccess() {
		t.Fatalf("%+v %v", rsp, err)
	}
	s.Emulator.Pay("P1")
	if r, err := c.TradeRefund(ctx, alipay.TradeRefund{OutTradeNo: "P1", RefundAmount: "1.00", OutRequestNo: "R1"}); err != nil || r.FundChange != "Y" {
		t.Fatalf("refund %+v %v", r, err)
	}
	s.Close()

	s2, _ := start(t, func(c *Config) { c.Store = store; c.PayerBase = "http://kept.example" })
	tr, ok := s2.Emulator.Trade("P1")
	if !ok || tr.Status != StatusSuccess || tr.RefundedFen != 100 || len(tr.Refunds) != 1 || tr.TotalFen != 999 || tr.QRCode != rsp.QRCode {
		t.Fatalf("reloaded: %+v", tr)
	}
	q, err := sdk(t, s2).TradeQuery(ctx, alipay.TradeQuery{OutTradeNo: "P1"})
	if err != nil || q.TradeStatus != alipay.TradeStatusSuccess || q.TradeNo != tr.TradeNo {
		t.Fatalf("query after reload: %+v %v", q, err)
	}
	// A replayed refund is still recognised.
	if r, err := sdk(t, s2).TradeRefund(ctx, alipay.TradeRefund{OutTradeNo: "P1", RefundAmount: "1.00", OutRequestNo: "R1"}); err != nil || r.FundChange != "N" {
		t.Fatalf("replay after reload %+v %v", r, err)
	}
}

func TestNotificationsStopOnClose(t *testing.T) {
	var mu sync.Mutex
	attempts := 0
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		attempts++
		mu.Unlock()
		w.Write([]byte("fail"))
	}))
	defer sink.Close()
	s, _ := start(t, func(c *Config) { c.NotifyRetryUnit = time.Hour })
	c := sdk(t, s)
	c.TradePreCreate(ctx, alipay.TradePreCreate{Trade: alipay.Trade{OutTradeNo: "N1", TotalAmount: "1.00", Subject: "s", NotifyURL: sink.URL}})
	s.Emulator.Pay("N1")
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := attempts
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close waited for the retry schedule")
	}
	mu.Lock()
	defer mu.Unlock()
	if attempts != 1 {
		t.Fatalf("%d attempts, want 1 before Close", attempts)
	}
}

func TestTradePay(t *testing.T) {
	s, _ := start(t, nil)
	c := sdk(t, s)
	pay := func(no, code string) *alipay.TradePayRsp {
		rsp, err := c.TradePay(ctx, alipay.TradePay{Scene: "bar_code", AuthCode: code,
			Trade: alipay.Trade{OutTradeNo: no, TotalAmount: "3.50", Subject: "s", ProductCode: "FACE_TO_FACE_PAYMENT"}})
		if err != nil {
			t.Fatal(err)
		}
		return rsp
	}
	if r := pay("B1", "281234567890123456"); r.Code != "10000" || r.TradeNo == "" || r.GmtPayment == "" || len(r.FundBillList) != 1 || r.FundBillList[0].RealAmount == 0 {
		t.Fatalf("paid now: %+v", r)
	}
	if r := pay("B1", "281234567890123456"); r.SubCode != "ACQ.TRADE_HAS_SUCCESS" {
		t.Fatalf("paid twice: %+v", r)
	}
	if r := pay("B2", "281234567890120003"); r.Code != "10003" {
		t.Fatalf("waiting for the customer: %+v", r)
	}
	s.Emulator.Pay("B2")
	if q, _ := c.TradeQuery(ctx, alipay.TradeQuery{OutTradeNo: "B2"}); q.TradeStatus != alipay.TradeStatusSuccess {
		t.Fatalf("after the customer confirmed: %+v", q)
	}
	if r := pay("B3", "123"); r.SubCode != "ACQ.PAYMENT_AUTH_CODE_INVALID" {
		t.Fatalf("bad code: %+v", r)
	}
}

func TestTradeRules(t *testing.T) {
	s, clk := start(t, nil)
	c := sdk(t, s)
	pre := func(no string, mod func(*alipay.TradePreCreate)) *alipay.TradePreCreateRsp {
		p := alipay.TradePreCreate{Trade: alipay.Trade{OutTradeNo: no, TotalAmount: "10.00", Subject: "s"}}
		if mod != nil {
			mod(&p)
		}
		rsp, err := c.TradePreCreate(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return rsp
	}
	for name, mod := range map[string]func(*alipay.TradePreCreate){
		"three decimals": func(p *alipay.TradePreCreate) { p.TotalAmount = "1.001" },
		"zero":           func(p *alipay.TradePreCreate) { p.TotalAmount = "0.00" },
		"too much":       func(p *alipay.TradePreCreate) { p.TotalAmount = "100000000.01" },
		"slash":          func(p *alipay.TradePreCreate) { p.Subject = "a/b" },
		"dash in number": func(p *alipay.TradePreCreate) { p.OutTradeNo = "A-1" },
		"half hours":     func(p *alipay.TradePreCreate) { p.TimeoutExpress = "1.5h" },
		"past":           func(p *alipay.TradePreCreate) { p.TimeExpire = "2001-01-01 00:00:00" },
		"16 days":        func(p *alipay.TradePreCreate) { p.TimeoutExpress = "16d" },
		"no subject":     func(p *alipay.TradePreCreate) { p.Subject = "" },
	} {
		if r := pre("V"+strings.ReplaceAll(name, " ", ""), mod); r.SubCode != "ACQ.INVALID_PARAMETER" {
			t.Errorf("%s: %+v", name, r)
		}
	}
	// timeout_express counts from the scan, when the trade comes to be.
	pre("E1", func(p *alipay.TradePreCreate) { p.TimeoutExpress = "5m" })
	clk.Advance(time.Minute)
	s.Emulator.Scan("E1")
	if tr, _ := s.Emulator.Trade("E1"); !tr.ExpiresAt.Equal(tr.ScannedAt.Add(5*time.Minute)) || tr.ScannedAt.Equal(tr.CreatedAt) {
		t.Errorf("timeout_express 5m: expires %v, scanned %v", tr.ExpiresAt, tr.ScannedAt)
	}
	pre("E2", func(p *alipay.TradePreCreate) { p.TimeoutExpress = "1c" })
	s.Emulator.Scan("E2")
	if tr, _ := s.Emulator.Trade("E2"); tr.ExpiresAt.In(shanghai).Hour() != 0 || !tr.ExpiresAt.After(tr.CreatedAt) {
		t.Errorf("timeout_express 1c: %v", tr.ExpiresAt)
	}
	// time_expire does not limit a precreate (the worst case: it is not
	// documented to): the scanned trade lives DefaultExpiry.
	pre("E3", func(p *alipay.TradePreCreate) {
		p.TimeExpire = clk.Now().Add(time.Minute).In(shanghai).Format(timeLayout)
	})
	s.Emulator.Scan("E3")
	if tr, _ := s.Emulator.Trade("E3"); !tr.ExpiresAt.Equal(tr.ScannedAt.Add(2 * time.Hour)) {
		t.Errorf("time_expire on a precreate: expires %v", tr.ExpiresAt)
	}

	// Refund without out_request_no must be the full amount.
	pre("R1", nil)
	s.Emulator.Pay("R1")
	r, _ := c.TradeRefund(ctx, alipay.TradeRefund{OutTradeNo: "R1", RefundAmount: "1.00"})
	if r.SubCode != "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL" {
		t.Fatalf("partial refund without out_request_no: %+v", r)
	}
	// trade.close only closes a waiting trade.
	cl, _ := c.TradeClose(ctx, alipay.TradeClose{OutTradeNo: "R1"})
	if cl.SubCode != "ACQ.TRADE_STATUS_ERROR" {
		t.Fatalf("close of a paid trade: %+v", cl)
	}
	pre("C1", nil)
	if cl, _ = c.TradeClose(ctx, alipay.TradeClose{OutTradeNo: "C1"}); cl.SubCode != "ACQ.TRADE_NOT_EXIST" {
		t.Fatalf("close before the scan: %+v", cl)
	}
	pre("C2", nil)
	s.Emulator.Scan("C2")
	if cl, _ = c.TradeClose(ctx, alipay.TradeClose{OutTradeNo: "C2"}); !cl.IsSuccess() {
		t.Fatalf("close of a waiting trade: %+v", cl)
	}
	// Cancel refunds only within 24 hours of the payment.
	clk.Advance(25 * time.Hour)
	cn, _ := c.TradeCancel(ctx, alipay.TradeCancel{OutTradeNo: "R1"})
	if cn.SubCode != "ACQ.TRADE_CANCEL_TIME_OUT" {
		t.Fatalf("late cancel: %+v", cn)
	}
}

// qrPreCreate is a precreate with qr_code_timeout_express, which the SDK's
// type lacks (the adapter sends it the same way).
type qrPreCreate struct {
	alipay.TradePreCreate
	QR string `json:"qr_code_timeout_express,omitempty"`
}

// TestQRCodeExpiry: an unscanned code lives until qr_code_timeout_express
// counted from the precreate, whatever is closed or cancelled before the
// scan; after that a scan is refused and the order stays unknown.
func TestQRCodeExpiry(t *testing.T) {
	s, clk := start(t, nil)
	c := sdk(t, s)
	pre := func(no, qr string) *alipay.TradePreCreateRsp {
		var rsp *alipay.TradePreCreateRsp
		p := qrPreCreate{TradePreCreate: alipay.TradePreCreate{Trade: alipay.Trade{OutTradeNo: no, TotalAmount: "10.00", Subject: "s"}}, QR: qr}
		if err := c.Request(ctx, p, &rsp); err != nil {
			t.Fatal(err)
		}
		return rsp
	}
	for _, bad := range []string{"1c", "1.5m", "0m", "16d"} {
		if r := pre("QB"+strings.NewReplacer(".", "", "c", "C").Replace(bad), bad); r.SubCode != "ACQ.INVALID_PARAMETER" {
			t.Errorf("qr_code_timeout_express %q: %+v", bad, r)
		}
	}
	pre("Q1", "3m")
	tr, _ := s.Emulator.Trade("Q1")
	if !tr.QRExpiresAt.Equal(tr.CreatedAt.Add(3*time.Minute)) || tr.QRTimeoutExpress != "3m" {
		t.Fatalf("QR expiry %v from %v (%q)", tr.QRExpiresAt, tr.CreatedAt, tr.QRTimeoutExpress)
	}
	// A close and a cancel before the scan find no trade and lock nothing.
	if r, _ := c.TradeClose(ctx, alipay.TradeClose{OutTradeNo: "Q1"}); r.SubCode != "ACQ.TRADE_NOT_EXIST" {
		t.Fatalf("close before the scan: %+v", r)
	}
	if r, _ := c.TradeCancel(ctx, alipay.TradeCancel{OutTradeNo: "Q1"}); r.SubCode != "ACQ.TRADE_NOT_EXIST" {
		t.Fatalf("cancel before the scan: %+v", r)
	}
	clk.Advance(3*time.Minute - time.Second)
	if err := s.Emulator.Pay("Q1"); err != nil {
		t.Fatalf("paying a code closed before the scan, inside its life: %v", err)
	}
	pre("Q2", "1m")
	clk.Advance(time.Minute)
	if err := s.Emulator.Scan("Q2"); !errors.Is(err, ErrTradeClosed) {
		t.Fatalf("scan after the QR expiry: %v", err)
	}
	if q, _ := c.TradeQuery(ctx, alipay.TradeQuery{OutTradeNo: "Q2"}); q.SubCode != "ACQ.TRADE_NOT_EXIST" {
		t.Fatalf("query of an expired code: %+v", q)
	}
	// Without qr_code_timeout_express the code lives DefaultExpiry.
	pre("Q3", "")
	if tr, _ := s.Emulator.Trade("Q3"); !tr.QRExpiresAt.Equal(tr.CreatedAt.Add(2 * time.Hour)) {
		t.Fatalf("default QR expiry %v", tr.QRExpiresAt)
	}
}

// failingStore fails every Put while broken.
type failingStore struct {
	mu     sync.Mutex
	broken bool
	kept   map[string][]byte
}

func (f *failingStore) Put(key string, value []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.broken {
		return errors.New("disk full")
	}
	if f.kept == nil {
		f.kept = map[string][]byte{}
	}
	f.kept[key] = append([]byte(nil), value...)
	return nil
}

func (f *failingStore) ForEach(func(string, []byte) error) error { return nil }

func (f *failingStore) setBroken(b bool) {
	f.mu.Lock()
	f.broken = b
	f.mu.Unlock()
}

// TestFailedSaveIsReported: when the emulator cannot save a trade, the
// payer page says the payment did not go through (and it did not), and
// the gateway answers 20000 (outcome unknown), never a plain success.
func TestFailedSaveIsReported(t *testing.T) {
	store := &failingStore{}
	s, _ := start(t, func(c *Config) { c.Store = store })
	c := sdk(t, s)
	rsp, err := c.TradePreCreate(ctx, alipay.TradePreCreate{Trade: alipay.Trade{OutTradeNo: "S1", TotalAmount: "10.00", Subject: "s"}})
	if err != nil || rsp.Code != "10000" {
		t.Fatalf("precreate: %+v %v", rsp, err)
	}
	s.Emulator.Scan("S1")
	store.setBroken(true)
	resp, err := http.PostForm(rsp.QRCode, url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), "Not paid") {
		t.Fatalf("payer page with a broken store: %d %s", resp.StatusCode, body)
	}
	if tr, _ := s.Emulator.Trade("S1"); tr.WasPaid() || tr.Status != StatusWaitBuyerPay {
		t.Fatalf("a payment that was not saved stands: %+v", tr)
	}
	if err := s.Emulator.Pay("S1"); !errors.Is(err, ErrNotSaved) {
		t.Fatalf("Pay with a broken store: %v", err)
	}
	if r, err := c.TradeClose(ctx, alipay.TradeClose{OutTradeNo: "S1"}); err != nil || r.Code != "20000" {
		t.Fatalf("close with a broken store: %+v %v", r, err)
	}
	// The close that could not be saved was undone, as was a precreate.
	if tr, _ := s.Emulator.Trade("S1"); tr.Status != StatusWaitBuyerPay {
		t.Fatalf("after the unsaved close: %s", tr.Status)
	}
	if r, _ := c.TradePreCreate(ctx, alipay.TradePreCreate{Trade: alipay.Trade{OutTradeNo: "S2", TotalAmount: "1.00", Subject: "s"}}); r.Code != "20000" {
		t.Fatalf("precreate with a broken store: %+v", r)
	}
	if _, ok := s.Emulator.Trade("S2"); ok {
		t.Fatal("an unsaved precreate left a trade")
	}
	store.setBroken(false)
	if err := s.Emulator.Pay("S1"); err != nil {
		t.Fatalf("pay once the store works: %v", err)
	}
	if !strings.Contains(string(store.kept["S1"]), StatusSuccess) {
		t.Fatalf("the store does not hold the payment: %s", store.kept["S1"])
	}
}

func TestFaults(t *testing.T) {
	s, _ := start(t, nil)
	c := sdk(t, s)
	s.Emulator.SetFaults(Faults{Method: "alipay.trade.refund", Status5xx: true, Times: 2})
	if _, err := c.TradeQuery(ctx, alipay.TradeQuery{OutTradeNo: "X"}); err != nil {
		t.Fatalf("other methods are untouched: %v", err)
	}
	for range 2 {
		if _, err := c.TradeRefund(ctx, alipay.TradeRefund{OutTradeNo: "X", RefundAmount: "1.00", OutRequestNo: "R"}); err == nil {
			t.Fatal("5xx not applied")
		}
	}
	if r, err := c.TradeRefund(ctx, alipay.TradeRefund{OutTradeNo: "X", RefundAmount: "1.00", OutRequestNo: "R"}); err != nil || r.SubCode != "ACQ.TRADE_NOT_EXIST" {
		t.Fatalf("after Times ran out: %+v %v", r, err)
	}
	s.Emulator.SetFaults(Faults{Method: "alipay.trade.cancel", SystemError: true})
	cn, err := c.TradeCancel(ctx, alipay.TradeCancel{OutTradeNo: "X"})
	if err != nil || cn.SubCode != "ACQ.SYSTEM_ERROR" || cn.RetryFlag != "Y" {
		t.Fatalf("cancel system error: %+v %v", cn, err)
	}
}

func TestConfigRedacted(t *testing.T) {
	keys()
	cfg := Config{AppID: appID, AlipayKey: alipayKey}
	for _, s := range []string{cfg.String(), cfg.GoString()} {
		if strings.Contains(s, alipayKey.D.String()[:12]) || !strings.Contains(s, "redacted") {
			t.Fatalf("%s", s)
		}
	}
}
