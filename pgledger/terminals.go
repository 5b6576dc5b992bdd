package pgledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"till/checkout"
	"till/proc"
)

// The desks on the ledger (checkout.Terminals). Each desk registers its
// terminal id with its host and pid, and beats: its row's heartbeat_at
// is set to the database's now() every quarter of the heartbeat timeout.
// A terminal is live while its heartbeat is younger than the timeout and
// its desk has not closed; one desk at a time holds it. Register lets a
// desk take a terminal over when its holder
//
//   - closed (Registration.Close, or the Ledger's Close),
//   - has not beaten for the heartbeat timeout (from any host: a desk
//     killed on a host that is down, or cut off), or
//   - ran on the same host and its process is gone (a kill -9, a crash,
//     the power: the desk restarted takes its terminal back at once), or
//     is this very process;
//
// and refuses it with a *TerminalInUseError otherwise. A desk that was
// taken over (it was cut off long enough) finds out at its next beat:
// Registration.Lost.

var _ checkout.Terminals = (*Ledger)(nil)

// ErrTerminalInUse means another live desk holds the terminal id.
var ErrTerminalInUse = errors.New("the terminal is in use by another desk")

// TerminalInUseError names the live desk that holds a terminal id;
// errors.Is matches ErrTerminalInUse.
type TerminalInUseError struct {
	Terminal string
	Host     string        // the host the desk runs on
	PID      int           // its process id there
	Since    time.Time     // when it registered, on the database's clock
	Beat     time.Duration // how long before the refusal it last beat
	Timeout  time.Duration // the heartbeat timeout: a desk silent this long is taken over
}

func (e *TerminalInUseError) Error() string {
	return fmt.Sprintf("terminal %s is in use by the desk on %s (pid %d, since %s; its last heartbeat %s ago): "+
		"quit that desk or give this one another terminal id (a desk that is gone leaves it free %s after its last heartbeat)",
		e.Terminal, e.Host, e.PID, e.Since.Format("2006-01-02 15:04:05 -07:00"), e.Beat.Round(time.Second), e.Timeout)
}

func (e *TerminalInUseError) Unwrap() error { return ErrTerminalInUse }

const (
	sqlTerminal = `SELECT host, pid, started_ns, since, heartbeat_at, gone_at IS NOT NULL, now()
		FROM terminals WHERE terminal = $1 FOR UPDATE`
	sqlNewTerminal = `INSERT INTO terminals (terminal, host, pid, started_ns, token, since, heartbeat_at)
		VALUES ($1, $2, $3, $4, $5, now(), now()) ON CONFLICT (terminal) DO NOTHING RETURNING since`
	sqlTakeTerminal = `UPDATE terminals SET host = $2, pid = $3, started_ns = $4, token = $5,
		since = now(), heartbeat_at = now(), gone_at = NULL WHERE terminal = $1 RETURNING since`
	sqlBeat = `UPDATE terminals SET heartbeat_at = now() WHERE terminal = $1 AND token = $2 AND gone_at IS NULL`
	sqlGone = `UPDATE terminals SET gone_at = now() WHERE terminal = $1 AND token = $2 AND gone_at IS NULL`
	sqlLive = `SELECT terminal FROM terminals
		WHERE gone_at IS NULL AND heartbeat_at > now() - $1::bigint * interval '1 microsecond'`
)

// holder is a terminal's row as Register reads it, with the database's
// now.
type holder struct {
	host       string
	pid        int
	started    time.Time // its own clock at Register
	since      time.Time
	beat, now  time.Time
	terminated bool // closed
}

// inUse is the refusal of a desk (host, pid) that wants the terminal h
// holds, or nil when it may take it over (see the rules above). running
// says whether the process that was pid at since still runs on this host
// (proc.Running).
func (h holder) inUse(terminal, host string, pid int, timeout time.Duration, running func(pid int, since time.Time) bool) *TerminalInUseError {
	age := h.now.Sub(h.beat)
	if h.terminated || age >= timeout {
		return nil
	}
	if h.host == host && (h.pid == pid || !running(h.pid, h.started)) {
		return nil
	}
	return &TerminalInUseError{Terminal: terminal, Host: h.host, PID: h.pid, Since: h.since, Beat: age, Timeout: timeout}
}

// Registration is a desk registered on the ledger: it beats until Close
// (or the Ledger's Close).
type Registration struct {
	l        *Ledger
	terminal string
	token    string
	since    time.Time
	lost     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	close    sync.Once
	err      error
}

// Register records this desk (its terminal id, host and pid) as the
// terminal's holder and starts its heartbeat, every quarter of the
// heartbeat timeout (WithHeartbeatTimeout). A terminal another live desk
// holds is refused with a *TerminalInUseError; one whose holder closed,
// went silent for the timeout, or ran on this host and is gone is taken
// over at once. The check and the takeover are one transaction on the
// terminal's locked row, so of two desks registering one terminal at once
// one gets it.
func (l *Ledger) Register(ctx context.Context, terminal, host string, pid int) (*Registration, error) {
	if terminal == "" || host == "" || pid <= 0 {
		return nil, fmt.Errorf("registering a desk needs its terminal id, host and pid (have %q, %q, %d)", terminal, host, pid)
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	started := time.Now() // this host's clock, as proc.Running compares
	var since time.Time
	err := l.update(ctx, func(w *wtx) error {
		h, err := lockTerminal(w, terminal)
		if errors.Is(err, pgx.ErrNoRows) {
			err = w.QueryRow(ctx, sqlNewTerminal, terminal, host, pid, started.UnixNano(), token).Scan(&since)
			if !errors.Is(err, pgx.ErrNoRows) {
				return err // registered, or failed
			}
			// Another desk registered it meanwhile: decide on its row.
			h, err = lockTerminal(w, terminal)
		}
		if err != nil {
			return err
		}
		if refused := h.inUse(terminal, host, pid, l.heartbeat, proc.Running); refused != nil {
			return refused
		}
		return w.QueryRow(ctx, sqlTakeTerminal, terminal, host, pid, started.UnixNano(), token).Scan(&since)
	})
	var refused *TerminalInUseError
	if errors.As(err, &refused) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("registering terminal %s: %w", terminal, err)
	}
	r := &Registration{l: l, terminal: terminal, token: token, since: since,
		lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, fmt.Errorf("registering terminal %s: %w", terminal, ErrClosed)
	}
	l.regs[r] = struct{}{}
	l.mu.Unlock()
	go r.beat(l.heartbeat / 4)
	return r, nil
}

func lockTerminal(w *wtx, terminal string) (holder, error) {
	var h holder
	var started int64
	err := w.QueryRow(w.ctx, sqlTerminal, terminal).Scan(&h.host, &h.pid, &started, &h.since, &h.beat, &h.terminated, &h.now)
	h.started = time.Unix(0, started)
	return h, err
}

// Terminal is the terminal id registered.
func (r *Registration) Terminal() string { return r.terminal }

// Since is when the desk registered, on the database's clock.
func (r *Registration) Since() time.Time { return r.since }

// Lost is closed when a heartbeat found the terminal taken over by
// another desk (this one had not beaten for the timeout): the heartbeat
// stops, and this desk no longer holds the terminal.
func (r *Registration) Lost() <-chan struct{} { return r.lost }

// beat sets the heartbeat every interval until Close. A beat that fails
// (the database is unreachable) is tried again at the next one.
func (r *Registration) beat(every time.Duration) {
	defer close(r.done)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-r.l.life.Done():
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(r.l.life, every)
		tag, err := r.l.pool.Exec(ctx, sqlBeat, r.terminal, r.token)
		cancel()
		if err == nil && tag.RowsAffected() == 0 {
			close(r.lost)
			return
		}
	}
}

// Close stops the heartbeat and marks the terminal gone, so that another
// desk may take it at once and the desks settle its open sales; a
// terminal taken over is left to its new desk. Later calls return the
// first one's error.
func (r *Registration) Close() error {
	r.close.Do(func() {
		close(r.stop)
		<-r.done
		r.l.mu.Lock()
		delete(r.l.regs, r)
		r.l.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
		defer cancel()
		if _, err := r.l.pool.Exec(ctx, sqlGone, r.terminal, r.token); err != nil {
			r.err = fmt.Errorf("closing terminal %s: %w", r.terminal, r.l.closedOr(err))
		}
	})
	return r.err
}

// LiveTerminals returns the terminals whose desk runs (not closed) and
// beat within the last within, on the database's clock.
func (l *Ledger) LiveTerminals(ctx context.Context, within time.Duration) (map[string]bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, err := l.pool.Query(ctx, sqlLive, within.Microseconds())
	if err != nil {
		return nil, fmt.Errorf("reading the live terminals: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("reading the live terminals: %w", err)
	}
	live := make(map[string]bool, len(ids))
	for _, id := range ids {
		live[id] = true
	}
	return live, nil
}
