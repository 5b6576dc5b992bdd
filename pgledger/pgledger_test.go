package pgledger

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"till/checkout"
	"till/ledger"
	"till/ledgertest"
)

// TestContract runs the checkout.Ledger contract on PostgreSQL, each case
// in a database of its own.
func TestContract(t *testing.T) {
	testServer(t)
	ledgertest.Run(t, func(t *testing.T) checkout.Ledger { return openLedger(t, ledgerDB(t)) })
}

// TestTwoDesksRace: two Ledgers on one database, each with its own pool
// of connections, as two desks (two processes) have them, race at the
// same records: refunds of one order (the ceiling holds), moves of one
// order (one wins), one refund's outcome delivered many times, a day
// closed from both, a flood of both at once, wrong PINs counted from
// both, one operator added from both. The calls alternate between
// the two.
func TestTwoDesksRace(t *testing.T) {
	testServer(t)
	for name, race := range map[string]func(*testing.T, ...checkout.Ledger){
		"Refunds":   ledgertest.RaceRefunds,
		"Advance":   ledgertest.RaceAdvance,
		"Settle":    ledgertest.RaceSettle,
		"SettleAll": ledgertest.RaceSettleAll,
		"CloseDay":  ledgertest.RaceCloseDay,
		"Flood":     ledgertest.RaceFlood,
		"PIN":       ledgertest.RacePIN,
		"Operators": ledgertest.RaceOperators,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := ledgerDB(t)
			a, b := openLedger(t, db), openLedger(t, db)
			if a.pool == b.pool {
				t.Fatal("the two ledgers share a pool")
			}
			race(t, a, b)
		})
	}
}

// TestMigrationsApplyOnce: Open brings a new database to the newest
// schema, recorded version by version; opening it again applies nothing.
func TestMigrationsApplyOnce(t *testing.T) {
	db := freshDB(t)
	openLedger(t, db)
	ms, err := migrations()
	if err != nil || len(ms) == 0 || schemaVersion() != len(ms) {
		t.Fatalf("migrations: %d %v", len(ms), err)
	}
	for _, m := range ms {
		if n := count(t, db, `SELECT count(*) FROM schema_migrations WHERE version = $1 AND name = $2`, m.version, m.name); n != 1 {
			t.Errorf("migration %d (%s) recorded %d times", m.version, m.name, n)
		}
	}
	openLedger(t, db)
	if n := count(t, db, `SELECT count(*) FROM schema_migrations`); n != len(ms) {
		t.Fatalf("%d migrations recorded after a second Open, want %d", n, len(ms))
	}
	for _, table := range []string{"orders", "refunds", "audit", "audit_head", "day_closes", "meta", "manager_pin", "operators"} {
		if n := count(t, db, `SELECT count(*) FROM pg_tables WHERE tablename = $1`, table); n != 1 {
			t.Errorf("table %s: %d", table, n)
		}
	}
	for _, table := range []string{"audit_head", "manager_pin"} {
		if n := count(t, db, `SELECT count(*) FROM `+table); n != 1 {
			t.Errorf("%s holds %d rows, want 1", table, n)
		}
	}
}

// TestCounterClosesMigrationKeepsTheShopsCloses: a database of schema 3
// holding closes (migration 0004 adds the counter to day_closes' key)
// reads them as the shop's after the migration: the day stays closed to
// the shop, a counter's close of it is still to make, and it takes the
// next number of the one series.
func TestCounterClosesMigrationKeepsTheShopsCloses(t *testing.T) {
	db := freshDB(t)
	ms, err := migrations()
	if err != nil || len(ms) < 4 || ms[3].name != "counter_closes" {
		t.Fatalf("migrations: %d %v", len(ms), err)
	}
	exec(t, db, sqlMigrations)
	for _, m := range ms[:3] {
		exec(t, db, m.sql)
		exec(t, db, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name)
	}
	exec(t, db, `INSERT INTO day_closes (day, seq, closed_ns, rec) VALUES ('2024-03-10', 1, 1, $1)`,
		`{"seq":1,"day":"2024-03-10","timezone":"UTC","terminal":"T1","operator":"ana","figures":{"sales":{"count":1,"amount_fen":1230},"net_fen":1230}}`)
	l := openLedger(t, db)
	ctx := t.Context()
	d := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
	rec, err := l.DayRecords(ctx, d, d.AddDate(0, 0, 1), "2024-03-10")
	if err != nil || rec.Close == nil || rec.Close.Seq != 1 || rec.Close.Figures.NetFen != 1230 || len(rec.CounterCloses) != 0 {
		t.Fatalf("the schema 3 close read back: %+v %+v %v", rec.Close, rec.CounterCloses, err)
	}
	closeAs := func(counter string) (checkout.DayClose, error) {
		return l.CloseDay(ctx, d, d.AddDate(0, 0, 1), "2024-03-10", func(rec checkout.DayRecords) (checkout.DayClose, error) {
			z := checkout.NewDayClose(rec.ForTerminal(counter), time.UTC, "", checkout.Actor{})
			z.Counter = counter
			return z, nil
		})
	}
	if _, err := closeAs(""); !errors.Is(err, checkout.ErrDayClosed) {
		t.Fatalf("the shop's day closed again: %v", err)
	}
	if z, err := closeAs("T1"); err != nil || z.Seq != 2 || z.Counter != "T1" {
		t.Fatalf("T1's close after the migration: %+v %v", z, err)
	}
}

// TestConcurrentOpensMigrateOnce: desks started at once on a new database
// all open it; the advisory lock has the schema made once.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	db := freshDB(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			l, err := Open(t.Context(), db)
			if err == nil {
				l.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
		}
	}
	if got := count(t, db, `SELECT count(*) FROM schema_migrations`); got != schemaVersion() {
		t.Fatalf("%d migrations recorded, want %d", got, schemaVersion())
	}
}

// TestNewerSchemaIsRefused: a database a newer till brought to a schema
// this one does not know is refused with a message naming the database
// and both versions, and left as it was.
func TestNewerSchemaIsRefused(t *testing.T) {
	db := freshDB(t)
	openLedger(t, db)
	newer := schemaVersion() + 1
	exec(t, db, `INSERT INTO schema_migrations (version, name) VALUES ($1, 'from the future')`, newer)

	l, err := Open(t.Context(), db)
	if err == nil {
		l.Close()
		t.Fatal("Open accepted a database from a newer till")
	}
	var se *SchemaNewerError
	if !errors.Is(err, ErrSchemaNewer) || !errors.As(err, &se) || se.Have != newer || se.Know != schemaVersion() {
		t.Fatalf("err = %#v, want a SchemaNewerError of %d over %d", err, newer, schemaVersion())
	}
	msg := err.Error()
	u, _ := url.Parse(db)
	for _, want := range []string{fmt.Sprintf("version %d", newer), fmt.Sprintf("up to %d", schemaVersion()), u.Path} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q should name %q", msg, want)
		}
	}
	if n := count(t, db, `SELECT count(*) FROM schema_migrations`); n != newer {
		t.Errorf("the refused database's migrations: %d rows, want %d", n, newer)
	}
}

// TestNewerSchemaWritesNothing: a database whose only record is a newer
// schema's version gets none of this till's tables.
func TestNewerSchemaWritesNothing(t *testing.T) {
	db := freshDB(t)
	exec(t, db, sqlMigrations)
	exec(t, db, `INSERT INTO schema_migrations (version, name) VALUES (99, 'future')`)
	if _, err := Open(t.Context(), db); !errors.Is(err, ErrSchemaNewer) || !strings.Contains(err.Error(), "version 99") {
		t.Fatalf("Open: %v", err)
	}
	if n := count(t, db, `SELECT count(*) FROM pg_tables WHERE tablename = 'orders'`); n != 0 {
		t.Fatal("a refused Open created the ledger's tables")
	}
}

// TestMigrationNumbering: the embedded files run 1, 2, … in order.
func TestMigrationNumbering(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.version != i+1 || m.name == "" || !strings.Contains(m.sql, "TABLE") {
			t.Errorf("migration %d: %+v", i+1, m)
		}
	}
}

// TestBindRefusesTheOtherMode: the first desk stamps the mode; the same
// mode is accepted again, by another Ledger too; the other is refused
// with a *ledger.WrongModeError (which store.WrongModeError is) naming
// the database but not its password.
func TestBindRefusesTheOtherMode(t *testing.T) {
	db := freshDB(t)
	l := openLedger(t, db)
	ctx := t.Context()
	if err := l.Bind(ctx, "live"); err != nil {
		t.Fatal(err)
	}
	if err := l.Bind(ctx, "live"); err != nil {
		t.Fatalf("same mode again: %v", err)
	}
	other := openLedger(t, db)
	if err := other.Bind(ctx, "live"); err != nil {
		t.Fatalf("same mode, another desk: %v", err)
	}
	err := other.Bind(ctx, "sandbox")
	var we *ledger.WrongModeError
	if !errors.Is(err, ledger.ErrWrongMode) || !errors.As(err, &we) || we.Held != "live" || we.Want != "sandbox" || we.Path != l.Name() {
		t.Fatalf("sandbox on a live ledger: %v", err)
	}
	if n := count(t, db, `SELECT count(*) FROM meta WHERE key = 'mode' AND value = 'live'`); n != 1 {
		t.Fatal("the refusal changed the stamp")
	}
}

// TestBindRace: two desks starting at once on a new ledger, one live and
// one sandbox: one stamps it, the other is refused.
func TestBindRace(t *testing.T) {
	db := freshDB(t)
	a, b := openLedger(t, db), openLedger(t, db)
	for range 5 {
		exec(t, db, `DELETE FROM meta`)
		var wg sync.WaitGroup
		var errA, errB error
		wg.Go(func() { errA = a.Bind(t.Context(), "live") })
		wg.Go(func() { errB = b.Bind(t.Context(), "sandbox") })
		wg.Wait()
		if (errA == nil) == (errB == nil) {
			t.Fatalf("live: %v; sandbox: %v; want exactly one refused", errA, errB)
		}
		for _, err := range []error{errA, errB} {
			if err != nil && !errors.Is(err, ledger.ErrWrongMode) {
				t.Fatalf("refusal: %v", err)
			}
		}
	}
}

// TestNamesHideThePassword: the name messages give the database, and the
// refusal of a URL that is not one, never carry the password.
func TestNamesHideThePassword(t *testing.T) {
	cfg, err := pgx.ParseConfig("postgres://till:s3cret@db.example:6543/shop")
	if err != nil {
		t.Fatal(err)
	}
	if got := nameOf(cfg); got != "postgres://till@db.example:6543/shop" {
		t.Errorf("nameOf = %q", got)
	}
	_, err = Open(context.Background(), "postgres://till:s3cret@db.example:notaport/shop")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("a bad URL: %v", err)
	}
}

// TestQueriesUseIndexes: every list and range the ledger reads has an
// index it can use: with sequential scans priced out, no plan reads a
// whole table (a day is a range, the open lists are partial indexes).
func TestQueriesUseIndexes(t *testing.T) {
	db := freshDB(t)
	openLedger(t, db)
	conn, err := pgx.Connect(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	const lo, hi = int64(1), int64(2)
	for name, q := range map[string]struct {
		sql  string
		args []any
	}{
		"OpenOrders":    {sqlOpenOrders, nil},
		"FollowUps":     {sqlFollowUps, nil},
		"OrdersCreated": {sqlOrderCreated, []any{lo, hi, 10}},
		"Order":         {sqlOrder, []any{"X"}},
		"Refunds":       {sqlRefunds, []any{"X"}},
		"Held":          {sqlHeld, []any{"X"}},
		"HasRefunds":    {sqlHasRefunds, []any{"X"}},
		"RefundNew":     {sqlRefundNew, []any{"X"}},
		"OpenRefunds":   {sqlOpenRefunds, nil},
		"DayPaid":       {sqlDayPaid, []any{lo, hi}},
		"DaySettled":    {sqlDaySettled, []any{lo, hi}},
		"DayOrders":     {sqlDayOrders, []any{lo, hi}},
		"DayOpen":       {sqlDayOpen, []any{hi}},
		"DayFollowUps":  {sqlDayFollowUps, []any{hi}},
		"DayOpenRefund": {sqlDayOpenRefunds, []any{hi}},
		"FirstOrder":    {sqlFirstOrder, nil},
		"AuditOf":       {sqlAuditOf, []any{"X"}},
		"AuditBetween":  {sqlAuditAt, []any{lo, hi}},
	} {
		rows, err := conn.Query(t.Context(), "EXPLAIN "+q.sql, q.args...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		rows.Close()
		if p := strings.Join(plan, "\n"); strings.Contains(p, "Seq Scan") {
			t.Errorf("%s reads a whole table:\n%s", name, p)
		}
	}
}

// TestVerifyFindsEditsAndDeletions: an entry edited in the table (even
// with its own hash recomputed), one deleted, and the newest ones cut off
// (the head still naming them) are each found, at the right entry.
func TestVerifyFindsEditsAndDeletions(t *testing.T) {
	edit := func(n int, fn func(*checkout.AuditEntry)) func(t *testing.T, db string) {
		return func(t *testing.T, db string) {
			conn, err := pgx.Connect(t.Context(), db)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			var e checkout.AuditEntry
			if err := conn.QueryRow(t.Context(), `SELECT entry FROM audit WHERE seq = $1`, n).Scan(&e); err != nil {
				t.Fatal(err)
			}
			fn(&e)
			if _, err := conn.Exec(t.Context(), `UPDATE audit SET entry = $2 WHERE seq = $1`, n, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	sql := func(q string) func(t *testing.T, db string) {
		return func(t *testing.T, db string) { exec(t, db, q) }
	}
	cases := map[string]struct {
		change func(t *testing.T, db string)
		broken uint64
	}{
		"amount edited":                   {edit(5, func(e *checkout.AuditEntry) { e.Amount = 1 }), 5},
		"edited with its hash recomputed": {edit(5, func(e *checkout.AuditEntry) { e.Operator = "someone else"; e.Hash = e.ChainHash() }), 6},
		"deleted":                         {sql(`DELETE FROM audit WHERE seq = 4`), 4},
		"newest cut off":                  {sql(`DELETE FROM audit WHERE seq >= 8`), 8},
		"head moved back":                 {sql(`UPDATE audit_head SET seq = 8`), 9},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := ledgerDB(t)
			l := openLedger(t, db)
			for _, no := range []string{"O1", "O2", "O3"} { // 3 entries each
				mustPaid(t, l, no)
			}
			if got, err := l.VerifyAudit(t.Context()); err != nil || !got.OK() || got.Entries != 9 {
				t.Fatalf("before the change: %+v %v", got, err)
			}
			c.change(t, db)
			got, err := l.VerifyAudit(t.Context())
			if err != nil || got.OK() || got.Broken != c.broken {
				t.Fatalf("verify after the change: %+v %v, want entry %d", got, err, c.broken)
			}
		})
	}
}

func mustPaid(t *testing.T, l *Ledger, no string) {
	t.Helper()
	if err := l.CreateOrder(t.Context(), checkout.Order{No: no, Method: checkout.MethodWeChat, Amount: 500, State: checkout.StateCreated}); err != nil {
		t.Fatal(err)
	}
	for _, to := range []checkout.State{checkout.StateAwaiting, checkout.StatePaid} {
		if _, err := l.Advance(t.Context(), no, to, nil); err != nil {
			t.Fatal(err)
		}
	}
}
