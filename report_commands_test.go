package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"till/catalog"
	"till/checkout"
)

// servingDesk is a sandbox desk with the manager PIN 4826, serving its
// control socket.
func servingDesk(t *testing.T) *desk {
	t.Helper()
	sandboxHome(t)
	t.Setenv("TILL_MANAGER_PIN_NEW", "4826")
	if code, _, errOut := till(t, "pin", "set"); code != 0 {
		t.Fatalf("pin set: %s", errOut)
	}
	os.Unsetenv("TILL_MANAGER_PIN_NEW")
	d, err := openDesk(&CLI{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.serve(); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestReportJSONContract: `till report --json` has the fields of the
// contract in design.md, named exactly, with amounts in integer fen, and
// agrees with the sales and the refund made; the same through the desk's
// socket and on the closed ledger.
func TestReportJSONContract(t *testing.T) {
	d := servingDesk(t)
	wx := paidSale(t, d, checkout.MethodWeChat, 1230)
	paidSale(t, d, checkout.MethodAlipay, 800)
	t.Setenv("TILL_MANAGER_PIN", "4826")
	if code, out, errOut := till(t, "refund", wx.No, "--amount", "2.30"); code != 0 {
		t.Fatalf("refund: %s %s", out, errOut)
	}
	code, open, errOut := till(t, "report", "--json")
	if code != 0 {
		t.Fatalf("report through the desk: %d %s", code, errOut)
	}
	d.Close()
	code, closed, errOut := till(t, "report", "--json")
	if code != 0 || closed != open {
		t.Fatalf("report on the closed ledger: %d %s\n%s\nvs through the desk\n%s", code, errOut, closed, open)
	}

	var doc map[string]any
	if err := json.Unmarshal([]byte(open), &doc); err != nil {
		t.Fatal(err)
	}
	num := func(path ...string) float64 {
		t.Helper()
		var v any = doc
		for _, k := range path {
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%s: not an object at %s", strings.Join(path, "."), k)
			}
			if v, ok = m[k]; !ok {
				t.Fatalf("no field %s", strings.Join(path, "."))
			}
		}
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			t.Fatalf("%s = %v: want an integer", strings.Join(path, "."), v)
		}
		return f
	}
	for _, k := range []string{"day", "timezone", "currency"} {
		if s, _ := doc[k].(string); s == "" {
			t.Errorf("%s: %v", k, doc[k])
		}
	}
	if doc["currency"] != "CNY" || doc["timezone"] != "Asia/Shanghai" {
		t.Errorf("currency %v timezone %v", doc["currency"], doc["timezone"])
	}
	want := map[string]float64{
		"sales.count": 2, "sales.amount_fen": 2030, "refunds.count": 1, "refunds.amount_fen": 230, "net_fen": 1800,
		"by_provider.wechat.sales_count": 1, "by_provider.wechat.sales_fen": 1230, "by_provider.wechat.refunds_count": 1, "by_provider.wechat.refunds_fen": 230,
		"by_provider.alipay.sales_count": 1, "by_provider.alipay.sales_fen": 800, "by_provider.alipay.refunds_count": 0, "by_provider.alipay.refunds_fen": 0,
		"unsettled.count": 0, "anomalies.count": 0,
		"by_operator.counter.sales_fen": 1230 + 800, "by_operator.manager.refunds_fen": 230,
	}
	for path, w := range want {
		if got := num(strings.Split(path, ".")...); got != w {
			t.Errorf("%s = %v, want %v", path, got, w)
		}
	}
	hours, ok := doc["by_hour"].([]any)
	if !ok || len(hours) != 24 {
		t.Fatalf("by_hour: %v", doc["by_hour"])
	}
	var sum float64
	for i, h := range hours {
		m := h.(map[string]any)
		if m["hour"] != float64(i) {
			t.Fatalf("by_hour[%d].hour = %v", i, m["hour"])
		}
		sum += m["sales_fen"].(float64)
		_ = m["sales_count"].(float64)
	}
	if sum != 2030 {
		t.Errorf("by_hour adds up to %v, want 2030", sum)
	}
	if _, ok := doc["z"]; ok {
		t.Error("an open day has a z")
	}
	if c, ok := doc["changes_after_close"].([]any); !ok || len(c) != 0 {
		t.Errorf("changes_after_close: %v", doc["changes_after_close"])
	}
}

// TestCloseDayFromAScript: close-day needs the PIN; it closes the day
// with its figures and the next Z number; a second close is refused; the
// report then has z.seq, z.closed_at and changes_after_close; the CSV has
// its header and amounts in yuan.
func TestCloseDayFromAScript(t *testing.T) {
	d := servingDesk(t)
	paidSale(t, d, checkout.MethodWeChat, 1230)
	if code, _, errOut := till(t, "close-day"); code != 2 || !strings.Contains(errOut, "TILL_MANAGER_PIN") {
		t.Fatalf("close-day with no PIN: %d %s", code, errOut)
	}
	t.Setenv("TILL_MANAGER_PIN", "1111")
	if code, _, errOut := till(t, "close-day"); code != 1 || !strings.Contains(errOut, "wrong PIN") {
		t.Fatalf("close-day with a wrong PIN: %d %s", code, errOut)
	}
	t.Setenv("TILL_MANAGER_PIN", "4826")
	// A sale still on the desk's screen: the close says what is left and
	// closes nothing.
	open, err := d.engine.Start(t.Context(), checkout.MethodWeChat, 990, "")
	if err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := till(t, "close-day"); code != 1 || !strings.Contains(errOut, open.No) || !strings.Contains(errOut, "still unsettled") {
		t.Fatalf("close-day with a sale waiting: %d %s", code, errOut)
	}
	if _, err := d.engine.Finish(t.Context(), open.No, "cancelled"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := till(t, "close-day")
	if code != 0 || !strings.Contains(out, "Z 1") || !strings.Contains(out, "net ¥12.30") {
		t.Fatalf("close-day: %d %q %q", code, out, errOut)
	}
	if !strings.Contains(errOut, "is not over yet") {
		t.Errorf("closing today gave no warning: %q", errOut)
	}
	if code, _, errOut := till(t, "close-day", "--day", "2020-01-01"); code != 1 || !strings.Contains(errOut, "before the first sale") {
		t.Fatalf("a day before the first sale: %d %s", code, errOut)
	}
	if code, _, errOut := till(t, "close-day"); code != 1 || !strings.Contains(errOut, "already closed: Z 1") {
		t.Fatalf("a second close: %d %s", code, errOut)
	}
	if code, _, errOut := till(t, "close-day", "--day", "2099-01-01"); code != 1 || !strings.Contains(errOut, "has not begun") {
		t.Fatalf("a future day: %d %s", code, errOut)
	}
	late := paidSale(t, d, checkout.MethodAlipay, 500) // after the close
	code, out, errOut = till(t, "report", "--json")
	if code != 0 {
		t.Fatal(errOut)
	}
	var rep checkout.DayReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Z == nil || rep.Z.Seq != 1 || rep.Z.ClosedAt.IsZero() || rep.Sales.Amount != 1230 ||
		len(rep.ChangesAfterClose) != 1 || rep.ChangesAfterClose[0].Order != late.No || rep.ChangesNetFen != 500 {
		t.Fatalf("the closed day: z %+v sales %+v changes %+v", rep.Z, rep.Sales, rep.ChangesAfterClose)
	}
	code, out, errOut = till(t, "report")
	if code != 0 || !strings.Contains(out, "Closed: Z 1") || !strings.Contains(out, "Changes after the close: 1, net +¥5.00") || !strings.Contains(out, late.No) {
		t.Fatalf("report text of the closed day: %d %s %s", code, out, errOut)
	}
	code, out, _ = till(t, "report", "--csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil {
		t.Fatalf("csv: %d %v %s", code, err, out)
	}
	if strings.Join(rows[0], ",") != strings.Join(reportCSVHeader, ",") || rows[1][1] != "total" || rows[1][4] != "12.30" || rows[1][7] != "12.30" {
		t.Fatalf("csv rows: %v", rows[:2])
	}
	if last := rows[len(rows)-1]; last[1] != "after_close" || last[4] != "5.00" || last[7] != "5.00" {
		t.Fatalf("csv after_close row: %v", last)
	}
	d.Close()
}

// TestCloseDayForOneCounter: `close-day --for-terminal ID` closes that
// counter's day in a Z of its own, which its report then shows; the
// shop's close is still to make and takes the next number; a counter
// that recorded nothing is refused (exit 2), naming those that did, in
// the clerk's language.
func TestCloseDayForOneCounter(t *testing.T) {
	d := servingDesk(t)
	t.Setenv("TILL_MANAGER_PIN", "4826")
	counter := d.cfg.Shop.Terminal
	paidSale(t, d, checkout.MethodWeChat, 1230)
	code, _, errOut := till(t, "close-day", "--for-terminal", "T9")
	if code != 2 || !strings.Contains(errOut, "counter T9 recorded nothing") || !strings.Contains(errOut, "that day: "+counter+";") {
		t.Fatalf("a counter that did nothing: %d %s", code, errOut)
	}
	t.Setenv("LANG", "zh_CN.UTF-8")
	if code, _, errOut := till(t, "close-day", "--for-terminal", "T9"); code != 2 || !strings.Contains(errOut, "收银台 T9 在") {
		t.Fatalf("the same in Chinese: %d %s", code, errOut)
	}
	t.Setenv("LANG", "en_US.UTF-8")
	code, out, errOut := till(t, "close-day", "--for-terminal", counter)
	if code != 0 || !strings.Contains(out, "of counter "+counter+": Z 1.") || !strings.Contains(out, "net ¥12.30") {
		t.Fatalf("the counter's close: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := till(t, "close-day", "--for-terminal", counter); code != 1 || !strings.Contains(errOut, "of counter "+counter+" is already closed: Z 1") {
		t.Fatalf("the counter closed twice: %d %s", code, errOut)
	}
	if code, out, errOut := till(t, "report", "--for-terminal", counter); code != 0 || !strings.Contains(out, "Closed: Z 1") {
		t.Fatalf("the counter's report: %d %s %s", code, out, errOut)
	}
	if code, out, errOut := till(t, "report"); code != 0 || strings.Contains(out, "Closed:") || !strings.Contains(out, "Counters closed on their own: "+counter+" (Z 1 at ") {
		t.Fatalf("the shop's report after the counter's close: %d %s %s", code, out, errOut)
	}
	if code, out, errOut := till(t, "close-day"); code != 0 || !strings.Contains(out, "Closed "+d.engine.Now().In(d.cfg.location).Format(checkout.DayLayout)+": Z 2.") {
		t.Fatalf("the shop's close: %d %q %q", code, out, errOut)
	}
	d.Close()
}

// TestShopReportDatesACounterCloseOfAnotherDay: the shop's report names
// each counter's close of the day with the day it was made on, as it
// names the shop's own close: a counter may close a day the day after.
func TestShopReportDatesACounterCloseOfAnotherDay(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	s := &services{cfg: &Config{location: loc}, p: catalog.New(catalog.English)}
	r := checkout.DayReport{Day: "2026-11-23", Timezone: "Asia/Shanghai", Currency: "CNY",
		Figures:       checkout.Figures{ByProvider: map[checkout.Method]checkout.GroupFigures{}, ByHour: make([]checkout.HourFigures, 24)},
		CounterCloses: []checkout.CounterZ{{Counter: "T2", Seq: 4, ClosedAt: time.Date(2026, 11, 25, 9, 15, 0, 0, loc), Operator: "ana"}}}
	var out strings.Builder
	writeReportText(&out, s, r)
	if !strings.Contains(out.String(), "Counters closed on their own: T2 (Z 4 at 2026-11-25 09:15).") {
		t.Fatalf("the counter's close of 2026-11-23, made on 2026-11-25:\n%s", out.String())
	}
}
