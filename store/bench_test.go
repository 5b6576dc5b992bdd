package store

import (
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"till/checkout"
)

// fillDays writes days days of perDay orders each, ending on t0's day, in
// one transaction (a benchmark's setup, not the desk's way of writing).
func fillDays(b *testing.B, s *Store, days, perDay int) {
	b.Helper()
	err := s.db.Update(func(tx *bolt.Tx) error {
		w := &wtx{Tx: tx, now: t0}
		for d := range days {
			day := t0.AddDate(0, 0, -d)
			for i := range perDay {
				o := newOrder(fmt.Sprintf("D%03dO%05d", d, i), day.Add(time.Duration(i)*time.Second), 100)
				o.State = checkout.StatePaid
				o.PaidAt = o.CreatedAt
				if err := putOrder(w, nil, o); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// benchDay reads one day of 2,000 orders from a ledger holding days days
// of them: the history's and `till orders`' read.
func benchDay(b *testing.B, days int) {
	s, err := Open(b.TempDir() + "/till.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	fillDays(b, s, days, 2000)
	from, to := t0.Truncate(24*time.Hour), t0.Truncate(24*time.Hour).Add(24*time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		os, err := s.OrdersCreated(b.Context(), from, to, 0)
		if err != nil || len(os) == 0 {
			b.Fatal(len(os), err)
		}
	}
}

// BenchmarkDayOf2000In30Days: one busy day out of a month of them.
func BenchmarkDayOf2000In30Days(b *testing.B) { benchDay(b, 30) }

// BenchmarkDayOf2000Alone is its floor: the same day with nothing else in
// the ledger. A key-range read costs the same either way.
func BenchmarkDayOf2000Alone(b *testing.B) { benchDay(b, 1) }
