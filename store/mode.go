package store

import (
	"context"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// ErrWrongMode says the ledger was written in another mode (sandbox or
// live) than the desk now runs in.
var ErrWrongMode = errors.New("ledger mode mismatch")

// WrongModeError names the ledger and both modes; errors.Is matches
// ErrWrongMode.
type WrongModeError struct {
	Path       string
	Held, Want string // "sandbox" or "live"
}

func (e *WrongModeError) Error() string {
	return fmt.Sprintf("%s holds %s sales and till is configured for %s: use another --db", e.Path, e.Held, e.Want)
}

func (e *WrongModeError) Unwrap() error { return ErrWrongMode }

// Bind stamps the ledger with the mode the desk runs in ("sandbox" or
// "live") the first time, and refuses a ledger stamped with the other one.
// Sandbox sales are not takings, and a sandbox desk must never settle a
// real order by asking an emulator that has never heard of it.
func (s *Store) Bind(ctx context.Context, mode string) error {
	// A ledger stamped already is only read: a start writes (and syncs)
	// nothing when nothing changes.
	var cur string
	if err := s.view(ctx, func(tx *bolt.Tx) error {
		cur = string(tx.Bucket(bucketMeta).Get(keyMode))
		return nil
	}); err != nil {
		return err
	}
	switch cur {
	case mode:
		return nil
	case "":
	default:
		return &WrongModeError{Path: s.path, Held: cur, Want: mode}
	}
	return s.update(ctx, func(tx *wtx) error {
		meta := tx.Bucket(bucketMeta)
		cur := string(meta.Get(keyMode))
		switch cur {
		case "":
			return meta.Put(keyMode, []byte(mode))
		case mode:
			return nil
		}
		return &WrongModeError{Path: s.path, Held: cur, Want: mode}
	})
}
