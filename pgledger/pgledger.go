package pgledger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"till/checkout"
)

// Ledger is the ledger on PostgreSQL. It is safe for concurrent use, and
// any number of Ledgers (desks, till serve) may share one database.
type Ledger struct {
	pool  *pgxpool.Pool
	locks *pgxpool.Pool   // the order locks' own connections (locks.go)
	conn  *pgx.ConnConfig // what Watch connects with (watch.go)
	name  string          // the database as messages name it: no password
	now   func() time.Time

	lockConns int32            // the most order locks held at once (WithLockConns)
	heartbeat time.Duration    // the heartbeat timeout of Register (WithHeartbeatTimeout)
	watchPing time.Duration    // how long Watch waits on a silent connection before it asks whether it is still there
	onListen  func(pid uint32) // tests: called with the server's pid of each connection Watch listens on

	// life ends when Close begins: the waits for an order lock, the
	// heartbeats and the watchers give up with it.
	life    context.Context
	endLife context.CancelFunc
	close   sync.Once
	mu      sync.Mutex
	closed  bool
	held    map[*heldLock]struct{}     // the order locks held now
	regs    map[*Registration]struct{} // the desks registered and not closed
}

var (
	_ checkout.Ledger   = (*Ledger)(nil)
	_ checkout.AuditLog = (*Ledger)(nil)
)

// Option changes how Open behaves.
type Option func(*Ledger)

// WithClock sets the clock that stamps UpdatedAt (and CreatedAt or
// SucceededAt when the caller left them zero) and audit entries. It is
// read once per transaction, so every stamp of one change is the same
// instant. The desk's clock, not the server's, as with the bbolt ledger.
func WithClock(now func() time.Time) Option {
	return func(l *Ledger) {
		if now != nil {
			l.now = now
		}
	}
}

// ErrClosed is the error of a call on a Ledger that was closed.
var ErrClosed = errors.New("the ledger is closed")

// Open connects to the database at url (postgres://user:pass@host/db?…)
// and brings its schema up to date (migrate.go). A database whose schema
// is newer than this till knows is refused with a *SchemaNewerError.
//
// The connections: a pool for the transactions (pool_max_conns in url
// sizes it), a second one for the order locks (WithLockConns), and one
// of its own for each Watch.
func Open(ctx context.Context, url string, opts ...Option) (*Ledger, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password and all.
		return nil, errors.New("the ledger URL is not a PostgreSQL URL (postgres://user@host/database)")
	}
	l := &Ledger{name: nameOf(cfg.ConnConfig), now: time.Now, lockConns: DefaultLockConns, heartbeat: checkout.DefaultHeartbeatTimeout, watchPing: watchPing,
		conn: cfg.ConnConfig.Copy(), held: map[*heldLock]struct{}{}, regs: map[*Registration]struct{}{}}
	for _, o := range opts {
		o(l)
	}
	l.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the ledger %s: %w", l.name, err)
	}
	if err := migrate(ctx, l.pool, l.name); err != nil {
		l.pool.Close()
		return nil, err
	}
	if l.locks, err = pgxpool.NewWithConfig(ctx, lockPoolConfig(cfg, l.lockConns)); err != nil {
		l.pool.Close()
		return nil, fmt.Errorf("connecting to the ledger %s: %w", l.name, err)
	}
	l.life, l.endLife = context.WithCancel(context.Background())
	return l, nil
}

// untilClosed is ctx, ended also when Close begins; stop releases it.
func (l *Ledger) untilClosed(ctx context.Context) (_ context.Context, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	unhook := context.AfterFunc(l.life, cancel)
	return ctx, func() { unhook(); cancel() }
}

// closedOr is err, or ErrClosed when the call failed because Close began.
func (l *Ledger) closedOr(err error) error {
	if l.life.Err() != nil {
		return ErrClosed
	}
	return err
}

// nameOf is the database as messages name it: user, host, port and
// database, never the password.
func nameOf(c *pgx.ConnConfig) string {
	return fmt.Sprintf("postgres://%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

// Close closes the connections. Desks still registered are marked gone
// (Registration.Close), the waits for an order lock give up, the order
// locks still held are let go (their connections closed: another desk
// may take them at once, and their release does nothing), and every
// Watch ends.
func (l *Ledger) Close() error {
	var err error
	l.close.Do(func() {
		l.mu.Lock()
		l.closed = true // no lock is held, and no desk registered, from now on
		regs := l.regs
		l.regs = nil
		l.mu.Unlock()
		for r := range regs {
			err = errors.Join(err, r.Close())
		}
		l.endLife()
		l.mu.Lock()
		held := l.held
		l.held = nil
		l.mu.Unlock()
		for h := range held {
			dropConn(h.conn)
		}
		l.locks.Close()
		l.pool.Close()
	})
	return err
}

// Name is the database the ledger is in, as messages name it (no
// password).
func (l *Ledger) Name() string { return l.name }

// wtx is one write transaction with what its audit entries need: the time
// it stamps, who made the change (from the caller's context), and the
// entries it adds, which join the chain when the transaction's work is
// done (flush), so that the chain's head is locked for as short a time as
// can be.
type wtx struct {
	pgx.Tx
	ctx     context.Context
	now     time.Time
	actor   checkout.Actor
	pending []checkout.AuditEntry
	head    *auditHead // the locked head, once lockHead has run
	added   []checkout.AuditEntry
	// terminals are the terminals of the orders the transaction locked
	// (lockOrder), for the announcement of a change of their refunds.
	terminals map[string]string
	// change is what the transaction announces when it commits
	// (announce, watch.go); nil when it changed no order, refund or day.
	change *announcement
}

// maxTries bounds the runs of one write transaction that the server
// aborted to break a deadlock or a serialisation conflict: the locks are
// always taken in one order (an order, then its refunds, then the chain's
// head), so one retry should never be needed; the bound keeps a surprise
// from becoming a loop.
const maxTries = 3

// update runs fn in one read-committed write transaction with the clock
// read once, and commits it with its audit entries. fn locks what it
// compares and sets (SELECT … FOR UPDATE) before it reads it. A
// transaction the server aborted as a deadlock victim or for a
// serialisation conflict is run again from the start, so fn sets what it
// returns through variables afresh on each run.
func (l *Ledger) update(ctx context.Context, fn func(w *wtx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := l.now().Round(0) // drop the monotonic reading: what we return is what we store
	actor, _ := checkout.ActorFrom(ctx)
	var err error
	for range maxTries {
		err = pgx.BeginTxFunc(ctx, l.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
			w := &wtx{Tx: tx, ctx: ctx, now: now, actor: actor}
			if err := fn(w); err != nil {
				return err
			}
			if err := w.flush(); err != nil {
				return err
			}
			return w.notify()
		})
		if !retryable(err) {
			break
		}
	}
	return err
}

// retryable reports a transaction the server aborted that may succeed if
// run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001") // deadlock_detected, serialization_failure
}

// uniqueViolation reports an insert refused by a primary key or unique
// constraint.
func uniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// view runs fn in one read-only repeatable-read transaction: every
// statement of fn sees the same snapshot, as one bbolt read transaction
// does.
func (l *Ledger) view(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return pgx.BeginTxFunc(ctx, l.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// querier is what a read needs: the pool (one statement) or a
// transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ns is t as a column holds it: Unix nanoseconds, or NULL for the zero
// time.
func ns(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

// change runs fn in one write transaction and returns what the run that
// committed returned.
func change[T any](l *Ledger, ctx context.Context, fn func(w *wtx) (T, error)) (T, error) {
	var out T
	err := l.update(ctx, func(w *wtx) error {
		var err error
		out, err = fn(w)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// WithHeartbeatTimeout sets how long a desk registered on the ledger
// (Register) stays alive without a heartbeat: a second desk with its
// terminal id is refused until then, and it beats every quarter of it.
// d <= 0 keeps checkout.DefaultHeartbeatTimeout; the config's [ledger]
// heartbeat_timeout gives it.
func WithHeartbeatTimeout(d time.Duration) Option {
	return func(l *Ledger) {
		if d > 0 {
			l.heartbeat = d
		}
	}
}
