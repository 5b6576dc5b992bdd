package pgledger

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The schema's history: migrations/NNNN_name.sql, applied in number
// order, each once. A schema change adds a file with the next number
// (never edits one that has shipped); the database's version is the
// highest number applied, recorded in schema_migrations.

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrateLock is the key of the advisory lock migrate holds for its
// transaction, so that desks starting at once on a new database do not
// race to create it: the second waits, then finds it done. ("till" in
// ASCII, and 1 for the ledger's schema.)
const migrateLock int64 = 0x74696c6c_00000001

// ErrSchemaNewer means the database was brought to a schema by a newer
// till; this one could misread or damage it.
var ErrSchemaNewer = errors.New("ledger schema is newer than this till")

// SchemaNewerError names the database, the schema version it holds and
// the newest this till knows; errors.Is matches ErrSchemaNewer.
type SchemaNewerError struct {
	Name       string
	Have, Know int
}

func (e *SchemaNewerError) Error() string {
	return fmt.Sprintf("%s has ledger schema version %d, and this till knows versions up to %d: upgrade till before it opens this ledger",
		e.Name, e.Have, e.Know)
}

func (e *SchemaNewerError) Unwrap() error { return ErrSchemaNewer }

// migration is one numbered file.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations reads the embedded files, in number order. Numbers run from
// 1 without a gap: a missing or repeated one is a build mistake.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, n := range names {
		base := path.Base(n)
		num, name, ok := strings.Cut(strings.TrimSuffix(base, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: the name must be NNNN_what.sql", base)
		}
		b, err := migrationFiles.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %d is missing or repeated (found %d at place %d)", i+1, m.version, i+1)
		}
	}
	return out, nil
}

const sqlMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer PRIMARY KEY,
	name       text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now()
)`

const sqlSchemaVersion = `SELECT coalesce(max(version), 0) FROM schema_migrations`

// migrate brings the database's schema up to date in one transaction
// under migrateLock: every missing migration, or none. A database whose
// version is above what this till knows is refused and left as it is.
// One already up to date (every Open but the first of a version) is
// told by one statement, without the lock's transaction.
func migrate(ctx context.Context, pool *pgxpool.Pool, name string) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	var have int
	if pool.QueryRow(ctx, sqlSchemaVersion).Scan(&have) == nil {
		switch {
		case have == len(ms):
			return nil
		case have > len(ms):
			return &SchemaNewerError{Name: name, Have: have, Know: len(ms)}
		}
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlMigrations); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, sqlSchemaVersion).Scan(&have); err != nil {
			return err
		}
		if have > len(ms) {
			return &SchemaNewerError{Name: name, Have: have, Know: len(ms)}
		}
		for _, m := range ms[have:] {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
			}
		}
		return nil
	})
	var newer *SchemaNewerError
	if err != nil && !errors.As(err, &newer) {
		return fmt.Errorf("bringing the ledger schema of %s up to date: %w", name, err)
	}
	return err
}
