package pgledger

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"till/checkout"
	"till/ledger"
)

// The queries on refunds; indexes refunds_order, refunds_settled and
// refunds_open (migrations).
const (
	sqlRefund     = `SELECT rec FROM refunds WHERE no = $1`
	sqlLockRefund = `SELECT rec FROM refunds WHERE no = $1 FOR UPDATE`
	sqlRefundOf   = `SELECT order_no FROM refunds WHERE no = $1`
	sqlRefundNew  = `SELECT NOT EXISTS (SELECT 1 FROM refunds WHERE no = $1)`
	sqlHasRefunds = `SELECT EXISTS (SELECT 1 FROM refunds WHERE order_no = $1)`
	// What an order's refunds take out of its amount: an in-flight refund
	// may still succeed, so it counts (as ledger.Held counts).
	sqlHeld = `SELECT coalesce(sum(amount_fen), 0) FROM refunds
		WHERE order_no = $1 AND state IN ('requested', 'succeeded')`
	// An order's refunds, oldest first; one row with a NULL when it has
	// none, and no row when there is no such order.
	sqlRefunds = `SELECT r.rec FROM orders o LEFT JOIN refunds r ON r.order_no = o.no
		WHERE o.no = $1 ORDER BY r.created_ns, r.no`
	sqlOpenRefunds  = `SELECT rec FROM refunds WHERE state = 'requested' ORDER BY created_ns, no`
	sqlInsertRefund = `INSERT INTO refunds (no, order_no, state, amount_fen, created_ns, settled_ns, rec)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (no) DO NOTHING`
	sqlUpdateRefund = `UPDATE refunds SET state = $2, settled_ns = $3, rec = $4 WHERE no = $1`
)

// CreateRefund records r (requested, or succeeded when the provider
// already did it) and returns its order as stored afterwards. The order's
// row is locked first, so the ceiling is checked against every refund
// committed before it, and a refund racing this one on another desk waits
// for this transaction and then sees this refund: checkout.ErrNotFound,
// checkout.ErrExists (the refund number), checkout.ErrTransition (not
// paid) and checkout.ErrRefundAboveBalance as ledger.CreateRefund says. A
// succeeded refund moves the order at once.
func (l *Ledger) CreateRefund(ctx context.Context, r checkout.Refund) (checkout.Order, error) {
	if err := ledger.CheckNewRefund(r); err != nil {
		return checkout.Order{}, err
	}
	return change(l, ctx, func(w *wtx) (checkout.Order, error) { return ledger.CreateRefund(w, r, w.now) })
}

// SettleRefund moves a requested refund to `to` (succeeded or failed) and
// on success adds it to its order, in one transaction that locks the
// order and then the refund (the order that CreateRefund locks in). A
// refund already in `to` is returned unchanged with no error; one in the
// other final state is an error wrapping checkout.ErrTransition.
func (l *Ledger) SettleRefund(ctx context.Context, refundNo string, to checkout.RefundState, fn func(*checkout.Refund)) (checkout.Refund, checkout.Order, error) {
	if err := ledger.CheckSettle(refundNo, to); err != nil {
		return checkout.Refund{}, checkout.Order{}, err
	}
	type settled struct {
		r checkout.Refund
		o checkout.Order
	}
	out, err := change(l, ctx, func(w *wtx) (settled, error) {
		r, o, err := ledger.SettleRefund(w, refundNo, to, fn, w.now)
		return settled{r, o}, err
	})
	return out.r, out.o, err
}

// PaidAndRefunded records that an open or closed order was paid and then
// refunded in full by the provider, on the locked order row
// (ledger.PaidAndRefunded): r is stored as succeeded for the order's
// amount and the order ends refunded. An order already paid (or failed)
// gives a *checkout.TransitionError carrying it as stored.
func (l *Ledger) PaidAndRefunded(ctx context.Context, no string, paid func(*checkout.Order), r checkout.Refund) (checkout.Order, error) {
	return change(l, ctx, func(w *wtx) (checkout.Order, error) { return ledger.PaidAndRefunded(w, no, paid, r, w.now) })
}

// Refunds returns an order's refunds, oldest first, or an error wrapping
// checkout.ErrNotFound when there is no such order: one statement.
func (l *Ledger) Refunds(ctx context.Context, orderNo string) ([]checkout.Refund, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, err := l.pool.Query(ctx, sqlRefunds, orderNo)
	if err != nil {
		return nil, fmt.Errorf("reading the refunds of order %s: %w", orderNo, err)
	}
	found := false
	out, err := decodeRows[checkout.Refund](rows, "refund", func() { found = true })
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("order %s: %w", orderNo, checkout.ErrNotFound)
	}
	return out, nil
}

// Refund returns a refund by number, or an error wrapping
// checkout.ErrNotFound.
func (l *Ledger) Refund(ctx context.Context, no string) (checkout.Refund, error) {
	if err := ctx.Err(); err != nil {
		return checkout.Refund{}, err
	}
	return record[checkout.Refund](ctx, l.pool, "refund", no, sqlRefund, no)
}

// OpenRefunds returns the refunds still requested, oldest first, from the
// refunds_open index.
func (l *Ledger) OpenRefunds(ctx context.Context) ([]checkout.Refund, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return records[checkout.Refund](ctx, l.pool, "refund", sqlOpenRefunds)
}

// UpdateRefund edits a refund's bookkeeping on its locked row; fn may
// refuse with an error, which writes nothing (ledger.UpdateRefund).
func (l *Ledger) UpdateRefund(ctx context.Context, no string, fn func(*checkout.Refund) error) (checkout.Refund, error) {
	return change(l, ctx, func(w *wtx) (checkout.Refund, error) { return ledger.UpdateRefund(w, no, fn, w.now) })
}

// refundColumns are the columns of a refund's row, as refundRow gives
// them (sqlInsertRefund, and a copy's COPY).
var refundColumns = []string{"no", "order_no", "state", "amount_fen", "created_ns", "settled_ns", "rec"}

// refundRow is r's row: the columns the indexes read, and rec, its JSON.
func refundRow(r checkout.Refund, rec []byte) []any {
	return []any{r.No, r.OrderNo, string(r.State), int64(r.Amount), r.CreatedAt.UnixNano(), ns(r.SettledAt()), rec}
}

// putRefund saves r (a new one when old is nil) with the columns the
// indexes read and, when it is new or settled, adds its audit entry.
func putRefund(w *wtx, old *checkout.Refund, r checkout.Refund) error {
	v, err := encode("refund", r.No, r)
	if err != nil {
		return err
	}
	if old == nil {
		tag, err := w.Exec(w.ctx, sqlInsertRefund, refundRow(r, v)...)
		if err != nil {
			return fmt.Errorf("refund %s: %w", r.No, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("refund %s: %w", r.No, checkout.ErrExists)
		}
	} else if _, err := w.Exec(w.ctx, sqlUpdateRefund, r.No, string(r.State), ns(r.SettledAt()), v); err != nil {
		return fmt.Errorf("refund %s: %w", r.No, err)
	}
	if e := ledger.RefundEntry(old, r); e != nil {
		w.audit(*e)
	}
	w.announce(r.OrderNo, r.No, w.terminals[r.OrderNo]) // its order was locked first
	return nil
}

// A write transaction's records, as the ledger package's changes read and
// write them (ledger.Records). Order and Refund lock what they read: an
// order's row, then its refund's, so two desks changing one order (or
// refunding it) take turns, and never deadlock on each other.
var _ ledger.Records = (*wtx)(nil)

// Order reads an order and locks its row until the transaction ends.
func (w *wtx) Order(no string) (checkout.Order, error) { return lockOrder(w, no) }

// Refund locks a refund's order and then the refund, and reads both. A
// refund's order never changes, so reading it before the locks is safe.
func (w *wtx) Refund(no string) (checkout.Order, checkout.Refund, error) {
	var orderNo string
	err := w.QueryRow(w.ctx, sqlRefundOf, no).Scan(&orderNo)
	if errors.Is(err, pgx.ErrNoRows) {
		return checkout.Order{}, checkout.Refund{}, fmt.Errorf("refund %s: %w", no, checkout.ErrNotFound)
	}
	if err != nil {
		return checkout.Order{}, checkout.Refund{}, fmt.Errorf("reading refund %s: %w", no, err)
	}
	o, err := lockOrder(w, orderNo)
	if err != nil {
		return checkout.Order{}, checkout.Refund{}, fmt.Errorf("refund %s: %w", no, err)
	}
	r, err := record[checkout.Refund](w.ctx, w, "refund", no, sqlLockRefund, no)
	return o, r, err
}

// RefundIsNew refuses a refund number already taken. (The primary key
// refuses it too, should two refunds of different orders race for one
// number: putRefund says ErrExists then.)
func (w *wtx) RefundIsNew(no string) error {
	var isNew bool
	if err := w.QueryRow(w.ctx, sqlRefundNew, no).Scan(&isNew); err != nil {
		return fmt.Errorf("refund %s: %w", no, err)
	}
	if !isNew {
		return fmt.Errorf("refund %s: %w", no, checkout.ErrExists)
	}
	return nil
}

// Held sums the order's requested and succeeded refunds; its row is
// locked, so no refund of it commits meanwhile.
func (w *wtx) Held(orderNo string) (checkout.Money, error) {
	var held int64
	if err := w.QueryRow(w.ctx, sqlHeld, orderNo).Scan(&held); err != nil {
		return 0, fmt.Errorf("order %s: its refunds: %w", orderNo, err)
	}
	return checkout.Money(held), nil
}

func (w *wtx) HasRefunds(orderNo string) (bool, error) {
	var has bool
	if err := w.QueryRow(w.ctx, sqlHasRefunds, orderNo).Scan(&has); err != nil {
		return false, fmt.Errorf("order %s: its refunds: %w", orderNo, err)
	}
	return has, nil
}

func (w *wtx) PutOrder(old *checkout.Order, o checkout.Order) error    { return putOrder(w, old, o) }
func (w *wtx) PutRefund(old *checkout.Refund, r checkout.Refund) error { return putRefund(w, old, r) }
