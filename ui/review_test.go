package ui

// What a review of the counter found (issue 8): keys on screens that were
// changing, a cancel while the code was being made, the urgent line in the
// smallest layouts, a Chinese keyboard, pastes, low windows, and every
// catalogue key the screens pick at run time.

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"till/catalog"
	"till/checkout"
	"till/providers/fake"
)

func runes(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

// sized is the rig's desk at w x h.
func (r *rig) sized(w, h int) Model {
	var m tea.Model = r.model
	m, _ = m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m.(Model)
}

func update(m Model, msgs ...tea.Msg) (Model, tea.Cmd) {
	var cmd tea.Cmd
	for _, msg := range msgs {
		var next tea.Model
		next, cmd = m.Update(msg)
		m = next.(Model)
	}
	return m, cmd
}

// TestEmptyPasteOnTheResultIsIgnored: a paste with nothing in it (some
// terminals send one) on the result screen changes nothing and does not
// bring the desk down.
func TestEmptyPasteOnTheResultIsIgnored(t *testing.T) {
	r := newRig(t)
	m := r.sized(80, 24)
	m, _ = update(m, saleDoneMsg{order: goldenOrder(checkout.MethodWeChat, checkout.StatePaid)})
	m, _ = update(m, tea.KeyMsg{Type: tea.KeyRunes, Paste: true}, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{}})
	if m.Active() != "result" {
		t.Fatalf("after empty pastes: %s", m.Active())
	}
	m, _ = update(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("7.50"), Paste: true})
	if m.Active() != "entry" || m.entry.amount != "7.50" {
		t.Fatalf("a pasted amount on the result: screen %s amount %q", m.Active(), m.entry.amount)
	}
}

// TestSecondWDoesNotChargeTwice: the w starts the sale in the same
// Update, so a second w (a bounce, an impatient clerk) meets the waiting
// screen and starts nothing: one order, one create.
func TestSecondWDoesNotChargeTwice(t *testing.T) {
	r := newRig(t)
	m := r.sized(80, 24)
	m, _ = update(m, runes("5"), runes("w"))
	if m.Active() != "waiting" {
		t.Fatalf("after 5 w: %s, want the waiting screen at once", m.Active())
	}
	tm := r.run(t)
	tm.Type("5")
	tm.Send(runes("w"))
	tm.Send(runes("w"))
	tm.Send(runes("5ww"))
	waitFor(t, tm, "Scan to pay with WeChat Pay")
	time.Sleep(100 * time.Millisecond) // room for a second create, were one sent
	creates := 0
	for _, c := range r.wx.Calls() {
		if strings.HasPrefix(c, "create") {
			creates++
		}
	}
	if nos := ordersSoFar(t, r); len(nos) != 1 || creates != 1 {
		t.Fatalf("orders %v, creates %d (calls %v), want one of each", nos, creates, r.wx.Calls())
	}
}

// TestBurstKeysReachTheScreenTheyMeet: keys that arrive together are
// taken one by one through the whole desk: the h of "3h" opens the
// history, the q of "12q" quits, the Esc-less tail of "5w7" goes to the
// waiting screen and types nothing into the next sale.
func TestBurstKeysReachTheScreenTheyMeet(t *testing.T) {
	r := newRig(t)
	m := r.sized(80, 24)
	if got, _ := update(m, runes("3h")); got.Active() != "history" {
		t.Errorf("after 3h: %s, want history", got.Active())
	}
	if got, cmd := update(m, runes("12q")); cmd == nil || got.View() != "" {
		t.Errorf("12q did not quit: %s", got.Active())
	}
	got, _ := update(m, runes("5w7"))
	if got.Active() != "waiting" || got.entry.amount != "5" {
		t.Errorf("after 5w7: %s, amount left %q", got.Active(), got.entry.amount)
	}
}

// TestCancelWhileCreatingClosesAtOnce: Esc while the provider is still
// making the code is kept; when the code comes the sale is closed at
// once, before a customer can scan it.
func TestCancelWhileCreatingClosesAtOnce(t *testing.T) {
	r := newRig(t)
	release := make(chan struct{})
	r.wx.OnCreate = func(ctx context.Context, _ checkout.CreateRequest) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}
	tm := r.run(t)
	tm.Type("5w")
	waitFor(t, tm, "Creating a WeChat Pay order")
	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
	waitFor(t, tm, "Cancel asked")
	close(release)
	waitFor(t, tm, "CLOSED  ¥5.00")
	nos := ordersSoFar(t, r)
	if len(nos) != 1 || r.state(t, nos[0]) != checkout.StateClosed {
		t.Fatalf("orders %v", nos)
	}
}

// TestFullScreenCodeShowsTheUrgentLine: in the layouts that draw the
// whole window (the code and a panel, the code and a line) the ctrl+c
// warning and the late-payment banner still show, and the view fits.
func TestFullScreenCodeShowsTheUrgentLine(t *testing.T) {
	late := goldenOrder(checkout.MethodAlipay, checkout.StatePaid)
	late.Late, late.No = true, "20261123050000000T1ZZZZ99"
	for _, size := range [][2]int{{60, 20}, {60, 24}, {40, 20}, {40, 21}} {
		r := newRig(t)
		m := r.sized(size[0], size[1])
		o := goldenOrder(checkout.MethodWeChat, checkout.StateAwaiting)
		m.active = screenWaiting
		m.waiting, _ = newCreating(m.deps, o.Method, o.Amount).begin(o)
		m = m.resize()
		if !m.waiting.fullScreen() {
			t.Fatalf("%v: not a full-screen layout (%v)", size, m.waiting.qr.layout.kind)
		}
		armed, _ := update(m, tea.KeyMsg{Type: tea.KeyCtrlC})
		v := armed.View()
		if !strings.Contains(ansi.Strip(v), "ctrl+c") {
			t.Errorf("%v: no quit warning:\n%s", size, v)
		}
		if err := fits(v, size[0], size[1]); err != nil {
			t.Errorf("%v: %v\n%s", size, err, v)
		}
		m.late = []checkout.Order{late}
		v = m.View()
		if m.waiting.qr.layout.kind == layoutCompact || size[1] > 20 {
			if !strings.Contains(v, "ZZZZ99") && !strings.Contains(v, "¥12.30") {
				t.Errorf("%v: no late banner:\n%s", size, v)
			}
		}
		if err := fits(v, size[0], size[1]); err != nil {
			t.Errorf("%v with the banner: %v\n%s", size, err, v)
		}
		if !strings.Contains(v, "▀▀▀▀▀▀▀") || !strings.Contains(v, "¥12.30") {
			t.Errorf("%v: the code or the amount went:\n%s", size, v)
		}
	}
}

// TestCompactPanelKeepsWhatMatters: the panel beside the code drops its
// least needed parts first as the window gets lower: the amount, the
// state and the countdown stay, and the payer page's address is whole or
// absent, never cut.
func TestCompactPanelKeepsWhatMatters(t *testing.T) {
	o := goldenOrder(checkout.MethodWeChat, checkout.StateAwaiting)
	for h := 19; h <= 30; h++ {
		r := newRig(t)
		m := r.sized(60, h)
		m.active = screenWaiting
		m.waiting, _ = newCreating(m.deps, o.Method, o.Amount).begin(o)
		m.waiting.warning = "Provider not answering; still trying."
		m = m.resize()
		if m.waiting.qr.layout.kind != layoutCompact {
			continue
		}
		v := m.View()
		if err := fits(v, 60, h); err != nil {
			t.Errorf("60x%d: %v", h, err)
		}
		for _, want := range []string{"¥12.30", "WAITING FOR PAYMENT", "Closes in", "esc"} {
			if !strings.Contains(v, want) {
				t.Errorf("60x%d: %q went:\n%s", h, want, v)
			}
		}
		// The panel's column, read top to bottom, holds the URL whole or
		// holds none of it.
		var col strings.Builder
		for _, l := range strings.Split(ansi.Strip(v), "\n") {
			if c := []rune(l); len(c) > 38 {
				col.WriteString(strings.TrimSpace(string(c[38:])))
			}
		}
		if text := col.String(); strings.Contains(text, "http") && !strings.Contains(text, o.CodeURL) {
			t.Errorf("60x%d: the payer address is cut:\n%s", h, v)
		}
	}
}

// TestTooSmallMessageFitsTheWidth: in a window too small for the code the
// message says so within the window's width.
func TestTooSmallMessageFitsTheWidth(t *testing.T) {
	for _, lang := range catalog.Langs {
		r := newRig(t)
		rend := lipgloss.NewRenderer(io.Discard)
		rend.SetColorProfile(termenv.Ascii)
		r.model = New(Options{Engine: r.engine, Renderer: rend, Sandbox: true, Terminal: "T1", Lang: lang, SkipRecovery: true})
		m := r.sized(30, 12)
		o := goldenOrder(checkout.MethodWeChat, checkout.StateAwaiting)
		m.active = screenWaiting
		m.waiting, _ = newCreating(m.deps, o.Method, o.Amount).begin(o)
		m = m.resize()
		v := m.View()
		if m.waiting.qr.layout.kind != layoutTooSmall {
			t.Fatalf("%s: layout %v", lang, m.waiting.qr.layout.kind)
		}
		if err := fits(v, 30, 100); err != nil {
			t.Errorf("%s: %v\n%s", lang, err, v)
		}
	}
}

// TestChineseKeyboardTypesTheAmount: a Chinese input method's full-width
// digits, "。" for the point, "，" for the comma and "ｗ" are the keys they
// stand for, one at a time or in a burst.
func TestChineseKeyboardTypesTheAmount(t *testing.T) {
	r := newRig(t)
	m := r.sized(80, 24)
	one, _ := update(m, runes("１"), runes("２"), runes("。"), runes("５"))
	if one.entry.amount != "12.5" {
		t.Fatalf("amount %q, want 12.5", one.entry.amount)
	}
	if one, _ = update(one, runes("ｗ")); one.Active() != "waiting" || one.waiting.amount != 1250 {
		t.Fatalf("after ｗ: %s %v", one.Active(), one.waiting.amount)
	}
	burst, _ := update(m, runes("４５，６ａ"))
	if burst.Active() != "waiting" || burst.waiting.amount != 4560 || burst.waiting.method != checkout.MethodAlipay {
		t.Fatalf("after the burst: %s %v %s", burst.Active(), burst.waiting.amount, burst.waiting.method)
	}
	// The note keeps what was typed.
	note, _ := update(m, runes("n"), runes("４号桌。"))
	if got := note.entry.note.Value(); got != "４号桌。" {
		t.Fatalf("note %q", got)
	}
}

// TestPasteIsTrimmedOrRefused: a pasted " ¥45.60 " is the amount 45.60;
// a paste that is no amount is said, and the amount stays as it was.
func TestPasteIsTrimmedOrRefused(t *testing.T) {
	r := newRig(t)
	m := r.sized(80, 24)
	m, _ = update(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(" ¥45.60 "), Paste: true})
	if m.entry.amount != "45.60" || m.entry.err != "" {
		t.Fatalf("amount %q err %q", m.entry.amount, m.entry.err)
	}
	m, _ = update(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("hello w"), Paste: true})
	if m.entry.amount != "45.60" || !strings.Contains(m.entry.err, "not an amount") || m.Active() != "entry" {
		t.Fatalf("after a junk paste: amount %q err %q screen %s", m.entry.amount, m.entry.err, m.Active())
	}
}

// TestResultAndProblemFitLowWindows: in a window too low for the band and
// the big figures, the result and the problem keep their words (the
// outcome, the amount, what to do) and fit.
func TestResultAndProblemFitLowWindows(t *testing.T) {
	for _, lang := range catalog.Langs {
		for _, h := range []int{12, 14, 16} {
			for name, m := range screens(t, lang, 80, h) {
				if !strings.HasPrefix(name, "result") && !strings.HasPrefix(name, "problem") {
					continue
				}
				v := m.View()
				if err := fits(v, 80, h); err != nil {
					t.Errorf("%s 80x%d %s: %v\n%s", lang, h, name, err, v)
				}
				if !strings.Contains(v, "¥") {
					t.Errorf("%s 80x%d %s: no amount:\n%s", lang, h, name, v)
				}
			}
		}
	}
}

// TestEveryKeyTheScreensPickExists: the catalogue keys chosen at run time
// (from an error's code, a state, a kind) are all in both catalogues, so
// none shows as its bare id.
func TestEveryKeyTheScreensPickExists(t *testing.T) {
	var picked []string
	for _, k := range amountKeys {
		picked = append(picked, k)
	}
	for _, k := range noteCodeKeys {
		picked = append(picked, k)
	}
	for _, k := range saveKeys {
		picked = append(picked, k)
	}
	for _, k := range codeKeys {
		picked = append(picked, k)
	}
	for _, k := range kindKeys {
		picked = append(picked, k)
	}
	for _, k := range stateKeys {
		picked = append(picked, k)
	}
	for _, lang := range catalog.Langs {
		keys, err := catalog.Keys(lang)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, k := range keys {
			have[k] = true
		}
		for _, k := range picked {
			if !have[k] {
				t.Errorf("%s: %q is picked by a screen and missing from the catalogue", lang, k)
			}
		}
	}
}

// TestCodeSuffixInTheLanguagesBrackets: a provider's code follows the
// sentence in the language's own brackets, and an answer without a code
// leaves no empty brackets.
func TestCodeSuffixInTheLanguagesBrackets(t *testing.T) {
	with := &checkout.ProviderError{Op: "create", Kind: checkout.KindRefused, Code: "SOME_NEW_CODE"}
	without := &checkout.ProviderError{Op: "create", Kind: checkout.KindRefused}
	for lang, want := range map[catalog.Lang]string{catalog.English: " (SOME_NEW_CODE)", catalog.Chinese: "（SOME_NEW_CODE）"} {
		p := catalog.New(lang)
		if got := describe(p, with, checkout.MethodWeChat); !strings.HasSuffix(got, want) {
			t.Errorf("%s: %q does not end in %q", lang, got, want)
		}
		if got := describe(p, without, checkout.MethodWeChat); strings.ContainsAny(got, "()（）") {
			t.Errorf("%s: empty brackets in %q", lang, got)
		}
		le := &checkout.LedgerError{Op: "reading order 1", Err: context.DeadlineExceeded}
		if got := describe(p, le, ""); strings.Contains(got, "reading order") {
			t.Errorf("%s: the engine's English op in %q", lang, got)
		}
	}
}

// TestShutdownStopsWithABlankFrame: the signal's message quits from any
// screen, a sale under way included, and leaves a blank last frame.
func TestShutdownStopsWithABlankFrame(t *testing.T) {
	r := newRig(t)
	m := r.sized(80, 24)
	o := goldenOrder(checkout.MethodWeChat, checkout.StateAwaiting)
	m.active = screenWaiting
	m.waiting, _ = newCreating(m.deps, o.Method, o.Amount).begin(o)
	m, cmd := update(m, ShutdownMsg{})
	if cmd == nil || m.View() != "" {
		t.Fatalf("after the shutdown: cmd %v, last frame %q", cmd, m.View())
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("the shutdown did not quit")
	}
}

// TestCancelledCodeIsNeverShown: when Esc came while the code was being
// made, the code that then arrives is closed without being drawn: no QR,
// no "Scan to pay", no payer page.
func TestCancelledCodeIsNeverShown(t *testing.T) {
	r := newRig(t)
	m := r.sized(80, 24)
	m, _ = update(m, runes("5"), runes("w"), tea.KeyMsg{Type: tea.KeyEsc})
	if !m.waiting.cancelAsked {
		t.Fatal("the cancel was not kept")
	}
	o := goldenOrder(checkout.MethodWeChat, checkout.StateAwaiting)
	o.Amount = 500
	m, _ = update(m, saleStartedMsg{order: o, asked: o})
	v := m.View()
	if m.waiting.phase != phaseClosing || strings.Contains(v, "▀▀▀▀▀▀▀") || strings.Contains(v, "Scan to pay") || strings.Contains(v, o.CodeURL) {
		t.Fatalf("phase %v; the cancelled code is on screen:\n%s", m.waiting.phase, v)
	}
	if !strings.Contains(v, "Closing the order") {
		t.Errorf("the screen does not say it is closing:\n%s", v)
	}
}

// TestProblemAnswersActOnce: r or Esc on the problem screen acts in the
// same Update, so a second press (a bounce, a burst "rr") meets the next
// screen and starts nothing twice, and an Esc between them is not lost.
func TestProblemAnswersActOnce(t *testing.T) {
	r := newRig(t)
	m := r.sized(80, 24)
	o := goldenOrder(checkout.MethodWeChat, checkout.StateCreated)
	m.active = screenProblem
	m.problem = newProblem(m.deps, problemCreateUnknown, o, fake.ErrTimeout)
	m = m.resize()
	m, _ = update(m, runes("r"))
	if m.Active() != "waiting" || m.waiting.phase != phaseCreating {
		t.Fatalf("after r: %s, want the retry under way at once", m.Active())
	}
	m, _ = update(m, tea.KeyMsg{Type: tea.KeyEsc}, runes("r"))
	if !m.waiting.cancelAsked {
		t.Fatal("the Esc after r was lost to the second r")
	}
	closing := m
	closing.active = screenProblem
	closing.problem = newProblem(m.deps, problemCloseFailed, o, fake.ErrTimeout)
	closing = closing.resize()
	closing, _ = update(closing, tea.KeyMsg{Type: tea.KeyEsc})
	if closing.Active() != "entry" {
		t.Fatalf("after Esc on a close that failed: %s", closing.Active())
	}
}

// TestCreatingFitsTheSmallestSaleWindow: from the smallest window a sale
// may start in up, the "creating" line is wrapped to the width.
func TestCreatingFitsTheSmallestSaleWindow(t *testing.T) {
	minW, minH := qrMinimum()
	for _, lang := range catalog.Langs {
		for w := minW; w < minW+14; w++ {
			r := newRig(t)
			rend := lipgloss.NewRenderer(io.Discard)
			rend.SetColorProfile(termenv.Ascii)
			r.model = New(Options{Engine: r.engine, Renderer: rend, Sandbox: true, Terminal: "T1", Lang: lang, SkipRecovery: true})
			m := r.sized(w, minH+4)
			m, _ = update(m, runes("12.30"), runes("w"), tea.KeyMsg{Type: tea.KeyEsc})
			if m.Active() != "waiting" {
				t.Fatalf("%s %dx%d: %s", lang, w, minH+4, m.Active())
			}
			if err := fits(m.View(), w, minH+4); err != nil {
				t.Errorf("%s %dx%d: %v\n%s", lang, w, minH+4, err, m.View())
			}
		}
	}
}

// TestEmptyPasteOnTheEntryIsNothing: an empty or blank paste types
// nothing and says nothing.
func TestEmptyPasteOnTheEntryIsNothing(t *testing.T) {
	r := newRig(t)
	m := r.sized(80, 24)
	m, _ = update(m, runes("3"), tea.KeyMsg{Type: tea.KeyRunes, Paste: true}, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("  "), Paste: true})
	if m.entry.amount != "3" || m.entry.err != "" {
		t.Fatalf("amount %q err %q", m.entry.amount, m.entry.err)
	}
}

// TestTinyWindowsNeverOverflow: whatever the window, no screen draws a
// line wider or a frame taller than it (the terminal would wrap and
// scroll the desk's top away).
func TestTinyWindowsNeverOverflow(t *testing.T) {
	for _, lang := range catalog.Langs {
		for _, size := range [][2]int{{20, 6}, {24, 8}, {30, 9}, {60, 8}, {80, 10}, {100, 7}} {
			for name, m := range screens(t, lang, size[0], size[1]) {
				if err := fits(m.View(), size[0], size[1]); err != nil {
					t.Errorf("%s %dx%d %s: %v", lang, size[0], size[1], name, err)
				}
			}
		}
	}
}

// TestRefundRefusalIsNotCalledTheBalance: WeChat's refusal of a refund
// above what it can still refund (INVALID_REQUEST) says so, in both
// languages, and never that the shop's balance is too low.
func TestRefundRefusalIsNotCalledTheBalance(t *testing.T) {
	for lang, want := range map[catalog.Lang]string{catalog.English: "can still refund", catalog.Chinese: "尚可退"} {
		p := catalog.New(lang)
		err := &checkout.ProviderError{Op: "refund", Kind: checkout.KindRefused, Code: "INVALID_REQUEST", Message: "refused"}
		got := describe(p, err, checkout.MethodWeChat)
		if !strings.Contains(got, want) || strings.Contains(got, p.T("err.code.balance", nil)) {
			t.Errorf("%s: %q", lang, got)
		}
	}
}
