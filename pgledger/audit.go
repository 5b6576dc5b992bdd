package pgledger

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"till/checkout"
	"till/ledger"
)

// The audit trail: one chain for every desk on the database. An entry is
// numbered and linked to the one before under the row lock of the
// one-row audit_head table, taken in the transaction of the change the
// entry records (and, as it serialises every change that audits, as late
// in it as can be: flush, just before the commit). Two desks writing at
// once take turns for the head; neither can number an entry the other
// numbered, or link to an entry the other's rollback took away.

const (
	sqlLockHead    = `SELECT seq, hash FROM audit_head FOR UPDATE`
	sqlSetHead     = `UPDATE audit_head SET seq = $1, hash = $2`
	sqlInsertAudit = `INSERT INTO audit (seq, at_ns, order_no, entry) VALUES ($1, $2, $3, $4)`
	sqlAuditOf     = `SELECT entry FROM audit WHERE order_no = $1 ORDER BY seq`
	sqlAuditAt     = `SELECT entry FROM audit WHERE at_ns >= $1 AND at_ns < $2 ORDER BY at_ns, seq`
	sqlHead        = `SELECT seq, hash FROM audit_head`
	sqlAuditAll    = `SELECT seq, entry FROM audit ORDER BY seq`
)

// auditHead is the audit_head row: the last entry's number and hash.
type auditHead struct {
	Seq  uint64
	Hash string
}

// audit adds e to the entries the transaction writes when its work is
// done.
func (w *wtx) audit(e checkout.AuditEntry) { w.pending = append(w.pending, e) }

// lockHead locks the chain's head for the rest of the transaction (once).
func (w *wtx) lockHead() error {
	if w.head != nil {
		return nil
	}
	var h auditHead
	var seq int64
	if err := w.QueryRow(w.ctx, sqlLockHead).Scan(&seq, &h.Hash); err != nil {
		return fmt.Errorf("locking the audit trail's head: %w", err)
	}
	h.Seq = uint64(seq)
	w.head = &h
	return nil
}

// flush writes the pending entries after the head, stamped with the
// transaction's time and actor, and moves the head to the last of them.
func (w *wtx) flush() error {
	if len(w.pending) == 0 {
		return nil
	}
	if err := w.lockHead(); err != nil {
		return err
	}
	h := *w.head
	for _, e := range w.pending {
		e = ledger.Chain(e, h.Seq, h.Hash, w.now, w.actor)
		v, err := encode("audit entry", fmt.Sprint(e.Seq), e)
		if err != nil {
			return err
		}
		if _, err := w.Exec(w.ctx, sqlInsertAudit, auditRow(e, v)...); err != nil {
			return fmt.Errorf("audit entry %d: %w", e.Seq, err)
		}
		h = auditHead{Seq: e.Seq, Hash: e.Hash}
		w.added = append(w.added, e)
	}
	w.pending = nil
	if _, err := w.Exec(w.ctx, sqlSetHead, int64(h.Seq), h.Hash); err != nil {
		return fmt.Errorf("moving the audit trail's head: %w", err)
	}
	*w.head = h
	return nil
}

// auditColumns are the columns of an entry's row, as auditRow gives them
// (sqlInsertAudit, and a copy's COPY).
var auditColumns = []string{"seq", "at_ns", "order_no", "entry"}

// auditRow is e's row; entry is its JSON.
func auditRow(e checkout.AuditEntry, entry []byte) []any {
	var order *string // NULL for an entry of no order
	if e.Order != "" {
		order = &e.Order
	}
	return []any{int64(e.Seq), e.At.UnixNano(), order, entry}
}

// Append adds an entry that records no change of its own (a refusal, a
// wrong PIN), stamped with ctx's actor.
func (l *Ledger) Append(ctx context.Context, e checkout.AuditEntry) (checkout.AuditEntry, error) {
	return change(l, ctx, func(w *wtx) (checkout.AuditEntry, error) {
		w.audit(e)
		if err := w.flush(); err != nil {
			return checkout.AuditEntry{}, err
		}
		return w.added[0], nil
	})
}

// AuditOf returns an order's entries, its refunds' included, oldest first.
func (l *Ledger) AuditOf(ctx context.Context, orderNo string) ([]checkout.AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return records[checkout.AuditEntry](ctx, l.pool, "audit entry", sqlAuditOf, orderNo)
}

// AuditBetween returns the entries stamped in [from, to), oldest first.
func (l *Ledger) AuditBetween(ctx context.Context, from, to time.Time) ([]checkout.AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return records[checkout.AuditEntry](ctx, l.pool, "audit entry", sqlAuditAt, from.UnixNano(), to.UnixNano())
}

// VerifyAudit walks the whole trail in number order, in one snapshot, and
// checks it as ledger.ChainCheck does against audit_head.
func (l *Ledger) VerifyAudit(ctx context.Context) (checkout.AuditCheck, error) {
	var out checkout.AuditCheck
	err := l.view(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = verifyAudit(ctx, tx)
		return err
	})
	return out, err
}

// verifyAudit is VerifyAudit's walk, on what q sees.
func verifyAudit(ctx context.Context, q querier) (checkout.AuditCheck, error) {
	var headSeq int64
	var headHash string
	if err := q.QueryRow(ctx, sqlHead).Scan(&headSeq, &headHash); err != nil {
		return checkout.AuditCheck{}, fmt.Errorf("reading the audit trail's head: %w", err)
	}
	rows, err := q.Query(ctx, sqlAuditAll)
	if err != nil {
		return checkout.AuditCheck{}, fmt.Errorf("reading the audit trail: %w", err)
	}
	defer rows.Close()
	walk := ledger.NewChainCheck()
	for rows.Next() {
		var seq int64
		var raw []byte
		if err := rows.Scan(&seq, &raw); err != nil {
			return checkout.AuditCheck{}, fmt.Errorf("reading the audit trail: %w", err)
		}
		var e checkout.AuditEntry
		derr := json.Unmarshal(raw, &e)
		if !walk.Entry(uint64(seq), e, derr) {
			break
		}
	}
	if err := rows.Err(); err != nil {
		return checkout.AuditCheck{}, fmt.Errorf("reading the audit trail: %w", err)
	}
	return walk.End(uint64(headSeq), headHash), nil
}
