package wechat_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"till/checkout"
	"till/providers/wechat"
	"till/providers/wechat/wechatemu"
)

const (
	mchID    = "1900000001"
	appID    = "wx8888888888888888"
	serial   = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
	keyID    = "PUB_KEY_ID_0119000000012024112300000000"
	apiV3Key = "0123456789abcdefABCDEF0123456789"
)

// keys are generated once per test binary: RSA 2048 is slow under -race.
var keys struct {
	once                      sync.Once
	merchant, platform, other *rsa.PrivateKey
}

func testKeys(t testing.TB) (merchant, platform, other *rsa.PrivateKey) {
	t.Helper()
	keys.once.Do(func() {
		var wg sync.WaitGroup
		out := make([]*rsa.PrivateKey, 3)
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
		keys.merchant, keys.platform, keys.other = out[0], out[1], out[2]
	})
	return keys.merchant, keys.platform, keys.other
}

// clock is real time plus an offset the test moves, so signatures (which
// the SDK checks against the machine's clock) stay valid while the
// emulator's business time moves.
type clock struct{ off atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) Advance(d time.Duration) { c.off.Add(int64(d)) }

type env struct {
	t     *testing.T
	emu   *wechatemu.Emulator
	srv   *httptest.Server
	clock *clock
	p     *wechat.Provider
}

// newEnv starts an emulator on httptest and an adapter pointed at it.
func newEnv(t *testing.T, mod ...func(*wechatemu.Config)) *env {
	t.Helper()
	merchant, platform, _ := testKeys(t)
	c := &clock{}
	cfg := wechatemu.Config{
		MchID:             mchID,
		AppID:             appID,
		MerchantSerial:    serial,
		MerchantPublicKey: &merchant.PublicKey,
		PlatformKey:       platform,
		PlatformKeyID:     keyID,
		APIv3Key:          apiV3Key,
		Clock:             c.Now,
		NotifyRetryUnit:   time.Millisecond,
	}
	for _, m := range mod {
		m(&cfg)
	}
	emu, err := wechatemu.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(func() {
		srv.Close()
		emu.Close()
	})
	e := &env{t: t, emu: emu, srv: srv, clock: c}
	e.p = e.provider()
	return e
}

func (e *env) creds() wechat.Credentials {
	merchant, platform, _ := testKeys(e.t)
	return wechat.Credentials{
		MchID:             mchID,
		AppID:             appID,
		MerchantSerial:    serial,
		PrivateKey:        merchant,
		APIv3Key:          apiV3Key,
		PlatformKeyID:     keyID,
		PlatformPublicKey: &platform.PublicKey,
		APIBase:           e.srv.URL,
	}
}

// provider builds another adapter against the same emulator.
func (e *env) provider(mod ...func(*wechat.Credentials)) *wechat.Provider {
	e.t.Helper()
	c := e.creds()
	for _, m := range mod {
		m(&c)
	}
	p, err := wechat.New(c)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

var orderSeq atomic.Int64

// orderNo mints a fresh out_trade_no.
func orderNo() string {
	return "T" + time.Now().UTC().Format("20060102150405") + big.NewInt(1000+orderSeq.Add(1)).String()
}

// expiries keeps each order's deadline so that a repeated createReq is
// the same request (WeChat refuses changed parameters).
var expiries sync.Map

func createReq(no string) checkout.CreateRequest {
	exp, _ := expiries.LoadOrStore(no, time.Now().Add(3*time.Minute))
	return checkout.CreateRequest{
		OrderNo:     no,
		Amount:      1234,
		Description: "till - coffee",
		ExpiresAt:   exp.(time.Time),
		Terminal:    "T1",
	}
}

// mustCreate creates an order and fails the test on error.
func (e *env) mustCreate(no string) string {
	e.t.Helper()
	res, err := e.p.Create(e.t.Context(), createReq(no))
	if err != nil {
		e.t.Fatalf("create %s: %v", no, err)
	}
	return res.CodeURL
}

func (e *env) mustPay(no string) {
	e.t.Helper()
	if err := e.emu.Pay(no); err != nil {
		e.t.Fatalf("pay %s: %v", no, err)
	}
}

// wantKind checks a provider error's kind (and code when given).
func wantKind(t *testing.T, err error, kind checkout.ErrorKind, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %v error, got nil", kind)
	}
	if got := checkout.KindOf(err); got != kind {
		t.Fatalf("want kind %v, got %v (%v)", kind, got, err)
	}
	if kind == checkout.KindUnknown && !checkout.IsUnknown(err) {
		t.Fatalf("want an unknown outcome, got %v", err)
	}
	var pe *checkout.ProviderError
	if code != "" && (!errors.As(err, &pe) || pe.Code != code) {
		t.Fatalf("want code %s, got %v", code, err)
	}
}

// selfSignedCert makes a platform certificate over key, as WeChat's
// certificate mode uses.
func selfSignedCert(t testing.TB, key *rsa.PrivateKey, notAfter time.Time) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0).SetBytes([]byte{0x3A, 0x1F, 0x77, 0x10, 0x42, 0x05, 0x99, 0xC1}),
		Subject:      pkix.Name{CommonName: "Tenpay.com Root CA (emulator)"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// webhook is a test notify_url that hands every request to fn.
func webhook(t *testing.T, fn http.HandlerFunc) *httptest.Server {
	srv := httptest.NewServer(fn)
	t.Cleanup(srv.Close)
	return srv
}
