// Package pgledger keeps till's ledger in a PostgreSQL database that
// several desks (and till serve) share, and implements checkout.Ledger on
// it with the bbolt ledger's guarantees (package store is the reference;
// package ledger holds the rules and the bodies of the changes both run,
// over this package's reads and writes: ledger.Records).
//
// # Transactions
//
// Every Ledger method is one transaction. A write runs at READ COMMITTED
// and locks what it compares and sets before it reads it (SELECT … FOR
// UPDATE), so a state moves as a compare-and-set on the locked row,
// never read in one statement and written on what another statement
// read. Locks are taken in one order: an order's row, then its refund's,
// then the audit trail's head; so two desks never deadlock on them. A
// read of several statements (DayRecords, VerifyAudit) runs in one
// REPEATABLE READ snapshot.
//
//   - Advance, Update and PaidAndRefunded lock the order.
//   - CreateRefund locks the order and then sums its refunds: a second
//     refund of the same order, on another desk, waits for the first to
//     commit and then counts it, so the ceiling holds across processes.
//   - SettleRefund and UpdateRefund lock the refund's order, then the
//     refund.
//   - Each audit entry is numbered and linked under the row lock of
//     audit_head, taken when the change's work is done, just before the
//     commit: one chain for every desk.
//   - CloseDay locks audit_head first, so no change that moves a figure
//     (each adds an entry under that lock) commits between the records it
//     freezes and the close.
//
// # Schema
//
// Embedded numbered migrations (migrations/NNNN_name.sql), applied at Open
// in one transaction under an advisory lock, recorded in
// schema_migrations; a database with a newer version than this till
// knows is refused (SchemaNewerError).
//
//	orders      no PK, state, amount_fen, refunded_fen, created_ns,
//	            paid_ns, follow_up, rec (json of checkout.Order)
//	            indexes: (created_ns, no); (paid_ns, no) where paid;
//	            (created_ns, no) where created or awaiting; … where follow_up
//	refunds     no PK, order_no → orders, state, amount_fen, created_ns,
//	            settled_ns, rec (json of checkout.Refund)
//	            indexes: (order_no, created_ns, no); (settled_ns, no) where
//	            settled; (created_ns, no) where requested
//	audit       seq PK, at_ns, order_no, entry (json of checkout.AuditEntry)
//	            indexes: (at_ns, seq); (order_no, seq)
//	audit_head  one row: seq, hash of the last entry
//	day_closes  day PK, seq unique, closed_ns, rec (json of checkout.DayClose)
//	meta        key PK, value ('mode': sandbox or live)
//	manager_pin one row: rec (json of checkout.PINState), locked by UpdatePIN
//	operators   id PK, rec (json of checkout.Operator)
//
// Instants are BIGINT Unix nanoseconds, exactly the Go value (timestamptz
// keeps microseconds and rounds, which could move a sale across
// midnight), so a day is an index range with the same bounds as bbolt's
// keys. Money is BIGINT fen.
package pgledger
