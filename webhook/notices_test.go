package webhook_test

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"till/checkout"
	"till/providers/alipay"
	"till/providers/wechat"
)

// Signed notifications built as the emulators build them
// (wechatemu/notify.go and auth.go, alipayemu/notify.go and encode.go),
// without an emulator: the flood and the benchmarks need thousands of
// them for orders written straight into the ledger.

const (
	tMchID       = "1900000001"
	tWeChatAppID = "wx0000sandbox0000"
	tSerial      = "MERCHANTSERIAL0001"
	tPlatformID  = "PUB_KEY_ID_0119000000012026112300000000000000"
	tAlipayAppID = "2021000000000000"
)

// keys are the four RSA keys and the APIv3 key of a shop and its two
// providers.
type keys struct {
	Merchant, Platform, App, Alipay *rsa.PrivateKey
	APIv3                           string
}

func newKeys(t testing.TB) *keys {
	t.Helper()
	k := &keys{}
	for _, p := range []**rsa.PrivateKey{&k.Merchant, &k.Platform, &k.App, &k.Alipay} {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		*p = key
	}
	b := make([]byte, 16)
	rand.Read(b)
	k.APIv3 = hex.EncodeToString(b)
	return k
}

// save writes the keys to dir/keys.json, for a child process.
func (k *keys) save(dir string) error {
	v := map[string]string{"apiv3": k.APIv3}
	for name, key := range map[string]*rsa.PrivateKey{"merchant": k.Merchant, "platform": k.Platform, "app": k.App, "alipay": k.Alipay} {
		v[name] = base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PrivateKey(key))
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "keys.json"), b, 0o600)
}

func loadKeys(dir string) (*keys, error) {
	b, err := os.ReadFile(filepath.Join(dir, "keys.json"))
	if err != nil {
		return nil, err
	}
	var v map[string]string
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	k := &keys{APIv3: v["apiv3"]}
	for name, p := range map[string]**rsa.PrivateKey{"merchant": &k.Merchant, "platform": &k.Platform, "app": &k.App, "alipay": &k.Alipay} {
		der, err := base64.StdEncoding.DecodeString(v[name])
		if err != nil {
			return nil, err
		}
		if *p, err = x509.ParsePKCS1PrivateKey(der); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// providers builds the real adapters on the keys; their APIs point at a
// port nobody listens on (the webhook never calls them).
func (k *keys) providers() (*wechat.Provider, *alipay.Provider, error) {
	wx, err := wechat.New(wechat.Credentials{
		APIBase: "http://127.0.0.1:9", MchID: tMchID, AppID: tWeChatAppID, MerchantSerial: tSerial,
		PrivateKey: k.Merchant, APIv3Key: k.APIv3, PlatformKeyID: tPlatformID, PlatformPublicKey: &k.Platform.PublicKey,
	})
	if err != nil {
		return nil, nil, err
	}
	ali, err := alipay.New(alipay.Credentials{
		AppID: tAlipayAppID, PrivateKey: k.App, AlipayPublicKey: &k.Alipay.PublicKey,
		Gateway: "http://127.0.0.1:9/gateway.do", Production: true,
	})
	if err != nil {
		return nil, nil, err
	}
	return wx, ali, nil
}

// notice is one signed notification, ready to post.
type notice struct {
	key    string // the order of a payment notification, for the flood
	Path   string
	Header http.Header
	Body   []byte
}

func (n notice) request(base string) *http.Request {
	r, err := http.NewRequest(http.MethodPost, base+n.Path, bytes.NewReader(n.Body))
	if err != nil {
		panic(err)
	}
	for k, vs := range n.Header {
		r.Header[k] = vs
	}
	return r
}

func randDigits(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}

func randAlnum(n int) string {
	const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

// wechat seals plain (of originalType "transaction" or "refund") into the
// v3 envelope under the APIv3 key and signs "ts\nnonce\nbody\n" with the
// platform key, freshly for each call, as each retry is.
func (k *keys) wechat(eventType, summary, originalType string, plain []byte) notice {
	block, err := aes.NewCipher([]byte(k.APIv3))
	if err != nil {
		panic(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	nonce := randAlnum(12)
	now := time.Now()
	env := map[string]any{
		"id": "EV-" + randDigits(20), "create_time": now.Format(time.RFC3339), "resource_type": "encrypt-resource",
		"event_type": eventType, "summary": summary,
		"resource": map[string]string{
			"original_type": originalType, "algorithm": "AEAD_AES_256_GCM",
			"ciphertext":      base64.StdEncoding.EncodeToString(gcm.Seal(nil, []byte(nonce), plain, []byte(originalType))),
			"associated_data": originalType, "nonce": nonce,
		},
	}
	body, err := json.Marshal(env)
	if err != nil {
		panic(err)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	hnonce := randAlnum(32)
	sum := sha256.Sum256([]byte(ts + "\n" + hnonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.Platform, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	h.Set("Wechatpay-Serial", tPlatformID)
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", hnonce)
	h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	h.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
	h.Set("Content-Type", "application/json")
	return notice{Path: "/notify/wechat", Header: h, Body: body}
}

// wechatPaid is TRANSACTION.SUCCESS for order no of amount fen.
func (k *keys) wechatPaid(no string, amount checkout.Money, txID string) notice {
	total := int64(amount)
	plain, _ := json.Marshal(map[string]any{
		"appid": tWeChatAppID, "mchid": tMchID, "out_trade_no": no, "transaction_id": txID,
		"trade_type": "NATIVE", "trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
		"attach": "terminal=T1", "success_time": time.Now().Format(time.RFC3339),
		"payer":  map[string]string{"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
		"amount": map[string]any{"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"},
	})
	return k.wechat("TRANSACTION.SUCCESS", "支付成功", "transaction", plain)
}

// wechatRefunded is REFUND.SUCCESS for refund refundNo of order no.
func (k *keys) wechatRefunded(no, txID, refundNo string, total, refund checkout.Money) notice {
	plain, _ := json.Marshal(map[string]any{
		"mchid": tMchID, "out_trade_no": no, "transaction_id": txID, "out_refund_no": refundNo,
		"refund_id": "50" + randDigits(26), "refund_status": "SUCCESS", "success_time": time.Now().Format(time.RFC3339),
		"user_received_account": "支付用户零钱",
		"amount":                map[string]int64{"total": int64(total), "refund": int64(refund), "payer_total": int64(total), "payer_refund": int64(refund)},
	})
	return k.wechat("REFUND.SUCCESS", "退款成功", "refund", plain)
}

func yuan(m checkout.Money) string { return fmt.Sprintf("%d.%02d", m/100, m%100) }

var shanghai = time.FixedZone("CST", 8*3600)

func beijing(t time.Time) string { return t.In(shanghai).Format(time.DateTime) }

// alipay signs a trade_status_sync form with Alipay's key: every
// non-empty field but sign and sign_type, sorted, as k=v joined by &.
func (k *keys) alipay(v url.Values) notice {
	v.Set("notify_time", beijing(time.Now()))
	keys := make([]string, 0, len(v))
	for key := range v {
		if key != "sign" && key != "sign_type" && v.Get(key) != "" {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, key := range keys {
		pairs[i] = key + "=" + v.Get(key)
	}
	sum := sha256.Sum256([]byte(strings.Join(pairs, "&")))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.Alipay, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	v.Set("sign", base64.StdEncoding.EncodeToString(sig))
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return notice{Path: "/notify/alipay", Header: h, Body: []byte(v.Encode())}
}

func alipayForm(no, tradeNo string, amount checkout.Money) url.Values {
	paid := yuan(amount)
	v := url.Values{}
	for key, s := range map[string]string{
		"notify_type": "trade_status_sync", "notify_id": hex.EncodeToString([]byte(randAlnum(16))),
		"app_id": tAlipayAppID, "auth_app_id": tAlipayAppID, "charset": "utf-8", "version": "1.0", "sign_type": "RSA2",
		"trade_no": tradeNo, "out_trade_no": no, "buyer_id": "2088102177846880", "buyer_logon_id": "sandbox***@example.com",
		"seller_id": "2088102177846878", "trade_status": "TRADE_SUCCESS", "total_amount": paid,
		"receipt_amount": paid, "invoice_amount": paid, "buyer_pay_amount": paid, "point_amount": "0.00",
		"fund_bill_list": `[{"amount":"` + paid + `","fundChannel":"ALIPAYACCOUNT"}]`, "subject": "till " + no,
		"gmt_create": beijing(time.Now().Add(-time.Minute)), "gmt_payment": beijing(time.Now()),
	} {
		v.Set(key, s)
	}
	return v
}

// alipayPaid is the TRADE_SUCCESS notification of a payment.
func (k *keys) alipayPaid(no string, amount checkout.Money, tradeNo string) notice {
	return k.alipay(alipayForm(no, tradeNo, amount))
}

// alipayRefunded is the notification of a partial refund: the trade
// re-notified with refund_fee (the running total), gmt_refund and
// out_biz_no.
func (k *keys) alipayRefunded(no, tradeNo, refundNo string, total, refunded checkout.Money) notice {
	v := alipayForm(no, tradeNo, total)
	v.Set("refund_fee", yuan(refunded))
	v.Set("gmt_refund", time.Now().In(shanghai).Format("2006-01-02 15:04:05.000"))
	v.Set("out_biz_no", refundNo)
	return k.alipay(v)
}
