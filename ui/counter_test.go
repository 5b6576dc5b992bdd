package ui

// The counter experience (issue 8): no key lost when screens change, the
// comma, a window too small for the code refused before anything is
// written, the bell, today's list, the LIVE desk, the ctrl+c warning.

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"till/checkout"
	"till/providers/fake"
)

// paidResult runs a sale of 1.00 to its PAID screen and returns the test
// model there.
func (r *rig) paidResult(t *testing.T) *teatest.TestModel {
	t.Helper()
	tm, o := r.sale(t, "1w", "Scan to pay")
	r.wx.Pay(o.No)
	waitFor(t, tm, "PAID  ¥1.00")
	return tm
}

// newestOrder waits until the ledger holds an order other than those in
// seen, and returns it.
func (r *rig) newestOrder(t *testing.T, not ...string) checkout.Order {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		all, err := r.ledger.OrdersCreated(context.Background(), t0.Add(-time.Hour), t0.Add(time.Hour), 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range all {
			if !contains(not, o.No) {
				// As the desk sees it: awaiting once the provider took
				// it, though the ledger says created until it settles.
				if seen, err := r.engine.Order(context.Background(), o.No); err == nil {
					return seen
				}
				return o
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no new order")
	return checkout.Order{}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func ordersSoFar(t *testing.T, r *rig) []string {
	all, err := r.ledger.OrdersCreated(context.Background(), t0.Add(-time.Hour), t0.Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	var nos []string
	for _, o := range all {
		nos = append(nos, o.No)
	}
	return nos
}

// TestEnterThenABurstStartsTheNextSale: on the PAID screen, Enter followed
// at once by "45.60w" (one write, as a scanner or a fast clerk sends it)
// starts a WeChat sale of 45.60: nothing typed after Enter is lost.
func TestEnterThenABurstStartsTheNextSale(t *testing.T) {
	for _, oneWrite := range []bool{true, false} {
		name := "key by key"
		if oneWrite {
			name = "one write"
		}
		t.Run(name, func(t *testing.T) {
			r := newRig(t)
			tm := r.paidResult(t)
			before := ordersSoFar(t, r)
			tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
			if oneWrite {
				tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("45.60w")})
			} else {
				tm.Type("45.60w")
			}
			o := r.newestOrder(t, before...)
			if o.Amount != 4560 || o.Method != checkout.MethodWeChat {
				t.Fatalf("next sale: %s %s, want WeChat Pay ¥45.60", o.Method, o.Amount)
			}
			waitFor(t, tm, "Scan to pay with WeChat Pay")
		})
	}
}

// TestDigitOnTheResultStartsTheNextAmount: typing an amount on the result
// screen starts the next sale with it, without Enter first.
func TestDigitOnTheResultStartsTheNextAmount(t *testing.T) {
	r := newRig(t)
	tm := r.paidResult(t)
	before := ordersSoFar(t, r)
	tm.Type("7,5a")
	o := r.newestOrder(t, before...)
	if o.Amount != 750 || o.Method != checkout.MethodAlipay {
		t.Fatalf("next sale: %s %s, want Alipay ¥7.50", o.Method, o.Amount)
	}
}

// TestBurstOf25KeysLandsWhole: Enter, an amount, tab, a note and w: 26
// keys, as one write (runs of runes arrive together) and key by key; every
// one lands: the sale is for the amount with the whole note.
func TestBurstOf25KeysLandsWhole(t *testing.T) {
	const note = "table 4, two teas"
	for _, oneWrite := range []bool{true, false} {
		r := newRig(t)
		tm := r.paidResult(t)
		before := ordersSoFar(t, r)
		runes := func(s string) {
			if oneWrite {
				tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)})
				return
			}
			for _, c := range s {
				tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{c}})
			}
		}
		tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
		runes("88.80")
		tm.Send(tea.KeyMsg{Type: tea.KeyTab})
		runes(note)
		tm.Send(tea.KeyMsg{Type: tea.KeyTab})
		runes("w")
		o := r.newestOrder(t, before...)
		if o.Amount != 8880 || o.Note != note || o.Method != checkout.MethodWeChat {
			t.Fatalf("one write %v: sale %s %q %s, want ¥88.80 %q WeChat Pay", oneWrite, o.Amount, o.Note, o.Method, note)
		}
	}
}

// TestCommaIsTheDecimalPoint: "12,30" is ¥12.30; "1,234.50" is refused
// with a message and writes nothing.
func TestCommaIsTheDecimalPoint(t *testing.T) {
	r := newRig(t)
	tm := r.run(t)
	tm.Type("1,234.50w")
	waitFor(t, tm, "both a point and a comma")
	if n := len(ordersSoFar(t, r)); n != 0 {
		t.Fatalf("%d orders written for a refused amount", n)
	}
	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
	tm.Type("12,30w")
	if o := r.newestOrder(t); o.Amount != 1230 {
		t.Fatalf("12,30 became %s", o.Amount)
	}
}

// TestTooSmallForTheCodeWritesNothing: in a window that cannot hold the
// QR code a sale is refused before anything is written, saying the size
// it needs.
func TestTooSmallForTheCodeWritesNothing(t *testing.T) {
	r := newRig(t)
	tm := teatest.NewTestModel(t, r.model, teatest.WithInitialTermSize(34, 16))
	t.Cleanup(func() { tm.Quit() })
	tm.Type("5w")
	waitFor(t, tm, "37×20")
	if n := len(ordersSoFar(t, r)); n != 0 || len(r.wx.Calls()) != 0 {
		t.Fatalf("%d orders, %v calls in a window too small", n, r.wx.Calls())
	}
	// Made large enough, the same keys sell.
	tm.Send(tea.WindowSizeMsg{Width: 80, Height: 24})
	tm.Type("w")
	waitFor(t, tm, "Scan to pay with WeChat Pay")
}

// TestBellOnPaid: the terminal bell rings when a sale shows PAID, and not
// when one closes.
func TestBellOnPaid(t *testing.T) {
	r := newRig(t)
	bell := &fake.Buffer{}
	rend := lipgloss.NewRenderer(io.Discard)
	rend.SetColorProfile(termenv.Ascii)
	r.model = New(Options{Engine: r.engine, Renderer: rend, Sandbox: true, Terminal: "T1", Bell: bell})
	tm := r.run(t)
	tm.Type("2w")
	waitFor(t, tm, "Scan to pay")
	o := r.openOrder(t)
	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
	waitFor(t, tm, "CLOSED  ¥2.00")
	if bell.String() != "" {
		t.Fatal("the bell rang for a closed sale")
	}
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	tm.Type("3w")
	waitFor(t, tm, "Scan to pay")
	deadline := time.Now().Add(5 * time.Second)
	var p checkout.Order
	for time.Now().Before(deadline) {
		if p = r.newestOrder(t, o.No); p.State == checkout.StateAwaiting {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.wx.Pay(p.No)
	waitFor(t, tm, "PAID  ¥3.00")
	for time.Now().Before(deadline) && bell.String() == "" {
		time.Sleep(5 * time.Millisecond)
	}
	if bell.String() != "\a" {
		t.Fatalf("bell wrote %q, want one BEL", bell.String())
	}
}

// TestTodayListShowsTheWholeDay: h opens every order of the day (more than
// the sale screen lists), the arrows scroll it, esc goes back.
func TestTodayListShowsTheWholeDay(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	for i := range 60 {
		o := checkout.Order{No: "20261123050000000T1LIST" + string(rune('A'+i/26)) + string(rune('A'+i%26)), Method: checkout.MethodWeChat,
			Amount: checkout.Money(100 + i), State: checkout.StateCreated, CreatedAt: t0.Add(-time.Duration(i) * time.Minute), ExpiresAt: t0}
		if err := r.ledger.CreateOrder(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	r.model.recover = false // the orders above stay as they are
	tm := r.run(t)
	waitFor(t, tm, "and more · h for all of today")
	tm.Type("h")
	waitFor(t, tm, "60 orders", "1–")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnd})
	waitFor(t, tm, "–60 of 60", "¥1.59") // the oldest, at the bottom
	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
	waitFor(t, tm, "Amount")
}

// TestLiveDeskShowsShopAndLIVE: a desk with a merchant account says LIVE
// and the shop's name as plainly as the sandbox says SANDBOX.
func TestLiveDeskShowsShopAndLIVE(t *testing.T) {
	r := newRig(t)
	rend := lipgloss.NewRenderer(io.Discard)
	rend.SetColorProfile(termenv.Ascii)
	var m tea.Model = New(Options{Engine: r.engine, Renderer: rend, Terminal: "C2", Shop: "Lucky Noodles", SkipRecovery: true})
	m, _ = m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	first := strings.Split(m.View(), "\n")[0]
	if !strings.Contains(first, "Lucky Noodles") || !strings.Contains(first, "LIVE") || strings.Contains(first, "SANDBOX") {
		t.Fatalf("first line %q", first)
	}
}

// TestQuitWarningFitsAndGoesWithTheSale: ctrl+c during a sale warns in one
// line of 80 columns; when the sale ends the warning is gone.
func TestQuitWarningFitsAndGoesWithTheSale(t *testing.T) {
	r := newRig(t)
	var m tea.Model = r.model
	m, _ = m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	o := goldenOrder(checkout.MethodWeChat, checkout.StateAwaiting)
	root := m.(Model)
	root.active = screenWaiting
	root.waiting, _ = newCreating(root.deps, o.Method, o.Amount).begin(o)
	m = root.resize()
	m, _ = m.Update(tea.KeyMsg{Type: tea.KeyCtrlC})
	v := m.View()
	if !strings.Contains(v, "ctrl+c again quits") {
		t.Fatalf("no warning:\n%s", v)
	}
	if err := fits(v, 80, 24); err != nil || strings.Contains(v, "too small") {
		t.Fatalf("the warning does not fit with the code: %v\n%s", err, v)
	}
	o.State = checkout.StatePaid
	m, _ = m.Update(saleDoneMsg{order: o})
	if strings.Contains(m.View(), "ctrl+c again") {
		t.Fatalf("the warning outlived the sale:\n%s", m.View())
	}
}

// TestQuitBlanksTheLastFrame: quitting draws an empty last frame, so the
// terminal leaves the alternate screen empty and nothing of the desk is
// left in the shell, also after a resize (tmux copies the alternate
// screen's rows back into the shell's then).
func TestQuitBlanksTheLastFrame(t *testing.T) {
	r := newRig(t)
	var m tea.Model = r.model
	m, _ = m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	m, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")})
	if cmd == nil || m.View() != "" {
		t.Fatalf("after q: last frame %q", m.View())
	}
	o := goldenOrder(checkout.MethodWeChat, checkout.StateAwaiting)
	root := r.model
	root.active = screenWaiting
	root.waiting, _ = newCreating(root.deps, o.Method, o.Amount).begin(o)
	m = root
	m, _ = m.Update(tea.KeyMsg{Type: tea.KeyCtrlC})
	if m.View() == "" {
		t.Fatal("the first ctrl+c (a warning) blanked the screen")
	}
	m, _ = m.Update(tea.KeyMsg{Type: tea.KeyCtrlC})
	if m.View() != "" {
		t.Fatalf("after the second ctrl+c: last frame %q", m.View())
	}
}

// TestCountdownTurnsAmberThenRed: the countdown is drawn plain, amber in
// the last 30 s and red in the last 10 s.
func TestCountdownTurnsAmberThenRed(t *testing.T) {
	r := newRig(t)
	rend := lipgloss.NewRenderer(io.Discard)
	rend.SetColorProfile(termenv.ANSI256)
	m := New(Options{Engine: r.engine, Renderer: rend, Sandbox: true, Terminal: "T1", SkipRecovery: true})
	o := goldenOrder(checkout.MethodWeChat, checkout.StateAwaiting)
	w, _ := newCreating(m.deps, o.Method, o.Amount).begin(o)
	s := m.deps.styles
	for left, want := range map[time.Duration]string{
		60 * time.Second: s.Amount.Render("1:00"),
		25 * time.Second: s.CountdownSoon.Render("0:25"),
		5 * time.Second:  s.CountdownLast.Render("0:05"),
	} {
		w.now = o.ExpiresAt.Add(-left)
		if got := w.countdown(); got != want {
			t.Errorf("%v left: %q, want %q", left, got, want)
		}
	}
	if s.CountdownSoon.Render("0:25") == s.Amount.Render("0:25") || s.CountdownLast.Render("0:05") == s.CountdownSoon.Render("0:05") {
		t.Fatal("the three countdown styles do not differ")
	}
}

// TestCustomerScannedIsShown: once Alipay says the customer has opened the
// code, the waiting screen says so.
func TestCustomerScannedIsShown(t *testing.T) {
	r := newRig(t)
	tm, o := r.sale(t, "4a", "WAITING FOR PAYMENT")
	if err := r.ali.Scan(o.No); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tm, "CUSTOMER SCANNED")
}
