package alipay

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"till/checkout"
	"till/providers/alipay/alipayemu"
)

var ctx = context.Background()

func TestMethod(t *testing.T) {
	e := newEnv(t)
	if got := e.p.Method(); got != checkout.MethodAlipay {
		t.Fatalf("Method() = %q", got)
	}
}

func TestCreateSendsWhatAlipayWants(t *testing.T) {
	e := newEnv(t)
	sink := newNotifySink(t)
	req := e.request(1230)
	req.NotifyURL = sink.URL + "/notify/alipay"
	res, err := e.p.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.CodeURL, e.srv.URL+"/qr/") {
		t.Errorf("CodeURL = %q, want the emulator's payer page", res.CodeURL)
	}
	last := e.emu.LastRequest()
	var biz map[string]any
	if err := json.Unmarshal([]byte(last.Get("biz_content")), &biz); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"out_trade_no": req.OrderNo,
		"total_amount": "12.30",
		"subject":      "till - coffee",
		"product_code": "FACE_TO_FACE_PAYMENT",
		"terminal_id":  "T1",
		"time_expire":  req.ExpiresAt.In(Shanghai).Format("2006-01-02 15:04:05"),
		// The code itself dies with the sale, in whole minutes.
		"qr_code_timeout_express": "3m",
	}
	for k, v := range want {
		if biz[k] != v {
			t.Errorf("biz_content %s = %v, want %q", k, biz[k], v)
		}
	}
	if _, ok := biz["timeout_express"]; ok {
		t.Error("timeout_express sent next to time_expire")
	}
	if got := last.Get("notify_url"); got != req.NotifyURL {
		t.Errorf("notify_url = %q, want %q", got, req.NotifyURL)
	}
	tr, _ := e.emu.Trade(req.OrderNo)
	if tr.TotalFen != 1230 || !tr.QRExpiresAt.Equal(tr.CreatedAt.Add(3*time.Minute)) {
		t.Errorf("emulator holds total %d fen, code expiring %v; want 1230, 3m after %v", tr.TotalFen, tr.QRExpiresAt, tr.CreatedAt)
	}
	// A timeout that is not whole minutes is rounded up.
	odd := e.create(t, 100, func(r *checkout.CreateRequest) { r.Timeout = 90 * time.Second })
	if got := e.emu.LastRequest().Get("biz_content"); !strings.Contains(got, `"qr_code_timeout_express":"2m"`) {
		t.Errorf("90s sale: %s", got)
	}
	if tr, _ := e.emu.Trade(odd.OrderNo); !tr.QRExpiresAt.Equal(tr.CreatedAt.Add(2 * time.Minute)) {
		t.Errorf("90s sale's code expires %v", tr.QRExpiresAt.Sub(tr.CreatedAt))
	}

	// The same request again answers the same code.
	again, err := e.p.Create(ctx, req)
	if err != nil || again.CodeURL != res.CodeURL {
		t.Errorf("repeat Create = %q, %v; want %q", again.CodeURL, err, res.CodeURL)
	}
	// No notify_url when none is configured.
	e.create(t, 1)
	if e.emu.LastRequest().Has("notify_url") {
		t.Error("notify_url sent although empty")
	}
}

func TestCreateAmountsAndSubject(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		fen  checkout.Money
		want string
	}{{1, "0.01"}, {10, "0.10"}, {100_000, "1000.00"}, {1_000_000, "10000.00"}} {
		req := e.create(t, tc.fen)
		if tr, _ := e.emu.Trade(req.OrderNo); tr.TotalFen != int64(tc.fen) {
			t.Errorf("%d fen arrived as %d", tc.fen, tr.TotalFen)
		}
		if !strings.Contains(e.emu.LastRequest().Get("biz_content"), `"total_amount":"`+tc.want+`"`) {
			t.Errorf("%d fen not sent as %q: %s", tc.fen, tc.want, e.emu.LastRequest().Get("biz_content"))
		}
	}
	// Alipay refuses / = & in a subject: they are replaced.
	req := e.create(t, 100, func(r *checkout.CreateRequest) { r.Description = "till - 2/3 off=yes & more" })
	if tr, _ := e.emu.Trade(req.OrderNo); tr.Subject != "till - 2 3 off yes   more" {
		t.Errorf("subject = %q", tr.Subject)
	}
}

func TestCreateRefused(t *testing.T) {
	e := newEnv(t)
	req := e.create(t, 1230)
	req.Amount = 999
	_, err := e.p.Create(ctx, req)
	assertKind(t, err, checkout.KindRefused, "ACQ.CONTEXT_INCONSISTENT")

	_, err = e.p.Create(ctx, checkout.CreateRequest{OrderNo: newOrderNo(), Amount: 0})
	assertKind(t, err, checkout.KindRefused, "")

	// A paid order cannot be precreated again.
	req = e.create(t, 500)
	if err := e.emu.Pay(req.OrderNo); err != nil {
		t.Fatal(err)
	}
	_, err = e.p.Create(ctx, req)
	assertKind(t, err, checkout.KindAlreadyPaid, "ACQ.TRADE_HAS_SUCCESS")
}

func assertKind(t *testing.T, err error, kind checkout.ErrorKind, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want a %v error, got nil", kind)
	}
	var pe *checkout.ProviderError
	if !errors.As(err, &pe) {
		t.Fatalf("want *checkout.ProviderError, got %T %v", err, err)
	}
	if pe.Kind != kind || (code != "" && pe.Code != code) {
		t.Fatalf("got kind %v code %q (%v); want %v %q", pe.Kind, pe.Code, err, kind, code)
	}
	if pe.Message == "" {
		t.Errorf("no message for the clerk: %v", err)
	}
}

func assertUnknown(t *testing.T, err error) {
	t.Helper()
	if err == nil || !checkout.IsUnknown(err) {
		t.Fatalf("want an unknown outcome, got %v (kind %v)", err, checkout.KindOf(err))
	}
}

func TestQueryStates(t *testing.T) {
	e := newEnv(t)
	req := e.create(t, 1230)

	st, err := e.p.Query(ctx, req.OrderNo)
	if err != nil || st.State != checkout.TradeNotFound {
		t.Fatalf("before the scan: %+v, %v; want not_found and no error", st, err)
	}
	if err := e.emu.Scan(req.OrderNo); err != nil {
		t.Fatal(err)
	}
	st, err = e.p.Query(ctx, req.OrderNo)
	if err != nil || st.State != checkout.TradeNotPaid || !st.Scanned || st.Raw != "WAIT_BUYER_PAY" || st.Amount != 1230 {
		t.Fatalf("after the scan: %+v, %v", st, err)
	}
	e.clock.Advance(10 * time.Second)
	if err := e.emu.Pay(req.OrderNo); err != nil {
		t.Fatal(err)
	}
	tr, _ := e.emu.Trade(req.OrderNo)
	st, err = e.p.Query(ctx, req.OrderNo)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != checkout.TradePaid || st.Amount != 1230 || st.ProviderTradeNo != tr.TradeNo || st.Raw != "TRADE_SUCCESS" {
		t.Fatalf("paid: %+v", st)
	}
	if !st.PaidAt.Equal(tr.PaidAt.Truncate(time.Second)) || st.PaidAt.Location().String() != "Asia/Shanghai" {
		t.Errorf("PaidAt = %v, want %v in Asia/Shanghai", st.PaidAt, tr.PaidAt)
	}
	// TRADE_FINISHED is paid too.
	if err := e.emu.Finish(req.OrderNo); err != nil {
		t.Fatal(err)
	}
	if st, err = e.p.Query(ctx, req.OrderNo); err != nil || st.State != checkout.TradePaid || st.Raw != "TRADE_FINISHED" {
		t.Fatalf("finished: %+v, %v", st, err)
	}
	// An order Alipay never heard of.
	if st, err = e.p.Query(ctx, newOrderNo()); err != nil || st.State != checkout.TradeNotFound {
		t.Fatalf("unknown order: %+v, %v", st, err)
	}
}

// payerDo asks as curl does (plain-text answers); payerDoHTML as a
// browser does.
func payerDo(t *testing.T, method, u, action string) (int, string) {
	t.Helper()
	return payerDoAccept(t, method, u, action, "")
}

func payerDoHTML(t *testing.T, method, u, action string) (int, string) {
	t.Helper()
	return payerDoAccept(t, method, u, action, "text/html,application/xhtml+xml,*/*;q=0.8")
}

func payerDoAccept(t *testing.T, method, u, action, accept string) (int, string) {
	t.Helper()
	var body io.Reader
	if method != http.MethodGet {
		body = strings.NewReader(url.Values{"action": {action}}.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPayerPage(t *testing.T) {
	e := newEnv(t)
	req := e.request(1230)
	res, err := e.p.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	code, body := payerDoHTML(t, http.MethodGet, res.CodeURL, "")
	for _, want := range []string{"12.30", "till - coffee", req.OrderNo, `value="pay"`, `value="decline"`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Fatalf("GET payer page: %d, missing %q in\n%s", code, want, body)
		}
	}
	// Opening the page is the scan.
	if st, _ := e.p.Query(ctx, req.OrderNo); st.State != checkout.TradeNotPaid {
		t.Fatalf("after GET: %+v", st)
	}
	if code, _ = payerDo(t, http.MethodPost, res.CodeURL, "decline"); code != 200 {
		t.Fatalf("decline: %d", code)
	}
	if st, _ := e.p.Query(ctx, req.OrderNo); st.State != checkout.TradeNotPaid {
		t.Fatalf("after decline: %+v", st)
	}
	if code, body = payerDo(t, http.MethodPost, res.CodeURL, "pay"); code != 200 || !strings.Contains(body, "Paid") {
		t.Fatalf("pay: %d %s", code, body)
	}
	if st, _ := e.p.Query(ctx, req.OrderNo); st.State != checkout.TradePaid {
		t.Fatalf("after pay: %+v", st)
	}
	if code, body = payerDo(t, http.MethodPost, res.CodeURL, "pay"); code != http.StatusConflict || !strings.Contains(body, "already paid") {
		t.Fatalf("second pay: %d %s", code, body)
	}
	if code, _ = payerDo(t, http.MethodPost, res.CodeURL, "dance"); code != http.StatusBadRequest {
		t.Fatalf("unknown action: %d", code)
	}
	if code, _ = payerDo(t, http.MethodGet, e.srv.URL+"/qr/nope", ""); code != http.StatusNotFound {
		t.Fatalf("unknown code: %d", code)
	}

	// Scripts can ask for JSON.
	res2, _ := e.p.Create(ctx, e.request(99))
	r, _ := http.NewRequest(http.MethodPost, res2.CodeURL, strings.NewReader("action=pay"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Status string `json:"status"`
		Amount string `json:"total_amount"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || page.Status != "TRADE_SUCCESS" || page.Amount != "0.99" {
		t.Fatalf("JSON pay: %+v %v", page, err)
	}
}

func TestCloseUnpaid(t *testing.T) {
	e := newEnv(t)
	req := e.request(1230)
	res, _ := e.p.Create(ctx, req)
	e.emu.Scan(req.OrderNo)
	cr, err := e.p.Close(ctx, req.OrderNo)
	if err != nil || cr.Outcome != checkout.CloseClosed || cr.ProviderTradeNo == "" {
		t.Fatalf("Close = %+v, %v", cr, err)
	}
	if st, err := e.p.Query(ctx, req.OrderNo); err != nil || st.State != checkout.TradeClosed {
		t.Fatalf("after close: %+v, %v", st, err)
	}
	if err := e.emu.Pay(req.OrderNo); !errors.Is(err, alipayemu.ErrTradeClosed) {
		t.Fatalf("paying a closed trade: %v", err)
	}
	if code, body := payerDo(t, http.MethodPost, res.CodeURL, "pay"); code != http.StatusConflict || !strings.Contains(body, "closed") {
		t.Fatalf("payer page on a closed trade: %d %s", code, body)
	}
	// Cancel again: the same answer.
	if cr, err = e.p.Close(ctx, req.OrderNo); err != nil || cr.Outcome != checkout.CloseClosed {
		t.Fatalf("second Close = %+v, %v", cr, err)
	}
}

// TestCloseNeverScanned: before the scan there is no trade to close, so
// the close answers not found and locks nothing: the customer can still
// pay the code until its own expiry (the worst case, which the engine's
// late check covers), and not after.
func TestCloseNeverScanned(t *testing.T) {
	e := newEnv(t)
	req := e.request(1230)
	res, _ := e.p.Create(ctx, req)
	_, err := e.p.Close(ctx, req.OrderNo)
	assertKind(t, err, checkout.KindNotFound, "ACQ.TRADE_NOT_EXIST")
	if st, err := e.p.Query(ctx, req.OrderNo); err != nil || st.State != checkout.TradeNotFound {
		t.Fatalf("query: %+v, %v", st, err)
	}
	if m := e.emu.LastRequest().Get("method"); m != "alipay.trade.query" {
		t.Fatalf("last call %s", m)
	}
	e.clock.Advance(2 * time.Minute)
	if code, _ := payerDo(t, http.MethodPost, res.CodeURL, "pay"); code != http.StatusOK {
		t.Fatalf("pay after the close, inside the code's life: %d", code)
	}
	if st, err := e.p.Query(ctx, req.OrderNo); err != nil || st.State != checkout.TradePaid {
		t.Fatalf("query after the late payment: %+v, %v", st, err)
	}

	expired := e.request(500)
	res, _ = e.p.Create(ctx, expired)
	e.clock.Advance(3 * time.Minute)
	if code, _ := payerDo(t, http.MethodPost, res.CodeURL, "pay"); code != http.StatusConflict {
		t.Fatalf("pay after the code's expiry: %d", code)
	}
}

// TestCloseNeverCancels: Close is alipay.trade.close, never cancel.
func TestCloseNeverCancels(t *testing.T) {
	e := newEnv(t)
	for _, scan := range []bool{false, true} {
		req := e.create(t, 100)
		if scan {
			e.emu.Scan(req.OrderNo)
		}
		e.p.Close(ctx, req.OrderNo)
		if m := e.emu.LastRequest().Get("method"); m != "alipay.trade.close" {
			t.Fatalf("Close sent %s", m)
		}
	}
}

// The customer pays at the last moment, after the final query and before
// the timeout's close: trade.close refuses a paid trade, the adapter says
// so, and the money stays with the shop.
func TestLastMomentRace(t *testing.T) {
	e := newEnv(t)
	sink := newNotifySink(t)
	req := e.create(t, 1230, func(r *checkout.CreateRequest) { r.NotifyURL = sink.URL })
	e.emu.Scan(req.OrderNo)
	if st, _ := e.p.Query(ctx, req.OrderNo); st.State != checkout.TradeNotPaid {
		t.Fatalf("final query: %+v", st)
	}
	if err := e.emu.Pay(req.OrderNo); err != nil { // the customer, at the last moment
		t.Fatal(err)
	}
	cr, err := e.p.Close(ctx, req.OrderNo)
	if err != nil || cr.Outcome != checkout.CloseWasPaid {
		t.Fatalf("Close = %+v, %v; want paid", cr, err)
	}
	tr, _ := e.emu.Trade(req.OrderNo)
	if tr.Status != alipayemu.StatusSuccess || tr.RefundedFen != 0 {
		t.Fatalf("emulator after the close: %+v", tr)
	}
	if st, err := e.p.Query(ctx, req.OrderNo); err != nil || st.State != checkout.TradePaid || st.Amount != 1230 {
		t.Fatalf("query after the close: %+v, %v", st, err)
	}
	// Only the payment was notified: no refund went out.
	if ev, err := e.p.ParseNotification(sink.next(t)); err != nil || ev.TradeStatus != "TRADE_SUCCESS" || ev.Refund() {
		t.Fatalf("notification: %+v %v", ev, err)
	}
	if n := sink.count(); n != 1 {
		t.Fatalf("%d notifications, want 1", n)
	}
}

// TestExpiry: a code nobody scanned dies at qr_code_timeout_express; a
// scanned trade is not limited by time_expire (the worst case) and stays
// waiting until the desk closes it.
func TestExpiry(t *testing.T) {
	e := newEnv(t)
	scanned := e.create(t, 1230)
	e.emu.Scan(scanned.OrderNo)
	never := e.request(450)
	res, _ := e.p.Create(ctx, never)

	e.clock.Advance(3*time.Minute + time.Second)
	if st, err := e.p.Query(ctx, scanned.OrderNo); err != nil || st.State != checkout.TradeNotPaid {
		t.Fatalf("scanned, past time_expire: %+v, %v", st, err)
	}
	if st, err := e.p.Query(ctx, never.OrderNo); err != nil || st.State != checkout.TradeNotFound {
		t.Fatalf("never scanned, expired: %+v, %v", st, err)
	}
	if code, _ := payerDo(t, http.MethodPost, res.CodeURL, "pay"); code != http.StatusConflict {
		t.Fatalf("paying an expired code: %d", code)
	}
	if cr, err := e.p.Close(ctx, scanned.OrderNo); err != nil || cr.Outcome != checkout.CloseClosed {
		t.Fatalf("closing the scanned trade: %+v %v", cr, err)
	}
	if err := e.emu.Pay(scanned.OrderNo); !errors.Is(err, alipayemu.ErrTradeClosed) {
		t.Fatalf("paying a closed trade: %v", err)
	}
}

// TestQueryAboutAnotherOrder: a signed answer about another out_trade_no
// is not believed.
func TestQueryAboutAnotherOrder(t *testing.T) {
	e := newEnv(t)
	req := e.create(t, 1230)
	other := e.create(t, 1)
	e.emu.Pay(other.OrderNo)
	e.emu.Scan(req.OrderNo)
	e.emu.SetFaults(alipayemu.Faults{Method: "alipay.trade.query", OtherOrder: other.OrderNo, Times: 1})
	_, err := e.p.Query(ctx, req.OrderNo)
	assertUnknown(t, err)
	if !strings.Contains(checkout.UserMessage(err), "another order") {
		t.Errorf("message %q", checkout.UserMessage(err))
	}
	e.emu.SetFaults(alipayemu.Faults{Method: "alipay.trade.close", OtherOrder: other.OrderNo, Times: 1})
	_, err = e.p.Close(ctx, req.OrderNo)
	assertUnknown(t, err)
}

func TestRefunds(t *testing.T) {
	e := newEnv(t)
	req := e.create(t, 1230)
	e.emu.Pay(req.OrderNo)
	refund := func(no string, fen checkout.Money) (checkout.RefundStatus, error) {
		return e.p.Refund(ctx, checkout.RefundRequest{OrderNo: req.OrderNo, RefundNo: no, Amount: fen, Total: 1230, Reason: "returned"})
	}

	st, err := refund("R1", 500)
	if err != nil || st.State != checkout.RefundSucceeded || st.SucceededAt.IsZero() {
		t.Fatalf("partial refund: %+v, %v", st, err)
	}
	if got := e.emu.LastRequest().Get("biz_content"); !strings.Contains(got, `"out_request_no":"R1"`) || !strings.Contains(got, `"refund_amount":"5.00"`) {
		t.Errorf("refund request: %s", got)
	}
	// A retry of the same refund moves no money and is still succeeded.
	if st, err = refund("R1", 500); err != nil || st.State != checkout.RefundSucceeded || st.Raw != "REFUND_SUCCESS" {
		t.Fatalf("replayed refund: %+v, %v", st, err)
	}
	_, err = refund("R1", 600)
	assertKind(t, err, checkout.KindRefused, "ACQ.DISCORDANT_REPEAT_REQUEST")
	_, err = refund("R2", 731)
	assertKind(t, err, checkout.KindInsufficient, "ACQ.REASON_TRADE_REFUND_FEE_ERR")
	if st, err = refund("R2", 730); err != nil || st.State != checkout.RefundSucceeded {
		t.Fatalf("the rest: %+v, %v", st, err)
	}
	tr, _ := e.emu.Trade(req.OrderNo)
	if len(tr.Refunds) != 2 || tr.RefundedFen != 1230 || tr.Status != alipayemu.StatusClosed {
		t.Fatalf("emulator: %d refunds, %d fen refunded, %s", len(tr.Refunds), tr.RefundedFen, tr.Status)
	}
	if q, err := e.p.Query(ctx, req.OrderNo); err != nil || q.State != checkout.TradeRefunded || q.Raw != "TRADE_CLOSED" {
		t.Fatalf("fully refunded trade: %+v, %v", q, err)
	}
	_, err = refund("R3", 1)
	assertKind(t, err, checkout.KindInsufficient, "ACQ.REASON_TRADE_REFUND_FEE_ERR")

	// Refund queries.
	if st, err = e.p.QueryRefund(ctx, req.OrderNo, "R1"); err != nil || st.State != checkout.RefundSucceeded || st.SucceededAt.IsZero() {
		t.Fatalf("QueryRefund R1: %+v, %v", st, err)
	}
	if st, err = e.p.QueryRefund(ctx, req.OrderNo, "R9"); err != nil || st.State != checkout.RefundRequested {
		t.Fatalf("QueryRefund of a refund Alipay never got: %+v, %v", st, err)
	}
	_, err = e.p.QueryRefund(ctx, newOrderNo(), "R1")
	assertKind(t, err, checkout.KindNotFound, "ACQ.TRADE_NOT_EXIST")
	_, err = e.p.Refund(ctx, checkout.RefundRequest{OrderNo: newOrderNo(), RefundNo: "R1", Amount: 100, Total: 100})
	assertKind(t, err, checkout.KindNotFound, "ACQ.TRADE_NOT_EXIST")

	// An unpaid trade cannot be refunded.
	unpaid := e.create(t, 300)
	e.emu.Scan(unpaid.OrderNo)
	_, err = e.p.Refund(ctx, checkout.RefundRequest{OrderNo: unpaid.OrderNo, RefundNo: "R1", Amount: 100, Total: 300})
	assertKind(t, err, checkout.KindRefused, "ACQ.TRADE_STATUS_ERROR")
	// Nor can a finished one.
	done := e.create(t, 300)
	e.emu.Pay(done.OrderNo)
	e.emu.Finish(done.OrderNo)
	_, err = e.p.Refund(ctx, checkout.RefundRequest{OrderNo: done.OrderNo, RefundNo: "R1", Amount: 100, Total: 300})
	assertKind(t, err, checkout.KindRefused, "ACQ.TRADE_HAS_FINISHED")
	// Checked before sending.
	_, err = e.p.Refund(ctx, checkout.RefundRequest{OrderNo: done.OrderNo, RefundNo: "", Amount: 100})
	assertKind(t, err, checkout.KindRefused, "")
}

func TestUnknownOutcomes(t *testing.T) {
	e := newEnv(t, func(_ *alipayemu.Config, _ *Credentials, o *[]Option) {
		*o = append(*o, WithHTTPClient(&http.Client{Timeout: 300 * time.Millisecond}))
	})
	req := e.create(t, 1230)
	e.emu.Scan(req.OrderNo)
	for _, tc := range []struct {
		name string
		f    alipayemu.Faults
	}{
		{"5xx", alipayemu.Faults{Status5xx: true}},
		{"reset", alipayemu.Faults{Reset: true}},
		{"malformed body", alipayemu.Faults{MalformedBody: true}},
		{"bad signature", alipayemu.Faults{BadSignature: true}},
		{"ACQ.SYSTEM_ERROR", alipayemu.Faults{SystemError: true}},
		{"20000", alipayemu.Faults{Unavailable: true}},
		{"timeout", alipayemu.Faults{Latency: 2 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.f.Times = 1
			e.emu.SetFaults(tc.f)
			start := time.Now()
			_, err := e.p.Query(ctx, req.OrderNo)
			assertUnknown(t, err)
			if time.Since(start) > time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			if msg := checkout.UserMessage(err); msg == "" || strings.Contains(msg, "PRIVATE") {
				t.Errorf("clerk message %q", msg)
			}
			// The fault is gone: the next query answers.
			if st, err := e.p.Query(ctx, req.OrderNo); err != nil || st.State != checkout.TradeNotPaid {
				t.Fatalf("after the fault: %+v, %v", st, err)
			}
		})
	}
}

// An answer lost after Alipay did the work is settled by retrying with the
// same number.
func TestLostAnswersSettleByRetry(t *testing.T) {
	e := newEnv(t)
	// Create: the trade exists, the answer is lost; the retry gets the same code.
	req := e.request(1230)
	e.emu.SetFaults(alipayemu.Faults{Reset: true, Times: 1})
	_, err := e.p.Create(ctx, req)
	assertUnknown(t, err)
	if _, ok := e.emu.Trade(req.OrderNo); !ok {
		t.Fatal("the precreate was not carried out")
	}
	if _, err := e.p.Create(ctx, req); err != nil {
		t.Fatalf("retried Create: %v", err)
	}

	// Refund: done, answer lost; the retry is answered fund_change=N and
	// the refund query confirms it. Money moved once.
	e.emu.Pay(req.OrderNo)
	rr := checkout.RefundRequest{OrderNo: req.OrderNo, RefundNo: "R1", Amount: 300, Total: 1230}
	e.emu.SetFaults(alipayemu.Faults{Method: "alipay.trade.refund", MalformedBody: true, Times: 1})
	_, err = e.p.Refund(ctx, rr)
	assertUnknown(t, err)
	st, err := e.p.Refund(ctx, rr)
	if err != nil || st.State != checkout.RefundSucceeded {
		t.Fatalf("retried refund: %+v, %v", st, err)
	}
	if tr, _ := e.emu.Trade(req.OrderNo); tr.RefundedFen != 300 {
		t.Fatalf("refunded %d fen, want 300", tr.RefundedFen)
	}

	// Close: ACQ.SYSTEM_ERROR; the retry closes.
	c := e.create(t, 200)
	e.emu.Scan(c.OrderNo)
	e.emu.SetFaults(alipayemu.Faults{Method: "alipay.trade.close", SystemError: true, Unprocessed: true, Times: 1})
	_, err = e.p.Close(ctx, c.OrderNo)
	assertUnknown(t, err)
	if tr, _ := e.emu.Trade(c.OrderNo); tr.Status != alipayemu.StatusWaitBuyerPay {
		t.Fatalf("unprocessed close changed the trade to %s", tr.Status)
	}
	if cr, err := e.p.Close(ctx, c.OrderNo); err != nil || cr.Outcome != checkout.CloseClosed {
		t.Fatalf("retried Close: %+v, %v", cr, err)
	}
}

func TestAuthErrors(t *testing.T) {
	t.Run("wrong private key", func(t *testing.T) {
		e := newEnv(t, func(_ *alipayemu.Config, c *Credentials, _ *[]Option) { c.PrivateKey = otherKey })
		_, err := e.p.Query(ctx, newOrderNo())
		assertKind(t, err, checkout.KindAuth, "isv.invalid-signature")
		if strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Error("the error mentions the key")
		}
	})
	t.Run("wrong app id", func(t *testing.T) {
		e := newEnv(t, func(_ *alipayemu.Config, c *Credentials, _ *[]Option) { c.AppID = "2021000000000999" })
		_, err := e.p.Create(ctx, e.request(100))
		assertKind(t, err, checkout.KindAuth, "isv.invalid-app-id")
	})
	t.Run("wrong Alipay public key", func(t *testing.T) {
		// Every answer fails verification: nothing can be trusted.
		e := newEnv(t, func(_ *alipayemu.Config, c *Credentials, _ *[]Option) { c.AlipayPublicKey = &otherKey.PublicKey })
		_, err := e.p.Query(ctx, newOrderNo())
		assertUnknown(t, err)
		if !strings.Contains(checkout.UserMessage(err), "verification") {
			t.Errorf("message %q does not point at the key", checkout.UserMessage(err))
		}
	})
}

func TestGatewayModes(t *testing.T) {
	// The SDK ignores WithProductionGateway outside production and
	// WithSandboxGateway in production: both must reach the emulator.
	for _, production := range []bool{true, false} {
		e := newEnv(t, func(_ *alipayemu.Config, c *Credentials, _ *[]Option) { c.Production = production })
		if st, err := e.p.Query(ctx, newOrderNo()); err != nil || st.State != checkout.TradeNotFound {
			t.Fatalf("production=%v: %+v, %v", production, st, err)
		}
	}
}

func TestDefaultHTTPClient(t *testing.T) {
	testKeys(t)
	cred := Credentials{AppID: testAppID, PrivateKey: appKey, AlipayPublicKey: &alipayKey.PublicKey, Production: true}
	p, err := New(cred)
	if err != nil {
		t.Fatal(err)
	}
	c := p.client.Client
	if c == http.DefaultClient || c.Timeout != DefaultTimeout {
		t.Fatalf("client timeout %v; want a client of our own with %v", c.Timeout, DefaultTimeout)
	}
	tr, ok := c.Transport.(*http.Transport)
	if !ok || tr.DialContext == nil || tr.TLSHandshakeTimeout != DefaultConnectTimeout || tr.Proxy == nil {
		t.Fatalf("transport %#v lacks connect timeouts", c.Transport)
	}
	cred.Timeout = 7 * time.Second
	p, _ = New(cred)
	if p.client.Client.Timeout != 7*time.Second {
		t.Fatalf("Timeout not used: %v", p.client.Client.Timeout)
	}
	// Connecting to nothing fails fast and is an unknown outcome.
	cred.Gateway = "http://127.0.0.1:1/gateway.do"
	p, _ = New(cred)
	_, err = p.Query(ctx, "X1")
	assertUnknown(t, err)
}

func TestNewRefusesBadCredentials(t *testing.T) {
	testKeys(t)
	for name, c := range map[string]Credentials{
		"no app id":     {PrivateKey: appKey, AlipayPublicKey: &alipayKey.PublicKey},
		"no key":        {AppID: testAppID, AlipayPublicKey: &alipayKey.PublicKey},
		"no alipay key": {AppID: testAppID, PrivateKey: appKey},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}
