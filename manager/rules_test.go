package manager

import (
	"errors"
	"testing"
)

func TestValidatePIN(t *testing.T) {
	cases := []struct {
		pin  string
		want PINCode // 0: accepted
	}{
		{"4826", 0},
		{"739155", 0},
		{"482619375031", 0},
		{"1235", 0},
		{"0912", 0},
		{"", PINTooShort},
		{"482", PINTooShort},
		{"4826193750312", PINTooLong},
		{"48a6", PINNotDigits},
		{"abcd", PINNotDigits},
		{"48 6", PINNotDigits},
		{"４８２６", PINNotDigits}, // full-width digits
		{"-482", PINNotDigits},
		{"0000", PINTooSimple},
		{"1111", PINTooSimple},
		{"99999999", PINTooSimple},
		{"1234", PINTooSimple},
		{"123456", PINTooSimple},
		{"0123456789", PINTooSimple},
		{"4321", PINTooSimple},
		{"9876", PINTooSimple},
		{"654321", PINTooSimple},
	}
	for _, c := range cases {
		err := ValidatePIN(c.pin)
		if c.want == 0 {
			if err != nil {
				t.Errorf("ValidatePIN(%q) = %v, want nil", c.pin, err)
			}
			continue
		}
		var pe *PINError
		if !errors.As(err, &pe) || pe.Code != c.want {
			t.Errorf("ValidatePIN(%q) = %v, want code %d", c.pin, err, c.want)
			continue
		}
		if pe.Error() == "" {
			t.Errorf("ValidatePIN(%q): empty message", c.pin)
		}
	}
}
