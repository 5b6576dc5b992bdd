package store_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"till/checkout"
	"till/providers/fake"
	"till/store"
)

// The store benchmark suite (issue 13): the bare bbolt floors, till's own
// ledger operations, and the same workload on SQLite (sqlitebench_test.go),
// all in one `go test -bench` run; TestStoreRatios (ratios_test.go) runs
// the pairs interleaved and prints their ratios against the targets.
//
// Everything here uses only the exported API of store, checkout and
// providers/fake, so the benchmarks go on measuring the same thing after
// the ledger's insides change. Commits are counted from the file itself:
// the id of the last committed transaction sits in bbolt's two meta pages
// (lastTxID), so commits per operation is the difference over the run
// divided by b.N, whatever code made them.
//
// Files go on the real disk with fsync on (benchDir): the writes' time is
// the fsyncs'. The 10,000-order ledger the reads run on is built once per
// test binary (ledgerFixture).

// benchDir returns a fresh directory for one benchmark's files on a real
// disk: b.TempDir() unless that is on tmpfs (where fsync costs nothing),
// and then a directory under $HOME/.cache/till-bench, removed afterwards.
func benchDir(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	if !onTmpfs(dir) {
		return dir
	}
	home, err := os.UserHomeDir()
	if err != nil {
		tb.Fatal(err)
	}
	base := filepath.Join(home, ".cache", "till-bench")
	if err := os.MkdirAll(base, 0o700); err != nil {
		tb.Fatal(err)
	}
	dir, err = os.MkdirTemp(base, "run-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// lastTxID is the id of the last transaction committed to the bbolt file
// at path, read from its meta pages (bbolt's file format, version 2: a
// page header of 16 bytes, then magic, version, page size and flags as
// uint32, the root bucket (16 bytes), the freelist and high-water page ids,
// the txid and an FNV-64a checksum of what precedes it, all in the
// machine's byte order). bbolt writes one meta page per commit, so the
// difference between two readings is the commits made in between. It
// reads the file, not the open handle, and needs no access to the store's
// insides.
func lastTxID(tb testing.TB, path string) uint64 {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	const (
		offMagic, offPageSize, offTxID, offSum, metaEnd = 16, 24, 64, 72, 80
		magic                                           = 0xED0CDAED
	)
	page := make([]byte, metaEnd)
	if _, err := f.ReadAt(page, 0); err != nil {
		tb.Fatal(err)
	}
	pageSize := int64(binary.NativeEndian.Uint32(page[offPageSize:]))
	var id uint64
	valid := 0
	for _, at := range []int64{0, pageSize} {
		if _, err := f.ReadAt(page, at); err != nil {
			tb.Fatal(err)
		}
		h := fnv.New64a()
		h.Write(page[offMagic:offSum])
		if binary.NativeEndian.Uint32(page[offMagic:]) != magic || h.Sum64() != binary.NativeEndian.Uint64(page[offSum:]) {
			continue // the meta page being written when a commit was cut short
		}
		valid++
		id = max(id, binary.NativeEndian.Uint64(page[offTxID:]))
	}
	if valid == 0 {
		tb.Fatalf("%s: no valid bbolt meta page", path)
	}
	return id
}

// commitCounter counts the commits to the bbolt file at path from now on.
type commitCounter struct {
	path  string
	start uint64
}

func countCommits(tb testing.TB, path string) *commitCounter {
	return &commitCounter{path: path, start: lastTxID(tb, path)}
}

// perOp reports the commits made since countCommits per operation as the
// benchmark's commits/op, and returns it.
func (c *commitCounter) perOp(b *testing.B) float64 {
	b.Helper()
	n := float64(lastTxID(b, c.path)-c.start) / float64(b.N)
	b.ReportMetric(n, "commits/op")
	return n
}

// openLedger opens a till ledger in a fresh directory on the disk, as the
// desk opens it (store.Open, then Bind), and closes it after the benchmark.
func openLedger(tb testing.TB) *store.Store {
	tb.Helper()
	st, err := store.Open(filepath.Join(benchDir(tb), "till.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if err := st.Bind(context.Background(), "sandbox"); err != nil {
		tb.Fatal(err)
	}
	return st
}

// tillBatchSettings are the MaxBatchSize and MaxBatchDelay till's ledger
// runs with, read from a store as Open leaves it.
func tillBatchSettings(tb testing.TB) (int, time.Duration) {
	tb.Helper()
	return openLedger(tb).BatchSettings()
}

// bareBolt opens a bare bbolt file in a fresh directory on the disk, with
// the options till opens its ledger with (bbolt's defaults: fsync on), and
// one bucket.
func bareBolt(tb testing.TB) (*bolt.DB, string) {
	tb.Helper()
	path := filepath.Join(benchDir(tb), "bare.db")
	opts := *bolt.DefaultOptions
	opts.Timeout = time.Second
	db, err := bolt.Open(path, 0o600, &opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket(bareBucket)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return db, path
}

var bareBucket = []byte("floor")

// bareValue is the floors' value: small, as an index entry or a flag is.
var bareValue = []byte("0123456789abcdef")

func bareKey(i uint64) []byte { return binary.BigEndian.AppendUint64(nil, i) }

// BenchmarkFloorUpdate is one fsynced bbolt Update writing one small key:
// the least one durable write can cost on this disk, and the floor of a
// sale's ledger writes.
func BenchmarkFloorUpdate(b *testing.B) {
	db, path := bareBolt(b)
	commits := countCommits(b, path)
	var i uint64
	for b.Loop() {
		i++
		err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bareBucket).Put(bareKey(i), bareValue) })
		if err != nil {
			b.Fatal(err)
		}
	}
	commits.perOp(b)
}

// runWriters runs b.N operations on writers goroutines, each op taking the
// next number, and reports the throughput as orders/s (ns/op is then the
// wall time divided by b.N: the inverse of the throughput, not one op's
// latency).
func runWriters(b *testing.B, writers int, op func(i int) error) {
	b.Helper()
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range writers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				if err := op(i); err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "orders/s")
}

// settleWriters is how many goroutines settle at once in the concurrent
// benchmarks: a flood of notifications (the listener's bound is 64).
const settleWriters = 64

// benchBareBatch is bare bbolt Batch from writers goroutines, each call
// one Put of a different key, with the given batch settings.
func benchBareBatch(b *testing.B, writers, size int, delay time.Duration) {
	db, path := bareBolt(b)
	db.MaxBatchSize, db.MaxBatchDelay = size, delay
	commits := countCommits(b, path)
	runWriters(b, writers, func(i int) error {
		return db.Batch(func(tx *bolt.Tx) error { return tx.Bucket(bareBucket).Put(bareKey(uint64(i)), bareValue) })
	})
	commits.perOp(b)
}

// BenchmarkFloorBatch1 is bare Batch from one writer with till's batch
// settings: what a lone write pays if it goes through Batch (it waits out
// MaxBatchDelay for company that never comes).
func BenchmarkFloorBatch1(b *testing.B) {
	size, delay := tillBatchSettings(b)
	benchBareBatch(b, 1, size, delay)
}

// BenchmarkFloorBatch64 is bare Batch from 64 writers: "till" with the
// MaxBatchSize and MaxBatchDelay till's ledger runs with (the floor of
// BenchmarkSettle64), "size=64" with MaxBatchSize 64 and bbolt's default
// delay (10ms), for comparison.
func BenchmarkFloorBatch64(b *testing.B) {
	size, delay := tillBatchSettings(b)
	b.Run("till", func(b *testing.B) { benchBareBatch(b, settleWriters, size, delay) })
	b.Run("size=64", func(b *testing.B) { benchBareBatch(b, settleWriters, 64, 10*time.Millisecond) })
}

// saleEngine is an engine on a fresh ledger with an instant fake WeChat
// Pay provider that pays an order on its first poll when payOnPoll.
func saleEngine(tb testing.TB, payOnPoll bool) (*checkout.Engine, *fake.Provider, *store.Store) {
	tb.Helper()
	st := openLedger(tb)
	p := fake.New(checkout.MethodWeChat)
	if payOnPoll {
		p.PayAfterPolls = 1
	}
	return checkout.NewEngine(st, []checkout.Provider{p}, checkout.Config{}, nil, nil), p, st
}

// BenchmarkSaleWrites is one whole sale through checkout.Engine on the
// real ledger with an instant provider: Start (the order written, created
// at the provider, recorded as awaiting) and one Poll that finds it paid.
// The provider costs nothing, so the time is the ledger's writes;
// commits/op is how many fsynced commits a sale makes.
func BenchmarkSaleWrites(b *testing.B) {
	eng, _, st := saleEngine(b, true)
	ctx := context.Background()
	commits := countCommits(b, st.Path())
	b.ReportAllocs()
	for b.Loop() {
		o, err := eng.Start(ctx, checkout.MethodWeChat, 1230, "")
		if err != nil {
			b.Fatal(err)
		}
		if o, err = eng.Poll(ctx, o.No); err != nil || o.State != checkout.StatePaid {
			b.Fatal(o.State, err)
		}
	}
	commits.perOp(b)
}

// awaitingOrders starts n sales that wait for the customer (the provider
// never pays by itself), from 64 goroutines, and returns them.
func awaitingOrders(b *testing.B, eng *checkout.Engine, n int) []checkout.Order {
	b.Helper()
	orders := make([]checkout.Order, n)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range settleWriters {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				o, err := eng.Start(context.Background(), checkout.MethodWeChat, checkout.Money(100+i%9900), "")
				if err == nil && o.State != checkout.StateAwaiting {
					err = fmt.Errorf("order %s is %s, want awaiting", o.No, o.State)
				}
				if err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
				orders[i] = o
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return orders
}

// BenchmarkSettle64 is 64 goroutines settling different orders, each an
// order awaiting the customer moved to paid through the engine's real
// paths: "notified" by checkout.Engine.Notified (the webhook's path, a
// verified payment notification), "poll" by checkout.Engine.Poll after the
// customer paid at the provider (the poll's and recovery's path). The b.N
// orders are started beforehand, off the clock. orders/s is the
// throughput; commits/op how many commits each settlement cost.
func BenchmarkSettle64(b *testing.B) {
	b.Run("notified", func(b *testing.B) { benchSettle(b, false) })
	b.Run("poll", func(b *testing.B) { benchSettle(b, true) })
}

func benchSettle(b *testing.B, poll bool) {
	eng, p, st := saleEngine(b, false)
	orders := awaitingOrders(b, eng, b.N)
	if poll {
		for _, o := range orders {
			if err := p.Pay(o.No); err != nil {
				b.Fatal(err)
			}
		}
	}
	ctx := context.Background()
	paidAt := time.Now().Round(time.Second)
	commits := countCommits(b, st.Path())
	runWriters(b, settleWriters, func(i int) error {
		o := orders[i]
		var got checkout.Order
		var err error
		if poll {
			got, err = eng.Poll(ctx, o.No)
		} else {
			got, err = eng.Notified(ctx, checkout.PaymentNotice{
				Method: o.Method, ID: "N" + o.No, OrderNo: o.No, ProviderTradeNo: "4200" + o.No,
				Amount: o.Amount, Currency: checkout.Currency, State: checkout.TradePaid, PaidAt: paidAt, Raw: "SUCCESS",
			})
		}
		if err == nil && got.State != checkout.StatePaid {
			err = fmt.Errorf("order %s is %s, want paid", o.No, got.State)
		}
		return err
	})
	commits.perOp(b)
}

// BenchmarkOpenUnchanged opens and closes a ledger that is up to date,
// the way a desk starts: "open" is store.Open alone, "open+bind" Open and
// then Bind to the mode the ledger already holds. commits/op says whether
// starting writes when there is nothing to change (the target is 0).
func BenchmarkOpenUnchanged(b *testing.B) {
	b.Run("open", func(b *testing.B) { benchOpen(b, false) })
	b.Run("open+bind", func(b *testing.B) { benchOpen(b, true) })
}

func benchOpen(b *testing.B, bind bool) {
	path := filepath.Join(benchDir(b), "till.db")
	ctx := context.Background()
	open := func() {
		st, err := store.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		if bind {
			err = st.Bind(ctx, "sandbox")
		}
		if cerr := st.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	open() // creates the file and brings it up to date
	commits := countCommits(b, path)
	for b.Loop() {
		open()
	}
	commits.perOp(b)
}

// floorBuckets is how many buckets a sale's settling commit writes a key
// into (orders, orders_by_paid, open, audit, audit_by_time,
// audit_by_order, meta, orders_by_created for the first): the pages one
// of its fsynced commits puts on disk, against the floor's one.
const floorBuckets = 8

// BenchmarkFloorUpdatePages is a bare fsynced Update that appends one
// small key to each of floorBuckets buckets of 10,000 keys: the cost of a
// commit that dirties as many pages as one of a sale's does, with none of
// till's work (no decoding, no audit hash). Beside BenchmarkFloorUpdate it
// shows what a commit's pages cost on this disk.
func BenchmarkFloorUpdatePages(b *testing.B) {
	db, path := bareBolt(b)
	names := make([][]byte, floorBuckets)
	err := db.Update(func(tx *bolt.Tx) error {
		for j := range names {
			names[j] = []byte{'p', byte('0' + j)}
			bk, err := tx.CreateBucket(names[j])
			if err != nil {
				return err
			}
			bk.FillPercent = 0.95
			for i := range uint64(10_000) {
				if err := bk.Put(bareKey(i), bareValue); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	commits := countCommits(b, path)
	i := uint64(10_000)
	for b.Loop() {
		i++
		err := db.Update(func(tx *bolt.Tx) error {
			for _, n := range names {
				if err := tx.Bucket(n).Put(bareKey(i), bareValue); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	commits.perOp(b)
}
