package checkout

import (
	"errors"
	"strings"
	"testing"
)

func TestParseMoneyAccepts(t *testing.T) {
	cases := []struct {
		in   string
		want Money
	}{
		{"12.30", 1230},
		{"12.3", 1230},
		{"12", 1200},
		{"12.", 1200},
		{".5", 50},
		{"0.01", 1},
		{"¥12.30", 1230},
		{"￥ 7.05", 705},
		{" 100.00 ", 10000},
		{"007.10", 710},
		{"10000.00", 1_000_000},
		{"12,30", 1230},
		{"12,3", 1230},
		{",5", 50},
		{"¥9,90", 990},
		// What a Chinese keyboard types: full-width digits and signs, the
		// ideographic full stop, an ideographic space.
		{"１２．３０", 1230},
		{"12。5", 1250},
		{"１２，３", 1230},
		{"￥４５.60", 4560},
		{"\u300045.60", 4560},
	}
	for _, c := range cases {
		got, err := ParseMoney(c.in, DefaultCeiling)
		if err != nil {
			t.Errorf("ParseMoney(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseMoney(%q) = %d fen, want %d", c.in, got, c.want)
		}
	}
}

func TestParseMoneyRefuses(t *testing.T) {
	cases := []struct {
		in, why string
	}{
		{"12.345", "more than two decimals"},
		{"-1", "negative"},
		{"0", "at least 0.01"},
		{"0.00", "at least 0.01"},
		{"abc", "not an amount"},
		{"1e3", "not an amount"},
		{"", "enter an amount"},
		{".", "enter an amount"},
		{",", "enter an amount"},
		{"¥ .", "enter an amount"},
		{"0,00", "at least 0.01"},
		{"1,234,567", "unclear"},
		{"１，２３４", "unclear"},
		{"12,34,567", "more than one decimal comma"},
		{"0,500", "more than two decimals"},
		{"00,123", "more than two decimals"},
		{"..", "more than one decimal point"},
		{",,", "more than one decimal comma"},
		{".,", "both a point and a comma"},
		{"1.2.3", "more than one decimal point"},
		{"1,234.50", "both a point and a comma"},
		{"12.30,5", "both a point and a comma"},
		{"1,2,3", "more than one decimal comma"},
		{"1,234", "unclear"},
		{"1,234,", "more than one decimal comma"},
		{"10000.01", "above the limit"},
		{"99999999999999", "too large"},
		{"+5", "not an amount"},
		{"NaN", "not an amount"},
	}
	for _, c := range cases {
		got, err := ParseMoney(c.in, DefaultCeiling)
		if err == nil {
			t.Errorf("ParseMoney(%q) = %d, want refusal (%s)", c.in, got, c.why)
			continue
		}
		if !errors.Is(err, ErrAmount) {
			t.Errorf("ParseMoney(%q) error %v does not wrap ErrAmount", c.in, err)
		}
		if !strings.Contains(err.Error(), c.why) {
			t.Errorf("ParseMoney(%q) message %q does not say %q", c.in, err, c.why)
		}
	}
}

func TestMoneyFormats(t *testing.T) {
	cases := []struct {
		m         Money
		str, yuan string
	}{
		{1230, "12.30", "¥12.30"},
		{1, "0.01", "¥0.01"},
		{100, "1.00", "¥1.00"},
		{123456789, "1234567.89", "¥1,234,567.89"},
		{-1230, "-12.30", "-¥12.30"},
		{0, "0.00", "¥0.00"},
	}
	for _, c := range cases {
		if got := c.m.String(); got != c.str {
			t.Errorf("Money(%d).String() = %q, want %q", c.m, got, c.str)
		}
		if got := c.m.Yuan(); got != c.yuan {
			t.Errorf("Money(%d).Yuan() = %q, want %q", c.m, got, c.yuan)
		}
	}
}

// FuzzParseMoneyRoundTrip checks that whatever ParseMoney accepts formats
// back to a string that parses to the same fen.
func FuzzParseMoneyRoundTrip(f *testing.F) {
	for _, s := range []string{"12.30", "0.01", "1e3", "-1", "12.345", "¥5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMoney(s, 0)
		if err != nil {
			return
		}
		if m <= 0 {
			t.Fatalf("accepted non-positive %d from %q", m, s)
		}
		back, err := ParseMoney(m.String(), 0)
		if err != nil || back != m {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, m, m.String(), back, err)
		}
	})
}
