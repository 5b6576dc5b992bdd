// Package backup writes hot copies of the ledger: one on demand (`till
// backup FILE`) and the automatic ones an owner keeps without thinking of
// them, a dated copy each day and one at each day close, the last few of
// each kept. A copy is one read transaction of the ledger written out
// while sales go on, written beside its name and renamed into place once
// synced, so a file with a copy's name is always a whole ledger.
package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Source is what a copy is taken from: the ledger's read transaction
// (store.Store.Backup).
type Source interface {
	Backup(ctx context.Context, w io.Writer) (int64, error)
}

// WriteFile writes a hot copy of src to path: into a temporary file in
// path's directory, synced, then renamed over path. A failure leaves path
// as it was and no temporary file behind.
func WriteFile(ctx context.Context, src Source, path string) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name()) // gone after the rename; cleans up a failed copy
	n, err := src.Backup(ctx, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil {
		// The rename is durable only once the directory is synced.
		if dir, derr := os.Open(filepath.Dir(path)); derr == nil {
			_ = dir.Sync()
			dir.Close()
		}
	}
	return n, err
}

// DefaultKeep is how many copies of each kind are kept when the config
// does not say.
const DefaultKeep = 14

// Status is how the automatic copies are going, for the manager's screen.
type Status struct {
	Dir      string    `json:"dir"`
	LastPath string    `json:"last_path,omitempty"` // the latest good copy
	LastAt   time.Time `json:"last_at,omitzero"`
	// Failed says the latest attempt failed: Err says why, FailedAt when.
	Failed   bool      `json:"failed,omitempty"`
	Err      string    `json:"error,omitempty"`
	FailedAt time.Time `json:"failed_at,omitzero"`
}

// Keeper writes the automatic copies into Dir: till-YYYY-MM-DD.db once a
// shop day (the first time it runs that day), till-YYYY-MM-DD-zN.db after
// the day's close number N, keeping the newest Keep of each kind.
type Keeper struct {
	Dir  string
	Keep int // <= 0: DefaultKeep
	Src  Source
	Loc  *time.Location   // the shop's zone: a day is its calendar day
	Now  func() time.Time // nil: time.Now
	Log  *slog.Logger     // nil: discard
	// Sandbox names the copies till-sandbox-…: a sandbox desk sharing a
	// directory with a live one never takes a live copy's name or prunes
	// a live copy (nor the other way round).
	Sandbox bool

	mu     sync.Mutex // one copy at a time; guards status
	status Status
}

const (
	livePrefix    = "till-"
	sandboxPrefix = "till-sandbox-"
	suffix        = ".db"
	dayLayout     = "2006-01-02"
	dailyKind     = "daily"
	closesKind    = "close"
)

func (k *Keeper) prefix() string {
	if k.Sandbox {
		return sandboxPrefix
	}
	return livePrefix
}

func (k *Keeper) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

func (k *Keeper) log() *slog.Logger {
	if k.Log != nil {
		return k.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (k *Keeper) keep() int {
	if k.Keep <= 0 {
		return DefaultKeep
	}
	return k.Keep
}

// Status returns how the latest copy went.
func (k *Keeper) Status() Status {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.status
	s.Dir = k.Dir
	return s
}

// Daily writes today's dated copy unless it exists already, and prunes
// the daily copies to Keep. It reports the copy's path ("" when today's
// was there).
func (k *Keeper) Daily(ctx context.Context) (string, error) {
	day := k.now().In(k.Loc).Format(dayLayout)
	path := filepath.Join(k.Dir, k.prefix()+day+suffix)
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, err := os.Stat(path); err == nil {
		return "", nil
	}
	return path, k.write(ctx, path, dailyKind)
}

// AfterClose writes the copy of the day closed as Z seq.
func (k *Keeper) AfterClose(ctx context.Context, day string, seq int) (string, error) {
	path := filepath.Join(k.Dir, fmt.Sprintf("%s%s-z%d%s", k.prefix(), day, seq, suffix))
	k.mu.Lock()
	defer k.mu.Unlock()
	return path, k.write(ctx, path, closesKind)
}

// write copies to path and prunes kind; k.mu is held.
func (k *Keeper) write(ctx context.Context, path, kind string) error {
	err := os.MkdirAll(k.Dir, 0o700)
	if err == nil {
		_, err = WriteFile(ctx, k.Src, path)
	}
	if err != nil {
		k.status.Failed, k.status.Err, k.status.FailedAt = true, err.Error(), k.now()
		k.log().Error("automatic backup failed", "path", path, "err", err)
		return err
	}
	k.status.Failed, k.status.Err, k.status.FailedAt = false, "", time.Time{}
	k.status.LastPath, k.status.LastAt = path, k.now()
	k.log().Info("automatic backup written", "path", path)
	if err := k.prune(kind); err != nil {
		k.log().Warn("could not remove old backups", "dir", k.Dir, "err", err)
	}
	return nil
}

// prune removes the oldest copies of kind beyond Keep: daily copies by
// day, close copies by Z number.
func (k *Keeper) prune(kind string) error {
	entries, err := os.ReadDir(k.Dir)
	if err != nil {
		return err
	}
	type copyFile struct {
		name string
		day  string
		z    int
	}
	var mine []copyFile
	for _, e := range entries {
		day, z, ok := parseName(e.Name(), k.prefix())
		if !ok || e.IsDir() || (kind == dailyKind) != (z == 0) {
			continue
		}
		mine = append(mine, copyFile{e.Name(), day, z})
	}
	// Daily copies sort by day; close copies by Z number, which grows with
	// each close even when a forgotten day is closed after later ones.
	slices.SortFunc(mine, func(a, b copyFile) int {
		if a.z != b.z {
			return a.z - b.z
		}
		return strings.Compare(a.day, b.day)
	})
	var errs []error
	for len(mine) > k.keep() {
		if err := os.Remove(filepath.Join(k.Dir, mine[0].name)); err != nil {
			errs = append(errs, err)
		}
		mine = mine[1:]
	}
	return errors.Join(errs...)
}

// parseName reads a copy's name: PREFIXDAY.db (z 0) or PREFIXDAY-zN.db.
// Anything else in the directory is not ours and is left alone (a live
// keeper does not read till-sandbox-… as a day).
func parseName(name, prefix string) (day string, z int, ok bool) {
	rest, found := strings.CutPrefix(name, prefix)
	if !found {
		return "", 0, false
	}
	if rest, found = strings.CutSuffix(rest, suffix); !found || len(rest) < len(dayLayout) {
		return "", 0, false
	}
	day, tail := rest[:len(dayLayout)], rest[len(dayLayout):]
	if _, err := time.Parse(dayLayout, day); err != nil {
		return "", 0, false
	}
	if tail == "" {
		return day, 0, true
	}
	if _, err := fmt.Sscanf(tail, "-z%d", &z); err != nil || z <= 0 || tail != fmt.Sprintf("-z%d", z) {
		return "", 0, false
	}
	return day, z, true
}

// RetryAfter is how soon a failed daily copy is tried again.
const RetryAfter = 15 * time.Minute

// Run writes the daily copy now and then once each shop day, just after
// its midnight, until ctx ends; a failed copy is tried again after
// RetryAfter. after waits (nil: time.After); tests pass their own.
func (k *Keeper) Run(ctx context.Context, after func(time.Duration) <-chan time.Time) {
	if after == nil {
		after = time.After
	}
	for {
		wait := k.untilTomorrow()
		if _, err := k.Daily(ctx); err != nil {
			wait = min(wait, RetryAfter)
		}
		select {
		case <-ctx.Done():
			return
		case <-after(wait):
		}
	}
}

// untilTomorrow is the wait until a minute past the shop's next midnight.
func (k *Keeper) untilTomorrow() time.Duration {
	now := k.now().In(k.Loc)
	next := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 1, 0, 0, k.Loc)
	return max(next.Sub(now), time.Minute)
}
