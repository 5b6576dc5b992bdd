package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"till/backup"
	"till/catalog"
	"till/store"
)

// backupCmd writes a hot copy of the ledger: through the desk (or till
// serve) when one holds the file, so the desk goes on selling, or from the
// file itself when nobody does. The copy is written beside its name and
// renamed into place once synced, so a FILE that exists is always whole.
type backupCmd struct {
	// Not type:"path": through the socket the holder parses the line, and
	// a relative FILE is the client's (services.path), not the holder's.
	File string `arg:"" help:"Where to write the copy (a new file, or one to replace)."`
}

func (c *backupCmd) Run(cli *CLI, out io.Writer, e errWriter) error { return onLedger(cli, out, e, c) }

func (c *backupCmd) runOn(s *services, out io.Writer) error {
	p := s.p
	path := s.path(c.File)
	st, ok := s.ledger.(*store.Store)
	if !ok {
		return usageError{errors.New(p.T("cli.backup.shared"))}
	}
	if same, _ := sameFile(path, st.Path()); same {
		return usageError{errors.New(p.T("cli.backup.onto_ledger", catalog.V{"Path": path}))}
	}
	n, err := backup.WriteFile(s.ctx(), st, path)
	if err != nil {
		return errors.New(p.T("cli.backup.failed", catalog.V{"Path": path, "Err": err.Error()}))
	}
	size := fmt.Sprintf("%d KB", (n+1023)/1024)
	if n >= 1<<20 {
		size = fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	fmt.Fprintln(out, p.T("cli.backup.done", catalog.V{"Path": path, "Size": size}))
	return nil
}

// sameFile reports whether a and b name one file (a backup must never
// write over the ledger it copies).
func sameFile(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}
