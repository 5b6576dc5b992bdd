package checkout_test

// Faults on the sale path (issue 7): a failed query never leads to a
// close, a ledger error never loses a sale's number, order numbers do not
// collide across desks, and a code closed before the scan is checked
// again after it expires.

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"till/checkout"
	"till/providers/fake"
)

// TestFinalQueryFailureNeverCloses: the customer pays, then the final
// query fails (a timeout), at the timeout, on the clerk's Esc and in
// start-up recovery. Nothing is closed or cancelled while the state is
// unknown; the order stays open, and once the provider answers it is
// recorded paid, never refunded.
func TestFinalQueryFailureNeverCloses(t *testing.T) {
	for _, m := range []checkout.Method{checkout.MethodWeChat, checkout.MethodAlipay} {
		for _, when := range []string{"timeout", "esc", "recovery"} {
			t.Run(string(m)+"/"+when, func(t *testing.T) {
				r := newRig(t)
				p := r.wx
				if m == checkout.MethodAlipay {
					p = r.ali
				}
				o := r.start(t, m, 1230)
				if err := p.Pay(o.No); err != nil {
					t.Fatal(err)
				}
				p.OnQuery = func(context.Context, string) error { return fake.ErrTimeout }
				eng := r.eng
				settle := func() (checkout.Order, error) {
					switch when {
					case "timeout":
						r.clock.Advance(3 * time.Minute)
						return eng.Finish(context.Background(), o.No, "timed out")
					case "esc":
						return eng.Finish(context.Background(), o.No, "cancelled by clerk")
					}
					pass := eng.Recover(context.Background())
					if len(pass.Errors) == 0 {
						return r.stored(t, o.No), nil
					}
					return r.stored(t, o.No), pass.Errors[0]
				}
				if when == "recovery" {
					eng = r.restart() // the desk was killed; a new one starts
				}
				got, err := settle()
				if err == nil || !checkout.IsUnknown(err) {
					t.Fatalf("err %v, want an unknown outcome", err)
				}
				// Still open: awaiting as this engine knows it, created in
				// the ledger (the code rides in the commit that settles it).
				if got.No != o.No || !got.State.Open() || !r.stored(t, o.No).State.Open() {
					t.Fatalf("order %q %s, want %s still open", got.No, got.State, o.No)
				}
				if n := p.Count("close"); n != 0 {
					t.Fatalf("%d close calls while the state was unknown: %v", n, p.Calls())
				}
				p.OnQuery = nil
				if when == "recovery" {
					// The failed order is asked again at its backoff's time.
					r.clock.Advance(checkout.SettleEvery)
					if pass := eng.Recover(context.Background()); len(pass.Errors) != 0 || len(pass.Settled) != 1 {
						t.Fatalf("second pass: %+v", pass)
					}
				} else if _, err := eng.Finish(context.Background(), o.No, "cancelled by clerk"); err != nil {
					t.Fatal(err)
				}
				final := r.stored(t, o.No)
				if final.State != checkout.StatePaid || final.Refunded != 0 {
					t.Fatalf("final %s refunded %d, want paid and kept", final.State, final.Refunded)
				}
				if tr, _ := p.Trade(o.No); tr.State != checkout.TradePaid || tr.Refunded != 0 || p.Count("close") != 0 {
					t.Fatalf("provider: %+v after calls %v", tr, p.Calls())
				}
			})
		}
	}
}

// TestCloseSaysPaidIsConfirmedByQuery: a close answering "already paid"
// whose confirming query fails leaves the order open, never closed.
func TestCloseSaysPaidIsConfirmedByQuery(t *testing.T) {
	r := newRig(t)
	r.wx.PayOnClose = true
	o := r.start(t, checkout.MethodWeChat, 500)
	queries := 0
	r.wx.OnQuery = func(context.Context, string) error {
		if queries++; queries > 1 {
			return fake.ErrTimeout
		}
		return nil
	}
	got, err := r.eng.Finish(context.Background(), o.No, "timed out")
	if !checkout.IsUnknown(err) || got.State != checkout.StateAwaiting {
		t.Fatalf("state %s err %v, want awaiting and unknown", got.State, err)
	}
	r.wx.OnQuery = nil
	if got, err = r.eng.Finish(context.Background(), o.No, "timed out"); err != nil || got.State != checkout.StatePaid {
		t.Fatalf("state %s err %v, want paid", got.State, err)
	}
}

// TestNotScannedCloseIsRecheckedAndLatePaymentCaught: the clerk cancels an
// Alipay sale before the customer scans. Alipay has no trade, so the close
// locks nothing; the customer scans and pays before the code's own expiry.
// The late check after that expiry finds the payment: closed -> paid,
// marked late, on the provider's paid time, and listed until a clerk
// acknowledges it.
func TestNotScannedCloseIsRecheckedAndLatePaymentCaught(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodAlipay, 500)
	r.clock.Advance(30 * time.Second)
	got, err := r.eng.Finish(context.Background(), o.No, "cancelled by clerk")
	if err != nil || got.State != checkout.StateClosed {
		t.Fatalf("cancel: %s %v", got.State, err)
	}
	// Accepted at the start; the code lives 3 whole minutes from then;
	// the margin is 2 minutes.
	if want := start.Add(5 * time.Minute); !got.RecheckAt.Equal(want) {
		t.Fatalf("RecheckAt %v, want %v", got.RecheckAt, want)
	}
	if want := []string{"create " + o.No, "query " + o.No, "close " + o.No}; !slices.Equal(r.ali.Calls(), want) {
		t.Fatalf("calls %v, want %v (a trade.close, no cancel)", r.ali.Calls(), want)
	}

	r.clock.Advance(30 * time.Second)
	paidAt := r.clock.Now()
	if err := r.ali.Pay(o.No); err != nil { // scanned and paid after the close
		t.Fatal(err)
	}
	pass := r.eng.Recover(context.Background())
	if len(pass.Late) != 0 || !pass.NextCheck.Equal(got.RecheckAt) || r.stored(t, o.No).State != checkout.StateClosed {
		t.Fatalf("pass before the check is due: %+v", pass)
	}
	calls := len(r.ali.Calls())
	r.clock.Set(got.RecheckAt)
	pass = r.eng.Recover(context.Background())
	if len(pass.Errors) != 0 || len(pass.Late) != 1 || pass.Late[0].No != o.No {
		t.Fatalf("pass at the check: %+v", pass)
	}
	late := r.stored(t, o.No)
	if late.State != checkout.StatePaid || !late.Late || !late.RecheckAt.IsZero() || !late.LateSeenAt.IsZero() || late.PaidAt.IsZero() {
		t.Fatalf("after the late check: %+v", late)
	}
	if !late.PaidAt.Equal(paidAt) {
		t.Errorf("PaidAt %v, want the provider's paid time %v", late.PaidAt, paidAt)
	}
	if n := len(r.ali.Calls()) - calls; n != 1 {
		t.Errorf("the late check made %d calls (%v), want one query", n, r.ali.Calls()[calls:])
	}
	// Still shown until seen; then gone, and never asked about again.
	if pass = r.eng.Recover(context.Background()); len(pass.Late) != 1 {
		t.Fatalf("late payment dropped before it was acknowledged: %+v", pass)
	}
	if _, err := r.eng.AcknowledgeLate(context.Background(), o.No); err != nil {
		t.Fatal(err)
	}
	calls = len(r.ali.Calls())
	if pass = r.eng.Recover(context.Background()); len(pass.Late) != 0 || len(r.ali.Calls()) != calls {
		t.Fatalf("after the acknowledgement: %+v, calls %v", pass, r.ali.Calls()[calls:])
	}
	if follow, _ := r.ledger.FollowUps(context.Background()); len(follow) != 0 {
		t.Fatalf("follow-ups left: %+v", follow)
	}
}

// TestLateCheckOutcomes: what the late check does with each answer, and
// that it runs once: a code that expired unscanned ends the check; a trade
// scanned and left waiting is closed now (trade.close); a query that fails
// keeps the check for the next pass; a payment of another amount is
// disputed.
func TestLateCheckOutcomes(t *testing.T) {
	closedBeforeScan := func(t *testing.T, r *rig) checkout.Order {
		t.Helper()
		o := r.start(t, checkout.MethodAlipay, 700)
		got, err := r.eng.Finish(context.Background(), o.No, "cancelled by clerk")
		if err != nil || got.RecheckAt.IsZero() {
			t.Fatalf("cancel: %+v %v", got, err)
		}
		return got
	}
	t.Run("expired unscanned", func(t *testing.T) {
		r := newRig(t)
		o := closedBeforeScan(t, r)
		r.ali.Expire(o.No)
		r.clock.Set(o.RecheckAt)
		if pass := r.eng.Recover(context.Background()); len(pass.Errors) != 0 || len(pass.Late) != 0 {
			t.Fatalf("pass: %+v", pass)
		}
		if got := r.stored(t, o.No); got.State != checkout.StateClosed || !got.RecheckAt.IsZero() {
			t.Fatalf("after the check: %+v", got)
		}
		calls := len(r.ali.Calls())
		r.clock.Advance(time.Hour)
		r.eng.Recover(context.Background())
		if len(r.ali.Calls()) != calls {
			t.Fatalf("checked again: %v", r.ali.Calls()[calls:])
		}
	})
	t.Run("scanned and waiting", func(t *testing.T) {
		r := newRig(t)
		o := closedBeforeScan(t, r)
		r.ali.Scan(o.No)
		r.clock.Set(o.RecheckAt)
		if pass := r.eng.Recover(context.Background()); len(pass.Errors) != 0 {
			t.Fatalf("pass: %+v", pass)
		}
		if tr, _ := r.ali.Trade(o.No); tr.State != checkout.TradeClosed {
			t.Fatalf("provider trade %s, want closed by the late check", tr.State)
		}
		if got := r.stored(t, o.No); got.State != checkout.StateClosed || !got.RecheckAt.IsZero() {
			t.Fatalf("after the check: %+v", got)
		}
		if err := r.ali.Pay(o.No); err == nil {
			t.Fatal("the customer could still pay after the late check closed the trade")
		}
	})
	t.Run("query fails", func(t *testing.T) {
		r := newRig(t)
		o := closedBeforeScan(t, r)
		r.ali.Pay(o.No)
		r.clock.Set(o.RecheckAt)
		r.ali.OnQuery = func(context.Context, string) error { return fake.ErrTimeout }
		if pass := r.eng.Recover(context.Background()); len(pass.Errors) != 1 || len(pass.Late) != 0 {
			t.Fatalf("pass with the provider down: %+v", pass)
		}
		if got := r.stored(t, o.No); got.State != checkout.StateClosed || !got.RecheckAt.Equal(o.RecheckAt) {
			t.Fatalf("the check was dropped: %+v", got)
		}
		r.ali.OnQuery = nil
		r.clock.Advance(checkout.SettleEvery) // its retry falls due
		if pass := r.eng.Recover(context.Background()); len(pass.Late) != 1 {
			t.Fatalf("next pass: %+v", pass)
		}
	})
	t.Run("closed meanwhile", func(t *testing.T) {
		// Waiting at the query; the close then finds it no longer
		// waiting, and the confirming query says closed: the check ends.
		r := newRig(t)
		o := closedBeforeScan(t, r)
		r.ali.Scan(o.No)
		r.ali.OnClose = func(context.Context, string) error {
			return &checkout.ProviderError{Op: "close", Kind: checkout.KindAlreadyPaid, Code: "ACQ.TRADE_STATUS_ERROR"}
		}
		queries := 0
		r.ali.Rewrite = func(st *checkout.TradeStatus) {
			if queries++; queries > 1 {
				st.State, st.Raw = checkout.TradeClosed, "TRADE_CLOSED"
			}
		}
		r.clock.Set(o.RecheckAt)
		if pass := r.eng.Recover(context.Background()); len(pass.Errors) != 0 {
			t.Fatalf("pass: %+v", pass)
		}
		if got := r.stored(t, o.No); got.State != checkout.StateClosed || !got.RecheckAt.IsZero() {
			t.Fatalf("after the check: %+v", got)
		}
	})
	t.Run("another amount", func(t *testing.T) {
		r := newRig(t)
		o := closedBeforeScan(t, r)
		r.ali.Pay(o.No)
		r.ali.Rewrite = func(st *checkout.TradeStatus) { st.Amount = 70 }
		r.clock.Set(o.RecheckAt)
		r.eng.Recover(context.Background())
		if got := r.stored(t, o.No); got.State != checkout.StateDisputed || got.ProviderAmount != 70 || !got.Late || !got.RecheckAt.IsZero() {
			t.Fatalf("after the check: %+v", got)
		}
	})
}

// TestCloseAfterExpiryNeedsNoRecheck: recovery closes a code long after it
// expired, the ledger knowing when it was shown (a poll's write carried
// the acceptance); the query it just made was the late check.
func TestCloseAfterExpiryNeedsNoRecheck(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodAlipay, 700)
	if _, err := r.eng.Poll(context.Background(), o.No); err != nil { // not scanned: the word is kept
		t.Fatal(err)
	}
	if got := r.stored(t, o.No); got.State != checkout.StateCreated || got.CodeURL == "" || got.AcceptedAt.IsZero() {
		t.Fatalf("the poll's write did not carry the code: %+v", got)
	}
	r.clock.Advance(time.Hour)
	if pass := r.restart().Recover(context.Background()); len(pass.Settled) != 1 {
		t.Fatalf("pass: %+v", pass)
	}
	if got := r.stored(t, o.No); got.State != checkout.StateClosed || !got.RecheckAt.IsZero() {
		t.Fatalf("after recovery: %+v", got)
	}
}

// TestACodeLostWithTheDeskIsCheckedAgain: the desk showed an Alipay code
// and died before any commit carried it (a sale commits when written and
// when settled, nothing in between). The ledger has the order created
// with no code; recovery closes it and, assuming the worst (accepted
// just before the crash), checks it again once the latest such code has
// expired, and so finds a customer who paid it meanwhile.
func TestACodeLostWithTheDeskIsCheckedAgain(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodAlipay, 700)
	if got := r.stored(t, o.No); got.State != checkout.StateCreated || got.CodeURL != "" {
		t.Fatalf("the sale committed its code before it settled: %+v", got)
	}
	r.clock.Advance(time.Hour) // the desk was down an hour
	eng := r.restart()
	if pass := eng.Recover(context.Background()); len(pass.Settled) != 1 {
		t.Fatalf("pass: %+v", pass)
	}
	got := r.stored(t, o.No)
	want := r.clock.Now().Add(checkout.WholeMinutes(3 * time.Minute)).Add(checkout.DefaultLateCheckMargin)
	if got.State != checkout.StateClosed || !got.RecheckAt.Equal(want) {
		t.Fatalf("after recovery: %s, late check at %v, want %v", got.State, got.RecheckAt, want)
	}
	if err := r.ali.Pay(o.No); err != nil { // the code on the dead desk's screen
		t.Fatal(err)
	}
	r.clock.Set(want)
	if pass := eng.Recover(context.Background()); len(pass.Late) != 1 || pass.Late[0].No != o.No {
		t.Fatalf("the late check: %+v", pass)
	}
}

// failPaidWrites makes every write of a payment fail.
func failPaidWrites(op fake.Op) error {
	if op.Name == "advance" && op.To == checkout.StatePaid {
		return fake.ErrDisk
	}
	return nil
}

// TestPaidWriteFailsThenLands: the customer pays and the ledger cannot
// record it. The poll answers with the order's number and a SaveError
// that says so; the order stays open (so polling and recovery go on); a
// cancel in the meantime closes nothing; once the disk works the next
// poll records it paid.
func TestPaidWriteFailsThenLands(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodWeChat, 1230)
	r.wx.Pay(o.No)
	r.faulty.Fail(failPaidWrites)
	got, err := r.eng.Poll(context.Background(), o.No)
	var se *checkout.SaveError
	if !errors.As(err, &se) || se.To != checkout.StatePaid || got.No != o.No || got.State != checkout.StateAwaiting {
		t.Fatalf("poll: %+v %v, want the number, awaiting and a SaveError", got, err)
	}
	if msg := checkout.UserMessage(err); !strings.Contains(msg, "paid at WeChat Pay, could not be saved") || !strings.Contains(msg, "disk is full") {
		t.Errorf("clerk message %q", msg)
	}
	got, err = r.eng.Finish(context.Background(), o.No, "cancelled by clerk")
	if !errors.As(err, &se) || got.No != o.No || r.wx.Count("close") != 0 {
		t.Fatalf("cancel while the write fails: %+v %v, calls %v", got, err, r.wx.Calls())
	}
	if open, _ := r.ledger.OpenOrders(context.Background()); len(open) != 1 {
		t.Fatalf("the sale left the open orders: %v", open)
	}
	r.faulty.Fail(nil)
	if got, err = r.eng.Poll(context.Background(), o.No); err != nil || got.State != checkout.StatePaid {
		t.Fatalf("after the disk healed: %s %v", got.State, err)
	}
}

// TestLedgerReadFailureKeepsTheNumber: every engine call that names an
// order answers with that number when the ledger cannot be read, and
// recovery reports the fault and settles the order once it reads again.
func TestLedgerReadFailureKeepsTheNumber(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodWeChat, 300)
	r.wx.OnCreate = func(context.Context, checkout.CreateRequest) error { return fake.ErrTimeout }
	created, _ := r.eng.Start(context.Background(), checkout.MethodWeChat, 400, "")
	r.wx.OnCreate = nil
	r.faulty.Fail(func(op fake.Op) error {
		if op.Name == "read" || op.Name == "open" {
			return fake.ErrDisk
		}
		return nil
	})
	for name, call := range map[string]func() (checkout.Order, error){
		"poll":   func() (checkout.Order, error) { return r.eng.Poll(context.Background(), o.No) },
		"finish": func() (checkout.Order, error) { return r.eng.Finish(context.Background(), o.No, "timed out") },
		"retry":  func() (checkout.Order, error) { return r.eng.Retry(context.Background(), o.No) },
	} {
		got, err := call()
		var le *checkout.LedgerError
		if got.No != o.No || !errors.As(err, &le) || !errors.Is(err, fake.ErrDisk) {
			t.Errorf("%s: order %q err %v, want %s and a LedgerError", name, got.No, err, o.No)
		}
	}
	if got, err := r.eng.Retry(context.Background(), created.No); got.No != created.No || err == nil {
		t.Errorf("retry of the created sale: %q %v", got.No, err)
	}
	next := r.restart()
	if pass := next.Recover(context.Background()); pass.LedgerErr == nil || !errors.Is(pass.LedgerErr, fake.ErrDisk) || len(pass.Settled) != 0 {
		t.Fatalf("pass with the ledger unreadable: %+v", pass)
	}
	r.faulty.Fail(func(op fake.Op) error {
		if op.Name == "follow-ups" {
			return fake.ErrDisk
		}
		return nil
	})
	// The open orders read again (and are settled); the follow-ups do not,
	// and the pass does not pretend to know them.
	if pass := next.Recover(context.Background()); pass.LateKnown || pass.LedgerErr == nil || len(pass.Settled) != 2 {
		t.Fatalf("pass with the follow-ups unreadable: %+v", pass)
	}
	r.faulty.Fail(nil)
	if pass := next.Recover(context.Background()); len(pass.Errors) != 0 || pass.LedgerErr != nil || !pass.LateKnown {
		t.Fatalf("pass after it healed: %+v", pass)
	}
}

// TestStartLedgerFailureCallsNoProvider: when the sale cannot be written
// nothing is sent to the provider and the answer says nothing was
// recorded.
func TestStartLedgerFailureCallsNoProvider(t *testing.T) {
	r := newRig(t)
	r.faulty.Fail(func(op fake.Op) error {
		if op.Name == "create" {
			return fake.ErrDisk
		}
		return nil
	})
	o, err := r.eng.Start(context.Background(), checkout.MethodWeChat, 100, "")
	if o.State != "" || !errors.Is(err, fake.ErrDisk) || len(r.wx.Calls()) != 0 {
		t.Fatalf("order %+v err %v calls %v", o, err, r.wx.Calls())
	}
	if msg := checkout.UserMessage(err); !strings.Contains(msg, "nothing was sent to WeChat Pay") {
		t.Errorf("clerk message %q", msg)
	}
}

// TestRecoveryPassesNeverOverlap: a second pass waits for the first.
func TestRecoveryPassesNeverOverlap(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodWeChat, 100)
	eng := r.restart()
	inQuery, release := make(chan struct{}), make(chan struct{})
	r.wx.OnQuery = func(context.Context, string) error {
		r.wx.OnQuery = nil
		close(inQuery)
		<-release
		return nil
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); eng.Recover(context.Background()) }()
	<-inQuery // the first pass is under way
	second := make(chan struct{})
	var opened sync.Once
	r.faulty.Fail(func(op fake.Op) error {
		if op.Name == "open" {
			opened.Do(func() { close(second) })
		}
		return nil
	})
	wg.Add(1)
	go func() { defer wg.Done(); eng.Recover(context.Background()) }()
	select {
	case <-second:
		t.Fatal("a second pass started while the first was running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-second // it runs once the first is done
	wg.Wait()
	if got := r.stored(t, o.No); got.State != checkout.StateClosed || r.wx.Count("close") != 1 {
		t.Fatalf("order %s after two passes, %d closes", got.State, r.wx.Count("close"))
	}
}

// TestNumbersUniqueAcrossDesks: two desks on one merchant account with the
// same terminal id and the same clock mint numbers that never collide,
// stay time-ordered and fit both providers' limits.
func TestNumbersUniqueAcrossDesks(t *testing.T) {
	clock := fake.NewClock(start)
	a := &checkout.Numbers{Terminal: "T1", Clock: clock}
	b := &checkout.Numbers{Terminal: "T1", Clock: clock}
	valid := regexp.MustCompile(`^[0-9A-Za-z]{6,32}$`)
	seen := map[string]bool{}
	prev := ""
	for i := range 2000 {
		if i%400 == 0 { // 1,200 numbers an instance a millisecond, under its 1,296
			clock.Advance(time.Millisecond)
		}
		for _, no := range []string{a.Order(), b.Order(), a.Refund(), b.Refund()} {
			if seen[no] {
				t.Fatalf("number %s minted twice", no)
			}
			seen[no] = true
			if !valid.MatchString(no) {
				t.Fatalf("number %q breaks the providers' rules", no)
			}
		}
		no := a.Order()
		if no[:17] < prev {
			t.Fatalf("%s sorts before %s", no, prev)
		}
		prev = no[:17]
	}
	long := &checkout.Numbers{Terminal: "ABCDEFGH", Clock: clock}
	if n := len(long.Refund()); n > 32 {
		t.Fatalf("a refund number of an 8-character terminal is %d long", n)
	}
}

// TestNoteRefusesControlCharacters: escape sequences and invisible
// direction overrides never reach the provider's bill or the screen.
func TestNoteRefusesControlCharacters(t *testing.T) {
	r := newRig(t)
	for _, note := range []string{"\x1b[31mred", "table\x074", "a\u202eb", "line\nbreak", "\xff"} {
		if _, err := r.eng.Start(context.Background(), checkout.MethodWeChat, 100, note); err == nil {
			t.Errorf("note %q accepted", note)
		}
	}
	if len(r.wx.Calls()) != 0 {
		t.Fatalf("refused notes reached the provider: %v", r.wx.Calls())
	}
	if o, err := r.eng.Start(context.Background(), checkout.MethodWeChat, 100, "  桌 4, two coffees ☕ "); err != nil || o.Note != "桌 4, two coffees ☕" {
		t.Fatalf("a plain note: %q %v", o.Note, err)
	}
}

func TestAmountMessageQuotesAShortPrefix(t *testing.T) {
	in := strings.Repeat("9", 40) + "x" + strings.Repeat("8", 400)
	_, err := checkout.ParseMoney(in, 0)
	if err == nil || len(err.Error()) > 100 || !strings.Contains(err.Error(), `"999999999999"…`) {
		t.Fatalf("message %q", err)
	}
}

// TestOrderFromAnOlderTillGetsItsLateCheck: an Alipay order left open by
// the previous till (no AcceptedAt; its code was precreated without
// qr_code_timeout_express, so it lives Alipay's default two hours) is
// closed by recovery after the upgrade with a late check at the end of
// that life, and a payment on its code is found then.
func TestOrderFromAnOlderTillGetsItsLateCheck(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	o := checkout.Order{No: "20261123060000000T1LEGACY", Terminal: "T1", Method: checkout.MethodAlipay, Amount: 500,
		State: checkout.StateCreated, CreatedAt: start, UpdatedAt: start, ExpiresAt: start.Add(3 * time.Minute)}
	if err := r.ledger.CreateOrder(ctx, o); err != nil {
		t.Fatal(err)
	}
	res, _ := r.ali.Create(ctx, checkout.CreateRequest{OrderNo: o.No, Amount: 500})
	r.ledger.Advance(ctx, o.No, checkout.StateAwaiting, func(s *checkout.Order) { s.CodeURL = res.CodeURL })
	r.clock.Advance(10 * time.Minute)
	r.restart().Recover(ctx)
	got := r.stored(t, o.No)
	if want := start.Add(checkout.UnlimitedQRLife + checkout.DefaultLateCheckMargin); got.State != checkout.StateClosed || !got.RecheckAt.Equal(want) {
		t.Fatalf("recovered: %s, check at %v, want closed, checked at %v", got.State, got.RecheckAt, want)
	}
	r.ali.Pay(o.No)
	r.clock.Set(got.RecheckAt)
	if pass := r.restart().Recover(ctx); len(pass.Late) != 1 {
		t.Fatalf("late check: %+v", pass)
	}
	if got := r.stored(t, o.No); got.State != checkout.StatePaid || !got.Late {
		t.Fatalf("paid at Alipay, ledger says %s", got.State)
	}
}

// TestLockWaitEndsWithTheCaller: while one call on an order hangs at the
// provider, another with a short deadline gives up waiting for the order
// at that deadline, says the order is busy, and changes nothing.
func TestLockWaitEndsWithTheCaller(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodWeChat, 100)
	inQuery, release := make(chan struct{}), make(chan struct{})
	r.wx.OnQuery = func(context.Context, string) error {
		r.wx.OnQuery = nil
		close(inQuery)
		<-release
		return nil
	}
	done := make(chan struct{})
	go func() { r.eng.Poll(context.Background(), o.No); close(done) }()
	<-inQuery
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	begun := time.Now()
	got, err := r.eng.Finish(ctx, o.No, "cancelled by clerk")
	if !errors.Is(err, checkout.ErrBusy) || !checkout.IsUnknown(err) || got.No != o.No || time.Since(begun) > time.Second {
		t.Fatalf("Finish behind a hung poll: %+v %v after %v", got, err, time.Since(begun))
	}
	if msg := checkout.UserMessage(err); strings.Contains(msg, "ledger") {
		t.Errorf("the clerk is told %q", msg)
	}
	close(release)
	<-done
	if r.wx.Count("close") != 0 || !r.stored(t, o.No).State.Open() {
		t.Fatalf("the busy Finish did something: %v", r.wx.Calls())
	}
}

// TestLateChecksAreSpreadOverPasses: one pass runs at most
// MaxChecksPerPass late checks and asks for the next pass at once.
func TestLateChecksAreSpreadOverPasses(t *testing.T) {
	r := newRig(t)
	n := checkout.MaxChecksPerPass + 5
	var last checkout.Order
	for range n {
		o := r.start(t, checkout.MethodAlipay, 100)
		last, _ = r.eng.Finish(context.Background(), o.No, "cancelled by clerk")
	}
	r.clock.Set(last.RecheckAt)
	first := r.eng.Recover(context.Background())
	left, _ := r.ledger.FollowUps(context.Background())
	if len(left) != 5 || !first.NextCheck.Equal(r.clock.Now()) {
		t.Fatalf("after one pass: %d left, next check %v", len(left), first.NextCheck)
	}
	r.eng.Recover(context.Background())
	if left, _ = r.ledger.FollowUps(context.Background()); len(left) != 0 {
		t.Fatalf("after two passes: %d left", len(left))
	}
}

// TestAcknowledgeAndTodaySayWhatFailed: acknowledging an order that was
// not paid late is refused as such (not a ledger fault: nothing is wrong
// with the disk), and a failed read of today's orders is a LedgerError, so
// the desk does not blame the provider for it.
func TestAcknowledgeAndTodaySayWhatFailed(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodWeChat, 300)
	_, err := r.eng.AcknowledgeLate(context.Background(), o.No)
	var le *checkout.LedgerError
	if !errors.Is(err, checkout.ErrNotLate) || errors.As(err, &le) {
		t.Errorf("acknowledging an order not paid late: %v, want ErrNotLate and no LedgerError", err)
	}
	if got := r.stored(t, o.No); !got.LateSeenAt.IsZero() {
		t.Errorf("the refused acknowledgement was recorded: %+v", got)
	}
	r.faulty.Fail(func(op fake.Op) error {
		if op.Name == "list" {
			return fake.ErrDisk
		}
		return nil
	})
	if _, err := r.eng.Today(context.Background(), 10); !errors.As(err, &le) || !errors.Is(err, fake.ErrDisk) {
		t.Errorf("today with the ledger unreadable: %v, want a LedgerError", err)
	}
}
