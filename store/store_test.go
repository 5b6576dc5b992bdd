package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"till/checkout"
)

func TestOpenCreatesPrivateDirectory(t *testing.T) {
	s, _ := mustOpen(t)
	dir := filepath.Dir(s.Path())
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("directory mode = %o, want 700", got)
	}
	if filepath.Base(s.Path()) != "till.db" {
		t.Errorf("Path() = %q", s.Path())
	}
}

func TestDefaultLockTimeout(t *testing.T) {
	if DefaultLockTimeout != 3*time.Second {
		t.Errorf("DefaultLockTimeout = %v, want 3s", DefaultLockTimeout)
	}
	path := filepath.Join(t.TempDir(), "till.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.lockTimeout != 3*time.Second {
		t.Errorf("lock timeout without options = %v, want 3s", s.lockTimeout)
	}
	if s.db.NoSync {
		t.Error("NoSync is on: writes would not be fsynced")
	}
}

func TestSecondOpenIsLocked(t *testing.T) {
	s, _ := mustOpen(t)
	start := time.Now()
	s2, err := Open(s.Path(), WithLockTimeout(200*time.Millisecond))
	took := time.Since(start)
	if err == nil {
		s2.Close()
		t.Fatal("second Open succeeded while the first holds the file")
	}
	if !errors.Is(err, ErrLocked) {
		t.Errorf("err = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), s.Path()) || !strings.Contains(err.Error(), "till.db is in use by another till") {
		t.Errorf("message %q does not name the file", err)
	}
	if took > time.Second {
		t.Errorf("second Open took %v, want about the 200ms lock timeout", took)
	}
	// The first store is unharmed.
	mustCreate(t, s, newOrder("A1", t0, 100))
}

func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "till.db")
	clk := &fakeClock{t: t0}
	s, err := Open(path, WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	mustCreate(t, s, newOrder("O1", t0, 1000))
	mustCreate(t, s, newOrder("O2", t0.Add(time.Minute), 500))
	mustCreate(t, s, newOrder("O3", t0.Add(2*time.Minute), 700))
	mustAdvance(t, s, "O1", checkout.StatePaid, nil)
	mustAdvance(t, s, "O3", checkout.StateAwaiting, nil)
	if _, err := s.CreateRefund(ctx, checkout.Refund{No: "R1", OrderNo: "O1", Amount: 400, State: checkout.RefundSucceeded}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRefund(ctx, checkout.Refund{No: "R2", OrderNo: "O1", Amount: 100, State: checkout.RefundRequested}); err != nil {
		t.Fatal(err)
	}
	before := map[string]checkout.Order{}
	for _, no := range []string{"O1", "O2", "O3"} {
		before[no] = mustOrder(t, s, no)
	}
	refundsBefore, err := s.Refunds(ctx, "O1")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, _ = mustOpenAt(t, path)
	for no, want := range before {
		if got := mustOrder(t, s, no); got != want {
			t.Errorf("order %s after reopen:\n got %+v\nwant %+v", no, got, want)
		}
	}
	refunds, err := s.Refunds(ctx, "O1")
	if err != nil {
		t.Fatal(err)
	}
	if len(refunds) != len(refundsBefore) {
		t.Fatalf("refunds after reopen = %+v, want %+v", refunds, refundsBefore)
	}
	for i := range refunds {
		if refunds[i] != refundsBefore[i] {
			t.Errorf("refund %d after reopen = %+v, want %+v", i, refunds[i], refundsBefore[i])
		}
	}
	open, err := s.OpenOrders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(nos(open), ","); got != "O2,O3" {
		t.Errorf("open after reopen = %s, want O2,O3", got)
	}
	created, err := s.OrdersCreated(ctx, t0, t0.Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(nos(created), ","); got != "O3,O2,O1" {
		t.Errorf("created after reopen = %s, want O3,O2,O1", got)
	}
	paid, err := s.OrdersPaid(ctx, t0, t0.Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(nos(paid), ","); got != "O1" {
		t.Errorf("paid after reopen = %s, want O1", got)
	}
	// The ceiling still sees the in-flight refund: 1000 - 400 - 100 left.
	_, err = s.CreateRefund(ctx, checkout.Refund{No: "R3", OrderNo: "O1", Amount: 501, State: checkout.RefundRequested})
	if !errors.Is(err, checkout.ErrRefundAboveBalance) {
		t.Errorf("refund above balance after reopen: err = %v", err)
	}
	if v := fileVersion(t, s); v != schemaVersion() {
		t.Errorf("schema version after reopen = %d, want %d", v, schemaVersion())
	}
}

func fileVersion(t *testing.T, s *Store) uint64 {
	t.Helper()
	var v uint64
	if err := s.db.View(func(tx *bolt.Tx) (err error) {
		v, err = readVersion(tx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "till.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, binary.BigEndian.AppendUint64(nil, schemaVersion()+1))
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(path)
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a file from a newer till")
	}
	if !errors.Is(err, ErrSchemaNewer) {
		t.Errorf("err = %v, want ErrSchemaNewer", err)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), fmt.Sprintf("schema version %d", schemaVersion()+1)) {
		t.Errorf("message %q should name the file and the version", err)
	}
	// The refused file was not touched and is not left locked.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		if v, _ := readVersion(tx); v != schemaVersion()+1 {
			t.Errorf("version after refused open = %d", v)
		}
		return nil
	})
}

// TestMigrationV1 runs the first migration on an empty bbolt file (version
// 0, as a file from before the schema existed would be).
func TestMigrationV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "till.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(createBucketsV1); err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketOrders, bucketOrdersByCreated, bucketOrdersByPaid, bucketOpen, bucketRefunds, bucketRefundsByOrder} {
			if tx.Bucket(b) == nil {
				t.Errorf("bucket %s missing after v1", b)
			}
		}
		return nil
	})
	db.Close()

	// Open on a version-0 file applies the list and records the version.
	s, _ := mustOpenAt(t, path)
	if v := fileVersion(t, s); v != schemaVersion() {
		t.Errorf("version = %d, want %d", v, schemaVersion())
	}
}

// TestMigrationV2 opens a file written by the first schema, with an order
// in it: the follow-ups index appears, the order is kept, and it can be
// marked for a late check.
func TestMigrationV2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "till.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := createBucketsV1(tx); err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if err := meta.Put(keySchemaVersion, binary.BigEndian.AppendUint64(nil, 1)); err != nil {
			return err
		}
		o := newOrder("V1ORDER", t0, 500)
		o.Method, o.State, o.CodeURL = checkout.MethodAlipay, checkout.StateClosed, "https://qr.alipay.com/bax1"
		if err := putOrderV1(tx, o); err != nil {
			return err
		}
		wx := newOrder("V1WECHAT", t0, 500) // WeChat's close locked the code
		wx.State, wx.CodeURL = checkout.StateClosed, "weixin://wxpay/bizpayurl?pr=1"
		if err := putOrderV1(tx, wx); err != nil {
			return err
		}
		never := newOrder("V1NOCODE", t0, 500)
		never.State = checkout.StateClosed
		if err := putOrderV1(tx, never); err != nil {
			return err
		}
		paid := newOrder("V1PAID", t0, 500)
		paid.State, paid.CodeURL, paid.PaidAt = checkout.StatePaid, "https://qr.alipay.com/bax2", t0
		return putOrderV1(tx, paid)
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, _ := mustOpenAt(t, path)
	if v := fileVersion(t, s); v != schemaVersion() {
		t.Fatalf("version = %d, want %d", v, schemaVersion())
	}
	// The closed Alipay order that showed a code gets its late check, due
	// two hours (the code's default life) and the margin after its
	// creation; the WeChat one, the one that never showed a code and the
	// paid one do not.
	got := mustOrder(t, s, "V1ORDER")
	if got.State != checkout.StateClosed || got.Amount != 500 || !got.RecheckAt.Equal(t0.Add(2*time.Hour+checkout.DefaultLateCheckMargin)) {
		t.Fatalf("v1 order after migration: %+v", got)
	}
	f, err := s.FollowUps(t.Context())
	if err != nil || len(f) != 1 || f[0].No != "V1ORDER" {
		t.Fatalf("follow-ups after migration: %v %v", nos(f), err)
	}
	if _, err := s.Update(t.Context(), "V1ORDER", func(o *checkout.Order) error { o.RecheckAt = time.Time{}; return nil }); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.FollowUps(t.Context()); len(f) != 0 {
		t.Fatalf("follow-ups after the check: %v", nos(f))
	}
}

// putOrderV1 writes an order as schema v1 did: the record, its created
// index entry, nothing else (it is closed).
func putOrderV1(tx *bolt.Tx, o checkout.Order) error {
	v, err := json.Marshal(o)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketOrders).Put([]byte(o.No), v); err != nil {
		return err
	}
	return tx.Bucket(bucketOrdersByCreated).Put(timeKey(o.CreatedAt, o.No), []byte{})
}

func TestBindRefusesTheOtherMode(t *testing.T) {
	s, _ := mustOpen(t)
	path := s.Path()
	ctx := t.Context()
	if err := s.Bind(ctx, "live"); err != nil {
		t.Fatal(err)
	}
	if err := s.Bind(ctx, "live"); err != nil {
		t.Fatalf("same mode again: %v", err)
	}
	err := s.Bind(ctx, "sandbox")
	if !errors.Is(err, ErrWrongMode) || !strings.Contains(err.Error(), path) {
		t.Fatalf("sandbox on a live ledger: %v", err)
	}
}

// TestOpeningWritesNothingWhenNothingChanges: a second start on a ledger
// that is up to date and stamped (Open, then Bind in its mode) leaves the
// file byte for byte as it was: a write transaction would commit a new
// meta page (and sync) even when it changes nothing.
func TestOpeningWritesNothingWhenNothingChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "till.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Bind(context.Background(), "sandbox"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Bind(context.Background(), "sandbox"); err != nil {
		t.Fatal(err)
	}
	if st := s.db.Stats(); st.TxStats.GetWrite() != 0 {
		w := st.TxStats.GetWrite()
		t.Errorf("the second start wrote %d pages", w)
	}
	if err := s.Bind(context.Background(), "live"); !errors.Is(err, ErrWrongMode) {
		t.Errorf("a live desk on a sandbox ledger: %v", err)
	}
	s.Close()
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("the second start changed the file")
	}
}
