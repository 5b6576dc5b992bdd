package backup_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"till/backup"
)

// TestALateCloseOfAnOldDayIsKept: Z numbers grow with each close, and a
// forgotten day may be closed after later ones. The copy written after
// that close is the newest there is and must be kept; pruning by the
// day in its name removed it the moment it was written, while the status
// still named it as the last copy.
func TestALateCloseOfAnOldDayIsKept(t *testing.T) {
	st := ledger(t)
	dir := filepath.Join(t.TempDir(), "backups")
	now := time.Date(2026, 12, 12, 2, 0, 0, 0, shanghai)
	k := &backup.Keeper{Dir: dir, Keep: 2, Src: st, Loc: shanghai, Now: func() time.Time { return now }}
	ctx := context.Background()
	for _, c := range []struct {
		day string
		seq int
	}{{"2026-12-10", 1}, {"2026-12-11", 2}, {"2026-12-05", 3}} {
		if _, err := k.AfterClose(ctx, c.day, c.seq); err != nil {
			t.Fatal(err)
		}
	}
	last := k.Status().LastPath
	if _, err := os.Stat(last); err != nil {
		t.Fatalf("the copy after Z 3 (the latest close), %s, is gone: %v; the directory holds %v", filepath.Base(last), err, names(t, dir))
	}
	if _, err := os.Stat(filepath.Join(dir, "till-2026-12-10-z1.db")); err == nil {
		t.Fatalf("Z 1's copy kept beyond keep = 2: %v", names(t, dir))
	}
}
