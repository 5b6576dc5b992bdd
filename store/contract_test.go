package store_test

import (
	"path/filepath"
	"testing"

	"till/checkout"
	"till/ledgertest"
	"till/store"
)

// TestContract runs the checkout.Ledger contract on bbolt, each case in a
// file of its own with the real clock (the suite checks stamps against
// the wall clock).
func TestContract(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) checkout.Ledger {
		s, err := store.Open(filepath.Join(t.TempDir(), "till.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := s.Check(); err != nil {
				t.Errorf("Check: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	})
}
