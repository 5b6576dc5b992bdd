package checkout

// CodeMemory reports what engine e still remembers of code sale no: a
// "paid" the ledger could not record, a clerk's cancel (for the second
// review of issue 14's tests in package checkout_test).
func CodeMemory(e *Engine, no string) (paid, cancelled bool) {
	_, paid = e.codePaid.Load(no)
	_, cancelled = e.codeCancelled.Load(no)
	return paid, cancelled
}
