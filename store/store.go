package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
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

// LockedError is the refusal of a file another process holds: Path is the
// file, Owner the holder its owner file names, nil when that is not known
// (no owner file, or its process is gone). errors.Is matches ErrLocked and
// bbolt's ErrTimeout. Its text is English, for the log; a caller that
// shows it to a clerk words it from Path and Owner.
type LockedError struct {
	Path  string
	Owner *Owner
}

func (e *LockedError) Error() string {
	if e.Owner == nil {
		return fmt.Sprintf("%s is in use by another till (%s): close the other desk first",
			filepath.Base(e.Path), e.Path)
	}
	return fmt.Sprintf("%s is in use by another till (%s; %s): close the other desk first",
		filepath.Base(e.Path), e.Owner, e.Path)
}

func (e *LockedError) Unwrap() []error { return []error{ErrLocked, berrors.ErrTimeout} }

// Store is the bbolt ledger. It is safe for concurrent use.
type Store struct {
	db *bolt.DB
	// writers counts the write transactions asked for and not done: a
	// write that finds another under way joins a bbolt Batch, so that
	// concurrent writers (the webhook, polls, till serve's passes) share
	// one fsynced commit, while a lone write (a clerk's sale) commits at
	// once instead of waiting out the batch delay.
	writers     atomic.Int64
	batched     atomic.Int64 // writes that went through a batch (tests)
	path        string
	file        *File
	now         func() time.Time
	lockTimeout time.Duration
	waiting     func(holder *Owner)
	command     string
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

// WithWaiting has Open call fn, once, when the file is not free at once
// (a first try of about 100ms fails) and it goes on waiting for the rest
// of the lock timeout. holder is who holds the file, as its owner file
// says, or nil when that is not known. fn runs on Open's goroutine, and
// its time counts against the lock timeout: it should only tell someone.
func WithWaiting(fn func(holder *Owner)) Option {
	return func(s *Store) { s.waiting = fn }
}

// WithCommand names the holder in the owner file as cmd (e.g. "till
// serve"), so that one refused is told who holds the file; "" keeps the
// name read from the command line.
func WithCommand(cmd string) Option {
	return func(s *Store) { s.command = cmd }
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
	f, err := openFile(path, s.lockTimeout, s.waiting, s.command)
	if err != nil {
		return nil, err
	}
	s.file, s.db = f, f.DB
	s.db.MaxBatchSize, s.db.MaxBatchDelay = BatchSize, BatchDelay
	// Read the schema version first: a file that needs no migration is
	// not written (a write transaction commits and syncs even when it
	// changes nothing).
	var have uint64
	err = f.View(func(tx *bolt.Tx) error {
		var err error
		have, err = readVersion(tx)
		return err
	})
	if err == nil && have != schemaVersion() {
		err = f.Update(func(tx *bolt.Tx) error { return migrate(tx, path) })
	} else if err != nil {
		err = fmt.Errorf("reading the schema version of %s: %w", path, err)
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return s, nil
}

// firstLockTry is how long a caller that asked to be told of waiting
// (WithWaiting) waits before it is told: a desk that is just closing lets
// go sooner, and then there is nothing to tell.
const firstLockTry = 100 * time.Millisecond

// OpenFile opens or creates a bbolt file the way till keeps all its
// files: missing parent directories made 0700, the file 0600, fsync on,
// and a file held by another process refused with a *LockedError (naming
// the file and, when its owner file tells, the holder) after lockTimeout
// instead of waiting for ever; lockTimeout <= 0 is DefaultLockTimeout.
// Once it holds the lock it writes the owner file (see Owner); the File's
// Close removes it. The sandbox opens sandbox.db with it too.
func OpenFile(path string, lockTimeout time.Duration) (*File, error) {
	return openFile(path, lockTimeout, nil, "")
}

func openFile(path string, lockTimeout time.Duration, waiting func(*Owner), command string) (*File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the directory of %s: %w", path, err)
	}
	if lockTimeout <= 0 {
		lockTimeout = DefaultLockTimeout // bbolt would wait for ever
	}
	open := func(timeout time.Duration) (*bolt.DB, error) {
		bo := *bolt.DefaultOptions // keeps fsync on (NoSync false)
		bo.Timeout = timeout
		return bolt.Open(path, 0o600, &bo)
	}
	start := time.Now()
	was, _ := os.Stat(path) // to see whether Compact swapped the file while we waited
	first := lockTimeout
	if waiting != nil && lockTimeout > firstLockTry {
		first = firstLockTry
	}
	db, err := open(first)
	if errors.Is(err, berrors.ErrTimeout) && first < lockTimeout {
		waiting(readOwner(path))
		if left := lockTimeout - time.Since(start); left > 0 {
			db, err = open(left)
		}
	}
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, &LockedError{Path: path, Owner: readOwner(path)}
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if now, err := os.Stat(path); was != nil && err == nil && !os.SameFile(was, now) {
		// Compact put a new file at path while this one waited for the
		// lock, which may be the old file's: open the new one.
		_ = db.Close()
		return openFile(path, max(lockTimeout-time.Since(start), firstLockTry), waiting, command)
	}
	f := &File{DB: db, path: path}
	f.claim(command)
	return f, nil
}

// Close removes the owner file and releases the file so another till may
// open it.
func (s *Store) Close() error { return s.file.Close() }

// Path is the file the ledger lives in.
func (s *Store) Path() string { return s.path }

// BatchSettings returns the MaxBatchSize and MaxBatchDelay of the ledger's
// bbolt handle: how writes that go through bbolt's Batch are grouped into
// one commit. The store benchmarks measure their bare-Batch floor with the
// same two, so the floor moves when the ledger's settings do.
func (s *Store) BatchSettings() (size int, delay time.Duration) {
	return s.db.MaxBatchSize, s.db.MaxBatchDelay
}

// Backup writes a consistent copy of the whole ledger to w, from one read
// transaction: writers go on meanwhile, and the copy is the ledger as it
// stood when the transaction began.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

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
func (s *Store) update(ctx context.Context, fn func(w *wtx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now().Round(0) // drop the monotonic reading: what we return is what we store
	actor, _ := checkout.ActorFrom(ctx)
	run := func(tx *bolt.Tx) error { return fn(&wtx{Tx: tx, now: now, actor: actor}) }
	if s.writers.Add(1) > 1 {
		defer s.writers.Add(-1)
		s.batched.Add(1)
		// bbolt may run fn more than once: when another function of the
		// batch fails, the batch is rolled back and each is run again
		// (the failing one alone). Every effect of fn is in its
		// transaction, so only the run that commits counts; what fn
		// returns through variables is set afresh by each run.
		return s.db.Batch(run)
	}
	defer s.writers.Add(-1)
	return s.db.Update(run)
}

// The batch settings: a batch commits when BatchSize writers have joined
// it or BatchDelay after the first did. 64 is the webhook's bound on the
// notifications worked on at once (and a flood's writers); the delay is
// short enough that two writers at once (a poll and a notification) are
// not held up noticeably.
const (
	BatchSize  = 64
	BatchDelay = 2 * time.Millisecond
)

// wtx is one write transaction with what its audit entries need: the time
// it stamps and who made the change (from the caller's context).
type wtx struct {
	*bolt.Tx
	now   time.Time
	actor checkout.Actor
}

// view runs fn in one read transaction.
func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}
