package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"

	bolt "go.etcd.io/bbolt"

	"till/checkout"
)

// Bucket and key names; doc.go draws the tree.
var (
	bucketMeta             = []byte("meta")
	bucketOrders           = []byte("orders")
	bucketOrdersByCreated  = []byte("orders_by_created")
	bucketOrdersByPaid     = []byte("orders_by_paid")
	bucketOpen             = []byte("open")
	bucketRefunds          = []byte("refunds")
	bucketRefundsByOrder   = []byte("refunds_by_order")
	bucketFollowUps        = []byte("follow_ups")
	bucketOpenRefunds      = []byte("open_refunds")
	bucketAudit            = []byte("audit")
	bucketAuditByTime      = []byte("audit_by_time")
	bucketAuditByOrder     = []byte("audit_by_order")
	bucketOperators        = []byte("operators")
	bucketRefundsBySettled = []byte("refunds_by_settled")
	bucketDayCloses        = []byte("day_closes")

	keySchemaVersion = []byte("schema_version")
	keyMode          = []byte("mode")
	keyAuditHead     = []byte("audit_head")
	keyManagerPIN    = []byte("manager_pin")
	keyLastClose     = []byte("last_close")
)

// ErrSchemaNewer means the file was written by a newer till; opening it
// with this one could misread or damage it.
var ErrSchemaNewer = errors.New("ledger schema is newer than this till")

// migration moves a file from version i to i+1, where i is its index in
// migrations. It runs inside Open's write transaction.
type migration struct {
	name string
	fn   func(tx *bolt.Tx) error
}

// migrations is the schema's history, in order. A schema change appends one
// function here (never edits an old one) and a test for it; the file's
// version is the number applied.
var migrations = []migration{
	{"create buckets", createBucketsV1},
	{"follow-ups index", createFollowUpsV2},
	{"open refunds, audit trail, operators", createAuditV3},
	{"refunds by settled time, day closes", createDayClosesV4},
	{"compact records", compactRecordsV5},
}

// schemaVersion is the version this code writes.
func schemaVersion() uint64 { return uint64(len(migrations)) }

func createBucketsV1(tx *bolt.Tx) error {
	for _, name := range [][]byte{
		bucketOrders, bucketOrdersByCreated, bucketOrdersByPaid, bucketOpen,
		bucketRefunds, bucketRefundsByOrder,
	} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("creating bucket %s: %w", name, err)
		}
	}
	return nil
}

// createFollowUpsV2 adds the index of settled orders that still need a
// look (a late check, a late payment to acknowledge), and gives every
// closed Alipay order of a v1 file that showed a code its late check: v1
// closed Alipay codes before the scan with trade.cancel, which locks
// nothing, and precreated them without qr_code_timeout_express, so any of
// them may have been paid since. (A v1 WeChat close locked the code.) The
// check falls due after checkout.PayableUntil plus the default margin (at
// once for old ones) and costs one query each, spread over the passes.
func createFollowUpsV2(tx *bolt.Tx) error {
	follow, err := tx.CreateBucketIfNotExists(bucketFollowUps)
	if err != nil {
		return err
	}
	orders := tx.Bucket(bucketOrders)
	var due []checkout.Order
	err = orders.ForEach(func(k, v []byte) error {
		o, err := decodeOrder(k, v)
		if err != nil {
			return err
		}
		if o.Method == checkout.MethodAlipay && o.State == checkout.StateClosed && o.CodeURL != "" && o.RecheckAt.IsZero() {
			o.RecheckAt = checkout.PayableUntil(o).Add(checkout.DefaultLateCheckMargin)
			due = append(due, o)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, o := range due {
		v, err := json.Marshal(o)
		if err != nil {
			return err
		}
		if err := orders.Put([]byte(o.No), v); err != nil {
			return err
		}
		if err := follow.Put([]byte(o.No), []byte{}); err != nil {
			return err
		}
	}
	return nil
}

// createAuditV3 adds the index of refunds still requested (filled from the
// refunds already there, so a refund an older till left open is settled),
// the audit trail with its two indexes, and the operators.
func createAuditV3(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketOpenRefunds, bucketAudit, bucketAuditByTime, bucketAuditByOrder, bucketOperators} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("creating bucket %s: %w", name, err)
		}
	}
	open := tx.Bucket(bucketOpenRefunds)
	return tx.Bucket(bucketRefunds).ForEach(func(k, v []byte) error {
		r, err := decodeRefund(k, v)
		if err != nil {
			return err
		}
		if r.State == checkout.RefundRequested {
			return open.Put(k, []byte{})
		}
		return nil
	})
}

// createDayClosesV4 adds the index of refunds by the time they succeeded
// or failed (filled from the refunds already there: a report counts a
// refund on the day it succeeded) and the days' Z closes.
func createDayClosesV4(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketRefundsBySettled, bucketDayCloses} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("creating bucket %s: %w", name, err)
		}
	}
	settled := tx.Bucket(bucketRefundsBySettled)
	return tx.Bucket(bucketRefunds).ForEach(func(k, v []byte) error {
		r, err := decodeRefund(k, v)
		if err != nil {
			return err
		}
		if at := r.SettledAt(); !at.IsZero() {
			return settled.Put(timeKey(at, r.No), []byte{})
		}
		return nil
	})
}

// readVersion returns the file's schema version; 0 for a new file.
func readVersion(tx *bolt.Tx) (uint64, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0, nil
	}
	v := meta.Get(keySchemaVersion)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("meta/%s is %d bytes, want 8", keySchemaVersion, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// migrate applies the migrations the file lacks and records the version.
// A newer file is refused before anything is written.
func migrate(tx *bolt.Tx, path string) error {
	have, err := readVersion(tx)
	if err != nil {
		return fmt.Errorf("reading the schema version of %s: %w", path, err)
	}
	want := schemaVersion()
	if have > want {
		return fmt.Errorf("%s has schema version %d but this till knows up to %d (%s): upgrade till to open it: %w",
			filepath.Base(path), have, want, path, ErrSchemaNewer)
	}
	if have == want {
		return nil
	}
	for i := have; i < want; i++ {
		if err := migrations[i].fn(tx); err != nil {
			return fmt.Errorf("migrating %s to schema version %d (%s): %w", path, i+1, migrations[i].name, err)
		}
	}
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	return meta.Put(keySchemaVersion, binary.BigEndian.AppendUint64(nil, want))
}

// compactRecordsV5 rewrites every order, refund and audit entry still in
// JSON in the binary form (codec.go). A record is rewritten only when its
// binary form decodes to exactly what its JSON did (times' zones
// included), else it is left as it is: both forms are read. An audit
// entry's hash is over its fields' canonical JSON (ChainHash), not over
// the stored bytes, so the trail verifies as before, and an entry whose
// Prev or Seq is not what its place says (a broken trail) keeps them.
// The pages the rewrite frees stay in the file: Compact gives them back.
func compactRecordsV5(tx *bolt.Tx) error {
	if err := rewrite(tx, bucketOrders, func(k, v []byte) ([]byte, error) {
		o, err := decodeOrder(k, v)
		if err != nil {
			return nil, err
		}
		return encodeOrder(o)
	}, func(k, a, b []byte) (bool, error) {
		x, err := decodeOrder(k, a)
		if err != nil {
			return false, err
		}
		y, err := decodeOrder(k, b)
		return err == nil && reflect.DeepEqual(x, y), err
	}); err != nil {
		return err
	}
	if err := rewrite(tx, bucketRefunds, func(k, v []byte) ([]byte, error) {
		r, err := decodeRefund(k, v)
		if err != nil {
			return nil, err
		}
		return encodeRefund(r)
	}, func(k, a, b []byte) (bool, error) {
		x, err := decodeRefund(k, a)
		if err != nil {
			return false, err
		}
		y, err := decodeRefund(k, b)
		return err == nil && reflect.DeepEqual(x, y), err
	}); err != nil {
		return err
	}
	audit := tx.Bucket(bucketAudit)
	prevOf := func(k []byte) func() (string, error) {
		return func() (string, error) {
			if len(k) != 8 {
				return "", fmt.Errorf("audit key %x is not an entry number", k)
			}
			return storedPrev(audit, binary.BigEndian.Uint64(k))
		}
	}
	return rewrite(tx, bucketAudit, func(k, v []byte) ([]byte, error) {
		if len(k) != 8 {
			return v, nil // not an entry: VerifyAudit reports it; keep it
		}
		e, err := decodeAudit(k, v, prevOf(k))
		if err != nil {
			return nil, err
		}
		prev, err := prevOf(k)()
		if err != nil {
			return nil, err
		}
		return encodeAudit(e, binary.BigEndian.Uint64(k), prev)
	}, func(k, a, b []byte) (bool, error) {
		if len(k) != 8 {
			return false, nil
		}
		x, err := decodeAudit(k, a, prevOf(k))
		if err != nil {
			return false, err
		}
		y, err := decodeAudit(k, b, prevOf(k))
		return err == nil && reflect.DeepEqual(x, y), err
	})
}

// rewriteChunk is how many records rewrite reads before it writes them:
// bbolt's cursors must not walk a bucket that is being written.
const rewriteChunk = 4096

// rewrite replaces each JSON value of bucket name by enc's form of it
// when same says that form reads back the same (both are given the key).
func rewrite(tx *bolt.Tx, name []byte, enc func(k, v []byte) ([]byte, error), same func(k, old, new []byte) (bool, error)) error {
	b := appendBucket(tx, name)
	type kv struct{ k, v []byte }
	var after []byte
	for {
		var chunk []kv
		c := b.Cursor()
		k, v := c.First()
		if after != nil {
			k, v = c.Seek(after)
			if k != nil && string(k) == string(after) {
				k, v = c.Next()
			}
		}
		for ; k != nil && len(chunk) < rewriteChunk; k, v = c.Next() {
			if len(v) == 0 || v[0] != '{' { // a nested bucket, or already binary
				after = append(after[:0:0], k...)
				continue
			}
			chunk = append(chunk, kv{append([]byte(nil), k...), append([]byte(nil), v...)})
			after = append(after[:0:0], k...)
		}
		for _, r := range chunk {
			// A record that does not decode is left for its reader to
			// report (VerifyAudit names the entry), not made a reason the
			// file cannot open; one the binary form cannot hold, or not
			// exactly, stays JSON.
			nv, err := enc(r.k, r.v)
			if err != nil || len(nv) == 0 || nv[0] != recBinary {
				continue
			}
			if ok, err := same(r.k, r.v, nv); err != nil || !ok {
				continue
			}
			if err := b.Put(r.k, nv); err != nil {
				return err
			}
		}
		if k == nil {
			return nil
		}
	}
}
