package checkout_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "time/tzdata"

	"till/checkout"
	"till/providers/fake"
	"till/store"
)

var start = time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC) // 14:00 in Shanghai

type rig struct {
	eng    *checkout.Engine
	ledger *store.Store
	faulty *fake.Ledger // the engine's view of ledger, failing what a test asks
	wx     *fake.Provider
	ali    *fake.Provider
	clock  *fake.Clock
}

func newRig(t *testing.T) *rig {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "till.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{ledger: st, faulty: fake.NewLedger(st), wx: fake.New(checkout.MethodWeChat), ali: fake.New(checkout.MethodAlipay), clock: fake.NewClock(start)}
	r.ali.ScanFirst = true // Alipay: no trade until the customer scans
	r.wx.Clock, r.ali.Clock = r.clock, r.clock
	r.eng = checkout.NewEngine(r.faulty, []checkout.Provider{r.wx, r.ali}, checkout.Config{
		PollInterval: 3 * time.Second, Timeout: 3 * time.Minute, Terminal: "T1", Location: shanghai,
	}, r.clock, nil)
	return r
}

// restart is a new engine on the same ledger and providers, as after the
// desk was stopped and started again.
func (r *rig) restart() *checkout.Engine {
	return checkout.NewEngine(r.faulty, []checkout.Provider{r.wx, r.ali}, r.eng.Config(), r.clock, nil)
}

func (r *rig) start(t *testing.T, m checkout.Method, amount checkout.Money) checkout.Order {
	t.Helper()
	o, err := r.eng.Start(context.Background(), m, amount, "")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if o.State != checkout.StateAwaiting || o.CodeURL == "" {
		t.Fatalf("after Start: state %s code %q, want awaiting with a code", o.State, o.CodeURL)
	}
	return o
}

func (r *rig) stored(t *testing.T, no string) checkout.Order {
	t.Helper()
	o, err := r.ledger.Order(context.Background(), no)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestPaidAfterPolls(t *testing.T) {
	r := newRig(t)
	r.wx.PayAfterPolls = 3
	o := r.start(t, checkout.MethodWeChat, 1230)
	if want := start.Add(3 * time.Minute); !o.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt %v, want %v", o.ExpiresAt, want)
	}
	for i := 1; i <= 3; i++ {
		r.clock.Advance(3 * time.Second)
		got, err := r.eng.Poll(context.Background(), o.No)
		if err != nil {
			t.Fatal(err)
		}
		want := checkout.StateAwaiting
		if i == 3 {
			want = checkout.StatePaid
		}
		if got.State != want {
			t.Fatalf("poll %d: %s, want %s", i, got.State, want)
		}
	}
	got := r.stored(t, o.No)
	if !got.PaidAt.Equal(start.Add(9*time.Second)) || got.ProviderTradeNo == "" {
		t.Errorf("paid order: PaidAt %v trade %q", got.PaidAt, got.ProviderTradeNo)
	}
}

func TestTimeoutQueriesThenCloses(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodWeChat, 500)
	r.clock.Advance(3 * time.Minute)
	got, err := r.eng.Finish(context.Background(), o.No, "timed out")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != checkout.StateClosed || got.Reason != "timed out" {
		t.Fatalf("state %s reason %q, want closed / timed out", got.State, got.Reason)
	}
	want := []string{"create " + o.No, "query " + o.No, "close " + o.No}
	if calls := r.wx.Calls(); !slices.Equal(calls, want) {
		t.Errorf("calls %v, want %v", calls, want)
	}
}

func TestFinalQueryFindsPaid(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodWeChat, 500)
	if err := r.wx.Pay(o.No); err != nil {
		t.Fatal(err)
	}
	got, err := r.eng.Finish(context.Background(), o.No, "cancelled by clerk")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != checkout.StatePaid {
		t.Fatalf("state %s, want paid", got.State)
	}
	if tr, _ := r.wx.Trade(o.No); tr.Closes != 0 {
		t.Errorf("closed a paid trade %d times", tr.Closes)
	}
}

func TestPaidAtLastSecondWeChatCloseSaysPaid(t *testing.T) {
	r := newRig(t)
	r.wx.PayOnClose = true
	o := r.start(t, checkout.MethodWeChat, 500)
	got, err := r.eng.Finish(context.Background(), o.No, "timed out")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != checkout.StatePaid {
		t.Fatalf("state %s, want paid", got.State)
	}
}

// TestPaidAtLastSecondAlipayCloseSaysPaid: the customer pays between the
// final query and the close. trade.close refuses a paid trade; the engine
// confirms by query and the sale stands, with nothing refunded.
func TestPaidAtLastSecondAlipayCloseSaysPaid(t *testing.T) {
	r := newRig(t)
	r.ali.PayOnClose = true
	o := r.start(t, checkout.MethodAlipay, 880)
	got, err := r.eng.Finish(context.Background(), o.No, "timed out")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != checkout.StatePaid || got.Refunded != 0 || got.PaidAt.IsZero() {
		t.Fatalf("order %s refunded %d paid %v, want paid, nothing refunded", got.State, got.Refunded, got.PaidAt)
	}
	if refunds, _ := r.ledger.Refunds(context.Background(), o.No); len(refunds) != 0 {
		t.Fatalf("refunds %+v, want none", refunds)
	}
	if tr, _ := r.ali.Trade(o.No); tr.Refunded != 0 || tr.State != checkout.TradePaid {
		t.Fatalf("provider: %+v, want paid and kept", tr)
	}
}

// TestCloseAnswerRefundedIsRecordedAsSaleAndRefund: a provider whose close
// refunds a payment made at the last second (Alipay's cancel; till sends
// none for a QR sale, but the answer is handled wherever it is met): the
// ledger shows the sale and its refund, in one transaction.
func TestCloseAnswerRefundedIsRecordedAsSaleAndRefund(t *testing.T) {
	r := newRig(t)
	r.wx.PayOnClose, r.wx.RefundOnClose = true, true
	o := r.start(t, checkout.MethodWeChat, 880)
	got, err := r.eng.Finish(context.Background(), o.No, "timed out")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != checkout.StateRefunded || got.Refunded != 880 || got.PaidAt.IsZero() {
		t.Fatalf("order %s refunded %d paid %v, want refunded 880", got.State, got.Refunded, got.PaidAt)
	}
	refunds, err := r.ledger.Refunds(context.Background(), o.No)
	if err != nil {
		t.Fatal(err)
	}
	if len(refunds) != 1 || refunds[0].State != checkout.RefundSucceeded || refunds[0].Amount != 880 {
		t.Fatalf("refunds %+v, want one succeeded refund of 880", refunds)
	}
}

func TestCreateOutcomeUnknownRetriesSameNumber(t *testing.T) {
	r := newRig(t)
	lost := true
	r.wx.OnCreate = func(ctx context.Context, req checkout.CreateRequest) error {
		if lost {
			lost = false
			r.wx.CreateAnyway(req) // the provider made it; the answer was lost
			return fake.ErrTimeout
		}
		return nil
	}
	o, err := r.eng.Start(context.Background(), checkout.MethodWeChat, 1230, "")
	if !checkout.IsUnknown(err) {
		t.Fatalf("err %v, want an unknown outcome", err)
	}
	if o.State != checkout.StateCreated {
		t.Fatalf("state %s, want created", o.State)
	}
	got, err := r.eng.Retry(context.Background(), o.No)
	if err != nil {
		t.Fatal(err)
	}
	if got.No != o.No || got.State != checkout.StateAwaiting || got.CodeURL == "" {
		t.Fatalf("after retry: %s %s %q", got.No, got.State, got.CodeURL)
	}
	tr, _ := r.wx.Trade(o.No)
	if tr.Creates != 2 {
		t.Errorf("creates on %s = %d, want 2 (same number)", o.No, tr.Creates)
	}
	all, _ := r.ledger.OrdersCreated(context.Background(), start.Add(-time.Hour), start.Add(time.Hour), 0)
	if len(all) != 1 {
		t.Errorf("%d orders recorded, want 1", len(all))
	}
}

func TestCreateUnknownThenAbandonedIsSettledByQuery(t *testing.T) {
	r := newRig(t)
	r.wx.OnCreate = func(context.Context, checkout.CreateRequest) error { return fake.ErrTimeout }
	o, err := r.eng.Start(context.Background(), checkout.MethodWeChat, 1230, "")
	if !checkout.IsUnknown(err) {
		t.Fatalf("err %v, want unknown", err)
	}
	got, err := r.eng.Finish(context.Background(), o.No, "cancelled by clerk")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != checkout.StateClosed {
		t.Fatalf("state %s, want closed", got.State)
	}
	if calls := r.wx.Calls(); !slices.Contains(calls, "query "+o.No) {
		t.Errorf("no query before settling: %v", calls)
	}
}

func TestCreateRefusedIsFailed(t *testing.T) {
	r := newRig(t)
	r.wx.OnCreate = func(context.Context, checkout.CreateRequest) error {
		return &checkout.ProviderError{Op: "create", Kind: checkout.KindRefused, Code: "PARAM_ERROR", Message: "bad parameter"}
	}
	o, err := r.eng.Start(context.Background(), checkout.MethodWeChat, 1230, "")
	if checkout.KindOf(err) != checkout.KindRefused {
		t.Fatalf("err %v, want refused", err)
	}
	if got := r.stored(t, o.No); got.State != checkout.StateFailed {
		t.Fatalf("state %s, want failed", got.State)
	}
}

func TestSlowQueryLeavesOrderAwaiting(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodWeChat, 1230)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The provider never answers; the call's deadline ends it (here the
	// cancel stands in for the deadline, so the test does not wait).
	r.wx.OnQuery = func(ctx context.Context, _ string) error { cancel(); return fake.Hang(ctx) }
	got, err := r.eng.Poll(ctx, o.No)
	if !errors.Is(err, context.Canceled) || checkout.IsDefinite(err) {
		t.Fatalf("err %v, want the context's error as an unknown outcome", err)
	}
	if got.State != checkout.StateAwaiting {
		t.Fatalf("state %s, want awaiting", got.State)
	}
}

func TestCloseUnknownKeepsOrderOpenUntilRecovery(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodWeChat, 1230)
	r.wx.OnClose = func(context.Context, string) error { return fake.ErrTimeout }
	got, err := r.eng.Finish(context.Background(), o.No, "timed out")
	if err == nil || got.State != checkout.StateAwaiting {
		t.Fatalf("state %s err %v, want awaiting with an error", got.State, err)
	}
	r.wx.OnClose = nil
	pass := r.restart().Recover(context.Background())
	if len(pass.Errors) != 0 || len(pass.Settled) != 1 || pass.Settled[0].State != checkout.StateClosed {
		t.Fatalf("recover: %+v", pass)
	}
}

func TestRecoverSettlesEveryOpenOrder(t *testing.T) {
	r := newRig(t)
	paid := r.start(t, checkout.MethodWeChat, 100)
	unpaid := r.start(t, checkout.MethodAlipay, 200)
	r.wx.OnCreate = func(context.Context, checkout.CreateRequest) error { return fake.ErrTimeout }
	created, _ := r.eng.Start(context.Background(), checkout.MethodWeChat, 300, "")
	r.wx.OnCreate = nil
	if err := r.wx.Pay(paid.No); err != nil {
		t.Fatal(err)
	}
	// The desk stopped; a new one starts on the same ledger and, while
	// recovery runs, the clerk begins a sale that recovery must not touch.
	next := r.restart()
	fresh, _ := next.Start(context.Background(), checkout.MethodWeChat, 400, "")
	pass := next.Recover(context.Background())
	if len(pass.Errors) != 0 || len(pass.Settled) != 3 {
		t.Fatalf("recover settled %d, errors %v", len(pass.Settled), pass.Errors)
	}
	for no, want := range map[string]checkout.State{paid.No: checkout.StatePaid, unpaid.No: checkout.StateClosed, created.No: checkout.StateClosed} {
		if got := r.stored(t, no).State; got != want {
			t.Errorf("%s: %s, want %s", no, got, want)
		}
	}
	if open, _ := r.ledger.OpenOrders(context.Background()); len(open) != 1 || open[0].No != fresh.No {
		t.Errorf("open after recovery: %v, want only the new sale %s", open, fresh.No)
	}
}

func TestRefusedInputWritesNothing(t *testing.T) {
	r := newRig(t)
	for _, amount := range []checkout.Money{0, -1, checkout.DefaultCeiling + 1} {
		if _, err := r.eng.Start(context.Background(), checkout.MethodWeChat, amount, ""); !errors.Is(err, checkout.ErrAmount) {
			t.Errorf("Start(%d): %v, want ErrAmount", amount, err)
		}
	}
	if _, err := r.eng.Start(context.Background(), checkout.Method("cash"), 100, ""); !errors.Is(err, checkout.ErrNoProvider) {
		t.Errorf("unknown method: %v", err)
	}
	all, _ := r.ledger.OrdersCreated(context.Background(), start.Add(-time.Hour), start.Add(time.Hour), 0)
	if len(all) != 0 || len(r.wx.Calls()) != 0 {
		t.Fatalf("%d orders written, %d provider calls for refused input", len(all), len(r.wx.Calls()))
	}
}

// TestAmountMismatchIsDisputed: the provider says paid, for another
// amount. The order becomes disputed with both amounts kept, is not a
// sale, and is never polled again.
func TestAmountMismatchIsDisputed(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodWeChat, 1230)
	if err := r.wx.Pay(o.No); err != nil {
		t.Fatal(err)
	}
	r.wx.Rewrite = func(st *checkout.TradeStatus) { st.Amount = 1 }
	got, err := r.eng.Poll(context.Background(), o.No)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != checkout.StateDisputed || got.Amount != 1230 || got.ProviderAmount != 1 || got.ProviderTradeNo == "" {
		t.Fatalf("after the poll: %+v, want disputed, 12.30 ours, 0.01 theirs", got)
	}
	if got.State.Open() || got.State.WasPaid() {
		t.Fatal("a disputed order counts as open or as a sale")
	}
	if !strings.Contains(got.Reason, "¥0.01") || !strings.Contains(got.Reason, "¥12.30") {
		t.Errorf("reason %q does not name both amounts", got.Reason)
	}
	queries := len(r.wx.Calls())
	pass := r.restart().Recover(context.Background())
	if len(pass.Settled) != 0 || len(pass.Errors) != 0 || len(r.wx.Calls()) != queries {
		t.Fatalf("recovery touched a disputed order: %+v, calls %v", pass, r.wx.Calls()[queries:])
	}
	if got, _ := r.eng.Poll(context.Background(), o.No); got.State != checkout.StateDisputed || len(r.wx.Calls()) != queries {
		t.Fatalf("a disputed order was polled again: %s", got.State)
	}
}

// TestPaidWithoutAmountIsNotBelieved: a paid answer that gives no amount
// cannot be checked; the order stays open and is asked again.
func TestPaidWithoutAmountIsNotBelieved(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodWeChat, 1230)
	r.wx.Pay(o.No)
	r.wx.Rewrite = func(st *checkout.TradeStatus) { st.Amount = 0 }
	if got, err := r.eng.Poll(context.Background(), o.No); !checkout.IsUnknown(err) || got.State != checkout.StateAwaiting {
		t.Fatalf("state %s err %v, want awaiting and an unknown outcome", got.State, err)
	}
	r.wx.Rewrite = nil
	if got, err := r.eng.Poll(context.Background(), o.No); err != nil || got.State != checkout.StatePaid {
		t.Fatalf("state %s err %v, want paid", got.State, err)
	}
}

func TestLateEventsDoNotMoveBack(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodWeChat, 1230)
	if _, err := r.eng.Finish(context.Background(), o.No, "timed out"); err != nil {
		t.Fatal(err)
	}
	// A late poll after the close changes nothing.
	got, err := r.eng.Poll(context.Background(), o.No)
	if err != nil || got.State != checkout.StateClosed {
		t.Fatalf("late poll: %s %v", got.State, err)
	}
	p := r.start(t, checkout.MethodWeChat, 100)
	if err := r.wx.Pay(p.No); err != nil {
		t.Fatal(err)
	}
	if got, err := r.eng.Poll(context.Background(), p.No); err != nil || got.State != checkout.StatePaid {
		t.Fatalf("poll: %s %v", got.State, err)
	}
	// The provider now reports something older (a stale replica, a
	// duplicate answer): the paid sale does not move.
	r.wx.Rewrite = func(st *checkout.TradeStatus) { st.State = checkout.TradeNotPaid }
	// A late cancel of a paid sale is a no-op.
	got, err = r.eng.Finish(context.Background(), p.No, "cancelled by clerk")
	if err != nil || got.State != checkout.StatePaid {
		t.Fatalf("late cancel: %s %v", got.State, err)
	}
}

func TestTodayUsesShopCalendar(t *testing.T) {
	// The machine's zone is not the shop's: a bug that used it would show.
	local := time.Local
	time.Local = time.FixedZone("UTC-5", -5*3600)
	t.Cleanup(func() { time.Local = local })
	r := newRig(t)
	// 23:30 on the 22nd in Shanghai is 15:30 UTC on the 22nd.
	r.clock.Set(time.Date(2026, 11, 22, 15, 30, 0, 0, time.UTC))
	yesterday := r.start(t, checkout.MethodWeChat, 100)
	// 00:30 on the 23rd in Shanghai is still the 22nd in UTC.
	r.clock.Set(time.Date(2026, 11, 22, 16, 30, 0, 0, time.UTC))
	today := r.start(t, checkout.MethodWeChat, 200)
	got, err := r.eng.Today(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].No != today.No {
		t.Fatalf("today = %v, want only %s (not %s)", got, today.No, yesterday.No)
	}
}

func TestQueryFindsRefundedRecordsSaleAndRefund(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodAlipay, 990)
	// A cancel refunded a last-moment payment but its answer was lost;
	// the next query says: paid, then refunded in full.
	r.ali.Rewrite = func(st *checkout.TradeStatus) { st.State, st.Raw = checkout.TradeRefunded, "TRADE_CLOSED" }
	got, err := r.eng.Finish(context.Background(), o.No, "settled at start-up")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != checkout.StateRefunded || got.Refunded != 990 || got.PaidAt.IsZero() {
		t.Fatalf("order %s refunded %d, want refunded 990", got.State, got.Refunded)
	}
	refunds, _ := r.ledger.Refunds(context.Background(), o.No)
	if len(refunds) != 1 || refunds[0].Amount != 990 || refunds[0].State != checkout.RefundSucceeded {
		t.Fatalf("refunds %+v", refunds)
	}
	if calls := r.ali.Calls(); slices.Contains(calls, "close "+o.No) {
		t.Errorf("closed a trade the query already showed refunded: %v", calls)
	}
}

// BenchmarkSale is one whole sale on the real ledger: the order written,
// created at a (fake, instant) provider, polled once and found paid, i.e.
// three fsynced bbolt transactions. It bounds how fast a counter can go
// whatever the provider.
func BenchmarkSale(b *testing.B) {
	st, err := store.Open(filepath.Join(b.TempDir(), "till.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	p := fake.New(checkout.MethodWeChat)
	p.PayAfterPolls = 1
	eng := checkout.NewEngine(st, []checkout.Provider{p}, checkout.Config{}, nil, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		o, err := eng.Start(ctx, checkout.MethodWeChat, 1230, "")
		if err != nil {
			b.Fatal(err)
		}
		if o, err = eng.Poll(ctx, o.No); err != nil || o.State != checkout.StatePaid {
			b.Fatal(o.State, err)
		}
	}
}

// TestPollDuringCancelStillRecordsTheRefund: the customer pays while the
// timeout's cancel is on its way and a poll runs at the same moment. The
// cancel refunds the payment; whatever the poll saw, the ledger ends with
// the sale and its refund.
func TestPollDuringCancelStillRecordsTheRefund(t *testing.T) {
	r := newRig(t)
	r.wx.RefundOnClose = true // a close that refunds, as Alipay's cancel does
	o := r.start(t, checkout.MethodWeChat, 880)
	polled := make(chan checkout.Order, 1)
	r.wx.OnClose = func(context.Context, string) error {
		r.wx.OnClose = nil
		if err := r.wx.Pay(o.No); err != nil {
			t.Error(err)
		}
		go func() {
			got, _ := r.eng.Poll(context.Background(), o.No)
			polled <- got
		}()
		return nil
	}
	got, err := r.eng.Finish(context.Background(), o.No, "timed out")
	if err != nil {
		t.Fatal(err)
	}
	if p := <-polled; p.State != checkout.StateRefunded && p.State != checkout.StatePaid {
		t.Errorf("poll saw %s", p.State)
	}
	final := r.stored(t, o.No)
	if got.State != checkout.StateRefunded || final.State != checkout.StateRefunded || final.Refunded != 880 {
		t.Fatalf("finish %s, stored %s refunded %d; want refunded 880", got.State, final.State, final.Refunded)
	}
}

// TestASaleCommitsTwice: a sale paid at its first poll writes the ledger
// twice, when it is written (before the provider is called) and when it
// is paid, and the second commit carries the code and when it was shown;
// its trail says created -> paid. Meanwhile the engine shows it awaiting.
func TestASaleCommitsTwice(t *testing.T) {
	r := newRig(t)
	var writes []string
	var mu sync.Mutex
	r.faulty.Fail(func(op fake.Op) error {
		switch op.Name {
		case "create", "advance", "update", "paid and refunded", "audit", "create refund", "settle refund", "update refund", "close day":
			mu.Lock()
			writes = append(writes, op.Name)
			mu.Unlock()
		}
		return nil
	})
	o := r.start(t, checkout.MethodWeChat, 1230)
	if got, _ := r.eng.Order(context.Background(), o.No); got.State != checkout.StateAwaiting || got.CodeURL == "" {
		t.Fatalf("the engine's view of the sale on screen: %+v", got)
	}
	if err := r.wx.Pay(o.No); err != nil {
		t.Fatal(err)
	}
	got, err := r.eng.Poll(context.Background(), o.No)
	if err != nil || got.State != checkout.StatePaid {
		t.Fatalf("poll: %+v %v", got, err)
	}
	if len(writes) != 2 || writes[0] != "create" || writes[1] != "advance" {
		t.Fatalf("the sale's writes: %v, want create then advance", writes)
	}
	stored := r.stored(t, o.No)
	if stored.CodeURL != o.CodeURL || stored.AcceptedAt.IsZero() {
		t.Fatalf("the paid commit did not carry the code: %+v", stored)
	}
	es, _ := r.ledger.AuditOf(context.Background(), o.No)
	var moves []string
	for _, e := range es {
		if e.Kind == checkout.AuditSaleState {
			moves = append(moves, e.From+"->"+e.To)
		}
	}
	if len(moves) != 1 || moves[0] != "created->paid" {
		t.Fatalf("the trail's moves: %v", moves)
	}
}
