// Package store keeps till's ledger in one bbolt file and implements
// checkout.Ledger on it. Every Ledger method is one bbolt transaction, so a
// check (a state compare-and-set, the refund ceiling) and the write it
// guards never fall apart, and bbolt's fsync on commit means a sale the
// clerk saw recorded survives a power cut.
//
// # Schema
//
// All buckets sit at the root of the file:
//
//	meta
//	  schema_version      -> uint64, 8 bytes big-endian
//	orders
//	  <order no>          -> checkout.Order (binary since v5, JSON before: codec.go)
//	orders_by_created
//	  <created><order no> -> empty
//	orders_by_paid
//	  <paid><order no>    -> empty      (only orders with a PaidAt)
//	open
//	  <order no>          -> empty      (only orders in created or awaiting)
//	follow_ups
//	  <order no>          -> empty      (only settled orders that need a look:
//	                                     a late check, a late payment to acknowledge)
//	refunds
//	  <refund no>         -> checkout.Refund (binary since v5, JSON before)
//	refunds_by_order
//	  <order no> 0x00 <refund no> -> empty
//	refunds_by_settled
//	  <settled><refund no> -> empty     (succeeded: SucceededAt; failed: FailedAt)
//	open_refunds
//	  <refund no>         -> empty      (only refunds still requested)
//	audit, audit_by_time, audit_by_order   (the hash-chained trail; audit.go)
//	operators
//	  <id>                -> JSON checkout.Operator
//	day_closes
//	  <YYYY-MM-DD>        -> JSON checkout.DayClose (the shop's Z close of a day)
//	  <YYYY-MM-DD>/<terminal> -> JSON checkout.DayClose (one counter's close of it)
//	meta/last_close       -> the last Z close's number, decimal
//
// <created>, <paid> and <settled> are the instant's UnixNano as 8 bytes big-endian, so
// the keys sort by time whatever the zone and a day is one cursor range;
// the order number after it keeps keys unique when two orders share a
// nanosecond. Order numbers also sort by creation time (see
// checkout.Numbers) but the indexes do not rely on it. Order and refund
// numbers are [0-9A-Za-z_-], so the 0x00 separator cannot occur in them and
// "<order no> 0x00" is an exact prefix for one order's refunds.
//
// Buckets whose keys only grow at the end are written with a high
// FillPercent (appendBucket in orders.go), and Compact (compact.go) packs
// a file whose pages a migration or deletes freed.
//
// Indexes are written in the same transaction as the record they point to.
// open holds only unsettled orders, and follow_ups only orders with a late
// check due or a late payment nobody has acknowledged, so a settling pass
// reads a handful of keys, not the whole history.
//
// Export (export.go) hands the whole ledger, as one read transaction
// sees it, to a copy into another kind (pgledger.Import).
//
// # Versions
//
// meta/schema_version counts the migrations applied (see migrations in
// schema.go). Open applies the missing ones in one transaction and refuses
// a file written by a newer till (ErrSchemaNewer) rather than guess at it.
//
// # Locking
//
// bbolt allows one writer per file. Open waits at most the lock timeout
// (3 s by default) and then fails with ErrLocked, naming the file, instead
// of hanging behind another desk.
package store
