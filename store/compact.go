package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Compaction (issue 13). bbolt never gives pages back to the file system:
// the pages a migration's rewrite freed (schema 5 rewrote every record
// smaller), or a ledger's deletes, stay in the file as free pages. Compact
// writes a packed copy (bbolt's Compact, pages full) and swaps it in.
//
// It is not done by Open: a desk opening its ledger should not wait
// minutes on a big one, nor need twice its size free on the disk. It is
// `Compact`, a step of its own (run with no desk open: it takes the
// file's lock like any till and waits the lock timeout for it), after a
// migration or whenever the file is much bigger than what it holds.
//
// The swap never leaves path without a whole ledger: the copy is written
// to path+".compact", synced, opened and checked (bbolt's check, and every
// bucket's keys and values compared with the original's), then the
// original is hard-linked as path+".before-compact", the copy renamed over
// path (one atomic rename), the directory synced, and the link removed.
// All of it holds the original's lock; a till that was waiting for that
// lock finds, once it has it, that path is now another file, and opens
// that one (openFile). A failure before the rename leaves the original
// as it was and removes the copy.

// CompactResult is what Compact did.
type CompactResult struct {
	Before, After int64 // file sizes, bytes
	Took          time.Duration
}

// compactTxMax is how much bbolt's Compact copies per transaction.
const compactTxMax = 64 << 20

// Compact rewrites the ledger at path into a packed copy and swaps it in
// (see above). It opens the ledger as Open does (lock, owner file,
// migrations) and returns with it closed.
func Compact(path string, opts ...Option) (CompactResult, error) {
	start := time.Now()
	var res CompactResult
	s, err := Open(path, append([]Option{WithCommand("till compact")}, opts...)...)
	if err != nil {
		return res, err
	}
	defer func() {
		if cerr := s.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if fi, err := os.Stat(path); err == nil {
		res.Before = fi.Size()
	}
	tmp, before := path+".compact", path+".before-compact"
	for _, stale := range []string{tmp, before} { // a compaction cut short
		if err := os.Remove(stale); err != nil && !errors.Is(err, os.ErrNotExist) {
			return res, fmt.Errorf("compacting %s: removing %s: %w", path, stale, err)
		}
	}
	if err := writeCompact(s.db, tmp); err != nil {
		_ = os.Remove(tmp)
		return res, fmt.Errorf("compacting %s: %w", path, err)
	}
	if err := os.Link(path, before); err != nil {
		_ = os.Remove(tmp)
		return res, fmt.Errorf("compacting %s: keeping the original: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		_ = os.Remove(before)
		return res, fmt.Errorf("compacting %s: swapping the copy in: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return res, fmt.Errorf("compacting %s: the copy is in place, but syncing its directory: %w", path, err)
	}
	if err := os.Remove(before); err != nil {
		return res, fmt.Errorf("compacting %s: the copy is in place; removing %s: %w", path, before, err)
	}
	if fi, err := os.Stat(path); err == nil {
		res.After = fi.Size()
	}
	res.Took = time.Since(start)
	return res, nil
}

// writeCompact writes src packed to a new file dst, synced, and checks it.
func writeCompact(src *bolt.DB, dst string) error {
	bo := *bolt.DefaultOptions
	bo.NoSync = true // synced once, below
	bo.Timeout = time.Second
	db, err := bolt.Open(dst, 0o600, &bo)
	if err != nil {
		return err
	}
	if err := bolt.Compact(db, src, compactTxMax); err != nil {
		_ = db.Close()
		return fmt.Errorf("copying: %w", err)
	}
	if err := db.Sync(); err != nil {
		_ = db.Close()
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	return verifyCopy(src, dst)
}

// verifyCopy opens dst read-only and checks it with bbolt's check and
// against src, bucket by bucket, key by key.
func verifyCopy(src *bolt.DB, dst string) error {
	bo := *bolt.DefaultOptions
	bo.ReadOnly, bo.Timeout = true, time.Second
	db, err := bolt.Open(dst, 0o600, &bo)
	if err != nil {
		return fmt.Errorf("opening the copy: %w", err)
	}
	defer db.Close()
	return db.View(func(ct *bolt.Tx) error {
		var errs []error
		for err := range ct.Check() {
			errs = append(errs, err)
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("the copy fails bbolt's check: %w", err)
		}
		return src.View(func(st *bolt.Tx) error {
			n := 0
			err := st.ForEach(func(name []byte, sb *bolt.Bucket) error {
				n++
				cb := ct.Bucket(name)
				if cb == nil {
					return fmt.Errorf("the copy has no bucket %s", name)
				}
				return sameBucket(name, sb, cb)
			})
			if err != nil {
				return err
			}
			m := 0
			_ = ct.ForEach(func([]byte, *bolt.Bucket) error { m++; return nil })
			if m != n {
				return fmt.Errorf("the copy has %d buckets, the original %d", m, n)
			}
			return nil
		})
	})
}

func sameBucket(name []byte, a, b *bolt.Bucket) error {
	if a.Sequence() != b.Sequence() {
		return fmt.Errorf("bucket %s: sequence %d in the copy, %d in the original", name, b.Sequence(), a.Sequence())
	}
	ca, cb := a.Cursor(), b.Cursor()
	ka, va := ca.First()
	kb, vb := cb.First()
	for n := 0; ka != nil || kb != nil; n++ {
		if !bytes.Equal(ka, kb) || (va == nil) != (vb == nil) || !bytes.Equal(va, vb) {
			return fmt.Errorf("bucket %s: the copy differs from the original at record %d (key %x)", name, n+1, ka)
		}
		if va == nil { // a nested bucket
			if err := sameBucket(append(append(name, '/'), ka...), a.Bucket(ka), b.Bucket(kb)); err != nil {
				return err
			}
		}
		ka, va = ca.Next()
		kb, vb = cb.Next()
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
