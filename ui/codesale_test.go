package ui

import (
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"till/catalog"
	"till/checkout"
	"till/providers/fake"
)

// A 24-digit Alipay payment code: a scanner types its 24 digits and Enter,
// 25 keys. Its digits appear in no order number.
const (
	scanAli = "285555555555555555550042"
	scanWx  = "134444444444444440017" // 21 digits: no wallet's code
	wxScan  = "134444444444444417"    // 18 digits, 13…: WeChat Pay
)

// typeKeys sends s as a scanner or a script would: all of it in one write
// (oneWrite), or one key at a time.
func typeKeys(tm interface{ Send(tea.Msg) }, s string, oneWrite bool) {
	if oneWrite {
		tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)})
		return
	}
	for _, r := range s {
		tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

// pressDesk feeds msgs to m directly, running what each returns that answers
// at once (engine calls), and gives the model: the tests that follow a
// code sale step by step drive the fake clock and send the ticks
// themselves.
func pressDesk(t *testing.T, m tea.Model, msgs ...tea.Msg) Model {
	t.Helper()
	for _, msg := range msgs {
		var cmd tea.Cmd
		m, cmd = m.Update(msg)
		m = drain(t, m, cmd)
	}
	return m.(Model)
}

// drain runs cmd and what it leads to, feeding back the engine's answers;
// timers (ticks) are dropped: the test sends those it wants.
func drain(t *testing.T, m tea.Model, cmd tea.Cmd) tea.Model {
	t.Helper()
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		done := make(chan tea.Msg, 1)
		go func() { done <- c() }()
		var msg tea.Msg
		select {
		case msg = <-done:
		case <-time.After(answerWait(m)):
			continue // a timer or a wait for notices: not an answer
		}
		switch msg := msg.(type) {
		case tea.BatchMsg:
			queue = append(queue, msg...)
		case codeAnswerMsg, recentMsg, saleStartedMsg:
			var next tea.Cmd
			m, next = m.Update(msg)
			queue = append(queue, next)
		}
	}
	return m
}

// answerWait is how long drain gives a command before taking it for a
// timer: 50 ms, or, while the code screen waits for the engine's answer
// (a loaded machine's fsync can take longer than that), two seconds.
func answerWait(m tea.Model) time.Duration {
	if d, ok := m.(Model); ok && d.active == screenCode && d.code.tag != 0 {
		return 2 * time.Second
	}
	return 50 * time.Millisecond
}

func runeKeys(s string) []tea.Msg {
	var out []tea.Msg
	for _, r := range s {
		out = append(out, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return out
}

var (
	enter = tea.KeyMsg{Type: tea.KeyEnter}
	esc   = tea.KeyMsg{Type: tea.KeyEsc}
)

func (r *rig) desk(t *testing.T) Model {
	t.Helper()
	m, _ := r.model.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	return m.(Model)
}

// onlyOrder is the one order the ledger holds.
func (r *rig) onlyOrder(t *testing.T) checkout.Order {
	t.Helper()
	nos := ordersSoFar(t, r)
	if len(nos) != 1 {
		t.Fatalf("%d orders, want 1", len(nos))
	}
	o, err := r.engine.Order(context.Background(), nos[0])
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// A scanner's 25 keys (24 digits, Enter) after "9.90", as one write and
// key by key, on the sale screen and on the result screen of the sale
// before: each is one code sale of 9.90, paid, with only the last four
// digits kept and the code never on screen.
func TestScannedCodeAfterTheAmountPays(t *testing.T) {
	for _, oneWrite := range []bool{true, false} {
		for _, onResult := range []bool{false, true} {
			name := map[bool]string{true: "one write", false: "key by key"}[oneWrite] + map[bool]string{true: ", result screen", false: ", sale screen"}[onResult]
			t.Run(name, func(t *testing.T) {
				r := newRig(t)
				tm := r.run(t)
				waitFor(t, tm, "No sales yet today")
				var before []string
				if onResult {
					typeKeys(tm, "5", false)
					tm.Send(enter)
					typeKeys(tm, wxScan, oneWrite)
					tm.Send(enter)
					waitFor(t, tm, "PAID  ¥5.00", "••••4417")
					before = ordersSoFar(t, r)
				}
				typeKeys(tm, "9.90", false)
				waitFor(t, tm, "¥ 9.90")
				r.clock.Advance(time.Second) // the clerk picks up the scanner
				typeKeys(tm, scanAli, oneWrite)
				tm.Send(enter)
				waitFor(t, tm, "PAID  ¥9.90", "Alipay payment code ••••0042")
				o := r.newestOrder(t, before...)
				if o.Amount != 990 || o.Method != checkout.MethodAlipay || o.Way != checkout.WayCode || o.CodeTail != "0042" || o.State != checkout.StatePaid {
					t.Fatalf("order %+v", o)
				}
				if got := r.ali.AuthCodes; len(got) != 1 || got[0] != scanAli {
					t.Fatalf("Alipay was charged %v", got)
				}
				if n := len(ordersSoFar(t, r)); n != len(before)+1 {
					t.Fatalf("%d orders, want %d", n, len(before)+1)
				}
				tm.Send(enter)
				tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")})
				tm.WaitFinished(t, teatest.WithFinalTimeout(3*time.Second))
				if out, _ := io.ReadAll(tm.FinalOutput(t)); strings.Contains(string(out), "55555555") {
					t.Fatal("the customer's code was drawn on screen")
				}
			})
		}
	}
}

// The same 25 keys with no amount typed, on the sale screen and on a
// result screen: no sale, "type the amount first", and the code neither
// taken as an amount nor shown; the next amount typed works.
func TestScannedCodeWithoutAnAmountIsRefused(t *testing.T) {
	for _, oneWrite := range []bool{true, false} {
		for _, onResult := range []bool{false, true} {
			t.Run(map[bool]string{true: "one write", false: "key by key"}[oneWrite]+map[bool]string{true: ", result", false: ""}[onResult], func(t *testing.T) {
				r := newRig(t)
				m := r.desk(t)
				if onResult {
					m = pressDesk(t, m, append(append(runeKeys("5"), enter), append(runeKeys(wxScan), enter)...)...)
					if m.Active() != "result" {
						t.Fatalf("the first sale ended on %s", m.Active())
					}
				}
				n := len(ordersSoFar(t, r))
				if oneWrite {
					m = pressDesk(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(scanAli)}, enter)
				} else {
					m = pressDesk(t, m, append(runeKeys(scanAli), enter)...)
				}
				view := m.View()
				if m.Active() != "entry" || !strings.Contains(view, "type the amount first") {
					t.Fatalf("on %s:\n%s", m.Active(), view)
				}
				if regexp.MustCompile(`5{8}`).MatchString(view) || m.entry.amount != "" || m.entry.prompt {
					t.Fatalf("the code was kept or shown (amount %q):\n%s", m.entry.amount, view)
				}
				if got := len(ordersSoFar(t, r)); got != n || len(r.ali.AuthCodes) != 0 {
					t.Fatalf("%d orders (had %d), Alipay charged %v", got, n, r.ali.AuthCodes)
				}
				// The clerk types the amount (after a pause), Enter, scans.
				r.clock.Advance(time.Second)
				m = pressDesk(t, m, append(append(runeKeys("12"), enter), append(runeKeys(scanAli), enter)...)...)
				if m.Active() != "result" || m.result.order.Amount != 1200 || m.result.order.State != checkout.StatePaid {
					t.Fatalf("the sale after: %s %+v", m.Active(), m.result.order)
				}
			})
		}
	}
}

// Enter after an amount opens the prompt, which takes a code typed by
// hand; a code that is no wallet's is refused, writes nothing and
// empties the prompt for the next try.
func TestCodePromptRefusesWhatIsNoCode(t *testing.T) {
	r := newRig(t)
	m := pressDesk(t, r.desk(t), append(runeKeys("30"), enter)...)
	if !m.entry.prompt || !strings.Contains(m.View(), "Scan the customer's payment code") {
		t.Fatalf("Enter did not open the prompt:\n%s", m.View())
	}
	for _, bad := range []string{scanWx, "1644444444444444", "28555"} {
		m = pressDesk(t, m, append(runeKeys(bad), enter)...)
		if !strings.Contains(m.View(), "not a WeChat Pay or Alipay payment code") || m.entry.code != "" || !m.entry.prompt {
			t.Fatalf("%s: code %q\n%s", bad, m.entry.code, m.View())
		}
	}
	m = pressDesk(t, m, runeKeys("12x")...)
	if !strings.Contains(m.View(), "digits only") {
		t.Fatalf("a letter in the prompt:\n%s", m.View())
	}
	if n := len(ordersSoFar(t, r)); n != 0 || len(r.wx.Calls())+len(r.ali.Calls()) != 0 {
		t.Fatalf("refused codes wrote %d orders, called %v %v", n, r.wx.Calls(), r.ali.Calls())
	}
	// Backspace, then Esc back to the amount, which is kept.
	m = pressDesk(t, m, tea.KeyMsg{Type: tea.KeyBackspace}, esc)
	if m.entry.prompt || m.entry.amount != "30" {
		t.Fatalf("esc: prompt %v, amount %q", m.entry.prompt, m.entry.amount)
	}
	// A code after the decimals with the wrong length: the amount may
	// have taken the scan's first digits, so it is cleared too.
	m = pressDesk(t, m, runeKeys(".50")...)
	r.clock.Advance(time.Second)
	m = pressDesk(t, m, append(runeKeys(scanWx), enter)...)
	if m.entry.amount != "" || !strings.Contains(m.entry.err, "type the amount again") {
		t.Fatalf("amount %q after a bad code past the decimals:\n%s", m.entry.amount, m.View())
	}
}

// The code screen's states with the fake provider and the fake clock:
// waiting for the customer, then reversed at the deadline, the screen
// saying so; polled every CodePollInterval, not sooner.
func TestCodeSaleWaitsThenIsReversed(t *testing.T) {
	r := newRig(t)
	r.wx.CodeWaits = true
	m := r.sell(t, r.desk(t), "9.90", wxScan)
	if m.Active() != "code" || !strings.Contains(m.View(), "WAITING FOR THE CUSTOMER TO CONFIRM ON THE PHONE") || !strings.Contains(m.View(), "0:30") {
		t.Fatalf("%s:\n%s", m.Active(), m.View())
	}
	o := r.onlyOrder(t)
	for i := 0; i < 5; i++ {
		r.clock.Advance(checkout.CodePollInterval)
		m = pressDesk(t, m, codeTick(m))
		if m.Active() != "code" || r.wx.Count("reverse") != 0 {
			t.Fatalf("at %d s: %s, %d reverses", 5*(i+1), m.Active(), r.wx.Count("reverse"))
		}
	}
	r.clock.Advance(checkout.CodePollInterval)
	m = pressDesk(t, m, codeTick(m))
	view := m.View()
	if m.Active() != "result" || !strings.Contains(view, "REVERSED · NOT PAID") || !strings.Contains(view, "did not confirm in time") || !strings.Contains(view, "Nothing was charged") {
		t.Fatalf("at the deadline, %s:\n%s", m.Active(), view)
	}
	if st := r.state(t, o.No); st != checkout.StateClosed {
		t.Fatalf("ledger %s", st)
	}
}

// A customer who confirms as the reverse goes out: the screen says "paid,
// then returned by WeChat Pay" and the ledger has the sale and its refund.
func TestCodeSalePaidThenReturned(t *testing.T) {
	r := newRig(t)
	r.wx.CodeWaits = true
	r.wx.OnReverse = func(_ context.Context, no string) error { return r.wx.Confirm(no) }
	m := r.sell(t, r.desk(t), "9.90", wxScan)
	o := r.onlyOrder(t)
	r.clock.Advance(checkout.DefaultCodeDeadline)
	m = pressDesk(t, m, codeTick(m))
	view := m.View()
	if !strings.Contains(view, "PAID, THEN RETURNED") || !strings.Contains(view, "Paid, then returned by WeChat Pay") {
		t.Fatalf("%s:\n%s", m.Active(), view)
	}
	if st := r.state(t, o.No); st != checkout.StateRefunded {
		t.Fatalf("ledger %s", st)
	}
}

// A refusal shows the reason in the clerk's words; an unknown answer says
// so and asks again with the same number, never a second charge.
func TestCodeSaleRefusedOrUnknown(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		r := newRig(t)
		r.ali.OnPayCode = func(context.Context, checkout.CodePayRequest) error {
			return &checkout.ProviderError{Op: "pay", Kind: checkout.KindInsufficient, Code: "ACQ.BUYER_BALANCE_NOT_ENOUGH", Message: "the customer's balance is not enough"}
		}
		m := r.sell(t, r.desk(t), "9.90", scanAli)
		view, detail := m.View(), m.result.detail()
		if m.Active() != "result" || !strings.Contains(view, "NOT PAID") || !strings.Contains(detail, "the customer's balance is not enough") || !strings.Contains(detail, "Nothing was charged") {
			t.Fatalf("%s:\n%s", m.Active(), view)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		r := newRig(t)
		r.ali.LosePayCodeAnswer = func(checkout.CodePayRequest) error { return fake.ErrTimeout }
		m := r.sell(t, r.desk(t), "9.90", scanAli)
		if m.Active() != "code" || !strings.Contains(m.View(), "NO CLEAR ANSWER YET") {
			t.Fatalf("%s:\n%s", m.Active(), m.View())
		}
		r.onlyOrder(t)
		r.clock.Advance(checkout.CodePollInterval)
		m = pressDesk(t, m, codeTick(m))
		if m.Active() != "result" || m.result.order.State != checkout.StatePaid {
			t.Fatalf("after the query: %s %+v", m.Active(), m.result.order)
		}
		if n := strings.Count(strings.Join(r.ali.Calls(), ","), "paycode "); n != 1 {
			t.Fatalf("%d charges, want 1", n)
		}
	})
	t.Run("ledger fails", func(t *testing.T) {
		r := newRig(t)
		r.faulty.Fail(func(op fake.Op) error {
			if op.Name == "create" {
				return fake.ErrDisk
			}
			return nil
		})
		m := r.sell(t, r.desk(t), "9.90", scanAli)
		if m.Active() != "entry" || !m.entry.prompt || !strings.Contains(m.View(), "ledger failed") || len(r.ali.AuthCodes) != 0 {
			t.Fatalf("%s, charged %v:\n%s", m.Active(), r.ali.AuthCodes, m.View())
		}
	})
}

// Esc cancels: WeChat Pay's trade is reversed as soon as it takes one (15 s
// after the charge), not at the deadline; a reverse that keeps failing
// can then be left to till, and the sale stays open for recovery.
func TestCodeSaleCancelledByEsc(t *testing.T) {
	r := newRig(t)
	r.wx.CodeWaits = true
	m := r.sell(t, r.desk(t), "9.90", wxScan)
	o := r.onlyOrder(t)
	m = pressDesk(t, m, esc)
	if !strings.Contains(m.View(), "CANCELLING") || r.wx.Count("reverse") != 0 {
		t.Fatalf("after esc, %d reverses:\n%s", r.wx.Count("reverse"), m.View())
	}
	m = pressDesk(t, m, esc) // a second esc while the reverse is not due: nothing
	if m.Active() != "code" {
		t.Fatalf("left on the second esc: %s", m.Active())
	}
	r.wx.OnReverse = func(context.Context, string) error { return fake.ErrTimeout }
	r.clock.Advance(checkout.ReverseNotBefore)
	m = pressDesk(t, m, codeTick(m))
	if m.Active() != "code" || r.wx.Count("reverse") != 1 || !strings.Contains(m.View(), "Esc leaves the sale to till") {
		t.Fatalf("a lost reverse, %d reverses:\n%s", r.wx.Count("reverse"), m.View())
	}
	m = pressDesk(t, m, esc)
	if m.Active() != "entry" || !strings.Contains(m.View(), "still open") {
		t.Fatalf("leaving it: %s\n%s", m.Active(), m.View())
	}
	// Recovery takes it (it is no longer the desk's) and reverses it.
	r.wx.OnReverse = nil
	r.clock.Advance(checkout.DefaultCodeDeadline)
	r.engine.RecoverNow(context.Background())
	if st := r.state(t, o.No); st != checkout.StateClosed {
		t.Fatalf("after recovery: %s", st)
	}
}

// Esc before the charge has answered: the sale is cancelled as soon as
// the order is known (Alipay: at once), and the screen says so.
func TestCodeSaleCancelledWhileCharging(t *testing.T) {
	r := newRig(t)
	r.ali.CodeWaits = true
	m := pressDesk(t, r.desk(t), runeKeys("9.90")...)
	r.clock.Advance(time.Second)
	m = pressDesk(t, m, runeKeys(scanAli)...)
	next, charge := m.Update(enter)
	next, _ = next.Update(esc) // the charge is still under way
	m = drain(t, next, charge).(Model)
	view := m.View()
	if m.Active() != "result" || !strings.Contains(view, "REVERSED · NOT PAID") || !strings.Contains(view, "Cancelled") {
		t.Fatalf("%s:\n%s", m.Active(), view)
	}
	if r.ali.Count("reverse") != 1 {
		t.Fatalf("%d cancels, want 1", r.ali.Count("reverse"))
	}
}

// The sandbox's help screen lists its test codes.
func TestSandboxHelpListsTestCodes(t *testing.T) {
	r := newRig(t)
	r.model = New(Options{Engine: r.engine, Sandbox: true, Terminal: "T1",
		TestCodes: []TestCode{{checkout.MethodWeChat, "never", "134610000000000003"}, {checkout.MethodAlipay, "pays", "286100000000000001"}}})
	m := pressDesk(t, r.desk(t), runeKeys("?")...)
	view := m.View()
	for _, want := range []string{"Sandbox test codes", "134610000000000003", "asks and never confirms", "286100000000000001", "pays at once"} {
		if !strings.Contains(view, want) {
			t.Fatalf("no %q on the help screen:\n%s", want, view)
		}
	}
}

// A code sale's detail in the history says it was paid by the customer's
// code, with its last four digits only; a QR sale's does not.
func TestHistoryDetailSaysPaidByCode(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	o, err := r.engine.ChargeCode(ctx, 990, scanAli, "")
	if err != nil || o.State != checkout.StatePaid {
		t.Fatalf("charge: %+v %v", o, err)
	}
	m := press(openHistory(r, historyScreen(r, catalog.English, 118, 60)), "enter")
	view := mustFit(t, m)
	if !strings.Contains(view, "Paid by") || !strings.Contains(view, "the customer's payment code ••••0042, scanned") || strings.Contains(view, "55555555") {
		t.Fatalf("detail:\n%s", view)
	}
}

// codeTick is the code screen's current poll timer, as it fires.
func codeTick(m tea.Model) tea.Msg {
	c := m.(Model).code
	return codeTickMsg{no: c.order.No, seq: c.tickSeq}
}

// sell types amount as a clerk does, then (a moment later, as the clerk
// picks up the scanner) scans code: its digits and Enter.
func (r *rig) sell(t *testing.T, m Model, amount, code string) Model {
	t.Helper()
	m = pressDesk(t, m, runeKeys(amount)...)
	r.clock.Advance(time.Second)
	return pressDesk(t, m, append(runeKeys(code), enter)...)
}

// A code sale the reverse ended is "reversed" in lists (the recent list,
// a settling pass's notice), not just "closed".
func TestReversedCodeSaleIsSaidReversed(t *testing.T) {
	r := newRig(t)
	p := r.model.deps.p
	o := checkout.Order{State: checkout.StateClosed, Way: checkout.WayCode, Reason: checkout.ReasonCodeReversed}
	if got := stateWord(p, o); got != "reversed" {
		t.Fatalf("a reversed code sale is %q", got)
	}
	o.Way = checkout.WayQR
	o.Reason = "timed out"
	if got := stateWord(p, o); got != "closed" {
		t.Fatalf("a closed QR sale is %q", got)
	}
}

// After an unclear answer, Esc sends the cancel; the screen offers to
// leave the sale to till only once a reverse was tried and not
// confirmed, never while it is on its way.
func TestCodeSaleLeaveOnlyAfterAReverseFailed(t *testing.T) {
	r := newRig(t)
	r.ali.CodeWaits = true // the customer is asked; the answer saying so is lost
	r.ali.LosePayCodeAnswer = func(checkout.CodePayRequest) error { return fake.ErrTimeout }
	m := r.sell(t, r.desk(t), "9.90", scanAli)
	if m.Active() != "code" || m.code.err == nil {
		t.Fatalf("after a lost answer: %s %v", m.Active(), m.code.err)
	}
	r.ali.OnReverse = func(context.Context, string) error { return fake.ErrTimeout }
	next, cancel := m.Update(esc)
	m = next.(Model)
	if m.code.leavable() || strings.Contains(m.View(), "Esc leaves the sale to till") {
		t.Fatalf("leave offered before the cancel was sent:\n%s", m.View())
	}
	m = drain(t, m, cancel).(Model)
	if !m.code.leavable() || r.ali.Count("reverse") != 1 {
		t.Fatalf("after a lost cancel: leavable %v, %d cancels\n%s", m.code.leavable(), r.ali.Count("reverse"), m.View())
	}
}
