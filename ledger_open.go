package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"till/catalog"
	"till/store"
)

// openLedger opens the ledger at path for the desk. A ledger another
// process holds is waited for up to the lock timeout, with one line on
// status saying so and naming the holder; when it stays held, the error
// says so in p's language (and still matches store.ErrLocked). Other
// errors are store.Open's. command names this process in the owner file
// ("till serve"); "" is the command line's words.
func openLedger(path string, status io.Writer, p *catalog.Printer, command string) (*store.Store, error) {
	if status == nil {
		status = io.Discard
	}
	st, err := store.Open(path, store.WithCommand(command), store.WithWaiting(func(h *store.Owner) {
		if h == nil {
			fmt.Fprintln(status, p.T("cli.ledger.opening_unknown"))
			return
		}
		fmt.Fprintln(status, p.T("cli.ledger.opening", holderValues(p, h)))
	}))
	var le *store.LockedError
	if errors.As(err, &le) {
		v := catalog.V{"File": filepath.Base(le.Path), "Path": le.Path}
		msg := p.T("cli.ledger.in_use_unknown", v)
		switch {
		case le.Owner != nil && strings.HasSuffix(le.Owner.Command, " serve"):
			// The headless holder: nothing to close on a screen.
			msg = p.T("cli.ledger.in_use_serve", v, holderValues(p, le.Owner))
		case le.Owner != nil:
			msg = p.T("cli.ledger.in_use", v, holderValues(p, le.Owner))
		}
		return nil, &ledgerInUseError{msg: msg, err: err}
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

// holderValues fills the {{.Command}}, {{.PID}} and {{.Since}} of the
// messages that name the holder. Since is the time of day it took the
// ledger, with the date in front when that was not today.
func holderValues(p *catalog.Printer, h *store.Owner) catalog.V {
	since := p.Clock(h.Since)
	now := time.Now().In(h.Since.Location())
	if y, m, d := h.Since.Date(); now.Year() != y || now.Month() != m || now.Day() != d {
		since = p.Date(h.Since) + " " + since
	}
	return catalog.V{"Command": h.Command, "PID": h.PID, "Since": since}
}

// ledgerInUseError is a store.LockedError worded for the clerk.
type ledgerInUseError struct {
	msg string
	err error
}

func (e *ledgerInUseError) Error() string { return e.msg }
func (e *ledgerInUseError) Unwrap() error { return e.err }
