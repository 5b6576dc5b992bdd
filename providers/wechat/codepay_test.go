package wechat_test

import (
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"till/checkout"
	"till/providers/fake"
	"till/providers/wechat"
	"till/providers/wechat/wechatemu"
	"till/store"
)

// codeRig is an engine on a real ledger whose WeChat provider is the
// adapter against the emulator, the engine and the emulator on one fake
// clock. The clock starts at the machine's time and moves by seconds, so
// the signatures (checked against the machine's clock within 5 minutes)
// stay valid.
type codeRig struct {
	*env
	clock  *fake.Clock
	eng    *checkout.Engine
	p      *wechat.Provider
	logs   *fake.Buffer
	counts *pathCounter
}

// pathCounter counts the requests the adapter sends, by path suffix.
type pathCounter struct {
	next http.RoundTripper
	pay  atomic.Int64
	rev  atomic.Int64
}

func (c *pathCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/codepay"):
		c.pay.Add(1)
	case strings.HasSuffix(r.URL.Path, "/reverse"):
		c.rev.Add(1)
	}
	return c.next.RoundTrip(r)
}

func newCodeRig(t *testing.T) *codeRig {
	t.Helper()
	fc := fake.NewClock(time.Now())
	logs := &fake.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnv(t, func(c *wechatemu.Config) {
		c.Clock = fc.Now
		c.Logger = log.With("side", "emulator")
	})
	counts := &pathCounter{next: http.DefaultTransport}
	p, err := wechat.New(e.creds(), wechat.WithHTTPClient(&http.Client{Transport: counts, Timeout: 10 * time.Second}),
		wechat.WithLogger(log.With("side", "adapter")))
	if err != nil {
		t.Fatal(err)
	}
	ledger, err := store.Open(filepath.Join(t.TempDir(), "till.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ledger.Close() })
	eng := checkout.NewEngine(ledger, []checkout.Provider{p}, checkout.Config{Terminal: "T1"}, fc, log.With("side", "engine"))
	return &codeRig{env: e, clock: fc, eng: eng, p: p, logs: logs, counts: counts}
}

// pollUntil advances the clock by the poll interval and polls until the
// order is final or limit has passed since the sale began.
func (r *codeRig) pollUntil(t *testing.T, no string, limit time.Duration) (checkout.Order, error) {
	t.Helper()
	start := r.clock.Now()
	for {
		r.clock.Advance(checkout.CodePollInterval)
		o, err := r.eng.PollCode(t.Context(), no)
		if !o.State.Open() || r.clock.Now().Sub(start) >= limit {
			return o, err
		}
	}
}

func TestCodePayTestCodes(t *testing.T) {
	r := newCodeRig(t)
	ctx := t.Context()

	t.Run("pays at once", func(t *testing.T) {
		o, err := r.eng.ChargeCode(ctx, 1230, wechatemu.CodePaysAtOnce, "")
		if err != nil || o.State != checkout.StatePaid || o.ProviderTradeNo == "" || o.CodeTail != "0001" {
			t.Fatalf("%+v %v", o, err)
		}
		if tr, _ := r.emu.Trade(o.No); tr.State != wechatemu.StateSuccess || tr.TradeType != wechatemu.TradeTypeMicropay || tr.Token != "" {
			t.Fatalf("emulator: %+v", tr)
		}
	})

	t.Run("asks for the password, pays 5 s later", func(t *testing.T) {
		o, err := r.eng.ChargeCode(ctx, 880, wechatemu.CodeAsksPassword, "")
		if err != nil || !o.State.Open() {
			t.Fatalf("charge: %+v %v", o, err)
		}
		r.clock.Advance(4 * time.Second)
		if got, err := r.eng.PollCode(ctx, o.No); err != nil || !got.State.Open() {
			t.Fatalf("at 4 s: %+v %v", got, err)
		}
		r.clock.Advance(time.Second)
		got, err := r.eng.PollCode(ctx, o.No)
		if err != nil || got.State != checkout.StatePaid || got.ProviderTradeNo == "" {
			t.Fatalf("at 5 s: %+v %v", got, err)
		}
		if tr, _ := r.emu.Trade(o.No); tr.State != wechatemu.StateSuccess {
			t.Fatalf("emulator: %+v", tr)
		}
	})

	t.Run("never confirms: reversed at the deadline", func(t *testing.T) {
		before := r.counts.rev.Load()
		o, err := r.eng.ChargeCode(ctx, 500, wechatemu.CodeNeverConfirms, "")
		if err != nil || !o.State.Open() {
			t.Fatalf("charge: %+v %v", o, err)
		}
		for range 5 {
			r.clock.Advance(checkout.CodePollInterval)
			if got, err := r.eng.PollCode(ctx, o.No); err != nil || !got.State.Open() || r.counts.rev.Load() != before {
				t.Fatalf("before the deadline: %+v %v", got, err)
			}
		}
		r.clock.Advance(checkout.CodePollInterval)
		got, err := r.eng.PollCode(ctx, o.No)
		if err != nil || got.State != checkout.StateClosed || !strings.Contains(got.Reason, "reversed") || r.counts.rev.Load() != before+1 {
			t.Fatalf("at the deadline: %+v %v (%d reverses)", got, err, r.counts.rev.Load()-before)
		}
		if tr, _ := r.emu.Trade(o.No); tr.State != wechatemu.StateRevoked || tr.TransactionID != "" {
			t.Fatalf("emulator: %+v", tr)
		}
	})

	t.Run("insufficient balance", func(t *testing.T) {
		o, err := r.eng.ChargeCode(ctx, 990, wechatemu.CodeInsufficient, "")
		wantKind(t, err, checkout.KindInsufficient, "NOT_ENOUGH")
		if o.State != checkout.StateFailed || !strings.Contains(o.Reason, "insufficient") {
			t.Fatalf("%+v", o)
		}
	})

	t.Run("expired code", func(t *testing.T) {
		o, err := r.eng.ChargeCode(ctx, 990, wechatemu.CodeExpired, "")
		wantKind(t, err, checkout.KindRefused, "AUTHCODEEXPIRE")
		if o.State != checkout.StateFailed || !strings.Contains(o.Reason, "refresh") {
			t.Fatalf("%+v", o)
		}
	})

	t.Run("password then the payment fails", func(t *testing.T) {
		o, err := r.eng.ChargeCode(ctx, 770, wechatemu.CodePayFails, "")
		if err != nil || !o.State.Open() {
			t.Fatalf("charge: %+v %v", o, err)
		}
		got, err := r.pollUntil(t, o.No, checkout.CodePollInterval)
		if err != nil || got.State != checkout.StateClosed || !strings.Contains(got.Reason, "PAYERROR") {
			t.Fatalf("%+v %v", got, err)
		}
	})

	t.Run("any other valid code pays at once", func(t *testing.T) {
		o, err := r.eng.ChargeCode(ctx, 100, "104567890123456789", "")
		if err != nil || o.State != checkout.StatePaid {
			t.Fatalf("%+v %v", o, err)
		}
	})
}

// The adapter's own refusals and the emulator's for a code no wallet
// shows (the engine tells the wallet first, so these go to the adapter).
func TestCodePayInvalidCodes(t *testing.T) {
	r := newCodeRig(t)
	req := checkout.CodePayRequest{OrderNo: orderNo(), Amount: 100, Description: "tea", AuthCode: "194567890123456789", Terminal: "T1"}
	_, err := r.p.PayCode(t.Context(), req)
	wantKind(t, err, checkout.KindRefused, "AUTH_CODE_INVALID")
	if !strings.Contains(err.Error(), "refresh") {
		t.Fatalf("message: %v", err)
	}
	req.AuthCode = ""
	_, err = r.p.PayCode(t.Context(), req)
	wantKind(t, err, checkout.KindRefused, "")
	if n := r.counts.pay.Load(); n != 1 {
		t.Fatalf("%d pay calls; an empty code must not be sent", n)
	}
	// A PARAM_ERROR is a definite refusal.
	r.emu.SetFaults(wechatemu.Faults{Path: "/codepay", Status: 400, Code: "PARAM_ERROR", Times: 1})
	req.AuthCode, req.OrderNo = wechatemu.CodePaysAtOnce, orderNo()
	_, err = r.p.PayCode(t.Context(), req)
	wantKind(t, err, checkout.KindRefused, "PARAM_ERROR")
}

// SYSTEM_ERROR on the pay call is unknown; a query settles it: not found
// (nothing was charged: reversed at the deadline, which finds nothing) or
// paid (the work was done and the answer replaced).
func TestCodePaySystemError(t *testing.T) {
	r := newCodeRig(t)
	ctx := t.Context()

	r.emu.SetFaults(wechatemu.Faults{Path: "/codepay", Status: 500, Times: 1})
	o, err := r.eng.ChargeCode(ctx, 300, wechatemu.CodePaysAtOnce, "")
	wantKind(t, err, checkout.KindUnknown, "SYSTEM_ERROR")
	if !o.State.Open() {
		t.Fatalf("%+v", o)
	}
	got, err := r.pollUntil(t, o.No, checkout.DefaultCodeDeadline)
	if err != nil || got.State != checkout.StateClosed {
		t.Fatalf("never reached WeChat: %+v %v", got, err)
	}
	if _, ok := r.emu.Trade(o.No); ok {
		t.Fatal("the emulator has a trade it refused")
	}

	r.emu.SetFaults(wechatemu.Faults{Path: "/codepay", Processed: true, Status: 500, Times: 1})
	o, err = r.eng.ChargeCode(ctx, 300, wechatemu.CodePaysAtOnce, "")
	wantKind(t, err, checkout.KindUnknown, "SYSTEM_ERROR")
	got, err = r.pollUntil(t, o.No, checkout.DefaultCodeDeadline)
	if err != nil || got.State != checkout.StatePaid {
		t.Fatalf("processed: %+v %v", got, err)
	}
}

// The pay answer is lost after WeChat charged the code: unknown, the next
// poll's query finds it paid, and no second pay call was made.
func TestCodePayLostAnswer(t *testing.T) {
	r := newCodeRig(t)
	ctx := t.Context()
	r.emu.SetFaults(wechatemu.Faults{Path: "/codepay", Processed: true, DropConnection: true, Times: 1})
	o, err := r.eng.ChargeCode(ctx, 450, wechatemu.CodePaysAtOnce, "")
	if !checkout.IsUnknown(err) || !o.State.Open() {
		t.Fatalf("%+v %v", o, err)
	}
	got, err := r.pollUntil(t, o.No, checkout.CodePollInterval)
	if err != nil || got.State != checkout.StatePaid || got.ProviderTradeNo == "" {
		t.Fatalf("%+v %v", got, err)
	}
	if n := r.counts.pay.Load(); n != 1 {
		t.Fatalf("%d pay calls, want 1", n)
	}

	// A bad signature on the answer is unknown too.
	r.emu.SetFaults(wechatemu.Faults{Path: "/codepay", BadSignature: true, Times: 1})
	o, err = r.eng.ChargeCode(ctx, 450, wechatemu.CodePaysAtOnce, "")
	wantKind(t, err, checkout.KindUnknown, "")
	if got, err := r.pollUntil(t, o.No, checkout.CodePollInterval); err != nil || got.State != checkout.StatePaid {
		t.Fatalf("after a bad signature: %+v %v", got, err)
	}
}

// A reverse whose answer is lost: the sale stays open and the reverse is
// repeated (when WeChat did not do it) or the query finds it reversed
// (when it did).
func TestCodeReverseLostThenRepeated(t *testing.T) {
	r := newCodeRig(t)
	ctx := t.Context()

	o, _ := r.eng.ChargeCode(ctx, 600, wechatemu.CodeNeverConfirms, "")
	r.emu.SetFaults(wechatemu.Faults{Path: "/reverse", DropConnection: true, Times: 1})
	r.clock.Advance(checkout.DefaultCodeDeadline)
	got, err := r.eng.PollCode(ctx, o.No)
	if err == nil || !got.State.Open() {
		t.Fatalf("after a lost reverse: %+v %v", got, err)
	}
	if tr, _ := r.emu.Trade(o.No); tr.State != wechatemu.StateUserPaying {
		t.Fatalf("emulator: %+v", tr)
	}
	got, err = r.pollUntil(t, o.No, checkout.CodePollInterval)
	if err != nil || got.State != checkout.StateClosed || r.counts.rev.Load() != 2 {
		t.Fatalf("reversed again: %+v %v, %d reverses", got, err, r.counts.rev.Load())
	}

	o, _ = r.eng.ChargeCode(ctx, 600, wechatemu.CodeNeverConfirms, "")
	r.emu.SetFaults(wechatemu.Faults{Path: "/reverse", Processed: true, DropConnection: true, Times: 1})
	r.clock.Advance(checkout.DefaultCodeDeadline)
	if got, err := r.eng.PollCode(ctx, o.No); err == nil || !got.State.Open() {
		t.Fatalf("after a lost reverse: %+v %v", got, err)
	}
	if tr, _ := r.emu.Trade(o.No); tr.State != wechatemu.StateRevoked {
		t.Fatalf("emulator: %+v", tr)
	}
	got, err = r.pollUntil(t, o.No, checkout.CodePollInterval)
	if err != nil || got.State != checkout.StateClosed || r.counts.rev.Load() != 3 {
		t.Fatalf("found reversed: %+v %v, %d reverses", got, err, r.counts.rev.Load())
	}
}

// The customer confirms at the last moment, the engine's query fails, and
// the reverse gives the money back: paid and refunded in the ledger,
// REVOKED with the money returned at WeChat.
func TestCodeReverseRefundsALastMomentPayment(t *testing.T) {
	r := newCodeRig(t)
	ctx := t.Context()
	o, _ := r.eng.ChargeCode(ctx, 640, wechatemu.CodeNeverConfirms, "")
	r.clock.Advance(checkout.DefaultCodeDeadline)
	r.mustPay(o.No)
	r.emu.SetFaults(wechatemu.Faults{Path: "/out-trade-no/", Status: 500, Times: 1}) // the query
	got, err := r.eng.PollCode(ctx, o.No)
	if err != nil || got.State != checkout.StateRefunded || got.ProviderTradeNo == "" {
		t.Fatalf("%+v %v", got, err)
	}
	tr, _ := r.emu.Trade(o.No)
	if tr.State != wechatemu.StateRevoked || tr.Refunded != tr.Total || tr.TransactionID == "" {
		t.Fatalf("emulator: %+v", tr)
	}
	st, err := r.p.Query(ctx, o.No)
	if err != nil || st.State != checkout.TradeRefunded || st.Amount != 640 {
		t.Fatalf("query: %+v %v", st, err)
	}
}

// Reverse at the adapter: a USERPAYING answer (as an error or a 202) is
// unknown, to be repeated; an unknown order is KindNotFound; reversing
// again is fine.
func TestCodeReverseAnswers(t *testing.T) {
	r := newCodeRig(t)
	ctx := t.Context()
	no := orderNo()
	st, err := r.p.PayCode(ctx, checkout.CodePayRequest{OrderNo: no, Amount: 100, Description: "tea", AuthCode: wechatemu.CodeNeverConfirms, Terminal: "T1"})
	if err != nil || st.State != checkout.TradeNotPaid {
		t.Fatalf("pay: %+v %v", st, err)
	}
	r.emu.SetFaults(wechatemu.Faults{Path: "/reverse", Status: 403, Code: "USERPAYING", Times: 1})
	_, err = r.p.Reverse(ctx, no)
	wantKind(t, err, checkout.KindUnknown, "USERPAYING")
	r.emu.SetFaults(wechatemu.Faults{Path: "/reverse", Status: 202, Code: "USERPAYING", Times: 1})
	_, err = r.p.Reverse(ctx, no)
	wantKind(t, err, checkout.KindUnknown, "USERPAYING")
	for range 2 {
		if cr, err := r.p.Reverse(ctx, no); err != nil || cr.Outcome != checkout.CloseClosed {
			t.Fatalf("reverse: %+v %v", cr, err)
		}
	}
	_, err = r.p.Reverse(ctx, orderNo())
	wantKind(t, err, checkout.KindNotFound, "ORDER_NOT_EXIST")
}

// The query maps the payment-code states.
func TestCodeQueryStates(t *testing.T) {
	r := newCodeRig(t)
	ctx := t.Context()
	pay := func(code string) string {
		no := orderNo()
		if _, err := r.p.PayCode(ctx, checkout.CodePayRequest{OrderNo: no, Amount: 200, Description: "tea", AuthCode: code, Terminal: "T1"}); err != nil {
			t.Fatal(err)
		}
		return no
	}
	paying, failing, paid := pay(wechatemu.CodeNeverConfirms), pay(wechatemu.CodePayFails), pay(wechatemu.CodePaysAtOnce)
	want := func(no string, state checkout.TradeState, raw string) {
		t.Helper()
		st, err := r.p.Query(ctx, no)
		if err != nil || st.State != state || st.Raw != raw || st.Amount != 200 {
			t.Fatalf("%s: %+v %v, want %s %s", no, st, err, state, raw)
		}
	}
	want(paying, checkout.TradeNotPaid, "USERPAYING")
	want(failing, checkout.TradeNotPaid, "USERPAYING")
	r.clock.Advance(wechatemu.CodeConfirmDelay)
	want(failing, checkout.TradeFailed, "PAYERROR")
	if _, err := r.p.Reverse(ctx, paying); err != nil {
		t.Fatal(err)
	}
	want(paying, checkout.TradeClosed, "REVOKED")
	if cr, err := r.p.Reverse(ctx, paid); err != nil || cr.Outcome != checkout.CloseRefunded || cr.ProviderTradeNo == "" {
		t.Fatalf("reverse of a paid trade: %+v %v", cr, err)
	}
	want(paid, checkout.TradeRefunded, "REVOKED")
	// The same pay again answers the trade's state, not a second charge.
	if _, err := r.p.PayCode(ctx, checkout.CodePayRequest{OrderNo: paid, Amount: 200, Description: "tea", AuthCode: wechatemu.CodePaysAtOnce, Terminal: "T1"}); checkout.KindOf(err) != checkout.KindClosed {
		t.Fatalf("pay of a reversed trade: %v", err)
	}
}

// The customer's code is in no log line and no error, even when an
// answer echoes it.
func TestCodeNeverLogged(t *testing.T) {
	r := newCodeRig(t)
	ctx := t.Context()
	codes := []string{wechatemu.CodePaysAtOnce, wechatemu.CodeAsksPassword, wechatemu.CodeNeverConfirms,
		wechatemu.CodeInsufficient, wechatemu.CodeExpired, wechatemu.CodePayFails, "124567890123456789"}
	var errs []string
	for _, c := range codes {
		o, err := r.eng.ChargeCode(ctx, 100, c, "")
		if err != nil {
			errs = append(errs, err.Error())
		}
		if o.State.Open() {
			if _, err := r.pollUntil(t, o.No, checkout.DefaultCodeDeadline); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	echo := "135555000000001234"
	for _, f := range []wechatemu.Faults{
		{Path: "/codepay", Status: 400, Code: "PARAM_ERROR", Message: "payer.auth_code " + echo + " 无效"},
		{Path: "/codepay", Status: 500, Message: "auth_code=" + echo},
		{Path: "/codepay", BadSignature: true},
		{Path: "/codepay", Processed: true, DropConnection: true},
	} {
		f.Times = 1
		r.emu.SetFaults(f)
		_, err := r.p.PayCode(ctx, checkout.CodePayRequest{OrderNo: orderNo(), Amount: 100, Description: "tea", AuthCode: echo, Terminal: "T1"})
		if err == nil {
			t.Fatalf("fault %+v: no error", f)
		}
		errs = append(errs, err.Error())
	}
	_, err := r.p.PayCode(ctx, checkout.CodePayRequest{OrderNo: orderNo(), Amount: 100, Description: "tea", AuthCode: "199999999999999999", Terminal: "T1"})
	errs = append(errs, err.Error())

	logs := r.logs.String()
	if !strings.Contains(logs, "side=emulator") || !strings.Contains(logs, "side=adapter") || !strings.Contains(logs, "code_tail=1234") {
		t.Fatalf("the logs were not captured:\n%s", logs)
	}
	for _, c := range append(codes, echo, "199999999999999999") {
		if strings.Contains(logs, c) {
			t.Errorf("code %s in the logs:\n%s", c, logs)
		}
		for _, e := range errs {
			if strings.Contains(e, c) {
				t.Errorf("code %s in an error: %s", c, e)
			}
		}
	}
}

// Code trades are kept in the Store without the code (its last four
// digits only), and a restarted emulator still lets the customer confirm.
func TestCodeTradesPersistWithoutTheCode(t *testing.T) {
	st := fake.NewStore()
	fc := fake.NewClock(time.Now())
	var cfg wechatemu.Config
	e := newEnv(t, func(c *wechatemu.Config) { c.Store, c.Clock = st, fc.Now; cfg = *c })
	no := orderNo()
	if s, err := e.p.PayCode(t.Context(), checkout.CodePayRequest{OrderNo: no, Amount: 300, Description: "tea", AuthCode: wechatemu.CodeAsksPassword, Terminal: "T1"}); err != nil || s.State != checkout.TradeNotPaid {
		t.Fatalf("pay: %+v %v", s, err)
	}
	raw := string(st.Get("trade/" + no))
	if raw == "" || strings.Contains(raw, wechatemu.CodeAsksPassword) || !strings.Contains(raw, `"code_tail":"0002"`) {
		t.Fatalf("stored: %s", raw)
	}
	again, err := wechatemu.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if tr, ok := again.Trade(no); !ok || tr.State != wechatemu.StateUserPaying {
		t.Fatalf("reloaded: %+v", tr)
	}
	fc.Advance(wechatemu.CodeConfirmDelay)
	if tr, _ := again.Trade(no); tr.State != wechatemu.StateSuccess || tr.TransactionID == "" {
		t.Fatalf("after the delay: %+v", tr)
	}
}
