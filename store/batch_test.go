package store

import (
	"testing"

	"till/ledgertest"
)

// TestBatchedWritesApplyOnce: the contract's flood (64 payments, 64 moves
// the state machine refuses, 64 refunds racing for one order's money, all
// at once) goes through bbolt's Batch, where a failing write makes bbolt
// roll a batch back and run its functions again; every effect still lands
// exactly once (ledgertest.RaceFlood says how that is checked).
func TestBatchedWritesApplyOnce(t *testing.T) {
	s, _ := mustOpen(t)
	s.batched.Store(0)
	ledgertest.RaceFlood(t, s)
	if s.batched.Load() == 0 {
		t.Fatal("no write went through a batch")
	}
}
