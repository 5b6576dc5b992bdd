package alipay

import (
	"archive/zip"
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"till/checkout"
	"till/providers/alipay/alipayemu"
)

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// pastDay is a China day two days back, at 00:00, so that it and the day
// after are both bills the emulator serves.
func pastDay() time.Time {
	now := time.Now().In(checkout.BillZone)
	return time.Date(now.Year(), now.Month(), now.Day()-2, 0, 0, 0, 0, checkout.BillZone)
}

func tradesByOrder(b checkout.Bill) map[string]checkout.BillTrade {
	m := map[string]checkout.BillTrade{}
	for _, tr := range b.Trades {
		m[tr.OrderNo] = tr
	}
	return m
}

// TestBillListsTheDayRowByRow: through the real SDK and the emulator's
// zip, a paid trade and a partly refunded one are trades, the refund is a
// refund (positive, with its out_request_no), a scanned-but-unpaid and a
// closed trade are absent.
func TestBillListsTheDayRowByRow(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	d := pastDay()
	day := d.Format(checkout.DayLayout)
	e.clock.Set(d.Add(10 * time.Hour))

	paid := e.create(t, 1230)
	refunded := e.create(t, 1000)
	unpaid := e.create(t, 700)
	closed := e.create(t, 500)
	for _, no := range []string{paid.OrderNo, refunded.OrderNo} {
		if err := e.emu.Pay(no); err != nil {
			t.Fatal(err)
		}
	}
	for _, no := range []string{unpaid.OrderNo, closed.OrderNo} {
		if err := e.emu.Scan(no); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.p.Close(ctx, closed.OrderNo); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if _, err := e.p.Refund(ctx, checkout.RefundRequest{OrderNo: refunded.OrderNo, RefundNo: "R1", Amount: 300, Total: 1000}); err != nil {
		t.Fatal(err)
	}

	bill, err := e.p.Bill(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	if bill.Method != checkout.MethodAlipay || bill.Day != day || len(bill.Trades) != 2 {
		t.Fatalf("bill %+v", bill)
	}
	trades := tradesByOrder(bill)
	for no, amount := range map[string]checkout.Money{paid.OrderNo: 1230, refunded.OrderNo: 1000} {
		want, _ := e.emu.Trade(no)
		got, ok := trades[no]
		if !ok || got.ProviderTradeNo != want.TradeNo || got.Amount != amount || !got.At.Equal(want.PaidAt.Truncate(time.Second)) || got.Raw != "交易" {
			t.Errorf("trade row %+v, emulator %+v", got, want)
		}
	}
	for _, no := range []string{unpaid.OrderNo, closed.OrderNo} {
		if _, ok := trades[no]; ok {
			t.Errorf("%s was never paid but is in the bill", no)
		}
	}
	if len(bill.Refunds) != 1 {
		t.Fatalf("refunds %+v", bill.Refunds)
	}
	tr, _ := e.emu.Trade(refunded.OrderNo)
	if got := bill.Refunds[0]; got.OrderNo != refunded.OrderNo || got.RefundNo != "R1" || got.Amount != 300 ||
		!got.At.Equal(tr.Refunds[0].At.Truncate(time.Second)) || got.Raw != "退款" {
		t.Errorf("refund row %+v, emulator %+v", got, tr.Refunds[0])
	}
}

// TestBillDayBoundary: paid at 23:59:59 China time is the day's, at
// 00:00:00 the next day's.
func TestBillDayBoundary(t *testing.T) {
	e := newEnv(t)
	d := pastDay()
	e.clock.Set(d.Add(24*time.Hour - time.Second))
	late := e.create(t, 100)
	if err := e.emu.Pay(late.OrderNo); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(d.Add(24 * time.Hour))
	early := e.create(t, 200)
	if err := e.emu.Pay(early.OrderNo); err != nil {
		t.Fatal(err)
	}
	b1, err := e.p.Bill(t.Context(), d.Format(checkout.DayLayout))
	if err != nil {
		t.Fatal(err)
	}
	b2, err := e.p.Bill(t.Context(), d.AddDate(0, 0, 1).Format(checkout.DayLayout))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := tradesByOrder(b1)[late.OrderNo]; !ok || len(b1.Trades) != 1 || !got.At.Equal(d.Add(24*time.Hour-time.Second)) {
		t.Errorf("the day: %+v", b1.Trades)
	}
	if got, ok := tradesByOrder(b2)[early.OrderNo]; !ok || len(b2.Trades) != 1 || !got.At.Equal(d.Add(24*time.Hour)) {
		t.Errorf("the next day: %+v", b2.Trades)
	}
}

func TestBillNotReady(t *testing.T) {
	e := newEnv(t)
	tomorrow := time.Now().In(checkout.BillZone).AddDate(0, 0, 1).Format(checkout.DayLayout)
	if _, err := e.p.Bill(t.Context(), tomorrow); !errors.Is(err, checkout.ErrBillNotReady) {
		t.Fatalf("tomorrow: %v", err)
	}
	if _, err := e.p.Bill(t.Context(), "2026-1-2"); err == nil || errors.Is(err, checkout.ErrBillNotReady) {
		t.Fatalf("not a day: %v", err)
	}
}

// TestBillDamagedDownloadIsAnError: a zip cut short, a 502, a reset, an
// answer whose signature fails, or the gateway busy: errors, never a bill
// and never "not ready".
func TestBillDamagedDownloadIsAnError(t *testing.T) {
	e := newEnv(t)
	e.clock.Set(pastDay().Add(10 * time.Hour))
	day := pastDay().Format(checkout.DayLayout)
	req := e.create(t, 1230)
	if err := e.emu.Pay(req.OrderNo); err != nil {
		t.Fatal(err)
	}
	const query = "alipay.data.dataservice.bill.downloadurl.query"
	cases := map[string]alipayemu.Faults{
		"zip cut short":  {Method: alipayemu.BillDownloadPath, MalformedBody: true},
		"download 502":   {Method: alipayemu.BillDownloadPath, Status5xx: true},
		"download reset": {Method: alipayemu.BillDownloadPath, Reset: true},
		"bad signature":  {Method: query, BadSignature: true},
		"gateway busy":   {Method: query, Unavailable: true},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			e.emu.SetFaults(f)
			defer e.emu.SetFaults(alipayemu.Faults{})
			bill, err := e.p.Bill(t.Context(), day)
			if err == nil || errors.Is(err, checkout.ErrBillNotReady) || len(bill.Trades) != 0 {
				t.Fatalf("got %+v, %v", bill, err)
			}
		})
	}
	if bill, err := e.p.Bill(t.Context(), day); err != nil || len(bill.Trades) != 1 {
		t.Fatalf("without faults: %+v %v", bill, err)
	}
}

// detailText is a detail CSV of another channel: columns moved about, a
// leading 商户ID, 9 columns rather than the direct merchant's 25, ASCII
// parentheses in a header, fields padded with tabs and spaces, a quoted
// comma.
const detailText = "#支付宝业务明细查询\r\n" +
	"#账号：[20881021776494500156]\r\n" +
	"#起始日期：[2026年12月01日 00:00:00]   终止日期：[2026年12月02日 00:00:00]\r\n" +
	"#-----------------------------------------业务明细列表----------------------------------------\r\n" +
	"商户ID,商户订单号,支付宝交易号,完成时间,业务类型,订单金额(元),退款批次号/请求号,商品名称,备注\r\n" +
	"2088001\t,A1\t,2026120122001001\t,2026-12-01 10:00:00\t,交易\t,12.30\t,\t,咖啡\t,\t\r\n" +
	"2088001\t,A2  \t,2026120122001002\t,2026-12-01 23:59:59\t,交易\t,5.00\t,\t,\"tea, green\t\",\t\r\n" +
	"2088001\t,A2\t,2026120122001002\t,2026-12-01 23:59:59\t,退款\t,-2.50\t,RQ1\t,tea\t,\t\r\n" +
	"#-----------------------------------------业务明细列表结束------------------------------------\r\n" +
	"#交易合计：2笔，商家实收共17.30元，商家优惠共0.00元\r\n" +
	"#退款合计：1笔，商家实收退款共-2.50元，商家优惠退款共0.00元\r\n" +
	"#导出时间：[2026年12月02日 09:12:34]\r\n"

func gbk(t *testing.T, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkDetail(t *testing.T, b checkout.Bill) {
	t.Helper()
	at := func(s string) time.Time {
		v, _ := time.ParseInLocation(time.DateTime, s, checkout.BillZone)
		return v
	}
	if b.Method != checkout.MethodAlipay || b.Day != "2026-12-01" || len(b.Trades) != 2 || len(b.Refunds) != 1 {
		t.Fatalf("bill %+v", b)
	}
	want := []checkout.BillTrade{
		{OrderNo: "A1", ProviderTradeNo: "2026120122001001", Amount: 1230, At: at("2026-12-01 10:00:00"), Raw: "交易"},
		{OrderNo: "A2", ProviderTradeNo: "2026120122001002", Amount: 500, At: at("2026-12-01 23:59:59"), Raw: "交易"},
	}
	for i, w := range want {
		if g := b.Trades[i]; g.OrderNo != w.OrderNo || g.ProviderTradeNo != w.ProviderTradeNo || g.Amount != w.Amount || !g.At.Equal(w.At) || g.Raw != w.Raw {
			t.Errorf("trade %d: %+v, want %+v", i, g, w)
		}
	}
	if g := b.Refunds[0]; g.OrderNo != "A2" || g.RefundNo != "RQ1" || g.Amount != 250 || !g.At.Equal(at("2026-12-01 23:59:59")) || g.Raw != "退款" {
		t.Errorf("refund %+v", g)
	}
}

// TestParseBillDetail reads the GBK text back to the same rows: the GBK
// round trip, the columns by name, the padding trimmed.
func TestParseBillDetail(t *testing.T) {
	b, err := ParseBillDetail("2026-12-01", gbk(t, detailText))
	if err != nil {
		t.Fatal(err)
	}
	checkDetail(t, b)
	// A refund without a request number (a cancel's) is its order's.
	b, err = ParseBillDetail("2026-12-01", gbk(t, strings.Replace(detailText, "RQ1", "", 1)))
	if err != nil || len(b.Refunds) != 1 || b.Refunds[0].RefundNo != "A2" {
		t.Fatalf("a refund without a request number: %+v, %v", b.Refunds, err)
	}
}

// billZip packs entries as Alipay does: GBK names, no UTF-8 flag.
func billZip(t *testing.T, entries ...[2]string) []byte {
	t.Helper()
	var z bytes.Buffer
	zw := zip.NewWriter(&z)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: string(gbk(t, e[0])), NonUTF8: true, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(gbk(t, e[1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}

// TestParseBillFindsTheDetailEntry: the summary comes first in the zip and
// also ends in .csv; the detail is the one whose GBK name ends in 业务明细.csv.
func TestParseBillFindsTheDetailEntry(t *testing.T) {
	zr := billZip(t,
		[2]string{"20881021776494500156_20261201_业务明细(汇总).csv", "#支付宝业务汇总查询\r\n门店编号,交易订单总笔数\r\n\t,9\t\r\n"},
		[2]string{"20881021776494500156_20261201_业务明细.csv", detailText})
	r, _ := zip.NewReader(bytes.NewReader(zr), int64(len(zr)))
	if r.File[1].Flags&0x800 != 0 || r.File[1].Name == "20881021776494500156_20261201_业务明细.csv" {
		t.Fatal("the test zip's names are not raw GBK")
	}
	b, err := ParseBill("2026-12-01", zr)
	if err != nil {
		t.Fatal(err)
	}
	checkDetail(t, b)

	onlySummary := billZip(t, [2]string{"x_业务明细(汇总).csv", detailText})
	if _, err := ParseBill("2026-12-01", onlySummary); err == nil {
		t.Fatal("a zip without the detail parsed")
	}
	if _, err := ParseBill("2026-12-01", zr[:len(zr)/2]); err == nil {
		t.Fatal("half a zip parsed")
	}
}

func TestParseBillDetailRefusesBrokenFiles(t *testing.T) {
	end := "#-----------------------------------------业务明细列表结束------------------------------------\r\n"
	cases := map[string]struct{ text, want string }{
		"cut short":        {detailText[:strings.Index(detailText, end)], "end line"},
		"trade count":      {strings.Replace(detailText, "交易合计：2笔", "交易合计：3笔", 1), "#交易合计"},
		"refund count":     {strings.Replace(detailText, "退款合计：1笔", "退款合计：0笔", 1), "#退款合计"},
		"unknown kind":     {strings.Replace(detailText, ",退款\t", ",冻结\t", 1), "line 8"},
		"bad amount":       {strings.Replace(detailText, "12.30", "12.3.0", 1), "line 6"},
		"float amount":     {strings.Replace(detailText, "12.30", "1.23e1", 1), "line 6"},
		"bad time":         {strings.Replace(detailText, "2026-12-01 10:00:00", "2026/12/01 10:00", 1), "line 6"},
		"short row":        {strings.Replace(detailText, ",咖啡\t,\t", "", 1), "line 6"},
		"no amount":        {strings.Replace(detailText, "订单金额(元)", "金额", 1), "订单金额"},
		"row after end":    {detailText + "2088001,A9,1,2026-12-01 10:00:00,交易,1.00,,x,\r\n", "line 13"},
		"no header at all": {"#支付宝业务明细查询\r\n", "header"},
	}
	for name, c := range cases {
		if _, err := ParseBillDetail("2026-12-01", gbk(t, c.text)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, c.want)
		}
	}
}

// TestBillOfCodeTrades: the bill of a day of code sales, through the SDK
// from the emulator: paid at once and confirmed later are trades;
// cancelled before the customer paid is absent; paid as the cancel
// arrived is a trade and a refund under its order's number (the cancel's
// request number).
func TestBillOfCodeTrades(t *testing.T) {
	c := newCodeEnv(t)
	d := pastDay()
	c.fc.Set(d.Add(10 * time.Hour))
	atOnce, _ := c.eng.ChargeCode(ctx, 110, alipayemu.CodePaysAtOnce, "")
	later, _ := c.eng.ChargeCode(ctx, 220, alipayemu.CodeConfirmsLater, "")
	unpaid, _ := c.eng.ChargeCode(ctx, 330, alipayemu.CodeNeverConfirms, "")
	paidBack, _ := c.eng.ChargeCode(ctx, 440, alipayemu.CodeNeverConfirms, "")
	c.spy.beforeReverse = func(no string) {
		if no == paidBack.No {
			if err := c.emu.Pay(no); err != nil {
				t.Errorf("the customer confirms: %v", err)
			}
		}
	}
	c.fc.Advance(checkout.DefaultCodeDeadline)
	for no, want := range map[string]checkout.State{later.No: checkout.StatePaid, unpaid.No: checkout.StateClosed, paidBack.No: checkout.StateRefunded} {
		if o, err := c.eng.PollCode(ctx, no); err != nil || o.State != want {
			t.Fatalf("%s: %+v %v, want %s", no, o, err, want)
		}
	}

	bill, err := c.p.Bill(ctx, d.Format(checkout.DayLayout))
	if err != nil {
		t.Fatal(err)
	}
	trades := tradesByOrder(bill)
	if len(bill.Trades) != 3 || trades[atOnce.No].Amount != 110 || trades[later.No].Amount != 220 || trades[paidBack.No].Amount != 440 {
		t.Fatalf("trades %+v", bill.Trades)
	}
	tr, _ := c.emu.Trade(paidBack.No)
	if len(bill.Refunds) != 1 || len(tr.Refunds) != 1 {
		t.Fatalf("refunds %+v, emulator %+v", bill.Refunds, tr.Refunds)
	}
	if got := bill.Refunds[0]; got.OrderNo != paidBack.No || got.RefundNo != paidBack.No || got.Amount != 440 || !got.At.Equal(tr.Refunds[0].At.Truncate(time.Second)) {
		t.Fatalf("the cancel's refund %+v, emulator %+v", got, tr.Refunds[0])
	}
}
