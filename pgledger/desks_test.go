package pgledger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"till/checkout"
	"till/providers/fake"
)

// shop is three desks (T1, T2, T3), each an engine on its own Ledger (its
// own pools, as three processes have) of one database, over shared fake
// providers.
type shop struct {
	db      string
	ledgers []*Ledger
	desks   []*checkout.Engine
	wx      *fake.Provider
	clock   *fake.Clock
}

func newShop(t *testing.T) *shop {
	t.Helper()
	s := &shop{db: ledgerDB(t), wx: fake.New(checkout.MethodWeChat), clock: fake.NewClock(time.Now())}
	s.wx.Clock = s.clock
	loc, _ := time.LoadLocation("Asia/Shanghai")
	for i := 1; i <= 3; i++ {
		l := openLedger(t, s.db)
		if err := l.Bind(t.Context(), "sandbox"); err != nil {
			t.Fatal(err)
		}
		s.ledgers = append(s.ledgers, l)
		s.desks = append(s.desks, checkout.NewEngine(l, []checkout.Provider{s.wx}, checkout.Config{
			PollInterval: 3 * time.Second, Timeout: 3 * time.Minute, Terminal: fmt.Sprintf("T%d", i), Location: loc,
			HeartbeatTimeout: time.Minute,
		}, s.clock, nil))
	}
	return s
}

// sell rings up and pays one sale at desk d.
func (s *shop) sell(ctx context.Context, d *checkout.Engine, amount checkout.Money) (checkout.Order, error) {
	o, err := d.Start(ctx, checkout.MethodWeChat, amount, "")
	if err != nil {
		return o, err
	}
	if err := s.wx.Pay(o.No); err != nil {
		return o, err
	}
	return d.Poll(ctx, o.No)
}

// Three desks selling at once on one PostgreSQL ledger: every sale is
// recorded once, paid, under a number of its own, and the shop's report
// adds them all up.
func TestThreeDesksSellAtOnce(t *testing.T) {
	s := newShop(t)
	ctx := t.Context()
	const each = 15
	var wg sync.WaitGroup
	errs := make(chan error, 3*each)
	nos := make(chan string, 3*each)
	for _, d := range s.desks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				o, err := s.sell(ctx, d, 100)
				if err == nil && o.State != checkout.StatePaid {
					err = fmt.Errorf("order %s is %s", o.No, o.State)
				}
				if err != nil {
					errs <- err
					return
				}
				nos <- o.No
			}
		}()
	}
	wg.Wait()
	close(errs)
	close(nos)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for no := range nos {
		seen[no] = true
	}
	if len(seen) != 3*each {
		t.Fatalf("%d distinct orders, want %d", len(seen), 3*each)
	}
	rep, err := s.desks[1].Report(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sales.Count != 3*each || rep.Sales.Amount != 3*each*100 {
		t.Fatalf("the shop's report: %+v", rep.Sales)
	}
}

// Two desks refunding the same sale at the same moment, many times over:
// the refunds never add up to more than was paid.
func TestTwoDesksRefundOneSale(t *testing.T) {
	s := newShop(t)
	ctx := t.Context()
	o, err := s.sell(ctx, s.desks[0], 1000)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var accepted checkout.Money
	for _, d := range s.desks[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 8 {
				r, _, err := d.Refund(ctx, o.No, 300, "race")
				if err == nil {
					mu.Lock()
					accepted += r.Amount
					mu.Unlock()
				} else if re := (*checkout.RefundError)(nil); !errors.Is(err, checkout.ErrRefundAboveBalance) && !errors.As(err, &re) {
					t.Errorf("refund: %v", err) // only "more than is left" may refuse one
				}
			}
		}()
	}
	wg.Wait()
	rs, err := s.ledgers[0].Refunds(ctx, o.No)
	if err != nil {
		t.Fatal(err)
	}
	var held checkout.Money
	for _, r := range rs {
		if r.State != checkout.RefundFailed {
			held += r.Amount
		}
	}
	if held > 1000 || accepted > 1000 || held != 900 {
		t.Fatalf("refunds of a 10.00 sale: %s held, %s accepted (%d records)", held, accepted, len(rs))
	}
}

// A desk (T1) is killed mid-sale: the other desks leave its sale alone
// while its heartbeat is fresh, and settle it once the heartbeat is older
// than the timeout; the settlement is announced to the desks watching.
func TestKilledDesksSaleIsSettledAfterItsHeartbeat(t *testing.T) {
	s := newShop(t)
	ctx := t.Context()
	dead := s.ledgers[0]
	reg := mustRegister(t, dead, "T1", "counter-1", livePID(t))
	o, err := s.desks[0].Start(ctx, checkout.MethodWeChat, 700, "")
	if err != nil {
		t.Fatal(err)
	}
	_ = reg // T1 is "killed": it makes no more calls; its row stays, beating no more below
	watchCtx, stop := context.WithCancel(ctx)
	defer stop()
	changes := s.ledgers[2].Watch(watchCtx)
	s.clock.Advance(5 * time.Minute) // past the sale's timeout

	s.desks[1].RecoverNow(ctx)
	if got, _ := s.ledgers[1].Order(ctx, o.No); !got.State.Open() {
		t.Fatalf("T2 settled T1's sale while T1's heartbeat is fresh: %s", got.State)
	}
	// T1 beats no more: its heartbeat ages past the timeout.
	reg.Close()
	exec(t, s.db, "UPDATE terminals SET gone_at = NULL, heartbeat_at = now() - interval '2 minutes' WHERE terminal = 'T1'")
	s.desks[1].RecoverNow(ctx)
	got, _ := s.ledgers[1].Order(ctx, o.No)
	if got.State != checkout.StateClosed {
		t.Fatalf("T1's sale after its heartbeat stopped: %s", got.State)
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case c := <-changes:
			if c.Order == o.No {
				return // T3 heard of the settlement
			}
		case <-deadline:
			t.Fatal("T3 was not told of the settlement")
		}
	}
}

// A sale of T3's settled by T1 (as till serve settles one from a
// notification) is announced to both other desks, and each reads it paid
// through its own ledger; T2's listening connection is then dropped: T2
// connects again, is told to reload, and hears the next settlement, as
// T3 does without a reload.
func TestASettlementReachesTheOtherDesksAcrossADrop(t *testing.T) {
	s := newShop(t)
	ctx := t.Context()
	listens := make(chan uint32, 4)
	s.ledgers[1].onListen = func(pid uint32) { listens <- pid }
	t2, t3 := s.ledgers[1].Watch(ctx), s.ledgers[2].Watch(ctx)
	first := <-listens
	settle := func(amount checkout.Money) checkout.Order {
		o, err := s.desks[2].Start(ctx, checkout.MethodWeChat, amount, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.wx.Pay(o.No); err != nil {
			t.Fatal(err)
		}
		if o, err = s.desks[0].Poll(ctx, o.No); err != nil || o.State != checkout.StatePaid {
			t.Fatalf("T1 settling T3's sale: %+v %v", o, err)
		}
		return o
	}
	// heard waits for desk's announcement of o's payment, skipping the
	// sale's earlier steps, and reads o as that desk would.
	heard := func(desk int, ch <-chan checkout.LedgerChange, o checkout.Order, reload bool) {
		t.Helper()
		sawReload := false
		for {
			c := next(t, ch, fmt.Sprintf("T%d waiting for %s", desk+1, o.No))
			sawReload = sawReload || c.Reload
			if c.Order != o.No {
				continue
			}
			got, err := s.desks[desk].Order(ctx, o.No)
			if err != nil {
				t.Fatal(err)
			}
			if got.State == checkout.StatePaid {
				if sawReload != reload {
					t.Fatalf("T%d: reload %v before %s, want %v", desk+1, sawReload, o.No, reload)
				}
				return
			}
		}
	}
	o := settle(1230)
	heard(1, t2, o, false)
	heard(2, t3, o, false)

	exec(t, s.db, `SELECT pg_terminate_backend($1)`, first)
	if again := <-listens; again == first {
		t.Fatalf("T2 listens on the ended connection %d again", first)
	}
	o = settle(450)
	heard(1, t2, o, true)
	heard(2, t3, o, false)
}
