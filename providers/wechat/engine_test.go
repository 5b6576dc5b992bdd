package wechat_test

import (
	"net/http"
	"net/url"
	"path/filepath"
	"testing"

	"till/checkout"
	"till/providers/wechat/wechatemu"
	"till/store"
)

// The engine drives the adapter as at the counter: an answer with a bad
// signature leaves the sale created and unknown, never failed; a retry and
// a poll settle it; a cancelled sale is closed; a sale paid at the last
// moment is found paid by the final query.
func TestEngineSettlesUnknownOutcomes(t *testing.T) {
	e := newEnv(t)
	ledger, err := store.Open(filepath.Join(t.TempDir(), "till.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ledger.Close() })
	eng := checkout.NewEngine(ledger, []checkout.Provider{e.p}, checkout.Config{Terminal: "T1"}, nil, nil)
	ctx := t.Context()

	e.emu.SetFaults(wechatemu.Faults{Path: "/native", BadSignature: true, Times: 1})
	o, err := eng.Start(ctx, checkout.MethodWeChat, 1234, "tea")
	if !checkout.IsUnknown(err) || o.State != checkout.StateCreated {
		t.Fatalf("bad signature on create: %v %+v", err, o)
	}
	o, err = eng.Retry(ctx, o.No)
	if err != nil || o.State != checkout.StateAwaiting || o.CodeURL == "" {
		t.Fatalf("retry: %v %+v", err, o)
	}
	resp, err := http.PostForm(o.CodeURL, url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	e.emu.SetFaults(wechatemu.Faults{BadSignature: true, Times: 1})
	if got, err := eng.Poll(ctx, o.No); !checkout.IsUnknown(err) || got.State != checkout.StateAwaiting {
		t.Fatalf("poll with a bad signature: %v %+v", err, got)
	}
	o, err = eng.Poll(ctx, o.No)
	if err != nil || o.State != checkout.StatePaid || o.ProviderTradeNo == "" {
		t.Fatalf("poll: %v %+v", err, o)
	}

	cancelled, err := eng.Start(ctx, checkout.MethodWeChat, 500, "")
	if err != nil {
		t.Fatal(err)
	}
	cancelled, err = eng.Finish(ctx, cancelled.No, "cancelled by the clerk")
	if err != nil || cancelled.State != checkout.StateClosed {
		t.Fatalf("finish: %v %+v", err, cancelled)
	}
	if tr, _ := e.emu.Trade(cancelled.No); tr.State != wechatemu.StateClosed {
		t.Fatalf("WeChat side: %s", tr.State)
	}

	late, err := eng.Start(ctx, checkout.MethodWeChat, 700, "")
	if err != nil {
		t.Fatal(err)
	}
	e.mustPay(late.No)
	late, err = eng.Finish(ctx, late.No, "timeout")
	if err != nil || late.State != checkout.StatePaid {
		t.Fatalf("paid at the last moment: %v %+v", err, late)
	}
}

// TestEngineRefundTimeoutIsSettledByQuery: WeChat makes the refund and the
// answer is lost (the connection drops after the work is done). The
// refund stays requested; the next poll asks by its number, finds it, and
// records it: one refund at WeChat, never two. A refund that never reached
// WeChat is found missing and sent again with the same number.
func TestEngineRefundTimeoutIsSettledByQuery(t *testing.T) {
	e := newEnv(t)
	ledger, err := store.Open(filepath.Join(t.TempDir(), "till.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ledger.Close() })
	eng := checkout.NewEngine(ledger, []checkout.Provider{e.p}, checkout.Config{Terminal: "T1"}, nil, nil)
	ctx := t.Context()
	o, err := eng.Start(ctx, checkout.MethodWeChat, 1000, "")
	if err != nil {
		t.Fatal(err)
	}
	e.mustPay(o.No)
	if o, err = eng.Poll(ctx, o.No); err != nil || o.State != checkout.StatePaid {
		t.Fatalf("poll: %+v %v", o, err)
	}

	e.emu.SetFaults(wechatemu.Faults{Path: "/refunds", Processed: true, DropConnection: true, Times: 1})
	r, _, err := eng.Refund(ctx, o.No, 300, "")
	if !checkout.IsUnknown(err) || r.State != checkout.RefundRequested || !r.Sent {
		t.Fatalf("refund with the answer lost: %+v %v", r, err)
	}
	if got := e.emu.RefundsOf(o.No); len(got) != 1 {
		t.Fatalf("WeChat has %d refunds", len(got))
	}
	r, got, err := eng.PollRefund(ctx, r.No)
	if err != nil || r.State != checkout.RefundSucceeded || got.Refunded != 300 || r.ProviderRefundNo == "" {
		t.Fatalf("poll: %+v %+v %v", r, got, err)
	}
	if n := len(e.emu.RefundsOf(o.No)); n != 1 {
		t.Fatalf("WeChat has %d refunds after the poll", n)
	}

	// Never reached WeChat (a 500 before the work): missing, sent again.
	e.emu.SetFaults(wechatemu.Faults{Path: "/refunds", Status: 500, Times: 1})
	r2, _, err := eng.Refund(ctx, o.No, 200, "")
	if !checkout.IsUnknown(err) || r2.State != checkout.RefundRequested {
		t.Fatalf("refund with a 500: %+v %v", r2, err)
	}
	if n := len(e.emu.RefundsOf(o.No)); n != 1 {
		t.Fatalf("a refused request made a refund: %d", n)
	}
	r2, got, err = eng.PollRefund(ctx, r2.No)
	if err != nil || r2.State != checkout.RefundSucceeded || got.Refunded != 500 || len(e.emu.RefundsOf(o.No)) != 2 {
		t.Fatalf("poll of the missing refund: %+v %+v %v (WeChat has %d)", r2, got, err, len(e.emu.RefundsOf(o.No)))
	}
}
