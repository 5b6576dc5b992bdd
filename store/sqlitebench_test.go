package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"till/checkout"
)

// The same ledger workload on SQLite (modernc.org/sqlite, pure Go: WAL,
// synchronous=FULL, so a commit is as durable as bbolt's), as the
// alternative a user would pick: test code only, so till's binary does not
// carry it.
//
// Schema. One orders table holds each order as the same JSON document the
// bbolt ledger stores (the body column: checkout.Order marshalled by
// encoding/json), plus, as columns, only what a query selects or sorts by:
// no (the key), method, amount_fen, state, created_at, paid_at (UnixNano;
// NULL until paid) and follow_up (the follow_ups index's condition). Keeping
// the document rather than a column per field means both ledgers encode and
// decode the same bytes into the same structs, so the figures compare the
// storage engines and not two encodings; a column per field would change
// both at once (and every new Order field would need a migration). A
// refunds table does the same for checkout.Refund, with settled_at (the
// SucceededAt or FailedAt the report reads refunds by). The indexes are
// the ones the workload reads by, the same as bbolt's:
//
//	orders_by_created  (created_at, no)         today's list, newest first
//	orders_by_paid     (paid_at, no)  partial   the day report's sales
//	orders_open        (state)        partial   open orders: created, awaiting
//	orders_follow_up   (no)           partial   closed orders with a check to come
//	refunds_by_order   (order_no)               an order's refunds, the refund ceiling
//	refunds_by_settled (settled_at, no) partial the day report's refunds
//	refunds_open       (state)        partial   refunds still requested
//
// The partial indexes hold only the rows they serve (as bbolt's open and
// follow_ups buckets do), so a settled history adds nothing to them. The
// audit trail bbolt writes with every change (a hash-chained entry per
// transition) has no counterpart here: SQLite's writes are the lighter of
// the two, a floor for what a SQLite ledger with a trail would cost.
const sqliteSchema = `
CREATE TABLE orders (
	no         TEXT PRIMARY KEY,
	method     TEXT NOT NULL,
	amount_fen INTEGER NOT NULL,
	state      TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	paid_at    INTEGER,
	follow_up  INTEGER NOT NULL DEFAULT 0,
	body       BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX orders_by_created ON orders (created_at, no);
CREATE INDEX orders_by_paid ON orders (paid_at, no) WHERE paid_at IS NOT NULL;
CREATE INDEX orders_open ON orders (state) WHERE state IN ('created', 'awaiting');
CREATE INDEX orders_follow_up ON orders (no) WHERE follow_up = 1;
CREATE TABLE refunds (
	no         TEXT PRIMARY KEY,
	order_no   TEXT NOT NULL REFERENCES orders (no),
	state      TEXT NOT NULL,
	amount_fen INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	settled_at INTEGER,
	body       BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX refunds_by_order ON refunds (order_no);
CREATE INDEX refunds_by_settled ON refunds (settled_at, no) WHERE settled_at IS NOT NULL;
CREATE INDEX refunds_open ON refunds (state) WHERE state = 'requested';
CREATE TABLE day_closes (
	day  TEXT PRIMARY KEY,
	body BLOB NOT NULL
) WITHOUT ROWID;
`

// sqlLedger is the SQLite ledger of the benchmarks.
type sqlLedger struct {
	db   *sql.DB
	path string
}

// sqliteDSN opens path in WAL mode with synchronous=FULL (every commit
// fsyncs the WAL), a busy timeout for writers that meet, and BEGIN
// IMMEDIATE for transactions, so a read-modify-write takes the write lock
// first rather than failing to upgrade it.
func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(OFF)&_txlock=immediate"
}

// openSQLite opens (creating it and its schema when new) the SQLite ledger
// at path with a pool of at most conns connections.
func openSQLite(tb testing.TB, path string, conns int) *sqlLedger {
	tb.Helper()
	db, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(0)
	tb.Cleanup(func() { db.Close() })
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'orders'`).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	if n == 0 {
		if _, err := db.Exec(sqliteSchema); err != nil {
			tb.Fatal(err)
		}
	}
	return &sqlLedger{db: db, path: path}
}

// newSQLite opens a fresh SQLite ledger in a fresh directory on the disk.
func newSQLite(tb testing.TB, conns int) *sqlLedger {
	tb.Helper()
	return openSQLite(tb, filepath.Join(benchDir(tb), "till.sqlite"), conns)
}

// nanos is t as the columns hold it; NULL for a zero time.
func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// execer is a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// putOrder inserts or replaces o's row.
func (l *sqlLedger) putOrder(ctx context.Context, ex execer, o checkout.Order) error {
	body, err := json.Marshal(o)
	if err != nil {
		return err
	}
	followUp := 0
	if o.NeedsFollowUp() {
		followUp = 1
	}
	_, err = ex.ExecContext(ctx, `INSERT INTO orders (no, method, amount_fen, state, created_at, paid_at, follow_up, body)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (no) DO UPDATE SET state = excluded.state, paid_at = excluded.paid_at,
			follow_up = excluded.follow_up, body = excluded.body`,
		o.No, string(o.Method), int64(o.Amount), string(o.State), o.CreatedAt.UnixNano(), nanos(o.PaidAt), followUp, body)
	return err
}

// putRefund inserts or replaces r's row.
func (l *sqlLedger) putRefund(ctx context.Context, ex execer, r checkout.Refund) error {
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	settled := r.SucceededAt
	if r.State == checkout.RefundFailed {
		settled = r.FailedAt
	}
	if r.State == checkout.RefundRequested {
		settled = time.Time{}
	}
	_, err = ex.ExecContext(ctx, `INSERT INTO refunds (no, order_no, state, amount_fen, created_at, settled_at, body)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (no) DO UPDATE SET state = excluded.state, settled_at = excluded.settled_at, body = excluded.body`,
		r.No, r.OrderNo, string(r.State), int64(r.Amount), r.CreatedAt.UnixNano(), nanos(settled), body)
	return err
}

// create writes a new order: one INSERT, one commit.
func (l *sqlLedger) create(ctx context.Context, o checkout.Order) error {
	body, err := json.Marshal(o)
	if err != nil {
		return err
	}
	_, err = l.db.ExecContext(ctx, `INSERT INTO orders (no, method, amount_fen, state, created_at, paid_at, follow_up, body)
		VALUES (?, ?, ?, ?, ?, ?, 0, ?)`,
		o.No, string(o.Method), int64(o.Amount), string(o.State), o.CreatedAt.UnixNano(), nanos(o.PaidAt), body)
	return err
}

// advance is store.Store.Advance on SQLite: in one transaction (BEGIN
// IMMEDIATE) read the order, check the move, apply fn, write it back.
func (l *sqlLedger) advance(ctx context.Context, no string, to checkout.State, now time.Time, fn func(*checkout.Order)) (checkout.Order, error) {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return checkout.Order{}, err
	}
	defer tx.Rollback()
	var body []byte
	if err := tx.QueryRowContext(ctx, `SELECT body FROM orders WHERE no = ?`, no).Scan(&body); err != nil {
		return checkout.Order{}, fmt.Errorf("order %s: %w", no, err)
	}
	var cur checkout.Order
	if err := json.Unmarshal(body, &cur); err != nil {
		return checkout.Order{}, err
	}
	if !cur.State.CanMoveTo(to) {
		return cur, &checkout.TransitionError{From: cur.State, To: to, Current: cur}
	}
	next := cur
	if fn != nil {
		fn(&next)
	}
	next.No, next.CreatedAt, next.Amount = cur.No, cur.CreatedAt, cur.Amount
	next.State, next.UpdatedAt = to, now
	if to == checkout.StatePaid && next.PaidAt.IsZero() {
		next.PaidAt = now
	}
	if err := l.putOrder(ctx, tx, next); err != nil {
		return checkout.Order{}, err
	}
	return next, tx.Commit()
}

// orders decodes the body column of each row.
func scanOrders(rows *sql.Rows, err error) ([]checkout.Order, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []checkout.Order
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		var o checkout.Order
		if err := json.Unmarshal(body, &o); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

func scanRefunds(rows *sql.Rows, err error) ([]checkout.Refund, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []checkout.Refund
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		var r checkout.Refund
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ordersCreated is store.Store.OrdersCreated on SQLite: the orders created
// in [from, to), newest first.
func (l *sqlLedger) ordersCreated(ctx context.Context, from, to time.Time) ([]checkout.Order, error) {
	return scanOrders(l.db.QueryContext(ctx, `SELECT body FROM orders
		WHERE created_at >= ? AND created_at < ? ORDER BY created_at DESC, no DESC`, from.UnixNano(), to.UnixNano()))
}

// dayRecords is store.Store.DayRecords on SQLite, in one read transaction:
// the orders paid in [from, to), the refunds settled in it with their
// orders, the open orders and refunds and the rechecks created before to,
// the first order's time and the day's Z close.
func (l *sqlLedger) dayRecords(ctx context.Context, from, to time.Time, day string) (checkout.DayRecords, error) {
	rec := checkout.DayRecords{From: from, To: to, Orders: map[string]checkout.Order{}}
	tx, err := l.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return rec, err
	}
	defer tx.Rollback()
	lo, hi := from.UnixNano(), to.UnixNano()
	if rec.Paid, err = scanOrders(tx.QueryContext(ctx, `SELECT body FROM orders
		WHERE paid_at >= ? AND paid_at < ? ORDER BY paid_at, no`, lo, hi)); err != nil {
		return rec, err
	}
	if rec.Settled, err = scanRefunds(tx.QueryContext(ctx, `SELECT body FROM refunds
		WHERE settled_at >= ? AND settled_at < ? ORDER BY settled_at, no`, lo, hi)); err != nil {
		return rec, err
	}
	refunded, err := scanOrders(tx.QueryContext(ctx, `SELECT body FROM orders WHERE no IN
		(SELECT order_no FROM refunds WHERE settled_at >= ? AND settled_at < ?)`, lo, hi))
	if err != nil {
		return rec, err
	}
	for _, o := range refunded {
		rec.Orders[o.No] = o
	}
	if rec.Open, err = scanOrders(tx.QueryContext(ctx, `SELECT body FROM orders
		WHERE state IN ('created', 'awaiting') AND created_at < ? ORDER BY no`, hi)); err != nil {
		return rec, err
	}
	// The follow-up rows are few; the recheck condition is in the body.
	followUps, err := scanOrders(tx.QueryContext(ctx, `SELECT body FROM orders
		WHERE follow_up = 1 AND created_at < ? ORDER BY no`, hi))
	if err != nil {
		return rec, err
	}
	for _, o := range followUps {
		if !o.RecheckAt.IsZero() {
			rec.Rechecks = append(rec.Rechecks, o)
		}
	}
	if rec.OpenRefunds, err = scanRefunds(tx.QueryContext(ctx, `SELECT body FROM refunds
		WHERE state = 'requested' AND created_at < ? ORDER BY no`, hi)); err != nil {
		return rec, err
	}
	var first sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT min(created_at) FROM orders`).Scan(&first); err != nil {
		return rec, err
	}
	if first.Valid {
		rec.FirstOrder = time.Unix(0, first.Int64)
	}
	if day != "" {
		var body []byte
		err := tx.QueryRowContext(ctx, `SELECT body FROM day_closes WHERE day = ?`, day).Scan(&body)
		switch {
		case err == nil:
			var z checkout.DayClose
			if err := json.Unmarshal(body, &z); err != nil {
				return rec, err
			}
			rec.Close = &z
		case !errors.Is(err, sql.ErrNoRows):
			return rec, err
		}
	}
	return rec, tx.Commit()
}

// sqlNumbers hands out order numbers for the SQLite benchmarks.
func sqlNumber(prefix string, i int) string { return fmt.Sprintf("%s%09d", prefix, i) }

// sqlSaleOrder is a sale as the engine writes it first: created, with the
// fields Start fills.
func sqlSaleOrder(no string, now time.Time, amount checkout.Money) checkout.Order {
	return checkout.Order{
		No: no, Terminal: checkout.DefaultTerminal, Operator: checkout.DefaultOperator, Method: checkout.MethodWeChat,
		Amount: amount, State: checkout.StateCreated, CreatedAt: now, UpdatedAt: now,
		ExpiresAt: now.Add(checkout.DefaultTimeout).Truncate(time.Second),
	}
}

// sqlAwaiting is what the engine records when the provider accepted.
func sqlAwaiting(now time.Time) func(*checkout.Order) {
	return func(o *checkout.Order) { o.CodeURL, o.AcceptedAt = "fake://pay/"+o.No, now }
}

// sqlPaid is what the engine records when the provider says paid.
func sqlPaid(now time.Time) func(*checkout.Order) {
	return func(o *checkout.Order) {
		o.ProviderTradeNo, o.PaidAt, o.ProviderSaid, o.ProviderSaidAt = "FAKE"+o.No, now, "SUCCESS", now
	}
}

// benchSQLiteSale is one sale's ledger writes on SQLite, each its own
// commit: three (created; awaiting; paid), as till writes today, or two
// (created; then awaiting and paid in one), as a two-commit sale would.
func benchSQLiteSale(b *testing.B, writes int) {
	l := newSQLite(b, 1)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		now := time.Now()
		o := sqlSaleOrder(sqlNumber("S", i), now, 1230)
		if err := l.create(ctx, o); err != nil {
			b.Fatal(err)
		}
		if writes == 3 {
			if _, err := l.advance(ctx, o.No, checkout.StateAwaiting, now, sqlAwaiting(now)); err != nil {
				b.Fatal(err)
			}
		}
		paid := sqlPaid(now)
		if writes == 2 {
			paid = func(o *checkout.Order) { sqlAwaiting(now)(o); sqlPaid(now)(o) }
		}
		if got, err := l.advance(ctx, o.No, checkout.StatePaid, now, paid); err != nil || got.State != checkout.StatePaid {
			b.Fatal(got.State, err)
		}
	}
	b.ReportMetric(float64(writes), "commits/op")
}

// BenchmarkSQLiteSale3 is the three writes of one sale on SQLite.
func BenchmarkSQLiteSale3(b *testing.B) { benchSQLiteSale(b, 3) }

// BenchmarkSQLiteSale2 is a sale's writes in two commits on SQLite.
func BenchmarkSQLiteSale2(b *testing.B) { benchSQLiteSale(b, 2) }

// BenchmarkSQLiteSettle64 is BenchmarkSettle64 on SQLite: 64 goroutines
// each moving a different awaiting order to paid (read, check, write in
// one BEGIN IMMEDIATE transaction), through a pool of 64 connections
// ("conns=64": the writers meet on SQLite's write lock and its busy
// timeout) or of one ("conns=1": they queue in database/sql instead). The
// b.N orders are written beforehand, off the clock, in one transaction.
func BenchmarkSQLiteSettle64(b *testing.B) {
	b.Run("conns=64", func(b *testing.B) { benchSQLiteSettle(b, settleWriters) })
	b.Run("conns=1", func(b *testing.B) { benchSQLiteSettle(b, 1) })
}

func benchSQLiteSettle(b *testing.B, conns int) {
	l := newSQLite(b, conns)
	ctx := context.Background()
	now := time.Now()
	nos := make([]string, b.N)
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := range nos {
		o := sqlSaleOrder(sqlNumber("W", i), now, checkout.Money(100+i%9900))
		sqlAwaiting(now)(&o)
		o.State = checkout.StateAwaiting
		nos[i] = o.No
		if err := l.putOrder(ctx, tx, o); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	runWriters(b, settleWriters, func(i int) error {
		at := time.Now()
		got, err := l.advance(ctx, nos[i], checkout.StatePaid, at, sqlPaid(at))
		if err == nil && got.State != checkout.StatePaid {
			err = fmt.Errorf("order %s is %s", got.No, got.State)
		}
		return err
	})
}
