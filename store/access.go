package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"till/checkout"
	"till/ledger"
)

// The manager PIN and the operators live in the ledger beside the sales
// they guard and name: one file to back up, and a lock (five wrong PINs)
// that a restart does not lift.

var _ checkout.PINLedger = (*Store)(nil)

// PINState returns the manager PIN's state; the zero state when none was
// ever set.
func (s *Store) PINState(ctx context.Context) (checkout.PINState, error) {
	var out checkout.PINState
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = getPIN(tx)
		return err
	})
	return out, err
}

// UpdatePIN runs fn on the stored PIN state in one transaction, stores
// what fn leaves and adds the audit entry fn returns (when it has a Kind)
// in the same transaction. An error from fn writes nothing.
func (s *Store) UpdatePIN(ctx context.Context, fn func(*checkout.PINState) (checkout.AuditEntry, error)) (checkout.PINState, error) {
	var out checkout.PINState
	err := s.update(ctx, func(tx *wtx) error {
		cur, err := getPIN(tx.Tx)
		if err != nil {
			return err
		}
		e, err := fn(&cur)
		if err != nil {
			return err
		}
		v, err := json.Marshal(cur)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketMeta).Put(keyManagerPIN, v); err != nil {
			return err
		}
		if e.Kind != "" {
			if _, err := appendAudit(tx, e); err != nil {
				return err
			}
		}
		out = cur
		return nil
	})
	if err != nil {
		return checkout.PINState{}, err
	}
	return out, nil
}

func getPIN(tx *bolt.Tx) (checkout.PINState, error) {
	var st checkout.PINState
	v := tx.Bucket(bucketMeta).Get(keyManagerPIN)
	if v == nil {
		return st, nil
	}
	if err := json.Unmarshal(v, &st); err != nil {
		return st, fmt.Errorf("meta/%s: decoding: %w", keyManagerPIN, err)
	}
	return st, nil
}

// AddOperator records a new operator and its audit entry
// (ledger.CheckNewOperator, ledger.OperatorAdded); an ID already taken is
// an error wrapping checkout.ErrExists.
func (s *Store) AddOperator(ctx context.Context, op checkout.Operator) (checkout.Operator, error) {
	op, err := ledger.CheckNewOperator(op)
	if err != nil {
		return op, err
	}
	out := op
	err = s.update(ctx, func(tx *wtx) error {
		b := tx.Bucket(bucketOperators)
		if b.Get([]byte(op.ID)) != nil {
			return fmt.Errorf("operator %s: %w", op.ID, checkout.ErrExists)
		}
		added, e := ledger.OperatorAdded(op, tx.now)
		v, err := json.Marshal(added)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(op.ID), v); err != nil {
			return err
		}
		if _, err := appendAudit(tx, e); err != nil {
			return err
		}
		out = added
		return nil
	})
	return out, err
}

// Operators returns the operators by ID.
func (s *Store) Operators(ctx context.Context) ([]checkout.Operator, error) {
	var out []checkout.Operator
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOperators).ForEach(func(k, v []byte) error {
			var op checkout.Operator
			if err := json.Unmarshal(v, &op); err != nil {
				return fmt.Errorf("operator %s: decoding: %w", k, err)
			}
			out = append(out, op)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b checkout.Operator) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
