// Package sandboxtest starts the sandbox for a test: both emulators, the
// real adapters pointed at them, and a ledger, in the test's temporary
// directory and closed when it ends.
package sandboxtest

import (
	"log/slog"
	"path/filepath"
	"testing"

	"till/providers/sandbox"
	"till/store"
)

// Start starts the sandbox with opts (logging to log; nil discards) and
// opens a ledger beside it; the test fails if either cannot be had.
func Start(t testing.TB, log *slog.Logger, opts ...sandbox.Option) (*sandbox.Sandbox, *store.Store) {
	t.Helper()
	dir := t.TempDir()
	sb, err := sandbox.Start(filepath.Join(dir, "sandbox.db"), log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	ledger, err := store.Open(filepath.Join(dir, "till.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ledger.Close() })
	return sb, ledger
}
