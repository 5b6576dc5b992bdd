package wechat_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"till/checkout"
	"till/providers/wechat"
	"till/providers/wechat/wechatemu"
)

// Set moves the emulator's clock to t (the SDK still signs with the
// machine's clock, so API calls need it back within a few minutes).
func (c *clock) Set(t time.Time) { c.off.Store(int64(time.Until(t))) }

// today is the China day now, waiting out the last seconds before
// midnight so that a test's records and its bill fall on one day.
func today(t *testing.T) string {
	t.Helper()
	now := time.Now().In(checkout.BillZone)
	midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, checkout.BillZone)
	if d := midnight.Sub(now); d < 20*time.Second {
		time.Sleep(d + time.Second)
	}
	return time.Now().In(checkout.BillZone).Format(checkout.DayLayout)
}

func byOrder(b checkout.Bill) map[string]checkout.BillTrade {
	m := map[string]checkout.BillTrade{}
	for _, tr := range b.Trades {
		m[tr.OrderNo] = tr
	}
	return m
}

// TestBillListsTheDayRowByRow: a paid trade and a partly refunded one are
// trades, the partial refund is a refund, an unpaid and a closed trade are
// absent; every field is what the emulator holds.
func TestBillListsTheDayRowByRow(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	day := today(t)
	paid, refunded, unpaid, closed := orderNo(), orderNo(), orderNo(), orderNo()
	for _, no := range []string{paid, refunded, unpaid, closed} {
		e.mustCreate(no)
	}
	e.mustPay(paid)
	e.mustPay(refunded)
	refundNo := "R" + refunded
	if _, err := e.p.Refund(ctx, checkout.RefundRequest{OrderNo: refunded, RefundNo: refundNo, Amount: 300, Total: 1234}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.Close(ctx, closed); err != nil {
		t.Fatal(err)
	}

	bill, err := e.p.Bill(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	if bill.Method != checkout.MethodWeChat || bill.Day != day {
		t.Fatalf("bill of %v %s", bill.Method, bill.Day)
	}
	if len(bill.Trades) != 2 {
		t.Fatalf("want 2 trades, got %+v", bill.Trades)
	}
	trades := byOrder(bill)
	for _, no := range []string{paid, refunded} {
		want, _ := e.emu.Trade(no)
		got, ok := trades[no]
		if !ok {
			t.Fatalf("%s is not in the bill", no)
		}
		if got.ProviderTradeNo != want.TransactionID || got.Amount != 1234 || !got.At.Equal(want.SuccessTime) || got.Raw != "SUCCESS" {
			t.Errorf("trade row %+v, emulator %+v", got, want)
		}
	}
	for _, no := range []string{unpaid, closed} {
		if _, ok := trades[no]; ok {
			t.Errorf("%s was never paid but is in the bill", no)
		}
	}
	if len(bill.Refunds) != 1 {
		t.Fatalf("want 1 refund, got %+v", bill.Refunds)
	}
	want, _ := e.emu.Refund(refundNo)
	if got := bill.Refunds[0]; got.OrderNo != refunded || got.RefundNo != refundNo || got.ProviderRefundNo != want.RefundID ||
		got.Amount != 300 || !got.At.Equal(want.SuccessTime) || got.Raw != "SUCCESS" {
		t.Errorf("refund row %+v, emulator %+v", got, want)
	}
}

// TestBillDayBoundary: 23:59:59 China time is the day's, 00:00:00 the
// next day's, whatever the machine's zone.
func TestBillDayBoundary(t *testing.T) {
	e := newEnv(t)
	now := time.Now().In(checkout.BillZone)
	d := time.Date(now.Year(), now.Month(), now.Day()-2, 0, 0, 0, 0, checkout.BillZone)
	day, next := d.Format(checkout.DayLayout), d.AddDate(0, 0, 1).Format(checkout.DayLayout)
	late, early := orderNo(), orderNo()
	e.mustCreate(late)
	e.mustCreate(early)
	e.clock.Set(d.Add(24*time.Hour - time.Second))
	e.mustPay(late)
	e.clock.Set(d.Add(24 * time.Hour))
	e.mustPay(early)
	e.clock.Set(time.Now())

	b1, err := e.p.Bill(t.Context(), day)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := e.p.Bill(t.Context(), next)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := byOrder(b1)[late]; !ok || !got.At.Equal(d.Add(24*time.Hour-time.Second)) || len(b1.Trades) != 1 {
		t.Errorf("%s: %+v", day, b1.Trades)
	}
	if got, ok := byOrder(b2)[early]; !ok || !got.At.Equal(d.Add(24*time.Hour)) || len(b2.Trades) != 1 {
		t.Errorf("%s: %+v", next, b2.Trades)
	}
}

func TestBillNotReady(t *testing.T) {
	e := newEnv(t)
	tomorrow := time.Now().In(checkout.BillZone).AddDate(0, 0, 1).Format(checkout.DayLayout)
	if _, err := e.p.Bill(t.Context(), tomorrow); !errors.Is(err, checkout.ErrBillNotReady) {
		t.Fatalf("tomorrow: %v", err)
	}
	e.emu.SetFaults(wechatemu.Faults{Path: "/tradebill", Status: 400, Code: "STATEMENT_CREATING", Message: "账单生成中", Times: 1})
	if _, err := e.p.Bill(t.Context(), today(t)); !errors.Is(err, checkout.ErrBillNotReady) {
		t.Fatalf("statement creating: %v", err)
	}
	if _, err := e.p.Bill(t.Context(), "2026-02-30"); err == nil || errors.Is(err, checkout.ErrBillNotReady) {
		t.Fatalf("not a day: %v", err)
	}
}

// TestBillDamagedDownloadIsAnError: a file cut short (its digest no longer
// matches), an apply answer whose signature fails, and a download refused
// are errors, never a bill and never "not ready".
func TestBillDamagedDownloadIsAnError(t *testing.T) {
	e := newEnv(t)
	day := today(t)
	no := orderNo()
	e.mustCreate(no)
	e.mustPay(no)
	cases := map[string]wechatemu.Faults{
		"truncated file":    {Path: "/billdownload", MalformedBody: true, Times: 1},
		"bad signature":     {Path: "/tradebill", BadSignature: true, Times: 1},
		"download refused":  {Path: "/billdownload", Status: 400, Code: "INVALID_REQUEST", Times: 1},
		"download dropped":  {Path: "/billdownload", DropConnection: true}, // every time: net/http retries a GET once
		"apply server down": {Path: "/tradebill", Status: 500, Times: 1},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			e.emu.SetFaults(f)
			defer e.emu.ClearFaults()
			bill, err := e.p.Bill(t.Context(), day)
			if err == nil || errors.Is(err, checkout.ErrBillNotReady) || len(bill.Trades) != 0 {
				t.Fatalf("got %+v, %v", bill, err)
			}
			if name == "truncated file" && !strings.Contains(err.Error(), "SHA-1") {
				t.Fatalf("want a digest mismatch, got %v", err)
			}
		})
	}
	if bill, err := e.p.Bill(t.Context(), day); err != nil || len(bill.Trades) != 1 {
		t.Fatalf("without faults: %+v %v", bill, err)
	}
}

// allBill is an ALL bill as WeChat writes it, with the columns moved about
// (the parser goes by name), stray spaces and tabs, a refund still
// processing (left out) and a REVOKED row that moves no money (left out).
const allBill = "商户订单号,交易状态,交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,用户标识,交易类型,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n" +
	"`A1,`SUCCESS,`2026-12-01 10:00:00,`wx1,`1900000001,`0,`,`4200001,`o1,`NATIVE,`OTHERS,`CNY,`12.34,`0.00,`0,`0,`0.00,`0.00,`,`,`coffee,`terminal=T1,`0.07000,`0.60%,`12.34,`0.00,`\r\n" +
	"`A2 ,`SUCCESS,`2026-12-01 23:59:59,`wx1,`1900000001,`0,`,`4200002\t,`o1,`NATIVE,`OTHERS,`CNY,`5.00,`0.00,`0,`0,`0.00,`0.00,`,`,\"`tea, green\",`,`0.03000,`0.60%,`5.00,`0.00,`\r\n" +
	"`A2,`REFUND,`2026-12-01 23:00:00,`wx1,`1900000001,`0,`,`4200002,`o1,`NATIVE,`OTHERS,`CNY,`0.00,`0.00,`5000001,`RF1,`2.00,`0.00,`ORIGINAL,`SUCCESS,`tea,`,`-0.01000,`0.60%,`0.00,`2.00,`\r\n" +
	"`A1,`REFUND,`2026-12-01 23:10:00,`wx1,`1900000001,`0,`,`4200001,`o1,`NATIVE,`OTHERS,`CNY,`0.00,`0.00,`5000002,`RF2,`1.00,`0.00,`ORIGINAL,`PROCESSING,`coffee,`,`0.00000,`0.60%,`0.00,`1.00,`\r\n" +
	"`A3,`REVOKED,`2026-12-01 11:00:00,`wx1,`1900000001,`0,`,`4200003,`o1,`MICROPAY,`OTHERS,`CNY,`0.00,`0.00,`0,`0,`0.00,`0.00,`,`,`x,`,`0.00000,`0.60%,`1.00,`0.00,`\r\n" +
	"总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n" +
	"`5,`17.34,`3.00,`0.00,`0.09000,`18.34,`3.00\r\n"

// successBill is a SUCCESS bill: 20 columns, no refund columns. The
// order amount (1.01) includes a voucher (1.00) the merchant is not
// settled (0.01).
const successBill = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,费率备注\n" +
	"`2026-12-01 00:00:00,`wx1,`1900000001,`0,`,`4200009,`B1,`o1,`NATIVE,`SUCCESS,`OTHERS,`CNY,`0.01,`1.00,`x,`,`0.00000,`0.60%,`1.01,`\n" +
	"总交易单数,应结订单总金额,手续费总金额,订单总金额\n" +
	"`1,`0.01,`0.00000,`1.01\n"

func TestParseBill(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.ParseInLocation(time.DateTime, s, checkout.BillZone)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	b, err := wechat.ParseBill("2026-12-01", []byte(allBill))
	if err != nil {
		t.Fatal(err)
	}
	wantTrades := []checkout.BillTrade{
		{OrderNo: "A1", ProviderTradeNo: "4200001", Amount: 1234, At: at("2026-12-01 10:00:00"), Raw: "SUCCESS"},
		{OrderNo: "A2", ProviderTradeNo: "4200002", Amount: 500, At: at("2026-12-01 23:59:59"), Raw: "SUCCESS"},
	}
	if len(b.Trades) != len(wantTrades) {
		t.Fatalf("trades %+v", b.Trades)
	}
	for i, w := range wantTrades {
		if g := b.Trades[i]; g.OrderNo != w.OrderNo || g.ProviderTradeNo != w.ProviderTradeNo || g.Amount != w.Amount || !g.At.Equal(w.At) || g.Raw != w.Raw {
			t.Errorf("trade %d: %+v, want %+v", i, g, w)
		}
	}
	if len(b.Refunds) != 1 {
		t.Fatalf("refunds %+v (PROCESSING is no refund yet)", b.Refunds)
	}
	if g := b.Refunds[0]; g.OrderNo != "A2" || g.RefundNo != "RF1" || g.ProviderRefundNo != "5000001" || g.Amount != 200 ||
		!g.At.Equal(at("2026-12-01 23:00:00")) || g.Raw != "SUCCESS" {
		t.Errorf("refund %+v", g)
	}

	s, err := wechat.ParseBill("2026-12-01", []byte(successBill))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Trades) != 1 || s.Trades[0].OrderNo != "B1" || s.Trades[0].Amount != 101 || !s.Trades[0].At.Equal(at("2026-12-01 00:00:00")) || len(s.Refunds) != 0 {
		t.Fatalf("SUCCESS bill: %+v", s)
	}
	// Without 订单金额 the amount is 应结订单金额.
	noOrder := strings.Replace(successBill, "订单金额,费率备注", "其他,费率备注", 1)
	if s, err := wechat.ParseBill("2026-12-01", []byte(noOrder)); err != nil || len(s.Trades) != 1 || s.Trades[0].Amount != 1 {
		t.Fatalf("without 订单金额: %+v %v", s, err)
	}
}

// TestParseBillRefusesBrokenFiles: each damage is an error, and the error
// names the line where it can.
func TestParseBillRefusesBrokenFiles(t *testing.T) {
	lines := strings.SplitAfter(successBill, "\n")
	cases := map[string]struct{ text, want string }{
		"empty":           {"", "empty"},
		"no summary":      {lines[0] + lines[1], "summary"},
		"no summary row":  {lines[0] + lines[1] + lines[2], "line 3"},
		"count differs":   {lines[0] + lines[1] + lines[1] + lines[2] + lines[3], "line 5"},
		"short row":       {lines[0] + "`2026-12-01 00:00:00,`wx1\n" + lines[2] + lines[3], "line 2"},
		"bad amount":      {lines[0] + strings.Replace(lines[1], "`1.01", "`1.011", 1) + lines[2] + lines[3], "line 2"},
		"float amount":    {lines[0] + strings.Replace(lines[1], "`1.01", "`1e-2", 1) + lines[2] + lines[3], "line 2"},
		"bad time":        {lines[0] + strings.Replace(lines[1], "2026-12-01 00:00:00", "2026-12-01T00:00:00", 1) + lines[2] + lines[3], "line 2"},
		"unknown state":   {lines[0] + strings.Replace(lines[1], "`SUCCESS", "`PAID", 1) + lines[2] + lines[3], "line 2"},
		"no order column": {strings.Replace(lines[0], "商户订单号", "订单", 1) + lines[1] + lines[2] + lines[3], "商户订单号"},
		"after summary":   {successBill + "`junk\n", "line 5"},
	}
	for name, c := range cases {
		if _, err := wechat.ParseBill("2026-12-01", []byte(c.text)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, c.want)
		}
	}
}

// revokedBill is an ALL bill of payment-code trades: C1 paid, then
// reversed with the money given back (its REVOKED row under WeChat's
// refund id in both refund number columns); C2 reversed before it was
// paid, written both ways a bill might (a REVOKED row moving nothing, and
// one with no refund numbers at all); C3 given back with the refund still
// processing; C4 given back with no refund ids at all.
const revokedBill = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n" +
	"`2026-12-01 10:00:00,`wx1,`1900000001,`0,`,`4200011,`C1,`o1,`MICROPAY,`SUCCESS,`OTHERS,`CNY,`2.50,`0.00,`0,`0,`0.00,`0.00,`,`,`x,`,`0.02000,`0.60%,`2.50,`0.00,`\r\n" +
	"`2026-12-01 10:00:30,`wx1,`1900000001,`0,`,`4200011,`C1,`o1,`MICROPAY,`REVOKED,`OTHERS,`CNY,`0.00,`0.00,`5000011,`5000011,`2.50,`0.00,`ORIGINAL,`SUCCESS,`x,`,`-0.02000,`0.60%,`0.00,`2.50,`\r\n" +
	"`2026-12-01 11:00:00,`wx1,`1900000001,`0,`,`,`C2,`o1,`MICROPAY,`REVOKED,`OTHERS,`CNY,`0.00,`0.00,`0,`0,`0.00,`0.00,`,`,`x,`,`0.00000,`0.60%,`1.00,`0.00,`\r\n" +
	"`2026-12-01 11:00:00,`wx1,`1900000001,`0,`,`,`C2,`o1,`MICROPAY,`REVOKED,`OTHERS,`CNY,`0.00,`0.00,`,`,`,`0.00,`,`,`x,`,`0.00000,`0.60%,`1.00,`,`\r\n" +
	"`2026-12-01 12:00:00,`wx1,`1900000001,`0,`,`4200013,`C3,`o1,`MICROPAY,`REVOKED,`OTHERS,`CNY,`0.00,`0.00,`5000013,`5000013,`3.00,`0.00,`ORIGINAL,`PROCESSING,`x,`,`0.00000,`0.60%,`0.00,`3.00,`\r\n" +
	"`2026-12-01 13:00:00,`wx1,`1900000001,`0,`,`4200014,`C4,`o1,`MICROPAY,`REVOKED,`OTHERS,`CNY,`0.00,`0.00,`0,`0,`-4.00,`0.00,`,`,`x,`,`-0.02000,`0.60%,`0.00,`4.00,`\r\n" +
	"总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n" +
	"`6,`2.50,`9.50,`0.00,`-0.02000,`4.50,`9.50\r\n"

// TestParseBillRevokedRows: a REVOKED row that gives money back is a
// refund numbered with its order's number (a reverse has no refund number
// of the merchant's), WeChat's refund id kept when there is one; one that
// moves no money, or whose refund has not succeeded, is none; a damaged
// amount is an error naming its line.
func TestParseBillRevokedRows(t *testing.T) {
	b, err := wechat.ParseBill("2026-12-01", []byte(revokedBill))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Trades) != 1 || b.Trades[0].OrderNo != "C1" || b.Trades[0].Amount != 250 {
		t.Fatalf("trades %+v", b.Trades)
	}
	at := time.Date(2026, 12, 1, 10, 0, 30, 0, checkout.BillZone)
	want := []checkout.BillRefund{
		{OrderNo: "C1", RefundNo: "C1", ProviderRefundNo: "5000011", Amount: 250, At: at, Raw: "REVOKED"},
		{OrderNo: "C4", RefundNo: "C4", Amount: 400, At: at.Add(3*time.Hour - 30*time.Second), Raw: "REVOKED"},
	}
	if len(b.Refunds) != len(want) {
		t.Fatalf("refunds %+v, want %+v", b.Refunds, want)
	}
	for i, w := range want {
		if g := b.Refunds[i]; g.OrderNo != w.OrderNo || g.RefundNo != w.RefundNo || g.ProviderRefundNo != w.ProviderRefundNo ||
			g.Amount != w.Amount || !g.At.Equal(w.At) || g.Raw != w.Raw {
			t.Errorf("refund %d: %+v, want %+v", i, g, w)
		}
	}
	damaged := strings.Replace(revokedBill, "`2.50,`0.00,`ORIGINAL", "`2.5x,`0.00,`ORIGINAL", 1)
	if _, err := wechat.ParseBill("2026-12-01", []byte(damaged)); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("a damaged REVOKED amount: %v", err)
	}
}

// TestBillOfCodeTrades: the bill of a day of code sales, through the
// adapter from the emulator: paid at once and paid after the password are
// trades; reversed before the customer paid is absent; paid at the last
// moment and given back by the reverse is a trade and a refund under its
// order's number, with the refund id WeChat gave it.
func TestBillOfCodeTrades(t *testing.T) {
	day := today(t)
	r := newCodeRig(t)
	ctx := t.Context()
	atOnce, _ := r.eng.ChargeCode(ctx, 110, wechatemu.CodePaysAtOnce, "")
	password, _ := r.eng.ChargeCode(ctx, 220, wechatemu.CodeAsksPassword, "")
	unpaid, _ := r.eng.ChargeCode(ctx, 330, wechatemu.CodeNeverConfirms, "")
	paidBack, _ := r.eng.ChargeCode(ctx, 440, wechatemu.CodeNeverConfirms, "")
	r.clock.Advance(checkout.DefaultCodeDeadline)
	r.mustPay(paidBack.No)
	r.emu.SetFaults(wechatemu.Faults{Path: "/out-trade-no/" + paidBack.No, Status: 500, Times: 1}) // its last query
	for no, want := range map[string]checkout.State{password.No: checkout.StatePaid, unpaid.No: checkout.StateClosed, paidBack.No: checkout.StateRefunded} {
		if o, err := r.eng.PollCode(ctx, no); err != nil || o.State != want {
			t.Fatalf("%s: %+v %v, want %s", no, o, err, want)
		}
	}

	bill, err := r.p.Bill(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	trades := byOrder(bill)
	if len(bill.Trades) != 3 || trades[atOnce.No].Amount != 110 || trades[password.No].Amount != 220 || trades[paidBack.No].Amount != 440 {
		t.Fatalf("trades %+v", bill.Trades)
	}
	tr, _ := r.emu.Trade(paidBack.No)
	if len(bill.Refunds) != 1 {
		t.Fatalf("refunds %+v", bill.Refunds)
	}
	if got := bill.Refunds[0]; got.OrderNo != paidBack.No || got.RefundNo != paidBack.No || got.ProviderRefundNo != tr.RevokeRefundID ||
		got.Amount != 440 || !got.At.Equal(tr.RevokedAt.Truncate(time.Second)) {
		t.Fatalf("the reverse's refund %+v, emulator %+v", got, tr)
	}
}
