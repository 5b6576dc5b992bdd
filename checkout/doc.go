// Package checkout is the centre of till: money, orders, refunds, the order
// state machine, the Provider and Ledger interfaces it needs, and the Engine
// that drives a sale. It imports nothing of till's and no UI, HTTP or
// database package, so the money rules are tested in milliseconds.
//
// # Order lifecycle
//
//	created ──provider accepted──> awaiting ──paid──> paid ──refunds──> partially_refunded ──> refunded
//	   │                              │  │                ^
//	   └─provider refused─> failed    │  └─paid, another amount─> disputed (final; both amounts kept)
//	                                  └─timeout / clerk cancel / provider closed──> closed ──late payment──┘
//
// A query that fails never leads to a close: the order stays open and is
// asked again, by the screen and then by Recover. Closing uses the
// provider's close, which refuses a paid trade; a close that says "paid"
// is confirmed by query and the sale stands. A close that found no trade
// (Alipay before the scan) locked nothing, so such an order gets a late
// check (Order.RecheckAt) after the provider's own expiry (PayableUntil)
// plus Config.LateCheckMargin: a payment found then moves it closed ->
// paid with the Late mark, and it stays in the ledger's follow-ups until a
// clerk acknowledges it. A payment of another amount is disputed: final,
// never polled again, not a sale.
//
// The order is written as created before the provider is called, so a crash
// between the two leaves a record that recovery settles by query. Every
// transition is a compare-and-set in one ledger transaction; a state moves
// only forward (see State.CanMoveTo), so a late or duplicate event cannot
// move an order back. closed -> paid is allowed on purpose: when the provider
// says the money arrived, the ledger follows the money.
//
// # Ledger faults
//
// A ledger write that fails after a provider answered is a *SaveError: the
// order is left as stored (open), so polling and recovery go on asking and
// the write is retried until it lands. Every call that names an order
// answers with at least its number.
//
// # Unknown outcomes
//
// A provider call that timed out, was reset or answered 5xx has an unknown
// outcome. Providers report it as an error that is not a definite
// *ProviderError (see IsDefinite); the engine never treats it as failed but
// settles it by query with the same out_trade_no or out_refund_no.
package checkout
