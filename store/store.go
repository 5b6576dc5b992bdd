package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"till/checkout"
)

// DefaultLockTimeout is how long Open waits for another till to let go of
// the file: long enough to ride out a desk that is just closing, short
// enough that the clerk gets an answer instead of a hang.
const DefaultLockTimeout = 3 * time.Second

// ErrLocked means another process (usually another till) holds the file.
var ErrLocked = errors.New("ledger is in use by another till")

// lockedError names the file; errors.Is matches ErrLocked and bbolt's
// ErrTimeout.
type lockedError struct{ path string }

func (e *lockedError) Error() string {
	return fmt.Sprintf("%s is in use by another till (%s): close the other desk first",
		filepath.Base(e.path), e.path)
}

func (e *lockedError) Unwrap() []error { return []error{ErrLocked, berrors.ErrTimeout} }

// Store is the bbolt ledger. It is safe for concurrent use.
type Store struct {
	db          *bolt.DB
	path        string
	now         func() time.Time
	lockTimeout time.Duration
}

var _ checkout.Ledger = (*Store)(nil)

// Option changes how Open behaves.
type Option func(*Store)

// WithLockTimeout sets how long Open waits for the file lock (tests use a
// short one). d <= 0 keeps the default: bbolt would otherwise wait forever.
func WithLockTimeout(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.lockTimeout = d
		}
	}
}

// WithClock sets the clock that stamps UpdatedAt (and CreatedAt or
// SucceededAt when the caller left them zero). It is read once per
// transaction, so every stamp of one change is the same instant.
func WithClock(now func() time.Time) Option {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

// Open opens or creates the ledger at path, creating missing parent
// directories (0700: the ledger is the shop's books), and brings the schema
// up to date. A file held by another process fails with ErrLocked after
// the lock timeout; a file from a newer till fails with ErrSchemaNewer.
func Open(path string, opts ...Option) (*Store, error) {
	s := &Store{path: path, now: time.Now, lockTimeout: DefaultLockTimeout}
	for _, o := range opts {
		o(s)
	}
	db, err := OpenFile(path, s.lockTimeout)
	if err != nil {
		return nil, err
	}
	s.db = db
	if err := db.Update(func(tx *bolt.Tx) error { return migrate(tx, path) }); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// OpenFile opens or creates a bbolt file the way till keeps all its
// files: missing parent directories made 0700, the file 0600, fsync on,
// and a file held by another process refused with ErrLocked (naming the
// file) after lockTimeout instead of waiting for ever. The sandbox opens
// sandbox.db with it too.
func OpenFile(path string, lockTimeout time.Duration) (*bolt.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the directory of %s: %w", path, err)
	}
	bo := *bolt.DefaultOptions // keeps fsync on (NoSync false)
	bo.Timeout = lockTimeout
	db, err := bolt.Open(path, 0o600, &bo)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, &lockedError{path: path}
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return db, nil
}

// Close releases the file so another till may open it.
func (s *Store) Close() error { return s.db.Close() }

// Path is the file the ledger lives in.
func (s *Store) Path() string { return s.path }

// Check runs bbolt's consistency check over the whole file and returns
// every problem it finds joined, or nil. Tests run it on cleanup.
func (s *Store) Check() error {
	return s.db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

// update runs fn in one write transaction with the clock read once, after
// checking that the caller has not given up already (bbolt itself takes no
// context).
func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx, now time.Time) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now().Round(0) // drop the monotonic reading: what we return is what we store
	return s.db.Update(func(tx *bolt.Tx) error { return fn(tx, now) })
}

// view runs fn in one read transaction.
func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}
