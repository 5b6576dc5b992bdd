package pgledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"till/checkout"
)

// The records are kept whole as JSON (rec); these read them back.

// records runs a query whose one column is a record's JSON and decodes
// each row, in the query's order.
func records[T any](ctx context.Context, q querier, what, sql string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("reading %ss: %w", what, err)
	}
	return decodeRows[T](rows, what, nil)
}

// decodeRows decodes the rows of a query whose one column is a record's
// JSON, calling row (when not nil) for each row. A NULL (a LEFT JOIN that
// found nothing) is a row but no record.
func decodeRows[T any](rows pgx.Rows, what string, row func()) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		if row != nil {
			row()
		}
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("reading %ss: %w", what, err)
		}
		if raw == nil {
			continue
		}
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("%s: decoding: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading %ss: %w", what, err)
	}
	return out, nil
}

// record reads the one record the query finds, or says that what key is
// not there (checkout.ErrNotFound).
func record[T any](ctx context.Context, q querier, what, key, sql string, args ...any) (T, error) {
	var zero, v T
	var raw []byte
	err := q.QueryRow(ctx, sql, args...).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return zero, fmt.Errorf("%s %s: %w", what, key, checkout.ErrNotFound)
	}
	if err != nil {
		return zero, fmt.Errorf("reading %s %s: %w", what, key, err)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return zero, fmt.Errorf("%s %s: decoding: %w", what, key, err)
	}
	return v, nil
}

// encode is v as rec holds it.
func encode(what, key string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s %s: encoding: %w", what, key, err)
	}
	return b, nil
}
