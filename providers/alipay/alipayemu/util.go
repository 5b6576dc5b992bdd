package alipayemu

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Shanghai on machines without zoneinfo
)

// timeLayout is Alipay's time format, always Beijing time.
const timeLayout = "2006-01-02 15:04:05"

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

func beijing(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(shanghai).Format(timeLayout)
}

// maxFen is Alipay's ceiling for one amount: 100,000,000 yuan.
const maxFen = 100_000_000 * 100

var errAmount = errors.New("invalid amount")

// parseFen reads a yuan amount as Alipay accepts it: digits, and at most two
// decimals. No float is involved.
func parseFen(s string) (int64, error) {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || (dot && (frac == "" || len(frac) > 2)) || len(whole) > 10 {
		return 0, errAmount
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, errAmount
		}
	}
	var fen int64
	for _, r := range whole {
		fen = fen*10 + int64(r-'0')
	}
	frac += strings.Repeat("0", 2-len(frac))
	fen = fen*100 + int64(frac[0]-'0')*10 + int64(frac[1]-'0')
	return fen, nil
}

// yuan formats fen as Alipay does: "12.30".
func yuan(fen int64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomDigits(n int) string {
	var b strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}

const tokenAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newToken makes the payer page's path element, shaped like Alipay's
// https://qr.alipay.com/bax0… codes.
func newToken() string {
	var b strings.Builder
	b.WriteString("bax")
	for range 21 {
		d, _ := rand.Int(rand.Reader, big.NewInt(int64(len(tokenAlphabet))))
		b.WriteByte(tokenAlphabet[d.Int64()])
	}
	return b.String()
}
