package alipayemu

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
)

// field is one member of a JSON object written in a fixed order, as Alipay
// writes its answers. v is a string, an obj, or a []obj.
type field struct {
	k string
	v any
}

type obj []field

// encode writes o as compact JSON with slashes escaped ("https:\/\/…"), the
// way Alipay does; the signature covers exactly these bytes.
func (o obj) encode() []byte {
	var b bytes.Buffer
	o.write(&b)
	return b.Bytes()
}

func (o obj) write(b *bytes.Buffer) {
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, f.k)
		b.WriteByte(':')
		switch v := f.v.(type) {
		case string:
			writeString(b, v)
		case obj:
			v.write(b)
		case []obj:
			b.WriteByte('[')
			for j, e := range v {
				if j > 0 {
					b.WriteByte(',')
				}
				e.write(b)
			}
			b.WriteByte(']')
		default:
			raw, _ := json.Marshal(v)
			b.Write(raw)
		}
	}
	b.WriteByte('}')
}

func writeString(b *bytes.Buffer, s string) {
	raw, _ := json.Marshal(s)
	b.Write(bytes.ReplaceAll(raw, []byte("/"), []byte(`\/`)))
}

// signContent is the official signing rule: every parameter except sign
// and the ignored keys, empty values dropped, sorted by key, joined as raw
// k=v with &.
func signContent(values url.Values, ignore ...string) string {
	skip := map[string]bool{"sign": true}
	for _, k := range ignore {
		skip[k] = true
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		if !skip[k] && values.Get(k) != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = k + "=" + values.Get(k)
	}
	return strings.Join(pairs, "&")
}

func signRSA2(key *rsa.PrivateKey, content []byte) (string, error) {
	sum := sha256.Sum256(content)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

func verifyRSA2(key *rsa.PublicKey, content []byte, sign string) error {
	sig, err := base64.StdEncoding.DecodeString(sign)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(content)
	return rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig)
}
