package checkout

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/text/width"
)

// Money is an amount in fen (1/100 yuan). till never uses floating point
// for money: parsing and formatting are exact decimal string operations.
type Money int64

// DefaultCeiling is the largest single sale accepted unless configured
// otherwise: ¥10,000.00.
const DefaultCeiling Money = 1_000_000

// ErrAmount is the sentinel wrapped by every refused amount.
var ErrAmount = errors.New("invalid amount")

// AmountError says why an amount was refused, in words a clerk
// understands (Reason, English, for logs and the command line) and as a
// Code a screen can put into its own language.
type AmountError struct {
	Input  string
	Code   AmountCode
	Reason string
	Limit  Money // the ceiling, for AmountAboveLimit
	Amount Money // what was asked, for AmountAboveLimit
}

func (e *AmountError) Error() string { return e.Reason }
func (e *AmountError) Unwrap() error { return ErrAmount }

// AmountCode names why an amount was refused.
type AmountCode string

const (
	AmountEmpty      AmountCode = "empty"        // nothing typed
	AmountNotANumber AmountCode = "not_a_number" // letters, signs, exponents
	AmountTwoPoints  AmountCode = "two_points"   // more than one decimal point
	AmountMixed      AmountCode = "mixed"        // both a point and a comma
	AmountThousands  AmountCode = "thousands"    // "1,234": a thousands comma, or three decimals?
	AmountNegative   AmountCode = "negative"     // a minus sign
	AmountDecimals   AmountCode = "decimals"     // more than two decimals
	AmountTooLarge   AmountCode = "too_large"    // more digits than any sale
	AmountZero       AmountCode = "zero"         // below one fen
	AmountAboveLimit AmountCode = "above_limit"  // above the configured ceiling
)

func refuse(input string, code AmountCode, format string, args ...any) *AmountError {
	return &AmountError{Input: input, Code: code, Reason: fmt.Sprintf(format, args...)}
}

// Quoted is what a refusal echoes of the input: at most a short prefix,
// so a paste of a page of text does not come back as a page of error.
func Quoted(s string) string {
	const max = 12
	if r := []rune(s); len(r) > max {
		return fmt.Sprintf("%q…", string(r[:max]))
	}
	return fmt.Sprintf("%q", s)
}

// ParseMoney reads an amount in yuan as a clerk types it: "12", "12.3",
// "12.30", "¥12.30", "0.01", and "12,30": a comma is the decimal point
// when it is the only separator (as many keyboards and shops write it).
// It refuses a point and a comma together, a comma before exactly three
// digits ("1,234" could be a thousands separator), more than two
// decimals, signs, exponents, zero, and amounts above ceiling (when
// ceiling > 0). Nothing is ever silently dropped.
func ParseMoney(s string, ceiling Money) (Money, error) {
	in := strings.TrimSpace(NarrowAmount(s))
	in = strings.TrimPrefix(in, "¥")
	in = strings.TrimSpace(in)
	if in == "" || in == "." || in == "," {
		return 0, refuse(s, AmountEmpty, "enter an amount, e.g. 12.30")
	}
	if strings.Contains(in, ",") {
		whole, frac, _ := strings.Cut(in, ",")
		switch {
		case strings.Contains(in, "."):
			return 0, refuse(s, AmountMixed, "%s has both a point and a comma: use one decimal point, e.g. 12.30", Quoted(s))
		case thousandsGroups(in):
			return 0, refuse(s, AmountThousands, "%s is unclear: type %s without commas for a thousand and more, or use a point for decimals, e.g. 12.34", Quoted(s), strings.ReplaceAll(in, ",", ""))
		case strings.Contains(frac, ","):
			return 0, refuse(s, AmountTwoPoints, "%s is not an amount: more than one decimal comma", Quoted(s))
		}
		in = whole + "." + frac
	}
	whole, frac, hasDot := strings.Cut(in, ".")
	if hasDot && strings.Contains(frac, ".") {
		return 0, refuse(s, AmountTwoPoints, "%s is not an amount: more than one decimal point", Quoted(s))
	}
	if whole == "" && !hasDot {
		return 0, refuse(s, AmountNotANumber, "%s is not an amount", Quoted(s))
	}
	if whole == "" {
		whole = "0"
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			if r == '-' {
				return 0, refuse(s, AmountNegative, "amounts cannot be negative")
			}
			return 0, refuse(s, AmountNotANumber, "%s is not an amount: use digits and one decimal point, e.g. 12.30", Quoted(s))
		}
	}
	if len(frac) > 2 {
		return 0, refuse(s, AmountDecimals, "%s has more than two decimals: the smallest unit is 0.01 (one fen)", Quoted(s))
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 12 {
		return 0, refuse(s, AmountTooLarge, "%s is too large", Quoted(s))
	}
	var fen int64
	for _, r := range whole {
		fen = fen*10 + int64(r-'0')
	}
	frac += strings.Repeat("0", 2-len(frac))
	fen = fen*100 + int64(frac[0]-'0')*10 + int64(frac[1]-'0')
	m := Money(fen)
	if m <= 0 {
		return 0, refuse(s, AmountZero, "the amount must be at least 0.01")
	}
	if ceiling > 0 && m > ceiling {
		e := refuse(s, AmountAboveLimit, "%s is above the limit of %s for one sale", m, ceiling)
		e.Limit, e.Amount = ceiling, m
		return 0, e
	}
	return m, nil
}

// NarrowAmount turns what a Chinese keyboard types into the ASCII an
// amount is read in: full-width digits and signs ("１２．３０") become
// their narrow forms, and the ideographic full stop "。", which a Chinese
// input method types for ".", becomes a point. Every other rune is kept,
// so a refusal still echoes what was typed.
func NarrowAmount(s string) string {
	// x/text narrows "。" to the half-width "｡", which is still no point.
	return strings.NewReplacer("。", ".", "｡", ".").Replace(width.Narrow.String(s))
}

// thousandsGroups reports "1,234" or "12,345,678": digits, then one or
// more commas each followed by exactly three digits, which a clerk may
// have meant as a thousands separator as well as a decimal comma.
func thousandsGroups(s string) bool {
	groups := strings.Split(s, ",")
	// "0,500" is no thousand: a number does not start with a 0 group.
	if groups[0] == "" || groups[0][0] == '0' || !allDigits(groups[0]) {
		return false
	}
	for _, g := range groups[1:] {
		if len(g) != 3 || !allDigits(g) {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// String formats the amount in yuan with exactly two decimals, "12.30".
// This is also the form Alipay's total_amount wants.
func (m Money) String() string {
	sign := ""
	v := int64(m)
	if v < 0 {
		sign = "-"
		v = -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// Yuan formats the amount for people: "¥12.30", with thousands separated
// ("¥1,234.50").
func (m Money) Yuan() string {
	s := m.String()
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return sign + "¥" + b.String() + "." + frac
}
