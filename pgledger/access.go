package pgledger

import (
	"context"
	"fmt"

	"till/checkout"
	"till/ledger"
)

// The manager PIN and the operators live in the ledger beside the sales
// they guard and name, as in the bbolt ledger (store/access.go): the
// PIN's state in the one row of manager_pin, locked by each change of it,
// so that a lock (five wrong PINs) holds across desks and restarts.

var _ checkout.PINLedger = (*Ledger)(nil)

const (
	sqlPIN            = `SELECT rec FROM manager_pin`
	sqlLockPIN        = `SELECT rec FROM manager_pin FOR UPDATE`
	sqlSetPIN         = `UPDATE manager_pin SET rec = $1`
	sqlInsertOperator = `INSERT INTO operators (id, rec) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`
	sqlOperators      = `SELECT rec FROM operators ORDER BY id`
)

// PINState returns the manager PIN's state; the zero state when none was
// ever set.
func (l *Ledger) PINState(ctx context.Context) (checkout.PINState, error) {
	if err := ctx.Err(); err != nil {
		return checkout.PINState{}, err
	}
	return record[checkout.PINState](ctx, l.pool, "manager PIN", "state", sqlPIN)
}

// UpdatePIN runs fn on the stored PIN state, its row locked, stores what
// fn leaves and adds the audit entry fn returns (when it has a Kind), in
// one transaction. An error from fn writes nothing. Another desk's
// UpdatePIN waits for this one and then runs fn on what it stored.
func (l *Ledger) UpdatePIN(ctx context.Context, fn func(*checkout.PINState) (checkout.AuditEntry, error)) (checkout.PINState, error) {
	return change(l, ctx, func(w *wtx) (checkout.PINState, error) {
		cur, err := record[checkout.PINState](w.ctx, w, "manager PIN", "state", sqlLockPIN)
		if err != nil {
			return checkout.PINState{}, err
		}
		e, err := fn(&cur)
		if err != nil {
			return checkout.PINState{}, err
		}
		v, err := encode("manager PIN", "state", cur)
		if err != nil {
			return checkout.PINState{}, err
		}
		if _, err := w.Exec(w.ctx, sqlSetPIN, v); err != nil {
			return checkout.PINState{}, fmt.Errorf("storing the manager PIN: %w", err)
		}
		if e.Kind != "" {
			w.audit(e)
		}
		return cur, nil
	})
}

// AddOperator records a new operator and its audit entry
// (ledger.CheckNewOperator, ledger.OperatorAdded); an ID already taken,
// also by another desk at the same moment, is an error wrapping
// checkout.ErrExists.
func (l *Ledger) AddOperator(ctx context.Context, op checkout.Operator) (checkout.Operator, error) {
	op, err := ledger.CheckNewOperator(op)
	if err != nil {
		return op, err
	}
	return change(l, ctx, func(w *wtx) (checkout.Operator, error) {
		added, e := ledger.OperatorAdded(op, w.now)
		v, err := encode("operator", op.ID, added)
		if err != nil {
			return op, err
		}
		tag, err := w.Exec(w.ctx, sqlInsertOperator, operatorRow(added, v)...)
		if err != nil {
			return op, fmt.Errorf("operator %s: %w", op.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return op, fmt.Errorf("operator %s: %w", op.ID, checkout.ErrExists)
		}
		w.audit(e)
		return added, nil
	})
}

// operatorColumns are the columns of an operator's row, as operatorRow
// gives them (sqlInsertOperator, and a copy's COPY).
var operatorColumns = []string{"id", "rec"}

// operatorRow is op's row; rec is its JSON.
func operatorRow(op checkout.Operator, rec []byte) []any { return []any{op.ID, rec} }

// Operators returns the operators by ID.
func (l *Ledger) Operators(ctx context.Context) ([]checkout.Operator, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return records[checkout.Operator](ctx, l.pool, "operator", sqlOperators)
}
