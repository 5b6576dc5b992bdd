package wechat_test

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"till/checkout"
	"till/providers/wechat"
	"till/providers/wechat/wechatemu"
)

// notification is a WeChat notification built by hand from the documented
// format (protocols.md A9), independently of the emulator.
type notification struct {
	eventType, originalType, plaintext string
	apiV3Key                           string
	signer                             *rsa.PrivateKey
	serial                             string
	at                                 time.Time
	nonce                              string // resource nonce; 12 bytes
	claimedNonce                       string // nonce written in the envelope, if not nonce
	omitResource                       bool
}

func paymentPlaintext(no string) string {
	return `{"mchid":"` + mchID + `","appid":"` + appID + `","out_trade_no":"` + no + `",` +
		`"transaction_id":"4200000985202611236627185417","trade_type":"NATIVE","trade_state":"SUCCESS",` +
		`"trade_state_desc":"支付成功","bank_type":"OTHERS","attach":"terminal=T7",` +
		`"success_time":"2026-11-23T10:01:35+08:00","payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},` +
		`"amount":{"total":1234,"payer_total":1234,"currency":"CNY","payer_currency":"CNY"}}`
}

func newNotification(t *testing.T, plaintext string) notification {
	_, platform, _ := testKeys(t)
	return notification{
		eventType: "TRANSACTION.SUCCESS", originalType: "transaction", plaintext: plaintext,
		apiV3Key: apiV3Key, signer: platform, serial: keyID, at: time.Now(), nonce: "fGmuSvK6Dp2h",
	}
}

// body seals the resource with AES-256-GCM and builds the envelope.
func (n notification) body(t *testing.T) []byte {
	t.Helper()
	block, err := aes.NewCipher([]byte(n.apiV3Key))
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	sealed := gcm.Seal(nil, []byte(n.nonce), []byte(n.plaintext), []byte(n.originalType))
	env := map[string]any{
		"id":            "EV-2018022511223320873",
		"create_time":   "2015-05-20T13:29:35+08:00",
		"resource_type": "encrypt-resource",
		"event_type":    n.eventType,
		"summary":       "支付成功",
	}
	if n.claimedNonce == "" {
		n.claimedNonce = n.nonce
	}
	if !n.omitResource {
		env["resource"] = map[string]string{
			"original_type":   n.originalType,
			"algorithm":       "AEAD_AES_256_GCM",
			"ciphertext":      base64.StdEncoding.EncodeToString(sealed),
			"associated_data": n.originalType,
			"nonce":           n.claimedNonce,
		}
	}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// request signs body as the platform: SHA256withRSA over
// "ts\nnonce\nbody\n".
func (n notification) request(t *testing.T, body []byte) *http.Request {
	t.Helper()
	ts := strconv.FormatInt(n.at.Unix(), 10)
	nonce := "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"
	sum := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, n.signer, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/notify/wechat", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Wechatpay-Serial", n.serial)
	r.Header.Set("Wechatpay-Timestamp", ts)
	r.Header.Set("Wechatpay-Nonce", nonce)
	r.Header.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	r.Header.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
	return r
}

func (n notification) build(t *testing.T) *http.Request { return n.request(t, n.body(t)) }

func notifier(t *testing.T, opts ...wechat.Option) *wechat.Notifier {
	merchant, platform, _ := testKeys(t)
	n, err := wechat.NewNotifier(wechat.Credentials{
		MchID: mchID, AppID: appID, MerchantSerial: serial, PrivateKey: merchant, APIv3Key: apiV3Key,
		PlatformKeyID: keyID, PlatformPublicKey: &platform.PublicKey,
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestHandBuiltPaymentNotificationAccepted(t *testing.T) {
	r := newNotification(t, paymentPlaintext("T2026112300001")).build(t)
	ev, err := notifier(t).Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	pe, ok := ev.(*wechat.PaymentEvent)
	if !ok {
		t.Fatalf("got %T", ev)
	}
	want := wechat.PaymentEvent{
		ID: "EV-2018022511223320873", EventType: "TRANSACTION.SUCCESS",
		OrderNo: "T2026112300001", TransactionID: "4200000985202611236627185417",
		TradeState: "SUCCESS", State: checkout.TradePaid, Amount: 1234, Currency: "CNY",
		AppID: appID, MchID: mchID, Attach: "terminal=T7", Terminal: "T7",
	}
	paidAt := pe.PaidAt
	pe.PaidAt = time.Time{}
	if *pe != want {
		t.Fatalf("event\n got %+v\nwant %+v", *pe, want)
	}
	if !paidAt.Equal(time.Date(2026, 11, 23, 2, 1, 35, 0, time.UTC)) {
		t.Fatalf("PaidAt %v", paidAt)
	}
	// The body is still readable for the webhook's own log.
	if b, _ := io.ReadAll(r.Body); len(b) == 0 {
		t.Fatal("body consumed")
	}
}

func TestHandBuiltRefundNotificationAccepted(t *testing.T) {
	n := newNotification(t, `{"mchid":"`+mchID+`","out_trade_no":"T2026112300001","transaction_id":"4200000985202611236627185417",`+
		`"out_refund_no":"T2026112300001R1","refund_id":"50000000382019052709732678859","refund_status":"SUCCESS",`+
		`"success_time":"2026-11-23T13:29:35+08:00","user_received_account":"支付用户零钱",`+
		`"amount":{"total":1234,"refund":300,"payer_total":1234,"payer_refund":300}}`)
	n.eventType, n.originalType = "REFUND.SUCCESS", "refund"
	ev, err := notifier(t).Parse(n.build(t))
	if err != nil {
		t.Fatal(err)
	}
	re, ok := ev.(*wechat.RefundEvent)
	if !ok {
		t.Fatalf("got %T", ev)
	}
	if re.OrderNo != "T2026112300001" || re.RefundNo != "T2026112300001R1" || re.RefundID != "50000000382019052709732678859" ||
		re.Status != "SUCCESS" || re.State != checkout.RefundSucceeded || re.Refund != 300 || re.Total != 1234 ||
		re.MchID != mchID || re.SucceededAt.IsZero() {
		t.Fatalf("event %+v", *re)
	}
}

func TestNotificationRefusals(t *testing.T) {
	_, _, other := testKeys(t)
	plain := paymentPlaintext("T2026112300002")
	cases := map[string]func(t *testing.T) *http.Request{
		"tampered body": func(t *testing.T) *http.Request {
			n := newNotification(t, plain)
			body := n.body(t)
			r := n.request(t, body)
			tampered := bytes.Replace(body, []byte("EV-2018"), []byte("EV-2019"), 1)
			r.Body = io.NopCloser(bytes.NewReader(tampered))
			return r
		},
		"wrong APIv3 key": func(t *testing.T) *http.Request {
			n := newNotification(t, plain)
			n.apiV3Key = "ZYXWVUTSRQPONMLKJIHGFEDCBA987654"
			return n.build(t)
		},
		"wrong platform key": func(t *testing.T) *http.Request {
			n := newNotification(t, plain)
			n.signer = other
			return n.build(t)
		},
		"wrong platform key id": func(t *testing.T) *http.Request {
			n := newNotification(t, plain)
			n.serial = "PUB_KEY_ID_0000"
			return n.build(t)
		},
		"10 minutes old": func(t *testing.T) *http.Request {
			n := newNotification(t, plain)
			n.at = time.Now().Add(-10 * time.Minute)
			return n.build(t)
		},
		"10 minutes ahead": func(t *testing.T) *http.Request {
			n := newNotification(t, plain)
			n.at = time.Now().Add(10 * time.Minute)
			return n.build(t)
		},
		"no signature": func(t *testing.T) *http.Request {
			r := newNotification(t, plain).build(t)
			r.Header.Del("Wechatpay-Signature")
			return r
		},
		"no resource (the SDK would panic)": func(t *testing.T) *http.Request {
			n := newNotification(t, plain)
			n.omitResource = true
			return n.build(t)
		},
		"short nonce (the SDK would panic)": func(t *testing.T) *http.Request {
			n := newNotification(t, plain)
			n.claimedNonce = "short"
			return n.build(t)
		},
	}
	nf := notifier(t)
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			ev, err := nf.Parse(mk(t))
			if !errors.Is(err, wechat.ErrNotification) || ev != nil {
				t.Fatalf("want ErrNotification, got %v, %v", ev, err)
			}
		})
	}
}

// The skew check uses the injected clock: a fresh notification is refused
// by a clock ten minutes ahead, and accepted by one a minute ahead.
func TestNotificationSkewUsesTheClock(t *testing.T) {
	r := newNotification(t, paymentPlaintext("T2026112300003")).build(t)
	ahead := func(d time.Duration) func() time.Time { return func() time.Time { return time.Now().Add(d) } }
	if _, err := notifier(t, wechat.WithClock(ahead(10*time.Minute))).Parse(r); !errors.Is(err, wechat.ErrNotification) ||
		!strings.Contains(err.Error(), "timestamp") {
		t.Fatalf("want a timestamp refusal, got %v", err)
	}
	r = newNotification(t, paymentPlaintext("T2026112300003")).build(t)
	if _, err := notifier(t, wechat.WithClock(ahead(time.Minute))).Parse(r); err != nil {
		t.Fatal(err)
	}
}

func TestUnsupportedNotification(t *testing.T) {
	n := newNotification(t, `{"out_order_no":"X"}`)
	n.eventType, n.originalType = "PAYSCORE.USER_CONFIRM", "payscore"
	_, err := notifier(t).Parse(n.build(t))
	if !errors.Is(err, wechat.ErrUnsupportedEvent) || errors.Is(err, wechat.ErrNotification) {
		t.Fatalf("got %v", err)
	}
}

func TestNotificationCertificateMode(t *testing.T) {
	merchant, platform, _ := testKeys(t)
	cert := selfSignedCert(t, platform, time.Now().Add(time.Hour))
	nf, err := wechat.NewNotifier(wechat.Credentials{
		MchID: mchID, AppID: appID, MerchantSerial: serial, PrivateKey: merchant, APIv3Key: apiV3Key, PlatformCert: cert,
	})
	if err != nil {
		t.Fatal(err)
	}
	n := newNotification(t, paymentPlaintext("T2026112300004"))
	n.serial = strings.ToUpper(cert.SerialNumber.Text(16))
	if len(n.serial)%2 == 1 {
		n.serial = "0" + n.serial
	}
	if _, err := nf.Parse(n.build(t)); err != nil {
		t.Fatal(err)
	}
}

// End to end: the emulator notifies after pay and refund, retrying until
// the webhook answers 200; the adapter parses what it sends.
func TestEmulatorNotificationsReachTheWebhook(t *testing.T) {
	var (
		mu     sync.Mutex
		events []wechat.Event
		calls  int
	)
	got := make(chan struct{}, 10)
	var p *wechat.Provider
	hook := webhook(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		if first { // the first delivery fails: WeChat must retry
			http.Error(w, `{"code":"FAIL","message":"失败"}`, http.StatusInternalServerError)
			return
		}
		ev, err := p.ParseNotification(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		got <- struct{}{}
	})
	e := newEnv(t)
	p = e.provider(func(c *wechat.Credentials) { c.NotifyURL = hook.URL + "/notify/wechat" })
	no := orderNo()
	req := createReq(no)
	req.NotifyURL = hook.URL + "/notify/wechat"
	if _, err := p.Create(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	e.mustPay(no)
	wait(t, got)
	if _, err := p.Refund(t.Context(), checkout.RefundRequest{OrderNo: no, RefundNo: no + "R1", Amount: 234, Total: 1234}); err != nil {
		t.Fatal(err)
	}
	wait(t, got)

	mu.Lock()
	defer mu.Unlock()
	st, _ := p.Query(t.Context(), no)
	pe, ok := events[0].(*wechat.PaymentEvent)
	if !ok || pe.OrderNo != no || pe.Amount != 1234 || pe.TransactionID != st.ProviderTradeNo || pe.Terminal != "T1" ||
		pe.State != checkout.TradePaid || pe.AppID != appID || pe.MchID != mchID || pe.PaidAt.IsZero() {
		t.Fatalf("payment event %+v", events[0])
	}
	re, ok := events[1].(*wechat.RefundEvent)
	if !ok || re.OrderNo != no || re.RefundNo != no+"R1" || re.Refund != 234 || re.Total != 1234 || re.State != checkout.RefundSucceeded {
		t.Fatalf("refund event %+v", events[1])
	}
	var ds []wechatemu.Delivery
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if ds = e.emu.Deliveries(); len(ds) >= 3 {
			break
		}
	}
	// A delivery is listed when it ends: the payment's retry may end
	// after the refund's first try, so they are told apart by type and
	// attempt, not by place.
	find := func(kind string, attempt int) (wechatemu.Delivery, bool) {
		for _, d := range ds {
			if d.EventType == kind && d.Attempt == attempt {
				return d, true
			}
		}
		return wechatemu.Delivery{}, false
	}
	first, ok1 := find("TRANSACTION.SUCCESS", 1)
	retry, ok2 := find("TRANSACTION.SUCCESS", 2)
	refund, ok3 := find("REFUND.SUCCESS", 1)
	if len(ds) != 3 || !ok1 || !ok2 || !ok3 || first.Status != 500 || !retry.Delivered() || first.ID != retry.ID || !refund.Delivered() {
		t.Fatalf("deliveries %+v", ds)
	}
}

func wait(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no notification within 5 s")
	}
}
