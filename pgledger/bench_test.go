package pgledger

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// BenchmarkLockOrder is an order lock taken and given back on a warm
// lock connection: what the engine pays per call on a shared ledger.
func BenchmarkLockOrder(b *testing.B) {
	l := openLedger(b, freshDB(b))
	ctx := context.Background()
	for b.Loop() {
		release, err := l.LockOrder(ctx, "O1")
		if err != nil {
			b.Fatal(err)
		}
		release()
	}
}

// BenchmarkConnect is a new connection opened and closed: what a lock
// would cost on top if each took a connection of its own (pgx.Connect)
// instead of one from the lock pool.
func BenchmarkConnect(b *testing.B) {
	db := freshDB(b)
	ctx := context.Background()
	for b.Loop() {
		c, err := pgx.Connect(ctx, db)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
