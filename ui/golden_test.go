package ui

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/muesli/termenv"

	"till/catalog"
	"till/checkout"
	"till/manager"
	"till/providers/fake"
)

// The golden screens: every screen, in both languages, drawn from the
// model at a frozen clock with fixed orders, so a change to any screen
// shows as a diff (go test ./ui -update rewrites them). The same views are
// checked to fit their window, line by line in display columns (a Chinese
// character takes two).

// goldenOrder is a sale on screen: fixed number, amount and times.
func goldenOrder(m checkout.Method, st checkout.State) checkout.Order {
	url := "http://127.0.0.1:46217/pay/iyazUEdrTmaQGpQgqlPzpsgL"
	if m == checkout.MethodAlipay {
		url = "http://127.0.0.1:41339/qr/bax4m2fg7y1qv0ah9kz3n8wd"
	}
	return checkout.Order{No: "20261123060000000T1K4QZ01", Terminal: "T1", Method: m, Amount: 1230, State: st, CodeURL: url,
		CreatedAt: t0, AcceptedAt: t0, ExpiresAt: t0.Add(3 * time.Minute), Note: "table 4"}
}

// figuresOf is what the "Today" line shows for orders all created, paid
// and refunded on the day, as the day report counts them.
func figuresOf(orders []checkout.Order) checkout.Figures {
	n, net := dayTotal(orders)
	return checkout.Figures{Sales: checkout.Tally{Count: n}, NetFen: net}
}

// screens builds each screen of the desk in lang at w x h, by name.
func screens(t *testing.T, lang catalog.Lang, w, h int) map[string]Model {
	t.Helper()
	r := newRig(t)
	rend := lipgloss.NewRenderer(io.Discard)
	rend.SetColorProfile(termenv.Ascii)
	var m tea.Model = New(Options{Engine: r.engine, Renderer: rend, Sandbox: true, Terminal: "T1", Lang: lang, SkipRecovery: true})
	m, _ = m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	root := m.(Model)
	at := func(s screen, set func(*Model)) Model {
		x := root
		x.active = s
		set(&x)
		return x.resize()
	}
	waiting := func(o checkout.Order, set func(*waitingModel)) Model {
		return at(screenWaiting, func(x *Model) {
			x.waiting, _ = newCreating(x.deps, o.Method, o.Amount).begin(o)
			x.waiting.now = t0.Add(2*time.Minute + 35*time.Second) // 25 s left: the amber countdown
			if set != nil {
				set(&x.waiting)
			}
		})
	}
	result := func(o checkout.Order) Model {
		return at(screenResult, func(x *Model) { x.result = newResult(x.deps, o) })
	}
	problem := func(k problemKind, o checkout.Order, err error) Model {
		return at(screenProblem, func(x *Model) { x.problem = newProblem(x.deps, k, o, err) })
	}
	var day []checkout.Order
	for i := range 30 {
		o := goldenOrder([]checkout.Method{checkout.MethodWeChat, checkout.MethodAlipay}[i%2], []checkout.State{checkout.StatePaid, checkout.StateClosed, checkout.StateRefunded}[i%3])
		o.No = fmt.Sprintf("20261123%06d000T1K4QZ%02d", 60000+i*100, i)
		o.CreatedAt = t0.Add(-time.Duration(i) * 7 * time.Minute)
		o.Amount = checkout.Money(100 + i*137)
		day = append(day, o)
	}
	paid := goldenOrder(checkout.MethodWeChat, checkout.StatePaid)
	paid.PaidAt = t0.Add(40 * time.Second)
	closed := goldenOrder(checkout.MethodWeChat, checkout.StateClosed)
	closed.Reason = "timed out"
	mayPay := goldenOrder(checkout.MethodAlipay, checkout.StateClosed)
	mayPay.Reason, mayPay.RecheckAt = "cancelled by clerk", t0.Add(5*time.Minute)
	failed := goldenOrder(checkout.MethodAlipay, checkout.StateFailed)
	failed.Reason = "refused by provider: bad parameter"
	disputed := goldenOrder(checkout.MethodAlipay, checkout.StateDisputed)
	disputed.ProviderAmount = 1
	refunded := goldenOrder(checkout.MethodAlipay, checkout.StateRefunded)
	refunded.Refunded = 1230
	late := paid
	late.Late = true
	timeout := &checkout.ProviderError{Op: "query", Kind: checkout.KindUnknown, Err: fake.ErrTimeout, Message: "slow"}
	unsaved := &checkout.SaveError{No: paid.No, Method: paid.Method, To: checkout.StatePaid, Err: errors.New("write till.db: no space left on device")}
	refundHist := checkout.OrderHistory{Order: paid}
	refundHist.Order.Refunded = 230
	refundHist.Refunds = []checkout.Refund{{No: "R1", Amount: 230, State: checkout.RefundSucceeded}}
	awaitWX := goldenOrder(checkout.MethodWeChat, checkout.StateAwaiting)
	awaitAli := goldenOrder(checkout.MethodAlipay, checkout.StateAwaiting)
	return map[string]Model{
		"entry": at(screenEntry, func(x *Model) {}),
		"entry_amount_error": at(screenEntry, func(x *Model) {
			x.entry.amount = "1,234"
			x.entry, _ = x.entry.charge(checkout.MethodWeChat)
		}),
		"entry_busy_day": at(screenEntry, func(x *Model) { x.entry.recent, x.entry.today = day, figuresOf(day) }),
		"entry_note": at(screenEntry, func(x *Model) {
			x.entry.amount = "9,90"
			x.entry.editingNote = true
			x.entry.note.Focus()
		}),
		"entry_late_banner": at(screenEntry, func(x *Model) {
			x.late = []checkout.Order{late}
			x.entry.recent, x.entry.today = day[:3], figuresOf(day[:3])
		}),
		"waiting_wechat": waiting(awaitWX, nil),
		"waiting_alipay_scanned": waiting(awaitAli, func(w *waitingModel) {
			w.scanned = true
			w.now = t0.Add(2*time.Minute + 55*time.Second) // 5 s left: red
		}),
		"waiting_closing": waiting(awaitWX, func(w *waitingModel) {
			w.phase = phaseClosing
			w.warning = w.deps.p.T("waiting.asking_again", catalog.V{"Warning": warningFor(w.deps.p, w.order.Method, timeout), "N": 1, "Of": closeRetries})
		}),
		"waiting_paid_unsaved":      waiting(awaitWX, func(w *waitingModel) { *w = w.noteErr(unsaved) }),
		"result_paid":               result(paid),
		"result_closed":             result(closed),
		"result_closed_may_be_paid": result(mayPay),
		"result_failed":             result(failed),
		"result_disputed":           result(disputed),
		"result_refunded":           result(refunded),
		"problem_create_unknown":    problem(problemCreateUnknown, awaitWX, timeout),
		"problem_close_failed":      problem(problemCloseFailed, awaitWX, timeout),
		"problem_paid_unsaved":      problem(problemCloseFailed, awaitWX, unsaved),
		"pin_first": at(screenPIN, func(x *Model) {
			x.pin = newPINModel(x.deps, pinFirst, toMenu)
		}),
		"pin_wrong": at(screenPIN, func(x *Model) {
			x.pin = newPINModel(x.deps, pinOpen, toMenu)
			x.pin, _ = x.pin.checked(pinCheckedMsg{err: &manager.WrongPINError{Left: 3}})
		}),
		"pin_locked": at(screenPIN, func(x *Model) {
			x.pin = newPINModel(x.deps, pinOpen, toMenu)
			x.pin, _ = x.pin.checked(pinCheckedMsg{err: &manager.LockedError{Until: t0.Add(5 * time.Minute)}})
		}),
		"manager_menu": at(screenMenu, func(x *Model) {
			x.menu = newMenu(x.deps)
			x.session.Open(t0)
		}),
		"refund_amount": at(screenRefund, func(x *Model) {
			x.refund = newRefund(x.deps, refundHist)
			x.session.Open(t0)
		}),
		"refund_reason": at(screenRefund, func(x *Model) {
			x.refund = newRefund(x.deps, refundHist)
			x.refund.money, x.refund.step = 500, refundReason
		}),
		"refund_confirm": at(screenRefund, func(x *Model) {
			x.refund = newRefund(x.deps, refundHist)
			x.refund.money, x.refund.step, x.refund.reason = 500, refundConfirm, x.deps.p.T("refund.reason.returned")
		}),
		"refund_processing": at(screenRefund, func(x *Model) {
			x.refund = newRefund(x.deps, refundHist)
			x.refund.money, x.refund.step, x.refund.reason, x.refund.since = 500, refundRunning, "wrong size", t0
			x.refund.refund = checkout.Refund{No: "20261123060100000T1RK4QZ02", Amount: 500, State: checkout.RefundRequested, ProviderSaid: "PROCESSING"}
		}),
		"refund_unknown": at(screenRefund, func(x *Model) {
			x.refund = newRefund(x.deps, refundHist)
			x.refund.money, x.refund.step, x.refund.since = 500, refundRunning, t0.Add(-time.Minute)
			x.refund.refund = checkout.Refund{No: "20261123060100000T1RK4QZ02", Amount: 500, State: checkout.RefundRequested, Sent: true}
			x.refund.callErr = timeout
		}),
		"refund_done": at(screenRefund, func(x *Model) {
			x.refund = newRefund(x.deps, refundHist)
			x.refund.money, x.refund.step, x.refund.reason = 500, refundDone, "wrong size"
			x.refund.refund = checkout.Refund{No: "20261123060100000T1RK4QZ02", Amount: 500, State: checkout.RefundSucceeded}
			x.refund.order = refundHist.Order
			x.refund.order.Refunded, x.refund.order.State = 500, checkout.StatePartiallyRefunded
		}),
		"refund_failed": at(screenRefund, func(x *Model) {
			x.refund = newRefund(x.deps, refundHist)
			x.refund.money, x.refund.step = 500, refundDone
			x.refund.refund = checkout.Refund{No: "20261123060100000T1RK4QZ02", Amount: 500, State: checkout.RefundFailed, FailReason: "the shop's balance is too low"}
		}),
		"report": at(screenReport, func(x *Model) {
			x.report = reportAt(x.deps, t0, goldenReport(x.deps.loc), x.report.width, x.report.height)
			x.session.Open(t0)
		}),
		"report_close": at(screenReport, func(x *Model) {
			x.report = reportAt(x.deps, t0, goldenReport(x.deps.loc), x.report.width, x.report.height)
			x.report, _ = x.report.Update(keyMsg("c"))
		}),
		"operator_pick": at(screenOperator, func(x *Model) {
			x.picker = newOperatorModel(x.deps, []checkout.Operator{{ID: "lin", Name: "Lin Mei"}, {ID: "wang", Name: "Wang Fang 王芳"}}, "wang", false)
		}),
	}
}

// fits reports the first line of view that is wider than w columns, or a
// view taller than h.
func fits(view string, w, h int) error {
	lines := strings.Split(view, "\n")
	if len(lines) > h {
		return fmt.Errorf("%d lines, the window has %d", len(lines), h)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > w {
			return fmt.Errorf("line %d is %d columns wide: %q", i, n, l)
		}
	}
	return nil
}

// TestGoldenScreens: every screen in both languages at 80x24; the
// waiting and result screens also at 60x20 and 120x40.
func TestGoldenScreens(t *testing.T) {
	for _, lang := range catalog.Langs {
		for _, size := range [][2]int{{80, 24}, {60, 20}, {120, 40}} {
			views := screens(t, lang, size[0], size[1])
			for name, m := range views {
				if size[0] != 80 && !strings.HasPrefix(name, "waiting") && !strings.HasPrefix(name, "result") {
					continue
				}
				t.Run(fmt.Sprintf("%s/%dx%d/%s", lang, size[0], size[1], name), func(t *testing.T) {
					view := m.View()
					if err := fits(view, size[0], size[1]); err != nil {
						t.Errorf("does not fit %dx%d: %v\n%s", size[0], size[1], err, view)
					}
					golden.RequireEqual(t, []byte(view))
				})
			}
		}
	}
}

// TestEveryScreenFitsInBothLanguages: at 80x24, in English and Chinese,
// every line of every screen fits, the QR code is drawn whole wherever a
// sale waits, and no English word is left on a Chinese screen (the
// order's own note and number aside).
func TestEveryScreenFitsInBothLanguages(t *testing.T) {
	english := []string{"Scan to pay", "PAID", "CLOSED", "Amount", "Note", "Order", "Closes", "Waiting", "Today", "quit", "retry", "next sale", "cancel"}
	for _, lang := range catalog.Langs {
		for name, m := range screens(t, lang, 80, 24) {
			view := m.View()
			if err := fits(view, 80, 24); err != nil {
				t.Errorf("%s %s: %v\n%s", lang, name, err, view)
			}
			if strings.HasPrefix(name, "waiting") && (strings.Contains(view, "too small") || !strings.Contains(view, "▀▀▀▀▀▀▀")) {
				t.Errorf("%s %s: the QR code is not whole:\n%s", lang, name, view)
			}
			if lang == catalog.Chinese {
				for _, w := range english {
					if strings.Contains(view, w) {
						t.Errorf("zh %s: English %q on a Chinese screen:\n%s", name, w, view)
					}
				}
			}
		}
	}
}
