package pgledger

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"till/checkout"
)

// The order locks (checkout.OrderLocker). The engine holds one across a
// provider call, for seconds, so it cannot be a transaction's: it is a
// session-level advisory lock, on the order number's hash
// (hashtextextended), held by a connection of its own for as long as the
// lock is held. A process that dies loses its connections and so its
// locks: the server lets them go as soon as it sees the connection gone
// (at once for a process killed on a host that is up, whose kernel closes
// its sockets; after TCP's keepalive for a host that vanished).
//
// The connections come from a second pool, apart from the transactions'
// one: a desk holding the locks of many orders in flight (till serve
// settling a flood of notifications) still has its transactions'
// connections, which the holders need to write what they locked for.
// The lock pool opens connections as they are needed, up to
// WithLockConns, and keeps them a minute when idle: a lock and its
// release on a warm connection cost two round trips. (Measured on
// loopback, BenchmarkLockOrder: a lock and release on a pooled
// connection against a new connection for each, BenchmarkConnect.)
//
// Two orders whose numbers hash alike share a lock: one waits for the
// other, which is all a collision costs.

// DefaultLockConns is the most order locks a Ledger holds at once unless
// WithLockConns says otherwise; one more waits for a free connection.
const DefaultLockConns = 16

// WithLockConns sets the most order locks held at once (each holds a
// connection); n <= 0 keeps DefaultLockConns.
func WithLockConns(n int) Option {
	return func(l *Ledger) {
		if n > 0 {
			l.lockConns = int32(n)
		}
	}
}

var _ checkout.OrderLocker = (*Ledger)(nil)

const (
	sqlAdvisoryLock   = `SELECT pg_advisory_lock(hashtextextended($1, 0))`
	sqlAdvisoryUnlock = `SELECT pg_advisory_unlock(hashtextextended($1, 0))`
)

// unlockTimeout bounds a release: one round trip on a connection that
// is up; a connection that does not answer is closed instead, which lets
// the lock go just the same.
const unlockTimeout = 5 * time.Second

// lockPoolConfig is the lock pool's configuration: the transactions'
// connection settings, at most n connections, none kept open when idle
// for a minute.
func lockPoolConfig(cfg *pgxpool.Config, n int32) *pgxpool.Config {
	c := cfg.Copy()
	c.MaxConns, c.MinConns, c.MinIdleConns = n, 0, 0
	c.MaxConnIdleTime = time.Minute
	return c
}

// heldLock is an order lock held: its order and the connection holding
// it. Whoever takes it out of Ledger.held (its release, or Close) owns
// the connection.
type heldLock struct {
	no   string
	conn *pgxpool.Conn
}

// LockOrder takes the lock of order no, shared by every Ledger on the
// database, waiting until it is held, ctx ends or the Ledger is closed
// (an error wrapping ctx's error, or ErrClosed). Waiting for a free lock
// connection (WithLockConns) is part of the wait. release gives the lock
// back; it is meant to be called once (later calls do nothing). A Ledger
// closed while the lock is held lets it go, and release then does
// nothing.
func (l *Ledger) LockOrder(ctx context.Context, no string) (release func(), err error) {
	ctx, stop := l.untilClosed(ctx)
	defer stop()
	c, err := l.locks.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("locking order %s: %w", no, l.closedOr(err))
	}
	if _, err := c.Exec(ctx, sqlAdvisoryLock, no); err != nil {
		// A wait that ctx ended: pgx sends the server a cancel request
		// and closes the connection, so no waiter stays queued for the
		// lock; and whether or not the server granted it before it saw
		// the cancel, the session's end lets it go.
		dropConn(c)
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("locking order %s: %w", no, l.closedOr(err))
	}
	h := &heldLock{no: no, conn: c}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		dropConn(c)
		return nil, fmt.Errorf("locking order %s: %w", no, ErrClosed)
	}
	l.held[h] = struct{}{}
	l.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { l.unlock(h) }) }, nil
}

// unlock gives h back, unless Close let it go first. A connection that
// cannot unlock (it died, or does not answer) is closed, which lets the
// lock go as well.
func (l *Ledger) unlock(h *heldLock) {
	l.mu.Lock()
	_, mine := l.held[h]
	delete(l.held, h)
	l.mu.Unlock()
	if !mine {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
	defer cancel()
	var unlocked bool
	if err := h.conn.QueryRow(ctx, sqlAdvisoryUnlock, h.no).Scan(&unlocked); err != nil || !unlocked {
		dropConn(h.conn)
		return
	}
	h.conn.Release()
}

// dropConn closes a lock connection (its session ends, and every lock it
// held with it) and hands it back to the pool, which forgets it.
func dropConn(c *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = c.Conn().Close(ctx)
	c.Release()
}
