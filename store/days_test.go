package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"till/checkout"
)

// TestDayRecordsByPaidAndSettledTime: a sale created at 23:59:59 and paid
// after midnight is in the next day's records, not its creation day's; a
// refund asked for on one day and succeeded on the next is in the next;
// a failed one is on the day it failed.
func TestDayRecordsByPaidAndSettledTime(t *testing.T) {
	s, _ := mustOpen(t)
	ctx := t.Context()
	midnight := time.Date(2024, 3, 11, 0, 0, 0, 0, time.UTC)
	o := newOrder("LATE", midnight.Add(-time.Second), 990)
	mustCreate(t, s, o)
	mustAdvance(t, s, o.No, checkout.StatePaid, func(x *checkout.Order) { x.PaidAt = midnight.Add(2 * time.Second) })
	r := checkout.Refund{No: "LATER1", OrderNo: o.No, Method: o.Method, Amount: 100, State: checkout.RefundRequested, CreatedAt: midnight.Add(time.Hour)}
	if _, err := s.CreateRefund(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SettleRefund(ctx, r.No, checkout.RefundSucceeded, func(x *checkout.Refund) { x.SucceededAt = midnight.Add(25 * time.Hour) }); err != nil {
		t.Fatal(err)
	}
	f := checkout.Refund{No: "LATER2", OrderNo: o.No, Method: o.Method, Amount: 50, State: checkout.RefundRequested, CreatedAt: midnight.Add(time.Hour)}
	if _, err := s.CreateRefund(ctx, f); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SettleRefund(ctx, f.No, checkout.RefundFailed, func(x *checkout.Refund) { x.FailedAt = midnight.Add(3 * time.Hour) }); err != nil {
		t.Fatal(err)
	}
	day := func(from time.Time) checkout.DayRecords {
		t.Helper()
		rec, err := s.DayRecords(ctx, from, from.AddDate(0, 0, 1), "")
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	if rec := day(midnight.AddDate(0, 0, -1)); len(rec.Paid) != 0 || len(rec.Settled) != 0 {
		t.Fatalf("the creation day holds %d paid, %d settled", len(rec.Paid), len(rec.Settled))
	}
	rec := day(midnight)
	if len(rec.Paid) != 1 || rec.Paid[0].No != "LATE" || len(rec.Settled) != 1 || rec.Settled[0].No != "LATER2" {
		t.Fatalf("the paid day: paid %v, settled %+v", nos(rec.Paid), rec.Settled)
	}
	rec = day(midnight.AddDate(0, 0, 1))
	if len(rec.Paid) != 0 || len(rec.Settled) != 1 || rec.Settled[0].No != "LATER1" || rec.Orders["LATE"].No != "LATE" {
		t.Fatalf("the refund's day: paid %v, settled %+v, orders %v", nos(rec.Paid), rec.Settled, rec.Orders)
	}
}

// TestCloseDayNumbersAndNeverOverwrites: closes are numbered 1, 2, … in
// the order they are made; a second close of a day is refused and the
// first stays; a build that refuses writes nothing; each close has its
// audit line.
func TestCloseDayNumbersAndNeverOverwrites(t *testing.T) {
	s, _ := mustOpen(t)
	ctx := checkout.WithActor(t.Context(), checkout.Actor{Terminal: "T1", Operator: "ana", Via: "cli"})
	d1 := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
	o := newOrder("SOLD", d1.Add(time.Hour), 1230)
	mustCreate(t, s, o)
	mustAdvance(t, s, o.No, checkout.StatePaid, func(x *checkout.Order) { x.PaidAt = d1.Add(time.Hour) })
	build := func(rec checkout.DayRecords) (checkout.DayClose, error) {
		if rec.Close != nil {
			return checkout.DayClose{}, checkout.ErrDayClosed
		}
		return checkout.NewDayClose(rec, time.UTC, "", checkout.Actor{Terminal: "T1", Operator: "ana"}), nil
	}
	z1, err := s.CloseDay(ctx, d1, d1.AddDate(0, 0, 1), "2024-03-10", build)
	if err != nil || z1.Seq != 1 || z1.Figures.Sales.Amount != 1230 || z1.Day != "2024-03-10" || z1.ClosedAt.IsZero() {
		t.Fatalf("first close: %+v %v", z1, err)
	}
	refuse := errors.New("not now")
	if _, err := s.CloseDay(ctx, d1.AddDate(0, 0, 1), d1.AddDate(0, 0, 2), "2024-03-11", func(checkout.DayRecords) (checkout.DayClose, error) {
		return checkout.DayClose{}, refuse
	}); !errors.Is(err, refuse) {
		t.Fatalf("a refusing build: %v", err)
	}
	if _, err := s.CloseDay(ctx, d1, d1.AddDate(0, 0, 1), "2024-03-10", build); !errors.Is(err, checkout.ErrDayClosed) {
		t.Fatalf("a second close of the day: %v", err)
	}
	// A build that forgets to refuse a closed day still cannot overwrite it.
	if _, err := s.CloseDay(ctx, d1, d1.AddDate(0, 0, 1), "2024-03-10", func(rec checkout.DayRecords) (checkout.DayClose, error) {
		return checkout.DayClose{}, nil
	}); !errors.Is(err, checkout.ErrDayClosed) {
		t.Fatalf("overwriting a close: %v", err)
	}
	z2, err := s.CloseDay(ctx, d1.AddDate(0, 0, 1), d1.AddDate(0, 0, 2), "2024-03-11", build)
	if err != nil || z2.Seq != 2 {
		t.Fatalf("second day's close: %+v %v", z2, err)
	}
	rec, err := s.DayRecords(ctx, d1, d1.AddDate(0, 0, 1), "2024-03-10")
	if err != nil || rec.Close == nil || rec.Close.Seq != 1 || rec.Close.Figures.Sales.Amount != 1230 || rec.Close.Operator != "ana" {
		t.Fatalf("the day's close as read back: %+v %v", rec.Close, err)
	}
	es, err := s.AuditBetween(ctx, time.Unix(0, 0), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	closes := 0
	for _, e := range es {
		if e.Kind == checkout.AuditDayClosed {
			closes++
			if e.Operator != "ana" || e.Via != "cli" {
				t.Errorf("close entry by %q via %q", e.Operator, e.Via)
			}
		}
	}
	if closes != 2 {
		t.Fatalf("%d day.closed entries, want 2", closes)
	}
	if c, err := s.VerifyAudit(ctx); err != nil || !c.OK() {
		t.Fatalf("audit: %+v %v", c, err)
	}
}

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
