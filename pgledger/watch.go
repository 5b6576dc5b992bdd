package pgledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"till/checkout"
)

// The announcements (checkout.Watcher). Every transaction that writes an
// order or a refund, or closes a day, sends one NOTIFY on Channel before
// it commits: the server delivers it when, and only if, the transaction
// commits, to every connection listening on the channel, in commit order.
// Its payload is an announcement in JSON:
//
//	{"order":"T1…","refund":"T1…R1","terminal":"T1"}
//
// naming the order (and the refund) changed and the order's terminal
// (the desk whose sale it is, whoever changed it); a day's close names no
// order, and the terminal that closed it. A copy into the ledger (Import)
// announces {"reload":true}: read everything again. Each Watch listens on
// a connection of its own.

// Channel is the channel the changes are announced on.
const Channel = "till_changes"

var _ checkout.Watcher = (*Ledger)(nil)

// announcement is a NOTIFY's payload.
type announcement struct {
	Order    string `json:"order,omitempty"`
	Refund   string `json:"refund,omitempty"`
	Terminal string `json:"terminal,omitempty"`
	Reload   bool   `json:"reload,omitempty"`
}

// announce adds a change of order (and refund), whose order is
// terminal's, to what the transaction announces: one announcement per
// transaction, naming the order and the refund it wrote.
func (w *wtx) announce(order, refund, terminal string) {
	if w.change == nil {
		w.change = &announcement{}
	}
	c := w.change
	if c.Order == "" {
		c.Order = order
	}
	if c.Refund == "" {
		c.Refund = refund
	}
	if c.Terminal == "" {
		c.Terminal = terminal
	}
}

// notify sends the transaction's announcement, which the server holds
// until the commit (and drops on a rollback).
func (w *wtx) notify() error {
	if w.change == nil {
		return nil
	}
	if err := notify(w.ctx, w, *w.change); err != nil {
		return fmt.Errorf("announcing the change: %w", err)
	}
	return nil
}

// notify sends a in tx, which the server holds until the commit.
func notify(ctx context.Context, tx pgx.Tx, a announcement) error {
	payload, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, Channel, string(payload))
	return err
}

const (
	// watchBuffer is how many changes wait for a slow reader before
	// Watch stops reading its connection (the server keeps the rest).
	watchBuffer = 256
	// watchPing is how long Watch waits on a silent connection before it
	// asks the server whether it is still there: a connection cut
	// without a word (a cable pulled, a NAT forgetting it) is found
	// within this and pingTimeout, not TCP's keepalive.
	watchPing   = 30 * time.Second
	pingTimeout = 5 * time.Second
	// connectTimeout bounds one try to connect and listen.
	connectTimeout = 10 * time.Second
	// watchBackoffMax is the longest wait between two tries to connect
	// again; the first try after a drop is at once.
	watchBackoffMax = 5 * time.Second
)

// Watch delivers the changes committed to the ledger, by every desk, as
// they are announced, until ctx ends or the Ledger is closed; the channel
// is then closed. It returns once it listens, so every change committed
// after it returns is delivered; when its first try to connect failed, it
// goes on trying, and a Reload comes once it listens. A connection that
// drops (or stops answering) is replaced, with a backoff while the server
// cannot be reached, and a Reload follows each reconnect: changes may
// have been missed meanwhile. A desk's own changes come too. A reader
// that falls behind by more than a few hundred changes holds the
// announcements back on the server until it reads on.
func (l *Ledger) Watch(ctx context.Context) <-chan checkout.LedgerChange {
	out := make(chan checkout.LedgerChange, watchBuffer)
	ctx, stop := l.untilClosed(ctx)
	conn, _ := l.listen(ctx)
	go func() {
		defer stop()
		defer close(out)
		l.watch(ctx, conn, out)
	}()
	return out
}

// listen connects and listens on Channel.
func (l *Ledger) listen(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, l.conn) // which connects on a copy of it
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		closeConn(conn)
		return nil, err
	}
	if l.onListen != nil {
		l.onListen(conn.PgConn().PID())
	}
	return conn, nil
}

// watch follows conn (nil: not listening yet) and the connections after
// it until ctx ends.
func (l *Ledger) watch(ctx context.Context, conn *pgx.Conn, out chan<- checkout.LedgerChange) {
	reload := conn == nil // the changes since Watch was called are not all known
	var wait time.Duration
	for {
		if conn == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			var err error
			if conn, err = l.listen(ctx); err != nil {
				wait = backoff(wait)
				continue
			}
		}
		if reload && !send(ctx, out, checkout.LedgerChange{Reload: true}) {
			closeConn(conn)
			return
		}
		since := time.Now()
		l.follow(ctx, conn, out)
		closeConn(conn)
		conn, reload = nil, true
		if ctx.Err() != nil {
			return
		}
		// At once after a connection that served a while; after a
		// backoff if it dropped as soon as it was made.
		if time.Since(since) > watchBackoffMax {
			wait = 0
		} else {
			wait = backoff(wait)
		}
	}
}

// backoff is the wait before the next try to connect after one of wait:
// doubled, from 100ms up to watchBackoffMax.
func backoff(wait time.Duration) time.Duration {
	return min(max(2*wait, 100*time.Millisecond), watchBackoffMax)
}

// follow delivers conn's notifications until it fails or ctx ends. A
// wait that hears nothing for watchPing asks the server, and a server
// that does not answer within pingTimeout ends it.
func (l *Ledger) follow(ctx context.Context, conn *pgx.Conn, out chan<- checkout.LedgerChange) {
	for {
		wctx, cancel := context.WithTimeout(ctx, l.watchPing)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			pctx, cancel := context.WithTimeout(ctx, pingTimeout)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
			continue
		case err != nil:
			return
		}
		if !send(ctx, out, changeOf(n.Payload)) {
			return
		}
	}
}

// changeOf is the LedgerChange a payload announces; one that does not
// parse (another program's NOTIFY on the channel) asks for a reload.
func changeOf(payload string) checkout.LedgerChange {
	var a announcement
	if err := json.Unmarshal([]byte(payload), &a); err != nil {
		return checkout.LedgerChange{Reload: true}
	}
	return checkout.LedgerChange{Order: a.Order, Refund: a.Refund, Terminal: a.Terminal, Reload: a.Reload}
}

func send(ctx context.Context, out chan<- checkout.LedgerChange, c checkout.LedgerChange) bool {
	select {
	case out <- c:
		return true
	case <-ctx.Done():
		return false
	}
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}
