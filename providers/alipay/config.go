package alipay

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// Gateways the SDK uses when Config.Gateway is empty.
const (
	ProductionGateway = "https://openapi.alipay.com/gateway.do"
	SandboxGateway    = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"
)

// Config is the [alipay] section of till's config file. Public-key mode
// needs alipay_public_key_file; certificate mode needs the three *_cert_file
// fields instead.
type Config struct {
	// Gateway is the gateway URL; empty means the SDK's default for the
	// mode (ProductionGateway or SandboxGateway). Point it at a proxy or
	// an emulator.
	Gateway string `toml:"gateway,omitempty"`
	// Production picks Alipay's production system (default) or its
	// sandbox (false).
	Production *bool  `toml:"production,omitempty"`
	AppID      string `toml:"app_id,omitempty"`

	PrivateKeyFile      string `toml:"private_key_file,omitempty"`       // the app's RSA private key, PEM or bare base64, PKCS#1 or PKCS#8
	AlipayPublicKeyFile string `toml:"alipay_public_key_file,omitempty"` // public-key mode: Alipay's public key, PEM or bare base64

	AppCertFile        string `toml:"app_cert_file,omitempty"`         // certificate mode: appCertPublicKey_<app_id>.crt
	AlipayRootCertFile string `toml:"alipay_root_cert_file,omitempty"` // certificate mode: alipayRootCert.crt
	AlipayCertFile     string `toml:"alipay_cert_file,omitempty"`      // certificate mode: alipayCertPublicKey_RSA2.crt

	// RequestTimeout bounds one call, e.g. "15s" (default DefaultTimeout).
	RequestTimeout string `toml:"request_timeout,omitempty"`

	// NotifyURL is where Alipay posts its asynchronous notifications:
	// the shop's public https URL of till's listener, behind the
	// merchant's reverse proxy (e.g. https://shop.example.com/notify/alipay).
	// Empty, Alipay sends none and till learns of payments by polling.
	NotifyURL string `toml:"notify_url,omitempty"`

	// Sandbox is set by till, never from the [alipay] section, when the
	// config is marked `sandbox = true` (as `till sandbox --export`
	// writes): then, and only then, notify_url may be on loopback, over
	// http too, for a desk that talks to the emulator.
	Sandbox bool `toml:"-"`
}

// ConfigError names the [alipay] field that is wrong.
type ConfigError struct {
	Field  string // e.g. "private_key_file"
	Reason string
}

func (e *ConfigError) Error() string { return "alipay." + e.Field + ": " + e.Reason }

func fieldErr(field, format string, args ...any) error {
	return &ConfigError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Load reads and checks every file now, so that a bad key is reported at
// start-up with its field named rather than at the first sale.
func (c Config) Load() (Credentials, error) {
	cr := Credentials{Gateway: strings.TrimSpace(c.Gateway), Production: true}
	if c.Production != nil {
		cr.Production = *c.Production
	}
	cr.AppID = strings.TrimSpace(c.AppID)
	if err := checkAppID(cr.AppID); err != nil {
		return Credentials{}, err
	}
	if err := checkGateway(cr.Gateway); err != nil {
		return Credentials{}, err
	}
	cr.NotifyURL = strings.TrimSpace(c.NotifyURL)
	if err := checkNotifyURL(cr.NotifyURL, c.Sandbox); err != nil {
		return Credentials{}, err
	}
	if s := strings.TrimSpace(c.RequestTimeout); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > 2*time.Minute {
			return Credentials{}, fieldErr("request_timeout", "%q is not a positive duration of at most 2m, e.g. \"15s\"", c.RequestTimeout)
		}
		cr.Timeout = d
	}

	if c.PrivateKeyFile == "" {
		return Credentials{}, fieldErr("private_key_file", "missing: the app's RSA private key file is required")
	}
	raw, err := readFile("private_key_file", c.PrivateKeyFile)
	if err != nil {
		return Credentials{}, err
	}
	if cr.PrivateKey, err = ParsePrivateKey(raw); err != nil {
		return Credentials{}, fieldErr("private_key_file", "%v", err)
	}

	certs := map[string]string{
		"app_cert_file":         c.AppCertFile,
		"alipay_root_cert_file": c.AlipayRootCertFile,
		"alipay_cert_file":      c.AlipayCertFile,
	}
	var set []string
	for _, f := range []string{"app_cert_file", "alipay_root_cert_file", "alipay_cert_file"} {
		if certs[f] != "" {
			set = append(set, f)
		}
	}
	switch {
	case c.AlipayPublicKeyFile != "" && len(set) > 0:
		return Credentials{}, fieldErr("alipay_public_key_file", "set either the Alipay public key (public-key mode) or the three certificate files (certificate mode), not both")
	case c.AlipayPublicKeyFile != "":
		raw, err := readFile("alipay_public_key_file", c.AlipayPublicKeyFile)
		if err != nil {
			return Credentials{}, err
		}
		if cr.AlipayPublicKey, err = ParsePublicKey(raw); err != nil {
			return Credentials{}, fieldErr("alipay_public_key_file", "%v", err)
		}
	case len(set) == 0:
		return Credentials{}, fieldErr("alipay_public_key_file", "missing: set it (public-key mode) or app_cert_file, alipay_root_cert_file and alipay_cert_file (certificate mode)")
	default:
		for _, f := range []string{"app_cert_file", "alipay_root_cert_file", "alipay_cert_file"} {
			if certs[f] == "" {
				return Credentials{}, fieldErr(f, "missing: certificate mode needs app_cert_file, alipay_root_cert_file and alipay_cert_file")
			}
		}
		raw, err := readFile("app_cert_file", c.AppCertFile)
		if err != nil {
			return Credentials{}, err
		}
		if cr.AppCert, err = parseCert(raw); err != nil {
			return Credentials{}, fieldErr("app_cert_file", "%v", err)
		}
		if raw, err = readFile("alipay_root_cert_file", c.AlipayRootCertFile); err != nil {
			return Credentials{}, err
		}
		if cr.AlipayRootCerts, err = parseCertBundle(raw); err != nil {
			return Credentials{}, fieldErr("alipay_root_cert_file", "%v", err)
		}
		if raw, err = readFile("alipay_cert_file", c.AlipayCertFile); err != nil {
			return Credentials{}, err
		}
		if cr.AlipayCert, err = parseCert(raw); err != nil {
			return Credentials{}, fieldErr("alipay_cert_file", "%v", err)
		}
	}
	if err := cr.Validate(); err != nil {
		return Credentials{}, err
	}
	return cr, nil
}

func checkAppID(id string) error {
	if id == "" {
		return fieldErr("app_id", "missing: the app id from the Alipay open platform is required")
	}
	for _, r := range id {
		if r < '0' || r > '9' {
			return fieldErr("app_id", "%q is not an Alipay app id (digits only, e.g. 2021000000000000)", id)
		}
	}
	return nil
}

func checkGateway(g string) error {
	if g == "" {
		return nil
	}
	u, err := url.Parse(g)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fieldErr("gateway", "%q is not an http(s) URL, e.g. %s", g, ProductionGateway)
	}
	return nil
}

// checkNotifyURL holds notify_url to what Alipay can call: an absolute
// https URL on a public host, without a query, fragment or user name. A
// URL on this machine (over http too) is let through only for a config
// marked sandbox, which talks to an emulator: the real Alipay could never
// reach it.
func checkNotifyURL(s string, sandbox bool) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return fieldErr("notify_url", "%q is not an absolute URL (e.g. https://shop.example.com/notify/alipay)", s)
	}
	local := sandbox && isLoopbackHost(u.Hostname())
	switch {
	case isLoopbackHost(u.Hostname()) && !sandbox:
		return fieldErr("notify_url", "%q is on this machine, where Alipay cannot reach it: use the shop's public https URL (a reverse proxy in front of till); a loopback notify_url is only for a config marked `sandbox = true`, as `till sandbox --export` writes", s)
	case u.RawQuery != "" || u.ForceQuery:
		return fieldErr("notify_url", "%q must not carry a query string", s)
	case u.Fragment != "" || u.User != nil:
		return fieldErr("notify_url", "%q must not carry a fragment or a user name", s)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && local:
		return nil
	}
	return fieldErr("notify_url", "%q must be an https URL: a live merchant's notifications go to the shop's public https endpoint (http is allowed only on loopback, in a config marked sandbox)", s)
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func readFile(field, name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fieldErr(field, "cannot read %s: %v", name, err)
	}
	return b, nil
}

// der returns the DER bytes of a PEM block of one of types, or of bare
// base64 text (what Alipay's key tool writes).
func der(raw []byte, types ...string) ([]byte, error) {
	s := strings.TrimSpace(string(raw))
	if strings.HasPrefix(s, "-----BEGIN") {
		for rest := []byte(s); ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				return nil, errors.New("no PEM block of the expected type")
			}
			for _, t := range types {
				if b.Type == t {
					return b.Bytes, nil
				}
			}
		}
	}
	s = strings.Join(strings.Fields(s), "")
	if s == "" {
		return nil, errors.New("the file is empty")
	}
	return base64.StdEncoding.DecodeString(s)
}

// MinKeyBits is the smallest RSA key RSA2 (SHA256withRSA) accepts.
const MinKeyBits = 2048

// ParsePrivateKey reads an RSA private key: PEM or bare base64, PKCS#1 or
// PKCS#8.
func ParsePrivateKey(raw []byte) (*rsa.PrivateKey, error) {
	d, err := der(raw, "RSA PRIVATE KEY", "PRIVATE KEY")
	if err != nil {
		return nil, errors.New("not an RSA private key (PEM or base64, PKCS#1 or PKCS#8 expected)")
	}
	var key *rsa.PrivateKey
	if k, err := x509.ParsePKCS1PrivateKey(d); err == nil {
		key = k
	} else if k, err := x509.ParsePKCS8PrivateKey(d); err == nil {
		var ok bool
		if key, ok = k.(*rsa.PrivateKey); !ok {
			return nil, fmt.Errorf("not an RSA private key (found %T)", k)
		}
	} else {
		return nil, errors.New("not an RSA private key (PEM or base64, PKCS#1 or PKCS#8 expected)")
	}
	if bits := key.N.BitLen(); bits < MinKeyBits {
		return nil, fmt.Errorf("the RSA key has %d bits; RSA2 needs at least %d", bits, MinKeyBits)
	}
	return key, nil
}

// ParsePublicKey reads Alipay's RSA public key: PEM or bare base64, PKIX
// (as the open platform shows it) or PKCS#1.
func ParsePublicKey(raw []byte) (*rsa.PublicKey, error) {
	d, err := der(raw, "PUBLIC KEY", "RSA PUBLIC KEY")
	if err != nil {
		return nil, errors.New("not an RSA public key (PEM or base64 expected)")
	}
	if k, err := x509.ParsePKIXPublicKey(d); err == nil {
		pub, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("not an RSA public key (found %T)", k)
		}
		return pub, nil
	}
	if k, err := x509.ParsePKCS1PublicKey(d); err == nil {
		return k, nil
	}
	return nil, errors.New("not an RSA public key (PEM or base64 expected)")
}

func parseCert(raw []byte) (*x509.Certificate, error) {
	d, err := der(raw, "CERTIFICATE")
	if err != nil {
		return nil, errors.New("not a certificate (PEM expected)")
	}
	c, err := x509.ParseCertificate(d)
	if err != nil {
		return nil, fmt.Errorf("not a certificate: %v", err)
	}
	return c, nil
}

func parseCertBundle(raw []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for rest := raw; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("a certificate in the bundle does not parse: %v", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no certificate found (PEM expected)")
	}
	return out, nil
}

// Credentials is everything New needs, checked. Load builds it from a
// Config; the sandbox builds it directly with in-memory keys. Exactly one
// of AlipayPublicKey (public-key mode) or the three certificates
// (certificate mode) is set.
type Credentials struct {
	AppID      string
	PrivateKey *rsa.PrivateKey

	AlipayPublicKey *rsa.PublicKey // public-key mode

	AppCert         *x509.Certificate   // certificate mode: the app's public certificate
	AlipayRootCerts []*x509.Certificate // certificate mode: Alipay's root bundle
	AlipayCert      *x509.Certificate   // certificate mode: Alipay's public certificate

	Gateway    string        // empty: the SDK's default for Production
	Production bool          // production system (true) or Alipay's sandbox
	Timeout    time.Duration // per call when New builds the HTTP client; 0 = DefaultTimeout
	NotifyURL  string        // where Alipay posts notifications when the order names none; "" for none
}

// CertMode reports whether the credentials use certificates.
func (c Credentials) CertMode() bool {
	return c.AppCert != nil || c.AlipayCert != nil || len(c.AlipayRootCerts) > 0
}

// Validate checks that the credentials are complete and consistent. Errors
// name the [alipay] field to fix.
func (c Credentials) Validate() error {
	if err := checkAppID(c.AppID); err != nil {
		return err
	}
	if c.PrivateKey == nil {
		return fieldErr("private_key_file", "missing: the app's RSA private key is required")
	}
	if bits := c.PrivateKey.N.BitLen(); bits < MinKeyBits {
		return fieldErr("private_key_file", "the RSA key has %d bits; RSA2 needs at least %d", bits, MinKeyBits)
	}
	if err := checkGateway(c.Gateway); err != nil {
		return err
	}
	if !c.CertMode() {
		if c.AlipayPublicKey == nil {
			return fieldErr("alipay_public_key_file", "missing: set it (public-key mode) or the three certificate files")
		}
		return nil
	}
	switch {
	case c.AlipayPublicKey != nil:
		return fieldErr("alipay_public_key_file", "set either the Alipay public key or the three certificate files, not both")
	case c.AppCert == nil:
		return fieldErr("app_cert_file", "missing: certificate mode needs all three certificate files")
	case len(c.AlipayRootCerts) == 0:
		return fieldErr("alipay_root_cert_file", "missing: certificate mode needs all three certificate files")
	case c.AlipayCert == nil:
		return fieldErr("alipay_cert_file", "missing: certificate mode needs all three certificate files")
	}
	if pub, ok := c.AppCert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&c.PrivateKey.PublicKey) {
		return fieldErr("app_cert_file", "the certificate's public key does not match private_key_file")
	}
	if _, ok := c.AlipayCert.PublicKey.(*rsa.PublicKey); !ok {
		return fieldErr("alipay_cert_file", "not an RSA certificate (RSA2 needs one)")
	}
	rsaRoot := false
	for _, r := range c.AlipayRootCerts {
		if r.SignatureAlgorithm == x509.SHA256WithRSA || r.SignatureAlgorithm == x509.SHA1WithRSA {
			rsaRoot = true
		}
	}
	if !rsaRoot {
		return fieldErr("alipay_root_cert_file", "no RSA-signed root certificate in the bundle")
	}
	return nil
}

func (c Credentials) mode() string {
	if c.CertMode() {
		return "certificate"
	}
	return "public-key"
}

// String describes the credentials without any key material.
func (c Credentials) String() string {
	gw := c.Gateway
	if gw == "" {
		gw = "(default)"
	}
	return fmt.Sprintf("alipay.Credentials{AppID: %s, Mode: %s, Gateway: %s, Production: %t, PrivateKey: [redacted]}",
		c.AppID, c.mode(), gw, c.Production)
}

// GoString is String, so %#v redacts too.
func (c Credentials) GoString() string { return c.String() }

// LogValue redacts the credentials in slog records.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("app_id", c.AppID),
		slog.String("mode", c.mode()),
		slog.String("gateway", c.Gateway),
		slog.Bool("production", c.Production),
		slog.String("private_key", "[redacted]"),
	)
}

// Format keeps key material out of every fmt verb, %+v included.
func (c Credentials) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, c.GoString())
		return
	}
	fmt.Fprint(f, c.String())
}
