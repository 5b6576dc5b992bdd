package checkout_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"till/checkout"
	"till/providers/fake"
)

const (
	wxCode  = "134567890123456789"        // 18 digits, 13…: WeChat Pay
	aliCode = "2865432109876543210123456" // 25 digits: one too many for Alipay
	aliOK   = "286543210987654321"        // 18 digits, 28…: Alipay
)

func TestWalletOf(t *testing.T) {
	for _, c := range []struct {
		code string
		want checkout.Method
	}{
		{wxCode, checkout.MethodWeChat},
		{"104567890123456789", checkout.MethodWeChat},
		{"154567890123456789", checkout.MethodWeChat},
		{aliOK, checkout.MethodAlipay},
		{"2512345678901234", checkout.MethodAlipay},         // 16 digits
		{"301234567890123456789012", checkout.MethodAlipay}, // 24 digits
		{"164567890123456789", ""},                          // 16… is no wallet's
		{"13456789012345678", ""},                           // 17 digits starting 13
		{aliCode, ""},                                       // 25 digits
		{"2412345678901234", ""},
		{"31123456789012345", ""},
		{"13456789012345678a", ""},
		{"", ""},
	} {
		got, err := checkout.WalletOf(c.code)
		var ce *checkout.CodeError
		if got != c.want || (c.want == "") != errors.As(err, &ce) {
			t.Errorf("WalletOf(%q) = %q, %v; want %q", c.code, got, err, c.want)
		}
	}
}

// leaks fails if the full code is anywhere in the ledger's record of the
// order or its trail.
func leaks(t *testing.T, r *rig, no, code string) {
	t.Helper()
	o := r.stored(t, no)
	b, _ := json.Marshal(o)
	es, _ := r.ledger.AuditOf(context.Background(), no)
	eb, _ := json.Marshal(es)
	if strings.Contains(string(b), code) || strings.Contains(string(eb), code) {
		t.Fatalf("the customer's code is in the ledger: %s %s", b, eb)
	}
}

func TestCodeSalePaidAtOnce(t *testing.T) {
	r := newRig(t)
	o, err := r.eng.ChargeCode(context.Background(), 1230, wxCode, "")
	if err != nil || o.State != checkout.StatePaid || o.Method != checkout.MethodWeChat {
		t.Fatalf("charge: %+v %v", o, err)
	}
	s := r.stored(t, o.No)
	if s.Way != checkout.WayCode || s.CodeTail != "6789" || s.State != checkout.StatePaid {
		t.Fatalf("stored: %+v", s)
	}
	if len(r.wx.AuthCodes) != 1 || r.wx.AuthCodes[0] != wxCode {
		t.Fatalf("the provider got %v", r.wx.AuthCodes)
	}
	leaks(t, r, o.No, wxCode)
}

func TestCodeSaleWaitsForTheCustomerThenPaid(t *testing.T) {
	r := newRig(t)
	r.ali.CodeWaits = true
	ctx := context.Background()
	o, err := r.eng.ChargeCode(ctx, 880, aliOK, "")
	if err != nil || !o.State.Open() || o.Method != checkout.MethodAlipay {
		t.Fatalf("charge: %+v %v", o, err)
	}
	r.clock.Advance(checkout.CodePollInterval)
	if got, err := r.eng.PollCode(ctx, o.No); err != nil || !got.State.Open() {
		t.Fatalf("poll while waiting: %+v %v", got, err)
	}
	if err := r.ali.Confirm(o.No); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(checkout.CodePollInterval)
	if got, err := r.eng.PollCode(ctx, o.No); err != nil || got.State != checkout.StatePaid {
		t.Fatalf("poll after the customer confirmed: %+v %v", got, err)
	}
	for _, c := range r.ali.Calls() {
		if strings.HasPrefix(c, "reverse ") || strings.HasPrefix(c, "close ") {
			t.Fatalf("a paid code sale was ended: %v", r.ali.Calls())
		}
	}
}

// A customer who never confirms: polled every 5 s, reversed at the
// deadline (30 s), not before; the sale is closed as reversed.
func TestCodeSaleReversedAtTheDeadline(t *testing.T) {
	r := newRig(t)
	r.wx.CodeWaits = true
	ctx := context.Background()
	o, _ := r.eng.ChargeCode(ctx, 500, wxCode, "")
	for i := 1; i < 6; i++ {
		r.clock.Advance(checkout.CodePollInterval)
		got, err := r.eng.PollCode(ctx, o.No)
		if err != nil || !got.State.Open() || r.wx.Count("reverse") != 0 {
			t.Fatalf("at %v: %+v %v, %d reverses", time.Duration(i)*checkout.CodePollInterval, got, err, r.wx.Count("reverse"))
		}
	}
	r.clock.Advance(checkout.CodePollInterval) // 30 s
	got, err := r.eng.PollCode(ctx, o.No)
	if err != nil || got.State != checkout.StateClosed || !strings.Contains(got.Reason, "reversed") || r.wx.Count("reverse") != 1 {
		t.Fatalf("at the deadline: %+v %v, %d reverses", got, err, r.wx.Count("reverse"))
	}
	if tr, _ := r.wx.Trade(o.No); tr.State != checkout.TradeClosed {
		t.Fatalf("the provider's trade: %+v", tr)
	}
}

// WeChat Pay takes no reverse within 15 s of the pay call, whatever the
// shop's deadline.
func TestCodeSaleIsNotReversedWithinFifteenSeconds(t *testing.T) {
	r := newRig(t)
	cfg := r.eng.Config()
	cfg.CodeDeadline = 10 * time.Second
	eng := checkout.NewEngine(r.faulty, []checkout.Provider{r.wx, r.ali}, cfg, r.clock, nil)
	r.wx.CodeWaits = true
	ctx := context.Background()
	o, _ := eng.ChargeCode(ctx, 500, wxCode, "")
	r.clock.Advance(10 * time.Second)
	if got, _ := eng.PollCode(ctx, o.No); !got.State.Open() || r.wx.Count("reverse") != 0 {
		t.Fatalf("reversed at 10 s: %+v", got)
	}
	r.clock.Advance(5 * time.Second)
	if got, _ := eng.PollCode(ctx, o.No); got.State != checkout.StateClosed || r.wx.Count("reverse") != 1 {
		t.Fatalf("at 15 s: %+v, %d reverses", got, r.wx.Count("reverse"))
	}
}

// The pay call's answer is lost (it was charged): the outcome is unknown,
// the order stays open, and the next poll finds it paid. Never a second
// pay.
func TestCodeSaleUnknownAnswerThenQueryPaid(t *testing.T) {
	r := newRig(t)
	r.wx.LosePayCodeAnswer = func(checkout.CodePayRequest) error { return fake.ErrTimeout }
	ctx := context.Background()
	o, err := r.eng.ChargeCode(ctx, 700, wxCode, "")
	if !checkout.IsUnknown(err) || !o.State.Open() || r.stored(t, o.No).State != checkout.StateCreated {
		t.Fatalf("lost answer: %+v %v", o, err)
	}
	r.clock.Advance(checkout.CodePollInterval)
	got, err := r.eng.PollCode(ctx, o.No)
	if err != nil || got.State != checkout.StatePaid {
		t.Fatalf("poll: %+v %v", got, err)
	}
	if n := strings.Count(strings.Join(r.wx.Calls(), ","), "paycode "); n != 1 {
		t.Fatalf("%d pay calls, want 1", n)
	}
}

// The reverse's answer is lost: the order stays open and the next poll
// reverses again, with the same number.
func TestCodeSaleReverseLostThenRepeated(t *testing.T) {
	r := newRig(t)
	r.ali.CodeWaits = true
	ctx := context.Background()
	o, _ := r.eng.ChargeCode(ctx, 600, aliOK, "")
	r.ali.OnReverse = func(context.Context, string) error { return fake.ErrTimeout }
	r.clock.Advance(checkout.DefaultCodeDeadline)
	got, err := r.eng.PollCode(ctx, o.No)
	if err == nil || !got.State.Open() || !r.stored(t, o.No).State.Open() {
		t.Fatalf("after a lost reverse: %+v %v", got, err)
	}
	r.ali.OnReverse = nil
	r.clock.Advance(checkout.CodePollInterval)
	got, err = r.eng.PollCode(ctx, o.No)
	if err != nil || got.State != checkout.StateClosed || r.ali.Count("reverse") != 2 {
		t.Fatalf("the reverse again: %+v %v, %d reverses", got, err, r.ali.Count("reverse"))
	}
}

// The customer confirms at the last moment and the reverse gives the
// money back: recorded as paid and refunded in one go.
func TestCodeSaleConfirmedAsItIsReversed(t *testing.T) {
	r := newRig(t)
	r.wx.CodeWaits = true
	ctx := context.Background()
	o, _ := r.eng.ChargeCode(ctx, 990, wxCode, "")
	r.wx.OnReverse = func(_ context.Context, no string) error { return r.wx.Confirm(no) }
	r.clock.Advance(checkout.DefaultCodeDeadline)
	got, err := r.eng.PollCode(ctx, o.No)
	if err != nil || got.State != checkout.StateRefunded || got.Refunded != 990 {
		t.Fatalf("paid as it was reversed: %+v %v", got, err)
	}
	if rs := r.refunds(t, o.No); len(rs) != 1 || rs[0].State != checkout.RefundSucceeded || rs[0].Amount != 990 {
		t.Fatalf("refunds: %+v", rs)
	}
}

// The desk is killed while the customer is confirming. The next start
// waits for the deadline (the customer may still confirm), then reverses;
// one that was paid meanwhile is recorded paid.
func TestCodeSaleKilledIsSettledAtStart(t *testing.T) {
	r := newRig(t)
	r.wx.CodeWaits = true
	ctx := context.Background()
	waiting, _ := r.eng.ChargeCode(ctx, 300, wxCode, "")
	paid, _ := r.eng.ChargeCode(ctx, 400, "144567890123456789", "")
	if err := r.wx.Confirm(paid.No); err != nil {
		t.Fatal(err)
	}
	eng := r.restart()
	r.clock.Advance(10 * time.Second)
	pass := eng.Recover(ctx)
	if s := r.stored(t, waiting.No); !s.State.Open() || r.wx.Count("reverse") != 0 {
		t.Fatalf("before the deadline: %+v, %d reverses", s, r.wx.Count("reverse"))
	}
	if s := r.stored(t, paid.No); s.State != checkout.StatePaid {
		t.Fatalf("the one paid meanwhile: %+v (pass %+v)", s, pass)
	}
	if len(pass.Errors) != 1 || !strings.Contains(pass.Errors[0].Error(), waiting.No) {
		t.Fatalf("the pass reports %v", pass.Errors)
	}
	r.clock.Advance(checkout.DefaultCodeDeadline)
	pass = eng.RecoverNow(ctx)
	if s := r.stored(t, waiting.No); s.State != checkout.StateClosed || r.wx.Count("reverse") != 1 || len(pass.Settled) != 1 {
		t.Fatalf("after the deadline: %+v, %d reverses, pass %+v", s, r.wx.Count("reverse"), pass)
	}
}

// A definite refusal (insufficient balance): the sale fails with the
// reason and the code is not charged; a retry is a new sale.
func TestCodeSaleRefused(t *testing.T) {
	r := newRig(t)
	r.ali.OnPayCode = func(context.Context, checkout.CodePayRequest) error {
		return &checkout.ProviderError{Op: "pay", Kind: checkout.KindInsufficient, Code: "ACQ.BUYER_BALANCE_NOT_ENOUGH", Message: "the customer's balance is not enough"}
	}
	ctx := context.Background()
	o, err := r.eng.ChargeCode(ctx, 5000, aliOK, "")
	if err == nil || checkout.IsUnknown(err) || o.State != checkout.StateFailed || !strings.Contains(o.Reason, "balance") {
		t.Fatalf("refused: %+v %v", o, err)
	}
	r.ali.OnPayCode = nil
	again, err := r.eng.ChargeCode(ctx, 5000, aliOK, "")
	if err != nil || again.No == o.No || again.State != checkout.StatePaid {
		t.Fatalf("the retry: %+v %v", again, err)
	}
}

// A code that is no wallet's, or an amount that cannot be charged, writes
// nothing and sends nothing.
func TestBadCodeWritesNothing(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	for _, c := range []struct {
		amount checkout.Money
		code   string
	}{{100, "12345"}, {100, "164567890123456789"}, {0, wxCode}, {checkout.DefaultCeiling + 1, wxCode}} {
		if o, err := r.eng.ChargeCode(ctx, c.amount, c.code, ""); err == nil || o.No != "" {
			t.Errorf("%d %q: %+v %v", c.amount, c.code, o, err)
		}
	}
	if open, _ := r.ledger.OpenOrders(ctx); len(open) != 0 || len(r.wx.Calls())+len(r.ali.Calls()) != 0 {
		t.Fatalf("written %v, sent %v %v", open, r.wx.Calls(), r.ali.Calls())
	}
}

// The clerk cancels a code sale: Alipay's is cancelled at once, WeChat
// Pay's as soon as it takes a reverse (15 s after the pay call), not at
// the deadline; the reason says the clerk cancelled.
func TestCodeSaleCancelledByTheClerk(t *testing.T) {
	r := newRig(t)
	r.ali.CodeWaits, r.wx.CodeWaits = true, true
	ctx := context.Background()
	ali, _ := r.eng.ChargeCode(ctx, 880, aliOK, "")
	got, err := r.eng.CancelCode(ctx, ali.No)
	if err != nil || got.State != checkout.StateClosed || got.Reason != checkout.ReasonCodeCancelled || r.ali.Count("reverse") != 1 {
		t.Fatalf("Alipay cancelled at once: %+v %v, %d reverses", got, err, r.ali.Count("reverse"))
	}
	wx, _ := r.eng.ChargeCode(ctx, 990, wxCode, "")
	r.clock.Advance(5 * time.Second)
	if got, err := r.eng.CancelCode(ctx, wx.No); err != nil || !got.State.Open() || r.wx.Count("reverse") != 0 {
		t.Fatalf("WeChat Pay reversed within 15 s: %+v %v", got, err)
	}
	r.clock.Advance(checkout.ReverseNotBefore - 5*time.Second)
	if got, err := r.eng.CancelCode(ctx, wx.No); err != nil || got.State != checkout.StateClosed || got.Reason != checkout.ReasonCodeCancelled || r.wx.Count("reverse") != 1 {
		t.Fatalf("WeChat Pay at 15 s: %+v %v, %d reverses", got, err, r.wx.Count("reverse"))
	}
	// A customer who confirmed before the cancel is paid, not reversed.
	paid, _ := r.eng.ChargeCode(ctx, 500, aliOK, "")
	if err := r.ali.Confirm(paid.No); err != nil {
		t.Fatal(err)
	}
	if got, err := r.eng.CancelCode(ctx, paid.No); err != nil || got.State != checkout.StatePaid || r.ali.Count("reverse") != 1 {
		t.Fatalf("confirmed before the cancel: %+v %v, %d reverses", got, err, r.ali.Count("reverse"))
	}
}

// The provider answers the charge "paid" and the ledger cannot record it
// (a SaveError to paid): the engine has been told the customer paid. A
// later step whose query fails (the network, as the ledger heals) must
// not then take the trade for one still unclear at the deadline and
// reverse it: the reverse gives back a payment WeChat Pay confirmed, for
// goods the clerk may have handed over on "paid, could not be saved".
func TestCodeSalePaidButUnsavedIsNeverReversed(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.faulty.Fail(failPaidWrites)
	o, err := r.eng.ChargeCode(ctx, 990, wxCode, "")
	var se *checkout.SaveError
	if !errors.As(err, &se) || se.To != checkout.StatePaid || !o.State.Open() {
		t.Fatalf("paid, not saved: %+v %v", o, err)
	}
	r.faulty.Fail(nil)
	r.wx.OnQuery = func(context.Context, string) error { return fake.ErrTimeout }
	r.clock.Advance(checkout.DefaultCodeDeadline)
	got, err := r.eng.PollCode(ctx, o.No)
	if r.wx.Count("reverse") != 0 {
		t.Fatalf("a trade WeChat Pay said was paid was reversed: %+v %v", got, err)
	}
	r.wx.OnQuery = nil
	if got, err := r.eng.PollCode(ctx, o.No); err != nil || got.State != checkout.StatePaid {
		t.Fatalf("once the query works: %+v %v", got, err)
	}
}

// HoldsCode finds what may be a customer's code in text (a scan into a
// note or a search), and not a phone number, a price or an order number;
// a note holding one is refused.
func TestHoldsCode(t *testing.T) {
	for s, want := range map[string]bool{
		wxCode: true, aliOK: true, "table 4 " + aliOK + " x": true, "2512345678901234": true,
		"13812345678": false, "call 13812345678": false, "251234567890123": false, // 15 digits
		"20261202031038919T1VBZO01": false, "1,234.50": false, "": false, "1645678901234567": false,
	} {
		if got := checkout.HoldsCode(s); got != want {
			t.Errorf("HoldsCode(%q) = %v, want %v", s, got, want)
		}
	}
	var ne *checkout.NoteError
	if _, err := checkout.CheckNote("for " + wxCode); !errors.As(err, &ne) || ne.Code != checkout.NoteHoldsCode {
		t.Fatalf("a note holding a code: %v", err)
	}
	if n, err := checkout.CheckNote("call 13812345678"); err != nil || n != "call 13812345678" {
		t.Fatalf("a phone number in the note: %q %v", n, err)
	}
}
