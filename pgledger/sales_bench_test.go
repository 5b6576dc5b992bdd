package pgledger

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"till/checkout"
	"till/pgledger/pgtest"
	"till/providers/fake"
	"till/store"
)

// The shared ledger's benchmarks (issue 15), side by side in one
// `go test -bench` run:
//
//   - BenchmarkSales: sales per second from 1, 4 and 16 counters selling
//     at once on one PostgreSQL ledger, beside one counter on a bbolt
//     ledger on the same disk. A counter is a checkout.Engine with its own
//     terminal id on a Ledger of its own (its own pool of connections, as
//     each desk is a process of its own), with an instant fake provider;
//     a sale is Engine.Start and one Engine.Poll that finds it paid, as
//     store's BenchmarkSaleWrites. sales/s is the whole shop's.
//   - BenchmarkReportDay: Engine.Report of a day of 2,000 orders from a
//     ledger with 10,000 orders of history before it and from one with
//     1,000,000 (bench_history_test.go builds them; the big one only with
//     TILL_BENCH_BIG=1, and keeps it on the server).
//
// Besides the time, each reports what limits it, measured: the server's
// commits and WAL bytes per sale, what the server's backends were doing
// while the counters sold (sampled from pg_stat_activity), and, through a
// proxy that reads the wire (wireCounter), the round trips and
// transactions of one sale and of one report. TILL_BENCH_TRACE=1 logs the
// statements of one sale and of one report, round trip by round trip.
//
// The server is TILL_TEST_PG_URL's. The one `. .ci/postgres` starts runs
// with fsync off, where a commit costs no disk and the figures are the
// CPU's and the round trips'; a shop's server fsyncs, and BENCHMARKS.md
// has the figures on both. The benchmarks log the server's fsync and
// synchronous_commit. CI runs them once (-benchtime 1x), on the small
// ledger.

// benchServer is the test server's URL, skipping or failing as testServer
// does, for benchmarks too.
func benchServer(tb testing.TB) string {
	tb.Helper()
	return pgtest.Server(tb)
}

// benchDB creates an empty database for tb, dropped after it, and returns
// its URL and name.
func benchDB(tb testing.TB) (string, string) {
	tb.Helper()
	server := benchServer(tb)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "till_bench_" + hex.EncodeToString(b)
	if err := createBenchDB(context.Background(), server, name); err != nil {
		tb.Fatalf("creating the benchmark's database: %v", err)
	}
	tb.Cleanup(func() {
		if err := dropBenchDB(context.Background(), server, name); err != nil {
			tb.Errorf("dropping %s: %v", name, err)
		}
	})
	return dbURL(tb, server, name), name
}

// benchLedger opens the ledger at db as a desk does (Open, then Bind).
// The caller closes it.
func benchLedger(tb testing.TB, db string) *Ledger {
	tb.Helper()
	l, err := Open(context.Background(), db)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	if err := l.Bind(context.Background(), "sandbox"); err != nil {
		l.Close()
		tb.Fatalf("Bind: %v", err)
	}
	return l
}

// counter is a desk: an engine with terminal id on l, with an instant
// fake WeChat Pay provider that says paid at the first poll.
func counter(l checkout.Ledger, id string, loc *time.Location) *checkout.Engine {
	p := fake.New(checkout.MethodWeChat)
	p.PayAfterPolls = 1
	return checkout.NewEngine(l, []checkout.Provider{p}, checkout.Config{Terminal: id, Location: loc}, nil, nil)
}

// sale is one whole sale on eng: Start, then one Poll that finds it paid.
func sale(ctx context.Context, eng *checkout.Engine) error {
	o, err := eng.Start(ctx, checkout.MethodWeChat, 1230, "")
	if err != nil {
		return err
	}
	if o, err = eng.Poll(ctx, o.No); err != nil {
		return err
	}
	if o.State != checkout.StatePaid {
		return fmt.Errorf("order %s is %s after the poll, want paid", o.No, o.State)
	}
	return nil
}

// runSales runs b.N sales on the counters at once, each counter selling
// one after another, and reports sales/s for them all and ms/sale, the
// time one sale takes at a counter. It returns the wall time.
func runSales(b *testing.B, counters []*checkout.Engine) time.Duration {
	b.Helper()
	ctx := context.Background()
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0 := readCPU()
	start := time.Now()
	for _, eng := range counters {
		wg.Go(func() {
			for int(next.Add(1)) <= b.N {
				if err := sale(ctx, eng); err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1 := readCPU()
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "sales/s")
	b.ReportMetric(elapsed.Seconds()*1e3*float64(len(counters))/float64(b.N), "ms/sale")
	if cpu0 >= 0 && cpu1 >= 0 {
		b.ReportMetric((cpu1-cpu0)*1e3/float64(b.N), "clientcpu-ms/sale")
	}
	return elapsed
}

// readCPU is the CPU seconds this process has used, -1 where that cannot
// be read (readProcCPU).
func readCPU() float64 { return readProcCPU("self") }

// readProcCPU is the CPU seconds (user and system) process pid has used,
// from /proc (Linux, which counts them in ticks of 1/100 s: USER_HZ), or
// -1 where that cannot be read.
func readProcCPU(pid string) float64 {
	const hz = 100
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return -1
	}
	_, rest, ok := strings.Cut(string(stat), ") ") // after the command's name, which may hold spaces
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return -1
	}
	var utime, stime float64
	if _, err := fmt.Sscan(f[11], &utime); err != nil {
		return -1
	}
	if _, err := fmt.Sscan(f[12], &stime); err != nil {
		return -1
	}
	return (utime + stime) / hz
}

// backendsCPU is the CPU seconds used so far by each backend connected to
// the database name, by process id; nil where the server's processes
// cannot be read (a server on another machine, or not Linux).
func backendsCPU(tb testing.TB, conn *pgx.Conn, name string) map[int]float64 {
	tb.Helper()
	rows, err := conn.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, name)
	if err != nil {
		tb.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		tb.Fatal(err)
	}
	out := map[int]float64{}
	for _, pid := range pids {
		c := readProcCPU(fmt.Sprint(pid))
		if c < 0 {
			return nil
		}
		out[int(pid)] = c
	}
	return out
}

// serverCPU is the CPU seconds the backends used between two readings (a
// backend that came after the first counts from nothing), -1 when either
// is missing.
func serverCPU(before, after map[int]float64) float64 {
	if before == nil || after == nil {
		return -1
	}
	var sum float64
	for pid, c := range after {
		sum += c - before[pid]
	}
	return sum
}

// BenchmarkSales: the shop's sales per second, one counter on bbolt
// beside 1, 4 and 16 on PostgreSQL.
func BenchmarkSales(b *testing.B) {
	b.Run("bbolt/terminals=1", benchSalesBolt)
	for _, n := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("postgres/terminals=%d", n), func(b *testing.B) { benchSalesPG(b, n) })
	}
}

// benchSalesBolt is one counter on a bbolt ledger (store.Open, fsync on),
// in a temporary directory on a disk (benchDir).
func benchSalesBolt(b *testing.B) {
	dir := benchDir(b)
	logOnce(b, "bbolt", "bbolt ledger in %s (%s)", dir, fsType(dir))
	st, err := store.Open(filepath.Join(dir, "till.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Bind(context.Background(), "sandbox"); err != nil {
		b.Fatal(err)
	}
	runSales(b, []*checkout.Engine{counter(st, "T1", benchShop(b))})
}

// benchSalesPG is terminals counters on one PostgreSQL ledger, each on a
// Ledger of its own. The database is made and stamped first; then the
// server's counters are read, the counters' Ledgers opened, the sales
// run, the Ledgers closed (a backend sends its statistics when it ends)
// and the server's counters read again. So commits/sale also holds each
// Ledger's Open (one transaction) and Bind (one read), 2 per counter, and
// whatever autovacuum ran on the database meanwhile; the wire's count
// (wireSales) is exact.
func benchSalesPG(b *testing.B, terminals int) {
	db, name := benchDB(b)
	server := benchServer(b)
	loc := benchShop(b)
	benchLedger(b, db).Close() // the schema and the mode stamp
	dbOID, head := headOf(b, db)
	admin := adminConn(b, server)
	logOnce(b, "server", "server: %s", serverSettings(b, admin))
	waitIdle(b, admin, name)
	before := readServerStats(b, admin, name)

	ledgers := make([]*Ledger, terminals)
	counters := make([]*checkout.Engine, terminals)
	for i := range ledgers {
		ledgers[i] = benchLedger(b, db)
		counters[i] = counter(ledgers[i], fmt.Sprintf("T%d", i+1), loc)
	}
	closed := false
	closeAll := func() {
		if !closed {
			for _, l := range ledgers {
				l.Close()
			}
			closed = true
		}
	}
	defer closeAll()
	sampler := sampleActivity(b, server, name, dbOID, head)
	cpu0 := backendsCPU(b, admin, name)
	runSales(b, counters)
	cpu1 := backendsCPU(b, admin, name)
	sampler.stop(b)
	if c := serverCPU(cpu0, cpu1); c >= 0 {
		b.ReportMetric(c*1e3/float64(b.N), "servercpu-ms/sale")
	}
	closeAll()
	waitIdle(b, admin, name)
	after := readServerStats(b, admin, name)
	b.ReportMetric(float64(after.commits-before.commits)/float64(b.N), "commits/sale")
	b.ReportMetric(float64(after.walBytes-before.walBytes)/float64(b.N), "walB/sale")
	if after.walSyncs >= 0 {
		b.ReportMetric(float64(after.walSyncs-before.walSyncs)/float64(b.N), "walsyncs/sale")
	}
	if terminals == 1 {
		wireSales(b, db, loc)
	}
}

// wireSales sells through the counting proxy, on a counter of its own,
// and reports the round trips of a sale and the transactions it commits,
// and of those the ones that write.
func wireSales(b *testing.B, db string, loc *time.Location) {
	b.Helper()
	w, proxied := newWireCounter(b, db)
	l := benchLedger(b, proxied)
	defer l.Close()
	eng := counter(l, "TW", loc)
	ctx := context.Background()
	for range 3 { // the connections made, the statements prepared
		if err := sale(ctx, eng); err != nil {
			b.Fatal(err)
		}
	}
	const sales = 10
	var total, last wireCount
	for range sales {
		w.start()
		if err := sale(ctx, eng); err != nil {
			b.Fatal(err)
		}
		last = w.take()
		total.add(last)
	}
	if os.Getenv("TILL_BENCH_TRACE") == "1" {
		logOnce(b, "sale on the wire", "one sale on the wire:\n%s", last)
	}
	b.ReportMetric(float64(total.trips)/sales, "roundtrips/sale")
	b.ReportMetric(float64(total.txns)/sales, "txns/sale")
	b.ReportMetric(float64(total.writes)/sales, "writetxns/sale")
}

// BenchmarkReportDay: the day's report (Engine.Report: the day's records
// in one snapshot, then checkout.BuildReport) of a day of 2,000 orders,
// from a ledger with 10,000 orders of history and from one with
// 1,000,000.
func BenchmarkReportDay(b *testing.B) {
	b.Run("history=10000", func(b *testing.B) { benchReport(b, 10_000, false) })
	b.Run("history=1000000", func(b *testing.B) {
		if os.Getenv("TILL_BENCH_BIG") != "1" {
			b.Skip("set TILL_BENCH_BIG=1 to build the ledger of 1,000,000 orders (minutes, a few GB; kept on the server as till_bench_report_1000000)")
		}
		benchReport(b, 1_000_000, true)
	})
}

func benchReport(b *testing.B, history int, keep bool) {
	db, want := reportDB(b, history, keep)
	loc := benchShop(b)
	day, err := checkout.ParseDay(reportDay, loc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	report := func(eng *checkout.Engine) checkout.DayReport {
		r, err := eng.Report(ctx, day)
		if err != nil {
			b.Fatal(err)
		}
		return r
	}
	l := benchLedger(b, db)
	defer l.Close()
	eng := counter(l, "T1", loc)
	if got := wantOf(report(eng)); got != want {
		b.Fatalf("the day's report: %+v, the recipe wrote %+v", got, want)
	}
	admin := adminConn(b, benchServer(b))
	name := dbName(b, db)
	b.ReportAllocs()
	cpu0, server0 := readCPU(), backendsCPU(b, admin, name)
	for b.Loop() {
		if r := report(eng); r.Sales.Count != want.Sales {
			b.Fatalf("%d sales, want %d", r.Sales.Count, want.Sales)
		}
	}
	cpu1, server1 := readCPU(), backendsCPU(b, admin, name)
	if cpu0 >= 0 && cpu1 >= 0 {
		b.ReportMetric((cpu1-cpu0)*1e3/float64(b.N), "clientcpu-ms/op")
	}
	if c := serverCPU(server0, server1); c >= 0 {
		b.ReportMetric(c*1e3/float64(b.N), "servercpu-ms/op")
	}

	w, proxied := newWireCounter(b, db)
	pl := benchLedger(b, proxied)
	defer pl.Close()
	peng := counter(pl, "TW", loc)
	report(peng) // the statements prepared
	w.start()
	report(peng)
	c := w.take()
	b.ReportMetric(float64(c.trips), "roundtrips/op")
	if os.Getenv("TILL_BENCH_TRACE") == "1" {
		logOnce(b, "report on the wire", "one report on the wire:\n%s", c)
	}
}

// TestReportDayRatio logs how the day's report from the ledger of a
// million orders compares with the one from 10,000: the two benchmarks
// interleaved, seven times each (one second each), and the ratio of their
// medians. It checks that both reports say what their recipe wrote; it
// asserts nothing about time. Only with TILL_BENCH_BIG=1.
func TestReportDayRatio(t *testing.T) {
	if os.Getenv("TILL_BENCH_BIG") != "1" {
		t.Skip("set TILL_BENCH_BIG=1 (the ledger of 1,000,000 orders is built once and kept on the server)")
	}
	loc := benchShop(t)
	day, err := checkout.ParseDay(reportDay, loc)
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{10_000, 1_000_000}
	var wants []dayWant
	var runs []func(*testing.B)
	for _, h := range sizes {
		db, want := reportDB(t, h, h == 1_000_000)
		l := benchLedger(t, db)
		t.Cleanup(func() { l.Close() })
		eng := counter(l, "T1", loc)
		r, err := eng.Report(t.Context(), day)
		if err != nil || wantOf(r) != want {
			t.Fatalf("the day's report from %d orders of history: %+v %v, the recipe wrote %+v", h, wantOf(r), err, want)
		}
		wants = append(wants, want)
		runs = append(runs, func(b *testing.B) {
			for b.Loop() {
				if _, err := eng.Report(context.Background(), day); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	if wants[0] != wants[1] {
		t.Fatalf("the day differs between the ledgers: %+v and %+v", wants[0], wants[1])
	}
	const rounds = 7
	ns := make([][]int64, len(sizes))
	for range rounds {
		for i, run := range runs {
			ns[i] = append(ns[i], testing.Benchmark(run).NsPerOp())
		}
	}
	for i := range ns {
		slices.Sort(ns[i])
		t.Logf("%d orders of history: %v ns/op, median %.2f ms", sizes[i], ns[i], float64(ns[i][rounds/2])/1e6)
	}
	t.Logf("ratio 1M/10k of the medians: %.3f", float64(ns[1][rounds/2])/float64(ns[0][rounds/2]))
}

// The server's side.

// dbName is the database a URL names.
func dbName(tb testing.TB, db string) string {
	tb.Helper()
	u, err := url.Parse(db)
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

var logged sync.Map

// logOnce logs a line once per test binary and key.
func logOnce(tb testing.TB, key, format string, args ...any) {
	tb.Helper()
	if _, done := logged.LoadOrStore(key, true); !done {
		tb.Logf(format, args...)
	}
}

// adminConn is a connection to the server's own database (not the
// benchmark's, so that what it runs is not counted there), closed after
// tb.
func adminConn(tb testing.TB, server string) *pgx.Conn {
	tb.Helper()
	conn, err := pgx.Connect(context.Background(), server)
	if err != nil {
		tb.Fatalf("connecting to the test server: %v", err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// serverSettings says what a commit costs on the server: whether it
// fsyncs and whether a commit waits for its WAL to be flushed.
func serverSettings(tb testing.TB, conn *pgx.Conn) string {
	tb.Helper()
	var out []string
	for _, s := range []string{"server_version", "fsync", "synchronous_commit", "full_page_writes", "shared_buffers"} {
		var v string
		if err := conn.QueryRow(context.Background(), "SELECT current_setting($1)", s).Scan(&v); err != nil {
			tb.Fatal(err)
		}
		out = append(out, s+"="+v)
	}
	return strings.Join(out, " ")
}

// waitIdle waits until no backend is connected to the database name: each
// has sent its statistics as it ended.
func waitIdle(tb testing.TB, conn *pgx.Conn, name string) {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var n int
		err := conn.QueryRow(context.Background(),
			`SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, name).Scan(&n)
		if err != nil {
			tb.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d backends still on %s after 10 s", n, name)
		}
	}
}

// serverStats are the server's counters a run is measured by: the
// database's committed transactions (pg_stat_database), and the whole
// server's WAL written (its position, in bytes) and WAL fsyncs
// (pg_stat_wal; -1 where the server has no such view).
type serverStats struct {
	commits, walBytes, walSyncs int64
}

func readServerStats(tb testing.TB, conn *pgx.Conn, name string) serverStats {
	tb.Helper()
	ctx := context.Background()
	var s serverStats
	err := conn.QueryRow(ctx, `SELECT xact_commit, pg_current_wal_lsn() - '0/0'::pg_lsn FROM pg_stat_database WHERE datname = $1`,
		name).Scan(&s.commits, &s.walBytes)
	if err != nil {
		tb.Fatalf("reading the server's counters: %v", err)
	}
	if err := conn.QueryRow(ctx, `SELECT wal_sync FROM pg_stat_wal`).Scan(&s.walSyncs); err != nil {
		s.walSyncs = -1
	}
	return s
}

// activitySampler reads what the benchmark database's backends are doing
// every few milliseconds while the counters sell, and reports how many of
// them were, on average: running a statement (backends-run), waiting for
// a lock another transaction holds (backends-lock: the audit trail's head
// row, an order's row), waiting for the WAL to be written and flushed
// (backends-wal: a commit), and idle inside a transaction, waiting for
// the counter's next statement (backends-intx: a round trip); and in how
// many of the samples a transaction held the audit trail's head, which
// every change that writes an audit entry locks until it commits
// (head-held: one that has locked audit_head and is not waiting for a
// lock itself).
type activitySampler struct {
	done    chan struct{}
	stopped chan struct{}
	samples int
	counts  map[string]int
	waitsIn map[string]int // the statements the backends waiting for a lock are in
	err     error
}

// sampleActivity starts sampling the backends on database name, whose
// audit_head table is the relation head of the database dbOID
// (headOf).
func sampleActivity(tb testing.TB, server, name string, dbOID, head uint32) *activitySampler {
	tb.Helper()
	conn := adminConn(tb, server)
	s := &activitySampler{done: make(chan struct{}), stopped: make(chan struct{}), counts: map[string]int{}, waitsIn: map[string]int{}}
	go func() {
		defer close(s.stopped)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-tick.C:
			}
			rows, err := conn.Query(context.Background(), `SELECT coalesce(a.state, ''), coalesce(a.wait_event_type, ''), coalesce(a.wait_event, ''), coalesce(a.query, ''),
					EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.database = $2 AND l.relation = $3 AND l.granted)
				FROM pg_stat_activity a -- state and query are NULL while a backend starts
				WHERE a.datname = $1 AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'`, name, dbOID, head)
			if err != nil {
				s.err = err
				return
			}
			held := false
			for rows.Next() {
				var state, kind, event, query string
				var onHead bool
				if err := rows.Scan(&state, &kind, &event, &query, &onHead); err != nil {
					s.err = err
					rows.Close()
					return
				}
				if onHead && kind != "Lock" && state != "idle" {
					held = true
				}
				switch {
				case state == "idle in transaction":
					s.counts["intx"]++
				case state != "active":
				case kind == "Lock":
					s.counts["lock"]++
					s.waitsIn[event+": "+query]++
				case strings.HasPrefix(event, "WAL") || kind == "IO":
					s.counts["wal"]++
				default:
					s.counts["run"]++
				}
			}
			rows.Close()
			s.samples++
			if held {
				s.counts["head"]++
			}
		}
	}()
	return s
}

// headOf is the object ids of the database at db and of its audit_head.
func headOf(tb testing.TB, db string) (dbOID, head uint32) {
	tb.Helper()
	conn, err := pgx.Connect(context.Background(), db)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(context.Background())
	err = conn.QueryRow(context.Background(),
		`SELECT (SELECT oid FROM pg_database WHERE datname = current_database()), 'audit_head'::regclass::oid`).Scan(&dbOID, &head)
	if err != nil {
		tb.Fatal(err)
	}
	return dbOID, head
}

func (s *activitySampler) stop(b *testing.B) {
	b.Helper()
	close(s.done)
	<-s.stopped
	if s.err != nil {
		b.Fatalf("sampling the server's activity: %v", s.err)
	}
	if s.samples == 0 {
		return
	}
	for _, k := range []string{"run", "lock", "wal", "intx"} {
		b.ReportMetric(float64(s.counts[k])/float64(s.samples), "backends-"+k)
	}
	b.ReportMetric(float64(s.counts["head"])/float64(s.samples), "head-held")
	if os.Getenv("TILL_BENCH_TRACE") == "1" && s.samples >= 50 && len(s.waitsIn) > 0 {
		var lines []string
		for q, n := range s.waitsIn {
			lines = append(lines, fmt.Sprintf("%6.1f%%  %s", 100*float64(n)/float64(s.counts["lock"]), strings.Join(strings.Fields(q), " ")))
		}
		slices.Sort(lines)
		slices.Reverse(lines)
		b.Logf("where the backends waited for a lock (of %d waits seen in %d samples):\n%s", s.counts["lock"], s.samples, strings.Join(lines, "\n"))
	}
}

// The wire.

// wireCounter is a TCP proxy in front of the server that reads the
// PostgreSQL protocol going through it and, between start and take,
// counts the round trips (each ReadyForQuery the server sends ends one:
// the client sent a Sync or a simple Query and waited for it), the
// transactions that ended (a ReadyForQuery back to idle: a block from
// BEGIN to COMMIT, or one statement on its own) and of those the ones that
// wrote (a statement in them inserts, updates, deletes or locks a row),
// and keeps the statements of each round trip. It needs a server that
// takes sslmode=disable.
type wireCounter struct {
	target string // host:port, or a unix socket's path
	mu     sync.Mutex
	on     bool
	count  wireCount
}

// wireCount is what a wireCounter counted.
type wireCount struct {
	trips, txns, writes int
	trace               [][]string // the statements of each round trip
}

func (c *wireCount) add(d wireCount) {
	c.trips += d.trips
	c.txns += d.txns
	c.writes += d.writes
}

func (c wireCount) String() string {
	var sb strings.Builder
	for i, t := range c.trace {
		fmt.Fprintf(&sb, "%3d. %s\n", i+1, strings.Join(t, " | "))
	}
	fmt.Fprintf(&sb, "%d round trips, %d transactions, %d of them writing", c.trips, c.txns, c.writes)
	return sb.String()
}

// newWireCounter starts a proxy to the server of db and returns it and
// db's URL through it; it stops after tb.
func newWireCounter(tb testing.TB, db string) (*wireCounter, string) {
	tb.Helper()
	cfg, err := pgx.ParseConfig(db)
	if err != nil {
		tb.Fatal(err)
	}
	w := &wireCounter{target: net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port))}
	network := "tcp"
	if strings.HasPrefix(cfg.Host, "/") {
		network, w.target = "unix", fmt.Sprintf("%s/.s.PGSQL.%d", cfg.Host, cfg.Port)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var conns sync.WaitGroup
	tb.Cleanup(func() { ln.Close(); conns.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() { w.serve(network, c) })
		}
	}()
	u, err := url.Parse(db)
	if err != nil {
		tb.Fatal(err)
	}
	u.Host = ln.Addr().String()
	q := u.Query()
	q.Set("sslmode", "disable")
	q.Del("host")
	u.RawQuery = q.Encode()
	return w, u.String()
}

func (w *wireCounter) start() {
	w.mu.Lock()
	w.on, w.count = true, wireCount{}
	w.mu.Unlock()
}

func (w *wireCounter) take() wireCount {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.count
	w.on, w.count = false, wireCount{}
	return c
}

// wireConn is what one connection's two directions share: the statements
// sent since the last Sync, the batches awaiting their ReadyForQuery, and
// the prepared statements' text by name.
type wireConn struct {
	mu       sync.Mutex
	prepared map[string]string
	batch    []string
	queue    [][]string
	tx       []string // the statements of the transaction under way
}

func (w *wireCounter) serve(network string, client net.Conn) {
	defer client.Close()
	server, err := net.Dial(network, w.target)
	if err != nil {
		return
	}
	defer server.Close()
	wc := &wireConn{prepared: map[string]string{}, queue: [][]string{nil}} // the startup's ReadyForQuery
	go func() {
		w.fromClient(bufio.NewReader(client), server, wc)
		server.Close()
	}()
	w.fromServer(bufio.NewReader(server), client, wc)
}

// readMessage reads one message: a type byte (none for the startup's
// first), the length and the body; it returns the whole message as sent.
func readMessage(r *bufio.Reader, typed bool) (byte, []byte, []byte, error) {
	head := 4
	if typed {
		head = 5
	}
	msg := make([]byte, head)
	if _, err := io.ReadFull(r, msg); err != nil {
		return 0, nil, nil, err
	}
	n := int(binary.BigEndian.Uint32(msg[head-4:]))
	if n < 4 || n > 1<<30 {
		return 0, nil, nil, errors.New("wire: bad message length")
	}
	msg = append(msg, make([]byte, n-4)...)
	if _, err := io.ReadFull(r, msg[head:]); err != nil {
		return 0, nil, nil, err
	}
	var t byte
	if typed {
		t = msg[0]
	}
	return t, msg, msg[head:], nil
}

// cstrings splits a body's leading NUL-terminated strings.
func cstrings(body []byte, n int) []string {
	var out []string
	for range n {
		i := strings.IndexByte(string(body), 0)
		if i < 0 {
			break
		}
		out = append(out, string(body[:i]))
		body = body[i+1:]
	}
	return out
}

func (w *wireCounter) fromClient(r *bufio.Reader, server net.Conn, wc *wireConn) {
	_, msg, body, err := readMessage(r, false)
	if err != nil {
		return
	}
	if _, err := server.Write(msg); err != nil {
		return
	}
	if len(body) < 4 || binary.BigEndian.Uint32(body) != 196608 { // not a protocol 3.0 startup: a cancel request
		_, _ = io.Copy(server, r)
		return
	}
	for {
		t, msg, body, err := readMessage(r, true)
		if err != nil {
			return
		}
		wc.mu.Lock()
		switch t {
		case 'P': // Parse: name, query
			if s := cstrings(body, 2); len(s) == 2 {
				wc.prepared[s[0]] = s[1]
			}
		case 'B': // Bind: portal, statement
			if s := cstrings(body, 2); len(s) == 2 {
				wc.batch = append(wc.batch, wc.prepared[s[1]])
			}
		case 'Q': // a simple query: its own round trip
			wc.queue = append(wc.queue, cstrings(body, 1))
		case 'S': // Sync: the round trip's end
			wc.queue = append(wc.queue, wc.batch)
			wc.batch = nil
		}
		wc.mu.Unlock()
		if _, err := server.Write(msg); err != nil {
			return
		}
	}
}

func (w *wireCounter) fromServer(r *bufio.Reader, client net.Conn, wc *wireConn) {
	for {
		t, msg, body, err := readMessage(r, true)
		if err != nil {
			return
		}
		if t == 'Z' && len(body) == 1 { // ReadyForQuery, with the transaction's status
			wc.mu.Lock()
			var batch []string
			if len(wc.queue) > 0 {
				batch, wc.queue = wc.queue[0], wc.queue[1:]
			}
			wc.tx = append(wc.tx, batch...)
			var ended []string
			if body[0] == 'I' {
				ended, wc.tx = wc.tx, nil
			}
			wc.mu.Unlock()
			w.mu.Lock()
			if w.on {
				w.count.trips++
				w.count.trace = append(w.count.trace, batch)
				if body[0] == 'I' && len(ended) > 0 {
					w.count.txns++
					if writes(ended) {
						w.count.writes++
					}
				}
			}
			w.mu.Unlock()
		}
		if _, err := client.Write(msg); err != nil {
			return
		}
	}
}

// writes reports whether a transaction's statements change a row or lock
// one (either makes its commit write the WAL).
func writes(stmts []string) bool {
	for _, s := range stmts {
		u := strings.ToUpper(strings.TrimSpace(s))
		for _, w := range []string{"INSERT", "UPDATE", "DELETE"} {
			if strings.HasPrefix(u, w) {
				return true
			}
		}
		if strings.Contains(u, "FOR UPDATE") {
			return true
		}
	}
	return false
}

// The disk.

// benchDir is a fresh directory for the bbolt ledger on a real disk:
// tb.TempDir() unless that is on tmpfs (where fsync costs nothing), and
// then one under $HOME/.cache/till-bench, removed after tb (as store's
// benchmarks do).
func benchDir(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	if t := fsType(dir); t != "tmpfs" && t != "ramfs" {
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

// fsType is the type of the file system dir is on, from /proc/self/mounts
// (Linux), or "" where that cannot be told.
func fsType(dir string) string {
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		dir = d
	}
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return ""
	}
	best, typ := "", ""
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		mnt := strings.ReplaceAll(f[1], `\040`, " ")
		if (dir == mnt || mnt == "/" || strings.HasPrefix(dir, mnt+"/")) && len(mnt) >= len(best) {
			best, typ = mnt, f[2]
		}
	}
	return typ
}
