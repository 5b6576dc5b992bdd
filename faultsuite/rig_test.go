package faultsuite

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"till/checkout"
	"till/providers/alipay"
	"till/providers/alipay/alipayemu"
	"till/providers/wechat"
	"till/providers/wechat/wechatemu"
)

// Test flags; each has an environment variable twin so that a run of
// go test ./... (where other packages do not know the flags) can set it.
var (
	flagLong = flag.Bool("faults.long", false, "long mode: thousands of operations, several seeds, 100+ kills (or TILL_FAULTS_LONG=1)")
	flagSeed = flag.Int64("faults.seed", 0, "replay one seed (or TILL_FAULTS_SEED)")
	flagOps  = flag.Int("faults.ops", 0, "operations per run (or TILL_FAULTS_OPS)")
)

func longMode() bool { return *flagLong || os.Getenv("TILL_FAULTS_LONG") == "1" }

func envInt(name string) int64 {
	v, _ := strconv.ParseInt(os.Getenv(name), 10, 64)
	return v
}

// seedGiven is the seed to replay, 0 when none was given.
func seedGiven() int64 {
	if *flagSeed != 0 {
		return *flagSeed
	}
	return envInt("TILL_FAULTS_SEED")
}

// The adapters' call timeout, and a fault latency safely beyond it: a
// latency fault is always a timeout, and a run stays fast.
const (
	clientTimeout = 400 * time.Millisecond
	faultLatency  = clientTimeout + 300*time.Millisecond
)

// The sandbox merchant's identity (no real account).
const (
	mchID         = "1900000001"
	wxAppID       = "wx0000faults00000"
	wxSerial      = "5A0DB0C1E5F4A4B3C2D1E0F9A8B7C6D5E4F3A2B1"
	platformKeyID = "PUB_KEY_ID_0119000000012026112300000000000000"
	aliAppID      = "2021000000000042"
)

// keySet is every key both emulators and both adapters need.
type keySet struct {
	WxMerchant, WxPlatform, AliApp, AliAlipay *rsa.PrivateKey
	APIv3                                     string
}

var (
	keysOnce sync.Once
	theKeys  keySet
)

// testKeys makes the keys once per test binary (RSA 2048 is slow under
// -race), in parallel.
func testKeys() keySet {
	keysOnce.Do(func() {
		var wg sync.WaitGroup
		out := make([]*rsa.PrivateKey, 4)
		for i := range out {
			wg.Go(func() {
				k, err := rsa.GenerateKey(rand.Reader, 2048)
				if err != nil {
					panic(err)
				}
				out[i] = k
			})
		}
		wg.Wait()
		raw := make([]byte, 16)
		if _, err := rand.Read(raw); err != nil {
			panic(err)
		}
		theKeys = keySet{WxMerchant: out[0], WxPlatform: out[1], AliApp: out[2], AliAlipay: out[3], APIv3: hex.EncodeToString(raw)}
	})
	return theKeys
}

func keyPEM(k *rsa.PrivateKey) string {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func parseKeyPEM(s string) (*rsa.PrivateKey, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		return nil, errors.New("no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return rk, nil
}

// suiteClock is the machine's time plus an offset that only grows: the
// engine, the Alipay emulator and the Alipay adapter share it, so moving
// it runs a sale's timeout or a code's expiry without sleeping. The WeChat
// emulator keeps the machine's clock: the SDK signs and checks every
// request and answer against it, within five minutes, and since this
// clock never runs behind the machine's, every time_expire till sends is
// still ahead of the emulator's.
type suiteClock struct{ off atomic.Int64 }

func (c *suiteClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *suiteClock) Advance(d time.Duration) { c.off.Add(int64(d)) }
func (c *suiteClock) Offset() time.Duration   { return time.Duration(c.off.Load()) }

// memStore is an emulator's Store in memory: the suite lists every trade
// (and WeChat refund) the emulators ever held through its keys.
type memStore struct {
	mu sync.Mutex
	m  map[string][]byte
	// puts, when set, hears every key written (dropped when full): the
	// crash test's customer learns of a new trade from it.
	puts chan string
}

func newMemStore() *memStore { return &memStore{m: map[string][]byte{}} }

func (s *memStore) Put(key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = append([]byte(nil), value...)
	if s.puts != nil {
		select {
		case s.puts <- key:
		default:
		}
	}
	return nil
}

func (s *memStore) ForEach(fn func(key string, value []byte) error) error {
	s.mu.Lock()
	keys := s.keysLocked()
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		vals[i] = s.m[k]
	}
	s.mu.Unlock()
	for i, k := range keys {
		if err := fn(k, vals[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *memStore) keysLocked() []string {
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Keys lists the stored keys with prefix, prefix removed, sorted.
func (s *memStore) Keys(prefix string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, k := range s.keysLocked() {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			out = append(out, rest)
		}
	}
	return out
}

// emulators are both providers' emulators on loopback ports.
type emulators struct {
	wx       *wechatemu.Server
	ali      *alipayemu.Server
	wxStore  *memStore
	aliStore *memStore
}

// startEmulators starts both emulators. WeChat refunds stay PROCESSING for
// wxRefundDelay (the suite settles them through SetRefundStatus, as the
// bank would); 0 makes them succeed in the answer.
func startEmulators(t testing.TB, k keySet, clk *suiteClock, wxRefundDelay time.Duration) *emulators {
	t.Helper()
	e := &emulators{wxStore: newMemStore(), aliStore: newMemStore()}
	var err error
	e.wx, err = wechatemu.Start("127.0.0.1:0", wechatemu.Config{
		MchID:             mchID,
		AppID:             wxAppID,
		MerchantSerial:    wxSerial,
		MerchantPublicKey: &k.WxMerchant.PublicKey,
		PlatformKey:       k.WxPlatform,
		PlatformKeyID:     platformKeyID,
		APIv3Key:          k.APIv3,
		Clock:             time.Now,
		Store:             e.wxStore,
		RefundDelay:       wxRefundDelay,
		NotifyRetryUnit:   time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.wx.Close() })
	e.ali, err = alipayemu.Start("", alipayemu.Config{
		AppID:           aliAppID,
		AppPublicKey:    &k.AliApp.PublicKey,
		AlipayKey:       k.AliAlipay,
		Clock:           clk.Now,
		Store:           e.aliStore,
		NotifyRetryUnit: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.ali.Close() })
	return e
}

// clearFaults switches every fault off at both emulators.
func (e *emulators) clearFaults() {
	e.wx.Emulator.ClearFaults()
	e.ali.Emulator.SetFaults(alipayemu.Faults{})
}

// newProviders builds the real adapters (wechatpay-go, smartwalle/alipay)
// pointed at the emulators, with short call timeouts.
func newProviders(k keySet, wxURL, aliGateway string, now func() time.Time) ([]checkout.Provider, error) {
	wp, err := wechat.New(wechat.Credentials{
		APIBase:           wxURL,
		MchID:             mchID,
		AppID:             wxAppID,
		MerchantSerial:    wxSerial,
		PrivateKey:        k.WxMerchant,
		APIv3Key:          k.APIv3,
		PlatformKeyID:     platformKeyID,
		PlatformPublicKey: &k.WxPlatform.PublicKey,
		RequestTimeout:    clientTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("wechat adapter: %w", err)
	}
	ap, err := alipay.New(alipay.Credentials{
		AppID:           aliAppID,
		PrivateKey:      k.AliApp,
		AlipayPublicKey: &k.AliAlipay.PublicKey,
		Gateway:         aliGateway,
		Production:      true,
		Timeout:         clientTimeout,
	}, alipay.WithClock(now))
	if err != nil {
		return nil, fmt.Errorf("alipay adapter: %w", err)
	}
	return []checkout.Provider{wp, ap}, nil
}

// engineConfig is the counter every engine of the suite runs: the
// defaults (3 min timeout, 2 min late-check margin) in Shanghai.
func engineConfig() checkout.Config {
	return checkout.Config{Terminal: "T1", Location: alipay.Shanghai}
}
