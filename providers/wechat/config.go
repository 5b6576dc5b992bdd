package wechat

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// DefaultAPIBase is the production API host. wechatpay-go hard-codes it;
// the adapter sends requests elsewhere by rewriting them in its HTTP
// client (protocols.md A1).
const DefaultAPIBase = "https://api.mch.weixin.qq.com"

// Default timeouts of the adapter's HTTP client.
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultRequestTimeout = 15 * time.Second
)

// Config is the [wechat] section of till's config. Secrets come from files
// or the environment, never from the TOML itself. (Empty fields are left
// out when a Config is written, as an exported sandbox config is.)
type Config struct {
	APIBase               string `toml:"api_base,omitempty"`                 // default DefaultAPIBase
	MchID                 string `toml:"mchid,omitempty"`                    // merchant id
	AppID                 string `toml:"appid,omitempty"`                    // app / official account bound to the merchant
	MerchantSerial        string `toml:"merchant_serial,omitempty"`          // serial of the merchant API certificate (hex)
	PrivateKeyFile        string `toml:"private_key_file,omitempty"`         // apiclient_key.pem (PKCS#8 or PKCS#1 RSA)
	APIv3KeyFile          string `toml:"apiv3_key_file,omitempty"`           // file holding the 32-byte APIv3 key
	APIv3KeyEnv           string `toml:"apiv3_key_env,omitempty"`            // or the name of an env var holding it
	PlatformPublicKeyID   string `toml:"platform_public_key_id,omitempty"`   // PUB_KEY_ID_... (public-key mode)
	PlatformPublicKeyFile string `toml:"platform_public_key_file,omitempty"` // pub_key.pem (public-key mode)
	PlatformCertFile      string `toml:"platform_cert_file,omitempty"`       // wechatpay_*.pem (certificate mode)
	RequestTimeout        string `toml:"request_timeout,omitempty"`          // e.g. "15s"; default DefaultRequestTimeout
	// NotifyURL is sent when till has no webhook of its own: WeChat
	// requires a notify_url on every order. Refunds use it too.
	NotifyURL string `toml:"notify_url,omitempty"`
	// Sandbox is set by till, never from the [wechat] section, when the
	// config is marked `sandbox = true` (as `till sandbox --export`
	// writes): then, and only then, notify_url may be on loopback, over
	// http too, for a desk that talks to the emulators.
	Sandbox bool `toml:"-"`
}

// FieldError is a problem with one field of the [wechat] section.
type FieldError struct {
	Field string // TOML key, e.g. "private_key_file"
	Err   error
}

func (e *FieldError) Error() string { return "wechat." + e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

var (
	serialRE = regexp.MustCompile(`^[0-9A-Fa-f]{8,64}$`)
)

// Load reads and checks every key and file now, so that a bad setup is
// reported at startup with the field named, not at the first sale. All
// problems are returned together (errors.Join of *FieldError).
func (c Config) Load() (Credentials, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	cr := Credentials{
		MchID:          strings.TrimSpace(c.MchID),
		AppID:          strings.TrimSpace(c.AppID),
		MerchantSerial: strings.ToUpper(strings.TrimSpace(c.MerchantSerial)),
		PlatformKeyID:  strings.TrimSpace(c.PlatformPublicKeyID),
		APIBase:        strings.TrimSpace(c.APIBase),
		NotifyURL:      strings.TrimSpace(c.NotifyURL),
	}
	if cr.APIBase == "" {
		cr.APIBase = DefaultAPIBase
	}
	if err := checkAPIBase(cr.APIBase); err != nil {
		bad("api_base", "%v", err)
	}
	if cr.MchID == "" {
		bad("mchid", "is required (the merchant id, e.g. 1900000001)")
	}
	if cr.AppID == "" {
		bad("appid", "is required (the app id bound to the merchant, e.g. wx8888888888888888)")
	}
	switch {
	case cr.MerchantSerial == "":
		bad("merchant_serial", "is required (the serial number of the merchant API certificate)")
	case !serialRE.MatchString(cr.MerchantSerial):
		bad("merchant_serial", "%q is not a certificate serial number (8 to 64 hex digits)", cr.MerchantSerial)
	}

	if c.PrivateKeyFile == "" {
		bad("private_key_file", "is required (the merchant API private key, apiclient_key.pem)")
	} else if key, err := readPrivateKey(c.PrivateKeyFile); err != nil {
		bad("private_key_file", "%v", err)
	} else {
		cr.PrivateKey = key
	}

	switch {
	case c.APIv3KeyFile != "" && c.APIv3KeyEnv != "":
		bad("apiv3_key_file", "give the APIv3 key in apiv3_key_file or apiv3_key_env, not both")
	case c.APIv3KeyFile != "":
		b, err := os.ReadFile(c.APIv3KeyFile)
		if err != nil {
			bad("apiv3_key_file", "%v", err)
			break
		}
		cr.APIv3Key = strings.TrimSpace(string(b))
		if err := checkAPIv3Key(cr.APIv3Key); err != nil {
			bad("apiv3_key_file", "%v", err)
		}
	case c.APIv3KeyEnv != "":
		cr.APIv3Key = strings.TrimSpace(os.Getenv(c.APIv3KeyEnv))
		if cr.APIv3Key == "" {
			bad("apiv3_key_env", "the environment variable %s is unset or empty", c.APIv3KeyEnv)
		} else if err := checkAPIv3Key(cr.APIv3Key); err != nil {
			bad("apiv3_key_env", "%s: %v", c.APIv3KeyEnv, err)
		}
	default:
		bad("apiv3_key_file", "the APIv3 key is required: set apiv3_key_file or apiv3_key_env")
	}

	pubMode := c.PlatformPublicKeyFile != "" || cr.PlatformKeyID != ""
	certMode := c.PlatformCertFile != ""
	switch {
	case pubMode && certMode:
		bad("platform_cert_file", "give either platform_public_key_id with platform_public_key_file, or platform_cert_file, not both")
	case !pubMode && !certMode:
		bad("platform_public_key_file", "WeChat Pay's key is required: set platform_public_key_id and platform_public_key_file, or platform_cert_file")
	case pubMode:
		if cr.PlatformKeyID == "" {
			bad("platform_public_key_id", "is required with platform_public_key_file (PUB_KEY_ID_... on the merchant platform)")
		}
		if c.PlatformPublicKeyFile == "" {
			bad("platform_public_key_file", "is required with platform_public_key_id (pub_key.pem)")
		} else if pub, err := readPublicKey(c.PlatformPublicKeyFile); err != nil {
			bad("platform_public_key_file", "%v", err)
		} else {
			cr.PlatformPublicKey = pub
			if cr.PrivateKey != nil && cr.PrivateKey.PublicKey.Equal(pub) {
				bad("platform_public_key_file", "this is the merchant's own public key; use WeChat Pay's platform public key (pub_key.pem)")
			}
		}
	case certMode:
		cert, err := readCertificate(c.PlatformCertFile)
		if err != nil {
			bad("platform_cert_file", "%v", err)
			break
		}
		cr.PlatformCert = cert
		if cr.PrivateKey != nil && cr.PrivateKey.PublicKey.Equal(cert.PublicKey) {
			bad("platform_cert_file", "this is the merchant's own certificate; use WeChat Pay's platform certificate")
		}
		if now := time.Now(); now.After(cert.NotAfter) {
			bad("platform_cert_file", "the platform certificate expired on %s", cert.NotAfter.Format(time.DateOnly))
		}
	}

	if c.RequestTimeout != "" {
		d, err := time.ParseDuration(c.RequestTimeout)
		switch {
		case err != nil:
			bad("request_timeout", "%q is not a duration (e.g. \"15s\")", c.RequestTimeout)
		case d < time.Second || d > 2*time.Minute:
			bad("request_timeout", "%s is out of range (1s to 2m)", d)
		default:
			cr.RequestTimeout = d
		}
	}
	if cr.NotifyURL != "" {
		if err := checkNotifyURL(cr.NotifyURL, c.Sandbox); err != nil {
			bad("notify_url", "%v", err)
		}
	}
	if len(errs) > 0 {
		return Credentials{}, errors.Join(errs...)
	}
	return cr, nil
}

func checkAPIBase(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q must be an http(s) URL with a host, e.g. %s", s, DefaultAPIBase)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("%q must be scheme and host only (requests are signed over their path)", s)
	}
	return nil
}

// checkNotifyURL holds notify_url to WeChat's rule: an absolute https URL
// on a public host, without a query (WeChat refuses the rest, or calls it
// without the query). A URL on this machine (over http too) is let
// through only for a config marked sandbox, which talks to the emulators:
// the real WeChat Pay could never reach it.
func checkNotifyURL(s string, sandbox bool) error {
	u, err := url.Parse(s)
	if err == nil && isLoopback(u.Hostname()) && !sandbox {
		return fmt.Errorf("%q is on this machine, where WeChat Pay cannot reach it: use the shop's public https URL (a reverse proxy in front of till); a loopback notify_url is only for a config marked `sandbox = true`, as `till sandbox --export` writes", s)
	}
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return fmt.Errorf("%q is not an absolute URL (e.g. https://shop.example.com/notify/wechat)", s)
	case u.RawQuery != "" || u.ForceQuery:
		return fmt.Errorf("%q must not carry a query string: WeChat Pay calls the URL without it", s)
	case u.Fragment != "" || u.User != nil:
		return fmt.Errorf("%q must not carry a fragment or a user name", s)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && sandbox && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%q must be an https URL: WeChat Pay notifies only https (http is allowed only on loopback, in a config marked sandbox)", s)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkAPIv3Key(k string) error {
	if len(k) != 32 {
		return fmt.Errorf("the APIv3 key must be 32 bytes, got %d", len(k))
	}
	return nil
}

func readPEM(path, what string) (*pem.Block, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM data (expected %s)", path, what)
	}
	return block, nil
}

func readPrivateKey(path string) (*rsa.PrivateKey, error) {
	block, err := readPEM(path, "a PRIVATE KEY block")
	if err != nil {
		return nil, err
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%s: a %q PEM block is not a private key", path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an RSA key (%T); WeChat Pay merchant keys are RSA", path, key)
	}
	if rk.N.BitLen() < 2048 {
		return nil, fmt.Errorf("%s: the RSA key has %d bits; WeChat Pay requires 2048", path, rk.N.BitLen())
	}
	return rk, nil
}

func readPublicKey(path string) (*rsa.PublicKey, error) {
	block, err := readPEM(path, "a PUBLIC KEY block")
	if err != nil {
		return nil, err
	}
	var key any
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		return nil, fmt.Errorf("%s: this is a certificate; put it in platform_cert_file instead", path)
	default:
		return nil, fmt.Errorf("%s: a %q PEM block is not a public key", path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	pk, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an RSA public key (%T)", path, key)
	}
	return pk, nil
}

func readCertificate(path string) (*x509.Certificate, error) {
	block, err := readPEM(path, "a CERTIFICATE block")
	if err != nil {
		return nil, err
	}
	if block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: a %q PEM block is not a certificate", path, block.Type)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return nil, fmt.Errorf("%s: the certificate's key is not RSA (%T)", path, cert.PublicKey)
	}
	return cert, nil
}

// Credentials is everything the adapter needs, loaded and checked. The
// sandbox builds it directly with in-memory keys. It never prints its
// secrets: String, GoString and LogValue redact them.
type Credentials struct {
	MchID             string
	AppID             string
	MerchantSerial    string
	PrivateKey        *rsa.PrivateKey
	APIv3Key          string
	PlatformKeyID     string         // public-key mode: Wechatpay-Serial of WeChat's answers
	PlatformPublicKey *rsa.PublicKey // public-key mode
	PlatformCert      *x509.Certificate
	APIBase           string        // default DefaultAPIBase
	RequestTimeout    time.Duration // default DefaultRequestTimeout
	NotifyURL         string        // fallback notify_url (see Config.NotifyURL)
}

// Validate checks Credentials built by hand (Load's output passes).
func (c Credentials) Validate() error {
	var errs []error
	bad := func(field, msg string) { errs = append(errs, fmt.Errorf("wechat credentials: %s %s", field, msg)) }
	if c.MchID == "" {
		bad("MchID", "is empty")
	}
	if c.AppID == "" {
		bad("AppID", "is empty")
	}
	if c.MerchantSerial == "" {
		bad("MerchantSerial", "is empty")
	}
	if c.PrivateKey == nil {
		bad("PrivateKey", "is missing")
	}
	if len(c.APIv3Key) != 32 {
		bad("APIv3Key", "must be 32 bytes")
	}
	switch {
	case c.PlatformPublicKey != nil && c.PlatformCert != nil:
		bad("PlatformPublicKey", "and PlatformCert are both set; give one")
	case c.PlatformPublicKey != nil:
		if c.PlatformKeyID == "" {
			bad("PlatformKeyID", "is empty")
		}
	case c.PlatformCert != nil:
		if _, ok := c.PlatformCert.PublicKey.(*rsa.PublicKey); !ok {
			bad("PlatformCert", "does not hold an RSA key")
		}
	default:
		bad("PlatformPublicKey", "or PlatformCert is required")
	}
	if c.APIBase != "" {
		if err := checkAPIBase(c.APIBase); err != nil {
			bad("APIBase", err.Error())
		}
	}
	return errors.Join(errs...)
}

// platformSerial is the Wechatpay-Serial WeChat's answers carry.
func (c Credentials) platformSerial() string {
	if c.PlatformCert != nil {
		return fmt.Sprintf("%X", c.PlatformCert.SerialNumber.Bytes())
	}
	return c.PlatformKeyID
}

func (c Credentials) mode() string {
	if c.PlatformCert != nil {
		return "platform certificate"
	}
	return "platform public key"
}

func redacted(present bool) string {
	if present {
		return "[redacted]"
	}
	return "[none]"
}

// String prints the public parts only.
func (c Credentials) String() string {
	return fmt.Sprintf("wechat.Credentials{MchID:%s AppID:%s MerchantSerial:%s PrivateKey:%s APIv3Key:%s Verify:%s %s APIBase:%s}",
		c.MchID, c.AppID, c.MerchantSerial, redacted(c.PrivateKey != nil), redacted(c.APIv3Key != ""),
		c.mode(), c.platformSerial(), c.APIBase)
}

// GoString makes %#v redact too.
func (c Credentials) GoString() string { return c.String() }

// LogValue makes slog print the public parts only.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("mchid", c.MchID),
		slog.String("appid", c.AppID),
		slog.String("merchant_serial", c.MerchantSerial),
		slog.String("private_key", redacted(c.PrivateKey != nil)),
		slog.String("apiv3_key", redacted(c.APIv3Key != "")),
		slog.String("verify", c.mode()),
		slog.String("platform_serial", c.platformSerial()),
		slog.String("api_base", c.APIBase),
	)
}

// Format makes every verb (%v, %+v, %s, %q, %x) redact.
func (c Credentials) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, c.GoString())
		return
	}
	fmt.Fprint(f, c.String())
}
