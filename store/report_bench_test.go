package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"till/checkout"
	"till/ledger"
)

// The day report's speed (issue 10): the same day of 2,000 orders, with
// its refunds, read (DayRecords) and computed (checkout.BuildReport) from
// a ledger holding 10,000 orders of history and from one holding
// 1,000,000. The report reads key ranges of orders_by_paid and
// refunds_by_settled and the small open indexes, so the two should cost
// the same.
//
// TILL_BENCH_DIR keeps the stores between runs (report-<history>.db; a
// kept file is used again when its recipe matches, else rebuilt); without
// it each run builds them in a temporary directory. The million-order
// store (several gigabytes, minutes to build) is built only when
// TILL_BENCH_MILLION=1, so CI never builds it. TestReportDayRatio (same
// variable) runs both benchmarks interleaved and logs their ratio.

const (
	// reportDayOrders is the reported day's orders; each history day
	// holds as many, before it.
	reportDayOrders = 2000
	// fixtureBatch is how many orders one bolt transaction of the build
	// writes: a whole number of days.
	fixtureBatch = 20 * reportDayOrders
	// fixtureRecipe names what the build writes; change it with the
	// recipe, and kept files are rebuilt.
	fixtureRecipe = "report-day v1"
)

// reportDay is the reported day, in the shop's zone.
const reportDay = "2026-06-15"

var benchOperators = []string{"ana", "bo", "chen"}

// benchShop is the shop's zone of the benchmark.
func benchShop(tb testing.TB) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

// dayWant is what the reported day's report must say, tallied by the
// recipe as it writes (not by the code under test).
type dayWant struct {
	Sales, Refunds, Unsettled, Anomalies int
	NetFen                               checkout.Money
}

func wantOf(r checkout.DayReport) dayWant {
	return dayWant{Sales: r.Sales.Count, Refunds: r.Refunds.Count, Unsettled: r.Unsettled.Count,
		Anomalies: r.Anomalies.Count, NetFen: r.NetFen}
}

// benchNo is a number as checkout.Numbers mints them (UTC time with
// milliseconds, terminal, kind, instance tag, sequence), so the orders
// and refunds buckets grow at their end as the desk's do.
func benchNo(at time.Time, kind string, i int) string {
	const base36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	t := at.UTC()
	s := i % (36 * 36)
	return fmt.Sprintf("%s%03dT1%sBNCH%c%c", t.Format("20060102150405"), t.Nanosecond()/1e6, kind, base36[s/36], base36[s%36])
}

// fixtureDay writes one shop day of reportDayOrders orders from start (the
// day's midnight in the shop's zone): one every 25 s from 08:00, each
// through the steps the desk writes (created, awaiting, then paid, closed
// or disputed; refunds requested, then settled), by putOrder, putRefund
// and ledger.AddRefunded with w.now at each step, so records, indexes and audit
// trail are the desk's. Of the paid orders one in ten is partly refunded
// an hour later; one in 400 has a refund that fails, one in 400 a refund
// that succeeds. Each day has a disputed order and a late payment. Only
// the reported day (report) keeps what a settled history no longer has:
// its last three orders awaiting, its one-in-400 refunds still requested
// and its late payment unacknowledged. want tallies the day's report.
func fixtureDay(w *wtx, start time.Time, report bool, want *dayWant) error {
	for i := range reportDayOrders {
		at := start.Add(8*time.Hour + time.Duration(i)*25*time.Second)
		method, said, code := checkout.MethodWeChat, "NOTPAY", "weixin://wxpay/bizpayurl?pr=BENCH"
		if i%3 == 0 {
			method, said, code = checkout.MethodAlipay, "WAIT_BUYER_PAY", "https://qr.alipay.com/bax0BENCH"
		}
		o := checkout.Order{
			No: benchNo(at, "", i), Terminal: "T1", Method: method, State: checkout.StateCreated,
			Amount:    checkout.Money(100 + i*7919%9900),
			Operator:  benchOperators[i/3%3],
			CreatedAt: at, UpdatedAt: at, ExpiresAt: at.Add(3 * time.Minute),
		}
		step := func(now time.Time, edit func(*checkout.Order)) error {
			old := o
			edit(&o)
			o.UpdatedAt = now
			w.now = now
			return putOrder(w, &old, o)
		}
		w.now = at
		if err := putOrder(w, nil, o); err != nil {
			return err
		}
		err := step(at.Add(300*time.Millisecond), func(o *checkout.Order) {
			o.State, o.AcceptedAt, o.CodeURL, o.ProviderSaid, o.ProviderSaidAt = checkout.StateAwaiting, at.Add(300*time.Millisecond), code+o.No, said, at.Add(300*time.Millisecond)
		})
		if err != nil {
			return err
		}
		paidAt := at.Add(time.Duration(15+i%20) * time.Second)
		pay := func(o *checkout.Order) {
			o.State, o.PaidAt, o.ProviderTradeNo, o.ProviderSaid, o.ProviderSaidAt = checkout.StatePaid, paidAt, "4200BENCH"+o.No, "SUCCESS", paidAt
		}
		switch {
		case report && i >= reportDayOrders-3: // still awaiting the customer
			want.Unsettled++
			continue
		case i%25 == 7: // abandoned: closed at the timeout
			err = step(at.Add(3*time.Minute), func(o *checkout.Order) {
				o.State, o.ClosedAt, o.Reason, o.ProviderSaid = checkout.StateClosed, at.Add(3*time.Minute), "timeout", "CLOSED"
			})
		case i == 1000: // the provider took another amount
			err = step(paidAt, func(o *checkout.Order) {
				pay(o)
				o.State, o.ProviderAmount = checkout.StateDisputed, o.Amount+100
			})
			want.Anomalies++
		case i == 1502: // closed, then paid: a late payment
			paidAt = at.Add(4 * time.Minute)
			err = step(at.Add(3*time.Minute), func(o *checkout.Order) {
				o.State, o.ClosedAt, o.Reason = checkout.StateClosed, at.Add(3*time.Minute), "timeout"
			})
			if err == nil {
				err = step(paidAt, func(o *checkout.Order) { pay(o); o.Late = true })
			}
			if err == nil && !report {
				err = step(paidAt.Add(time.Minute), func(o *checkout.Order) { o.LateSeenAt = paidAt.Add(time.Minute) })
			}
			want.Sales++
			want.NetFen += o.Amount
			want.Anomalies++
		default:
			err = step(paidAt, pay)
			want.Sales++
			want.NetFen += o.Amount
		}
		if err != nil {
			return err
		}
		if !o.State.WasPaid() {
			continue
		}
		refund := func(amount checkout.Money, after time.Duration, to checkout.RefundState) error {
			asked := paidAt.Add(after)
			r := checkout.Refund{
				No: benchNo(asked, "R", i), OrderNo: o.No, Method: o.Method, Amount: amount, State: checkout.RefundRequested,
				Reason: "customer returned it", Terminal: "T1", Operator: o.Operator, CreatedAt: asked, UpdatedAt: asked,
			}
			w.now = asked
			if err := putRefund(w, nil, r); err != nil {
				return err
			}
			old := r
			r.Sent, r.Attempts = true, 1
			if to == checkout.RefundRequested {
				want.Unsettled++
				return putRefund(w, &old, r)
			}
			done := asked.Add(5 * time.Second)
			r.State, r.UpdatedAt, r.ProviderSaid, r.ProviderSaidAt = to, done, "SUCCESS", done
			w.now = done
			if to == checkout.RefundFailed {
				r.FailedAt, r.ProviderSaid, r.FailReason = done, "NOT_ENOUGH", "the merchant's balance is short"
				want.Anomalies++
				return putRefund(w, &old, r)
			}
			r.SucceededAt = done
			if err := putRefund(w, &old, r); err != nil {
				return err
			}
			want.Refunds++
			want.NetFen -= amount
			next, err := ledger.AddRefunded(o, amount, done)
			if err != nil {
				return err
			}
			if err := putOrder(w, &o, next); err != nil {
				return err
			}
			o = next
			return nil
		}
		switch {
		case i%10 == 3:
			err = refund(max(o.Amount/3, 1), time.Hour, checkout.RefundSucceeded)
		case i%400 == 19:
			err = refund(o.Amount/2, 30*time.Minute, checkout.RefundFailed)
		case i%400 == 221 && report:
			err = refund(o.Amount/2, 30*time.Minute, checkout.RefundRequested)
		case i%400 == 221:
			err = refund(o.Amount/2, 30*time.Minute, checkout.RefundSucceeded)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// buildReportStore writes the fixture at path: history orders over the
// days before the reported day (reportDayOrders a day), then the day,
// fixtureBatch orders per bolt transaction with fsync off (the file is
// synced once at the end), and last the recipe's marker. It builds under
// another name and renames, so a build cut short is never taken for a
// whole one.
func buildReportStore(tb testing.TB, path string, history int) (dayWant, error) {
	tb.Helper()
	loc := benchShop(tb)
	day, err := checkout.ParseDay(reportDay, loc)
	if err != nil {
		return dayWant{}, err
	}
	tmp := path + ".building"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return dayWant{}, err
	}
	began := time.Now()
	s, err := Open(tmp)
	if err != nil {
		return dayWant{}, err
	}
	s.db.NoSync = true // the build only: a crash leaves a .building file, never a fixture
	days := history / reportDayOrders
	var want dayWant
	for d := days; d >= 0; {
		err := s.db.Update(func(tx *bolt.Tx) error {
			w := &wtx{Tx: tx}
			for n := 0; n < fixtureBatch && d >= 0; n, d = n+reportDayOrders, d-1 {
				var discard dayWant
				tally := &discard
				if d == 0 {
					tally = &want
				}
				if err := fixtureDay(w, day.AddDate(0, 0, -d), d == 0, tally); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			s.Close()
			return dayWant{}, err
		}
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketBenchFixture)
		if err != nil {
			return err
		}
		v, err := json.Marshal(want)
		if err != nil {
			return err
		}
		if err := b.Put([]byte("want"), v); err != nil {
			return err
		}
		return b.Put([]byte("recipe"), []byte(recipeOf(history)))
	})
	s.db.NoSync = false
	if err == nil {
		err = s.db.Sync()
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return dayWant{}, err
	}
	size := int64(0)
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
	}
	tb.Logf("built %s: %d orders of history and the day's %d in %s, %.0f MB",
		path, history, reportDayOrders, time.Since(began).Round(100*time.Millisecond), float64(size)/1e6)
	return want, nil
}

func recipeOf(history int) string {
	return fmt.Sprintf("%s history=%d day=%s orders=%d", fixtureRecipe, history, reportDay, reportDayOrders)
}

// reportStore opens the fixture with history orders of history (building
// it first unless TILL_BENCH_DIR holds one of the same recipe) the way
// till opens a ledger, and says what the day's report must be.
func reportStore(tb testing.TB, history int) (*Store, dayWant) {
	tb.Helper()
	dir := os.Getenv("TILL_BENCH_DIR")
	if dir == "" {
		dir = tb.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("report-%d.db", history))
	if _, err := os.Stat(path); err == nil {
		if s, want, ok := keptReportStore(tb, path, history); ok {
			return s, want
		}
		if err := os.Remove(path); err != nil {
			tb.Fatal(err)
		}
	}
	want, err := buildReportStore(tb, path, history)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s, want
}

// keptReportStore opens a kept fixture if its marker names this recipe.
func keptReportStore(tb testing.TB, path string, history int) (*Store, dayWant, bool) {
	tb.Helper()
	s, err := Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	var want dayWant
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBenchFixture)
		if b == nil || string(b.Get([]byte("recipe"))) != recipeOf(history) {
			return errStaleFixture
		}
		return json.Unmarshal(b.Get([]byte("want")), &want)
	})
	if err != nil {
		tb.Logf("rebuilding %s: %v", path, err)
		s.Close()
		return nil, dayWant{}, false
	}
	tb.Logf("using the kept %s", path)
	tb.Cleanup(func() { s.Close() })
	return s, want, true
}

var (
	bucketBenchFixture = []byte("bench_fixture")
	errStaleFixture    = errors.New("not built by this recipe")
)

// benchReport reports the day from the store with history orders of
// history: one DayRecords transaction and one BuildReport, as
// checkout.Engine.Report does.
func benchReport(b *testing.B, history int) {
	s, want := reportStore(b, history)
	loc := benchShop(b)
	day, _ := checkout.ParseDay(reportDay, loc)
	from, to := checkout.DayBounds(day, loc)
	ctx := b.Context()
	report := func() checkout.DayReport {
		rec, err := s.DayRecords(ctx, from, to, reportDay)
		if err != nil {
			b.Fatal(err)
		}
		return checkout.BuildReport(rec, loc, reportDay, reportDay)
	}
	if got := wantOf(report()); got != want {
		b.Fatalf("the day's report: %+v, the recipe wrote %+v", got, want)
	}
	b.ReportAllocs()
	for b.Loop() {
		if r := report(); r.Sales.Count != want.Sales {
			b.Fatalf("%d sales, want %d", r.Sales.Count, want.Sales)
		}
	}
}

// BenchmarkReportDay2000In10kHistory: the day after five such days.
func BenchmarkReportDay2000In10kHistory(b *testing.B) { benchReport(b, 10_000) }

// BenchmarkReportDay2000In1MHistory: the day after 500 such days (a busy
// shop's year and four months); built only with TILL_BENCH_MILLION=1.
func BenchmarkReportDay2000In1MHistory(b *testing.B) {
	if os.Getenv("TILL_BENCH_MILLION") != "1" {
		b.Skip("set TILL_BENCH_MILLION=1 to build the million-order store (several GB; TILL_BENCH_DIR keeps it)")
	}
	benchReport(b, 1_000_000)
}

// TestReportDayRatio logs how the day's report from the million-order
// store compares with the one from the small store: both benchmarks,
// interleaved, seven times each (-benchtime long each), and the ratio of
// their medians. It checks
// that the two reports are the same; it asserts nothing about time.
func TestReportDayRatio(t *testing.T) {
	if os.Getenv("TILL_BENCH_MILLION") != "1" {
		t.Skip("set TILL_BENCH_MILLION=1 (and TILL_BENCH_DIR to keep the stores)")
	}
	loc := benchShop(t)
	day, _ := checkout.ParseDay(reportDay, loc)
	from, to := checkout.DayBounds(day, loc)
	sizes := []int{10_000, 1_000_000}
	var reports []checkout.DayReport
	var runs []func(*testing.B)
	for _, h := range sizes {
		s, _ := reportStore(t, h)
		report := func() checkout.DayReport {
			rec, err := s.DayRecords(t.Context(), from, to, reportDay)
			if err != nil {
				t.Fatal(err)
			}
			return checkout.BuildReport(rec, loc, reportDay, reportDay)
		}
		reports = append(reports, report())
		runs = append(runs, func(b *testing.B) {
			for b.Loop() {
				report()
			}
		})
	}
	if !reflect.DeepEqual(reports[0], reports[1]) {
		t.Fatalf("the day's report differs between the stores:\n%+v\n%+v", wantOf(reports[0]), wantOf(reports[1]))
	}
	ns := make([][]int64, len(sizes))
	const rounds = 7
	for range rounds {
		for i, run := range runs {
			ns[i] = append(ns[i], testing.Benchmark(run).NsPerOp())
		}
	}
	for i := range ns {
		slices.Sort(ns[i])
		t.Logf("%d orders of history: %v ns/op, median %.2f ms", sizes[i], ns[i], float64(ns[i][rounds/2])/1e6)
	}
	t.Logf("ratio 1M/10k of the medians: %.3f (target at most 1.2)", float64(ns[1][rounds/2])/float64(ns[0][rounds/2]))
}
