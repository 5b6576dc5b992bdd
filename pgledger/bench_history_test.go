package pgledger

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"till/checkout"
	"till/ledger"
	"till/providers/fake"
)

// The day report benchmark's ledgers (bench_test.go): a shop of three
// counters that sells reportDayOrders orders a day, with history orders
// of history before the reported day, written fast with COPY straight
// into the tables the migrations made.
//
// Fast, but as the ledger writes them: every step of every order (the
// sale written as created, then paid or closed; a refund requested, sent,
// then succeeded) runs through the ledger package's own bodies of the
// changes (ledger.AdvanceOrder, CreateRefund, UpdateRefund, SettleRefund:
// what pgledger's transactions run) over memRecords, an in-memory
// ledger.Records, with the fields checkout.Engine sets at each step, and
// its audit entries are chained (ledger.Chain) with each step's time and
// actor. What comes out is each order's and refund's final row, with the
// columns putOrder and putRefund write, and the audit trail, entry by
// entry: the rows a ledger that lived through those steps holds, minus
// the dead row versions its updates left behind (COPY writes each row
// once, freshly packed; the build then VACUUMs and ANALYZEs, as
// autovacuum would).
//
// The big ledger (1,000,000 orders of history) is built only when
// TILL_BENCH_BIG=1, into a database of its own name that is kept on the
// server (till_bench_report_1000000) and used again while its recipe
// (below, with the schema version) matches; the small one (10,000 orders)
// is built afresh in a few seconds and dropped after.

const (
	// reportDayOrders is the reported day's orders; each history day
	// holds as many, before it.
	reportDayOrders = 2000
	// reportChunkDays is how many days one COPY transaction of the build
	// writes.
	reportChunkDays = 25
	// reportRecipe names what the build writes; change it with the
	// recipe, and kept databases are rebuilt.
	reportRecipe = "pg report-day v2"
	// reportDay is the reported day, in the shop's zone.
	reportDay = "2026-06-15"
)

var benchOperators = []string{"ana", "bo", "chen"}

// benchShop is the shop's zone.
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
	Sales, Refunds, Unsettled int
	NetFen                    checkout.Money
}

func wantOf(r checkout.DayReport) dayWant {
	return dayWant{Sales: r.Sales.Count, Refunds: r.Refunds.Count, Unsettled: r.Unsettled.Count, NetFen: r.NetFen}
}

// memRecords is ledger.Records over memory, for the orders and refunds
// of the chunk being built (an order and its refunds never outlive their
// day's chunk), with the audit entries the current step added.
type memRecords struct {
	orders   map[string]checkout.Order
	refunds  map[string]checkout.Refund
	refundOf map[string][]string // order -> its refunds
	pending  []checkout.AuditEntry
}

var _ ledger.Records = (*memRecords)(nil)

func newMemRecords() *memRecords {
	return &memRecords{orders: map[string]checkout.Order{}, refunds: map[string]checkout.Refund{}, refundOf: map[string][]string{}}
}

func (m *memRecords) Order(no string) (checkout.Order, error) {
	o, ok := m.orders[no]
	if !ok {
		return o, fmt.Errorf("order %s: %w", no, checkout.ErrNotFound)
	}
	return o, nil
}

func (m *memRecords) Refund(no string) (checkout.Order, checkout.Refund, error) {
	r, ok := m.refunds[no]
	if !ok {
		return checkout.Order{}, r, fmt.Errorf("refund %s: %w", no, checkout.ErrNotFound)
	}
	o, err := m.Order(r.OrderNo)
	return o, r, err
}

func (m *memRecords) RefundIsNew(no string) error {
	if _, ok := m.refunds[no]; ok {
		return fmt.Errorf("refund %s: %w", no, checkout.ErrExists)
	}
	return nil
}

func (m *memRecords) Held(orderNo string) (checkout.Money, error) {
	var rs []checkout.Refund
	for _, no := range m.refundOf[orderNo] {
		rs = append(rs, m.refunds[no])
	}
	return ledger.Held(rs), nil
}

func (m *memRecords) HasRefunds(orderNo string) (bool, error) {
	return len(m.refundOf[orderNo]) > 0, nil
}

func (m *memRecords) PutOrder(old *checkout.Order, o checkout.Order) error {
	if _, ok := m.orders[o.No]; ok == (old == nil) {
		return fmt.Errorf("order %s: put with old %v", o.No, old != nil)
	}
	m.orders[o.No] = o
	if e := ledger.OrderEntry(old, o); e != nil {
		m.pending = append(m.pending, *e)
	}
	return nil
}

func (m *memRecords) PutRefund(old *checkout.Refund, r checkout.Refund) error {
	if old == nil {
		m.refundOf[r.OrderNo] = append(m.refundOf[r.OrderNo], r.No)
	}
	m.refunds[r.No] = r
	if e := ledger.RefundEntry(old, r); e != nil {
		m.pending = append(m.pending, *e)
	}
	return nil
}

// historyRows is one chunk's rows, in the column order of historyColumns.
type historyRows struct {
	orders, refunds, audit [][]any
	days                   int
}

var historyColumns = map[string][]string{"orders": orderColumns, "refunds": refundColumns, "audit": auditColumns}

// historyBuilder writes days of the recipe: it holds the audit chain's
// head and each counter's order numbers across chunks.
type historyBuilder struct {
	loc     *time.Location
	clock   *fake.Clock
	numbers []*checkout.Numbers // one a counter: T1, T2, T3
	seq     uint64              // the chain's head
	hash    string
	recs    *memRecords
	rows    *historyRows
}

func newHistoryBuilder(loc *time.Location) *historyBuilder {
	h := &historyBuilder{loc: loc, clock: fake.NewClock(time.Time{})}
	for i := range 3 {
		h.numbers = append(h.numbers, &checkout.Numbers{Terminal: fmt.Sprintf("T%d", i+1), Clock: h.clock})
	}
	return h
}

// tx runs one step as one ledger transaction at now by actor: fn's
// changes, then its audit entries chained after the head (wtx.flush).
func (h *historyBuilder) tx(now time.Time, actor checkout.Actor, fn func(rs ledger.Records) error) error {
	if err := fn(h.recs); err != nil {
		return err
	}
	for _, e := range h.recs.pending {
		e = ledger.Chain(e, h.seq, h.hash, now, actor)
		v, err := json.Marshal(e)
		if err != nil {
			return err
		}
		h.rows.audit = append(h.rows.audit, auditRow(e, v))
		h.seq, h.hash = e.Seq, e.Hash
	}
	h.recs.pending = h.recs.pending[:0]
	return nil
}

// chunk writes days days from first (a midnight in the shop's zone),
// the last of them the reported day when report, and returns their rows.
func (h *historyBuilder) chunk(first time.Time, days int, report bool, want *dayWant) (*historyRows, error) {
	h.recs, h.rows = newMemRecords(), &historyRows{days: days}
	for d := range days {
		last := report && d == days-1
		var discard dayWant
		tally := &discard
		if last {
			tally = want
		}
		if err := h.day(first.AddDate(0, 0, d), last, tally); err != nil {
			return nil, err
		}
	}
	// In creation order, as the desks insert them: a day's rows lie
	// together, as in a ledger that lived through the days.
	orders := slices.SortedFunc(maps.Values(h.recs.orders), func(a, b checkout.Order) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.No, b.No))
	})
	refunds := slices.SortedFunc(maps.Values(h.recs.refunds), func(a, b checkout.Refund) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.No, b.No))
	})
	for _, o := range orders {
		v, err := json.Marshal(o)
		if err != nil {
			return nil, err
		}
		h.rows.orders = append(h.rows.orders, orderRow(o, v))
	}
	for _, r := range refunds {
		v, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		h.rows.refunds = append(h.rows.refunds, refundRow(r, v))
	}
	return h.rows, nil
}

// day writes one shop day of reportDayOrders orders from start (the day's
// midnight in the shop's zone), one every 25 s from 08:00 across the
// three counters, each through the steps checkout.Engine commits for it:
//
//   - a sale (Start, then the poll that finds it paid 15-35 s later):
//     CreateOrder as created, then Advance to paid carrying the code the
//     provider gave, its trade number, paid time and word;
//   - one in 25 abandoned: the poll's word (Update), then closed at the
//     timeout (Advance);
//   - one in 20 of the orders, all sales, refunded an hour later at the
//     same counter (a third of it; every fourth of those in full):
//     CreateRefund, UpdateRefund (sent), SettleRefund (succeeded), which
//     moves the order to partially_refunded or refunded.
//
// The day's steps run in the order of their times, as the counters'
// commits would land, so the audit trail's numbers follow its times.
// The reported day (report) keeps what a day in progress has: its last
// three orders still created (on screen, not paid yet) and its last
// refund still requested. want tallies its report.
func (h *historyBuilder) day(start time.Time, report bool, want *dayWant) error {
	const refundEvery, closedEvery = 20, 25
	type step struct {
		at    time.Time
		actor checkout.Actor
		fn    func(rs ledger.Records, now time.Time) error
	}
	var steps []step
	lastRefund := -1
	if report {
		for i := reportDayOrders - 4; i >= 0; i-- {
			if i%refundEvery == 3 {
				lastRefund = i
				break
			}
		}
	}
	for i := range reportDayOrders {
		at := start.Add(8*time.Hour + time.Duration(i)*25*time.Second + time.Duration(i%7)*13*time.Millisecond)
		t := i % 3
		actor := checkout.Actor{Terminal: h.numbers[t].Terminal, Operator: benchOperators[i/3%3], Via: "desk"}
		add := func(at time.Time, fn func(rs ledger.Records, now time.Time) error) {
			steps = append(steps, step{at, actor, fn})
		}
		method, code, waiting, paidWord := checkout.MethodWeChat, "weixin://wxpay/bizpayurl?pr=", "NOTPAY", "SUCCESS"
		if i%3 == 0 {
			method, code, waiting, paidWord = checkout.MethodAlipay, "https://qr.alipay.com/bax0", "WAIT_BUYER_PAY", "TRADE_SUCCESS"
		}
		h.clock.Set(at)
		o := checkout.Order{
			No: h.numbers[t].Order(), Terminal: actor.Terminal, Operator: actor.Operator, Method: method,
			Amount: checkout.Money(100 + i*7919%9900), State: checkout.StateCreated,
			CreatedAt: at, UpdatedAt: at, ExpiresAt: at.Add(checkout.DefaultTimeout).Truncate(time.Second),
		}
		add(at, func(rs ledger.Records, now time.Time) error { return rs.PutOrder(nil, ledger.NewOrder(o, now)) })
		accepted := at.Add(300 * time.Millisecond)
		carry := func(s *checkout.Order) {
			if s.CodeURL == "" {
				s.CodeURL, s.AcceptedAt = code+o.No, accepted
			}
		}
		switch {
		case report && i >= reportDayOrders-3:
			want.Unsettled++
			continue
		case i%closedEvery == 7:
			add(at.Add(3*time.Second), func(rs ledger.Records, now time.Time) error {
				_, err := ledger.UpdateOrder(rs, o.No, func(s *checkout.Order) error {
					carry(s)
					s.ProviderSaid, s.ProviderSaidAt = waiting, now
					return nil
				}, now)
				return err
			})
			add(o.ExpiresAt, func(rs ledger.Records, now time.Time) error {
				_, err := ledger.AdvanceOrder(rs, o.No, checkout.StateClosed, func(s *checkout.Order) {
					s.Reason, s.ClosedAt = "timed out", now
				}, now)
				return err
			})
			continue
		}
		paidAt := at.Add(time.Duration(15+i%20) * time.Second)
		add(paidAt.Add(time.Duration(200+i%2800)*time.Millisecond), func(rs ledger.Records, now time.Time) error {
			_, err := ledger.AdvanceOrder(rs, o.No, checkout.StatePaid, func(s *checkout.Order) {
				carry(s)
				s.ProviderTradeNo, s.PaidAt = "4200"+o.No, paidAt
				s.ProviderSaid, s.ProviderSaidAt = paidWord, now
			}, now)
			return err
		})
		want.Sales++
		want.NetFen += o.Amount
		if i%refundEvery != 3 {
			continue
		}
		asked := paidAt.Add(time.Hour)
		h.clock.Set(asked)
		amount := max(o.Amount/3, 1)
		if i%(4*refundEvery) == 3 {
			amount = o.Amount
		}
		r := checkout.Refund{No: h.numbers[t].Refund(), OrderNo: o.No, Method: o.Method, Amount: amount,
			State: checkout.RefundRequested, Reason: "customer returned it", Terminal: actor.Terminal, Operator: actor.Operator}
		add(asked, func(rs ledger.Records, now time.Time) error { _, err := ledger.CreateRefund(rs, r, now); return err })
		add(asked.Add(20*time.Millisecond), func(rs ledger.Records, now time.Time) error {
			_, err := ledger.UpdateRefund(rs, r.No, func(s *checkout.Refund) error { s.Sent = true; s.Attempts++; return nil }, now)
			return err
		})
		if report && i == lastRefund {
			want.Unsettled++
			continue
		}
		add(asked.Add(900*time.Millisecond), func(rs ledger.Records, now time.Time) error {
			_, _, err := ledger.SettleRefund(rs, r.No, checkout.RefundSucceeded, func(s *checkout.Refund) {
				s.ProviderSaid, s.ProviderSaidAt, s.ProviderRefundNo, s.SucceededAt = paidWord, now, "5030"+r.No, now
			}, now)
			return err
		})
		want.Refunds++
		want.NetFen -= amount
	}
	slices.SortStableFunc(steps, func(a, b step) int { return a.at.Compare(b.at) })
	for _, s := range steps {
		if err := h.tx(s.at, s.actor, func(rs ledger.Records) error { return s.fn(rs, s.at) }); err != nil {
			return err
		}
	}
	return nil
}

// reportRecipeOf names the ledger the recipe builds with history orders,
// at this schema.
func reportRecipeOf(history int) string {
	return fmt.Sprintf("%s schema=%d history=%d day=%s orders=%d", reportRecipe, schemaVersion(), history, reportDay, reportDayOrders)
}

// dbURL is server's URL with the database name.
func dbURL(tb testing.TB, server, name string) string {
	tb.Helper()
	u, err := url.Parse(server)
	if err != nil {
		tb.Fatalf("TILL_TEST_PG_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// adminExec runs one statement on the server's own database.
func adminExec(ctx context.Context, server, sql string) error {
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// createBenchDB creates an empty database named name, as freshDB does
// (ICU's en-US where the server has it).
func createBenchDB(ctx context.Context, server, name string) error {
	ident := pgx.Identifier{name}.Sanitize()
	if err := adminExec(ctx, server, "CREATE DATABASE "+ident+" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"); err != nil {
		return adminExec(ctx, server, "CREATE DATABASE "+ident+" TEMPLATE template0")
	}
	return nil
}

func dropBenchDB(ctx context.Context, server, name string) error {
	return adminExec(ctx, server, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

// reportDB is the URL of a ledger holding history orders of history
// before the reported day, and what the day's report must say. keep: the
// database is named for its recipe and kept on the server, and used again
// when its marker matches; else it is built afresh and dropped after tb.
func reportDB(tb testing.TB, history int, keep bool) (string, dayWant) {
	tb.Helper()
	server := benchServer(tb)
	ctx := context.Background()
	name := fmt.Sprintf("till_bench_report_%d", history)
	if !keep {
		name += fmt.Sprintf("_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	}
	db := dbURL(tb, server, name)
	if keep {
		if want, ok := keptReportDB(tb, db, history); ok {
			tb.Logf("using the kept database %s (%s)", name, reportRecipeOf(history))
			return db, want
		}
	}
	building := name + "_building"
	if err := dropBenchDB(ctx, server, building); err != nil {
		tb.Fatal(err)
	}
	if err := createBenchDB(ctx, server, building); err != nil {
		tb.Fatalf("creating %s: %v", building, err)
	}
	want, err := buildReportDB(tb, dbURL(tb, server, building), history)
	if err == nil {
		if err = dropBenchDB(ctx, server, name); err == nil {
			err = adminExec(ctx, server, "ALTER DATABASE "+pgx.Identifier{building}.Sanitize()+" RENAME TO "+pgx.Identifier{name}.Sanitize())
		}
	}
	if err != nil {
		_ = dropBenchDB(ctx, server, building)
		tb.Fatalf("building %s: %v", name, err)
	}
	if !keep {
		tb.Cleanup(func() {
			if err := dropBenchDB(context.Background(), server, name); err != nil {
				tb.Errorf("dropping %s: %v", name, err)
			}
		})
	}
	return db, want
}

// keptReportDB reads the marker of a kept database: what its report must
// say, if it was built by this recipe.
func keptReportDB(tb testing.TB, db string, history int) (dayWant, bool) {
	tb.Helper()
	var want dayWant
	conn, err := pgx.Connect(context.Background(), db)
	if err != nil {
		var pe interface{ SQLState() string }
		if errors.As(err, &pe) && pe.SQLState() == "3D000" { // invalid_catalog_name: not built yet
			return want, false
		}
		tb.Fatalf("opening the kept database: %v", err)
	}
	defer conn.Close(context.Background())
	var recipe string
	var raw []byte
	err = conn.QueryRow(context.Background(), `SELECT recipe, want FROM bench_fixture`).Scan(&recipe, &raw)
	if err != nil || recipe != reportRecipeOf(history) || json.Unmarshal(raw, &want) != nil {
		tb.Logf("rebuilding the kept database: its recipe is %q (%v), this one %q", recipe, err, reportRecipeOf(history))
		return want, false
	}
	return want, true
}

// buildReportDB brings the empty database at db to the ledger's schema
// (Open) and COPYs the recipe into it: history orders over the days before
// the reported day, then the day; the rows of one chunk are made while the
// chunk before is being copied. Then the chain's head, VACUUM ANALYZE, a
// checkpoint and the marker.
func buildReportDB(tb testing.TB, db string, history int) (dayWant, error) {
	tb.Helper()
	ctx := context.Background()
	began := time.Now()
	l, err := Open(ctx, db)
	if err != nil {
		return dayWant{}, err
	}
	l.Close()
	loc := benchShop(tb)
	day, err := checkout.ParseDay(reportDay, loc)
	if err != nil {
		return dayWant{}, err
	}
	days := (history+reportDayOrders-1)/reportDayOrders + 1 // and the reported day
	h := newHistoryBuilder(loc)
	var want dayWant
	chunks := make(chan *historyRows, 1)
	genErr := make(chan error, 1)
	go func() {
		defer close(chunks)
		for d := 0; d < days; d += reportChunkDays {
			n := min(reportChunkDays, days-d)
			rows, err := h.chunk(day.AddDate(0, 0, d-days+1), n, d+n == days, &want)
			if err != nil {
				genErr <- err
				return
			}
			chunks <- rows
		}
		genErr <- nil
	}()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		return dayWant{}, err
	}
	defer conn.Close(context.Background())
	var counts [3]int64
	for rows := range chunks {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			for i, t := range []struct {
				table string
				rows  [][]any
			}{{"orders", rows.orders}, {"refunds", rows.refunds}, {"audit", rows.audit}} {
				n, err := tx.CopyFrom(ctx, pgx.Identifier{t.table}, historyColumns[t.table], pgx.CopyFromRows(t.rows))
				if err != nil {
					return fmt.Errorf("copying %s: %w", t.table, err)
				}
				counts[i] += n
			}
			return nil
		})
		if err != nil {
			for range chunks { // let the generator end
			}
			return dayWant{}, err
		}
	}
	if err := <-genErr; err != nil {
		return dayWant{}, err
	}
	if _, err := conn.Exec(ctx, `UPDATE audit_head SET seq = $1, hash = $2`, int64(h.seq), h.hash); err != nil {
		return dayWant{}, fmt.Errorf("moving the audit trail's head: %w", err)
	}
	for _, q := range []string{
		`VACUUM (ANALYZE) orders, refunds, audit, audit_head`,
		`CREATE TABLE bench_fixture (recipe text NOT NULL, want json NOT NULL)`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return dayWant{}, fmt.Errorf("%s: %w", q, err)
		}
	}
	v, err := json.Marshal(want)
	if err != nil {
		return dayWant{}, err
	}
	if _, err := conn.Exec(ctx, `INSERT INTO bench_fixture (recipe, want) VALUES ($1, $2)`, reportRecipeOf(history), v); err != nil {
		return dayWant{}, err
	}
	_, _ = conn.Exec(ctx, `CHECKPOINT`) // a superuser's: the first run then writes no build's dirty pages
	var size int64
	_ = conn.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&size)
	tb.Logf("built %s: %d orders (%d of history, the day's %d), %d refunds, %d audit entries in %s, %.0f MB",
		reportRecipeOf(history), counts[0], counts[0]-reportDayOrders, reportDayOrders, counts[1], counts[2],
		time.Since(began).Round(100*time.Millisecond), float64(size)/1e6)
	return want, nil
}
