package pgledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"till/checkout"
	"till/ledger"
)

// What a day's report reads, each a range of an index or one of the small
// open indexes, never the whole history: the orders paid in the day
// (orders_paid), the refunds settled in it (refunds_settled) and their
// orders, the open orders and refunds and the closed orders with a late
// check to come created before its end (orders_open, refunds_open,
// orders_follow_ups), the first order's time (orders_created) and the
// day's Z close.
const (
	sqlDayPaid    = `SELECT rec FROM orders WHERE paid_ns >= $1 AND paid_ns < $2 ORDER BY paid_ns, no`
	sqlDaySettled = `SELECT rec FROM refunds WHERE settled_ns >= $1 AND settled_ns < $2 ORDER BY settled_ns, no`
	sqlDayOrders  = `SELECT rec FROM orders WHERE no IN
		(SELECT order_no FROM refunds WHERE settled_ns >= $1 AND settled_ns < $2)`
	sqlDayOpen = `SELECT rec FROM orders WHERE state IN ('created', 'awaiting') AND created_ns < $1
		ORDER BY no`
	sqlDayFollowUps   = `SELECT rec FROM orders WHERE follow_up AND created_ns < $1 ORDER BY no`
	sqlDayOpenRefunds = `SELECT rec FROM refunds WHERE state = 'requested' AND created_ns < $1 ORDER BY no`
	sqlFirstOrder     = `SELECT min(created_ns) FROM orders`
	sqlDayCloses      = `SELECT rec FROM day_closes WHERE day = $1 ORDER BY counter`
	sqlLastClose      = `SELECT coalesce(max(seq), 0) FROM day_closes`
	sqlInsertClose    = `INSERT INTO day_closes (day, counter, seq, closed_ns, rec) VALUES ($1, $2, $3, $4, $5)`
)

// DayRecords reads what the figures of [from, to) are computed from, and
// day's Z close when day is not "", in one snapshot.
func (l *Ledger) DayRecords(ctx context.Context, from, to time.Time, day string) (checkout.DayRecords, error) {
	var out checkout.DayRecords
	err := l.view(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = dayRecords(ctx, tx, from, to, day)
		return err
	})
	return out, err
}

func dayRecords(ctx context.Context, q querier, from, to time.Time, day string) (checkout.DayRecords, error) {
	rec := checkout.DayRecords{From: from, To: to, Orders: map[string]checkout.Order{}}
	if !from.Before(to) {
		return rec, nil
	}
	lo, hi := from.UnixNano(), to.UnixNano()
	var err error
	if rec.Paid, err = records[checkout.Order](ctx, q, "order", sqlDayPaid, lo, hi); err != nil {
		return rec, err
	}
	if rec.Settled, err = records[checkout.Refund](ctx, q, "refund", sqlDaySettled, lo, hi); err != nil {
		return rec, err
	}
	orders, err := records[checkout.Order](ctx, q, "order", sqlDayOrders, lo, hi)
	if err != nil {
		return rec, err
	}
	for _, o := range orders {
		rec.Orders[o.No] = o
	}
	if rec.Open, err = records[checkout.Order](ctx, q, "order", sqlDayOpen, hi); err != nil {
		return rec, err
	}
	follow, err := records[checkout.Order](ctx, q, "order", sqlDayFollowUps, hi)
	if err != nil {
		return rec, err
	}
	for _, o := range follow {
		if !o.RecheckAt.IsZero() {
			rec.Rechecks = append(rec.Rechecks, o)
		}
	}
	if rec.OpenRefunds, err = records[checkout.Refund](ctx, q, "refund", sqlDayOpenRefunds, hi); err != nil {
		return rec, err
	}
	var first *int64
	if err := q.QueryRow(ctx, sqlFirstOrder).Scan(&first); err != nil {
		return rec, fmt.Errorf("reading the first order: %w", err)
	}
	if first != nil {
		rec.FirstOrder = time.Unix(0, *first)
	}
	if day != "" {
		zs, err := records[checkout.DayClose](ctx, q, "day close", sqlDayCloses, day)
		if err != nil {
			return rec, err
		}
		for _, z := range zs {
			if z.Counter == "" {
				rec.Close = &z
				continue
			}
			if rec.CounterCloses == nil {
				rec.CounterCloses = map[string]checkout.DayClose{}
			}
			rec.CounterCloses[z.Counter] = z
		}
	}
	return rec, nil
}

// closeColumns are the columns of a Z close's row, as closeRow gives them
// (sqlInsertClose, and a copy's COPY).
var closeColumns = []string{"day", "counter", "seq", "closed_ns", "rec"}

// closeRow is z's row; rec is its JSON.
func closeRow(z checkout.DayClose, rec []byte) []any {
	return []any{z.Day, z.Counter, z.Seq, z.ClosedAt.UnixNano(), rec}
}

// CloseDay stores day's Z close. It locks the audit trail's head first:
// every change that moves a figure (a sale paid, a refund settled) adds
// an entry under that lock, so none commits between the records build
// freezes and the close, just as bbolt's one writer keeps them out. The
// close gets the next number, the transaction's time and actor, and an
// audit entry (ledger.CloseDay); a closed day is never overwritten.
func (l *Ledger) CloseDay(ctx context.Context, from, to time.Time, day string, build func(checkout.DayRecords) (checkout.DayClose, error)) (checkout.DayClose, error) {
	if day == "" {
		return checkout.DayClose{}, errors.New("a day close needs its day")
	}
	var out checkout.DayClose
	err := l.update(ctx, func(w *wtx) error {
		if err := w.lockHead(); err != nil {
			return err
		}
		rec, err := dayRecords(w.ctx, w, from, to, day)
		if err != nil {
			return err
		}
		var last int
		if err := w.QueryRow(w.ctx, sqlLastClose).Scan(&last); err != nil {
			return fmt.Errorf("reading the last Z close: %w", err)
		}
		z, entry, err := ledger.CloseDay(rec, build, last, day, w.now, w.actor)
		if err != nil {
			return err
		}
		v, err := encode("day close", day, z)
		if err != nil {
			return err
		}
		if _, err := w.Exec(w.ctx, sqlInsertClose, closeRow(z, v)...); err != nil {
			if uniqueViolation(err) {
				return fmt.Errorf("day %s: %w", ledger.CloseKey(day, z.Counter), checkout.ErrDayClosed)
			}
			return fmt.Errorf("day close %s: %w", day, err)
		}
		w.audit(entry)
		w.announce("", "", w.actor.Terminal)
		out = z
		return nil
	})
	return out, err
}
