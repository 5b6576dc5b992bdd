package alipayemu

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smartwalle/alipay/v3"
	"golang.org/x/text/encoding/simplifiedchinese"

	"till/providers/fake"
)

func download(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestBillFile: the signed answer points at the emulator; the zip holds
// the detail and the summary under GBK names without the UTF-8 flag; the
// detail is GBK, in the documented layout, a trade row and a negative
// refund row padded with tabs; the link dies after 30 s.
func TestBillFile(t *testing.T) {
	s, clock := start(t, nil)
	c := sdk(t, s)
	day := clock.Now().In(shanghai).Format("2006-01-02")
	if _, err := c.TradePreCreate(ctx, alipay.TradePreCreate{Trade: alipay.Trade{OutTradeNo: "B1", TotalAmount: "12.30", Subject: "coffee, large"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Emulator.Pay("B1"); err != nil {
		t.Fatal(err)
	}
	if r, err := c.TradeRefund(ctx, alipay.TradeRefund{OutTradeNo: "B1", RefundAmount: "3.00", OutRequestNo: "RQ1"}); err != nil || r.FundChange != "Y" {
		t.Fatalf("refund %+v %v", r, err)
	}
	rsp, err := c.BillDownloadURLQuery(ctx, alipay.BillDownloadURLQuery{BillType: "trade", BillDate: day})
	if err != nil || !rsp.IsSuccess() || !strings.HasPrefix(rsp.BillDownloadURL, s.URL+BillDownloadPath+"?token=") {
		t.Fatalf("query: %+v %v", rsp, err)
	}
	status, data := download(t, rsp.BillDownloadURL)
	if status != 200 {
		t.Fatalf("download: %d", status)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil || len(zr.File) != 2 {
		t.Fatalf("zip: %v", err)
	}
	stamp := strings.ReplaceAll(day, "-", "")
	var names []string
	for _, f := range zr.File {
		if f.Flags&0x800 != 0 {
			t.Errorf("%q is flagged UTF-8", f.Name)
		}
		name, _ := simplifiedchinese.GBK.NewDecoder().String(f.Name)
		names = append(names, name)
	}
	if names[0] != billAccount+"_"+stamp+"_业务明细.csv" || names[1] != billAccount+"_"+stamp+"_业务明细(汇总).csv" {
		t.Fatalf("entries %q", names)
	}
	rc, _ := zr.File[0].Open()
	raw, _ := io.ReadAll(rc)
	rc.Close()
	text, err := simplifiedchinese.GBK.NewDecoder().String(string(raw))
	if err != nil || strings.Contains(string(raw), "业务明细") {
		t.Fatalf("the detail is not GBK: %v", err)
	}
	lines := strings.Split(strings.TrimRight(text, "\r\n"), "\r\n")
	if len(lines) != 11 {
		t.Fatalf("%d lines:\n%s", len(lines), text)
	}
	if lines[0] != "#支付宝业务明细查询" || lines[1] != "#账号：["+billAccount+"]" ||
		!strings.HasPrefix(lines[2], "#起始日期：[") || !strings.Contains(lines[2], "]   终止日期：[") ||
		!strings.Contains(lines[3], "业务明细列表") || lines[4] != strings.Join(detailColumns, ",") ||
		!strings.Contains(lines[7], "业务明细列表结束") || !strings.HasPrefix(lines[8], "#交易合计：1笔") ||
		!strings.HasPrefix(lines[9], "#退款合计：1笔") || !strings.HasPrefix(lines[10], "#导出时间：[") {
		t.Fatalf("layout:\n%s", text)
	}
	if len(detailColumns) != 25 {
		t.Fatalf("%d columns", len(detailColumns))
	}
	tr, _ := s.Emulator.Trade("B1")
	if !strings.HasPrefix(lines[5], tr.TradeNo+"\t,B1\t,交易\t,\"coffee, large\t\",") || !strings.Contains(lines[5], ",12.30\t,") {
		t.Errorf("trade row %q", lines[5])
	}
	if !strings.HasPrefix(lines[6], tr.TradeNo+"\t,B1\t,退款\t,") || !strings.Contains(lines[6], ",-3.00\t,") || !strings.Contains(lines[6], ",RQ1\t,") {
		t.Errorf("refund row %q", lines[6])
	}

	clock.Advance(BillURLLife + time.Second)
	if status, _ := download(t, rsp.BillDownloadURL); status != http.StatusNotFound {
		t.Fatalf("an expired link answered %d", status)
	}
}

func TestBillRefusals(t *testing.T) {
	s, clock := start(t, nil)
	c := sdk(t, s)
	tomorrow := clock.Now().In(shanghai).AddDate(0, 0, 1).Format("2006-01-02")
	cases := []struct{ billType, date, sub string }{
		{"trade", tomorrow, "isp.bill_not_exist"},
		{"signcustomer", "2026-11-01", "isv.invalid_arguments"},
		{"trade", "2026-11-31", "isv.invalid_arguments"},
		{"trade", "", "isv.invalid_arguments"},
	}
	for _, cs := range cases {
		rsp, err := c.BillDownloadURLQuery(ctx, alipay.BillDownloadURLQuery{BillType: cs.billType, BillDate: cs.date})
		if err != nil || rsp.Code != "40004" || rsp.SubCode != cs.sub || rsp.BillDownloadURL != "" {
			t.Errorf("%s %q: %+v %v, want 40004 %s", cs.billType, cs.date, rsp, err, cs.sub)
		}
	}
	// A month is a bill too.
	if rsp, err := c.BillDownloadURLQuery(ctx, alipay.BillDownloadURLQuery{BillType: "trade", BillDate: clock.Now().In(shanghai).Format("2006-01")}); err != nil || !rsp.IsSuccess() {
		t.Errorf("this month: %+v %v", rsp, err)
	}
	if status, _ := download(t, s.URL+BillDownloadPath+"?token=guess"); status != http.StatusNotFound {
		t.Errorf("a guessed token answered %d", status)
	}
}

// TestBillHooksPersist: the tamper hooks change the records the bill is
// made from and survive a restart.
func TestBillHooksPersist(t *testing.T) {
	store := fake.NewStore()
	s, _ := start(t, func(c *Config) { c.Store = store })
	c := sdk(t, s)
	if _, err := c.TradePreCreate(ctx, alipay.TradePreCreate{Trade: alipay.Trade{OutTradeNo: "H1", TotalAmount: "10.00", Subject: "x"}}); err != nil {
		t.Fatal(err)
	}
	s.Emulator.Pay("H1")
	if _, err := c.TradeRefund(ctx, alipay.TradeRefund{OutTradeNo: "H1", RefundAmount: "1.00", OutRequestNo: "R1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Emulator.TamperTrade("H1", func(t *TradeInfo) { t.TotalFen = 999 }); err != nil {
		t.Fatal(err)
	}
	if err := s.Emulator.TamperRefund("H1", "R1", func(r *RefundInfo) { r.AmountFen = 101 }); err != nil {
		t.Fatal(err)
	}
	if err := s.Emulator.TamperRefund("H1", "R9", func(*RefundInfo) {}); err != ErrUnknownTrade {
		t.Fatalf("unknown refund: %v", err)
	}
	if err := s.Emulator.TamperTrade("H1", func(t *TradeInfo) { t.OutTradeNo = "H2" }); err == nil {
		t.Fatal("TamperTrade changed the key")
	}
	f, err := s.Emulator.AddForeignTrade(TradeInfo{OutTradeNo: "F1", TotalFen: 555})
	if err != nil || f.TradeNo == "" || !f.WasPaid() || f.Status != StatusSuccess {
		t.Fatalf("AddForeignTrade: %+v %v", f, err)
	}
	if _, err := s.Emulator.AddForeignTrade(TradeInfo{OutTradeNo: "H1"}); err != ErrExists {
		t.Fatalf("foreign trade over a real one: %v", err)
	}
	if _, err := s.Emulator.AddForeignRefund("H1", RefundInfo{OutRequestNo: "FR1", AmountFen: 50}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s2, _ := start(t, func(c *Config) { c.Store = store })
	tr, _ := s2.Emulator.Trade("H1")
	if tr.TotalFen != 999 || len(tr.Refunds) != 2 || tr.Refunds[0].AmountFen != 101 || tr.Refunds[1].OutRequestNo != "FR1" || tr.RefundedFen != 150 {
		t.Fatalf("after restart: %+v", tr)
	}
	if f2, ok := s2.Emulator.Trade("F1"); !ok || f2.TradeNo != f.TradeNo || f2.TotalFen != 555 {
		t.Fatalf("foreign trade after restart: %+v", f2)
	}
	if q, err := sdk(t, s2).TradeQuery(ctx, alipay.TradeQuery{TradeNo: f.TradeNo}); err != nil || q.OutTradeNo != "F1" {
		t.Fatalf("the foreign trade by trade_no: %+v %v", q, err)
	}
}
