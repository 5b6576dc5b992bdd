package checkout_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"till/checkout"
	"till/providers/fake"
)

// queries counts the queries of order no a provider got.
func queries(p *fake.Provider, no string) int {
	n := 0
	for _, c := range p.Calls() {
		if c == "query "+no {
			n++
		}
	}
	return n
}

// TestSettlingBacksOffAFailingProvider: an order left open by an earlier
// run, whose provider keeps timing out, is asked again after 30 s, then 1,
// 2, 4 ... minutes up to 10, not at every pass; the pass says when (its
// NextCheck, and a BackoffError naming the last problem) and Attempts
// shows since when. New orders are still settled at once meanwhile, the
// provider's first answer ends the backoff, and a manager's "settle now"
// asks at once whatever the schedule.
func TestSettlingBacksOffAFailingProvider(t *testing.T) {
	r := newRig(t)
	stuck := r.start(t, checkout.MethodWeChat, 1230)
	r.wx.OnQuery = func(_ context.Context, no string) error {
		if no == stuck.No {
			return fake.ErrTimeout
		}
		return nil
	}
	eng := r.restart() // stuck is an earlier run's, so passes settle it
	ctx := context.Background()
	t0 := r.clock.Now()

	pass := eng.Recover(ctx)
	if queries(r.wx, stuck.No) != 1 || len(pass.Errors) != 1 {
		t.Fatalf("first pass: %d queries, errors %v", queries(r.wx, stuck.No), pass.Errors)
	}
	if got := pass.NextCheck; !got.Equal(t0.Add(checkout.SettleEvery)) {
		t.Fatalf("next check %v, want %v", got, t0.Add(checkout.SettleEvery))
	}
	a, ok := eng.Attempts()[stuck.No]
	if !ok || a.Fails != 1 || !a.Since.Equal(t0) || a.Err == "" {
		t.Fatalf("attempts %+v", eng.Attempts())
	}

	// Want: tried at 0, 30 s, 1 m 30 s (+1 m), 3 m 30 s (+2 m), 7 m 30 s
	// (+4 m), 15 m 30 s (+8 m), 25 m 30 s (+10 m, the cap), 35 m 30 s.
	tries := []time.Duration{30 * time.Second, 90 * time.Second, 210 * time.Second, 450 * time.Second, 930 * time.Second, 1530 * time.Second, 2130 * time.Second}
	want := 1
	for step := 10 * time.Second; r.clock.Now().Sub(t0) < 2140*time.Second; {
		r.clock.Advance(step)
		pass = eng.Recover(ctx)
		elapsed := r.clock.Now().Sub(t0)
		for len(tries) > 0 && elapsed >= tries[0] {
			tries, want = tries[1:], want+1
		}
		if got := queries(r.wx, stuck.No); got != want {
			t.Fatalf("at +%v: %d queries of the stuck order, want %d", elapsed, got, want)
		}
		var be *checkout.BackoffError
		if len(pass.Errors) != 1 {
			t.Fatalf("at +%v: errors %v", elapsed, pass.Errors)
		}
		if errors.As(pass.Errors[0], &be) {
			if !errors.Is(be, fake.ErrTimeout) || !strings.Contains(be.Error(), "asked again at") {
				t.Fatalf("backoff error %v does not carry the last problem", be)
			}
			if pass.NextCheck.IsZero() || pass.NextCheck.After(be.Next) {
				t.Fatalf("next check %v after the retry at %v", pass.NextCheck, be.Next)
			}
		}
	}
	if a := eng.Attempts()[stuck.No]; a.Fails != 8 || a.Next.Sub(a.Last) != checkout.BackoffMax {
		t.Fatalf("after eight failures: %+v, want the wait capped at %v", a, checkout.BackoffMax)
	}

	// A new order left open meanwhile is settled in the next pass.
	fresh := r.start(t, checkout.MethodWeChat, 880)
	eng.Release(fresh.No) // not this engine's: r.eng started it
	pass = eng.Recover(ctx)
	if len(pass.Settled) != 1 || pass.Settled[0].No != fresh.No {
		t.Fatalf("a fresh order waits behind a failing one: settled %v", pass.Settled)
	}

	// "Settle now" asks at once; the provider answers; the backoff ends.
	before := queries(r.wx, stuck.No)
	r.wx.OnQuery = nil
	pass = eng.RecoverNow(ctx)
	if queries(r.wx, stuck.No) != before+1 || len(pass.Errors) != 0 || len(pass.Settled) != 1 {
		t.Fatalf("settle now: %d queries (was %d), errors %v, settled %v", queries(r.wx, stuck.No), before, pass.Errors, pass.Settled)
	}
	if len(eng.Attempts()) != 0 {
		t.Fatalf("attempts after settling: %+v", eng.Attempts())
	}
	if got := checkout.NextPassIn(pass, r.clock.Now()); got != checkout.SettleEvery {
		t.Fatalf("next pass in %v with nothing waiting, want %v", got, checkout.SettleEvery)
	}
}

// TestRefundSettlingBacksOff: a refund whose answer was lost, with the
// provider then failing its queries, is asked again on the same schedule,
// never sent under a new number, and settles once the provider answers.
func TestRefundSettlingBacksOff(t *testing.T) {
	r := newRig(t)
	o := r.paid(t, 1000)
	r.wx.LoseRefundAnswer = func(checkout.RefundRequest) error { return fake.ErrTimeout }
	rf, _, err := r.eng.Refund(context.Background(), o.No, 400, "wrong size")
	if err == nil || rf.State != checkout.RefundRequested {
		t.Fatalf("refund with its answer lost: %+v %v", rf, err)
	}
	r.eng.ReleaseRefund(rf.No)
	r.wx.LoseRefundAnswer = nil
	r.wx.OnQueryRefund = func(context.Context, string) error { return fake.ErrTimeout }
	eng := r.restart()
	ctx := context.Background()
	refundCalls := func() (sends, asks int) {
		for _, c := range r.wx.Calls() {
			switch {
			case strings.HasPrefix(c, "refund "):
				sends++
			case strings.HasPrefix(c, "query refund "):
				asks++
			}
		}
		return
	}
	eng.Recover(ctx)
	s1, a1 := refundCalls()
	if a1 == 0 {
		t.Fatal("the pass did not ask about the refund")
	}
	eng.Recover(ctx) // at once: backed off
	if s2, a2 := refundCalls(); s2 != s1 || a2 != a1 {
		t.Fatalf("asked again at once: sends %d→%d, asks %d→%d", s1, s2, a1, a2)
	}
	r.clock.Advance(checkout.SettleEvery)
	r.wx.OnQueryRefund = nil
	pass := eng.Recover(ctx)
	if len(pass.Refunds) != 1 || pass.Refunds[0].State != checkout.RefundSucceeded {
		t.Fatalf("after the provider answered: %+v, errors %v", pass.Refunds, pass.Errors)
	}
	if s3, _ := refundCalls(); s3 != s1 {
		t.Fatalf("the refund was sent again (%d sends, was %d)", s3, s1)
	}
	if len(eng.Attempts()) != 0 {
		t.Fatalf("attempts left: %+v", eng.Attempts())
	}
}

// TestARefundThatCouldNotBeReadIsNotSettled: a pass that cannot read a
// requested refund (the ledger fails the read) reports it as not settled
// and backs it off, never as a refund settled with no state.
func TestARefundThatCouldNotBeReadIsNotSettled(t *testing.T) {
	r := newRig(t)
	o := r.paid(t, 1000)
	r.wx.LoseRefundAnswer = func(checkout.RefundRequest) error { return fake.ErrTimeout }
	rf, _, _ := r.eng.Refund(context.Background(), o.No, 400, "wrong size")
	r.eng.ReleaseRefund(rf.No)
	r.wx.LoseRefundAnswer = nil
	r.faulty.Fail(func(op fake.Op) error {
		if op.Name == "read refund" {
			return errors.New("disk I/O error")
		}
		return nil
	})
	pass := r.restart().Recover(context.Background())
	if len(pass.Refunds) != 0 || len(pass.Errors) != 1 || !strings.Contains(pass.Errors[0].Error(), rf.No) {
		t.Fatalf("refunds %+v, errors %v: want the refund not settled, one error naming it", pass.Refunds, pass.Errors)
	}
}
