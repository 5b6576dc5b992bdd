package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"till/checkout"
)

// Access is what a ledger keeps beside the sales: the manager PIN and the
// operators (store/access.go is the reference). Every ledger till opens
// is one; the cases below fail on a ledger that is not.
type Access interface {
	checkout.PINLedger
	// AddOperator records a new operator (ID and name trimmed, both
	// needed; a zero AddedAt stamped) with its audit entry; an ID taken
	// is an error wrapping checkout.ErrExists.
	AddOperator(ctx context.Context, op checkout.Operator) (checkout.Operator, error)
	// Operators returns the operators by ID.
	Operators(ctx context.Context) ([]checkout.Operator, error)
}

func access(t *testing.T, l checkout.Ledger) Access {
	t.Helper()
	a, ok := l.(Access)
	if !ok {
		t.Fatalf("%T keeps no manager PIN or operators (ledgertest.Access)", l)
	}
	return a
}

// testPINState: a new ledger's PIN state is the zero one; UpdatePIN keeps
// what fn leaves, every field, with fn's entry in the same transaction
// (stamped with the caller's actor), or no entry when it has no Kind; an
// error from fn is returned and keeps neither the state nor the entry.
func testPINState(t *testing.T, l checkout.Ledger) {
	a := access(t, l)
	ctx := checkout.WithActor(t.Context(), checkout.Actor{Terminal: "T1", Operator: "manager", Via: "cli"})
	st, err := a.PINState(ctx)
	if err != nil || !same(st, checkout.PINState{}) {
		t.Fatalf("a new ledger's PIN: %+v %v", st, err)
	}
	refused := errors.New("refused")
	if _, err := a.UpdatePIN(ctx, func(p *checkout.PINState) (checkout.AuditEntry, error) {
		p.Hash = "x"
		return checkout.AuditEntry{Kind: checkout.AuditPINSet}, refused
	}); !errors.Is(err, refused) {
		t.Fatalf("fn's error was not returned: %v", err)
	}
	if st, _ := a.PINState(ctx); st.Hash != "" {
		t.Fatalf("a refused update was kept: %+v", st)
	}
	want := checkout.PINState{Hash: "$argon2id$…", SetAt: t0, Failures: 2, LockedUntil: t0.Add(5 * time.Minute)}
	got, err := a.UpdatePIN(ctx, func(p *checkout.PINState) (checkout.AuditEntry, error) {
		*p = want
		return checkout.AuditEntry{Kind: checkout.AuditPINFailed, Detail: "2 of 5"}, nil
	})
	if err != nil || !same(got, want) {
		t.Fatalf("UpdatePIN: %+v %v", got, err)
	}
	if st, err := a.PINState(ctx); err != nil || !same(st, want) {
		t.Fatalf("stored: %+v %v, want %+v", st, err, want)
	}
	// fn gets what is stored; an entry with no Kind writes none.
	if _, err := a.UpdatePIN(ctx, func(p *checkout.PINState) (checkout.AuditEntry, error) {
		if !same(*p, want) {
			t.Errorf("fn got %+v, want the stored %+v", *p, want)
		}
		p.Failures = 0
		return checkout.AuditEntry{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if st, _ := a.PINState(ctx); st.Failures != 0 || st.Hash != want.Hash {
		t.Fatalf("after a reset: %+v", st)
	}
	chain := checkChain(t, l)
	if Kinds(chain) != "pin.failed" {
		t.Fatalf("entries: %s, want only the failure's", Kinds(chain))
	}
	if e := chain[0]; e.Detail != "2 of 5" || e.Operator != "manager" || e.Terminal != "T1" || e.Via != "cli" {
		t.Errorf("the failure's entry: %+v", e)
	}
}

// testOperators: operators are kept by ID (in byte order), trimmed, each
// with its entry; a taken ID is refused (checkout.ErrExists) and keeps the
// first; an empty ID or name is refused and writes nothing; a zero
// AddedAt is stamped from the ledger's clock, a set one kept.
func testOperators(t *testing.T, l checkout.Ledger) {
	a := access(t, l)
	ctx := checkout.WithActor(t.Context(), checkout.Actor{Terminal: "T1", Operator: "manager", Via: "cli"})
	if ops, err := a.Operators(ctx); err != nil || len(ops) != 0 {
		t.Fatalf("a new ledger's operators: %+v %v", ops, err)
	}
	var lin checkout.Operator
	w := during(func() {
		var err error
		if lin, err = a.AddOperator(ctx, checkout.Operator{ID: " lin ", Name: " Lin Mei\t"}); err != nil {
			t.Fatal(err)
		}
	})
	if lin.ID != "lin" || lin.Name != "Lin Mei" || !w.holds(lin.AddedAt) {
		t.Errorf("AddOperator returned %+v, want lin trimmed, added in %s", lin, w)
	}
	if _, err := a.AddOperator(ctx, checkout.Operator{ID: "lin", Name: "Another"}); !errors.Is(err, checkout.ErrExists) {
		t.Errorf("a second lin: %v", err)
	}
	for _, bad := range []checkout.Operator{{ID: "", Name: "Nobody"}, {ID: "x", Name: "  "}} {
		if _, err := a.AddOperator(ctx, bad); err == nil {
			t.Errorf("AddOperator(%+v) was accepted", bad)
		}
	}
	bo := checkout.Operator{ID: "Bo", Name: "Bo 王", AddedAt: t0}
	if got, err := a.AddOperator(ctx, bo); err != nil || !same(got, bo) {
		t.Fatalf("AddOperator(%+v) = %+v %v", bo, got, err)
	}
	ops, err := a.Operators(ctx)
	if err != nil || len(ops) != 2 || !same(ops[0], bo) || !same(ops[1], lin) {
		t.Fatalf("operators: %+v %v, want Bo then lin", ops, err)
	}
	chain := checkChain(t, l)
	if Kinds(chain) != "operator.added operator.added" {
		t.Fatalf("entries: %s", Kinds(chain))
	}
	if e := chain[0]; e.Detail != "lin Lin Mei" || e.Operator != "manager" || e.Terminal != "T1" {
		t.Errorf("lin's entry: %+v", e)
	}
}

// RacePIN races 40 wrong PINs counted at once (UpdatePIN adding one to
// Failures each): the state's row is read and written in one transaction,
// so none is lost to another's write, and each has its entry.
func RacePIN(t *testing.T, ledgers ...checkout.Ledger) {
	const n = 40
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = access(t, on(ledgers, i)).UpdatePIN(t.Context(), func(p *checkout.PINState) (checkout.AuditEntry, error) {
				p.Failures++
				return checkout.AuditEntry{Kind: checkout.AuditPINFailed, Detail: fmt.Sprint(p.Failures)}, nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("UpdatePIN %d: %v", i, err)
		}
	}
	if st, err := access(t, ledgers[0]).PINState(t.Context()); err != nil || st.Failures != n {
		t.Fatalf("%d failures counted of %d (%v)", st.Failures, n, err)
	}
	seen := map[string]bool{}
	for _, e := range checkChain(t, ledgers[0]) {
		if e.Kind == checkout.AuditPINFailed {
			seen[e.Detail] = true
		}
	}
	if len(seen) != n {
		t.Fatalf("%d distinct failure counts in the trail, want %d", len(seen), n)
	}
}

// RaceOperators races 20 adds of one operator ID at once: exactly one is
// kept, the others are refused with checkout.ErrExists, and one entry is
// written.
func RaceOperators(t *testing.T, ledgers ...checkout.Ledger) {
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = access(t, on(ledgers, i)).AddOperator(t.Context(), checkout.Operator{ID: "race", Name: fmt.Sprint("Clerk ", i)})
		})
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Errorf("adds %d and %d both kept", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, checkout.ErrExists):
			t.Errorf("add %d: %v", i, err)
		}
	}
	ops, err := access(t, ledgers[0]).Operators(t.Context())
	if err != nil || len(ops) != 1 || won < 0 || ops[0].Name != fmt.Sprint("Clerk ", won) {
		t.Fatalf("operators %+v %v; the add kept: %d", ops, err, won)
	}
	n2 := 0
	for _, e := range checkChain(t, ledgers[0]) {
		if e.Kind == checkout.AuditOperatorAdded {
			n2++
		}
	}
	if n2 != 1 {
		t.Fatalf("%d operator entries, want 1", n2)
	}
}
