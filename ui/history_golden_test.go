package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"till/catalog"
	"till/checkout"
	"till/providers/fake"
)

// The history's golden screens: the list, the list with a search, and an
// order's detail with its refunds and trail, in both languages at 80x24,
// 60x20 and 120x40, drawn at a frozen clock from fixed orders (go test
// ./ui -run TestHistoryGoldens -update rewrites them). Each is drawn in
// the frame the root gives a screen (the title over it, the help line
// under it), and every view is checked to fit, line by line in display
// columns.

var historySizes = [][2]int{{80, 24}, {60, 20}, {120, 40}}

// goldenHistoryDay is a day of 30 orders, newest first as the ledger
// gives them: every state, a late payment, a disputed one, refunds, notes
// in both scripts, two operators.
func goldenHistoryDay(loc *time.Location) []checkout.Order {
	var day []checkout.Order
	for i := range 30 {
		created := t0.Add(-time.Duration(i) * 7 * time.Minute)
		o := checkout.Order{No: fmt.Sprintf("%s000T1K4QZ%02d", created.UTC().Format("20060102150405"), i), Terminal: "T1",
			Method: []checkout.Method{checkout.MethodWeChat, checkout.MethodAlipay}[i%2], Amount: checkout.Money(100 + i*137),
			State:     []checkout.State{checkout.StatePaid, checkout.StateClosed, checkout.StatePaid}[i%3],
			CreatedAt: created, ExpiresAt: created.Add(3 * time.Minute), Operator: []string{"alice", "bob"}[i/10%2]}
		if i%4 == 0 {
			o.Note = []string{"table 4", "外带 两杯", "", "counter sale, paid with the change in coins"}[i/4%4]
		}
		switch i {
		case 0:
			o.Amount = 1230
		case 1:
			o.State, o.Amount, o.Refunded, o.Note = checkout.StatePartiallyRefunded, 4560, 200, "外带 两杯"
		case 2:
			o.State, o.Reason = checkout.StateClosed, "timed out"
		case 3:
			o.State, o.Amount, o.Late = checkout.StatePaid, 1230, true
			o.PaidAt = created.Add(9 * time.Minute)
		case 4:
			o.State, o.Amount, o.ProviderAmount = checkout.StateDisputed, 3000, 1
			o.PaidAt = created.Add(time.Minute)
		case 5:
			o.State, o.Amount, o.Refunded = checkout.StateRefunded, 880, 880
		case 6:
			o.State, o.Reason = checkout.StateFailed, "refused by provider: bad parameter"
		}
		if o.State.WasPaid() && o.PaidAt.IsZero() {
			o.PaidAt = created.Add(40 * time.Second)
		}
		day = append(day, o)
	}
	return day
}

// goldenHistory is the trail of order 1 of goldenHistoryDay: paid, a
// refund that went through, one the provider refused, one till refused.
func goldenHistory(day []checkout.Order) checkout.OrderHistory {
	o := day[1]
	o.ProviderTradeNo = "2026112322001412345678901234"
	o.ProviderSaid, o.ProviderSaidAt = "TRADE_SUCCESS", o.PaidAt
	at := o.CreatedAt
	desk := checkout.Actor{Terminal: "T1", Operator: "bob", Via: "desk"}
	entry := func(d time.Duration, a checkout.Actor, e checkout.AuditEntry) checkout.AuditEntry {
		e.At, e.Order = at.Add(d), o.No
		e.SetActor(a)
		return e
	}
	r1 := checkout.Refund{No: "20261123055700000T1RK4QZ31", OrderNo: o.No, Method: o.Method, Amount: 200, State: checkout.RefundSucceeded,
		Reason: "wrong item", Operator: "bob", Terminal: "T1", ProviderRefundNo: "2026112322001412345678901234",
		ProviderSaid: "fund_change=Y", CreatedAt: at.Add(4 * time.Minute), SucceededAt: at.Add(4*time.Minute + 2*time.Second)}
	r2 := checkout.Refund{No: "20261123060200000T1RK4QZ32", OrderNo: o.No, Method: o.Method, Amount: 300, State: checkout.RefundFailed,
		Reason: "second cup", Operator: "bob", Terminal: "T1", ProviderSaid: "ACQ.SELLER_BALANCE_NOT_ENOUGH",
		FailReason: "the shop's balance is too low", CreatedAt: at.Add(9 * time.Minute)}
	return checkout.OrderHistory{Order: o, Refunds: []checkout.Refund{r1, r2}, Entries: []checkout.AuditEntry{
		entry(0, desk, checkout.AuditEntry{Kind: checkout.AuditSale, Amount: o.Amount, To: "created", Detail: string(o.Method)}),
		entry(time.Second, desk, checkout.AuditEntry{Kind: checkout.AuditSaleState, Amount: o.Amount, From: "created", To: "awaiting"}),
		entry(40*time.Second, desk, checkout.AuditEntry{Kind: checkout.AuditSaleState, Amount: o.Amount, From: "awaiting", To: "paid"}),
		entry(4*time.Minute, desk, checkout.AuditEntry{Kind: checkout.AuditRefund, Refund: r1.No, Amount: 200, To: "requested", Detail: "wrong item"}),
		entry(4*time.Minute+2*time.Second, desk, checkout.AuditEntry{Kind: checkout.AuditRefundState, Refund: r1.No, Amount: 200, From: "requested", To: "succeeded"}),
		entry(4*time.Minute+2*time.Second, desk, checkout.AuditEntry{Kind: checkout.AuditSaleState, Amount: o.Amount, From: "paid", To: "partially_refunded"}),
		entry(9*time.Minute, desk, checkout.AuditEntry{Kind: checkout.AuditRefund, Refund: r2.No, Amount: 300, To: "requested", Detail: "second cup"}),
		entry(9*time.Minute+time.Second, checkout.Actor{Terminal: "T1", Operator: "counter", Via: "recovery"},
			checkout.AuditEntry{Kind: checkout.AuditRefundState, Refund: r2.No, Amount: 300, From: "requested", To: "failed", Detail: r2.FailReason}),
		entry(12*time.Minute, checkout.Actor{Terminal: "T1", Operator: "bob", Via: "cli"},
			checkout.AuditEntry{Kind: checkout.AuditRefundRefused, Amount: 5000, Detail: "¥43.60 is left to refund, not ¥50.00"}),
	}}
}

// historyViews builds the history's views in lang at a window of w x h,
// at t0 with the golden day, by name. The body is what the root leaves a
// screen: two columns for the side padding, the title and its blank line,
// the help line and its margin, and one spare line.
func historyViews(t *testing.T, lang catalog.Lang, w, h int) map[string]historyModel {
	t.Helper()
	r := newRig(t)
	d := r.model.deps
	d.p = catalog.New(lang)
	d.now = func() time.Time { return t0 }
	base := newHistory(d)
	base.width, base.height = w-2, h-5
	base, _ = base.open(t0)
	dayStart := base.day
	days := goldenHistoryDay(d.loc)
	loaded, _ := base.Update(historyLoadedMsg{day: dayStart, orders: days})

	views := map[string]historyModel{"list": loaded}
	searched := press(loaded, "/")
	for _, c := range "12.3" {
		searched, _ = searched.Update(keyMsg(string(c)))
	}
	views["list_search"] = searched
	detail, _ := loaded.Update(keyMsg("down"))
	detail, _ = detail.Update(keyMsg("enter"))
	detail, _ = detail.Update(historyDetailMsg{no: days[1].No, h: goldenHistory(days)})
	views["detail"] = detail

	// Views with no golden, checked to fit.
	views["loading"] = base
	views["failed"], _ = base.Update(historyLoadedMsg{day: dayStart, err: &checkout.LedgerError{Op: "reading", Err: fake.ErrDisk}})
	views["empty"], _ = base.Update(historyLoadedMsg{day: dayStart})
	nothing := press(loaded, "/")
	for _, c := range "20261120060000000T1NOPE00" {
		nothing, _ = nothing.Update(keyMsg(string(c)))
	}
	views["no_match"] = nothing
	views["not_found"] = func() historyModel {
		m, _ := nothing.Update(keyMsg("enter"))
		m, _ = m.Update(historyFoundMsg{no: "20261120060000000T1NOPE00", err: fmt.Errorf("order: %w", checkout.ErrNotFound)})
		return m
	}()
	views["detail_loading"], _ = loaded.Update(keyMsg("enter"))
	views["detail_failed"], _ = views["detail_loading"].Update(historyDetailMsg{no: days[0].No, err: &checkout.LedgerError{Op: "reading", Err: fake.ErrDisk}})
	views["detail_end"], _ = detail.Update(keyMsg("end"))
	for i := range 5 {
		m, _ := loaded.Update(historyLoadedMsg{day: dayStart, orders: days})
		for range i + 2 {
			m, _ = m.Update(keyMsg("down"))
		}
		m, _ = m.Update(keyMsg("enter"))
		h := checkout.OrderHistory{Order: days[i+2]}
		views[fmt.Sprintf("detail_%s", days[i+2].State)], _ = m.Update(historyDetailMsg{no: days[i+2].No, h: h})
	}
	return views
}

// historyFrame draws m as the root would: the desk's title over it, the
// help line under it.
func historyFrame(m historyModel, w int) string {
	s := m.deps.styles
	hm := help.New()
	hm.Width = w - 2
	header := s.Header.Render(ansi.Truncate(m.deps.title(), w-2, "…"))
	helpLine := s.HelpLine.Render(ansi.Truncate(hm.ShortHelpView(m.shortHelp()), w-2, "…"))
	return s.App.Render(header + "\n" + m.View() + "\n" + helpLine)
}

func TestHistoryGoldens(t *testing.T) {
	// Words of the history's English catalogue that must not be left on
	// a Chinese screen (the orders' own notes and the engine's English
	// reasons aside).
	english := []string{"Time", "Method", "Amount", "State", "Refunded", "Find", "History", "Created", "Counter", "Provider",
		"orders", "match", "move", "open", "back", "succeeded", "awaiting", "Loading", "Nothing"}
	for _, lang := range catalog.Langs {
		for _, size := range historySizes {
			w, h := size[0], size[1]
			for name, m := range historyViews(t, lang, w, h) {
				t.Run(fmt.Sprintf("%s/%dx%d/%s", lang, w, h, name), func(t *testing.T) {
					frame := historyFrame(m, w)
					checkScreen(t, lang, m.View(), m.width, m.height, frame, w, h, english)
					switch name {
					case "list", "list_search", "detail":
						golden.RequireEqual(t, []byte(frame))
					}
				})
			}
		}
	}
}

// checkScreen checks that a screen's body fits its bw x bh and the whole
// frame the terminal's w x h, and that a Chinese one holds none of the
// English words.
func checkScreen(t *testing.T, lang catalog.Lang, body string, bw, bh int, frame string, w, h int, english []string) {
	t.Helper()
	if err := fits(body, bw, bh); err != nil {
		t.Errorf("the body does not fit %dx%d: %v\n%s", bw, bh, err, body)
	}
	if err := fits(frame, w, h); err != nil {
		t.Errorf("the screen does not fit %dx%d: %v\n%s", w, h, err, frame)
	}
	if lang == catalog.Chinese {
		for _, word := range english {
			if strings.Contains(frame, word) {
				t.Errorf("English %q on a Chinese screen:\n%s", word, frame)
			}
		}
	}
}
