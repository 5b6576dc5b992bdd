// Package sandbox runs till without a merchant account: the WeChat Pay
// and Alipay emulators on loopback, with the real adapters (and so the
// real SDKs) pointed at them. The emulators' keys and trades are kept in
// sandbox.db beside the ledger, so a sandbox order survives a restart as a
// real one would, and recovery finds it. The addresses the emulators
// listened on are kept there too, so that a client outside the process
// (a desk started from an exported config, an SDK) finds them again on the
// next run.
package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"till/catalog"
	"till/checkout"
	"till/providers/alipay"
	"till/providers/alipay/alipayemu"
	"till/providers/wechat"
	"till/providers/wechat/wechatemu"
	"till/store"
)

// The sandbox merchant's identity. These are not real accounts.
const (
	MchID          = "1900000001"
	WeChatAppID    = "wx0000sandbox0000"
	MerchantSerial = "5A0DB0C1E5F4A4B3C2D1E0F9A8B7C6D5E4F3A2B1"
	PlatformKeyID  = "PUB_KEY_ID_0119000000012026112300000000000000"
	AlipayAppID    = "2021000000000000"
)

var (
	bucketKeys   = []byte("keys")
	bucketAddrs  = []byte("addrs") // the addresses the emulators last listened on
	bucketWeChat = []byte("wechat")
	bucketAlipay = []byte("alipay")
)

// Sandbox is the running emulators and the adapters that talk to them.
type Sandbox struct {
	Providers []checkout.Provider
	WeChat    *wechatemu.Server
	Alipay    *alipayemu.Server

	db      *bolt.DB
	file    *store.File // db, and the owner file its Close removes
	secrets Secrets
}

// Secrets is what a client outside this process needs to talk to the
// emulators as the sandbox merchant: the keys in PEM and the APIv3 key.
// They are the sandbox's own, worth no money, but are still never logged:
// String and LogValue redact them.
type Secrets struct {
	MerchantPrivateKey []byte // WeChat Pay merchant API key, PEM PKCS#8
	APIv3Key           []byte // 32 characters
	PlatformPublicKey  []byte // WeChat Pay platform public key, PEM PKIX
	AppPrivateKey      []byte // Alipay app private key, PEM PKCS#8
	AlipayPublicKey    []byte // Alipay's public key, PEM PKIX
}

// String names the parts, never their bytes.
func (Secrets) String() string { return "sandbox.Secrets{[redacted]}" }

// GoString is String, so %#v redacts too.
func (s Secrets) GoString() string { return s.String() }

// LogValue redacts the secrets in slog records.
func (Secrets) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Option changes how Start sets the sandbox up.
type Option func(*options)

type options struct {
	lang        catalog.Lang
	retryWeChat time.Duration
	retryAlipay time.Duration
	wechatAddr  string // "" is the one kept in sandbox.db, else a free port
	alipayAddr  string
	clock       func() time.Time // nil: the machine's
}

// WithLang is the language of both payer pages for a customer whose
// browser names neither Chinese nor English (and for curl); without it,
// English.
func WithLang(l catalog.Lang) Option { return func(o *options) { o.lang = l } }

// WithNotifyRetryUnit scales the emulators' notification retry schedules
// (WeChat's in seconds, Alipay's in minutes of the real service) to d per
// unit: tests pass a millisecond.
func WithNotifyRetryUnit(d time.Duration) Option {
	return func(o *options) { o.retryWeChat, o.retryAlipay = d, d }
}

// WithWeChatAddr makes the WeChat Pay emulator listen on addr
// (host:port): a port that is taken fails Start. The address is kept in
// sandbox.db for the next run.
func WithWeChatAddr(addr string) Option { return func(o *options) { o.wechatAddr = addr } }

// WithAlipayAddr makes the Alipay emulator listen on addr (host:port), as
// WithWeChatAddr does for WeChat Pay's.
func WithAlipayAddr(addr string) Option { return func(o *options) { o.alipayAddr = addr } }

// WithClock runs both emulators, and the adapters' own times, on now
// instead of the machine's clock: a test steps through a payment code's
// deadline without sleeping. The WeChat Pay emulator holds the adapter's
// signatures (made on the machine's clock) against it, so now must stay
// within a few minutes of the machine's.
func WithClock(now func() time.Time) Option { return func(o *options) { o.clock = now } }

// Start opens (or creates) the sandbox file at path, starts both
// emulators on loopback and builds the adapters. Each emulator listens on
// the address its option gives, else on the one it listened on last time
// (kept in sandbox.db), else on a free port; a kept port that is taken now
// gives way to a free one, with a warning in the log. The address taken is
// kept for the next run.
func Start(path string, log *slog.Logger, opts ...Option) (*Sandbox, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	f, err := store.OpenFile(path, store.DefaultLockTimeout)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	s := &Sandbox{db: f.DB, file: f}
	if err := s.start(log, o); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Sandbox) start(log *slog.Logger, o options) error {
	merchantKey, err := s.rsaKey("wechat_merchant")
	if err != nil {
		return err
	}
	platformKey, err := s.rsaKey("wechat_platform")
	if err != nil {
		return err
	}
	apiv3, err := s.secret("wechat_apiv3", 16) // 32 hex characters
	if err != nil {
		return err
	}
	appKey, err := s.rsaKey("alipay_app")
	if err != nil {
		return err
	}
	alipayKey, err := s.rsaKey("alipay_alipay")
	if err != nil {
		return err
	}

	s.secrets = Secrets{
		MerchantPrivateKey: privatePEM(merchantKey),
		APIv3Key:           []byte(apiv3),
		PlatformPublicKey:  publicPEM(&platformKey.PublicKey),
		AppPrivateKey:      privatePEM(appKey),
		AlipayPublicKey:    publicPEM(&alipayKey.PublicKey),
	}

	wcfg := wechatemu.Config{
		MchID:             MchID,
		AppID:             WeChatAppID,
		MerchantSerial:    MerchantSerial,
		MerchantPublicKey: &merchantKey.PublicKey,
		PlatformKey:       platformKey,
		PlatformKeyID:     PlatformKeyID,
		APIv3Key:          apiv3,
		Store:             bucketStore{s.db, bucketWeChat},
		RefundDelay:       2 * time.Second,
		NotifyRetryUnit:   o.retryWeChat,
		Clock:             o.clock,
		Logger:            log.With("emulator", "wechat"),
		Lang:              o.lang,
	}
	err = s.listen(log, "wechat", "WeChat Pay", o.wechatAddr, func(addr string) (string, error) {
		srv, err := wechatemu.Start(addr, wcfg)
		if err != nil {
			return "", err
		}
		s.WeChat = srv
		return srv.URL, nil
	})
	if err != nil {
		return err
	}
	acfg := alipayemu.Config{
		AppID:           AlipayAppID,
		AppPublicKey:    &appKey.PublicKey,
		AlipayKey:       alipayKey,
		Store:           bucketStore{s.db, bucketAlipay},
		NotifyRetryUnit: o.retryAlipay,
		Clock:           o.clock,
		Logger:          log.With("emulator", "alipay"),
		Lang:            o.lang,
	}
	err = s.listen(log, "alipay", "Alipay", o.alipayAddr, func(addr string) (string, error) {
		srv, err := alipayemu.Start(addr, acfg)
		if err != nil {
			return "", err
		}
		s.Alipay = srv
		return srv.URL, nil
	})
	if err != nil {
		return err
	}

	wp, err := wechat.New(wechat.Credentials{
		APIBase:           s.WeChat.URL,
		MchID:             MchID,
		AppID:             WeChatAppID,
		MerchantSerial:    MerchantSerial,
		PrivateKey:        merchantKey,
		APIv3Key:          apiv3,
		PlatformKeyID:     PlatformKeyID,
		PlatformPublicKey: &platformKey.PublicKey,
	}, wechat.WithLogger(log.With("pkg", "wechat")), wechat.WithClock(o.clock))
	if err != nil {
		return fmt.Errorf("sandbox: WeChat Pay adapter: %w", err)
	}
	ap, err := alipay.New(alipay.Credentials{
		AppID:           AlipayAppID,
		PrivateKey:      appKey,
		AlipayPublicKey: &alipayKey.PublicKey,
		Gateway:         s.Alipay.Gateway,
		Production:      true,
	}, alipay.WithLogger(log.With("pkg", "alipay")), alipay.WithClock(o.clock))
	if err != nil {
		return fmt.Errorf("sandbox: Alipay adapter: %w", err)
	}
	s.Providers = []checkout.Provider{wp, ap}
	log.Info("sandbox started", "wechat", s.WeChat.URL, "alipay", s.Alipay.Gateway)
	return nil
}

// listen starts one emulator (start, given an address, returns its
// http://host:port URL): on asked if set, else on the address kept from
// the last run, else on a free loopback port; a kept address that cannot
// be taken now gives way to a free port, and says so. The address taken
// is kept for the next run.
func (s *Sandbox) listen(log *slog.Logger, name, title, asked string, start func(addr string) (string, error)) error {
	key := name + "_addr"
	addr := asked
	if addr == "" {
		kept, err := s.recall(key)
		if err != nil {
			return err
		}
		addr = kept
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	url, err := start(addr)
	if err != nil && asked == "" && addr != "127.0.0.1:0" {
		log.Warn("sandbox: the "+title+" emulator's address from the last run is taken; listening on a free port instead (configs exported before point at the old one: export again)",
			"emulator", name, "was", addr, "err", err)
		url, err = start("127.0.0.1:0")
	}
	if err != nil {
		return fmt.Errorf("sandbox: %s emulator on %s: %w", title, addr, err)
	}
	if err := s.remember(key, strings.TrimPrefix(url, "http://")); err != nil {
		return err
	}
	return nil
}

// recall is the address kept under name, "" if none.
func (s *Sandbox) recall(name string) (string, error) {
	var addr string
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketAddrs); b != nil {
			addr = string(b.Get([]byte(name)))
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("sandbox: %s: %w", name, err)
	}
	return addr, nil
}

// remember keeps addr under name.
func (s *Sandbox) remember(name, addr string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketAddrs)
		if err != nil {
			return err
		}
		return b.Put([]byte(name), []byte(addr))
	})
	if err != nil {
		return fmt.Errorf("sandbox: keeping %s: %w", name, err)
	}
	return nil
}

// DeskAddr is the loopback address a desk started from an exported
// config listens on for the emulators' notifications: a port free when
// first asked, then kept in sandbox.db, so that every export names the
// same one. (A desk that finds it taken says so, naming it.)
func (s *Sandbox) DeskAddr() (string, error) {
	const key = "desk_addr"
	addr, err := s.recall(key)
	if err != nil || addr != "" {
		return addr, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("sandbox: a free port for the desk: %w", err)
	}
	addr = ln.Addr().String()
	ln.Close()
	return addr, s.remember(key, addr)
}

// Secrets returns the sandbox merchant's keys, for a config that points a
// client outside this process at the emulators.
func (s *Sandbox) Secrets() Secrets { return s.secrets }

func privatePEM(k *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil { // an RSA key always marshals
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func publicPEM(k *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// WeChatURL is the WeChat Pay emulator's api_base.
func (s *Sandbox) WeChatURL() string { return s.WeChat.URL }

// AlipayGateway is the Alipay emulator's gateway URL.
func (s *Sandbox) AlipayGateway() string { return s.Alipay.Gateway }

// Close stops the emulators and closes sandbox.db.
func (s *Sandbox) Close() error {
	if s.WeChat != nil {
		s.WeChat.Close()
	}
	if s.Alipay != nil {
		s.Alipay.Close()
	}
	return s.file.Close()
}

// rsaKey returns the named key, made and stored on first use.
func (s *Sandbox) rsaKey(name string) (*rsa.PrivateKey, error) {
	der, err := s.keep(name, func() ([]byte, error) {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		return x509.MarshalPKCS8PrivateKey(k)
	})
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("sandbox key %s: %w", name, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("sandbox key %s is not RSA", name)
	}
	return rk, nil
}

// secret returns the named random secret as hex, made on first use.
func (s *Sandbox) secret(name string, n int) (string, error) {
	b, err := s.keep(name, func() ([]byte, error) {
		raw := make([]byte, n)
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		return []byte(hex.EncodeToString(raw)), nil
	})
	return string(b), err
}

func (s *Sandbox) keep(name string, make func() ([]byte, error)) ([]byte, error) {
	var out []byte
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketKeys)
		if err != nil {
			return err
		}
		if v := b.Get([]byte(name)); v != nil {
			out = append([]byte(nil), v...)
			return nil
		}
		v, err := make()
		if err != nil {
			return err
		}
		out = v
		return b.Put([]byte(name), v)
	})
	if err != nil {
		return nil, fmt.Errorf("sandbox key %s: %w", name, err)
	}
	return out, nil
}

// bucketStore keeps one emulator's records in a bucket of sandbox.db.
type bucketStore struct {
	db     *bolt.DB
	bucket []byte
}

func (b bucketStore) Put(key string, value []byte) error {
	return b.db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists(b.bucket)
		if err != nil {
			return err
		}
		return bk.Put([]byte(key), value)
	})
}

func (b bucketStore) ForEach(fn func(key string, value []byte) error) error {
	return b.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket(b.bucket)
		if bk == nil {
			return nil
		}
		return bk.ForEach(func(k, v []byte) error { return fn(string(k), v) })
	})
}
