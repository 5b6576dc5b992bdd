package alipay

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"till/checkout"
	"till/providers/alipay/alipayemu"
	"till/providers/fake"
	"till/store"
)

// codeEnv is a provider on the emulator through the real SDK, and an
// engine on the real ledger, sharing one fake clock: the SDK checks only
// the answers' signatures, so the emulator's clock moves with the
// engine's and no test sleeps.
type codeEnv struct {
	*env
	fc     *fake.Clock
	ledger *store.Store
	spy    *codeSpy
	eng    *checkout.Engine
	saved  *fake.Store
	logs   *fake.Buffer
}

// codeSpy counts the engine's pay and reverse calls; beforeReverse runs
// just before a reverse reaches Alipay.
type codeSpy struct {
	*Provider
	pays, reverses atomic.Int32
	beforeReverse  func(no string)
}

func (s *codeSpy) PayCode(ctx context.Context, req checkout.CodePayRequest) (checkout.TradeStatus, error) {
	s.pays.Add(1)
	return s.Provider.PayCode(ctx, req)
}

func (s *codeSpy) Reverse(ctx context.Context, no string) (checkout.CloseResult, error) {
	s.reverses.Add(1)
	if s.beforeReverse != nil {
		s.beforeReverse(no)
	}
	return s.Provider.Reverse(ctx, no)
}

func newCodeEnv(t *testing.T, opts ...envOption) *codeEnv {
	t.Helper()
	fc := fake.NewClock(time.Now().Truncate(time.Second))
	saved := fake.NewStore()
	logs := &fake.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts = append([]envOption{func(c *alipayemu.Config, _ *Credentials, po *[]Option) {
		c.Clock, c.Store, c.Logger = fc.Now, saved, logger
		*po = append(*po, WithClock(fc.Now), WithLogger(logger))
	}}, opts...)
	e := newEnv(t, opts...)
	ledger := newLedger(t)
	spy := &codeSpy{Provider: e.p}
	eng := checkout.NewEngine(ledger, []checkout.Provider{spy}, checkout.Config{Location: Shanghai, Terminal: "T1"}, fc, logger)
	return &codeEnv{env: e, fc: fc, ledger: ledger, spy: spy, eng: eng, saved: saved, logs: logs}
}

func (c *codeEnv) stored(t *testing.T, no string) checkout.Order {
	t.Helper()
	o, err := c.ledger.Order(ctx, no)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// pollUntil polls every CodePollInterval by the fake clock until the order
// is final or limit has passed; it returns the last answer.
func (c *codeEnv) pollUntil(t *testing.T, no string, limit time.Duration) (checkout.Order, error) {
	t.Helper()
	var o checkout.Order
	var err error
	for waited := time.Duration(0); waited <= limit; waited += checkout.CodePollInterval {
		c.fc.Advance(checkout.CodePollInterval)
		if o, err = c.eng.PollCode(ctx, no); !o.State.Open() {
			return o, err
		}
	}
	return o, err
}

func TestCodePaysAtOnce(t *testing.T) {
	c := newCodeEnv(t)
	o, err := c.eng.ChargeCode(ctx, 1230, alipayemu.CodePaysAtOnce, "coffee")
	if err != nil || o.State != checkout.StatePaid {
		t.Fatalf("ChargeCode: %+v, %v", o, err)
	}
	tr, ok := c.emu.Trade(o.No)
	if !ok || tr.Status != alipayemu.StatusSuccess || tr.Scene != alipayemu.SceneBarCode || o.ProviderTradeNo != tr.TradeNo || o.Amount != 1230 {
		t.Fatalf("order %+v, emulator %+v", o, tr)
	}
	if !o.PaidAt.Equal(c.fc.Now()) {
		t.Fatalf("paid at %v, want gmt_payment %v", o.PaidAt, c.fc.Now())
	}
	var biz map[string]any
	if err := json.Unmarshal([]byte(c.emu.LastRequest().Get("biz_content")), &biz); err != nil {
		t.Fatal(err)
	}
	if biz["scene"] != "bar_code" || biz["auth_code"] != alipayemu.CodePaysAtOnce || biz["total_amount"] != "12.30" ||
		biz["out_trade_no"] != o.No || biz["terminal_id"] != "T1" || biz["subject"] == "" {
		t.Fatalf("trade.pay biz_content: %v", biz)
	}
	if tr.CodeTail != "0001" || strings.Contains(string(c.saved.Get(o.No)), alipayemu.CodePaysAtOnce) || string(c.saved.Get(o.No)) == "" {
		t.Fatalf("the emulator keeps %q of the code; saved %s", tr.CodeTail, string(c.saved.Get(o.No)))
	}
	if c.spy.pays.Load() != 1 || c.spy.reverses.Load() != 0 {
		t.Fatalf("%d pays, %d reverses", c.spy.pays.Load(), c.spy.reverses.Load())
	}
}

func TestCodeConfirmsLater(t *testing.T) {
	c := newCodeEnv(t)
	start := c.fc.Now()
	o, err := c.eng.ChargeCode(ctx, 4500, alipayemu.CodeConfirmsLater, "")
	if err != nil || !o.State.Open() {
		t.Fatalf("ChargeCode: %+v, %v", o, err)
	}
	c.fc.Advance(alipayemu.ConfirmDelay - time.Second)
	if o, err = c.eng.PollCode(ctx, o.No); err != nil || !o.State.Open() {
		t.Fatalf("before the customer confirms: %+v, %v", o, err)
	}
	c.fc.Advance(time.Second)
	if o, err = c.eng.PollCode(ctx, o.No); err != nil || o.State != checkout.StatePaid {
		t.Fatalf("after the customer confirms: %+v, %v", o, err)
	}
	if want := start.Add(alipayemu.ConfirmDelay); !o.PaidAt.Equal(want) {
		t.Fatalf("paid at %v, want %v", o.PaidAt, want)
	}
	if c.spy.pays.Load() != 1 || c.spy.reverses.Load() != 0 {
		t.Fatalf("%d pays, %d reverses", c.spy.pays.Load(), c.spy.reverses.Load())
	}
	if tr, _ := c.emu.Trade(o.No); tr.Status != alipayemu.StatusSuccess || o.ProviderTradeNo != tr.TradeNo {
		t.Fatalf("emulator: %+v", tr)
	}
}

func TestCodeNeverConfirmsIsCancelled(t *testing.T) {
	c := newCodeEnv(t)
	start := c.fc.Now()
	o, err := c.eng.ChargeCode(ctx, 700, alipayemu.CodeNeverConfirms, "")
	if err != nil || !o.State.Open() {
		t.Fatalf("ChargeCode: %+v, %v", o, err)
	}
	if st, err := c.p.Query(ctx, o.No); err != nil || st.State != checkout.TradeNotPaid {
		t.Fatalf("query of the waiting bar_code trade: %+v, %v", st, err)
	}
	o, err = c.pollUntil(t, o.No, time.Minute)
	if err != nil || o.State != checkout.StateClosed {
		t.Fatalf("at the deadline: %+v, %v", o, err)
	}
	if c.fc.Now().Before(start.Add(checkout.DefaultCodeDeadline)) {
		t.Fatalf("cancelled at %v, before the deadline", c.fc.Now().Sub(start))
	}
	tr, _ := c.emu.Trade(o.No)
	if tr.Status != alipayemu.StatusClosed || tr.CancelAction != "close" || tr.WasPaid() || c.spy.reverses.Load() != 1 {
		t.Fatalf("emulator %+v, %d reverses", tr, c.spy.reverses.Load())
	}
}

func TestCodeRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, code string
		kind       checkout.ErrorKind
		sub, msg   string
	}{
		{"insufficient", alipayemu.CodeInsufficient, checkout.KindInsufficient, "ACQ.BUYER_BALANCE_NOT_ENOUGH", "the customer's balance is not enough"},
		{"expired", alipayemu.CodeExpired, checkout.KindRefused, "ACQ.PAYMENT_AUTH_CODE_INVALID", "the code expired or was used: ask the customer to refresh it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCodeEnv(t)
			o, err := c.eng.ChargeCode(ctx, 990, tc.code, "")
			var pe *checkout.ProviderError
			if !errors.As(err, &pe) || pe.Kind != tc.kind || pe.Code != tc.sub || pe.Message != tc.msg {
				t.Fatalf("ChargeCode error: %#v", err)
			}
			if o.State != checkout.StateFailed || !strings.Contains(o.Reason, tc.msg) || c.stored(t, o.No).State != checkout.StateFailed {
				t.Fatalf("order: %+v", o)
			}
			if _, ok := c.emu.Trade(o.No); ok {
				t.Fatal("a refused code made a trade")
			}
		})
	}
	t.Run("invalid code", func(t *testing.T) {
		c := newCodeEnv(t)
		_, err := c.p.PayCode(ctx, checkout.CodePayRequest{OrderNo: newOrderNo(), Amount: 100, Description: "x", AuthCode: "1234"})
		var pe *checkout.ProviderError
		if !errors.As(err, &pe) || pe.Kind != checkout.KindRefused || pe.Code != "ACQ.PAYMENT_AUTH_CODE_INVALID" || !checkout.IsDefinite(err) {
			t.Fatalf("PayCode: %#v", err)
		}
	})
}

func TestCodePayUnavailable(t *testing.T) {
	t.Run("processed", func(t *testing.T) {
		c := newCodeEnv(t)
		c.emu.SetFaults(alipayemu.Faults{Method: "alipay.trade.pay", Unavailable: true, Times: 1})
		o, err := c.eng.ChargeCode(ctx, 1500, alipayemu.CodePaysAtOnce, "")
		if !checkout.IsUnknown(err) || !o.State.Open() {
			t.Fatalf("ChargeCode: %+v, %v", o, err)
		}
		if o, err = c.pollUntil(t, o.No, 0); err != nil || o.State != checkout.StatePaid {
			t.Fatalf("query: %+v, %v", o, err)
		}
		if c.spy.pays.Load() != 1 {
			t.Fatalf("%d pays", c.spy.pays.Load())
		}
	})
	t.Run("not processed", func(t *testing.T) {
		c := newCodeEnv(t)
		c.emu.SetFaults(alipayemu.Faults{Method: "alipay.trade.pay", Unavailable: true, Unprocessed: true, Times: 1})
		o, err := c.eng.ChargeCode(ctx, 1500, alipayemu.CodePaysAtOnce, "")
		if !checkout.IsUnknown(err) || !o.State.Open() {
			t.Fatalf("ChargeCode: %+v, %v", o, err)
		}
		if st, err := c.p.Query(ctx, o.No); err != nil || st.State != checkout.TradeNotFound {
			t.Fatalf("query: %+v, %v", st, err)
		}
		// No trade at Alipay: at the deadline the cancel finds none and
		// the sale closes; the pay is never sent again.
		if o, err = c.pollUntil(t, o.No, time.Minute); err != nil || o.State != checkout.StateClosed {
			t.Fatalf("at the deadline: %+v, %v", o, err)
		}
		if c.spy.pays.Load() != 1 || c.spy.reverses.Load() != 1 {
			t.Fatalf("%d pays, %d reverses", c.spy.pays.Load(), c.spy.reverses.Load())
		}
	})
}

// TestCodePayLostAnswer: Alipay charged the code and the answer was lost.
// The query finds it paid; the code is not charged a second time.
func TestCodePayLostAnswer(t *testing.T) {
	c := newCodeEnv(t)
	c.emu.SetFaults(alipayemu.Faults{Method: "alipay.trade.pay", Reset: true, Times: 1})
	o, err := c.eng.ChargeCode(ctx, 2600, alipayemu.CodePaysAtOnce, "")
	if !checkout.IsUnknown(err) || !o.State.Open() {
		t.Fatalf("ChargeCode: %+v, %v", o, err)
	}
	o, err = c.eng.PollCode(ctx, o.No)
	if err != nil || o.State != checkout.StatePaid || o.Amount != 2600 {
		t.Fatalf("PollCode: %+v, %v", o, err)
	}
	tr, _ := c.emu.Trade(o.No)
	if o.ProviderTradeNo != tr.TradeNo || c.spy.pays.Load() != 1 || c.emu.LastRequest().Get("method") != "alipay.trade.query" {
		t.Fatalf("order %+v, trade %+v, %d pays, last %s", o, tr, c.spy.pays.Load(), c.emu.LastRequest().Get("method"))
	}
}

// TestCodeCancelRetryFlag: the cancel is answered ACQ.SYSTEM_ERROR with
// retry_flag=Y; the sale stays open and the next poll cancels again.
func TestCodeCancelRetryFlag(t *testing.T) {
	c := newCodeEnv(t)
	o, err := c.eng.ChargeCode(ctx, 800, alipayemu.CodeNeverConfirms, "")
	if err != nil || !o.State.Open() {
		t.Fatalf("ChargeCode: %+v, %v", o, err)
	}
	c.emu.SetFaults(alipayemu.Faults{Method: "alipay.trade.cancel", SystemError: true, Unprocessed: true, Times: 1})
	c.fc.Advance(checkout.DefaultCodeDeadline)
	o, err = c.eng.PollCode(ctx, o.No)
	if err == nil || !checkout.IsUnknown(err) || !o.State.Open() || !c.stored(t, o.No).State.Open() || c.spy.reverses.Load() != 1 {
		t.Fatalf("after retry_flag=Y: %+v, %v, %d reverses", o, err, c.spy.reverses.Load())
	}
	c.fc.Advance(checkout.CodePollInterval)
	o, err = c.eng.PollCode(ctx, o.No)
	if err != nil || o.State != checkout.StateClosed || c.spy.reverses.Load() != 2 {
		t.Fatalf("the repeated cancel: %+v, %v, %d reverses", o, err, c.spy.reverses.Load())
	}
	if tr, _ := c.emu.Trade(o.No); tr.Status != alipayemu.StatusClosed || tr.CancelAction != "close" {
		t.Fatalf("emulator: %+v", tr)
	}
}

// TestCodeConfirmsAsCancelArrives: the customer confirms just before the
// cancel reaches Alipay, which refunds; the ledger has the sale paid and
// refunded in full.
func TestCodeConfirmsAsCancelArrives(t *testing.T) {
	c := newCodeEnv(t)
	c.spy.beforeReverse = func(no string) {
		if err := c.emu.Pay(no); err != nil {
			t.Errorf("the customer confirms: %v", err)
		}
	}
	o, err := c.eng.ChargeCode(ctx, 3300, alipayemu.CodeNeverConfirms, "")
	if err != nil || !o.State.Open() {
		t.Fatalf("ChargeCode: %+v, %v", o, err)
	}
	o, err = c.pollUntil(t, o.No, time.Minute)
	if err != nil || o.State != checkout.StateRefunded || o.Refunded != 3300 {
		t.Fatalf("after the cancel: %+v, %v", o, err)
	}
	tr, _ := c.emu.Trade(o.No)
	if tr.CancelAction != "refund" || tr.RefundedFen != 3300 || tr.Status != alipayemu.StatusClosed || o.ProviderTradeNo != tr.TradeNo {
		t.Fatalf("emulator %+v, order %+v", tr, o)
	}
	rs, err := c.ledger.Refunds(ctx, o.No)
	if err != nil || len(rs) != 1 || rs[0].State != checkout.RefundSucceeded || rs[0].Amount != 3300 {
		t.Fatalf("refunds: %+v, %v", rs, err)
	}
	if sales, refunds := dayNet(t, c.ledger, c.fc.Now()); sales != 3300 || refunds != 3300 {
		t.Fatalf("day: sales %s, refunds %s", sales, refunds)
	}
	// A second cancel is answered the same way and moves no money.
	if cr, err := c.p.Reverse(ctx, o.No); err != nil || cr.Outcome != checkout.CloseRefunded {
		t.Fatalf("repeated cancel: %+v, %v", cr, err)
	}
	if tr, _ = c.emu.Trade(o.No); tr.RefundedFen != 3300 || len(tr.Refunds) != 1 {
		t.Fatalf("emulator after a repeated cancel: %+v", tr)
	}
}

// TestCodeReverse: the adapter's cancel, one call each: close, idempotent,
// refund, not found, and retry_flag=Y as unknown.
func TestCodeReverse(t *testing.T) {
	c := newCodeEnv(t)
	req := func(code string) checkout.CodePayRequest {
		return checkout.CodePayRequest{OrderNo: newOrderNo(), Amount: 500, Description: "tea", AuthCode: code, Terminal: "T1"}
	}
	waiting := req(alipayemu.CodeNeverConfirms)
	st, err := c.p.PayCode(ctx, waiting)
	if err != nil || st.State != checkout.TradeNotPaid || st.ProviderTradeNo == "" {
		t.Fatalf("PayCode waiting: %+v, %v", st, err)
	}
	for range 2 {
		if cr, err := c.p.Reverse(ctx, waiting.OrderNo); err != nil || cr.Outcome != checkout.CloseClosed || cr.ProviderTradeNo != st.ProviderTradeNo {
			t.Fatalf("Reverse waiting: %+v, %v", cr, err)
		}
	}
	paid := req(alipayemu.CodePaysAtOnce)
	if st, err = c.p.PayCode(ctx, paid); err != nil || st.State != checkout.TradePaid || st.Amount != 500 {
		t.Fatalf("PayCode paid: %+v, %v", st, err)
	}
	if cr, err := c.p.Reverse(ctx, paid.OrderNo); err != nil || cr.Outcome != checkout.CloseRefunded || cr.ProviderTradeNo != st.ProviderTradeNo {
		t.Fatalf("Reverse paid: %+v, %v", cr, err)
	}
	if st, err := c.p.Query(ctx, paid.OrderNo); err != nil || st.State != checkout.TradeRefunded {
		t.Fatalf("query after the refund: %+v, %v", st, err)
	}
	if _, err := c.p.Reverse(ctx, newOrderNo()); checkout.KindOf(err) != checkout.KindNotFound {
		t.Fatalf("Reverse of no trade: %v", err)
	}
	other := req(alipayemu.CodeNeverConfirms)
	if _, err := c.p.PayCode(ctx, other); err != nil {
		t.Fatal(err)
	}
	c.emu.SetFaults(alipayemu.Faults{Method: "alipay.trade.cancel", SystemError: true, Unprocessed: true, Times: 1})
	if _, err := c.p.Reverse(ctx, other.OrderNo); !checkout.IsUnknown(err) {
		t.Fatalf("Reverse answered retry_flag=Y: %v", err)
	}
	if tr, _ := c.emu.Trade(other.OrderNo); tr.Status != alipayemu.StatusWaitBuyerPay {
		t.Fatalf("an unprocessed cancel changed the trade: %+v", tr)
	}
}

// TestCodeNeverLogged: the customer's code is in no log line of the
// adapter, the emulator or the engine, and in no error, for every outcome,
// a bad signature included (whose answer echoes the signed content).
func TestCodeNeverLogged(t *testing.T) {
	c := newCodeEnv(t)
	codes := []string{alipayemu.CodePaysAtOnce, alipayemu.CodeConfirmsLater, alipayemu.CodeNeverConfirms,
		alipayemu.CodeInsufficient, alipayemu.CodeExpired, "2599998888777766"}
	for _, code := range codes {
		o, err := c.eng.ChargeCode(ctx, 100, code, "")
		if err != nil && strings.Contains(err.Error(), code) {
			t.Errorf("the error carries the code: %v", err)
		}
		if o.State.Open() {
			if _, err := c.pollUntil(t, o.No, time.Minute); err != nil && strings.Contains(err.Error(), code) {
				t.Errorf("the error carries the code: %v", err)
			}
		}
	}
	c.emu.SetFaults(alipayemu.Faults{Method: "alipay.trade.pay", Reset: true, Times: 1})
	c.eng.ChargeCode(ctx, 100, alipayemu.CodePaysAtOnce, "")

	// till's key is wrong: the gateway's refusal quotes the signed
	// content, auth_code and all.
	bad := newCodeEnv(t, func(_ *alipayemu.Config, cr *Credentials, _ *[]Option) { cr.PrivateKey = otherKey })
	_, err := bad.p.PayCode(ctx, checkout.CodePayRequest{OrderNo: newOrderNo(), Amount: 100, Description: "x", AuthCode: alipayemu.CodePaysAtOnce})
	if checkout.KindOf(err) != checkout.KindAuth || strings.Contains(err.Error(), alipayemu.CodePaysAtOnce) {
		t.Fatalf("bad signature: %v", err)
	}
	// The echo is kept, with the code cut to its tail.
	if pe := (*checkout.ProviderError)(nil); !errors.As(err, &pe) || pe.Err == nil ||
		strings.Contains(pe.Err.Error(), alipayemu.CodePaysAtOnce) || !strings.Contains(pe.Err.Error(), `"auth_code":"…0001"`) {
		t.Fatalf("the wrapped error: %#v", err)
	}

	logs := c.logs.String() + bad.logs.String()
	for _, want := range []string{"op=pay", "alipayemu: trade.pay", "code_tail=0001", "code_tail=0003", "op=reverse"} {
		if !strings.Contains(logs, want) {
			t.Fatalf("the logs lack %q (the capture is broken):\n%s", want, logs)
		}
	}
	for _, code := range append(codes, alipayemu.CodePaysAtOnce) {
		if strings.Contains(logs, code) {
			t.Fatalf("the code %s is in the logs:\n%s", code, logs)
		}
	}
}

// stubGateway answers every call with biz, signed by Alipay's key, under
// the response key of the method asked.
func stubGateway(t *testing.T, biz string) *Provider {
	t.Helper()
	testKeys(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		sum := sha256.Sum256([]byte(biz))
		sig, err := rsa.SignPKCS1v15(nil, alipayKey, crypto.SHA256, sum[:])
		if err != nil {
			t.Error(err)
		}
		key := strings.ReplaceAll(r.Form.Get("method"), ".", "_") + "_response"
		w.Write([]byte(`{"` + key + `":` + biz + `,"sign":"` + base64.StdEncoding.EncodeToString(sig) + `"}`))
	}))
	t.Cleanup(srv.Close)
	p, err := New(Credentials{AppID: testAppID, PrivateKey: appKey, AlipayPublicKey: &alipayKey.PublicKey, Production: true, Gateway: srv.URL + "/gateway.do"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCodeAnswers maps answers the emulator does not give: each is
// signed and well formed.
func TestCodeAnswers(t *testing.T) {
	const no = "ORDER1"
	pay := func(t *testing.T, biz string) (checkout.TradeStatus, error) {
		return stubGateway(t, biz).PayCode(ctx, checkout.CodePayRequest{OrderNo: no, Amount: 1230, Description: "x", AuthCode: alipayemu.CodePaysAtOnce})
	}
	reverse := func(t *testing.T, biz string) (checkout.CloseResult, error) {
		return stubGateway(t, biz).Reverse(ctx, no)
	}
	t.Run("pay 10003", func(t *testing.T) {
		st, err := pay(t, `{"code":"10003","msg":"Order success pay inprocess","out_trade_no":"ORDER1","trade_no":"2026T"}`)
		if err != nil || st.State != checkout.TradeNotPaid || st.ProviderTradeNo != "2026T" {
			t.Fatalf("%+v, %v", st, err)
		}
	})
	t.Run("pay 10000", func(t *testing.T) {
		st, err := pay(t, `{"code":"10000","msg":"Success","out_trade_no":"ORDER1","trade_no":"2026T","total_amount":"12.30","gmt_payment":"2026-12-02 10:00:05"}`)
		want := time.Date(2026, 12, 2, 10, 0, 5, 0, Shanghai)
		if err != nil || st.State != checkout.TradePaid || st.Amount != 1230 || !st.PaidAt.Equal(want) {
			t.Fatalf("%+v, %v", st, err)
		}
	})
	for name, biz := range map[string]string{
		"pay 10000 without amount": `{"code":"10000","msg":"Success","out_trade_no":"ORDER1","trade_no":"2026T"}`,
		"pay 10000 other order":    `{"code":"10000","msg":"Success","out_trade_no":"ORDER2","trade_no":"2026T","total_amount":"12.30"}`,
		"pay 20000":                `{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"x"}`,
		"pay system error":         `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.SYSTEM_ERROR","sub_msg":"x"}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := pay(t, biz); !checkout.IsUnknown(err) {
				t.Fatalf("%v, want unknown", err)
			}
		})
	}
	t.Run("pay ACQ.AUTH_CODE_INVALID", func(t *testing.T) {
		_, err := pay(t, `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.AUTH_CODE_INVALID","sub_msg":"x"}`)
		var pe *checkout.ProviderError
		if !errors.As(err, &pe) || pe.Kind != checkout.KindRefused || pe.Message != "the code expired or was used: ask the customer to refresh it" {
			t.Fatalf("%#v", err)
		}
	})
	t.Run("pay other refusal", func(t *testing.T) {
		_, err := pay(t, `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_HAS_CLOSE","sub_msg":"x"}`)
		if checkout.KindOf(err) != checkout.KindClosed {
			t.Fatalf("%v", err)
		}
	})
	for name, biz := range map[string]string{
		"cancel 10000 retry_flag=Y": `{"code":"10000","msg":"Success","out_trade_no":"ORDER1","retry_flag":"Y","action":"close"}`,
		"cancel 40004 retry_flag=Y": `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_STATUS_ERROR","sub_msg":"x","retry_flag":"Y"}`,
		"cancel no action":          `{"code":"10000","msg":"Success","out_trade_no":"ORDER1","retry_flag":"N"}`,
		"cancel other order":        `{"code":"10000","msg":"Success","out_trade_no":"ORDER2","retry_flag":"N","action":"close"}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := reverse(t, biz); !checkout.IsUnknown(err) {
				t.Fatalf("%v, want unknown", err)
			}
		})
	}
	t.Run("cancel refund", func(t *testing.T) {
		cr, err := reverse(t, `{"code":"10000","msg":"Success","out_trade_no":"ORDER1","trade_no":"2026T","retry_flag":"N","action":"refund"}`)
		if err != nil || cr.Outcome != checkout.CloseRefunded || cr.ProviderTradeNo != "2026T" {
			t.Fatalf("%+v, %v", cr, err)
		}
	})
	t.Run("cancel not exist", func(t *testing.T) {
		_, err := reverse(t, `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"x","retry_flag":"N"}`)
		if checkout.KindOf(err) != checkout.KindNotFound {
			t.Fatalf("%v", err)
		}
	})
}
