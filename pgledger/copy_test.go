package pgledger

import (
	"context"
	"errors"
	"iter"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"till/checkout"
	"till/ledger"
	"till/ledgertest"
	"till/manager"
	"till/providers/fake"
	"till/store"
)

// copyDay is the shop day the history is made on, in the shop's zone
// (orders and stamps carry +08:00, as a shop's do).
var copyDay = time.Date(2026, 12, 1, 9, 0, 0, 0, shanghai())

func shanghai() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}

// counterHistory is a single counter's file ledger with a day of history
// made through the store's API, in every state a copy must carry: sales
// paid, closed, open, failed, disputed, paid after they were closed,
// refunded in part and in full, paid and refunded at once; refunds
// requested, succeeded and failed; two operators; a PIN with a wrong try
// counted; a refusal's own audit entry; the day's Z close; and a sale of
// the next day, after the close.
func counterHistory(t *testing.T) (*store.Store, string) {
	t.Helper()
	clock := fake.NewClock(copyDay)
	path := filepath.Join(t.TempDir(), "till.db")
	st, err := store.Open(path, store.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := checkout.WithActor(t.Context(), checkout.Actor{Terminal: "T1", Operator: "ana", Via: "desk"})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.Bind(ctx, "sandbox"))
	for _, op := range []checkout.Operator{{ID: "ana", Name: "Ana"}, {ID: "bo", Name: "Bo"}} {
		_, err := st.AddOperator(ctx, op)
		must(err)
	}
	guard := manager.New(st, clock)
	must(guard.Set(ctx, "", "4826"))
	if err := guard.Check(ctx, "1111"); err == nil {
		t.Fatal("a wrong PIN was taken")
	}
	at := func(min int) time.Time { clock.Set(copyDay.Add(time.Duration(min) * time.Minute)); return clock.Now() }
	sale := func(no string, min int, amount checkout.Money, m checkout.Method) {
		t.Helper()
		o := ledgertest.NewOrder(no, at(min), amount)
		o.Method, o.Operator, o.Note = m, "ana", "table "+no
		must(st.CreateOrder(ctx, o))
		_, err := st.Advance(ctx, no, checkout.StateAwaiting, func(o *checkout.Order) { o.CodeURL = "weixin://wxpay/" + no })
		must(err)
	}
	pay := func(no string, min int) {
		t.Helper()
		at(min)
		_, err := st.Advance(ctx, no, checkout.StatePaid, func(o *checkout.Order) { o.ProviderTradeNo = "TX" + no; o.ProviderSaid = "SUCCESS" })
		must(err)
	}
	refund := func(no, order string, min int, amount checkout.Money) {
		t.Helper()
		at(min)
		_, err := st.CreateRefund(ctx, checkout.Refund{No: no, OrderNo: order, Amount: amount, State: checkout.RefundRequested, Terminal: "T1", Operator: "manager", Reason: "returned"})
		must(err)
	}
	settle := func(no string, min int, to checkout.RefundState) {
		t.Helper()
		at(min)
		_, _, err := st.SettleRefund(ctx, no, to, func(r *checkout.Refund) {
			r.ProviderSaid = "SUCCESS"
			if to == checkout.RefundFailed {
				r.ProviderSaid, r.FailReason = "ABNORMAL", "the card was closed"
			}
		})
		must(err)
	}

	sale("T1A", 1, 1230, checkout.MethodWeChat)
	pay("T1A", 2)
	sale("T1B", 3, 5000, checkout.MethodAlipay) // refunded in part
	pay("T1B", 4)
	refund("R1B", "T1B", 10, 1500)
	settle("R1B", 11, checkout.RefundSucceeded)
	sale("T1C", 5, 800, checkout.MethodWeChat) // refunded in full
	pay("T1C", 6)
	refund("R1C", "T1C", 12, 800)
	settle("R1C", 13, checkout.RefundSucceeded)
	sale("T1D", 7, 990, checkout.MethodWeChat) // closed unpaid, with a late check to come
	at(8)
	_, err = st.Advance(ctx, "T1D", checkout.StateClosed, func(o *checkout.Order) {
		o.Reason, o.RecheckAt = "cancelled", copyDay.Add(20*time.Minute)
	})
	must(err)
	sale("T1E", 9, 450, checkout.MethodAlipay) // still waiting
	must(st.CreateOrder(ctx, ledgertest.NewOrder("T1F", at(14), 300)))
	_, err = st.Advance(ctx, "T1F", checkout.StateFailed, func(o *checkout.Order) { o.Reason = "the provider refused it" })
	must(err)
	sale("T1G", 15, 2000, checkout.MethodWeChat) // a refund still in progress
	pay("T1G", 16)
	refund("R1G", "T1G", 17, 700)
	sale("T1H", 18, 1200, checkout.MethodAlipay) // a refund that failed
	pay("T1H", 19)
	refund("R1H", "T1H", 20, 1200)
	settle("R1H", 21, checkout.RefundFailed)
	sale("T1I", 22, 660, checkout.MethodWeChat) // the provider took another amount
	at(23)
	_, err = st.Advance(ctx, "T1I", checkout.StateDisputed, func(o *checkout.Order) { o.ProviderAmount = 606 })
	must(err)
	sale("T1J", 24, 880, checkout.MethodAlipay) // paid at the last moment, refunded by the cancel
	at(25)
	_, err = st.PaidAndRefunded(ctx, "T1J", func(o *checkout.Order) { o.ProviderTradeNo = "TXT1J" }, checkout.Refund{No: "R1J", Terminal: "T1"})
	must(err)
	sale("T1K", 26, 1500, checkout.MethodWeChat) // closed, then paid late
	at(27)
	_, err = st.Advance(ctx, "T1K", checkout.StateClosed, func(o *checkout.Order) { o.Reason = "timeout" })
	must(err)
	at(40)
	_, err = st.Advance(ctx, "T1K", checkout.StatePaid, func(o *checkout.Order) { o.Late = true; o.ProviderTradeNo = "TXT1K" })
	must(err)
	_, err = st.Append(ctx, checkout.AuditEntry{Kind: checkout.AuditRefundRefused, Order: "T1A", Amount: 9999, Detail: "above what is left"})
	must(err)

	day, from, to := copyDayBounds()
	clock.Set(to.Add(time.Hour))
	_, err = st.CloseDay(ctx, from, to, day, func(rec checkout.DayRecords) (checkout.DayClose, error) {
		return checkout.NewDayClose(rec, shanghai(), day, checkout.Actor{Terminal: "T1", Operator: "manager"}), nil
	})
	must(err)
	_, err = st.CloseDay(ctx, from, to, day, func(rec checkout.DayRecords) (checkout.DayClose, error) {
		z := checkout.NewDayClose(rec.ForTerminal("T1"), shanghai(), day, checkout.Actor{Terminal: "T1", Operator: "manager"})
		z.Counter = "T1" // the counter's own close beside the shop's
		return z, nil
	})
	must(err)
	sale("T1L", 24*60+30, 700, checkout.MethodWeChat) // the next day, after the close
	pay("T1L", 24*60+31)
	return st, path
}

func copyDayBounds() (day string, from, to time.Time) {
	from, to = checkout.DayBounds(copyDay, shanghai())
	return from.Format("2006-01-02"), from, to
}

// importInto runs l.Import on st's snapshot, wrapped by wrap when it is
// not nil.
func importInto(t *testing.T, l *Ledger, st *store.Store, wrap func(ledger.Snapshot) ledger.Snapshot) (source, copied ledger.Figures, err error) {
	t.Helper()
	return importCtx(t.Context(), l, st, wrap)
}

func importCtx(ctx context.Context, l *Ledger, st *store.Store, wrap func(ledger.Snapshot) ledger.Snapshot) (source, copied ledger.Figures, err error) {
	xerr := st.Export(ctx, func(s ledger.Snapshot) error {
		if wrap != nil {
			s = wrap(s)
		}
		source, copied, err = l.Import(ctx, s)
		return nil
	})
	if xerr != nil {
		return source, copied, xerr
	}
	return source, copied, err
}

// TestImportCarriesTheWholeLedger: a counter's history copied into an
// empty shared ledger reads back the same through both ledgers, record
// for record (deep-equal, every field, the terminal included), list for
// list (by creation, open, follow-ups, open refunds), in the day's
// records and report, its Z closes (the shop's and a counter's) and its audit trail, which verifies on
// PostgreSQL with the same head; the figures read back are the source's.
// The shared ledger then carries on: the next Z close is number 3 and the
// next entry links to the copied head.
func TestImportCarriesTheWholeLedger(t *testing.T) {
	st, _ := counterHistory(t)
	db := ledgerDB(t)
	l := openLedger(t, db)
	ctx := t.Context()
	// A desk already on the database is told to read it all again.
	desk := openLedger(t, db)
	listening := make(chan uint32, 1)
	desk.onListen = func(pid uint32) { listening <- pid }
	changes := desk.Watch(ctx)
	<-listening
	source, copied, err := importInto(t, l, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := next(t, changes, "the copy's commit"); !c.Reload {
		t.Fatalf("a desk on the ledger heard %+v of the copy, want a Reload", c)
	}
	if !source.Equal(copied) || !source.Chain.OK() || source.Audit == 0 || source.Closes != 2 || source.Operators != 2 ||
		source.Orders[checkout.StatePartiallyRefunded] != (ledger.Tally{Count: 1, Amount: 5000}) ||
		source.Refunds[checkout.RefundSucceeded] != (ledger.Tally{Count: 3, Amount: 1500 + 800 + 880}) {
		t.Fatalf("figures:\nsource %+v\ncopied %+v", source, copied)
	}

	same := func(what string, get func(checkout.Ledger) (any, error)) {
		t.Helper()
		a, err := get(st)
		if err != nil {
			t.Fatalf("%s on the file: %v", what, err)
		}
		b, err := get(l)
		if err != nil {
			t.Fatalf("%s on PostgreSQL: %v", what, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s differs:\nfile       %+v\nPostgreSQL %+v", what, a, b)
		}
	}
	all, err := st.OrdersCreated(ctx, time.Unix(0, 0), copyDay.AddDate(1, 0, 0), 0)
	if err != nil || len(all) != 12 {
		t.Fatalf("the file's orders: %d %v", len(all), err)
	}
	same("OrdersCreated", func(x checkout.Ledger) (any, error) {
		return x.OrdersCreated(ctx, time.Unix(0, 0), copyDay.AddDate(1, 0, 0), 0)
	})
	for _, o := range all {
		if o.Terminal != "T1" {
			t.Errorf("order %s: terminal %q", o.No, o.Terminal)
		}
		same("order "+o.No, func(x checkout.Ledger) (any, error) { return x.Order(ctx, o.No) })
		same("refunds of "+o.No, func(x checkout.Ledger) (any, error) { return x.Refunds(ctx, o.No) })
		same("audit of "+o.No, func(x checkout.Ledger) (any, error) { return x.AuditOf(ctx, o.No) })
	}
	for _, no := range []string{"R1B", "R1C", "R1G", "R1H", "R1J"} {
		same("refund "+no, func(x checkout.Ledger) (any, error) { return x.Refund(ctx, no) })
	}
	same("OpenOrders", func(x checkout.Ledger) (any, error) { return x.OpenOrders(ctx) })
	same("FollowUps", func(x checkout.Ledger) (any, error) { return x.FollowUps(ctx) })
	same("OpenRefunds", func(x checkout.Ledger) (any, error) { return x.OpenRefunds(ctx) })
	day, from, to := copyDayBounds()
	for i, d := range []int{0, 1} {
		lo, hi := from.AddDate(0, 0, d), to.AddDate(0, 0, d)
		name := []string{day, ""}[i]
		same("DayRecords "+lo.Format("2006-01-02"), func(x checkout.Ledger) (any, error) { return x.DayRecords(ctx, lo, hi, name) })
		if rec, _ := l.DayRecords(ctx, lo, hi, name); name != "" && (rec.Close == nil || rec.CounterCloses["T1"].Seq != 2) {
			t.Errorf("the copied closes of %s: the shop's %+v, the counters' %+v", name, rec.Close, rec.CounterCloses)
		}
		same("report "+lo.Format("2006-01-02"), func(x checkout.Ledger) (any, error) {
			rec, err := x.DayRecords(ctx, lo, hi, name)
			return checkout.BuildReport(rec, shanghai(), "", ""), err
		})
	}
	same("the PIN's state", func(x checkout.Ledger) (any, error) { return x.(checkout.PINLedger).PINState(ctx) })
	ops := func(x interface {
		Operators(context.Context) ([]checkout.Operator, error)
	}) []checkout.Operator {
		got, err := x.Operators(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if a, b := ops(st), ops(l); !reflect.DeepEqual(a, b) || len(a) != 2 {
		t.Errorf("operators: file %+v, PostgreSQL %+v", a, b)
	}
	same("the whole trail", func(x checkout.Ledger) (any, error) {
		return x.(checkout.AuditLog).AuditBetween(ctx, time.Unix(0, 0), copyDay.AddDate(1, 0, 0))
	})
	fileCheck, _ := st.VerifyAudit(ctx)
	pgCheck, err := l.VerifyAudit(ctx)
	if err != nil || !pgCheck.OK() || pgCheck != fileCheck || pgCheck.Entries != uint64(source.Audit) {
		t.Fatalf("VerifyAudit: PostgreSQL %+v %v, file %+v", pgCheck, err, fileCheck)
	}
	if copied.Head != source.Head || source.Head.Seq != uint64(source.Audit) {
		t.Fatalf("heads: copied %+v, source %+v", copied.Head, source.Head)
	}

	// The shared ledger carries on from where the file stopped.
	next := copyDay.AddDate(0, 0, 1)
	nfrom, nto := checkout.DayBounds(next, shanghai())
	z, err := l.CloseDay(ctx, nfrom, nto, nfrom.Format("2006-01-02"), func(rec checkout.DayRecords) (checkout.DayClose, error) {
		return checkout.NewDayClose(rec, shanghai(), "", checkout.Actor{Terminal: "T2"}), nil
	})
	if err != nil || z.Seq != 3 || z.Figures.Sales.Amount != 700 {
		t.Fatalf("the next close on PostgreSQL: %+v %v", z, err)
	}
	if check, err := l.VerifyAudit(ctx); err != nil || !check.OK() || check.Entries != uint64(source.Audit)+1 {
		t.Fatalf("after the next close: %+v %v", check, err)
	}
}

// A ledger that holds anything is refused, named, and left as it was;
// so is one stamped with the other mode.
func TestImportRefusesALedgerInUse(t *testing.T) {
	st, _ := counterHistory(t)
	ctx := t.Context()
	for name, fill := range map[string]func(l *Ledger) error{
		"an order": func(l *Ledger) error { return l.CreateOrder(ctx, ledgertest.NewOrder("T2A", copyDay, 100)) },
		"an operator": func(l *Ledger) error {
			_, err := l.AddOperator(ctx, checkout.Operator{ID: "cy", Name: "Cy"})
			return err
		},
		"a PIN": func(l *Ledger) error {
			_, err := l.UpdatePIN(ctx, func(s *checkout.PINState) (checkout.AuditEntry, error) {
				s.Failures = 1
				return checkout.AuditEntry{}, nil
			})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			l := openLedger(t, ledgerDB(t))
			if err := fill(l); err != nil {
				t.Fatal(err)
			}
			before, err := l.figures(ctx, l.pool)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = importInto(t, l, st, nil)
			var ne *NotEmptyError
			if !errors.As(err, &ne) || !ne.Holds.Equal(before) || ne.Holds.Empty() {
				t.Fatalf("Import into a ledger holding %s: %v", name, err)
			}
			after, _ := l.figures(ctx, l.pool)
			if !after.Equal(before) || after.Mode != "" {
				t.Fatalf("changed: before %+v, after %+v", before, after)
			}
		})
	}
	t.Run("the other mode", func(t *testing.T) {
		l := openLedger(t, ledgerDB(t))
		if err := l.Bind(ctx, "live"); err != nil {
			t.Fatal(err)
		}
		_, _, err := importInto(t, l, st, nil)
		var we *ledger.WrongModeError
		if !errors.As(err, &we) || we.Held != "live" || we.Want != "sandbox" {
			t.Fatalf("Import of a sandbox ledger into a live one: %v", err)
		}
		assertEmpty(t, l, "live")
	})
	t.Run("a broken trail", func(t *testing.T) {
		l := openLedger(t, ledgerDB(t))
		_, _, err := importInto(t, l, st, func(s ledger.Snapshot) ledger.Snapshot {
			return editedSnapshot{Snapshot: s, audit: func(e checkout.AuditEntry) checkout.AuditEntry {
				if e.Seq == 5 {
					e.Amount++
				}
				return e
			}}
		})
		var be *BrokenTrailError
		if !errors.As(err, &be) || be.Check.Broken != 5 {
			t.Fatalf("Import of an edited trail: %v", err)
		}
		assertEmpty(t, l, "")
	})
}

// A copy that fails on the way (the source failing after some rows, a
// row the schema refuses, the caller giving up) or whose figures read
// back differ from the source's leaves the ledger empty: one transaction.
func TestImportFailingMidwayLeavesTheLedgerEmpty(t *testing.T) {
	st, _ := counterHistory(t)
	sourceErr := errors.New("the disk said no")
	cases := map[string]struct {
		wrap  func(ledger.Snapshot) ledger.Snapshot
		want  func(error) bool
		stopd bool // the context ends after some rows
	}{
		"the source fails after some orders": {
			wrap: func(s ledger.Snapshot) ledger.Snapshot {
				return failingSnapshot{Snapshot: s, after: 5, err: sourceErr}
			},
			want: func(err error) bool { return errors.Is(err, sourceErr) },
		},
		"a refund of no order": {
			wrap: func(s ledger.Snapshot) ledger.Snapshot {
				return editedSnapshot{Snapshot: s, refund: func(r checkout.Refund) checkout.Refund {
					if r.No == "R1H" {
						r.OrderNo = "NOSUCH"
					}
					return r
				}}
			},
			want: func(err error) bool {
				var pe *pgconn.PgError
				return errors.As(err, &pe) && pe.Code == "23503" // foreign_key_violation
			},
		},
		"an order lost on the way": {
			wrap: func(s ledger.Snapshot) ledger.Snapshot { return &droppingSnapshot{Snapshot: s} },
			want: func(err error) bool {
				var me *MismatchError
				return errors.As(err, &me) && me.Source.Orders[checkout.StatePaid].Count == me.Copied.Orders[checkout.StatePaid].Count+1
			},
		},
		"an amount changed on the way": {
			wrap: func(s ledger.Snapshot) ledger.Snapshot { return &droppingSnapshot{Snapshot: s, change: true} },
			want: func(err error) bool {
				var me *MismatchError
				return errors.As(err, &me) && me.Source.Orders[checkout.StatePaid].Amount+1 == me.Copied.Orders[checkout.StatePaid].Amount
			},
		},
		"the caller gives up": {
			stopd: true,
			want:  func(err error) bool { return errors.Is(err, context.Canceled) },
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			l := openLedger(t, ledgerDB(t))
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			wrap := c.wrap
			if c.stopd {
				wrap = func(s ledger.Snapshot) ledger.Snapshot { return failingSnapshot{Snapshot: s, after: 5, cancel: cancel} }
			}
			_, _, err := importCtx(ctx, l, st, wrap)
			if !c.want(err) {
				t.Fatalf("Import: %v", err)
			}
			assertEmpty(t, l, "")
		})
	}
}

// A desk already on the database while the copy runs waits for it: its
// sale is written after the copy commits, and the trail goes on from the
// copied head.
func TestImportHoldsOffADeskOnTheLedger(t *testing.T) {
	st, _ := counterHistory(t)
	db := ledgerDB(t)
	l, desk := openLedger(t, db), openLedger(t, db)
	ctx := t.Context()
	sold := make(chan error, 1)
	var soldDuring bool
	source, _, err := importInto(t, l, st, func(s ledger.Snapshot) ledger.Snapshot {
		return &duringCopy{Snapshot: s, fn: func() {
			go func() { sold <- desk.CreateOrder(ctx, ledgertest.NewOrder("T2A", copyDay, 100)) }()
			select {
			case <-sold:
				soldDuring = true
			case <-time.After(300 * time.Millisecond):
			}
		}}
	})
	if err != nil || soldDuring {
		t.Fatalf("Import: %v; the desk's sale went in during the copy: %v", err, soldDuring)
	}
	if err := <-sold; err != nil {
		t.Fatalf("the desk's sale after the copy: %v", err)
	}
	check, err := l.VerifyAudit(ctx)
	if err != nil || !check.OK() || check.Entries != uint64(source.Audit)+1 {
		t.Fatalf("the trail after the copy and the sale: %+v %v (copied %d)", check, err, source.Audit)
	}
}

// duringCopy runs fn once, while the copy (the second pass over the
// orders) is under way.
type duringCopy struct {
	ledger.Snapshot
	fn     func()
	passes int
}

func (s *duringCopy) Orders() iter.Seq2[checkout.Order, error] {
	s.passes++
	if s.passes == 1 {
		return s.Snapshot.Orders()
	}
	return func(yield func(checkout.Order, error) bool) {
		first := true
		for o, err := range s.Snapshot.Orders() {
			if first {
				s.fn()
				first = false
			}
			if !yield(o, err) {
				return
			}
		}
	}
}

// assertEmpty fails t unless l holds nothing and is stamped mode.
func assertEmpty(t *testing.T, l *Ledger, mode string) {
	t.Helper()
	f, err := l.figures(t.Context(), l.pool)
	if err != nil || !f.Empty() || f.Mode != mode {
		t.Fatalf("the ledger after a refused copy: %+v %v", f, err)
	}
}

// failingSnapshot's orders fail (with err, or by calling cancel) after
// the first `after`.
type failingSnapshot struct {
	ledger.Snapshot
	after  int
	err    error
	cancel func()
}

func (s failingSnapshot) Orders() iter.Seq2[checkout.Order, error] {
	return func(yield func(checkout.Order, error) bool) {
		n := 0
		for o, err := range s.Snapshot.Orders() {
			if n == s.after && s.err != nil {
				yield(o, s.err)
				return
			}
			if n == s.after && s.cancel != nil {
				s.cancel()
			}
			if !yield(o, err) {
				return
			}
			n++
		}
	}
}

// editedSnapshot hands its entries and refunds through the edits.
type editedSnapshot struct {
	ledger.Snapshot
	audit  func(checkout.AuditEntry) checkout.AuditEntry
	refund func(checkout.Refund) checkout.Refund
}

func (s editedSnapshot) Audit() iter.Seq2[checkout.AuditEntry, error] {
	return edited(s.Snapshot.Audit(), s.audit)
}

func (s editedSnapshot) Refunds() iter.Seq2[checkout.Refund, error] {
	return edited(s.Snapshot.Refunds(), s.refund)
}

func edited[T any](seq iter.Seq2[T, error], edit func(T) T) iter.Seq2[T, error] {
	if edit == nil {
		return seq
	}
	return func(yield func(T, error) bool) {
		for x, err := range seq {
			if !yield(edit(x), err) {
				return
			}
		}
	}
}

// droppingSnapshot yields every order on its first pass (the count) and,
// on the second (the copy), drops the first paid one, or adds a fen to
// its amount when change is set.
type droppingSnapshot struct {
	ledger.Snapshot
	change bool
	passes int
}

func (s *droppingSnapshot) Orders() iter.Seq2[checkout.Order, error] {
	s.passes++
	if s.passes == 1 {
		return s.Snapshot.Orders()
	}
	return func(yield func(checkout.Order, error) bool) {
		done := false
		for o, err := range s.Snapshot.Orders() {
			if !done && o.State == checkout.StatePaid {
				done = true
				if !s.change {
					continue
				}
				o.Amount++
			}
			if !yield(o, err) {
				return
			}
		}
	}
}

// A desk's change takes the chain's head after the rows it writes
// (an order, a refund, the PIN, an operator, the mode) and before the
// trail and the closes (CloseDay takes the head first). The copy locks
// the tables in that order too, so a desk mid-change on the ledger when
// the copy starts finishes first and the copy then finds the ledger in
// use, rather than the two deadlocking and the server aborting one.
func TestImportWaitsForADeskMidChange(t *testing.T) {
	st, _ := counterHistory(t)
	ctx := t.Context()
	for name, change := range map[string]func(desk *Ledger, during func()) error{
		"a Z close": func(desk *Ledger, during func()) error {
			day, from, to := copyDayBounds()
			_, err := desk.CloseDay(ctx, from, to, day, func(rec checkout.DayRecords) (checkout.DayClose, error) {
				during() // the head is locked: the copy starts now
				return checkout.NewDayClose(rec, shanghai(), day, checkout.Actor{Terminal: "T2"}), nil
			})
			return err
		},
		"a wrong PIN": func(desk *Ledger, during func()) error {
			_, err := desk.UpdatePIN(ctx, func(s *checkout.PINState) (checkout.AuditEntry, error) {
				during() // the PIN's row is locked: the copy starts now
				s.Failures++
				return checkout.AuditEntry{Kind: checkout.AuditPINFailed}, nil
			})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			db := ledgerDB(t)
			l, desk, watch := openLedger(t, db), openLedger(t, db), openLedger(t, db)
			copied := make(chan error, 1)
			started := false
			err := change(desk, func() {
				if started {
					return // a retry
				}
				started = true
				go func() {
					_, _, err := importInto(t, l, st, nil)
					copied <- err
				}()
				// Until the copy waits for a lock the desk holds.
				deadline := time.Now().Add(5 * time.Second)
				for time.Now().Before(deadline) {
					var waiting int
					if err := watch.pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE NOT granted`).Scan(&waiting); err != nil {
						t.Error(err)
						return
					}
					if waiting > 0 {
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
				t.Error("the copy never waited for the desk")
			})
			if err != nil {
				t.Fatalf("the desk's change: %v", err)
			}
			err = <-copied
			var ne *NotEmptyError
			if !errors.As(err, &ne) || ne.Holds.Audit != 1 {
				t.Fatalf("the copy after the desk's change: %v", err)
			}
		})
	}
}
