package pgledger

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/jackc/pgx/v5"

	"till/checkout"
	"till/ledger"
)

// Import moves a counter's whole ledger (store.Export's snapshot) into
// this one, for a shop going from one counter to several: orders,
// refunds, the audit trail with its numbers and hashes (so it verifies
// here with the same head), the Z closes and their numbering, the
// operators, the manager PIN's state and the mode stamp.
//
// It is one transaction, which first locks every table a change writes
// (a desk already on this database waits for the copy, and sells on it
// after), refuses a ledger that holds anything (*NotEmptyError) or is
// stamped with the other mode (*ledger.WrongModeError), COPYs the
// records, and reads the figures back (ledger.Figures, the trail walked
// as VerifyAudit walks it) before it commits: any difference from the
// source's, counted in a pass of their own, rolls it back
// (*MismatchError). So does any error, or ctx ending: the ledger is then
// as it was. A source whose trail does not verify is refused before
// anything is written (*BrokenTrailError): a copy would hide where it
// broke.
func (l *Ledger) Import(ctx context.Context, src ledger.Snapshot) (source, copied ledger.Figures, err error) {
	source, err = ledger.Count(src)
	if err != nil {
		return source, copied, fmt.Errorf("reading the ledger to copy: %w", err)
	}
	if !source.Chain.OK() {
		return source, copied, &BrokenTrailError{Check: source.Chain}
	}
	if source.Mode == "" {
		return source, copied, errors.New("the ledger to copy has no mode stamp (sandbox or live): a desk stamps it when it opens it")
	}
	err = pgx.BeginTxFunc(ctx, l.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlLockLedger); err != nil {
			return fmt.Errorf("locking the ledger %s: %w", l.name, err)
		}
		held, err := l.figures(ctx, tx)
		if err != nil {
			return err
		}
		if !held.Empty() {
			return &NotEmptyError{Name: l.name, Holds: held}
		}
		stamp, err := ledger.Bind(l.name, held.Mode, source.Mode)
		if err != nil {
			return err
		}
		if stamp {
			if _, err := tx.Exec(ctx, sqlStampMode, source.Mode); err != nil {
				return fmt.Errorf("stamping the ledger's mode: %w", err)
			}
		}
		if err := copyRecords(ctx, tx, src); err != nil {
			return err
		}
		if err := copyMeta(ctx, tx, source); err != nil {
			return err
		}
		if copied, err = l.figures(ctx, tx); err != nil {
			return err
		}
		if copied.Chain, err = verifyAudit(ctx, tx); err != nil {
			return err
		}
		if !source.Equal(copied) {
			return &MismatchError{Name: l.name, Source: source, Copied: copied}
		}
		// A desk already watching this ledger reads everything again at
		// the commit.
		if err := notify(ctx, tx, announcement{Reload: true}); err != nil {
			return fmt.Errorf("announcing the copy: %w", err)
		}
		return nil
	})
	return source, copied, err
}

// NotEmptyError refuses a copy into a ledger that holds records already
// (Holds says what): the two would mix, and neither trail would verify.
type NotEmptyError struct {
	Name  string
	Holds ledger.Figures
}

func (e *NotEmptyError) Error() string {
	return fmt.Sprintf("%s is not empty (%d audit entries, %d Z closes, %d operators): copy only into an empty ledger",
		e.Name, e.Holds.Audit, e.Holds.Closes, e.Holds.Operators)
}

// MismatchError is a copy whose figures, read back before the commit,
// differ from the source's: it was rolled back.
type MismatchError struct {
	Name           string
	Source, Copied ledger.Figures
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("the copy in %s does not match the ledger it was made from: rolled back", e.Name)
}

// BrokenTrailError refuses a source whose audit trail does not verify.
type BrokenTrailError struct{ Check checkout.AuditCheck }

func (e *BrokenTrailError) Error() string {
	return fmt.Sprintf("the audit trail to copy is broken at entry %d: %s", e.Check.Broken, e.Check.Reason)
}

// sqlLockLedger keeps every other writer out of the tables a change
// writes until the copy commits; reads go on. The tables are locked in
// the order a change takes them: the rows it writes (an order, its
// refunds, the PIN, an operator, the mode stamp), then the chain's head
// (CloseDay takes it first), then the trail and the closes, written
// under the head. A desk mid-change when the copy starts so finishes,
// and the copy waits for it; in another order the two would deadlock
// and the server would abort one.
const sqlLockLedger = `LOCK TABLE orders, refunds, manager_pin, operators, meta, audit_head, audit, day_closes IN EXCLUSIVE MODE`

// copyRecords COPYs src's records, orders before the refunds that refer
// to them. The rows are the ones the changes write (orderRow, …), so
// every index reads them as it reads a sale made here.
func copyRecords(ctx context.Context, tx pgx.Tx, src ledger.Snapshot) error {
	if err := copyTable(ctx, tx, "orders", orderColumns, src.Orders(), func(o checkout.Order) ([]any, error) {
		v, err := encode("order", o.No, o)
		return orderRow(o, v), err
	}); err != nil {
		return err
	}
	if err := copyTable(ctx, tx, "refunds", refundColumns, src.Refunds(), func(r checkout.Refund) ([]any, error) {
		v, err := encode("refund", r.No, r)
		return refundRow(r, v), err
	}); err != nil {
		return err
	}
	if err := copyTable(ctx, tx, "audit", auditColumns, src.Audit(), func(e checkout.AuditEntry) ([]any, error) {
		v, err := encode("audit entry", fmt.Sprint(e.Seq), e)
		return auditRow(e, v), err
	}); err != nil {
		return err
	}
	if err := copyTable(ctx, tx, "day_closes", closeColumns, src.DayCloses(), func(z checkout.DayClose) ([]any, error) {
		v, err := encode("day close", z.Day, z)
		return closeRow(z, v), err
	}); err != nil {
		return err
	}
	return copyTable(ctx, tx, "operators", operatorColumns, src.Operators(), func(op checkout.Operator) ([]any, error) {
		v, err := encode("operator", op.ID, op)
		return operatorRow(op, v), err
	})
}

// copyTable COPYs the records seq yields into table, each as row makes
// it, streaming: a shop's million orders are never all in memory.
func copyTable[T any](ctx context.Context, tx pgx.Tx, table string, columns []string, seq iter.Seq2[T, error], row func(T) ([]any, error)) error {
	next, stop := iter.Pull2(seq)
	defer stop()
	var failed error // the source's or row's error, rather than the COPY's report of it
	_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromFunc(func() ([]any, error) {
		x, err, ok := next()
		if !ok {
			return nil, nil
		}
		var r []any
		if err == nil {
			r, err = row(x)
		}
		if err != nil {
			failed = err
			return nil, err
		}
		return r, nil
	}))
	if failed != nil {
		err = failed
	}
	if err != nil {
		return fmt.Errorf("copying the %s: %w", table, err)
	}
	return nil
}

// copyMeta moves the trail's head and the manager PIN's state (the mode
// is stamped by Import; the last Z number here is the highest close's).
func copyMeta(ctx context.Context, tx pgx.Tx, f ledger.Figures) error {
	if _, err := tx.Exec(ctx, sqlSetHead, int64(f.Head.Seq), f.Head.Hash); err != nil {
		return fmt.Errorf("moving the audit trail's head: %w", err)
	}
	v, err := encode("manager PIN", "state", f.PIN)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, sqlSetPIN, v); err != nil {
		return fmt.Errorf("storing the manager PIN: %w", err)
	}
	return nil
}

// What figures reads: tallies by state, counts, and the single rows.
const (
	sqlOrderTallies  = `SELECT state, count(*), sum(amount_fen)::bigint FROM orders GROUP BY state`
	sqlRefundTallies = `SELECT state, count(*), sum(amount_fen)::bigint FROM refunds GROUP BY state`
	sqlCounts        = `SELECT (SELECT count(*) FROM audit), (SELECT count(*) FROM day_closes),
		(SELECT coalesce(max(seq), 0) FROM day_closes), (SELECT count(*) FROM operators)`
)

// figures are the ledger's figures as q sees them, but for Chain (the
// walk of the trail, verifyAudit's).
func (l *Ledger) figures(ctx context.Context, q querier) (ledger.Figures, error) {
	f := ledger.NewFigures()
	var err error
	if f.Mode, err = l.mode(ctx, q); err != nil {
		return f, err
	}
	if err := tallies(ctx, q, sqlOrderTallies, func(state string, t ledger.Tally) { f.Orders[checkout.State(state)] = t }); err != nil {
		return f, fmt.Errorf("counting the orders: %w", err)
	}
	if err := tallies(ctx, q, sqlRefundTallies, func(state string, t ledger.Tally) { f.Refunds[checkout.RefundState(state)] = t }); err != nil {
		return f, fmt.Errorf("counting the refunds: %w", err)
	}
	if err := q.QueryRow(ctx, sqlCounts).Scan(&f.Audit, &f.Closes, &f.LastClose, &f.Operators); err != nil {
		return f, fmt.Errorf("counting the ledger's records: %w", err)
	}
	var seq int64
	if err := q.QueryRow(ctx, sqlHead).Scan(&seq, &f.Head.Hash); err != nil {
		return f, fmt.Errorf("reading the audit trail's head: %w", err)
	}
	f.Head.Seq = uint64(seq)
	f.PIN, err = record[checkout.PINState](ctx, q, "manager PIN", "state", sqlPIN)
	return f, err
}

// tallies runs a query of (state, count, sum) rows and hands each to add.
func tallies(ctx context.Context, q querier, sql string, add func(state string, t ledger.Tally)) error {
	rows, err := q.Query(ctx, sql)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n, sum int64
		if err := rows.Scan(&state, &n, &sum); err != nil {
			return err
		}
		add(state, ledger.Tally{Count: n, Amount: checkout.Money(sum)})
	}
	return rows.Err()
}
