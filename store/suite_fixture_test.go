package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"till/checkout"
	"till/store"
)

// The ledger the read benchmarks run on: 10,000 orders over five shop days
// of 2,000 (zone Asia/Shanghai), the last one "today", one in 25 closed at
// the timeout and the rest paid, and one order in 20 refunded a third of
// its amount an hour after it was paid (500 refunds, 5 % of the orders).
// Today's last three orders still await the customer, and ten of today's
// refunds are still requested, so the report has open records to read.
//
// Everything is written through the ledger's exported API. There are two
// builds of the same records:
//
//   - the read fixture (ledgerFixture): each order written once, in its
//     final state (CreateOrder of the paid or closed order; CreateRefund of
//     the succeeded refund), about 10,500 commits. The records and indexes
//     the reads use are the desk's; the audit trail holds one entry per
//     order instead of one per step. Built in a few seconds, so CI runs
//     the read benchmarks once.
//   - the desk fixture (deskFixture): each order through the steps the desk
//     writes (created, awaiting, then paid or closed; a refund requested,
//     then succeeded), one commit each, about 31,000 commits: the file a
//     desk would have, for the file size per order (measureFileSizes). It
//     takes this machine 20-30 s, so only TestLedgerFileSize and
//     TestStoreRatios build it.
//
// Each is built once per test binary. The bbolt file is written on tmpfs
// (/dev/shm) when there is one, since the fsyncs would cost the disk
// minutes and the file's bytes are the same, then copied to the disk; the
// SQLite copy holds the same records (the ones the ledger's API returned),
// loaded in one transaction. With TILL_BENCH_DIR both are kept there
// (suite-10000/, suite-10000-desk/) and used again while their recipe
// matches (the recipe does not know the store's code: clear the directory
// after an encoding change); without it they live in a temporary directory
// TestMain removes.

const (
	fixtureDays   = 5
	fixturePerDay = 2000
	fixtureOrders = fixtureDays * fixturePerDay
	// fixtureDay is "today", the last day of the fixture.
	fixtureDay = "2026-06-15"
	// fixtureRecipe names what the build writes; change it with the
	// recipe, and kept files are rebuilt.
	fixtureRecipe = "suite-10k v1: 5 days x 2000 orders; 1 in 25 closed; 1 in 20 refunded a third; today 3 awaiting, 10 refunds requested"
)

// fixture is the built ledger, in both stores.
type fixture struct {
	bolt, sqlite string // the files
	loc          *time.Location
	from, to     time.Time // today in the shop's zone
	// today is how many orders were created today, sales how many were
	// paid today, refunds how many refunds the ledger holds.
	today, sales, refunds int
}

// fixtureBuild is one of the two builds, made once.
type fixtureBuild struct {
	once     sync.Once
	stepwise bool
	f        *fixture
	err      error
}

var (
	readFixture = &fixtureBuild{}
	deskBuild   = &fixtureBuild{stepwise: true}
	// fixtureTemp is the temporary directory of the fixtures not kept in
	// TILL_BENCH_DIR; TestMain removes it.
	fixtureTemp   string
	fixtureTempMu sync.Mutex
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureTemp != "" {
		os.RemoveAll(fixtureTemp)
	}
	os.Exit(code)
}

// ledgerFixture returns the read fixture, building it on first use.
func ledgerFixture(tb testing.TB) *fixture { return readFixture.get(tb) }

// deskFixture returns the desk fixture, building it on first use.
func deskFixture(tb testing.TB) *fixture { return deskBuild.get(tb) }

func (fb *fixtureBuild) get(tb testing.TB) *fixture {
	tb.Helper()
	fb.once.Do(func() { fb.f, fb.err = loadFixture(tb, fb.stepwise) })
	if fb.err != nil {
		tb.Fatal(fb.err)
	}
	return fb.f
}

// fixtureDir is where a fixture named name lives.
func fixtureDir(name string) (string, error) {
	if dir := os.Getenv("TILL_BENCH_DIR"); dir != "" {
		return filepath.Join(dir, name), nil
	}
	fixtureTempMu.Lock()
	defer fixtureTempMu.Unlock()
	if fixtureTemp == "" {
		base := os.TempDir()
		if onTmpfs(base) {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", err
			}
			base = filepath.Join(home, ".cache", "till-bench")
		}
		if err := os.MkdirAll(base, 0o700); err != nil {
			return "", err
		}
		d, err := os.MkdirTemp(base, "till-suite-")
		if err != nil {
			return "", err
		}
		fixtureTemp = d
	}
	return filepath.Join(fixtureTemp, name), nil
}

func loadFixture(tb testing.TB, stepwise bool) (*fixture, error) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return nil, err
	}
	name, recipeText := "suite-10000", fixtureRecipe+"; each order written once, final"
	if stepwise {
		name, recipeText = "suite-10000-desk", fixtureRecipe+"; each order through the desk's commits (created, then settled)"
	}
	dir, err := fixtureDir(name)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	day, err := checkout.ParseDay(fixtureDay, loc)
	if err != nil {
		return nil, err
	}
	f := &fixture{bolt: filepath.Join(dir, "ledger.db"), sqlite: filepath.Join(dir, "ledger.sqlite"), loc: loc}
	f.from, f.to = checkout.DayBounds(day, loc)
	recipe := filepath.Join(dir, "recipe")
	if kept, err := os.ReadFile(recipe); err == nil && string(kept) == recipeText {
		tb.Logf("using the kept %s", dir)
	} else {
		for _, p := range []string{recipe, f.bolt, f.sqlite, f.sqlite + "-wal", f.sqlite + "-shm"} {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
		began := time.Now()
		if err := buildFixture(tb, f, day, stepwise); err != nil {
			return nil, err
		}
		if err := os.WriteFile(recipe, []byte(recipeText), 0o600); err != nil {
			return nil, err
		}
		tb.Logf("built the %d-order ledger (%s) in %s (bbolt and SQLite) in %s", fixtureOrders, recipeText[len(fixtureRecipe)+2:], dir, time.Since(began).Round(100*time.Millisecond))
	}
	return f, checkFixture(tb, f)
}

// buildFixture writes the recipe to f.bolt through the ledger's API, each
// order through its steps when stepwise and once in its final state when
// not, and the same records to f.sqlite.
func buildFixture(tb testing.TB, f *fixture, today time.Time, stepwise bool) error {
	buildDir := filepath.Dir(f.bolt)
	if onTmpfs("/dev/shm") {
		d, err := os.MkdirTemp("/dev/shm", "till-suite-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		buildDir = d
	}
	path := filepath.Join(buildDir, "building.db")
	var now time.Time
	st, err := store.Open(path, store.WithClock(func() time.Time { return now }))
	if err != nil {
		return err
	}
	ctx := context.Background()
	orders := map[string]checkout.Order{}
	var refunds []checkout.Refund
	operators := []string{"ana", "bo", "chen"}
	for d := fixtureDays - 1; d >= 0; d-- {
		start := today.AddDate(0, 0, -d)
		isToday := d == 0
		for i := range fixturePerDay {
			at := start.Add(8*time.Hour + time.Duration(i)*25*time.Second)
			method, said := checkout.MethodWeChat, "NOTPAY"
			if i%3 == 0 {
				method, said = checkout.MethodAlipay, "WAIT_BUYER_PAY"
			}
			o := checkout.Order{
				No:       fmt.Sprintf("%s%03dT1SUIT%04d", at.UTC().Format("20060102150405"), at.Nanosecond()/1e6, i),
				Terminal: "T1", Method: method, State: checkout.StateCreated,
				Amount: checkout.Money(100 + i*7919%9900), Operator: operators[i/3%3],
				CreatedAt: at, UpdatedAt: at, ExpiresAt: at.Add(3 * time.Minute),
			}
			// The steps, each an edit of the order at its time.
			type step struct {
				to   checkout.State
				at   time.Time
				edit func(o *checkout.Order, now time.Time)
			}
			steps := []step{{checkout.StateAwaiting, at.Add(300 * time.Millisecond), func(o *checkout.Order, now time.Time) {
				o.CodeURL, o.AcceptedAt, o.ProviderSaid, o.ProviderSaidAt = "fake://pay/"+o.No, now, said, now
			}}}
			switch {
			case isToday && i >= fixturePerDay-3: // still awaiting the customer
			case i%25 == 7: // abandoned: closed at the timeout
				steps = append(steps, step{checkout.StateClosed, at.Add(3 * time.Minute), func(o *checkout.Order, now time.Time) {
					o.ClosedAt, o.Reason, o.ProviderSaid, o.ProviderSaidAt = now, "timed out", "CLOSED", now
				}})
			default:
				steps = append(steps, step{checkout.StatePaid, at.Add(time.Duration(15+i%20) * time.Second), func(o *checkout.Order, now time.Time) {
					o.ProviderTradeNo, o.PaidAt, o.ProviderSaid, o.ProviderSaidAt = "4200SUIT"+o.No, now, "SUCCESS", now
				}})
			}
			if stepwise {
				now = at
				if err := st.CreateOrder(ctx, o); err != nil {
					return err
				}
				// As the desk commits a sale: the awaiting step is not a
				// commit of its own; its edit rides in the next one (a
				// sale still on screen stays created in the ledger).
				var carried *step
				for _, s := range steps {
					if s.to == checkout.StateAwaiting {
						carried = &s
						continue
					}
					now = s.at
					if o, err = st.Advance(ctx, o.No, s.to, func(o *checkout.Order) {
						if carried != nil {
							carried.edit(o, carried.at)
						}
						s.edit(o, s.at)
					}); err != nil {
						return err
					}
					carried = nil
				}
			} else {
				for _, s := range steps {
					s.edit(&o, s.at)
					o.State, o.UpdatedAt = s.to, s.at
				}
				now = o.UpdatedAt
				if err := st.CreateOrder(ctx, o); err != nil {
					return err
				}
			}
			if o.State == checkout.StatePaid && i%20 == 3 {
				asked := o.PaidAt.Add(time.Hour)
				done := asked.Add(5 * time.Second)
				r := checkout.Refund{
					No: "R" + o.No, OrderNo: o.No, Method: o.Method, Amount: max(o.Amount/3, 1), State: checkout.RefundRequested,
					Reason: "customer returned it", Terminal: "T1", Operator: o.Operator, CreatedAt: asked, UpdatedAt: asked,
				}
				settle := !isToday || i%200 != 3
				succeed := func(r *checkout.Refund) {
					r.Sent, r.Attempts, r.ProviderRefundNo, r.ProviderSaid, r.ProviderSaidAt = true, 1, "5030SUIT"+r.No, "SUCCESS", done
					r.SucceededAt = done
				}
				switch {
				case stepwise || !settle:
					now = asked
					if _, err := st.CreateRefund(ctx, r); err != nil {
						return err
					}
					if settle {
						now = done
						if r, o, err = st.SettleRefund(ctx, r.No, checkout.RefundSucceeded, succeed); err != nil {
							return err
						}
					}
				default:
					succeed(&r)
					r.State, r.UpdatedAt = checkout.RefundSucceeded, done
					now = done
					if o, err = st.CreateRefund(ctx, r); err != nil {
						return err
					}
				}
				refunds = append(refunds, r)
			}
			orders[o.No] = o
		}
	}
	if err := st.Close(); err != nil {
		return err
	}
	if err := copyFile(path, f.bolt); err != nil {
		return err
	}
	// The SQLite copy: the same records, in one transaction.
	l := openSQLite(tb, f.sqlite, 1)
	defer l.db.Close()
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, o := range orders {
		if err := l.putOrder(ctx, tx, o); err != nil {
			return err
		}
	}
	for _, r := range refunds {
		if err := l.putRefund(ctx, tx, r); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = l.db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	return err
}

// copyFile copies from to a new file to and syncs it.
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// checkFixture checks that both stores hold the same ledger: today's list
// and today's report are the same from either, and the counts are the
// recipe's. It fills f's counts.
func checkFixture(tb testing.TB, f *fixture) error {
	st, err := store.Open(f.bolt)
	if err != nil {
		return err
	}
	defer st.Close()
	l := openSQLite(tb, f.sqlite, 1)
	defer l.db.Close()
	ctx := context.Background()
	list, err := st.OrdersCreated(ctx, f.from, f.to, 0)
	if err != nil {
		return err
	}
	sqlList, err := l.ordersCreated(ctx, f.from, f.to)
	if err != nil {
		return err
	}
	if len(list) != fixturePerDay || !reflect.DeepEqual(list, sqlList) {
		return fmt.Errorf("today's list: %d orders from bbolt, %d from SQLite, want %d and the same", len(list), len(sqlList), fixturePerDay)
	}
	report, err := tillReport(ctx, st, f)
	if err != nil {
		return err
	}
	sqlReport, err := sqliteReport(ctx, l, f)
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(report, sqlReport) {
		return fmt.Errorf("today's report differs:\nbbolt  %+v\nSQLite %+v", report, sqlReport)
	}
	if report.Unsettled.Count != 3+10 {
		return fmt.Errorf("today's report has %d unsettled, want 13", report.Unsettled.Count)
	}
	var total, refunds int
	if err := l.db.QueryRow(`SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM refunds)`).Scan(&total, &refunds); err != nil {
		return err
	}
	if total != fixtureOrders {
		return fmt.Errorf("SQLite holds %d orders, want %d", total, fixtureOrders)
	}
	f.today, f.sales, f.refunds = len(list), report.Sales.Count, refunds
	return nil
}

// tillReport is today's report from the bbolt ledger, as
// checkout.Engine.Report makes it: one DayRecords and one BuildReport.
func tillReport(ctx context.Context, st *store.Store, f *fixture) (checkout.DayReport, error) {
	rec, err := st.DayRecords(ctx, f.from, f.to, fixtureDay)
	if err != nil {
		return checkout.DayReport{}, err
	}
	return checkout.BuildReport(rec, f.loc, fixtureDay, fixtureDay), nil
}

// sqliteReport is the same report from the SQLite ledger.
func sqliteReport(ctx context.Context, l *sqlLedger, f *fixture) (checkout.DayReport, error) {
	rec, err := l.dayRecords(ctx, f.from, f.to, fixtureDay)
	if err != nil {
		return checkout.DayReport{}, err
	}
	return checkout.BuildReport(rec, f.loc, fixtureDay, fixtureDay), nil
}

// fixtureStores opens both stores of the fixture for a benchmark (the
// bbolt one as the desk opens it).
func fixtureStores(tb testing.TB) (*fixture, *store.Store, *sqlLedger) {
	tb.Helper()
	f := ledgerFixture(tb)
	st, err := store.Open(f.bolt)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return f, st, openSQLite(tb, f.sqlite, 1)
}

// BenchmarkTodayList is today's list (store.OrdersCreated of today: 2,000
// orders, newest first) from the 10,000-order ledger.
func BenchmarkTodayList(b *testing.B) {
	f, st, _ := fixtureStores(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if os, err := st.OrdersCreated(ctx, f.from, f.to, 0); err != nil || len(os) != f.today {
			b.Fatal(len(os), err)
		}
	}
}

// BenchmarkSQLiteTodayList is the same list from the SQLite copy: one
// range of orders_by_created, each body decoded.
func BenchmarkSQLiteTodayList(b *testing.B) {
	f, _, l := fixtureStores(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if os, err := l.ordersCreated(ctx, f.from, f.to); err != nil || len(os) != f.today {
			b.Fatal(len(os), err)
		}
	}
}

// BenchmarkReport is today's report (store.DayRecords and
// checkout.BuildReport) from the 10,000-order ledger.
func BenchmarkReport(b *testing.B) {
	f, st, _ := fixtureStores(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r, err := tillReport(ctx, st, f); err != nil || r.Sales.Count != f.sales {
			b.Fatal(r.Sales.Count, err)
		}
	}
}

// BenchmarkSQLiteReport is the same report from the SQLite copy, its
// records read in one read transaction.
func BenchmarkSQLiteReport(b *testing.B) {
	f, _, l := fixtureStores(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r, err := sqliteReport(ctx, l, f); err != nil || r.Sales.Count != f.sales {
			b.Fatal(r.Sales.Count, err)
		}
	}
}

// fileSizes are the desk fixture's file sizes: bbolt's whole file,
// bbolt's file less its free pages (what the records and indexes take;
// an encoding change shows here without the freelist's noise), and the
// SQLite file after a checkpoint.
type fileSizes struct {
	Orders                          int
	BoltFile, BoltInUse, SQLiteFile int64
}

func measureFileSizes(tb testing.TB) fileSizes {
	tb.Helper()
	f := deskFixture(tb)
	fs := fileSizes{Orders: fixtureOrders}
	fi, err := os.Stat(f.bolt)
	if err != nil {
		tb.Fatal(err)
	}
	fs.BoltFile = fi.Size()
	// Read-write, since a read-only handle does not load the freelist;
	// opening writes nothing.
	db, err := bolt.Open(f.bolt, 0o600, &bolt.Options{Timeout: 10 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	st := db.Stats()
	fs.BoltInUse = fs.BoltFile - int64(st.FreePageN+st.PendingPageN)*int64(db.Info().PageSize)
	db.Close()
	if fi, err = os.Stat(f.sqlite); err != nil {
		tb.Fatal(err)
	}
	fs.SQLiteFile = fi.Size()
	return fs
}
