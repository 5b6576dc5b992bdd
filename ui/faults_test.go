package ui

// The desk under faults (issue 7): it keeps watching a sale whatever the
// ledger or the provider does, never sticks on a close, retries a failed
// close a few times before asking the clerk, and shows a late payment
// until the clerk has seen it.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"till/checkout"
	"till/providers/fake"
)

// sale runs the desk, types keys (an amount and a method) and waits for
// the QR screen showing want; it returns the order on screen.
func (r *rig) sale(t *testing.T, keys, want string) (*teatest.TestModel, checkout.Order) {
	t.Helper()
	tm := r.run(t)
	tm.Type(keys)
	waitFor(t, tm, want)
	return tm, r.openOrder(t)
}

// withoutPolls makes r's desk poll only once an hour: a test that pays a
// sale and then presses Esc wants Esc's final query to be the first to
// see the payment, not a poll that a loaded machine lets in between.
func (r *rig) withoutPolls() *rig {
	cfg := r.engine.Config()
	cfg.PollInterval = time.Hour
	r.engine = checkout.NewEngine(r.faulty, []checkout.Provider{r.wx, r.ali}, cfg, r.clock, nil)
	r.model = New(Options{Engine: r.engine, Renderer: asciiRenderer(), Sandbox: true, Terminal: "T1"})
	return r
}

// sendCloseRetries walks the waiting screen through its close retries
// (their timers are sent here rather than waited for), up to the problem
// screen.
func sendCloseRetries(t *testing.T, tm *teatest.TestModel, no string) {
	t.Helper()
	for i := 1; i <= closeRetries; i++ {
		waitFor(t, tm, fmt.Sprintf("(%d of %d)", i, closeRetries))
		tm.Send(closeRetryMsg{no: no, attempt: i})
	}
}

// failReads makes the ledger fail reads of order no (or of every order
// when no is "").
func failReads(no string) func(fake.Op) error {
	return func(op fake.Op) error {
		if op.Name == "read" && (no == "" || op.No == no) {
			return fake.ErrDisk
		}
		return nil
	}
}

// failPaidWrites makes every write of a payment fail.
func failPaidWrites(op fake.Op) error {
	if op.Name == "advance" && op.To == checkout.StatePaid {
		return fake.ErrDisk
	}
	return nil
}

// TestPollingSurvivesALedgerReadError: a poll whose read of the order
// fails still answers with the order's number; the waiting screen says
// what is wrong and keeps polling, so a payment made meanwhile shows as
// PAID once the ledger reads again.
func TestPollingSurvivesALedgerReadError(t *testing.T) {
	r := newRig(t)
	tm, o := r.sale(t, "2.50w", "Scan to pay with WeChat Pay")
	r.faulty.Fail(failReads(o.No))
	waitFor(t, tm, "The ledger failed", "still trying")
	r.wx.Pay(o.No)
	r.faulty.Fail(nil)
	waitFor(t, tm, "PAID  ¥2.50")
	if st := r.state(t, o.No); st != checkout.StatePaid {
		t.Fatalf("ledger %s, want paid", st)
	}
}

// TestPaidButNotSavedIsShownAndRetried: the customer pays and the ledger
// cannot record it. The screen says so in plain words and keeps trying;
// when the disk works again the sale is recorded and shown PAID.
func TestPaidButNotSavedIsShownAndRetried(t *testing.T) {
	r := newRig(t)
	tm, o := r.sale(t, "9w", "Scan to pay")
	r.faulty.Fail(failPaidWrites)
	r.wx.Pay(o.No)
	waitFor(t, tm, "PAID · saving", "disk is full")
	if st := r.state(t, o.No); !st.Open() {
		t.Fatalf("ledger %s while the write fails", st)
	}
	r.faulty.Fail(nil)
	waitFor(t, tm, "PAID  ¥9.00")
	if st := r.state(t, o.No); st != checkout.StatePaid {
		t.Fatalf("ledger %s, want paid", st)
	}
}

// TestEscWhileThePaidWriteFailsNeverSticks: the clerk presses Esc while
// the payment cannot be saved. The desk tries a few times, then says the
// customer has paid and the ledger could not record it, and offers a
// retry that records it once the disk works. Nothing is closed.
func TestEscWhileThePaidWriteFailsNeverSticks(t *testing.T) {
	r := newRig(t).withoutPolls()
	tm, o := r.sale(t, "4w", "Scan to pay")
	r.faulty.Fail(failPaidWrites)
	r.wx.Pay(o.No)
	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
	sendCloseRetries(t, tm, o.No)
	waitFor(t, tm, "The customer has paid order", "could not record it yet", "r retry")
	r.faulty.Fail(nil)
	tm.Type("r")
	waitFor(t, tm, "PAID  ¥4.00")
	for _, c := range r.wx.Calls() {
		if strings.HasPrefix(c, "close ") {
			t.Fatalf("a paid sale was closed: %v", r.wx.Calls())
		}
	}
}

// TestFinalQueryFailureAtEscClosesNothing: on Esc the final query times
// out. The desk asks again a few times, then shows the problem screen;
// no close is ever sent, and the sale stays open for recovery.
func TestFinalQueryFailureAtEscClosesNothing(t *testing.T) {
	r := newRig(t).withoutPolls()
	var down atomic.Bool // the hook is read by the desk's goroutines
	r.ali.OnQuery = func(context.Context, string) error {
		if down.Load() {
			return fake.ErrTimeout
		}
		return nil
	}
	tm, o := r.sale(t, "3a", "Scan to pay with Alipay")
	r.ali.Pay(o.No) // paid; the desk has not seen it yet
	down.Store(true)
	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
	sendCloseRetries(t, tm, o.No)
	waitFor(t, tm, "NOT SETTLED", "nothing was closed", "r retry")
	for _, c := range r.ali.Calls() {
		if strings.HasPrefix(c, "close ") {
			t.Fatalf("closed on an unknown state: %v", r.ali.Calls())
		}
	}
	tm.Send(tea.KeyMsg{Type: tea.KeyEsc}) // leave it to recovery
	waitFor(t, tm, "is still open; till keeps checking it")
	down.Store(false)
	r.clock.Advance(checkout.SettleEvery) // past the hand-over pass's backoff
	tm.Send(recoverNowMsg{})
	waitFor(t, tm, "Settled 1 order left open", "¥3.00 paid")
	if st := r.state(t, o.No); st != checkout.StatePaid {
		t.Fatalf("ledger %s, want paid", st)
	}
}

// TestRetryThatCannotReadStaysOnTheProblem: the clerk retries a create
// whose order cannot be read; the desk stays on the problem screen (the
// sale is still unsettled) instead of dropping back to a new sale.
func TestRetryThatCannotReadStaysOnTheProblem(t *testing.T) {
	r := newRig(t)
	var down atomic.Bool
	down.Store(true)
	r.wx.OnCreate = func(context.Context, checkout.CreateRequest) error {
		if down.Load() {
			return fake.ErrTimeout
		}
		return nil
	}
	tm := r.run(t)
	tm.Type("5w")
	waitFor(t, tm, "could not tell whether", "r retry")
	down.Store(false)
	r.faulty.Fail(failReads(""))
	tm.Type("r")
	// Only the changed line is repainted: the rest of the problem screen
	// stays, as the r that follows (a retry, on the problem screen only)
	// shows.
	waitFor(t, tm, "The ledger failed: fake: the disk is full")
	r.faulty.Fail(nil)
	tm.Type("r")
	waitFor(t, tm, "Scan to pay with WeChat Pay", "WAITING FOR PAYMENT")
}

// TestLatePaymentBanner: an Alipay sale is cancelled before the scan; the
// result says the code may still be paid. The customer pays; at the late
// check the desk shows a banner naming the order and the amount, on every
// screen, until the clerk presses k.
func TestLatePaymentBanner(t *testing.T) {
	r := newRig(t)
	tm, o := r.sale(t, "6.60a", "Scan to pay with Alipay")
	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
	waitFor(t, tm, "CLOSED  ¥6.60", "may still accept this code")
	closed, _ := r.ledger.Order(context.Background(), o.No)
	if closed.State != checkout.StateClosed || closed.RecheckAt.IsZero() {
		t.Fatalf("after Esc: %+v", closed)
	}
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	if err := r.ali.Pay(o.No); err != nil { // the customer scans the closed code and pays, at 14:00
		t.Fatal(err)
	}
	r.clock.Set(closed.RecheckAt)
	tm.Send(recoverNowMsg{})
	waitFor(t, tm, "PAID AFTER IT WAS CLOSED ¥6.60 Alipay 14:00", o.No[len(o.No)-10:], "k seen it")
	if got, _ := r.ledger.Order(context.Background(), o.No); got.State != checkout.StatePaid || !got.Late {
		t.Fatalf("ledger after the late check: %+v", got)
	}
	// The next sale starts under it; k acknowledges it there.
	tm.Type("1w")
	waitFor(t, tm, "Scan to pay with WeChat Pay")
	tm.Type("k")
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := r.ledger.Order(context.Background(), o.No)
		if !got.LateSeenAt.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the acknowledgement was not recorded")
		}
		time.Sleep(5 * time.Millisecond)
	}
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	final := tm.FinalModel(t, teatest.WithFinalTimeout(3*time.Second)).(Model)
	if v := final.View(); strings.Contains(v, "PAID AFTER") || final.Active() != "waiting" {
		t.Fatalf("after k, on %s:\n%s", final.Active(), v)
	}
}

// TestLateBannerOnEveryScreen: the banner is drawn over the entry, the
// waiting (QR) and the result screens, and the QR screen still fits.
func TestLateBannerOnEveryScreen(t *testing.T) {
	r := newRig(t)
	var m tea.Model = r.model
	m, _ = m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	late := checkout.Order{No: "20261123060000000T1AAAA01", Method: checkout.MethodAlipay, Amount: 660, State: checkout.StatePaid,
		Late: true, PaidAt: t0}
	m, _ = m.Update(recoveredMsg{pass: checkout.Pass{Late: []checkout.Order{late}, LateKnown: true}})
	root := m.(Model)
	o := checkout.Order{No: "20261123060100000T1AAAA02", Method: checkout.MethodWeChat, Amount: 100, State: checkout.StateAwaiting,
		CodeURL: "http://127.0.0.1:1/pay/abcdefghijklmnopqrst", ExpiresAt: t0.Add(3 * time.Minute)}
	waiting := root
	waiting.active = screenWaiting
	waiting.waiting, _ = newCreating(root.deps, o.Method, o.Amount).begin(o)
	waiting = waiting.resize()
	result := root
	result.active, result.result = screenResult, newResult(root.deps, o)
	for name, v := range map[string]Model{"entry": root, "waiting": waiting, "result": result} {
		screen := v.View()
		if !strings.Contains(screen, "PAID AFTER IT WAS CLOSED") || !strings.Contains(screen, late.No[len(late.No)-10:]) || !strings.Contains(screen, "¥6.60") {
			t.Errorf("%s: no banner:\n%s", name, screen)
		}
		if n := strings.Count(screen, "\n") + 1; n > 24 {
			t.Errorf("%s: %d lines with the banner", name, n)
		}
	}
	// With a notice too, and a real provider's code (version 3, 19 rows):
	// the code still fits.
	waiting.notice, waiting.noticeWarn = "1 order(s) could not be checked yet (Alipay did not answer in time); till keeps asking.", true
	waiting.waiting, _ = newCreating(root.deps, o.Method, o.Amount).begin(checkout.Order{No: o.No, Method: checkout.MethodAlipay,
		Amount: 100, State: checkout.StateAwaiting, CodeURL: "https://qr.alipay.com/bax08431ivcf3ftzbtnr0029", ExpiresAt: o.ExpiresAt})
	waiting = waiting.resize()
	if v := waiting.View(); strings.Contains(v, "too small") || !strings.Contains(v, "▀▀▀▀▀▀▀") || strings.Count(v, "\n")+1 > 24 {
		t.Errorf("banner and notice pushed the QR code off the 80x24 screen:\n%s", v)
	}
}

// TestPassesDoNotOverlap: the desk's first settling pass runs from Init;
// a timer or a request arriving meanwhile starts no second one, and the
// request is honoured right after the first ends. Otherwise the next pass
// comes at the next late check, or after recoverEvery.
func TestPassesDoNotOverlap(t *testing.T) {
	r := newRig(t)
	var m tea.Model = r.model
	if m.Init() == nil {
		t.Fatal("Init starts no pass")
	}
	for _, msg := range []tea.Msg{recoverTickMsg{}, recoverNowMsg{}} {
		var cmd tea.Cmd
		if m, cmd = m.Update(msg); cmd != nil {
			t.Fatalf("%T started a second pass while the first was running", msg)
		}
	}
	m, cmd := m.Update(recoveredMsg{})
	if mm := m.(Model); cmd == nil || mm.recovering || mm.again || mm.nextPassIn != 0 {
		t.Fatalf("after the first pass: recovering %v, again %v, next in %v", mm.recovering, mm.again, mm.nextPassIn)
	}
	// That timer starts the pass asked for meanwhile.
	next, cmd := m.Update(recoverTickMsg{seq: m.(Model).tickSeq})
	if cmd == nil || !next.(Model).recovering {
		t.Fatal("the pass asked for meanwhile did not run")
	}
	// A stale timer does nothing.
	if _, cmd := m.Update(recoverTickMsg{seq: m.(Model).tickSeq - 1}); cmd != nil {
		t.Fatal("a stale timer started a pass")
	}
	next, _ = next.Update(recoveredMsg{pass: checkout.Pass{NextCheck: t0.Add(7 * time.Second)}})
	if got := next.(Model).nextPassIn; got != 7*time.Second {
		t.Fatalf("next pass in %v, want at the late check, 7s", got)
	}
	next, _ = next.Update(recoverTickMsg{seq: next.(Model).tickSeq})
	next, _ = next.Update(recoveredMsg{})
	if got := next.(Model).nextPassIn; got != recoverEvery {
		t.Fatalf("next pass in %v, want %v", got, recoverEvery)
	}
}

// TestBannerSurvivesAFollowUpsReadError: a pass that cannot read the
// follow-ups says so and leaves the banner up; the late payment is still
// unacknowledged.
func TestBannerSurvivesAFollowUpsReadError(t *testing.T) {
	r := newRig(t)
	var m tea.Model = r.model
	m, _ = m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	late := checkout.Order{No: "20261123060000000T1AAAA01", Method: checkout.MethodAlipay, Amount: 660, State: checkout.StatePaid, Late: true, PaidAt: t0}
	m, _ = m.Update(recoveredMsg{pass: checkout.Pass{Late: []checkout.Order{late}, LateKnown: true}})
	r.faulty.Fail(func(op fake.Op) error {
		if op.Name == "follow-ups" {
			return fake.ErrDisk
		}
		return nil
	})
	m, _ = m.Update(recoveredMsg{pass: r.engine.Recover(context.Background())})
	v := m.View()
	if !strings.Contains(v, "PAID AFTER IT WAS CLOSED") {
		t.Fatalf("banner gone on a read error, unacknowledged:\n%s", v)
	}
	if !strings.Contains(v, "Could not look for unsettled orders") || strings.Contains(v, "order(s) could not be checked") {
		t.Fatalf("the notice miscounts a ledger fault:\n%s", v)
	}
}

// TestProblemScreenKeepsSettling: the customer paid, the ledger could not
// save it, and the clerk is on the problem screen. Its background tries
// record the sale once the disk works and show PAID without a key.
func TestProblemScreenKeepsSettling(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	o, err := r.engine.Start(ctx, checkout.MethodWeChat, 420, "")
	if err != nil {
		t.Fatal(err)
	}
	r.wx.Pay(o.No)
	r.faulty.Fail(failPaidWrites)
	_, ferr := r.engine.Finish(ctx, o.No, "cancelled by clerk")
	var m tea.Model = r.model
	m, _ = m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m, retry := m.Update(closeFailedMsg{order: o, reason: "cancelled by clerk", err: ferr})
	if m.(Model).Active() != "problem" || retry == nil {
		t.Fatalf("on %s, background retry %v", m.(Model).Active(), retry != nil)
	}
	gen := m.(Model).problem.gen
	// A try while the disk is still full: still the problem screen, and
	// another try is set.
	m, cmd := m.Update(problemRetryMsg{no: o.No, gen: gen})
	m, again := m.Update(cmd())
	if m.(Model).Active() != "problem" || again == nil {
		t.Fatalf("after a failed try: on %s", m.(Model).Active())
	}
	r.faulty.Fail(nil)
	m, cmd = m.Update(problemRetryMsg{no: o.No, gen: gen})
	m, done := m.Update(cmd())
	m, _ = m.Update(done())
	if v := m.View(); m.(Model).Active() != "result" || !strings.Contains(v, "PAID  ¥4.20") {
		t.Fatalf("after the disk healed: on %s\n%s", m.(Model).Active(), v)
	}
	// A timer of an earlier problem screen does nothing.
	if _, cmd := m.Update(problemRetryMsg{no: o.No, gen: gen - 1}); cmd != nil {
		t.Fatal("a stale timer ran")
	}
}

// TestStartNoticeIsShown: the setup warning main passes in is on screen,
// and stays there when the first settling pass has nothing to say.
func TestStartNoticeIsShown(t *testing.T) {
	r := newRig(t)
	rend := lipgloss.NewRenderer(io.Discard)
	rend.SetColorProfile(termenv.Ascii)
	var m tea.Model = New(Options{Engine: r.engine, Renderer: rend, Terminal: "T1", Notice: "default terminal id T1"})
	if v := m.View(); !strings.Contains(v, "default terminal id T1") {
		t.Fatalf("notice missing:\n%s", v)
	}
	m, _ = m.Update(recoveredMsg{pass: checkout.Pass{LateKnown: true}})
	if v := m.View(); !strings.Contains(v, "default terminal id T1") {
		t.Fatalf("the first pass wiped the start notice:\n%s", v)
	}
	// A busy pass (an order settled, a provider down) does not hide it.
	m, _ = m.Update(recoveredMsg{pass: checkout.Pass{Settled: []checkout.Order{{No: "X1", Amount: 100, State: checkout.StateClosed}},
		Errors: []error{errors.New("Alipay did not answer")}, LateKnown: true}})
	if v := m.View(); !strings.Contains(v, "default terminal id T1") || !strings.Contains(v, "Settled 1 order left open") {
		t.Fatalf("a busy pass hid the start notice:\n%s", v)
	}
	// A pass's own notice is cleared by the next quiet pass.
	m, _ = m.Update(recoveredMsg{pass: checkout.Pass{Errors: []error{errors.New("Alipay did not answer")}}})
	m, _ = m.Update(recoveredMsg{pass: checkout.Pass{LateKnown: true}})
	if v := m.View(); strings.Contains(v, "could not be checked") {
		t.Fatalf("a settled problem's notice stayed:\n%s", v)
	}
}

// TestPaymentStaysSaidOnEveryScreen: once the provider has said "paid" and
// the ledger could not record it, neither the waiting nor the problem
// screen goes back to "waiting for the customer" or "could not confirm",
// whatever a later try answers (a read error, a provider timeout).
func TestPaymentStaysSaidOnEveryScreen(t *testing.T) {
	r := newRig(t)
	var m tea.Model = r.model
	m, _ = m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	o := checkout.Order{No: "20261123060000000T1AAAA01", Method: checkout.MethodWeChat, Amount: 420, State: checkout.StateAwaiting,
		CodeURL: "http://127.0.0.1:1/pay/abcdefghijklmnopqrst", ExpiresAt: t0.Add(3 * time.Minute)}
	unsaved := &checkout.SaveError{No: o.No, Method: o.Method, To: checkout.StatePaid, Err: fake.ErrDisk}
	timeout := &checkout.ProviderError{Op: "query", Kind: checkout.KindUnknown, Message: "WeChat Pay did not answer in time"}
	root := m.(Model)
	root.active = screenWaiting
	root.waiting, _ = newCreating(root.deps, o.Method, o.Amount).begin(o)
	m = root
	m, _ = m.Update(polledMsg{no: o.No, order: o, err: unsaved})
	m, _ = m.Update(polledMsg{no: o.No, order: o, err: timeout})
	if v := m.View(); !strings.Contains(v, "PAID · saving") || strings.Contains(v, "WAITING FOR PAYMENT") {
		t.Fatalf("waiting screen forgot the payment:\n%s", v)
	}
	// Esc: every close try fails some other way; the problem screen
	// still says the customer paid, and shows the last try below.
	m, _ = m.Update(tea.KeyMsg{Type: tea.KeyEsc})
	var cmd tea.Cmd
	for i := 0; ; i++ {
		tag := m.(Model).waiting.closeTag
		m, cmd = m.Update(finishedMsg{no: o.No, tag: tag, order: checkout.Order{No: o.No}, err: timeout})
		if i == closeRetries {
			break
		}
		m, _ = m.Update(closeRetryMsg{no: o.No, attempt: i + 1})
	}
	m, _ = m.Update(cmd()) // closeFailedMsg
	v := flat(m.View())
	if m.(Model).Active() != "problem" || !strings.Contains(v, "The customer has paid order") || strings.Contains(v, "could not confirm") ||
		!strings.Contains(v, "Last try: no clear answer") {
		t.Fatalf("problem screen on %s:\n%s", m.(Model).Active(), v)
	}
	// A background try that fails to read keeps the payment said too.
	gen := m.(Model).problem.gen
	m, _ = m.Update(problemRetryMsg{no: o.No, gen: gen})
	readErr := &checkout.LedgerError{Op: "reading order " + o.No, Err: fake.ErrDisk}
	m, _ = m.Update(finishedMsg{no: o.No, tag: m.(Model).problem.pending, order: checkout.Order{No: o.No}, err: readErr})
	if v := flat(m.View()); !strings.Contains(v, "The customer has paid order") || !strings.Contains(v, "Last try: the ledger failed") {
		t.Fatalf("after a failed read:\n%s", v)
	}
	// Leaving it says the sale was paid, not merely "still open".
	m, cmd = m.Update(tea.KeyMsg{Type: tea.KeyEsc})
	m, _ = m.Update(cmd())
	if v := flat(m.View()); !strings.Contains(v, "was paid at WeChat Pay but is not saved yet") {
		t.Fatalf("after leaving it:\n%s", v)
	}
}

// flat folds a screen's lines and spaces, so that a test can look for a
// sentence the screen wrapped.
func flat(screen string) string { return strings.Join(strings.Fields(screen), " ") }

// TestStrayCloseAnswersAreIgnored: the answer to an earlier close call
// (a background try still out when the clerk pressed r) neither counts as
// one of the waiting screen's tries nor starts a second chain of problem
// timers.
func TestStrayCloseAnswersAreIgnored(t *testing.T) {
	r := newRig(t)
	var m tea.Model = r.model
	m, _ = m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	o := checkout.Order{No: "20261123060000000T1AAAA01", Method: checkout.MethodWeChat, Amount: 420, State: checkout.StateAwaiting,
		CodeURL: "http://127.0.0.1:1/pay/x", ExpiresAt: t0.Add(3 * time.Minute)}
	timeout := &checkout.ProviderError{Op: "query", Kind: checkout.KindUnknown, Message: "slow"}
	m, _ = m.Update(closeFailedMsg{order: o, reason: "cancelled by clerk", err: timeout})
	gen := m.(Model).problem.gen
	m, _ = m.Update(problemRetryMsg{no: o.No, gen: gen})
	stray := m.(Model).problem.pending
	if stray == 0 {
		t.Fatal("no background try")
	}
	// A second timer while that try is out starts nothing.
	if _, cmd := m.Update(problemRetryMsg{no: o.No, gen: gen}); cmd != nil {
		t.Fatal("two background tries at once")
	}
	m, _ = m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("r")})
	m, _ = m.Update(retryCloseMsg{order: o})
	if m.(Model).Active() != "waiting" {
		t.Fatalf("r went to %s", m.(Model).Active())
	}
	// The background try's answer arrives now: not the waiting screen's.
	m, cmd := m.Update(finishedMsg{no: o.No, tag: stray, order: o, err: timeout})
	if cmd != nil || m.(Model).waiting.closeAttempt != 0 {
		t.Fatalf("a stray answer counted as a try (attempt %d)", m.(Model).waiting.closeAttempt)
	}
	// Nor on a later problem screen.
	m, _ = m.Update(closeFailedMsg{order: o, reason: "cancelled by clerk", err: timeout})
	if _, cmd := m.Update(finishedMsg{no: o.No, tag: stray, order: o, err: timeout}); cmd != nil {
		t.Fatal("a stray answer started a timer on the next problem screen")
	}
}

// TestAcknowledgedBannerDoesNotComeBack: a pass that read the ledger just
// before the clerk pressed k does not bring the banner back.
func TestAcknowledgedBannerDoesNotComeBack(t *testing.T) {
	r := newRig(t)
	var m tea.Model = r.model
	m, _ = m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	late := checkout.Order{No: "20261123060000000T1AAAA01", Method: checkout.MethodAlipay, Amount: 660, State: checkout.StatePaid, Late: true, PaidAt: t0}
	old := checkout.Pass{Late: []checkout.Order{late}, LateKnown: true}
	m, _ = m.Update(recoveredMsg{pass: old})
	m, _ = m.Update(lateSeenMsg{no: late.No})
	m, _ = m.Update(recoveredMsg{pass: old}) // read before the acknowledgement landed
	if strings.Contains(m.View(), "PAID AFTER") {
		t.Fatal("an acknowledged late payment came back")
	}
}
