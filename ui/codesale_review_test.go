package ui

// What a hostile review of payment-code sales at the counter (issue 14)
// found: each test fails on the change as it stands.

import (
	"context"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"till/checkout"
	"till/providers/fake"
)

// A ledger read that fails once while the code screen polls (a network
// ledger's hiccup) is an unclear answer, not the end of the sale: the
// screen keeps following the trade, and the customer who confirms on the
// phone afterwards is recorded as paid. As it stands the poll's
// Order{No} (no state, no method, no amount) replaces the sale on screen,
// "not open" ends it on a blank result, and the order, still the desk's,
// is polled by nobody: recovery skips it, so a payment is never recorded.
func TestCodeSaleSurvivesALedgerReadFailure(t *testing.T) {
	r := newRig(t)
	r.wx.CodeWaits = true
	m := r.sell(t, r.desk(t), "9.90", wxScan)
	o := r.onlyOrder(t)
	if m.Active() != "code" {
		t.Fatalf("after the charge: %s", m.Active())
	}
	r.faulty.Fail(func(op fake.Op) error {
		if op.Name == "read" {
			return fake.ErrDisk
		}
		return nil
	})
	r.clock.Advance(checkout.CodePollInterval)
	m = pressDesk(t, m, codeTick(m))
	r.faulty.Fail(nil)
	if m.Active() != "code" || m.code.order.Amount != 990 {
		t.Fatalf("one failed read ended the code sale: on %s, order on screen %+v\n%s", m.Active(), m.code.order, m.View())
	}
	if err := r.wx.Confirm(o.No); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(checkout.CodePollInterval)
	m = pressDesk(t, m, codeTick(m))
	r.engine.RecoverNow(context.Background())
	if st := r.state(t, o.No); st != checkout.StatePaid {
		t.Fatalf("the customer confirmed, the ledger says %s (screen %s)", st, m.Active())
	}
}

// The provider says paid and the ledger cannot record it: the customer
// has paid, and the code screen must say so (as the QR sale's waiting
// screen does: "PAID · saving"), not "NO CLEAR ANSWER YET · asking
// again" over a warning line, which sends the clerk to charge again.
func TestCodeSalePaidButUnsavedSaysPaid(t *testing.T) {
	r := newRig(t)
	r.faulty.Fail(failPaidWrites)
	m := r.sell(t, r.desk(t), "9.90", scanAli)
	view := m.View()
	if m.Active() != "code" {
		t.Fatalf("on %s:\n%s", m.Active(), view)
	}
	if strings.Contains(view, "NO CLEAR ANSWER") || strings.Contains(view, "WAITING FOR THE CUSTOMER") || !strings.Contains(view, "PAID") {
		t.Fatalf("the customer has paid, the screen says otherwise:\n%s", view)
	}
}

// Esc while a poll is under way (the usual case when the provider is slow
// or its answers are lost): Alipay takes a cancel at once, so the cancel
// goes out as soon as the poll answers, not a whole poll interval later,
// while the customer may still confirm a sale the clerk has called off.
func TestCodeSaleEscDuringAPollCancelsAtOnce(t *testing.T) {
	r := newRig(t)
	r.ali.CodeWaits = true
	m := r.sell(t, r.desk(t), "9.90", scanAli)
	r.onlyOrder(t)
	r.clock.Advance(checkout.CodePollInterval)
	next, poll := m.Update(codeTick(m)) // the poll is under way
	if poll == nil {
		t.Fatal("the tick asked nothing")
	}
	next, _ = next.Update(esc)
	m = drain(t, next, poll).(Model) // the poll answers; timers are dropped
	if r.ali.Count("reverse") != 1 || m.Active() != "result" {
		t.Fatalf("Esc during a poll: %d cancels, on %s\n%s", r.ali.Count("reverse"), m.Active(), m.View())
	}
}

// The clerk cancels, the cancel's answer is lost, the clerk leaves the
// sale to till (Esc, Esc): till must go on cancelling it, not wait for the
// code deadline as for a sale nobody cancelled. As it stands the release
// forgets the cancel: recovery leaves the trade payable until the
// deadline ("still waiting for the customer to confirm"), and a customer
// who confirms then is charged for a sale the clerk called off.
func TestLeftCancelledCodeSaleIsCancelledByRecovery(t *testing.T) {
	r := newRig(t)
	r.ali.CodeWaits = true
	m := r.sell(t, r.desk(t), "9.90", scanAli)
	o := r.onlyOrder(t)
	r.ali.OnReverse = func(context.Context, string) error { return fake.ErrTimeout }
	m = pressDesk(t, m, esc)
	if m.Active() != "code" || r.ali.Count("reverse") != 1 || !m.code.leavable() {
		t.Fatalf("the lost cancel: %s, %d cancels, leavable %v\n%s", m.Active(), r.ali.Count("reverse"), m.code.leavable(), m.View())
	}
	m = pressDesk(t, m, esc)
	if m.Active() != "entry" {
		t.Fatalf("leaving: %s", m.Active())
	}
	r.ali.OnReverse = nil
	r.clock.Advance(checkout.CodePollInterval) // well before the deadline
	r.engine.RecoverNow(context.Background())
	got, _ := r.engine.Order(context.Background(), o.No)
	if got.State != checkout.StateClosed || r.ali.Count("reverse") != 2 {
		t.Fatalf("recovery of the cancelled sale: %s (%q), %d cancels", got.State, got.Reason, r.ali.Count("reverse"))
	}
}

// "12.3" (or "12.") and then a scan: the first digits of the scan finish
// the amount's decimals, and the rest opens the prompt. When the rest is
// another wallet's code by its length and lead (a WeChat code 130…, less
// its first digit, is 17 digits starting 30: Alipay's), it is charged:
// a sale of an amount nobody typed, on the wrong wallet, with a code that
// is not the customer's. The scan is refused instead (or the amount kept
// as typed); no provider hears of a code other than the one scanned.
func TestScanAfterAnUnfinishedDecimalChargesNothingElse(t *testing.T) {
	for _, c := range []struct{ amount, scan string }{
		{"12.3", "130444444444444417"}, // WeChat Pay's code
		{"12.", "282744444444440042"},  // Alipay's
	} {
		for _, oneWrite := range []bool{false, true} {
			t.Run(c.amount+map[bool]string{true: " one write", false: " key by key"}[oneWrite], func(t *testing.T) {
				r := newRig(t)
				m := pressDesk(t, r.desk(t), runeKeys(c.amount)...)
				if oneWrite {
					m = pressDesk(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(c.scan)}, enter)
				} else {
					m = pressDesk(t, m, append(runeKeys(c.scan), enter)...)
				}
				for _, got := range append(append([]string(nil), r.wx.AuthCodes...), r.ali.AuthCodes...) {
					if got != c.scan {
						t.Fatalf("a provider was sent %q, the scan was %q (screen %s)", got, c.scan, m.Active())
					}
				}
				for _, no := range ordersSoFar(t, r) {
					o, _ := r.engine.Order(context.Background(), no)
					if want, _ := r.engine.ParseAmount(c.amount + "0"); o.Amount != want && o.Amount != 1200 {
						t.Fatalf("a sale of %s (%s) after %q and a scan", o.Amount, o.Method, c.amount)
					}
				}
			})
		}
	}
}

// A scan into the note field (the clerk had pressed tab, or n): the note
// is sent to the provider as the trade's description and kept in the
// ledger, the history and the provider's bill, so the customer's code
// must not end up in it, nor on screen.
func TestScanIntoTheNoteIsNotKept(t *testing.T) {
	for _, oneWrite := range []bool{false, true} {
		t.Run(map[bool]string{true: "one write", false: "key by key"}[oneWrite], func(t *testing.T) {
			r := newRig(t)
			m := pressDesk(t, r.desk(t), append(runeKeys("9.90"), tea.KeyMsg{Type: tea.KeyTab})...)
			if !m.entry.editingNote {
				t.Fatal("tab did not open the note")
			}
			if oneWrite {
				m = pressDesk(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(scanAli)}, enter)
			} else {
				m = pressDesk(t, m, append(runeKeys(scanAli), enter)...)
			}
			codeNotInTheNote(t, m)
			// The clerk sees the code prompt did not open, presses Enter
			// and scans again: the sale's note has no code in it.
			m = pressDesk(t, m, enter)
			m = pressDesk(t, m, append(runeKeys(scanAli), enter)...)
			noNoteHoldsTheCode(t, r)
		})
	}
}

// A scan while the history's search is open (the clerk was looking up a
// sale when the next customer held out the phone): the search box and
// its "looking up order …" line must not show the customer's code whole.
func TestScanIntoTheHistorySearchIsNotShown(t *testing.T) {
	r := newRig(t)
	m := pressDesk(t, r.desk(t), runeKeys("h")...)
	m = pressDesk(t, m, runeKeys("/")...)
	if m.Active() != "history" || !m.history.typing() {
		t.Fatalf("no search open: %s", m.Active())
	}
	m = pressDesk(t, m, append(runeKeys(scanAli), enter)...)
	if view := m.View(); strings.Contains(view, scanAli) || strings.Contains(view, "55555555") {
		t.Fatalf("the customer's code is on screen:\n%s", view)
	}
}

// The charge's answer is lost before the provider made the trade (a
// timeout on the way out): the query then finds no trade at all. The
// screen must not turn that into "WAITING FOR THE CUSTOMER TO CONFIRM ON
// THE PHONE" (the clerk tells the customer to look at a phone that asks
// nothing); only a provider that said so (USERPAYING, 10003) is that.
func TestCodeSaleNoTradeIsNotWaitingForTheCustomer(t *testing.T) {
	lostChargeIsNotWaiting(t, newRig(t), "has no such trade")
}

// lostChargeIsNotWaiting loses the answer to r's WeChat Pay charge before
// the trade is made, polls once, and fails t if the screen tells the clerk
// the customer is asked to confirm (says: what WeChat Pay answered, for
// the message).
func lostChargeIsNotWaiting(t *testing.T, r *rig, says string) {
	t.Helper()
	r.wx.OnPayCode = func(context.Context, checkout.CodePayRequest) error { return fake.ErrTimeout }
	m := r.sell(t, r.desk(t), "9.90", wxScan)
	o := r.onlyOrder(t)
	if m.Active() != "code" || !strings.Contains(m.View(), "NO CLEAR ANSWER") {
		t.Fatalf("after a lost charge, %s:\n%s", m.Active(), m.View())
	}
	r.clock.Advance(checkout.CodePollInterval)
	m = pressDesk(t, m, codeTick(m))
	if _, ok := r.wx.Trade(o.No); ok {
		t.Fatal("the fake made the trade")
	}
	if view := m.View(); strings.Contains(view, "CONFIRM ON THE PHONE") {
		t.Fatalf("WeChat Pay %s, the screen says:\n%s", says, view)
	}
}

// codeNotInTheNote fails t if the scanned Alipay code (its run of fives)
// is in m's note or on its screen.
func codeNotInTheNote(t *testing.T, m Model) {
	t.Helper()
	if strings.Contains(m.entry.note.Value(), "55555555") || strings.Contains(m.View(), "55555555") {
		t.Fatalf("the customer's code is in the note %q:\n%s", m.entry.note.Value(), m.View())
	}
}

// noNoteHoldsTheCode fails t if an order r's ledger holds keeps the
// scanned Alipay code in its note.
func noNoteHoldsTheCode(t *testing.T, r *rig) {
	t.Helper()
	for _, no := range ordersSoFar(t, r) {
		o, _ := r.engine.Order(context.Background(), no)
		if strings.Contains(o.Note, "55555555") {
			t.Fatalf("order %s keeps the customer's code in its note %q", no, o.Note)
		}
	}
}
