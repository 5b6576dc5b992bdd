package pgledger

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"till/pgledger/pgtest"
)

// The tests run against a real server: TILL_TEST_PG_URL names it (a
// postgres:// URL of a role that may create databases; `. .ci/postgres`
// starts a throwaway one and sets it). Each test gets a database of its
// own: created for it and dropped after it (freshDB), or, for the many
// that only need an empty ledger, one emptied after the test before it
// and emptied again after it (ledgerDB), since making a database costs
// half a second.

func TestMain(m *testing.M) {
	code := m.Run()
	dropSpares()
	os.Exit(code)
}

// testServer, freshDB, createDB and dropDB are pgtest's (the commands'
// tests make databases the same way).
var (
	createDB = pgtest.CreateDB
	dropDB   = pgtest.DropDB
)

func testServer(t testing.TB) string { t.Helper(); return pgtest.Server(t) }
func freshDB(t testing.TB) string    { t.Helper(); return pgtest.FreshDB(t) }

// spares are the databases ledgerDB hands out, migrated and empty, by
// URL to their name.
var spares struct {
	sync.Mutex
	server string
	free   map[string]string
	all    map[string]string
}

// ledgerDB is a database for t holding an empty ledger of the newest
// schema, t's alone until t ends: one a test before emptied, or a new
// one. After t (and the ledgers it opened) it is emptied and handed to
// the next; TestMain drops them all at the end.
func ledgerDB(t testing.TB) string {
	t.Helper()
	spares.Lock()
	var dbURL string
	for u := range spares.free {
		dbURL = u
		delete(spares.free, u)
		break
	}
	spares.Unlock()
	if dbURL == "" {
		server, name, u := createDB(t)
		l, err := Open(t.Context(), u)
		if err != nil {
			dropDB(t, server, name)
			t.Fatalf("Open: %v", err)
		}
		l.Close()
		spares.Lock()
		if spares.all == nil {
			spares.free, spares.all = map[string]string{}, map[string]string{}
		}
		spares.server, spares.all[u] = server, name
		spares.Unlock()
		dbURL = u
	}
	t.Cleanup(func() {
		if err := emptyLedger(dbURL); err != nil {
			t.Errorf("emptying the test database: %v", err)
			return // not handed out again; dropped at the end
		}
		spares.Lock()
		spares.free[dbURL] = spares.all[dbURL]
		spares.Unlock()
	})
	return dbURL
}

// emptyLedger takes every record out of the ledger at dbURL: each
// table's rows but the schema's own, the one-row tables as a migration
// left them.
func emptyLedger(dbURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var tables string
	if err := conn.QueryRow(ctx, `SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables
		WHERE schemaname = 'public' AND tablename NOT IN ('schema_migrations', 'audit_head', 'manager_pin')`).Scan(&tables); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `TRUNCATE `+tables+`;
		UPDATE audit_head SET seq = 0, hash = '';
		UPDATE manager_pin SET rec = '{}'`)
	return err
}

// dropSpares drops ledgerDB's databases.
func dropSpares() {
	spares.Lock()
	defer spares.Unlock()
	for _, name := range spares.all {
		dropDB(nil, spares.server, name)
	}
}

// openLedger opens the ledger at dbURL and closes it when t ends.
func openLedger(t testing.TB, dbURL string, opts ...Option) *Ledger {
	t.Helper()
	l, err := Open(t.Context(), dbURL, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// exec runs SQL on the database at dbURL, outside any ledger.
func exec(t testing.TB, dbURL, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// count is the one number a query returns.
func count(t testing.TB, dbURL, sql string, args ...any) int {
	t.Helper()
	return pgtest.Count(t, dbURL, sql, args...)
}

// connect is a connection to the database at dbURL, outside any ledger,
// closed when t ends.
func connect(t testing.TB, dbURL string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// schemaVersion is the version this code writes.
func schemaVersion() int {
	ms, err := migrations()
	if err != nil {
		return 0
	}
	return len(ms)
}
