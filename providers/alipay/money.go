package alipay

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Shanghai on machines without zoneinfo

	"till/checkout"
)

// TimeLayout is how Alipay writes times, always in Beijing time.
const TimeLayout = "2006-01-02 15:04:05"

// Shanghai is Beijing time, the zone of every Alipay timestamp.
var Shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil { // cannot happen with time/tzdata linked in
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// parseYuan reads an Alipay amount ("12.30", "0.00") as fen, exactly:
// digits, then at most two decimals. Zero is allowed (refund_fee "0.00");
// signs, exponents, spaces and a third decimal are not.
func parseYuan(s string) (checkout.Money, error) {
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || (dot && (frac == "" || len(frac) > 2)) || len(whole) > 12 {
		return 0, fmt.Errorf("%q is not an amount in yuan", s)
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%q is not an amount in yuan", s)
		}
	}
	var fen int64
	for _, r := range whole {
		fen = fen*10 + int64(r-'0')
	}
	frac += strings.Repeat("0", 2-len(frac))
	fen = fen*100 + int64(frac[0]-'0')*10 + int64(frac[1]-'0')
	return checkout.Money(fen), nil
}

// parseTime reads an Alipay time in Beijing time; gmt_refund carries
// milliseconds. Empty or unreadable gives the zero time.
func parseTime(s string) time.Time {
	for _, layout := range []string{TimeLayout, "2006-01-02 15:04:05.000"} {
		if t, err := time.ParseInLocation(layout, s, Shanghai); err == nil {
			return t
		}
	}
	return time.Time{}
}
