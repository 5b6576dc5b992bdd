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
//   - UpdatePIN locks manager_pin's one row (and then the head, for its
//     entry), so wrong PINs counted on two desks are both counted.
//   - CloseDay locks audit_head first, so no change that moves a figure
//     (each adds an entry under that lock) commits between the records it
//     freezes and the close.
//
// # Desks sharing the ledger
//
// Besides checkout.Ledger, a Ledger is what several desks on one database
// need of each other (locks.go, terminals.go, watch.go):
//
//   - checkout.OrderLocker: LockOrder, a session-level advisory lock on
//     the order number's hash, held by a connection of a second, small
//     pool (WithLockConns) for as long as the engine holds it, across a
//     provider call; a process that dies loses it with its connection.
//   - checkout.Terminals: Register records a desk (terminal id, host,
//     pid) with a heartbeat on the database's clock, refusing a second
//     live desk with the same id (TerminalInUseError); LiveTerminals
//     says who beat lately.
//   - checkout.Watcher: each transaction that writes an order or a
//     refund, or closes a day, NOTIFYs till_changes before it commits;
//     Watch LISTENs on a connection of its own and delivers them, with a
//     Reload after a reconnect.
//
// # A counter's file moved in
//
// Import (copy.go) takes a whole bbolt ledger (store.Export's
// ledger.Snapshot) into an empty database in one transaction that locks
// the ledger's tables first: the rows are the ones the changes write, the
// audit trail keeps its numbers and hashes, and the figures read back
// (ledger.Figures) must be the source's before it commits.
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
//	day_closes  (day, counter) PK, seq unique, closed_ns, rec (json of
//	            checkout.DayClose); counter '' is the whole shop's close
//	meta        key PK, value ('mode': sandbox or live)
//	manager_pin one row: rec (json of checkout.PINState), locked by UpdatePIN
//	operators   id PK, rec (json of checkout.Operator)
//	terminals   terminal PK, host, pid, started_ns, token, since,
//	            heartbeat_at, gone_at (timestamptz: the database's clock)
//
// Instants are BIGINT Unix nanoseconds, exactly the Go value (timestamptz
// keeps microseconds and rounds, which could move a sale across
// midnight), so a day is an index range with the same bounds as bbolt's
// keys. Money is BIGINT fen.
package pgledger
