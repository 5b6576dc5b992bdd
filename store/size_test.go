package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"till/checkout"
)

// The ledger's size per order (issue 13): a store built through the
// desk's write path (CreateOrder, Advance to awaiting and to paid; one
// order in twenty refunded in part some forty sales later, CreateRefund
// then SettleRefund), one transaction per step as the desk commits them,
// measured by the pages bbolt has handed out (the file's high-water mark)
// and by bucket.
//
// TestLedgerSize builds sizeCIOrders orders and holds them to the
// budget; TILL_SIZE_ORDERS=n builds n instead (10000 for the figures in
// BENCHMARKS.md; 730000, a year of 2,000 sales a day, takes minutes and
// is never built by CI). TILL_SIZE_DIR keeps the file there (a real disk:
// the default temporary directory is one here too) instead of a
// temporary directory.

const (
	// sizeBudget is what an order may cost, its share of the refunds
	// included: a regression bound at what schema 5 with a sale's two
	// commits measures (862 B at 2,000 orders, 811 B at 10,000), not
	// issue 13's target of 600 B, which the audit trail and its indexes
	// alone nearly fill (464 B an order; BENCHMARKS.md).
	sizeBudget = 920
	// sizeCIOrders is the store CI builds: one day.
	sizeCIOrders = 2000
	// sizeRefundLag is how many sales later an order is refunded.
	sizeRefundLag = 40
	// sizeDayOrders is a shop day's sales, one every 25 s from 08:00.
	sizeDayOrders = 2000
)

// sizeFigures is what a built store measures.
type sizeFigures struct {
	Orders, Refunds int
	HighWater       int64 // bytes: pages bbolt has handed out (tx.Size)
	FileSize        int64 // bytes: the file, bbolt's growth slack included
	FreePages       int   // pages free or pending in the file
	Buckets         []bucketSize
	Built           time.Duration
}

type bucketSize struct {
	Name        string
	KeyN        int
	LeafInuse   int
	LeafAlloc   int
	BranchAlloc int
	Inline      int
}

// PerOrder is the high-water mark divided by the orders.
func (f sizeFigures) PerOrder() float64 { return float64(f.HighWater) / float64(f.Orders) }

func (f sizeFigures) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d orders, %d refunds: %.0f B per order (high water %d B, file %d B, %d free pages), built in %s\n",
		f.Orders, f.Refunds, f.PerOrder(), f.HighWater, f.FileSize, f.FreePages, f.Built.Round(time.Millisecond))
	fmt.Fprintf(&b, "%-20s %9s %11s %11s %11s %9s %9s\n", "bucket", "keys", "leaf inuse", "leaf alloc", "branch", "B/order", "fill")
	for _, s := range f.Buckets {
		fill := 0.0
		if s.LeafAlloc > 0 {
			fill = float64(s.LeafInuse) / float64(s.LeafAlloc)
		}
		fmt.Fprintf(&b, "%-20s %9d %11d %11d %11d %9.1f %9.2f\n", s.Name, s.KeyN, s.LeafInuse, s.LeafAlloc, s.BranchAlloc,
			float64(s.LeafAlloc+s.BranchAlloc+s.Inline)/float64(f.Orders), fill)
	}
	return b.String()
}

// measure reads the figures of an open store.
func measure(s *Store, orders, refunds int) (sizeFigures, error) {
	f := sizeFigures{Orders: orders, Refunds: refunds}
	err := s.db.View(func(tx *bolt.Tx) error {
		f.HighWater = tx.Size()
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			st := b.Stats()
			f.Buckets = append(f.Buckets, bucketSize{Name: string(name), KeyN: st.KeyN, LeafInuse: st.LeafInuse,
				LeafAlloc: st.LeafAlloc, BranchAlloc: st.BranchAlloc, Inline: st.InlineBucketInuse})
			return nil
		})
	})
	if err != nil {
		return f, err
	}
	st := s.db.Stats()
	f.FreePages = st.FreePageN + st.PendingPageN
	fi, err := os.Stat(s.path)
	if err != nil {
		return f, err
	}
	f.FileSize = fi.Size()
	slices.SortFunc(f.Buckets, func(a, b bucketSize) int { return (b.LeafAlloc + b.BranchAlloc) - (a.LeafAlloc + a.BranchAlloc) })
	return f, nil
}

// sizeClock is the build's clock: it moves only when told.
type sizeClock struct{ t time.Time }

func (c *sizeClock) Now() time.Time { return c.t }

// buildSizeStore writes n orders to a new store at path through the
// desk's write path and returns it open (the caller closes it). The
// file is written without fsync (the pages are the same) and synced once
// at the end.
func buildSizeStore(tb testing.TB, path string, n int) (*Store, int) {
	tb.Helper()
	loc := benchShop(tb)
	clk := &sizeClock{}
	s, err := Open(path, WithClock(clk.Now))
	if err != nil {
		tb.Fatal(err)
	}
	s.db.NoSync = true
	refunds := 0
	day0 := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
	at := func(i int) time.Time {
		return day0.AddDate(0, 0, i/sizeDayOrders).Add(8*time.Hour + time.Duration(i%sizeDayOrders)*25*time.Second + time.Duration(i%7)*time.Millisecond)
	}
	ctx := checkout.WithActor(context.Background(), checkout.Actor{Terminal: "T1", Operator: "ana", Via: "desk"})
	fail := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	var nos []string
	refund := func(i int) {
		no := nos[i]
		start := at(i + sizeRefundLag).Add(10 * time.Second)
		clk.t = start
		o, err := s.Order(ctx, no)
		fail(err)
		r := checkout.Refund{No: benchNo(start, "R", i), OrderNo: no, Method: o.Method, Amount: o.Amount / 2,
			State: checkout.RefundRequested, Reason: "customer returned an item", Terminal: "T1", Operator: "ana"}
		_, err = s.CreateRefund(ctx, r)
		fail(err)
		clk.t = start.Add(50 * time.Millisecond)
		_, err = s.UpdateRefund(ctx, r.No, func(r *checkout.Refund) error { r.Sent, r.Attempts = true, r.Attempts+1; return nil })
		fail(err)
		clk.t = start.Add(700 * time.Millisecond)
		_, _, err = s.SettleRefund(ctx, r.No, checkout.RefundSucceeded, func(r *checkout.Refund) {
			r.ProviderRefundNo = "503000000120260615" + strconv.Itoa(1000000000+i)
			r.ProviderSaid, r.ProviderSaidAt = "SUCCESS", clk.t
		})
		fail(err)
		refunds++
	}
	started := time.Now()
	for i := range n {
		t := at(i)
		clk.t = t
		method, code := checkout.MethodWeChat, "weixin://wxpay/bizpayurl?pr=Ab3dE"+strconv.Itoa(10+i%90)
		trade := "42000031" + t.UTC().Format("20060102") + strconv.Itoa(100000000000+i)
		if i%3 == 0 {
			method, code = checkout.MethodAlipay, "https://qr.alipay.com/bax0"+strconv.Itoa(1000000000+i*7)+"abcdefghij"
			trade = t.UTC().Format("20060102") + "22001" + strconv.Itoa(1000000000000000+i)
		}
		o := checkout.Order{No: benchNo(t, "", i), Terminal: "T1", Method: method, State: checkout.StateCreated,
			Amount: checkout.Money(100 + i*7919%9900), Operator: "ana", ExpiresAt: t.Add(3 * time.Minute).Truncate(time.Second)}
		fail(s.CreateOrder(ctx, o))
		nos = append(nos, o.No)
		// As the desk writes a sale: created before the provider is
		// called, then paid, the code and its acceptance riding in that
		// commit (checkout's create writes no awaiting step).
		accepted := t.Add(300 * time.Millisecond)
		clk.t = t.Add(time.Duration(8+i%15) * time.Second)
		_, err := s.Advance(ctx, o.No, checkout.StatePaid, func(o *checkout.Order) {
			o.AcceptedAt, o.CodeURL = accepted, code
			o.ProviderTradeNo, o.ProviderSaid, o.ProviderSaidAt = trade, "SUCCESS", clk.t
		})
		fail(err)
		if j := i - sizeRefundLag; j >= 0 && j%20 == 0 {
			refund(j)
		}
	}
	for j := max(0, n-sizeRefundLag); j < n; j++ {
		if j%20 == 0 {
			refund(j)
		}
	}
	fail(s.db.Sync())
	s.db.NoSync = false
	if testing.Verbose() {
		tb.Logf("built %d orders in %s", n, time.Since(started).Round(time.Millisecond))
	}
	return s, refunds
}

func sizeOrders(tb testing.TB) int {
	if v := os.Getenv("TILL_SIZE_ORDERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			tb.Fatalf("TILL_SIZE_ORDERS=%q: want a count of orders", v)
		}
		return n
	}
	return sizeCIOrders
}

func sizeDir(tb testing.TB) string {
	if d := os.Getenv("TILL_SIZE_DIR"); d != "" {
		return d
	}
	return tb.TempDir()
}

// TestLedgerSize builds a store through the write path and holds its
// bytes per order to sizeBudget.
func TestLedgerSize(t *testing.T) {
	n := sizeOrders(t)
	path := filepath.Join(sizeDir(t), fmt.Sprintf("size-%d.db", n))
	_ = os.Remove(path)
	start := time.Now()
	s, refunds := buildSizeStore(t, path, n)
	built := time.Since(start)
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}()
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	f, err := measure(s, n, refunds)
	if err != nil {
		t.Fatal(err)
	}
	f.Built = built
	t.Logf("%s", f)
	if got := f.PerOrder(); got > sizeBudget {
		t.Errorf("%.0f B per order, budget %d", got, sizeBudget)
	}
}

// TestMigrateSize opens the ledger TILL_SIZE_MIGRATE names (a store
// buildSizeStore wrote at a v4 till: see BENCHMARKS.md), which migrates
// it, logs the migration's time and the figures, compacts it and logs
// them again. It changes the file: give it a copy.
func TestMigrateSize(t *testing.T) {
	path := os.Getenv("TILL_SIZE_MIGRATE")
	if path == "" {
		t.Skip("TILL_SIZE_MIGRATE=<a copy of a v4 size store> migrates and compacts it")
	}
	var orders, refunds int
	count := func(s *Store) {
		_ = s.db.View(func(tx *bolt.Tx) error {
			orders, refunds = tx.Bucket(bucketOrders).Stats().KeyN, tx.Bucket(bucketRefunds).Stats().KeyN
			return nil
		})
	}
	start := time.Now()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	count(s)
	f, err := measure(s, orders, refunds)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Open with the migration: %s\n%s", took.Round(time.Millisecond), f)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	res, err := Compact(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, err = measure(s, orders, refunds)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Compact: %d B to %d B in %s\n%s", res.Before, res.After, res.Took.Round(time.Millisecond), f)
}
