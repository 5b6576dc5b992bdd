package wechat_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"

	"till/checkout"
	"till/providers/wechat"
	"till/providers/wechat/wechatemu"
)

func TestMethod(t *testing.T) {
	e := newEnv(t)
	if e.p.Method() != checkout.MethodWeChat {
		t.Fatalf("Method() = %v", e.p.Method())
	}
}

func TestCreateSendsTheDocumentedFields(t *testing.T) {
	e := newEnv(t)
	no := orderNo()
	req := createReq(no)
	// A deadline in another zone with a fraction: WeChat gets whole
	// seconds in +08:00.
	req.ExpiresAt = time.Now().Add(3 * time.Minute).In(time.FixedZone("EST", -5*3600)).Truncate(time.Second).Add(123 * time.Millisecond)
	req.NotifyURL = "https://shop.example.com/notify/wechat"
	res, err := e.p.Create(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.CodeURL, e.srv.URL+"/pay/") {
		t.Fatalf("code_url %q is not the emulator's payer page", res.CodeURL)
	}
	tr, ok := e.emu.Trade(no)
	if !ok {
		t.Fatal("the emulator has no trade")
	}
	wantExpire := wechat.FormatTimeExpire(req.ExpiresAt)
	if tr.TimeExpireRaw != wantExpire || !strings.HasSuffix(wantExpire, "+08:00") || strings.Contains(wantExpire, ".") {
		t.Errorf("time_expire sent %q, want %q (+08:00, whole seconds)", tr.TimeExpireRaw, wantExpire)
	}
	if !tr.TimeExpire.Equal(req.ExpiresAt.Truncate(time.Second)) {
		t.Errorf("time_expire %v, want %v", tr.TimeExpire, req.ExpiresAt.Truncate(time.Second))
	}
	if tr.Total != 1234 || tr.Currency != "CNY" || tr.Description != "till - coffee" ||
		tr.Attach != "terminal=T1" || tr.NotifyURL != req.NotifyURL || tr.AppID != appID || tr.MchID != mchID {
		t.Errorf("trade as received: %+v", tr)
	}
}

func TestFormatTimeExpire(t *testing.T) {
	utc := time.Date(2026, 11, 23, 2, 1, 35, 987654321, time.UTC)
	if got, want := wechat.FormatTimeExpire(utc), "2026-11-23T10:01:35+08:00"; got != want {
		t.Fatalf("FormatTimeExpire = %q, want %q", got, want)
	}
	ny := utc.In(time.FixedZone("EST", -5*3600))
	if got := wechat.FormatTimeExpire(ny); got != "2026-11-23T10:01:35+08:00" {
		t.Fatalf("zone leaked: %q", got)
	}
}

func TestCreatePayQuery(t *testing.T) {
	e := newEnv(t)
	no := orderNo()
	code := e.mustCreate(no)

	st, err := e.p.Query(t.Context(), no)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != checkout.TradeNotPaid || st.Raw != "NOTPAY" || st.Amount != 1234 || st.ProviderTradeNo != "" {
		t.Fatalf("before paying: %+v", st)
	}

	// The payer page, as a customer's phone sees it.
	greq, _ := http.NewRequest(http.MethodGet, code, nil)
	greq.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	resp, err := http.DefaultClient.Do(greq)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"¥12.34", no, "till - coffee", `value="pay"`, `value="decline"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("payer page lacks %q", want)
		}
	}

	post := func(action string) int {
		resp, err := http.PostForm(code, url.Values{"action": {action}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := post("decline"); s != http.StatusOK {
		t.Fatalf("decline: %d", s)
	}
	if st, _ := e.p.Query(t.Context(), no); st.State != checkout.TradeNotPaid {
		t.Fatalf("after decline: %+v", st)
	}
	if s := post("pay"); s != http.StatusOK {
		t.Fatalf("pay: %d", s)
	}
	st, err = e.p.Query(t.Context(), no)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != checkout.TradePaid || st.Raw != "SUCCESS" || st.Amount != 1234 ||
		!strings.HasPrefix(st.ProviderTradeNo, "4200") || st.PaidAt.IsZero() {
		t.Fatalf("after paying: %+v", st)
	}
	if d := time.Since(st.PaidAt); d < -time.Minute || d > time.Minute {
		t.Fatalf("PaidAt %v is not now", st.PaidAt)
	}
}

func TestCreateIsIdempotentAndRefusesChangedParameters(t *testing.T) {
	e := newEnv(t)
	no := orderNo()
	req := createReq(no)
	a, err := e.p.Create(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.p.Create(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if a.CodeURL != b.CodeURL {
		t.Fatalf("same request, different codes: %q %q", a.CodeURL, b.CodeURL)
	}
	req.Amount = 999
	_, err = e.p.Create(t.Context(), req)
	wantKind(t, err, checkout.KindRefused, "OUT_TRADE_NO_USED")
}

func TestCreateRefusedLocally(t *testing.T) {
	e := newEnv(t)
	req := createReq(orderNo())
	req.Amount = 0
	_, err := e.p.Create(t.Context(), req)
	wantKind(t, err, checkout.KindRefused, "")
	if len(e.emu.Deliveries()) != 0 {
		t.Fatal("unexpected")
	}
}

func TestCreateParamError(t *testing.T) {
	e := newEnv(t)
	req := createReq("abc") // WeChat wants 6 to 32 characters
	_, err := e.p.Create(t.Context(), req)
	wantKind(t, err, checkout.KindRefused, "PARAM_ERROR")
}

func TestQueryUnknownOrderIsNotFound(t *testing.T) {
	e := newEnv(t)
	st, err := e.p.Query(t.Context(), orderNo())
	if err != nil {
		t.Fatal(err)
	}
	if st.State != checkout.TradeNotFound {
		t.Fatalf("got %+v", st)
	}
}

func TestClose(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()

	no := orderNo()
	code := e.mustCreate(no)
	cr, err := e.p.Close(ctx, no)
	if err != nil || cr.Outcome != checkout.CloseClosed {
		t.Fatalf("close unpaid: %+v %v", cr, err)
	}
	if st, err := e.p.Query(ctx, no); err != nil || st.State != checkout.TradeClosed || st.Raw != "CLOSED" {
		t.Fatalf("query closed: %+v %v", st, err)
	}
	if cr, err := e.p.Close(ctx, no); err != nil || cr.Outcome != checkout.CloseClosed {
		t.Fatalf("close again: %+v %v", cr, err)
	}
	_, err = e.p.Create(ctx, createReq(no))
	wantKind(t, err, checkout.KindClosed, "ORDER_CLOSED")
	resp, err := http.PostForm(code, url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("paying a closed trade: %d, want 409", resp.StatusCode)
	}

	paid := orderNo()
	e.mustCreate(paid)
	e.mustPay(paid)
	cr, err = e.p.Close(ctx, paid)
	if err != nil || cr.Outcome != checkout.CloseWasPaid {
		t.Fatalf("close paid: %+v %v", cr, err)
	}
	_, err = e.p.Create(ctx, createReq(paid))
	wantKind(t, err, checkout.KindAlreadyPaid, "ORDERPAID")

	_, err = e.p.Close(ctx, orderNo())
	wantKind(t, err, checkout.KindNotFound, "ORDER_NOT_EXIST")
}

func TestCloseTradeErrorIsSettledByQuery(t *testing.T) {
	e := newEnv(t)
	no := orderNo()
	e.mustCreate(no)
	e.mustPay(no)
	e.emu.SetFaults(wechatemu.Faults{Path: "/close", Status: 403, Code: "TRADE_ERROR", Message: "交易错误", Times: 1})
	cr, err := e.p.Close(t.Context(), no)
	if err != nil || cr.Outcome != checkout.CloseWasPaid || cr.ProviderTradeNo == "" {
		t.Fatalf("TRADE_ERROR on a paid trade: %+v %v", cr, err)
	}
	unpaid := orderNo()
	e.mustCreate(unpaid)
	e.emu.SetFaults(wechatemu.Faults{Path: "/close", Status: 403, Code: "TRADE_ERROR", Times: 1})
	_, err = e.p.Close(t.Context(), unpaid)
	wantKind(t, err, checkout.KindUnknown, "TRADE_ERROR")
}

func TestExpiredTradeIsClosed(t *testing.T) {
	e := newEnv(t)
	no := orderNo()
	req := createReq(no)
	req.ExpiresAt = time.Now().Add(time.Minute)
	res, err := e.p.Create(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute) // within the 5-minute signature window
	st, err := e.p.Query(t.Context(), no)
	if err != nil || st.State != checkout.TradeClosed {
		t.Fatalf("after time_expire: %+v %v", st, err)
	}
	if err := e.emu.Pay(no); !errors.Is(err, wechatemu.ErrNotPayable) {
		t.Fatalf("Pay after expiry: %v", err)
	}
	resp, err := http.PostForm(res.CodeURL, url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "closed") {
		t.Fatalf("payer page after expiry: %d %s", resp.StatusCode, body)
	}
}

func TestRefunds(t *testing.T) {
	e := newEnv(t, func(c *wechatemu.Config) { c.RefundDelay = time.Hour })
	ctx := t.Context()
	no := orderNo()
	e.mustCreate(no)
	e.mustPay(no)

	r1 := checkout.RefundRequest{OrderNo: no, RefundNo: no + "R1", Amount: 300, Total: 1234, Reason: "spilt"}
	st, err := e.p.Refund(ctx, r1)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != checkout.RefundRequested || st.Raw != "PROCESSING" || st.ProviderRefundNo == "" {
		t.Fatalf("refund: %+v", st)
	}
	again, err := e.p.Refund(ctx, r1)
	if err != nil || again.ProviderRefundNo != st.ProviderRefundNo {
		t.Fatalf("same out_refund_no must be the same refund: %+v %v", again, err)
	}
	changed := r1
	changed.Amount = 301
	_, err = e.p.Refund(ctx, changed)
	wantKind(t, err, checkout.KindRefused, "INVALID_REQUEST")

	if q, err := e.p.QueryRefund(ctx, no, r1.RefundNo); err != nil || q.State != checkout.RefundRequested {
		t.Fatalf("query processing refund: %+v %v", q, err)
	}
	// The bank completes it (TestRefundSettlesAfterDelay lets time do it).
	if err := e.emu.SetRefundStatus(r1.RefundNo, wechatemu.RefundSuccess); err != nil {
		t.Fatal(err)
	}
	q, err := e.p.QueryRefund(ctx, no, r1.RefundNo)
	if err != nil || q.State != checkout.RefundSucceeded || q.SucceededAt.IsZero() || q.Raw != "SUCCESS" {
		t.Fatalf("query succeeded refund: %+v %v", q, err)
	}

	if st, err := e.p.Query(ctx, no); err != nil || st.State != checkout.TradePaid || st.Raw != "REFUND" {
		t.Fatalf("a refunded trade is still paid: %+v %v", st, err)
	}

	_, err = e.p.Refund(ctx, checkout.RefundRequest{OrderNo: no, RefundNo: no + "R2", Amount: 1000, Total: 1234})
	wantKind(t, err, checkout.KindRefused, "INVALID_REQUEST")

	// The bank closes one refund and finds another abnormal.
	r3 := checkout.RefundRequest{OrderNo: no, RefundNo: no + "R3", Amount: 100, Total: 1234}
	if _, err := e.p.Refund(ctx, r3); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.SetRefundStatus(r3.RefundNo, wechatemu.RefundClosed); err != nil {
		t.Fatal(err)
	}
	if q, err := e.p.QueryRefund(ctx, no, r3.RefundNo); err != nil || q.State != checkout.RefundFailed || q.Raw != "CLOSED" {
		t.Fatalf("closed refund: %+v %v", q, err)
	}
	r4 := checkout.RefundRequest{OrderNo: no, RefundNo: no + "R4", Amount: 934, Total: 1234} // all that is left: the closed one gave 100 back
	if _, err := e.p.Refund(ctx, r4); err != nil {
		t.Fatalf("refund of what is left after a closed refund: %v", err)
	}
	if err := e.emu.SetRefundStatus(r4.RefundNo, wechatemu.RefundAbnormal); err != nil {
		t.Fatal(err)
	}
	if q, err := e.p.QueryRefund(ctx, no, r4.RefundNo); err != nil || q.State != checkout.RefundRequested || q.Raw != "ABNORMAL" {
		t.Fatalf("abnormal refund: %+v %v", q, err)
	}

	_, err = e.p.QueryRefund(ctx, no, no+"R9")
	wantKind(t, err, checkout.KindNotFound, "RESOURCE_NOT_EXISTS")
	_, err = e.p.QueryRefund(ctx, "other-order", r1.RefundNo)
	wantKind(t, err, checkout.KindRefused, "")
	_, err = e.p.Refund(ctx, checkout.RefundRequest{OrderNo: orderNo(), RefundNo: "X1", Amount: 1, Total: 1234})
	wantKind(t, err, checkout.KindNotFound, "RESOURCE_NOT_EXISTS")

	unpaid := orderNo()
	e.mustCreate(unpaid)
	_, err = e.p.Refund(ctx, checkout.RefundRequest{OrderNo: unpaid, RefundNo: unpaid + "R1", Amount: 1, Total: 1234})
	wantKind(t, err, checkout.KindRefused, "INVALID_REQUEST")
}

func TestRefundSettlesAfterDelay(t *testing.T) {
	e := newEnv(t, func(c *wechatemu.Config) { c.RefundDelay = 90 * time.Second })
	no := orderNo()
	e.mustCreate(no)
	e.mustPay(no)
	r := checkout.RefundRequest{OrderNo: no, RefundNo: no + "R1", Amount: 1234, Total: 1234}
	if st, err := e.p.Refund(t.Context(), r); err != nil || st.State != checkout.RefundRequested {
		t.Fatalf("%+v %v", st, err)
	}
	e.clock.Advance(2 * time.Minute)
	q, err := e.p.QueryRefund(t.Context(), no, r.RefundNo)
	if err != nil || q.State != checkout.RefundSucceeded {
		t.Fatalf("after the delay: %+v %v", q, err)
	}
}

func TestRefundImmediateSuccess(t *testing.T) {
	e := newEnv(t) // RefundDelay 0
	no := orderNo()
	e.mustCreate(no)
	e.mustPay(no)
	st, err := e.p.Refund(t.Context(), checkout.RefundRequest{OrderNo: no, RefundNo: no + "R1", Amount: 1234, Total: 1234})
	if err != nil || st.State != checkout.RefundSucceeded || st.SucceededAt.IsZero() {
		t.Fatalf("%+v %v", st, err)
	}
	_, err = e.p.Refund(t.Context(), checkout.RefundRequest{OrderNo: no, RefundNo: no + "R2", Amount: 1, Total: 1234})
	wantKind(t, err, checkout.KindRefused, "INVALID_REQUEST")
}

// Every error answer WeChat documents, injected by the emulator's fault
// switch, mapped to its kind. Unknown outcomes are never failures.
func TestErrorAnswers(t *testing.T) {
	cases := []struct {
		status int
		code   string
		kind   checkout.ErrorKind
	}{
		{500, "SYSTEM_ERROR", checkout.KindUnknown},
		{500, "BANK_ERROR", checkout.KindUnknown},
		{502, "-", checkout.KindUnknown}, // a proxy's HTML page
		{503, "SERVICE_UNAVAILABLE", checkout.KindUnknown},
		{429, "FREQUENCY_LIMITED", checkout.KindUnknown},
		{429, "RATELIMIT_EXCEEDED", checkout.KindUnknown},
		{404, "-", checkout.KindUnknown}, // no WeChat body: not WeChat's answer
		{400, "PARAM_ERROR", checkout.KindRefused},
		{400, "INVALID_REQUEST", checkout.KindRefused},
		{403, "RULE_LIMIT", checkout.KindRefused},
		{403, "SOMETHING_NEW", checkout.KindRefused},
		{401, "SIGN_ERROR", checkout.KindAuth},
		{400, "APPID_MCHID_NOT_MATCH", checkout.KindAuth},
		{400, "MCH_NOT_EXISTS", checkout.KindAuth},
		{403, "NO_AUTH", checkout.KindAuth},
		{403, "ORDERPAID", checkout.KindAlreadyPaid},
		{400, "ORDER_CLOSED", checkout.KindClosed},
		{404, "ORDER_NOT_EXIST", checkout.KindNotFound},
		{403, "NOT_ENOUGH", checkout.KindInsufficient},
	}
	e := newEnv(t)
	for _, c := range cases {
		t.Run(c.code+"_"+http.StatusText(c.status), func(t *testing.T) {
			no := orderNo()
			e.emu.SetFaults(wechatemu.Faults{Path: "/native", Status: c.status, Code: c.code, Message: "injected", Times: 1})
			_, err := e.p.Create(t.Context(), createReq(no))
			code := c.code
			if code == "-" {
				code = ""
			}
			wantKind(t, err, c.kind, code)
			if c.kind == checkout.KindUnknown && !checkout.IsUnknown(err) {
				t.Fatal("an unknown outcome reported as definite")
			}
			// The fault struck before processing: a query settles it.
			if st, err := e.p.Query(t.Context(), no); err != nil || st.State != checkout.TradeNotFound {
				t.Fatalf("settling query: %+v %v", st, err)
			}
		})
	}
}

func TestRefundErrorAnswers(t *testing.T) {
	e := newEnv(t)
	no := orderNo()
	e.mustCreate(no)
	e.mustPay(no)
	req := checkout.RefundRequest{OrderNo: no, RefundNo: no + "R1", Amount: 100, Total: 1234}
	e.emu.SetFaults(wechatemu.Faults{Path: "/refunds", Status: 500, Processed: true, Times: 1})
	_, err := e.p.Refund(t.Context(), req)
	wantKind(t, err, checkout.KindUnknown, "SYSTEM_ERROR")
	// The refund did happen; retrying with the same number gives it back.
	st, err := e.p.Refund(t.Context(), req)
	if err != nil || st.State != checkout.RefundSucceeded {
		t.Fatalf("retry with the same out_refund_no: %+v %v", st, err)
	}
	e.emu.SetFaults(wechatemu.Faults{Path: "/refunds", Status: 429, Times: 1})
	_, err = e.p.QueryRefund(t.Context(), no, req.RefundNo)
	wantKind(t, err, checkout.KindUnknown, "FREQUENCY_LIMITED")
}

func TestCredentialsRefused(t *testing.T) {
	e := newEnv(t)
	_, _, other := testKeys(t)
	cases := map[string]struct {
		mod  func(*wechat.Credentials)
		code string
	}{
		"wrong private key": {func(c *wechat.Credentials) { c.PrivateKey = other }, "SIGN_ERROR"},
		"wrong serial":      {func(c *wechat.Credentials) { c.MerchantSerial = "0123456789ABCDEF" }, "SIGN_ERROR"},
		"wrong mchid":       {func(c *wechat.Credentials) { c.MchID = "1900000002" }, "SIGN_ERROR"},
		"wrong appid":       {func(c *wechat.Credentials) { c.AppID = "wx0000000000000000" }, "APPID_MCHID_NOT_MATCH"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p := e.provider(c.mod)
			_, err := p.Create(t.Context(), createReq(orderNo()))
			wantKind(t, err, checkout.KindAuth, c.code)
		})
	}
}

func TestStaleRequestTimestampRefused(t *testing.T) {
	e := newEnv(t)
	e.clock.Advance(10 * time.Minute) // the emulator's clock is 10 minutes ahead of till's
	_, err := e.p.Create(t.Context(), createReq(orderNo()))
	wantKind(t, err, checkout.KindAuth, "SIGN_ERROR")
	var ae *core.APIError
	if !errors.As(err, &ae) || !strings.Contains(ae.Message, "5分钟") {
		t.Fatalf("want the real service's message, got %v", err)
	}
}

func TestTimeoutIsUnknown(t *testing.T) {
	e := newEnv(t)
	p2, err := wechat.New(e.creds(), wechat.WithHTTPClient(&http.Client{Timeout: 150 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	no := orderNo()
	e.emu.SetFaults(wechatemu.Faults{Latency: 2 * time.Second, Times: 1})
	_, err = p2.Create(t.Context(), createReq(no))
	wantKind(t, err, checkout.KindUnknown, "")
	if msg := checkout.UserMessage(err); !strings.Contains(msg, "in time") {
		t.Errorf("clerk sees %q", checkout.UserMessage(err))
	}

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	e.emu.SetFaults(wechatemu.Faults{Latency: 2 * time.Second, Times: 1})
	_, err = e.p.Query(ctx, no)
	wantKind(t, err, checkout.KindUnknown, "")
}

func TestDroppedConnectionIsUnknown(t *testing.T) {
	e := newEnv(t)
	no := orderNo()
	// Dropped before processing: nothing happened.
	e.emu.SetFaults(wechatemu.Faults{Path: "/native", DropConnection: true, Times: 1})
	_, err := e.p.Create(t.Context(), createReq(no))
	wantKind(t, err, checkout.KindUnknown, "")
	if st, err := e.p.Query(t.Context(), no); err != nil || st.State != checkout.TradeNotFound {
		t.Fatalf("%+v %v", st, err)
	}
	// Dropped after processing: the trade exists; a query finds it and a
	// retry of the create answers the same code.
	e.emu.SetFaults(wechatemu.Faults{Path: "/native", DropConnection: true, Processed: true, Times: 1})
	_, err = e.p.Create(t.Context(), createReq(no))
	wantKind(t, err, checkout.KindUnknown, "")
	if st, err := e.p.Query(t.Context(), no); err != nil || st.State != checkout.TradeNotPaid {
		t.Fatalf("%+v %v", st, err)
	}
	if _, err := e.p.Create(t.Context(), createReq(no)); err != nil {
		t.Fatalf("retrying the create: %v", err)
	}
	// Queries (GET) may be retried by net/http on a reused connection, so
	// drop every one until cleared.
	e.emu.SetFaults(wechatemu.Faults{Path: "/out-trade-no/", DropConnection: true})
	_, err = e.p.Query(t.Context(), no)
	e.emu.ClearFaults()
	wantKind(t, err, checkout.KindUnknown, "")
}

func TestMalformedBodyIsUnknown(t *testing.T) {
	e := newEnv(t)
	no := orderNo()
	e.mustCreate(no)
	e.emu.SetFaults(wechatemu.Faults{MalformedBody: true, Times: 1})
	_, err := e.p.Query(t.Context(), no)
	wantKind(t, err, checkout.KindUnknown, "")
	if st, err := e.p.Query(t.Context(), no); err != nil || st.State != checkout.TradeNotPaid {
		t.Fatalf("%+v %v", st, err)
	}
}

// A response whose signature fails: the SDK refuses it, the adapter calls
// the outcome unknown, and a query with the same out_trade_no settles it.
func TestBadSignatureIsUnknownAndSettledByQuery(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	no := orderNo()

	// The SDK itself refuses the answer.
	merchant, platform, _ := testKeys(t)
	client, err := core.NewClient(ctx,
		option.WithWechatPayPublicKeyAuthCipher(mchID, serial, merchant, keyID, &platform.PublicKey),
		option.WithHTTPClient(&http.Client{Transport: rewriteTo(e.srv.URL)}))
	if err != nil {
		t.Fatal(err)
	}
	sdk := native.NativeApiService{Client: client}
	e.emu.SetFaults(wechatemu.Faults{BadSignature: true, Times: 1})
	_, res, err := sdk.Prepay(ctx, native.PrepayRequest{
		Appid: core.String(appID), Mchid: core.String(mchID), Description: core.String("x"),
		OutTradeNo: core.String(no), NotifyUrl: core.String(""),
		Amount: &native.Amount{Total: core.Int64(1234), Currency: core.String("CNY")},
	})
	var ae *core.APIError
	if err == nil || errors.As(err, &ae) || !strings.Contains(err.Error(), "verify") || res == nil || res.Response.StatusCode != 200 {
		t.Fatalf("the SDK should refuse a 200 with a bad signature, got %v", err)
	}

	// The adapter: create with a bad signature is unknown...
	no2 := orderNo()
	e.emu.SetFaults(wechatemu.Faults{BadSignature: true, Times: 1})
	_, err = e.p.Create(ctx, createReq(no2))
	wantKind(t, err, checkout.KindUnknown, "")
	if !strings.Contains(err.Error(), "could not be verified") {
		t.Errorf("message: %v", err)
	}
	// ...and the query shows the trade was created.
	st, err := e.p.Query(ctx, no2)
	if err != nil || st.State != checkout.TradeNotPaid {
		t.Fatalf("settling query: %+v %v", st, err)
	}

	// A query answered with a bad signature says nothing, even "paid";
	// the next query gives the true state.
	e.mustPay(no2)
	e.emu.SetFaults(wechatemu.Faults{BadSignature: true, Times: 1})
	_, err = e.p.Query(ctx, no2)
	wantKind(t, err, checkout.KindUnknown, "")
	st, err = e.p.Query(ctx, no2)
	if err != nil || st.State != checkout.TradePaid {
		t.Fatalf("true state: %+v %v", st, err)
	}

	// A close answered 204 with a bad signature is unknown too.
	no3 := orderNo()
	e.mustCreate(no3)
	e.emu.SetFaults(wechatemu.Faults{BadSignature: true, Times: 1})
	_, err = e.p.Close(ctx, no3)
	wantKind(t, err, checkout.KindUnknown, "")
	if st, err := e.p.Query(ctx, no3); err != nil || st.State != checkout.TradeClosed {
		t.Fatalf("close took effect: %+v %v", st, err)
	}
}

func TestWrongPlatformKeyMakesEveryAnswerUnknown(t *testing.T) {
	e := newEnv(t)
	_, _, other := testKeys(t)
	p := e.provider(func(c *wechat.Credentials) { c.PlatformPublicKey = &other.PublicKey })
	_, err := p.Create(t.Context(), createReq(orderNo()))
	wantKind(t, err, checkout.KindUnknown, "")
	p = e.provider(func(c *wechat.Credentials) { c.PlatformKeyID = "PUB_KEY_ID_OTHER" })
	_, err = p.Create(t.Context(), createReq(orderNo()))
	wantKind(t, err, checkout.KindUnknown, "")
}

func TestCertificateMode(t *testing.T) {
	_, platform, _ := testKeys(t)
	cert := selfSignedCert(t, platform, time.Now().Add(24*time.Hour))
	certSerial := fmt.Sprintf("%X", cert.SerialNumber.Bytes())
	e := newEnv(t, func(c *wechatemu.Config) { c.PlatformKeyID = certSerial })
	p := e.provider(func(c *wechat.Credentials) {
		c.PlatformPublicKey, c.PlatformKeyID = nil, ""
		c.PlatformCert = cert
	})
	no := orderNo()
	if _, err := p.Create(t.Context(), createReq(no)); err != nil {
		t.Fatal(err)
	}
	if cr, err := p.Close(t.Context(), no); err != nil || cr.Outcome != checkout.CloseClosed {
		t.Fatalf("close: %+v %v", cr, err)
	}
	if st, err := p.Query(t.Context(), no); err != nil || st.State != checkout.TradeClosed {
		t.Fatalf("query: %+v %v", st, err)
	}
}

func TestNewRejectsIncompleteCredentials(t *testing.T) {
	e := newEnv(t)
	c := e.creds()
	c.APIv3Key = "short"
	if _, err := wechat.New(c); err == nil || !strings.Contains(err.Error(), "APIv3Key") {
		t.Fatalf("got %v", err)
	}
	c = e.creds()
	_, platform, _ := testKeys(t)
	c.PlatformCert = selfSignedCert(t, platform, time.Now().Add(time.Hour))
	if _, err := wechat.New(c); err == nil || !strings.Contains(err.Error(), "both") {
		t.Fatalf("got %v", err)
	}
}

// rewriteTo sends every request to base, as the adapter does.
func rewriteTo(base string) http.RoundTripper {
	u, _ := url.Parse(base)
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host, r.Host = u.Scheme, u.Host, ""
		return http.DefaultTransport.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestRefundAboveWhatIsLeftIsNotTheBalance: money sent back on the
// merchant platform, outside till, leaves less at WeChat than till
// thinks; WeChat's refusal of the next refund is a refusal of the request
// (400 INVALID_REQUEST), not NOT_ENOUGH, which is the merchant's balance.
func TestRefundAboveWhatIsLeftIsNotTheBalance(t *testing.T) {
	e := newEnv(t)
	no := orderNo()
	e.mustCreate(no)
	e.mustPay(no)
	ctx := t.Context()
	if _, err := e.p.Refund(ctx, checkout.RefundRequest{OrderNo: no, RefundNo: no + "P1", Amount: 600, Total: 1234}); err != nil {
		t.Fatal(err)
	}
	_, err := e.p.Refund(ctx, checkout.RefundRequest{OrderNo: no, RefundNo: no + "R1", Amount: 1000, Total: 1234})
	wantKind(t, err, checkout.KindRefused, "INVALID_REQUEST")
}
