package checkout_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"till/checkout"
	"till/providers/fake"
)

// paid is a WeChat sale of amount, paid.
func (r *rig) paid(t *testing.T, amount checkout.Money) checkout.Order {
	t.Helper()
	o := r.start(t, checkout.MethodWeChat, amount)
	if err := r.wx.Pay(o.No); err != nil {
		t.Fatal(err)
	}
	got, err := r.eng.Poll(context.Background(), o.No)
	if err != nil || got.State != checkout.StatePaid {
		t.Fatalf("poll: %+v %v", got, err)
	}
	return got
}

func (r *rig) refunds(t *testing.T, no string) []checkout.Refund {
	t.Helper()
	rs, err := r.ledger.Refunds(context.Background(), no)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func refusedLines(t *testing.T, r *rig, no string) int {
	t.Helper()
	es, err := r.ledger.AuditOf(context.Background(), no)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Kind == checkout.AuditRefundRefused {
			n++
		}
	}
	return n
}

func TestRefundInPartsThenNothingLeft(t *testing.T) {
	r := newRig(t)
	r.eng.SetOperator("lin")
	o := r.paid(t, 1000)
	rf, got, err := r.eng.Refund(context.Background(), o.No, 300, "wrong size")
	if err != nil || rf.State != checkout.RefundSucceeded || got.State != checkout.StatePartiallyRefunded || got.Refunded != 300 {
		t.Fatalf("first refund: %+v %+v %v", rf, got, err)
	}
	if rf.Operator != "lin" || rf.Terminal != "T1" || rf.Reason != "wrong size" || rf.ProviderRefundNo == "" {
		t.Errorf("the refund's record: %+v", rf)
	}
	if _, got, err = r.eng.Refund(context.Background(), o.No, 700, ""); err != nil || got.State != checkout.StateRefunded {
		t.Fatalf("second refund: %+v %v", got, err)
	}
	_, _, err = r.eng.Refund(context.Background(), o.No, 1, "")
	var re *checkout.RefundError
	if !errors.As(err, &re) || re.Code != checkout.RefundNothingLeft {
		t.Fatalf("a third: %v", err)
	}
	if n := len(r.refunds(t, o.No)); n != 2 || r.wx.RefundCount() != 2 {
		t.Fatalf("refunds in the ledger %d, at the provider %d", n, r.wx.RefundCount())
	}
	if refusedLines(t, r, o.No) != 1 {
		t.Errorf("the refusal's audit line is missing")
	}
}

// TestRacingRefundsNeverExceedThePaidAmount: ten refunds of 3.00 on a
// 10.00 sale, at once: three succeed, the rest are refused, and the
// provider made exactly three.
func TestRacingRefundsNeverExceedThePaidAmount(t *testing.T) {
	r := newRig(t)
	o := r.paid(t, 1000)
	second := r.restart() // another desk, or a command, on the same ledger
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() {
			eng := r.eng
			if i%2 == 1 {
				eng = second
			}
			_, _, errs[i] = eng.Refund(context.Background(), o.No, 300, "")
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		var re *checkout.RefundError
		switch {
		case err == nil:
			ok++
		case !errors.As(err, &re) || (re.Code != checkout.RefundAboveLeft && re.Code != checkout.RefundNothingLeft):
			t.Errorf("a refused refund's error: %v", err)
		}
	}
	got := r.stored(t, o.No)
	if ok != 3 || got.Refunded != 900 || r.wx.RefundCount() != 3 || len(r.refunds(t, o.No)) != 3 {
		t.Fatalf("%d succeeded, order refunded %s, provider made %d", ok, got.Refunded.Yuan(), r.wx.RefundCount())
	}
}

// TestRefundTimeoutIsSettledByQuery: the provider made the refund and the
// answer was lost. The refund stays requested, and the next poll finds it
// done: one refund at the provider, never two.
func TestRefundTimeoutIsSettledByQuery(t *testing.T) {
	r := newRig(t)
	o := r.paid(t, 1000)
	r.wx.LoseRefundAnswer = func(checkout.RefundRequest) error { return fake.ErrTimeout }
	rf, _, err := r.eng.Refund(context.Background(), o.No, 400, "")
	if !checkout.IsUnknown(err) || rf.No == "" || rf.State != checkout.RefundRequested {
		t.Fatalf("refund with a lost answer: %+v %v", rf, err)
	}
	if stored := r.refunds(t, o.No); len(stored) != 1 || !stored[0].Sent || stored[0].State != checkout.RefundRequested {
		t.Fatalf("stored: %+v", stored)
	}
	r.wx.LoseRefundAnswer = nil
	got, ord, err := r.eng.PollRefund(context.Background(), rf.No)
	if err != nil || got.State != checkout.RefundSucceeded || ord.Refunded != 400 {
		t.Fatalf("poll: %+v %+v %v", got, ord, err)
	}
	if r.wx.RefundCount() != 1 {
		t.Fatalf("the provider made %d refunds", r.wx.RefundCount())
	}
}

// TestRefundNeverReceivedIsSentAgainWithItsNumber: the request never
// reached the provider; the query finds nothing and the refund is sent
// again under the same number.
func TestRefundNeverReceivedIsSentAgainWithItsNumber(t *testing.T) {
	r := newRig(t)
	o := r.paid(t, 1000)
	var sent []string
	r.wx.OnRefund = func(_ context.Context, req checkout.RefundRequest) error {
		sent = append(sent, req.RefundNo)
		if len(sent) == 1 {
			return fake.ErrTimeout
		}
		return nil
	}
	rf, _, err := r.eng.Refund(context.Background(), o.No, 400, "")
	if !checkout.IsUnknown(err) {
		t.Fatal(err)
	}
	got, _, err := r.eng.PollRefund(context.Background(), rf.No)
	if err != nil || got.State != checkout.RefundSucceeded || got.Attempts != 2 {
		t.Fatalf("poll: %+v %v", got, err)
	}
	if len(sent) != 2 || sent[0] != rf.No || sent[1] != rf.No || r.wx.RefundCount() != 1 {
		t.Fatalf("sent %v (refund %s), provider made %d", sent, rf.No, r.wx.RefundCount())
	}
}

// TestRefundLeftRequestedIsSettledAtStart: a refund written and sent by a
// desk that was killed before it heard back, and one written and killed
// before it was sent, are both settled by the next start's pass.
func TestRefundLeftRequestedIsSettledAtStart(t *testing.T) {
	r := newRig(t)
	o := r.paid(t, 1000)
	ctx := context.Background()
	sent := checkout.Refund{No: "R1KILLEDSENT", OrderNo: o.No, Method: o.Method, Amount: 200, State: checkout.RefundRequested, Sent: true}
	if _, err := r.ledger.CreateRefund(ctx, sent); err != nil {
		t.Fatal(err)
	}
	if _, err := r.wx.Refund(ctx, checkout.RefundRequest{OrderNo: o.No, RefundNo: sent.No, Amount: 200, Total: 1000}); err != nil {
		t.Fatal(err)
	}
	unsent := checkout.Refund{No: "R1KILLEDUNSENT", OrderNo: o.No, Method: o.Method, Amount: 300, State: checkout.RefundRequested}
	if _, err := r.ledger.CreateRefund(ctx, unsent); err != nil {
		t.Fatal(err)
	}
	pass := r.restart().Recover(ctx)
	if len(pass.Refunds) != 2 || len(pass.Errors) != 0 {
		t.Fatalf("pass: %+v", pass)
	}
	if got := r.stored(t, o.No); got.Refunded != 500 || r.wx.RefundCount() != 2 {
		t.Fatalf("order %+v, provider made %d", got, r.wx.RefundCount())
	}
	if open, _ := r.ledger.OpenRefunds(ctx); len(open) != 0 {
		t.Fatalf("left open: %+v", open)
	}
}

// TestRefundsOfWhatWasNotPaidAreRefused: open, closed, failed and fully
// refunded orders, a zero amount and more than is left are refused with a
// code; nothing is written but the audit line, nothing is sent.
func TestRefundsOfWhatWasNotPaidAreRefused(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	awaiting := r.start(t, checkout.MethodWeChat, 100)
	closed := r.start(t, checkout.MethodWeChat, 100)
	if _, err := r.eng.Finish(ctx, closed.No, "cancelled by clerk"); err != nil {
		t.Fatal(err)
	}
	r.wx.OnCreate = func(context.Context, checkout.CreateRequest) error {
		return &checkout.ProviderError{Op: "create", Kind: checkout.KindRefused, Code: "PARAM_ERROR"}
	}
	failed, _ := r.eng.Start(ctx, checkout.MethodWeChat, 100, "")
	r.wx.OnCreate = nil
	full := r.paid(t, 100)
	if _, _, err := r.eng.Refund(ctx, full.No, 100, ""); err != nil {
		t.Fatal(err)
	}
	part := r.paid(t, 500)
	calls := r.wx.RefundCount()
	for name, c := range map[string]struct {
		no     string
		amount checkout.Money
		code   checkout.RefundCode
	}{
		"awaiting": {awaiting.No, 100, checkout.RefundNotPaid},
		"closed":   {closed.No, 100, checkout.RefundNotPaid},
		"failed":   {failed.No, 100, checkout.RefundNotPaid},
		"refunded": {full.No, 1, checkout.RefundNothingLeft},
		"zero":     {part.No, 0, checkout.RefundBadAmount},
		"above":    {part.No, 501, checkout.RefundAboveLeft},
		"no order": {"20261123NOSUCHORDER", 100, checkout.RefundNoOrder},
	} {
		before := len(r.refunds(t, part.No))
		_, _, err := r.eng.Refund(ctx, c.no, c.amount, "")
		var re *checkout.RefundError
		if !errors.As(err, &re) || re.Code != c.code {
			t.Errorf("%s: %v, want %s", name, err, c.code)
			continue
		}
		if c.no != "20261123NOSUCHORDER" && refusedLines(t, r, c.no) == 0 {
			t.Errorf("%s: no audit line", name)
		}
		if len(r.refunds(t, part.No)) != before {
			t.Errorf("%s: a refund was written", name)
		}
	}
	if r.wx.RefundCount() != calls {
		t.Fatalf("a refused refund reached the provider")
	}
}

// TestRefundProcessingThenSuccess: WeChat answers PROCESSING; the refund
// stays requested with that word until a poll finds it done.
func TestRefundProcessingThenSuccess(t *testing.T) {
	r := newRig(t)
	r.wx.RefundProcessing = true
	o := r.paid(t, 1000)
	rf, got, err := r.eng.Refund(context.Background(), o.No, 1000, "")
	if err != nil || rf.State != checkout.RefundRequested || rf.ProviderSaid != "PROCESSING" || got.Refunded != 0 {
		t.Fatalf("processing: %+v %+v %v", rf, got, err)
	}
	if again, _, err := r.eng.PollRefund(context.Background(), rf.No); err != nil || again.State != checkout.RefundRequested {
		t.Fatalf("still processing: %+v %v", again, err)
	}
	r.wx.SettleRefund(rf.No, checkout.RefundSucceeded)
	done, ord, err := r.eng.PollRefund(context.Background(), rf.No)
	if err != nil || done.State != checkout.RefundSucceeded || ord.State != checkout.StateRefunded {
		t.Fatalf("done: %+v %+v %v", done, ord, err)
	}
}

// TestRefundRefusalIsConfirmedByQuery: a definite refusal (the shop's
// balance) is checked by a query; nothing there, so the refund failed
// and its money is free to refund again. A refusal that follows a refund
// the provider made after all is found done instead.
func TestRefundRefusalIsConfirmedByQuery(t *testing.T) {
	r := newRig(t)
	o := r.paid(t, 1000)
	balance := &checkout.ProviderError{Op: "refund", Kind: checkout.KindInsufficient, Code: "NOT_ENOUGH", Message: "balance"}
	r.wx.OnRefund = func(context.Context, checkout.RefundRequest) error { return balance }
	rf, _, err := r.eng.Refund(context.Background(), o.No, 600, "")
	if !errors.Is(err, balance) || rf.State != checkout.RefundFailed || rf.ProviderSaid != "NOT_ENOUGH" || rf.FailReason == "" {
		t.Fatalf("refused: %+v %v", rf, err)
	}
	r.wx.OnRefund = nil
	if left := checkout.RefundLeft(r.stored(t, o.No), r.refunds(t, o.No)); left != 1000 {
		t.Fatalf("left after a failed refund: %s", left.Yuan())
	}
	// The provider refunds, then answers a refusal (a replay misread).
	r.wx.LoseRefundAnswer = func(checkout.RefundRequest) error {
		return &checkout.ProviderError{Op: "refund", Kind: checkout.KindRefused, Code: "INVALID_REQUEST"}
	}
	rf, got, err := r.eng.Refund(context.Background(), o.No, 600, "")
	if err != nil || rf.State != checkout.RefundSucceeded || got.Refunded != 600 {
		t.Fatalf("refused but done: %+v %+v %v", rf, got, err)
	}
	// A refusal whose check does not answer leaves the refund requested.
	r.wx.LoseRefundAnswer = nil
	r.wx.OnRefund = func(context.Context, checkout.RefundRequest) error { return balance }
	r.wx.OnQueryRefund = func(context.Context, string) error { return fake.ErrTimeout }
	rf, _, err = r.eng.Refund(context.Background(), o.No, 100, "")
	if !checkout.IsUnknown(err) || rf.State != checkout.RefundRequested {
		t.Fatalf("refused, check unanswered: %+v %v", rf, err)
	}
}

// TestDisputedOrderIsRefundedAtTheProvidersAmount: a sale the provider
// says was paid with another amount goes back in full, at that amount.
func TestDisputedOrderIsRefundedAtTheProvidersAmount(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodWeChat, 1000)
	r.wx.Rewrite = func(st *checkout.TradeStatus) { st.Amount = 1 }
	if err := r.wx.Pay(o.No); err != nil {
		t.Fatal(err)
	}
	d, _ := r.eng.Poll(context.Background(), o.No)
	if d.State != checkout.StateDisputed {
		t.Fatalf("not disputed: %+v", d)
	}
	var re *checkout.RefundError
	if _, _, err := r.eng.Refund(context.Background(), o.No, 1000, ""); !errors.As(err, &re) || re.Code != checkout.RefundAboveLeft || re.Left != 1 {
		t.Fatalf("the sale's amount: %v", err)
	}
	r.wx.OnRefund = nil
	// The fake's trade holds 10.00; the provider's word was 0.01: it
	// refunds what it is asked.
	rf, got, err := r.eng.Refund(context.Background(), o.No, 1, "amount mismatch")
	if err != nil || rf.State != checkout.RefundSucceeded || got.State != checkout.StateDisputed || got.Refunded != 1 {
		t.Fatalf("the provider's amount: %+v %+v %v", rf, got, err)
	}
}

// TestRefundLedgerFailureSendsNothing: a refund the ledger cannot write
// is not sent.
func TestRefundLedgerFailureSendsNothing(t *testing.T) {
	r := newRig(t)
	o := r.paid(t, 1000)
	r.faulty.Fail(func(op fake.Op) error {
		if op.Name == "create refund" {
			return fake.ErrDisk
		}
		return nil
	})
	_, _, err := r.eng.Refund(context.Background(), o.No, 100, "")
	var le *checkout.LedgerError
	if !errors.As(err, &le) || r.wx.RefundCount() != 0 {
		t.Fatalf("err %v, provider made %d", err, r.wx.RefundCount())
	}
}

// A disputed WeChat order: WeChat's amount.total is the provider's amount,
// and a refund must name that total (protocols.md A8: amount.total is the
// original order total; the emulator refuses another).
func TestDisputedRefundNamesTheProvidersTotal(t *testing.T) {
	r := newRig(t)
	o := r.start(t, checkout.MethodWeChat, 1000)
	r.wx.Rewrite = func(st *checkout.TradeStatus) { st.Amount = 2000 } // customer paid 20.00 for a 10.00 sale
	if err := r.wx.Pay(o.No); err != nil {
		t.Fatal(err)
	}
	d, _ := r.eng.Poll(context.Background(), o.No)
	if d.State != checkout.StateDisputed || d.ProviderAmount != 2000 {
		t.Fatalf("not disputed: %+v", d)
	}
	var sent checkout.RefundRequest
	r.wx.OnRefund = func(_ context.Context, req checkout.RefundRequest) error { sent = req; return nil }
	// The fake keeps the sale's 10.00 as its trade and refuses; what
	// matters here is what till asked for.
	_, _, _ = r.eng.Refund(context.Background(), o.No, 2000, "amount mismatch")
	if sent.Amount != 2000 || sent.Total != 2000 {
		t.Fatalf("refund request for a disputed order: amount %d total %d (want total = the provider's 2000)", sent.Amount, sent.Total)
	}
}

// TestReasonWithControlCharactersIsRefused: a reason goes to the payer's
// app and the audit trail; tabs, line breaks and escapes never do.
func TestReasonWithControlCharactersIsRefused(t *testing.T) {
	for _, s := range []string{"a\tb", "line1\nline2", "x\x1b[2Jy", "bell\a"} {
		if got, err := checkout.CheckReason(s); err == nil {
			t.Errorf("CheckReason(%q) accepted: %q", s, got)
		}
	}
}
