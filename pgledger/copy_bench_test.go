package pgledger

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"till/checkout"
	"till/ledger"
	"till/store"
)

// BenchmarkImport copies a file ledger of TILL_BENCH_COPY_ORDERS orders
// (100,000 by default; paid, every tenth refunded in part, each with its
// audit entries) into an empty PostgreSQL ledger, as till ledger copy
// does: the count of the file, the COPY, the read-back and the walk of
// the trail on PostgreSQL, and the commit. The file is built once per
// benchmark (run it with -benchtime 1x). Not in CI's benchmark list.
func BenchmarkImport(b *testing.B) {
	n := 100_000
	if s := os.Getenv("TILL_BENCH_COPY_ORDERS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n <= 0 {
			b.Fatalf("TILL_BENCH_COPY_ORDERS=%q is not a number of orders", s)
		}
	}
	db := ledgerDB(b)
	st := benchCounterFile(b, n)
	l := openLedger(b, db)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		source, _, err := importCtx(b.Context(), l, st, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if got := total(source.Orders); got != int64(n) {
			b.Fatalf("copied %d orders, want %d", got, n)
		}
		if err := emptyLedger(db); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "orders/s")
}

func total(m map[checkout.State]ledger.Tally) int64 {
	var t int64
	for _, x := range m {
		t += x.Count
	}
	return t
}

// benchCounterFile is a file ledger of n paid orders over the days before
// copyDay, every tenth refunded in part, written by 64 writers at once
// (the store's batches share a commit).
func benchCounterFile(b *testing.B, n int) *store.Store {
	b.Helper()
	began := time.Now()
	st, err := store.Open(filepath.Join(b.TempDir(), "till.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ctx := b.Context()
	if err := st.Bind(ctx, "live"); err != nil {
		b.Fatal(err)
	}
	const writers = 64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += writers {
				at := copyDay.Add(-time.Duration(n-i) * 7 * time.Second)
				no := fmt.Sprintf("T1%09d", i)
				o := checkout.Order{No: no, Terminal: "T1", Method: checkout.MethodWeChat, Amount: checkout.Money(100 + i%5000),
					State: checkout.StatePaid, Operator: "counter", CodeURL: "weixin://wxpay/bizpayurl?pr=" + no,
					ProviderTradeNo: "4200" + no, CreatedAt: at, UpdatedAt: at.Add(20 * time.Second), PaidAt: at.Add(20 * time.Second)}
				if err := st.CreateOrder(ctx, o); err != nil {
					errs <- err
					return
				}
				if i%10 == 0 {
					r := checkout.Refund{No: "R" + no, OrderNo: no, Amount: 50, State: checkout.RefundSucceeded, Terminal: "T1", Operator: "manager"}
					if _, err := st.CreateRefund(ctx, r); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	b.Logf("built a file of %d orders in %s", n, time.Since(began).Round(time.Second))
	return st
}
