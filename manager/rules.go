package manager

// PIN length bounds, exported so a screen can say "4 to 12 digits".
const (
	MinPINLen = 4
	MaxPINLen = 12
)

// PINCode says why a new PIN was refused; a screen words it in the
// clerk's language.
type PINCode int

const (
	PINTooShort  PINCode = iota + 1 // fewer than MinPINLen digits
	PINTooLong                      // more than MaxPINLen digits
	PINNotDigits                    // something other than 0-9
	PINTooSimple                    // one digit repeated, or a straight run like 1234 or 4321
)

// PINError is a refused new PIN.
type PINError struct {
	Code PINCode
}

func (e *PINError) Error() string {
	switch e.Code {
	case PINTooShort:
		return "manager: the PIN must have at least 4 digits"
	case PINTooLong:
		return "manager: the PIN must have at most 12 digits"
	case PINNotDigits:
		return "manager: the PIN must be digits 0-9 only"
	case PINTooSimple:
		return "manager: the PIN is too easy to guess (one digit repeated, or a run like 1234)"
	}
	return "manager: the PIN is not allowed"
}

// ValidatePIN checks a new PIN against the rules, so a screen can refuse
// it before asking for the old one. Only ASCII digits are allowed: the
// keypad of every desk can type them, whatever input method is on.
func ValidatePIN(pin string) error {
	for i := 0; i < len(pin); i++ {
		if pin[i] < '0' || pin[i] > '9' {
			return &PINError{Code: PINNotDigits}
		}
	}
	switch {
	case len(pin) < MinPINLen:
		return &PINError{Code: PINTooShort}
	case len(pin) > MaxPINLen:
		return &PINError{Code: PINTooLong}
	case tooSimple(pin):
		return &PINError{Code: PINTooSimple}
	}
	return nil
}

// tooSimple reports a PIN whose digits all step by the same 0, +1 or -1:
// 0000, 1234, 9876 are the first ones a guesser tries.
func tooSimple(pin string) bool {
	step := int(pin[1]) - int(pin[0])
	if step < -1 || step > 1 {
		return false
	}
	for i := 2; i < len(pin); i++ {
		if int(pin[i])-int(pin[i-1]) != step {
			return false
		}
	}
	return true
}
