package pgledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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

// serverFromEnv reads TILL_TEST_PG_URL. Without it the tests skip, with
// why; but in CI (CI set, as CI systems set it to true, and as the other
// tests that need a tool read it) they fail instead, so that a CI run can
// never pass without them.
func serverFromEnv(getenv func(string) string) (serverURL, why string, fail bool) {
	if u := getenv("TILL_TEST_PG_URL"); u != "" {
		return u, "", false
	}
	why = "TILL_TEST_PG_URL is not set: the PostgreSQL ledger's tests need a server (`. .ci/postgres` starts one and sets it)"
	if ci := getenv("CI"); ci != "" {
		return "", why + "; CI=" + ci + ", so this is a failure, not a skip", true
	}
	return "", why, false
}

// testServer is the server's URL, or skips (outside CI) or fails (in CI).
func testServer(t testing.TB) string {
	t.Helper()
	u, why, fail := serverFromEnv(os.Getenv)
	if fail {
		t.Fatal(why)
	}
	if u == "" {
		t.Skip(why)
	}
	return u
}

// freshDB creates an empty database for t on the test server and returns
// its URL; it is dropped when t ends.
func freshDB(t testing.TB) string {
	t.Helper()
	server, name, dbURL := createDB(t)
	t.Cleanup(func() { dropDB(t, server, name) })
	return dbURL
}

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

// createDB creates an empty database on the test server and returns the
// server's URL, the database's name and its URL. It is made with ICU's
// en-US collation where the server has it (a shop's database is seldom
// "C"), so that nothing the ledger orders by leans on the database's
// collation.
func createDB(t testing.TB) (server, name, dbURL string) {
	t.Helper()
	server = testServer(t)
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("TILL_TEST_PG_URL must be a postgres:// URL, not %q", server)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name = "till_test_" + hex.EncodeToString(b)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("connecting to the test server: %v", err)
	}
	defer admin.Close(ctx)
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident+" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"); err != nil {
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident+" TEMPLATE template0"); err != nil {
			t.Fatalf("creating the test database: %v", err)
		}
	}
	u.Path = "/" + name
	return server, name, u.String()
}

// dropDB drops the database name on server; t (when not nil) is told
// when it cannot.
func dropDB(t testing.TB, server, name string) {
	fail := func(err error) {
		if t != nil {
			t.Errorf("dropping the test database %s: %v", name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		fail(err)
		return
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		fail(err)
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
	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestServerFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, c := range []struct {
		name       string
		env        func(string) string
		url        string
		skip, fail bool
	}{
		{"set", env("TILL_TEST_PG_URL", "postgres://x/y"), "postgres://x/y", false, false},
		{"set in CI", env("TILL_TEST_PG_URL", "postgres://x/y", "CI", "true"), "postgres://x/y", false, false},
		{"unset: skip", env(), "", true, false},
		{"unset in CI: fail", env("CI", "true"), "", false, true},
		{"unset in CI=1: fail", env("CI", "1"), "", false, true},
	} {
		u, why, fail := serverFromEnv(c.env)
		if u != c.url || fail != c.fail || (c.skip || c.fail) != (why != "") {
			t.Errorf("%s: url %q, why %q, fail %v", c.name, u, why, fail)
		}
	}
	if _, why, _ := serverFromEnv(env()); !strings.Contains(why, "TILL_TEST_PG_URL") || !strings.Contains(why, ".ci/postgres") {
		t.Errorf("the skip message %q should say what to set and how", why)
	}
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
