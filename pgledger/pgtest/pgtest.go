// Package pgtest gives tests a PostgreSQL database of their own on the
// test server TILL_TEST_PG_URL names (a postgres:// URL of a role that
// may create databases; `. .ci/postgres` starts a throwaway one and sets
// it): pgledger's tests, and the commands' that move a ledger onto one.
// Without the variable a test skips, with why; in CI (CI set, as CI
// systems set it) it fails instead, so that a CI run can never pass
// without them.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// FromEnv reads TILL_TEST_PG_URL through getenv: the server's URL, or why
// there is none and whether that is a failure (in CI) rather than a skip.
func FromEnv(getenv func(string) string) (serverURL, why string, fail bool) {
	if u := getenv("TILL_TEST_PG_URL"); u != "" {
		return u, "", false
	}
	why = "TILL_TEST_PG_URL is not set: the PostgreSQL ledger's tests need a server (`. .ci/postgres` starts one and sets it)"
	if ci := getenv("CI"); ci != "" {
		return "", why + "; CI=" + ci + ", so this is a failure, not a skip", true
	}
	return "", why, false
}

// Server is the test server's URL, or skips t (outside CI) or fails it
// (in CI).
func Server(t testing.TB) string {
	t.Helper()
	u, why, fail := FromEnv(os.Getenv)
	if fail {
		t.Fatal(why)
	}
	if u == "" {
		t.Skip(why)
	}
	return u
}

// FreshDB creates an empty database for t on the test server and returns
// its URL; it is dropped when t ends.
func FreshDB(t testing.TB) string {
	t.Helper()
	server, name, dbURL := CreateDB(t)
	t.Cleanup(func() { DropDB(t, server, name) })
	return dbURL
}

// CreateDB creates an empty database on the test server and returns the
// server's URL, the database's name and its URL; the caller drops it. It
// is made with ICU's en-US collation where the server has it (a shop's
// database is seldom "C"), so that nothing the ledger orders by leans on
// the database's collation.
func CreateDB(t testing.TB) (server, name, dbURL string) {
	t.Helper()
	server = Server(t)
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

// DropDB drops the database name on server; t (when not nil) is told
// when it cannot.
func DropDB(t testing.TB, server, name string) {
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

// Count is the one number a query on the database at dbURL returns,
// outside any ledger.
func Count(t testing.TB, dbURL, sql string, args ...any) int {
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
