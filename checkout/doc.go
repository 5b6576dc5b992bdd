// Package checkout is the centre of till: money, orders, refunds, the order
// state machine, the Provider and Ledger interfaces it needs, and the Engine
// that drives a sale. It imports nothing of till's and no UI, HTTP or
// database package, so the money rules are tested in milliseconds.
//
// # Order lifecycle
//
//	created ──provider accepted──> awaiting ──paid──> paid ──refunds──> partially_refunded ──> refunded
//	   │                              │                 ^
//	   └─provider refused─> failed    └─timeout / cancel / provider closed──> closed
//	                                                    │
//	                                                    └─ a later query or close finds it paid ─> paid
//
// The order is written as created before the provider is called, so a crash
// between the two leaves a record that recovery settles by query. Every
// transition is a compare-and-set in one ledger transaction; a state moves
// only forward (see State.CanMoveTo), so a late or duplicate event cannot
// move an order back. closed -> paid is allowed on purpose: when the provider
// says the money arrived, the ledger follows the money.
//
// # Unknown outcomes
//
// A provider call that timed out, was reset or answered 5xx has an unknown
// outcome. Providers report it as an error that is not a definite
// *ProviderError (see IsDefinite); the engine never treats it as failed but
// settles it by query with the same out_trade_no or out_refund_no.
package checkout
