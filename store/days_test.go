package store

import (
	"encoding/binary"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"till/checkout"
)

// TestMigrationV4IndexesSettledRefunds: refunds written under schema 3
// are found by the day they succeeded or failed after the upgrade.
func TestMigrationV4IndexesSettledRefunds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "till.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	ok := newOrder("V3SALE", t0, 1000)
	ok.State, ok.PaidAt, ok.Refunded = checkout.StatePartiallyRefunded, t0, 300
	refunds := []checkout.Refund{
		{No: "V3R1", OrderNo: ok.No, Amount: 300, State: checkout.RefundSucceeded, CreatedAt: t0, UpdatedAt: t0, SucceededAt: t0.Add(time.Hour)},
		{No: "V3R2", OrderNo: ok.No, Amount: 100, State: checkout.RefundFailed, CreatedAt: t0, UpdatedAt: t0.Add(2 * time.Hour)},
		{No: "V3R3", OrderNo: ok.No, Amount: 100, State: checkout.RefundRequested, CreatedAt: t0, UpdatedAt: t0},
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, m := range migrations[:3] {
			if err := m.fn(tx); err != nil {
				return err
			}
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if err := meta.Put(keySchemaVersion, binary.BigEndian.AppendUint64(nil, 3)); err != nil {
			return err
		}
		v, _ := json.Marshal(ok)
		if err := tx.Bucket(bucketOrders).Put([]byte(ok.No), v); err != nil {
			return err
		}
		for _, r := range refunds {
			v, _ := json.Marshal(r)
			if err := tx.Bucket(bucketRefunds).Put([]byte(r.No), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, _ := mustOpenAt(t, path)
	rec, err := s.DayRecords(t.Context(), t0, t0.Add(24*time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rec.Settled {
		got = append(got, r.No)
	}
	if len(got) != 2 || got[0] != "V3R1" || got[1] != "V3R2" {
		t.Fatalf("settled refunds after the migration: %v", got)
	}
}
