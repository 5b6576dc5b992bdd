package alipayemu

import (
	"strings"
	"time"
)

// Test payment codes: what the emulated customer does when the clerk
// scans one with alipay.trade.pay. Each is a valid Alipay code (18 digits
// starting 28). Any other valid code (16–24 digits starting 25–30) pays at
// once, except one ending in 0003, which waits like CodeNeverConfirms (an
// older rule kept for compatibility). An invalid code is refused with
// ACQ.PAYMENT_AUTH_CODE_INVALID.
const (
	// CodePaysAtOnce pays on the spot: 10000 with the payment.
	CodePaysAtOnce = "286100000000000001"
	// CodeConfirmsLater asks for the password (10003) and pays
	// ConfirmDelay later by the emulator's clock: a query or cancel from
	// then on finds it paid.
	CodeConfirmsLater = "286100000000000002"
	// CodeNeverConfirms asks for the password (10003) and never confirms:
	// the trade waits until it is cancelled, expires, or Pay is called.
	CodeNeverConfirms = "286100000000000003"
	// CodeInsufficient is refused: 40004 ACQ.BUYER_BALANCE_NOT_ENOUGH.
	CodeInsufficient = "286100000000000004"
	// CodeExpired is refused: 40004 ACQ.PAYMENT_AUTH_CODE_INVALID (the
	// code expired or was already used).
	CodeExpired = "286100000000000005"
)

// ConfirmDelay is how long after the pay call the customer with
// CodeConfirmsLater confirms.
const ConfirmDelay = 5 * time.Second

// Behaviours of a payment code, as a trade keeps them (never the code).
const (
	behavePay     = "pay"
	behaveLater   = "confirms_later"
	behaveWait    = "waits"
	behaveBalance = "insufficient"
	behaveExpired = "expired"
)

// behaviourOf reads what the customer of a (valid) code does.
func behaviourOf(code string) string {
	switch code {
	case CodeConfirmsLater:
		return behaveLater
	case CodeNeverConfirms:
		return behaveWait
	case CodeInsufficient:
		return behaveBalance
	case CodeExpired:
		return behaveExpired
	}
	if strings.HasSuffix(code, "0003") {
		return behaveWait
	}
	return behavePay
}

// codeTail is what the emulator keeps of a code: its last four digits.
func codeTail(code string) string {
	if len(code) <= 4 {
		return code
	}
	return code[len(code)-4:]
}

// confirmLocked pays a waiting payment-code trade whose customer confirms
// by now (CodeConfirmsLater), as of the moment of the confirmation. A
// trade that expired first is left to expire.
func (e *Emulator) confirmLocked(t *trade, now time.Time) {
	if t.Status != StatusWaitBuyerPay || t.ConfirmAt.IsZero() || now.Before(t.ConfirmAt) {
		return
	}
	if !t.ExpiresAt.IsZero() && !t.ConfirmAt.Before(t.ExpiresAt) {
		return
	}
	before := t.info()
	t.Status = StatusSuccess
	t.PaidAt = t.ConfirmAt
	if err := e.saveLocked(t); err != nil {
		e.restoreLocked(t, before)
		return
	}
	e.notifyLocked(t, nil)
}
