package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"till/catalog"
	"till/ledger"
	"till/pgledger"
	"till/store"
)

// ledgerGroup is `till ledger`: the ledger as a whole.
type ledgerGroup struct {
	Copy ledgerCopyCmd `cmd:"" help:"Copy this counter's ledger file (--db) into an empty shared ledger on PostgreSQL, checking the counts and sums on both sides."`
}

// ledgerCopyCmd moves a single counter's file into the shop's shared
// ledger, for a shop going from one counter to several. The file is only
// read, and held meanwhile, so no desk sells on it during the copy (a
// sale after the copy would be in the file and not in the shop's ledger);
// the shared ledger gets all of it, checked, or nothing (pgledger.Import).
type ledgerCopyCmd struct {
	To string `required:"" placeholder:"URL" help:"The shared ledger to copy into: an empty PostgreSQL database (postgres://user@host/database). --ledger and [ledger] url are not read here: the source is always the file."`
}

func (c ledgerCopyCmd) Run(cli *CLI, out io.Writer, errOut errWriter) error {
	paths := resolvePaths(cli)
	cfg, err := loadConfig(paths.config, paths.configNamed)
	if err != nil {
		return err
	}
	p := catalog.New(cfg.lang)
	if !isPostgresURL(c.To) {
		return usageError{errors.New(p.T("cli.ledger.copy.bad_url"))}
	}
	path := paths.ledgerPath(cfg.Sandbox())
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		// store.Open would make an empty ledger there (in an empty file
		// too, writing it): nothing to copy.
		return usageError{errors.New(p.T("cli.ledger.copy.no_file", catalog.V{"Path": path}))}
	}
	st, err := openLedger(path, errOut, p, "till ledger copy")
	var locked *store.LockedError
	if errors.As(err, &locked) {
		v := catalog.V{"File": filepath.Base(path), "Path": path}
		if locked.Owner == nil {
			return errors.New(p.T("cli.ledger.copy.held_unknown", v))
		}
		return errors.New(p.T("cli.ledger.copy.held", v, holderValues(p, locked.Owner)))
	}
	if err != nil {
		return err
	}
	defer st.Close()
	if err := bindMode(st, cfg); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	check, err := st.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if !check.OK() {
		return errors.New(p.T("cli.ledger.copy.broken", catalog.V{"Path": path, "N": check.Broken, "Reason": check.Reason}))
	}
	openCtx, cancel := context.WithTimeout(ctx, sharedOpenTimeout)
	dst, err := pgledger.Open(openCtx, c.To)
	cancel()
	if err != nil {
		return errors.New(p.T("cli.ledger.shared_failed", catalog.V{"Err": err.Error()}))
	}
	defer dst.Close()

	var source, copied ledger.Figures
	err = st.Export(ctx, func(s ledger.Snapshot) error {
		var err error
		source, copied, err = dst.Import(ctx, s)
		return err
	})
	v := catalog.V{"Path": path, "Name": dst.Name()}
	if err != nil {
		return wordCopyRefusal(p, cfg, out, err, v)
	}
	fmt.Fprintln(out, p.T("cli.ledger.copy.done", v))
	fmt.Fprintln(out)
	writeFigures(out, p, cfg, source, copied)
	fmt.Fprintln(out)
	shown, masked := maskedURL(c.To)
	fmt.Fprintln(out, p.T("cli.ledger.copy.next", v, catalog.V{"URL": shown}))
	if masked {
		fmt.Fprintln(out, p.T("cli.ledger.copy.password"))
	}
	if cfg.emulated() {
		fmt.Fprintln(out, p.T("cli.ledger.shared_needs_sandbox"))
	}
	return nil
}

// wordCopyRefusal words why the copy did not happen, for the owner; a
// mismatch prints both sides' figures first. Whatever it was, the shared
// ledger is as it was.
func wordCopyRefusal(p *catalog.Printer, cfg *Config, out io.Writer, err error, v catalog.V) error {
	var (
		notEmpty  *pgledger.NotEmptyError
		wrongMode *ledger.WrongModeError
		mismatch  *pgledger.MismatchError
		broken    *pgledger.BrokenTrailError
	)
	switch {
	case errors.As(err, &notEmpty):
		return errors.New(p.T("cli.ledger.copy.not_empty", v, catalog.V{"Holds": holdings(p, notEmpty.Holds)}))
	case errors.As(err, &wrongMode):
		return usageError{errors.New(p.T("cli.ledger.copy.wrong_mode", v,
			catalog.V{"Held": modeName(p, wrongMode.Held), "Want": modeName(p, wrongMode.Want)}))}
	case errors.As(err, &mismatch):
		writeFigures(out, p, cfg, mismatch.Source, mismatch.Copied)
		return errors.New(p.T("cli.ledger.copy.mismatch", v))
	case errors.As(err, &broken):
		return errors.New(p.T("cli.ledger.copy.broken", v, catalog.V{"N": broken.Check.Broken, "Reason": broken.Check.Reason}))
	}
	return errors.New(p.T("cli.ledger.copy.failed", v, catalog.V{"Err": err.Error()}))
}

// holdings lists what a ledger that is not empty holds.
func holdings(p *catalog.Printer, f ledger.Figures) string {
	var parts []string
	for _, c := range []struct {
		id string
		n  int64
	}{
		{"cli.ledger.copy.holds.orders", total(f.Orders)}, {"cli.ledger.copy.holds.refunds", total(f.Refunds)},
		{"cli.ledger.copy.holds.audit", f.Audit}, {"cli.ledger.copy.holds.closes", f.Closes},
		{"cli.ledger.copy.holds.operators", f.Operators},
	} {
		if c.n > 0 {
			parts = append(parts, p.N(c.id, int(c.n)))
		}
	}
	if f.HoldsPIN() {
		parts = append(parts, p.T("cli.ledger.copy.holds.pin"))
	}
	return strings.Join(parts, p.T("cli.ledger.copy.list_sep"))
}

// maskedURL is the URL given to --to as the desks are to be given it, but
// with its password (in the user part or ?password=) shown as xxxxx, and
// whether there was one.
func maskedURL(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil {
		return "", false
	}
	_, masked := u.User.Password()
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery, masked = q.Encode(), true
	}
	return u.Redacted(), masked
}
