package wechatemu_test

import (
	"crypto/sha1"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"till/providers/wechat/wechatemu"

	"till/providers/fake"
)

var cst = time.FixedZone("CST", 8*3600)

// getRaw sends a signed GET and returns the answer unverified: a bill
// file comes without signature headers.
func (h *harness) getRaw(target string, a auth, sign bool) (*http.Response, []byte) {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.srv.URL+target, nil)
	if sign {
		req.Header.Set("Authorization", a.header("GET", target, ""))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, raw
}

// TestTradeBillApplyAndDownload: the apply answer is signed and names a
// download on the emulator; the download needs the merchant's signature,
// carries no platform signature, and its SHA-1 is the one announced. The
// ALL file has WeChat's 27 columns, backquoted values, and a summary.
func TestTradeBillApplyAndDownload(t *testing.T) {
	h := start(t)
	no := "T20261123000101"
	h.do("POST", "/v3/pay/transactions/native", prepayBody(no, 1234, ""), auth{})
	if err := h.emu.Pay(no); err != nil {
		t.Fatal(err)
	}
	h.do("POST", "/v3/refund/domestic/refunds", `{"amount":{"currency":"CNY","refund":300,"total":1234},"out_refund_no":"R101","out_trade_no":"`+no+`"}`, auth{})
	day := time.Now().In(cst).Format("2006-01-02")

	status, m := h.do("GET", "/v3/bill/tradebill?bill_date="+day+"&bill_type=ALL", "", auth{})
	if status != 200 || m["hash_type"] != "SHA1" {
		t.Fatalf("apply: %d %v", status, m)
	}
	u, err := url.Parse(m["download_url"].(string))
	if err != nil || u.Host != strings.TrimPrefix(h.srv.URL, "http://") || u.Path != "/v3/billdownload/file" {
		t.Fatalf("download_url %v", m["download_url"])
	}
	target := u.RequestURI()

	if resp, _ := h.getRaw(target, auth{}, false); resp.StatusCode != 401 {
		t.Fatalf("download without a signature: %d", resp.StatusCode)
	}
	resp, raw := h.getRaw(target, auth{}, true)
	if resp.StatusCode != 200 || resp.Header.Get("Wechatpay-Signature") != "" {
		t.Fatalf("download: %d, signature header %q", resp.StatusCode, resp.Header.Get("Wechatpay-Signature"))
	}
	if sum := sha1.Sum(raw); hex.EncodeToString(sum[:]) != m["hash_value"] {
		t.Fatal("the file does not match hash_value")
	}
	r := csv.NewReader(strings.NewReader(string(raw)))
	r.FieldsPerRecord = -1 // the summary has fewer fields than the detail
	recs, err := r.ReadAll()
	if err != nil || len(recs) != 5 {
		t.Fatalf("want header, 2 rows, summary header and row; got %v, %d records\n%s", err, len(recs), raw)
	}
	if len(recs[0]) != 27 || recs[0][0] != "交易时间" || recs[0][26] != "费率备注" {
		t.Fatalf("header: %v", recs[0])
	}
	states := []string{recs[1][9], recs[2][9]}
	if states[0] != "`SUCCESS" || states[1] != "`REFUND" || recs[2][15] != "`R101" || recs[2][16] != "`3.00" {
		t.Fatalf("rows: %v\n%v", recs[1], recs[2])
	}
	if recs[3][0] != "总交易单数" || recs[4][0] != "`2" {
		t.Fatalf("summary: %v %v", recs[3], recs[4])
	}

	// A token is for one bill, not a guess.
	if resp, _ := h.getRaw("/v3/billdownload/file?token=nope", auth{}, true); resp.StatusCode != 400 {
		t.Fatalf("unknown token: %d", resp.StatusCode)
	}
}

func TestTradeBillRefusals(t *testing.T) {
	h := start(t)
	tomorrow := time.Now().In(cst).AddDate(0, 0, 1).Format("2006-01-02")
	cases := []struct {
		query, code string
	}{
		{"bill_date=" + tomorrow, "NO_STATEMENT_EXIST"},
		{"bill_date=2026-13-01", "PARAM_ERROR"},
		{"bill_date=yesterday", "PARAM_ERROR"},
		{"", "PARAM_ERROR"},
		{"bill_date=2026-11-01&bill_type=EVERYTHING", "PARAM_ERROR"},
	}
	for _, c := range cases {
		status, m := h.do("GET", "/v3/bill/tradebill?"+c.query, "", auth{})
		if status != 400 || m["code"] != c.code {
			t.Errorf("%q: %d %v, want 400 %s", c.query, status, m, c.code)
		}
	}
}

// TestBillHooksPersist: the tamper hooks change the records the bill is
// made from, and the changes survive a restart like any other.
func TestBillHooksPersist(t *testing.T) {
	store := fake.NewStore()
	h := start(t, func(c *wechatemu.Config) { c.Store = store })
	no := "T20261123000102"
	h.do("POST", "/v3/pay/transactions/native", prepayBody(no, 1000, ""), auth{})
	if err := h.emu.Pay(no); err != nil {
		t.Fatal(err)
	}
	h.do("POST", "/v3/refund/domestic/refunds", `{"amount":{"currency":"CNY","refund":100,"total":1000},"out_refund_no":"R102","out_trade_no":"`+no+`"}`, auth{})
	if err := h.emu.TamperTrade(no, func(t *wechatemu.Trade) { t.Total = 999 }); err != nil {
		t.Fatal(err)
	}
	if err := h.emu.TamperRefund("R102", func(r *wechatemu.Refund) { r.Amount = 101 }); err != nil {
		t.Fatal(err)
	}
	if err := h.emu.TamperTrade(no, func(t *wechatemu.Trade) { t.OutTradeNo = "other" }); err == nil {
		t.Fatal("TamperTrade changed the key")
	}
	if err := h.emu.TamperTrade("T-none", func(*wechatemu.Trade) {}); err != wechatemu.ErrNotFound {
		t.Fatalf("unknown trade: %v", err)
	}
	foreign, err := h.emu.AddForeignTrade(wechatemu.Trade{OutTradeNo: "F20261123000001", Total: 555})
	if err != nil || foreign.State != wechatemu.StateSuccess || foreign.TransactionID == "" || foreign.SuccessTime.IsZero() {
		t.Fatalf("AddForeignTrade: %+v %v", foreign, err)
	}
	if _, err := h.emu.AddForeignTrade(wechatemu.Trade{OutTradeNo: no}); err != wechatemu.ErrExists {
		t.Fatalf("foreign trade over a real one: %v", err)
	}
	fr, err := h.emu.AddForeignRefund(wechatemu.Refund{OutRefundNo: "FR1", OutTradeNo: no, Amount: 50})
	if err != nil || fr.Status != wechatemu.RefundSuccess || fr.RefundID == "" {
		t.Fatalf("AddForeignRefund: %+v %v", fr, err)
	}

	again, err := wechatemu.New(config(func(c *wechatemu.Config) { c.Store = store }))
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if tr, _ := again.Trade(no); tr.Total != 999 || tr.Refunded != 150 {
		t.Fatalf("tampered trade after restart: %+v", tr)
	}
	if r, _ := again.Refund("R102"); r.Amount != 101 {
		t.Fatalf("tampered refund after restart: %+v", r)
	}
	if tr, ok := again.Trade("F20261123000001"); !ok || tr.Total != 555 {
		t.Fatalf("foreign trade after restart: %+v", tr)
	}
	if r, ok := again.Refund("FR1"); !ok || r.Amount != 50 {
		t.Fatalf("foreign refund after restart: %+v", r)
	}
}

func codePayBody(no string, total int64, code string) string {
	return fmt.Sprintf(`{"amount":{"currency":"CNY","total":%d},"appid":%q,"description":"till","mchid":%q,"out_trade_no":%q,`+
		`"payer":{"auth_code":%q},"scene_info":{"device_id":"T1","device_ip":"127.0.0.1","store_info":{"id":"S1"}}}`, total, appID, mchID, no, code)
}

// billRows applies for the day's bill of billType and returns its detail
// rows (backquotes taken off) by 商户订单号 and 交易状态, and its summary.
func (h *harness) billRows(day, billType string) (map[string]map[string]string, map[string]string) {
	h.t.Helper()
	status, m := h.do("GET", "/v3/bill/tradebill?bill_date="+day+"&bill_type="+billType, "", auth{})
	if status != 200 {
		h.t.Fatalf("apply %s: %d %v", billType, status, m)
	}
	u, _ := url.Parse(m["download_url"].(string))
	_, raw := h.getRaw(u.RequestURI(), auth{}, true)
	r := csv.NewReader(strings.NewReader(string(raw)))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil || len(recs) < 3 {
		h.t.Fatalf("%s bill: %v\n%s", billType, err, raw)
	}
	named := func(header, rec []string) map[string]string {
		out := map[string]string{}
		for i, c := range header {
			out[c] = strings.TrimPrefix(rec[i], "`")
		}
		return out
	}
	rows := map[string]map[string]string{}
	for _, rec := range recs[1 : len(recs)-2] {
		row := named(recs[0], rec)
		key := row["商户订单号"] + " " + row["交易状态"]
		if _, dup := rows[key]; dup {
			h.t.Fatalf("%s bill lists %s twice", billType, key)
		}
		rows[key] = row
	}
	return rows, named(recs[len(recs)-2], recs[len(recs)-1])
}

// TestTradeBillCodeTrades: a payment-code trade's rows are MICROPAY (a
// Native one's NATIVE); a code trade reversed before anyone paid is in no
// bill; one paid and then reversed keeps its SUCCESS row, and a REVOKED
// row gives the money back under the refund id WeChat gave it, at the
// reverse's time, in the ALL and REFUND bills (not in SUCCESS).
func TestTradeBillCodeTrades(t *testing.T) {
	now := time.Now().In(cst)
	if midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, cst); midnight.Sub(now) < time.Minute {
		time.Sleep(midnight.Sub(now) + time.Second) // the trades and their bill on one day
	}
	fc := fake.NewClock(time.Now().Truncate(time.Second))
	h := start(t, func(c *wechatemu.Config) { c.Clock = fc.Now })
	native, atOnce, unpaid, paidBack := "T20261123000201", "T20261123000202", "T20261123000203", "T20261123000204"
	h.do("POST", "/v3/pay/transactions/native", prepayBody(native, 100, ""), auth{})
	if err := h.emu.Pay(native); err != nil {
		t.Fatal(err)
	}
	for no, code := range map[string]string{atOnce: wechatemu.CodePaysAtOnce, unpaid: wechatemu.CodeNeverConfirms, paidBack: wechatemu.CodeNeverConfirms} {
		if status, m := h.do("POST", "/v3/pay/transactions/codepay", codePayBody(no, 250, code), auth{}); status != 200 && status != 202 {
			t.Fatalf("codepay %s: %d %v", no, status, m)
		}
	}
	if err := h.emu.Pay(paidBack); err != nil { // the customer confirms at the last moment
		t.Fatal(err)
	}
	fc.Advance(30 * time.Second)
	for _, no := range []string{unpaid, paidBack} {
		if status, m := h.do("POST", "/v3/pay/transactions/out-trade-no/"+no+"/reverse", fmt.Sprintf(`{"appid":%q,"mchid":%q}`, appID, mchID), auth{}); status != 200 {
			t.Fatalf("reverse %s: %d %v", no, status, m)
		}
	}
	tr, _ := h.emu.Trade(paidBack)
	if tr.State != wechatemu.StateRevoked || tr.RevokeRefundID == "" || tr.Refunded != 250 {
		t.Fatalf("the reversed payment: %+v", tr)
	}
	if u, _ := h.emu.Trade(unpaid); u.RevokeRefundID != "" {
		t.Fatalf("a reverse with no payment has a refund id: %+v", u)
	}
	day := fc.Now().In(cst).Format("2006-01-02")

	rows, sum := h.billRows(day, "ALL")
	if len(rows) != 4 || sum["总交易单数"] != "4" || sum["应结订单总金额"] != "6.00" || sum["退款总金额"] != "2.50" {
		t.Fatalf("ALL: %d rows %v, summary %v", len(rows), rows, sum)
	}
	for key, kind := range map[string]string{native + " SUCCESS": "NATIVE", atOnce + " SUCCESS": "MICROPAY", paidBack + " SUCCESS": "MICROPAY", paidBack + " REVOKED": "MICROPAY"} {
		if row, ok := rows[key]; !ok || row["交易类型"] != kind {
			t.Errorf("%s: %v, want 交易类型 %s", key, row, kind)
		}
	}
	if row := rows[paidBack+" SUCCESS"]; row["订单金额"] != "2.50" || row["交易时间"] != tr.SuccessTime.In(cst).Format(time.DateTime) {
		t.Errorf("the reversed trade's payment: %v", row)
	}
	back := tr.RevokedAt.In(cst).Format(time.DateTime)
	if row := rows[paidBack+" REVOKED"]; row["退款金额"] != "2.50" || row["申请退款金额"] != "2.50" || row["应结订单金额"] != "0.00" ||
		row["微信退款单号"] != tr.RevokeRefundID || row["商户退款单号"] != tr.RevokeRefundID || row["退款状态"] != "SUCCESS" ||
		row["微信订单号"] != tr.TransactionID || row["交易时间"] != back || row["手续费"] != "-0.02000" {
		t.Errorf("the reverse's row: %v", row)
	}

	if rows, _ := h.billRows(day, "SUCCESS"); len(rows) != 3 || rows[paidBack+" SUCCESS"] == nil {
		t.Errorf("SUCCESS: %v", rows)
	}
	rows, sum = h.billRows(day, "REFUND")
	if row := rows[paidBack+" REVOKED"]; len(rows) != 1 || row["退款申请时间"] != back || row["退款成功时间"] != back || sum["退款总金额"] != "2.50" {
		t.Errorf("REFUND: %v %v", rows, sum)
	}
}
