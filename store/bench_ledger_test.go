package store

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestWriteBenchLedger writes a copy of the day report's fixture (the
// million-order store of report_bench_test.go, or TILL_BENCH_HISTORY
// orders of history) to TILL_BENCH_LEDGER, stamped with the mode
// TILL_BENCH_LEDGER_MODE ("sandbox" unless set), for timing the desk's
// start on a big ledger (.ci/desk-start-bench.sh). The fixture is built
// or reused as the benchmarks do (TILL_BENCH_DIR keeps it); the million
// needs TILL_BENCH_MILLION=1. Never run in CI: it skips unless
// TILL_BENCH_LEDGER is set.
func TestWriteBenchLedger(t *testing.T) {
	dest := os.Getenv("TILL_BENCH_LEDGER")
	if dest == "" {
		t.Skip("set TILL_BENCH_LEDGER to the ledger to write (and TILL_BENCH_MILLION=1 for the million)")
	}
	history := 1_000_000
	if h := os.Getenv("TILL_BENCH_HISTORY"); h != "" {
		n, err := strconv.Atoi(h)
		if err != nil || n < 0 {
			t.Fatalf("TILL_BENCH_HISTORY=%q: want a number of orders", h)
		}
		history = n
	}
	if history >= 1_000_000 && os.Getenv("TILL_BENCH_MILLION") != "1" {
		t.Skip("set TILL_BENCH_MILLION=1 to build the million-order store (several GB; TILL_BENCH_DIR keeps it)")
	}
	mode := os.Getenv("TILL_BENCH_LEDGER_MODE")
	if mode == "" {
		mode = "sandbox"
	}
	src, _ := reportStore(t, history)
	srcPath := src.path
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
		t.Fatal(err)
	}
	tmp := dest + ".writing"
	if err := copyFile(srcPath, tmp); err != nil {
		t.Fatal(err)
	}
	s, err := Open(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Bind(t.Context(), mode); err != nil {
		s.Close()
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dest)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d orders of history and a day of %d, stamped %s, %.0f MB", dest, history, reportDayOrders, mode, float64(fi.Size())/1e6)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
