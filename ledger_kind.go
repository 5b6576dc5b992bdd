package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"till/catalog"
	"till/checkout"
	"till/pgledger"
	"till/store"
)

// deskLedger is what a desk, till serve and the ledger commands run on:
// the file on this computer (store, one counter) or a ledger the shop's
// counters share on PostgreSQL (pgledger).
type deskLedger interface {
	checkout.Ledger
	checkout.AuditLog
	checkout.PINLedger
	AddOperator(ctx context.Context, op checkout.Operator) (checkout.Operator, error)
	Operators(ctx context.Context) ([]checkout.Operator, error)
	Bind(ctx context.Context, mode string) error
	Close() error
}

var _ deskLedger = (*store.Store)(nil)

// openFile opens the ledger's file (the path from --db or the mode's
// default).
func (d *desk) openFile(p paths, command string) error {
	d.dbPath = p.ledgerPath(d.cfg.Sandbox())
	st, err := openLedger(d.dbPath, os.Stderr, catalog.New(d.cfg.lang), command)
	if err != nil {
		return err
	}
	d.ledger = st
	d.closers = append(d.closers, st)
	return nil
}

// bindMode stamps l with cfg's mode, or refuses a ledger of the other
// mode with a message in cfg's language: sandbox sales never mix with
// takings.
func bindMode(l interface {
	Bind(ctx context.Context, mode string) error
}, cfg *Config) error {
	err := l.Bind(context.Background(), cfg.mode())
	if err == nil {
		return nil
	}
	var we *store.WrongModeError
	if errors.As(err, &we) {
		p := catalog.New(cfg.lang)
		key := "cli.ledger.mode.wrong_mode"
		if _, shared := l.(*pgledger.Ledger); shared {
			key = "cli.ledger.mode.wrong_mode_shared" // another database, not another file
		}
		err = fmt.Errorf("%s: %w", p.T(key, catalog.V{"Path": we.Path, "Held": modeName(p, we.Held), "Want": modeName(p, we.Want)}), store.ErrWrongMode)
	}
	return usageError{err}
}

// modeName names a ledger's mode ("sandbox" or "live") in p's language.
func modeName(p *catalog.Printer, m string) string {
	if m == "sandbox" {
		return p.T("cli.mode.sandbox")
	}
	return p.T("cli.mode.live")
}

// ledgerName names the ledger in logs and messages: its file, or the
// shared ledger's database (never its password).
func (d *desk) ledgerName() string {
	if n, ok := d.ledger.(interface{ Name() string }); ok && d.dbPath == "" {
		return n.Name()
	}
	return d.dbPath
}

// openShared opens the shop's shared ledger on PostgreSQL ([ledger] url,
// --ledger).
func (d *desk) openShared() error {
	ctx, cancel := context.WithTimeout(context.Background(), sharedOpenTimeout)
	defer cancel()
	l, err := pgledger.Open(ctx, d.cfg.Ledger.URL, pgledger.WithHeartbeatTimeout(d.cfg.Ledger.HeartbeatTimeout))
	if err != nil {
		return errors.New(catalog.New(d.cfg.lang).T("cli.ledger.shared_failed", catalog.V{"Err": err.Error()}))
	}
	d.closers = append(d.closers, l)
	d.ledger = l
	return nil
}

var _ deskLedger = (*pgledger.Ledger)(nil)

// register records the desk (or till serve) under its terminal id on a
// shared ledger, with a heartbeat: a second live desk with the same id is
// refused, and the others settle this one's sales only once it has gone
// silent. A ledger of its own needs none (its file's lock says the same).
func (d *desk) register() error {
	l, ok := d.ledger.(*pgledger.Ledger)
	if !ok {
		return nil
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedOpenTimeout)
	defer cancel()
	reg, err := l.Register(ctx, d.cfg.Shop.Terminal, host, os.Getpid())
	var ie *pgledger.TerminalInUseError
	if errors.As(err, &ie) {
		p := catalog.New(d.cfg.lang)
		return usageError{errors.New(p.T("cli.ledger.terminal_in_use", catalog.V{"Terminal": ie.Terminal, "Host": ie.Host, "PID": ie.PID,
			"Since": p.Clock(ie.Since.In(d.cfg.location)), "Timeout": ie.Timeout.String()}))}
	}
	if err != nil {
		return err
	}
	d.reg = reg
	// Before the ledger in Close's reverse order: the desk says it is
	// gone while the ledger is still open.
	d.closers = append(d.closers, reg)
	return nil
}

// lost is closed when another desk has taken this desk's terminal over;
// nil (never) without a registration.
func (d *desk) lost() <-chan struct{} {
	if d.reg == nil {
		return nil
	}
	return d.reg.Lost()
}

// sharedOpenTimeout bounds reaching the database at start.
const sharedOpenTimeout = 10 * time.Second
