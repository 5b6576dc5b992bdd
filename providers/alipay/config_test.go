package alipay

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func pemPKCS1(k *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

func pemPKCS8(t *testing.T, k any) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func pemPKIX(t *testing.T, k any) []byte {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// bare strips the PEM armour, as Alipay's key tool writes keys.
func bare(p []byte) []byte {
	b, _ := pem.Decode(p)
	return []byte(base64.StdEncoding.EncodeToString(b.Bytes))
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// testPKI is a CA plus the app's and Alipay's certificates, like the
// three files of certificate mode. The root bundle also holds an ECC root,
// which the SDK skips.
type testPKI struct {
	root, eccRoot, appCert, alipayCert *x509.Certificate
	rootPEM, appPEM, alipayPEM         []byte
}

var (
	pkiOnce sync.Once
	pki     testPKI
)

func certPEMBytes(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func testCerts(t *testing.T) testPKI {
	t.Helper()
	testKeys(t)
	pkiOnce.Do(func() {
		mk := func(tmpl, parent *x509.Certificate, pub any, signer any) *x509.Certificate {
			der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
			if err != nil {
				panic(err)
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				panic(err)
			}
			return c
		}
		now := time.Now()
		rootTmpl := &x509.Certificate{
			SerialNumber: big.NewInt(987654321), Subject: pkix.Name{CommonName: "Test Alipay Root", Organization: []string{"Test"}, Country: []string{"CN"}},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign, SignatureAlgorithm: x509.SHA256WithRSA,
		}
		pki.root = mk(rootTmpl, rootTmpl, &otherKey.PublicKey, otherKey)
		ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		eccTmpl := &x509.Certificate{
			SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "Test ECC Root"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		}
		pki.eccRoot = mk(eccTmpl, eccTmpl, &ecKey.PublicKey, ecKey)
		leaf := func(serial int64, cn string) *x509.Certificate {
			return &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, OrganizationalUnit: []string{"Alipay"}},
				NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), SignatureAlgorithm: x509.SHA256WithRSA}
		}
		pki.appCert = mk(leaf(1001, testAppID), pki.root, &appKey.PublicKey, otherKey)
		pki.alipayCert = mk(leaf(1002, "Alipay public key"), pki.root, &alipayKey.PublicKey, otherKey)
		pki.rootPEM = append(certPEMBytes(pki.eccRoot), certPEMBytes(pki.root)...)
		pki.appPEM = certPEMBytes(pki.appCert)
		pki.alipayPEM = certPEMBytes(pki.alipayCert)
	})
	return pki
}

// certSN is the documented rule (protocols.md B4), computed here by hand:
// md5 of the issuer's RFC 2253 name followed by the decimal serial.
func certSN(c *x509.Certificate) string {
	sum := md5.Sum([]byte(c.Issuer.String() + c.SerialNumber.String()))
	return hex.EncodeToString(sum[:])
}

func TestLoad(t *testing.T) {
	testKeys(t)
	p := testCerts(t)
	dir := t.TempDir()
	priv := writeFile(t, dir, "app_private.pem", pemPKCS1(appKey))
	pub := writeFile(t, dir, "alipay_public.pem", pemPKIX(t, &alipayKey.PublicKey))

	no := false
	cred, err := Config{AppID: testAppID, PrivateKeyFile: priv, AlipayPublicKeyFile: pub}.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !cred.Production || cred.Gateway != "" || !cred.PrivateKey.Equal(appKey) || !cred.AlipayPublicKey.Equal(&alipayKey.PublicKey) || cred.CertMode() {
		t.Fatalf("loaded %v", cred)
	}
	// Formats Alipay's tools write: PKCS#8, bare base64.
	for name, files := range map[string][2][]byte{
		"pkcs8 pem":    {pemPKCS8(t, appKey), pemPKIX(t, &alipayKey.PublicKey)},
		"bare base64":  {bare(pemPKCS8(t, appKey)), bare(pemPKIX(t, &alipayKey.PublicKey))},
		"bare wrapped": {[]byte("\n  " + string(bare(pemPKCS1(appKey)))[:64] + "\n" + string(bare(pemPKCS1(appKey)))[64:] + "\n"), pemPKIX(t, &alipayKey.PublicKey)},
	} {
		c := Config{AppID: testAppID, Production: &no, Gateway: "http://127.0.0.1:9/gateway.do", RequestTimeout: "9s",
			PrivateKeyFile: writeFile(t, dir, "k", files[0]), AlipayPublicKeyFile: writeFile(t, dir, "p", files[1])}
		cred, err := c.Load()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if cred.Production || cred.Timeout != 9*time.Second || !cred.PrivateKey.Equal(appKey) {
			t.Fatalf("%s: %v", name, cred)
		}
	}
	// Certificate mode.
	cc := Config{AppID: testAppID, PrivateKeyFile: priv,
		AppCertFile:        writeFile(t, dir, "appCertPublicKey.crt", p.appPEM),
		AlipayRootCertFile: writeFile(t, dir, "alipayRootCert.crt", p.rootPEM),
		AlipayCertFile:     writeFile(t, dir, "alipayCertPublicKey_RSA2.crt", p.alipayPEM),
	}
	if cred, err = cc.Load(); err != nil || !cred.CertMode() || len(cred.AlipayRootCerts) != 2 {
		t.Fatalf("certificate mode: %v, %v", cred, err)
	}
}

func TestLoadErrorsNameTheField(t *testing.T) {
	testKeys(t)
	p := testCerts(t)
	dir := t.TempDir()
	priv := writeFile(t, dir, "app_private.pem", pemPKCS1(appKey))
	pub := writeFile(t, dir, "alipay_public.pem", pemPKIX(t, &alipayKey.PublicKey))
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	appCert := writeFile(t, dir, "app.crt", p.appPEM)
	rootCert := writeFile(t, dir, "root.crt", p.rootPEM)
	alipayCert := writeFile(t, dir, "alipay.crt", p.alipayPEM)
	good := Config{AppID: testAppID, PrivateKeyFile: priv, AlipayPublicKeyFile: pub}
	certs := Config{AppID: testAppID, PrivateKeyFile: priv, AppCertFile: appCert, AlipayRootCertFile: rootCert, AlipayCertFile: alipayCert}

	for _, tc := range []struct {
		name string
		mod  func(*Config)
		base Config
		want string
	}{
		{"no app id", func(c *Config) { c.AppID = "" }, good, "alipay.app_id: missing"},
		{"bad app id", func(c *Config) { c.AppID = "my-app" }, good, "alipay.app_id: "},
		{"no private key", func(c *Config) { c.PrivateKeyFile = "" }, good, "alipay.private_key_file: missing"},
		{"private key file missing", func(c *Config) { c.PrivateKeyFile = filepath.Join(dir, "nope.pem") }, good, "alipay.private_key_file: cannot read"},
		{"public key as private key", func(c *Config) { c.PrivateKeyFile = pub }, good, "alipay.private_key_file: not an RSA private key"},
		{"garbage private key", func(c *Config) { c.PrivateKeyFile = writeFile(t, dir, "g", []byte("hello")) }, good, "alipay.private_key_file: not an RSA private key"},
		{"empty private key", func(c *Config) { c.PrivateKeyFile = writeFile(t, dir, "e", nil) }, good, "alipay.private_key_file: not an RSA private key"},
		{"EC private key", func(c *Config) { c.PrivateKeyFile = writeFile(t, dir, "ec", pemPKCS8(t, ec)) }, good, "alipay.private_key_file: not an RSA private key"},
		{"1024-bit key", func(c *Config) { c.PrivateKeyFile = writeFile(t, dir, "s", pemPKCS1(small)) }, good, "alipay.private_key_file: the RSA key has 1024 bits"},
		{"garbage public key", func(c *Config) {
			c.AlipayPublicKeyFile = writeFile(t, dir, "gp", []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
		}, good, "alipay.alipay_public_key_file: not an RSA public key"},
		{"private key as public key", func(c *Config) { c.AlipayPublicKeyFile = priv }, good, "alipay.alipay_public_key_file: not an RSA public key"},
		{"public key file missing", func(c *Config) { c.AlipayPublicKeyFile = filepath.Join(dir, "nope.pem") }, good, "alipay.alipay_public_key_file: cannot read"},
		{"neither mode", func(c *Config) { c.AlipayPublicKeyFile = "" }, good, "alipay.alipay_public_key_file: missing"},
		{"both modes", func(c *Config) { c.AppCertFile = appCert }, good, "alipay.alipay_public_key_file: set either"},
		{"no root cert", func(c *Config) { c.AlipayRootCertFile = "" }, certs, "alipay.alipay_root_cert_file: missing"},
		{"no alipay cert", func(c *Config) { c.AlipayCertFile = "" }, certs, "alipay.alipay_cert_file: missing"},
		{"app cert of another key", func(c *Config) { c.AppCertFile = alipayCert }, certs, "alipay.app_cert_file: the certificate's public key does not match"},
		{"app cert not a cert", func(c *Config) { c.AppCertFile = priv }, certs, "alipay.app_cert_file: not a certificate"},
		{"root bundle without certs", func(c *Config) { c.AlipayRootCertFile = pub }, certs, "alipay.alipay_root_cert_file: no certificate"},
		{"root bundle of ECC only", func(c *Config) { c.AlipayRootCertFile = writeFile(t, dir, "ecc", certPEMBytes(p.eccRoot)) }, certs, "alipay.alipay_root_cert_file: no RSA-signed root"},
		{"alipay cert missing file", func(c *Config) { c.AlipayCertFile = filepath.Join(dir, "nope.crt") }, certs, "alipay.alipay_cert_file: cannot read"},
		{"bad gateway", func(c *Config) { c.Gateway = "openapi.alipay.com" }, good, "alipay.gateway: "},
		{"bad timeout", func(c *Config) { c.RequestTimeout = "fast" }, good, "alipay.request_timeout: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.base
			tc.mod(&c)
			_, err := c.Load()
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant prefix %q", err, tc.want)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field == "" {
				t.Fatalf("%T is not a *ConfigError", err)
			}
			if strings.Contains(err.Error(), "BEGIN") || strings.Contains(err.Error(), "MII") {
				t.Fatalf("the error shows key material: %v", err)
			}
		})
	}
}

func TestCredentialsRedacted(t *testing.T) {
	testKeys(t)
	c := Credentials{AppID: testAppID, PrivateKey: appKey, AlipayPublicKey: &alipayKey.PublicKey, Production: true}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "alipay", c)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "alipay", &c)
	out := fmt.Sprintf("%v %+v %#v %s %v", c, c, c, c, &c) + logged.String()
	secrets := []string{appKey.D.String()[:16], appKey.N.String()[:16], appKey.Primes[0].String()[:16], "PRIVATE KEY"}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Fatalf("key material %q in %s", s, out)
		}
	}
	if !strings.Contains(out, testAppID) || !strings.Contains(out, "redacted") {
		t.Fatalf("unhelpful: %s", out)
	}
}
