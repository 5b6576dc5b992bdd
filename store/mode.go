package store

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"till/ledger"
)

// ErrWrongMode says the ledger was written in another mode (sandbox or
// live) than the desk now runs in; every ledger refuses with it.
var ErrWrongMode = ledger.ErrWrongMode

// WrongModeError names the ledger and both modes; errors.Is matches
// ErrWrongMode.
type WrongModeError = ledger.WrongModeError

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
	if stamp, err := ledger.Bind(s.path, cur, mode); !stamp {
		return err
	}
	return s.update(ctx, func(tx *wtx) error {
		meta := tx.Bucket(bucketMeta)
		stamp, err := ledger.Bind(s.path, string(meta.Get(keyMode)), mode)
		if !stamp {
			return err
		}
		return meta.Put(keyMode, []byte(mode))
	})
}
