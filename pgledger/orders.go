package pgledger

import (
	"context"
	"fmt"
	"time"

	"till/checkout"
	"till/ledger"
)

// The queries on orders. Each range or list has an index (migrations):
// orders_created, orders_paid, orders_open, orders_follow_ups.
const (
	sqlOrder        = `SELECT rec FROM orders WHERE no = $1`
	sqlLockOrder    = `SELECT rec FROM orders WHERE no = $1 FOR UPDATE`
	sqlOpenOrders   = `SELECT rec FROM orders WHERE state IN ('created', 'awaiting') ORDER BY created_ns, no`
	sqlFollowUps    = `SELECT rec FROM orders WHERE follow_up ORDER BY created_ns, no`
	sqlOrderCreated = `SELECT rec FROM orders WHERE created_ns >= $1 AND created_ns < $2
		ORDER BY created_ns DESC, no DESC LIMIT $3`
	sqlInsertOrder = `INSERT INTO orders (no, state, amount_fen, refunded_fen, created_ns, paid_ns, follow_up, rec)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (no) DO NOTHING`
	sqlUpdateOrder = `UPDATE orders SET state = $2, refunded_fen = $3, paid_ns = $4, follow_up = $5, rec = $6
		WHERE no = $1`
)

// CreateOrder stores a new order. A zero CreatedAt or UpdatedAt is
// stamped from the clock. It returns an error wrapping checkout.ErrExists
// if the number is taken.
func (l *Ledger) CreateOrder(ctx context.Context, o checkout.Order) error {
	if err := ledger.CheckNewOrder(o); err != nil {
		return err
	}
	return l.update(ctx, func(w *wtx) error {
		return putOrder(w, nil, ledger.NewOrder(o, w.now))
	})
}

// Order returns an order by number, or an error wrapping
// checkout.ErrNotFound.
func (l *Ledger) Order(ctx context.Context, no string) (checkout.Order, error) {
	if err := ctx.Err(); err != nil {
		return checkout.Order{}, err
	}
	return record[checkout.Order](ctx, l.pool, "order", no, sqlOrder, no)
}

// lockOrder reads an order and locks its row until the transaction ends:
// every change of an order, and every refund of it, goes through here
// first, so two desks changing one order take turns.
func lockOrder(w *wtx, no string) (checkout.Order, error) {
	o, err := record[checkout.Order](w.ctx, w, "order", no, sqlLockOrder, no)
	if err == nil {
		if w.terminals == nil {
			w.terminals = map[string]string{}
		}
		w.terminals[o.No] = o.Terminal
	}
	return o, err
}

// Advance moves an order to `to` as one compare-and-set on the locked
// row: a move State.CanMoveTo refuses returns a *checkout.TransitionError
// carrying the stored order and writes nothing (ledger.AdvanceOrder).
func (l *Ledger) Advance(ctx context.Context, no string, to checkout.State, fn func(*checkout.Order)) (checkout.Order, error) {
	return change(l, ctx, func(w *wtx) (checkout.Order, error) { return ledger.AdvanceOrder(w, no, to, fn, w.now) })
}

// Update edits an order's bookkeeping without moving its state, on the
// locked row: an error from fn is returned as is and writes nothing
// (ledger.UpdateOrder).
func (l *Ledger) Update(ctx context.Context, no string, fn func(*checkout.Order) error) (checkout.Order, error) {
	return change(l, ctx, func(w *wtx) (checkout.Order, error) { return ledger.UpdateOrder(w, no, fn, w.now) })
}

// OpenOrders returns the orders in created or awaiting, oldest first,
// from the orders_open index.
func (l *Ledger) OpenOrders(ctx context.Context) ([]checkout.Order, error) {
	return l.list(ctx, sqlOpenOrders)
}

// FollowUps returns the settled orders that still need a look (a late
// check to run, a late payment to acknowledge), oldest first, from the
// orders_follow_ups index.
func (l *Ledger) FollowUps(ctx context.Context) ([]checkout.Order, error) {
	return l.list(ctx, sqlFollowUps)
}

func (l *Ledger) list(ctx context.Context, sql string, args ...any) ([]checkout.Order, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return records[checkout.Order](ctx, l.pool, "order", sql, args...)
}

// OrdersCreated returns the orders created in [from, to), newest first, at
// most limit of them (limit <= 0: all).
func (l *Ledger) OrdersCreated(ctx context.Context, from, to time.Time, limit int) ([]checkout.Order, error) {
	if !from.Before(to) {
		return nil, nil
	}
	var n *int // NULL: no limit
	if limit > 0 {
		n = &limit
	}
	return l.list(ctx, sqlOrderCreated, from.UnixNano(), to.UnixNano(), n)
}

// orderColumns are the columns of an order's row, as orderRow gives them
// (sqlInsertOrder, and a copy's COPY).
var orderColumns = []string{"no", "state", "amount_fen", "refunded_fen", "created_ns", "paid_ns", "follow_up", "rec"}

// orderRow is o's row: the columns the indexes read, and rec, its JSON.
func orderRow(o checkout.Order, rec []byte) []any {
	return []any{o.No, string(o.State), int64(o.Amount), int64(o.Refunded), o.CreatedAt.UnixNano(), ns(o.PaidAt), o.NeedsFollowUp(), rec}
}

// putOrder saves o (a new one when old is nil, which must not exist yet)
// with the columns the indexes read, and adds its audit entry. old is the
// order as stored before this transaction.
func putOrder(w *wtx, old *checkout.Order, o checkout.Order) error {
	v, err := encode("order", o.No, o)
	if err != nil {
		return err
	}
	if old == nil {
		tag, err := w.Exec(w.ctx, sqlInsertOrder, orderRow(o, v)...)
		if err != nil {
			return fmt.Errorf("order %s: %w", o.No, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("order %s: %w", o.No, checkout.ErrExists)
		}
	} else if _, err := w.Exec(w.ctx, sqlUpdateOrder, o.No, string(o.State), int64(o.Refunded), ns(o.PaidAt), o.NeedsFollowUp(), v); err != nil {
		return fmt.Errorf("order %s: %w", o.No, err)
	}
	if e := ledger.OrderEntry(old, o); e != nil {
		w.audit(*e)
	}
	w.announce(o.No, "", o.Terminal)
	return nil
}
