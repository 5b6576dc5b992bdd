package wechat_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"till/providers/wechat"
)

type files struct {
	dir                                     string
	key, keyPKCS1, pub, cert, apiv3, mchPub string
}

func writeFile(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func pemBytes(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func keyFiles(t *testing.T) files {
	merchant, platform, _ := testKeys(t)
	dir := t.TempDir()
	pkcs8, err := x509.MarshalPKCS8PrivateKey(merchant)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&platform.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	mchPub, _ := x509.MarshalPKIXPublicKey(&merchant.PublicKey)
	cert := selfSignedCert(t, platform, time.Now().Add(24*time.Hour))
	return files{
		dir:      dir,
		key:      writeFile(t, filepath.Join(dir, "apiclient_key.pem"), pemBytes("PRIVATE KEY", pkcs8)),
		keyPKCS1: writeFile(t, filepath.Join(dir, "rsa_key.pem"), pemBytes("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(merchant))),
		pub:      writeFile(t, filepath.Join(dir, "pub_key.pem"), pemBytes("PUBLIC KEY", pub)),
		mchPub:   writeFile(t, filepath.Join(dir, "merchant_pub.pem"), pemBytes("PUBLIC KEY", mchPub)),
		cert:     writeFile(t, filepath.Join(dir, "wechatpay_cert.pem"), pemBytes("CERTIFICATE", cert.Raw)),
		apiv3:    writeFile(t, filepath.Join(dir, "apiv3.key"), []byte(apiV3Key+"\n")),
	}
}

func goodConfig(f files) wechat.Config {
	return wechat.Config{
		MchID:                 mchID,
		AppID:                 appID,
		MerchantSerial:        strings.ToLower(serial),
		PrivateKeyFile:        f.key,
		APIv3KeyFile:          f.apiv3,
		PlatformPublicKeyID:   keyID,
		PlatformPublicKeyFile: f.pub,
	}
}

func TestLoadGoodConfig(t *testing.T) {
	f := keyFiles(t)
	merchant, platform, _ := testKeys(t)
	c, err := goodConfig(f).Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.MchID != mchID || c.AppID != appID || c.MerchantSerial != serial || c.APIv3Key != apiV3Key ||
		c.PlatformKeyID != keyID || !c.PrivateKey.Equal(merchant) || !c.PlatformPublicKey.Equal(&platform.PublicKey) ||
		c.PlatformCert != nil || c.APIBase != wechat.DefaultAPIBase {
		t.Fatalf("loaded %v", c)
	}
	if _, err := wechat.New(c); err != nil {
		t.Fatalf("New on Load's output: %v", err)
	}

	cfg := goodConfig(f)
	cfg.PlatformPublicKeyID, cfg.PlatformPublicKeyFile, cfg.PlatformCertFile = "", "", f.cert
	cfg.PrivateKeyFile = f.keyPKCS1
	cfg.APIBase = "http://127.0.0.1:8089"
	cfg.RequestTimeout = "3s"
	c, err = cfg.Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.PlatformCert == nil || c.PlatformPublicKey != nil || c.RequestTimeout != 3*time.Second || c.APIBase != "http://127.0.0.1:8089" {
		t.Fatalf("certificate mode: %v", c)
	}

	// notify_url: https anywhere; plain http only on loopback, and only
	// in a config marked sandbox (as `till sandbox --export` writes).
	for _, u := range []string{"https://shop.example.com/notify/wechat", "http://127.0.0.1:8089/notify/wechat", "http://[::1]:80/n", "http://localhost/n"} {
		cfg = goodConfig(f)
		cfg.NotifyURL = u
		cfg.APIBase = "http://127.0.0.1:8089" // an emulator on this machine
		cfg.Sandbox = strings.HasPrefix(u, "http://")
		if c, err = cfg.Load(); err != nil || c.NotifyURL != u {
			t.Fatalf("notify_url %s: %v", u, err)
		}
		if !cfg.Sandbox {
			continue
		}
		// The same without the mark is refused, emulator or not.
		cfg.Sandbox = false
		if _, err = cfg.Load(); err == nil || !strings.Contains(err.Error(), "wechat.notify_url:") || !strings.Contains(err.Error(), "sandbox = true") {
			t.Fatalf("notify_url %s without the sandbox mark: %v", u, err)
		}
	}
	// The mark lets loopback through, not plain http elsewhere.
	cfg = goodConfig(f)
	cfg.NotifyURL, cfg.Sandbox = "http://shop.example.com/notify/wechat", true
	if _, err = cfg.Load(); err == nil || !strings.Contains(err.Error(), "must be an https URL") {
		t.Fatalf("http on a public host with the sandbox mark: %v", err)
	}

	cfg = goodConfig(f)
	cfg.APIv3KeyFile, cfg.APIv3KeyEnv = "", "TILL_TEST_WECHAT_APIV3"
	t.Setenv("TILL_TEST_WECHAT_APIV3", apiV3Key)
	if c, err = cfg.Load(); err != nil || c.APIv3Key != apiV3Key {
		t.Fatalf("key from env: %v", err)
	}
}

func TestLoadErrorsNameTheField(t *testing.T) {
	f := keyFiles(t)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	ecFile := writeFile(t, filepath.Join(f.dir, "ec.pem"), pemBytes("PRIVATE KEY", ecDER))
	garbage := writeFile(t, filepath.Join(f.dir, "garbage.pem"), []byte("not a pem file\n"))
	shortKey := writeFile(t, filepath.Join(f.dir, "short.key"), []byte("too-short\n"))
	missing := filepath.Join(f.dir, "nope.pem")
	cases := []struct {
		name string
		mod  func(*wechat.Config)
		want []string
	}{
		{"missing private key file", func(c *wechat.Config) { c.PrivateKeyFile = missing },
			[]string{"wechat.private_key_file: open " + missing + ": no such file"}},
		{"private key not PEM", func(c *wechat.Config) { c.PrivateKeyFile = garbage },
			[]string{"wechat.private_key_file:", "no PEM data"}},
		{"private key not RSA", func(c *wechat.Config) { c.PrivateKeyFile = ecFile },
			[]string{"wechat.private_key_file:", "not an RSA key"}},
		{"private key is a public key", func(c *wechat.Config) { c.PrivateKeyFile = f.pub },
			[]string{"wechat.private_key_file:", "not a private key"}},
		{"no private key", func(c *wechat.Config) { c.PrivateKeyFile = "" },
			[]string{"wechat.private_key_file: is required"}},
		{"APIv3 key wrong size", func(c *wechat.Config) { c.APIv3KeyFile = shortKey },
			[]string{"wechat.apiv3_key_file: the APIv3 key must be 32 bytes"}},
		{"APIv3 key file missing", func(c *wechat.Config) { c.APIv3KeyFile = missing },
			[]string{"wechat.apiv3_key_file: open " + missing}},
		{"APIv3 env unset", func(c *wechat.Config) { c.APIv3KeyFile, c.APIv3KeyEnv = "", "TILL_TEST_UNSET_VAR" },
			[]string{"wechat.apiv3_key_env:", "TILL_TEST_UNSET_VAR"}},
		{"APIv3 key twice", func(c *wechat.Config) { c.APIv3KeyEnv = "X" },
			[]string{"wechat.apiv3_key_file:", "not both"}},
		{"no APIv3 key", func(c *wechat.Config) { c.APIv3KeyFile = "" },
			[]string{"wechat.apiv3_key_file:", "required"}},
		{"public key and certificate", func(c *wechat.Config) { c.PlatformCertFile = f.cert },
			[]string{"wechat.platform_cert_file:", "not both"}},
		{"neither public key nor certificate", func(c *wechat.Config) { c.PlatformPublicKeyID, c.PlatformPublicKeyFile = "", "" },
			[]string{"wechat.platform_public_key_file:", "platform_cert_file"}},
		{"public key without id", func(c *wechat.Config) { c.PlatformPublicKeyID = "" },
			[]string{"wechat.platform_public_key_id: is required"}},
		{"id without public key", func(c *wechat.Config) { c.PlatformPublicKeyFile = "" },
			[]string{"wechat.platform_public_key_file: is required"}},
		{"platform public key unreadable", func(c *wechat.Config) { c.PlatformPublicKeyFile = garbage },
			[]string{"wechat.platform_public_key_file:", "no PEM data"}},
		{"certificate given as public key", func(c *wechat.Config) { c.PlatformPublicKeyFile = f.cert },
			[]string{"wechat.platform_public_key_file:", "platform_cert_file"}},
		{"merchant's own key as platform key", func(c *wechat.Config) { c.PlatformPublicKeyFile = f.mchPub },
			[]string{"wechat.platform_public_key_file:", "merchant's own"}},
		{"certificate unreadable", func(c *wechat.Config) {
			c.PlatformPublicKeyID, c.PlatformPublicKeyFile, c.PlatformCertFile = "", "", f.pub
		}, []string{"wechat.platform_cert_file:", "not a certificate"}},
		{"bad api_base", func(c *wechat.Config) { c.APIBase = "api.mch.weixin.qq.com/v3" },
			[]string{"wechat.api_base:"}},
		{"bad request_timeout", func(c *wechat.Config) { c.RequestTimeout = "soon" },
			[]string{"wechat.request_timeout:"}},
		{"bad serial", func(c *wechat.Config) { c.MerchantSerial = "serial-1" },
			[]string{"wechat.merchant_serial:"}},
		{"notify_url over plain http", func(c *wechat.Config) { c.NotifyURL = "http://shop.example.com/notify/wechat" },
			[]string{"wechat.notify_url:", "must be an https URL"}},
		{"notify_url with a query", func(c *wechat.Config) { c.NotifyURL = "https://shop.example.com/notify?desk=1" },
			[]string{"wechat.notify_url:", "query"}},
		{"notify_url relative", func(c *wechat.Config) { c.NotifyURL = "/notify/wechat" },
			[]string{"wechat.notify_url:", "absolute"}},
		{"notify_url without a host", func(c *wechat.Config) { c.NotifyURL = "https:///notify" },
			[]string{"wechat.notify_url:", "absolute"}},
		{"notify_url with a fragment", func(c *wechat.Config) { c.NotifyURL = "https://shop.example.com/notify#x" },
			[]string{"wechat.notify_url:", "fragment"}},
		{"notify_url on this machine with the real WeChat Pay", func(c *wechat.Config) { c.NotifyURL = "http://127.0.0.1:8080/notify/wechat" },
			[]string{"wechat.notify_url:", "cannot reach it"}},
		{"everything missing at once", func(c *wechat.Config) { c.MchID, c.AppID, c.MerchantSerial = "", "", "" },
			[]string{"wechat.mchid: is required", "wechat.appid: is required", "wechat.merchant_serial: is required"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := goodConfig(f)
			c.mod(&cfg)
			creds, err := cfg.Load()
			if err == nil {
				t.Fatalf("loaded %v", creds)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			var fe *wechat.FieldError
			if !errors.As(err, &fe) {
				t.Errorf("not a *FieldError: %T", err)
			}
			if strings.Contains(err.Error(), apiV3Key) {
				t.Error("the error shows the APIv3 key")
			}
		})
	}
}

func TestLoadExpiredCertificate(t *testing.T) {
	f := keyFiles(t)
	_, platform, _ := testKeys(t)
	old := selfSignedCert(t, platform, time.Now().Add(-time.Minute))
	cfg := goodConfig(f)
	cfg.PlatformPublicKeyID, cfg.PlatformPublicKeyFile = "", ""
	cfg.PlatformCertFile = writeFile(t, filepath.Join(f.dir, "old.pem"), pemBytes("CERTIFICATE", old.Raw))
	if _, err := cfg.Load(); err == nil || !strings.Contains(err.Error(), "wechat.platform_cert_file: the platform certificate expired") {
		t.Fatalf("got %v", err)
	}
}

func TestCredentialsNeverPrintSecrets(t *testing.T) {
	f := keyFiles(t)
	c, err := goodConfig(f).Load()
	if err != nil {
		t.Fatal(err)
	}
	modulus := c.PrivateKey.D.String()[:20]
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("loaded", "creds", c)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("loaded", "creds", c)
	outs := []string{
		fmt.Sprint(c), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%s", c),
		fmt.Sprintf("%v", &c), fmt.Sprintf("%+v", struct{ C wechat.Credentials }{c}),
		logged.String(),
	}
	for _, s := range outs {
		if strings.Contains(s, apiV3Key) || strings.Contains(s, modulus) || strings.Contains(s, "PRIVATE") {
			t.Fatalf("secret printed: %s", s)
		}
		if !strings.Contains(s, mchID) || !strings.Contains(s, "redacted") {
			t.Fatalf("public parts missing: %s", s)
		}
	}
}
