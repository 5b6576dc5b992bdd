package sandbox

import "till/checkout"

// TestCode is a payment code the sandbox's emulators know: pasted at the
// desk's code prompt (as a barcode scanner types it), it makes the
// customer behave as Behaviour says. They are fixed and documented, so
// they can be printed without opening anything (`till sandbox code`).
type TestCode struct {
	Method    checkout.Method
	Behaviour string // the word `till sandbox code` takes
	Code      string
	What      string // what the customer does, in English
}

// TestCodes are the emulators' test codes (wechatemu and alipayemu decide
// the customer's behaviour from them). Any other well-formed code pays at
// once.
var TestCodes = []TestCode{
	{checkout.MethodWeChat, "pays", "134610000000000001", "pays at once"},
	{checkout.MethodWeChat, "password", "134610000000000002", "asks for the password, pays 5 s later"},
	{checkout.MethodWeChat, "never", "134610000000000003", "asks and never confirms: reversed at the code deadline"},
	{checkout.MethodWeChat, "balance", "134610000000000004", "insufficient balance"},
	{checkout.MethodWeChat, "expired", "134610000000000005", "the code expired"},
	{checkout.MethodAlipay, "pays", "286100000000000001", "pays at once"},
	{checkout.MethodAlipay, "password", "286100000000000002", "asks for the password, pays 5 s later"},
	{checkout.MethodAlipay, "never", "286100000000000003", "asks and never confirms: cancelled at the code deadline"},
	{checkout.MethodAlipay, "balance", "286100000000000004", "insufficient balance"},
	{checkout.MethodAlipay, "expired", "286100000000000005", "the code expired"},
}

// FindTestCode returns the test code of m that behaves as behaviour
// ("" means "pays").
func FindTestCode(m checkout.Method, behaviour string) (TestCode, bool) {
	if behaviour == "" {
		behaviour = "pays"
	}
	for _, c := range TestCodes {
		if c.Method == m && c.Behaviour == behaviour {
			return c, true
		}
	}
	return TestCode{}, false
}
