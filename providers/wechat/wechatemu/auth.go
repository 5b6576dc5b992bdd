package wechatemu

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// maxSkew is how far a request's timestamp may be from the emulator's
// clock, as on the real service.
const maxSkew = 5 * time.Minute

const authScheme = "WECHATPAY2-SHA256-RSA2048"

// authError is a refused Authorization header; msg is what the real
// service says.
type authError struct{ msg string }

func (e *authError) Error() string { return e.msg }

// authenticate checks the merchant's Authorization header against the
// method, the raw request target and the raw body.
func (e *Emulator) authenticate(method, requestURI, header string, body []byte) error {
	if header == "" {
		return &authError{"Http头缺少Authorization或Authorization为空"}
	}
	scheme, rest, _ := strings.Cut(header, " ")
	if scheme != authScheme {
		return &authError{"错误的签名方式，请使用WECHATPAY2-SHA256-RSA2048"}
	}
	kv, err := parseAuthParams(rest)
	if err != nil {
		return &authError{"Http头Authorization值格式错误，请参阅文档"}
	}
	for _, k := range []string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"} {
		if kv[k] == "" {
			return &authError{"Http头Authorization中缺少" + k}
		}
	}
	if kv["mchid"] != e.cfg.MchID {
		return &authError{"商户号mchid不存在或与签名不匹配"}
	}
	if !strings.EqualFold(kv["serial_no"], e.cfg.MerchantSerial) {
		return &authError{"商户证书序列号有误。请使用签名私钥匹配的证书序列号"}
	}
	ts, err := strconv.ParseInt(kv["timestamp"], 10, 64)
	if err != nil {
		return &authError{"Http头Authorization中的timestamp格式错误"}
	}
	skew := e.now().Sub(time.Unix(ts, 0))
	if skew > maxSkew || skew < -maxSkew {
		return &authError{"Http头Authorization中的timestamp与发起请求的时间不得超过5分钟"}
	}
	msg := method + "\n" + requestURI + "\n" + kv["timestamp"] + "\n" + kv["nonce_str"] + "\n" + string(body) + "\n"
	sig, err := base64.StdEncoding.DecodeString(kv["signature"])
	if err != nil {
		return &authError{"错误的签名，验签失败"}
	}
	sum := sha256.Sum256([]byte(msg))
	if err := rsa.VerifyPKCS1v15(e.cfg.MerchantPublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return &authError{"错误的签名，验签失败"}
	}
	return nil
}

// parseAuthParams reads k="v" pairs separated by commas, in any order.
func parseAuthParams(s string) (map[string]string, error) {
	kv := map[string]string{}
	for {
		s = strings.TrimLeft(s, " ,")
		if s == "" {
			return kv, nil
		}
		k, v, ok := strings.Cut(s, `="`)
		if !ok {
			return nil, errors.New("bad pair")
		}
		end := strings.IndexByte(v, '"')
		if end < 0 {
			return nil, errors.New("unterminated value")
		}
		kv[strings.TrimSpace(k)] = v[:end]
		s = v[end+1:]
	}
}

// signHeaders returns the platform signature headers over body, as WeChat
// sends them on answers and notifications. bad makes a well-formed
// signature that does not verify.
func (e *Emulator) signHeaders(body []byte, bad bool) (map[string]string, error) {
	ts := strconv.FormatInt(e.now().Unix(), 10)
	nonce := randString(32)
	msg := ts + "\n" + nonce + "\n" + string(body) + "\n"
	if bad {
		msg += "tampered"
	}
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, e.cfg.PlatformKey, crypto.SHA256, sum[:])
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"Wechatpay-Serial":    e.cfg.PlatformKeyID,
		"Wechatpay-Timestamp": ts,
		"Wechatpay-Nonce":     nonce,
		"Wechatpay-Signature": base64.StdEncoding.EncodeToString(sig),
	}, nil
}

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func randString(n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alnum)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b[i] = alnum[v.Int64()]
	}
	return string(b)
}

// newDigits makes an id like WeChat's: a prefix, the date in Beijing time,
// and random digits.
func newDigits(prefix string, now time.Time, n int) string {
	var sb strings.Builder
	sb.WriteString(prefix)
	sb.WriteString(now.In(cst).Format("20060102"))
	for range n {
		v, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			panic(err)
		}
		fmt.Fprintf(&sb, "%d", v.Int64())
	}
	return sb.String()
}

// cst is Beijing time, which WeChat uses in every RFC 3339 field.
var cst = time.FixedZone("CST", 8*3600)

func rfc3339(t time.Time) string { return t.In(cst).Format(time.RFC3339) }
