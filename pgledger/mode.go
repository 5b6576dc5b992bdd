package pgledger

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"till/ledger"
)

const (
	sqlMode      = `SELECT value FROM meta WHERE key = 'mode'`
	sqlStampMode = `INSERT INTO meta (key, value) VALUES ('mode', $1) ON CONFLICT (key) DO NOTHING`
)

// Bind stamps the ledger with the mode the desk runs in ("sandbox" or
// "live") the first time, and refuses a ledger stamped with the other one
// with a *ledger.WrongModeError naming the database (errors.Is matches
// ledger.ErrWrongMode, which store.ErrWrongMode is). Two desks binding a
// new ledger at once in different modes: one stamps it, the other is
// refused. A ledger stamped already is only read.
func (l *Ledger) Bind(ctx context.Context, mode string) error {
	held, err := l.mode(ctx, l.pool)
	if err != nil {
		return err
	}
	if stamp, err := ledger.Bind(l.name, held, mode); !stamp {
		return err
	}
	return l.update(ctx, func(w *wtx) error {
		if _, err := w.Exec(w.ctx, sqlStampMode, mode); err != nil {
			return fmt.Errorf("stamping the ledger's mode: %w", err)
		}
		held, err := l.mode(w.ctx, w)
		if err != nil {
			return err
		}
		_, err = ledger.Bind(l.name, held, mode)
		return err
	})
}

// mode is the mode the ledger is stamped with, "" for none yet.
func (l *Ledger) mode(ctx context.Context, q querier) (string, error) {
	var mode string
	err := q.QueryRow(ctx, sqlMode).Scan(&mode)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("reading the ledger's mode: %w", err)
	}
	return mode, nil
}
