package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "time/tzdata"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"till/backup"
	"till/catalog"
	"till/checkout"
	"till/providers/fake"
	"till/store"
)

var t0 = time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)

type rig struct {
	model  Model
	ledger *store.Store
	faulty *fake.Ledger // what the engine writes through; fails what a test asks
	wx     *fake.Provider
	ali    *fake.Provider
	clock  *fake.Clock
	engine *checkout.Engine
	// backups, when set, is what the manager's menu says of the
	// automatic backups (managerDesk).
	backups func() backup.Status
}

func newRig(t testing.TB) *rig {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "till.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	loc, _ := time.LoadLocation("Asia/Shanghai")
	r := &rig{ledger: st, faulty: fake.NewLedger(st), wx: fake.New(checkout.MethodWeChat), ali: fake.New(checkout.MethodAlipay), clock: fake.NewClock(t0)}
	r.ali.ScanFirst = true // Alipay: no trade until the customer scans
	r.wx.Clock, r.ali.Clock = r.clock, r.clock
	r.engine = checkout.NewEngine(r.faulty, []checkout.Provider{r.wx, r.ali}, checkout.Config{
		PollInterval: 20 * time.Millisecond, Timeout: 3 * time.Minute, Terminal: "T1", Location: loc,
	}, r.clock, nil)
	r.model = New(Options{Engine: r.engine, Renderer: asciiRenderer(), Sandbox: true, Terminal: "T1"})
	return r
}

// asciiRenderer draws without colour, as the golden files hold it.
func asciiRenderer() *lipgloss.Renderer {
	rend := lipgloss.NewRenderer(io.Discard)
	rend.SetColorProfile(termenv.Ascii)
	return rend
}

func (r *rig) run(t *testing.T) *teatest.TestModel {
	t.Helper()
	tm := teatest.NewTestModel(t, r.model, teatest.WithInitialTermSize(80, 24))
	t.Cleanup(func() { tm.Quit() })
	return tm
}

func waitFor(t *testing.T, tm *teatest.TestModel, what ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		for _, w := range what {
			if !bytes.Contains(b, []byte(w)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
}

// openOrder waits until the ledger holds exactly one open order.
func (r *rig) openOrder(t *testing.T) checkout.Order {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		open, err := r.ledger.OpenOrders(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// The desk's view: the ledger says created until the sale
		// settles; the engine knows the code is on screen.
		if len(open) == 1 {
			if o, err := r.engine.Order(context.Background(), open[0].No); err == nil && o.State == checkout.StateAwaiting {
				return o
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no awaiting order appeared")
	return checkout.Order{}
}

func (r *rig) state(t *testing.T, no string) checkout.State {
	t.Helper()
	o, err := r.ledger.Order(context.Background(), no)
	if err != nil {
		t.Fatal(err)
	}
	return o.State
}

func TestSaleShowsQRThenPaid(t *testing.T) {
	r := newRig(t)
	tm := r.run(t)
	waitFor(t, tm, "SANDBOX", "No sales yet today")
	tm.Type("12.30")
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("w")})
	waitFor(t, tm, "Scan to pay with WeChat Pay", "WAITING FOR PAYMENT", "Closes in")
	o := r.openOrder(t)
	if o.Amount != 1230 || o.Method != checkout.MethodWeChat {
		t.Fatalf("order %+v", o)
	}
	if err := r.wx.Pay(o.No); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tm, "PAID  ¥12.30", o.No)
	if st := r.state(t, o.No); st != checkout.StatePaid {
		t.Fatalf("ledger state %s, want paid", st)
	}
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitFor(t, tm, "Today: 1 paid, ¥12.30 net")
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")})
	tm.WaitFinished(t, teatest.WithFinalTimeout(3*time.Second))
}

func TestTimeoutQueriesAndCloses(t *testing.T) {
	r := newRig(t)
	tm := r.run(t)
	tm.Type("5a")
	waitFor(t, tm, "Scan to pay with Alipay", "3:00")
	o := r.openOrder(t)
	r.clock.Advance(3 * time.Minute)
	tm.Send(clockTickMsg{no: o.No})
	waitFor(t, tm, "CLOSED  ¥5.00", "timed out")
	if st := r.state(t, o.No); st != checkout.StateClosed {
		t.Fatalf("ledger state %s, want closed", st)
	}
	calls := strings.Join(r.ali.Calls(), ",")
	if !strings.Contains(calls, "query "+o.No+",close "+o.No) {
		t.Errorf("want a final query then a close, got %s", calls)
	}
}

func TestEscCancelsWaitingSale(t *testing.T) {
	r := newRig(t)
	tm := r.run(t)
	tm.Type("7.5w")
	waitFor(t, tm, "Scan to pay")
	o := r.openOrder(t)
	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
	waitFor(t, tm, "CLOSED  ¥7.50", "cancelled by the clerk")
	if st := r.state(t, o.No); st != checkout.StateClosed {
		t.Fatalf("ledger state %s, want closed", st)
	}
}

func TestRefusedAmountWritesNothing(t *testing.T) {
	for _, in := range []string{"12.345", "0", "1.2.3", "20000"} {
		t.Run(in, func(t *testing.T) {
			r := newRig(t)
			m, _ := r.model.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
			for _, c := range in + "w" {
				m, _ = m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{c}})
			}
			view := m.View()
			if !strings.Contains(view, "✗") {
				t.Fatalf("no message for %q:\n%s", in, view)
			}
			if m.(Model).Active() != "entry" {
				t.Fatalf("moved to %s", m.(Model).Active())
			}
			all, _ := r.ledger.OrdersCreated(context.Background(), t0.Add(-time.Hour), t0.Add(time.Hour), 0)
			if len(all) != 0 || len(r.wx.Calls()) != 0 {
				t.Fatalf("refused amount wrote %d orders, %d calls", len(all), len(r.wx.Calls()))
			}
		})
	}
}

func TestCreateUnknownOffersRetryWithSameNumber(t *testing.T) {
	r := newRig(t)
	first := true
	r.wx.OnCreate = func(ctx context.Context, req checkout.CreateRequest) error {
		if first {
			first = false
			return fake.ErrTimeout
		}
		return nil
	}
	tm := r.run(t)
	tm.Type("3w")
	waitFor(t, tm, "could not tell whether", "r retry")
	tm.Type("r")
	waitFor(t, tm, "Scan to pay")
	o := r.openOrder(t)
	tr, _ := r.wx.Trade(o.No)
	if tr.Creates != 1 || len(r.wx.Calls()) < 2 || r.wx.Calls()[0] != "create "+o.No {
		t.Fatalf("retry used another number: calls %v", r.wx.Calls())
	}
}

func TestQRDrawnOnScreenDecodes(t *testing.T) {
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("zbarimg is missing; .ci/run installs zbar-tools")
		}
		t.Skip("zbarimg not installed (apt-get install zbar-tools)")
	}
	// Every size a counter may have: the compact layout (60x20), details
	// beside (80x24, 120x40), the double-size code (160x50); in Chinese too.
	for _, size := range []struct {
		w, h int
		lang catalog.Lang
	}{{60, 20, catalog.English}, {80, 24, catalog.English}, {120, 40, catalog.Chinese}, {160, 50, catalog.English}, {60, 20, catalog.Chinese}} {
		r := newRig(t)
		url := "http://127.0.0.1:43121/pay/0123456789abcdef0123"
		rend := lipgloss.NewRenderer(io.Discard)
		rend.SetColorProfile(termenv.Ascii)
		var m tea.Model = New(Options{Engine: r.engine, Renderer: rend, Sandbox: true, Terminal: "T1", Lang: size.lang, SkipRecovery: true})
		m, _ = m.Update(tea.WindowSizeMsg{Width: size.w, Height: size.h})
		root := m.(Model)
		root.active = screenWaiting
		root.waiting, _ = newCreating(root.deps, checkout.MethodWeChat, 1230).begin(checkout.Order{
			No: "20261123060000000T100", Method: checkout.MethodWeChat, Amount: 1230, CodeURL: url,
			State: checkout.StateAwaiting, ExpiresAt: t0.Add(3 * time.Minute)})
		root = root.resize()
		screen := root.View()
		if size.w == 160 && !strings.Contains(screen, "████████") {
			t.Errorf("160x50: the code is not drawn at double size")
		}
		if n := strings.Count(screen, "\n") + 1; n > size.h {
			t.Fatalf("%dx%d: view is %d lines", size.w, size.h, n)
		}
		for i, l := range strings.Split(screen, "\n") {
			if w := lipgloss.Width(l); w > size.w {
				t.Fatalf("%dx%d: line %d is %d wide", size.w, size.h, i, w)
			}
		}
		file := filepath.Join(t.TempDir(), "screen.png")
		f, _ := os.Create(file)
		png.Encode(f, ScreenImage(screen, 4))
		f.Close()
		out, err := exec.Command(zbar, "--quiet", "--raw", file).Output()
		if err != nil {
			t.Fatalf("%dx%d: zbarimg found no code: %v\n%s", size.w, size.h, err, screen)
		}
		if got := strings.TrimSpace(string(out)); got != url {
			t.Fatalf("%dx%d: decoded %q, want %q", size.w, size.h, got, url)
		}
	}
}

// TestScreensFit80x24 renders every screen at the smallest supported size
// and checks that nothing runs past the edge.
func TestScreensFit80x24(t *testing.T) {
	r := newRig(t)
	var m tea.Model = r.model
	m, _ = m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	root := m.(Model)
	o := checkout.Order{No: "20261123060000000T101", Method: checkout.MethodAlipay, Amount: 123456,
		State: checkout.StatePaid, Reason: "cancelled by clerk", Refunded: 123456}
	busy := root
	for i := range 30 {
		busy.entry.recent = append(busy.entry.recent, checkout.Order{No: fmt.Sprint(i), Method: checkout.MethodWeChat,
			Amount: 100, State: checkout.StatePaid, CreatedAt: t0, Note: "a note that is long enough to cut"})
	}
	views := map[string]func() string{
		"entry":           func() string { return root.View() },
		"entry, busy day": func() string { return busy.View() },
	}
	for _, st := range []checkout.State{checkout.StatePaid, checkout.StateClosed, checkout.StateFailed, checkout.StateRefunded, checkout.StateDisputed} {
		o := o
		o.State = st
		o.ProviderAmount = 1
		views["result "+string(st)] = func() string {
			rr := root
			rr.active, rr.result = screenResult, newResult(rr.deps, o)
			return rr.resize().View()
		}
	}
	recheck := o
	recheck.State, recheck.RecheckAt = checkout.StateClosed, t0.Add(5*time.Minute)
	views["result closed, may still be paid"] = func() string {
		rr := root
		rr.active, rr.result = screenResult, newResult(rr.deps, recheck)
		return rr.resize().View()
	}
	for _, k := range []problemKind{problemCreateUnknown, problemCloseFailed} {
		for name, err := range map[string]error{
			"unknown": &checkout.ProviderError{Op: "create", Message: "Alipay is busy"},
			"unsaved": &checkout.SaveError{No: o.No, Method: o.Method, To: checkout.StatePaid, Err: errors.New("write /var/lib/till/till.db: no space left on device")},
		} {
			views[fmt.Sprint("problem ", k, " ", name)] = func() string {
				rr := root
				rr.active, rr.problem = screenProblem, newProblem(rr.deps, k, o, err)
				return rr.resize().View()
			}
		}
	}
	// The QR screen with the late-payment banner and a notice: the code
	// keeps its room.
	late := checkout.Order{No: "20261123060000000T1AAAA01", Method: checkout.MethodAlipay, Amount: 123456, State: checkout.StatePaid, Late: true, PaidAt: t0}
	views["waiting, banner and notice"] = func() string {
		rr := root
		rr.late = []checkout.Order{late, late}
		rr.notice, rr.noticeWarn = "A sale is under way. Press ctrl+c again to quit; till will settle it at the next start.", true
		w := checkout.Order{No: "20261123060100000T1AAAA02", Method: checkout.MethodWeChat, Amount: 100, State: checkout.StateAwaiting,
			CodeURL: "http://127.0.0.1:46217/pay/iyazUEdrTmaQGpQgqlPzpsgL", ExpiresAt: t0.Add(3 * time.Minute)}
		rr.active = screenWaiting
		rr.waiting, _ = newCreating(rr.deps, w.Method, w.Amount).begin(w)
		return rr.resize().View()
	}
	for name, view := range views {
		screen := view()
		if strings.HasPrefix(name, "waiting") && strings.Contains(screen, "too small") {
			t.Errorf("%s: no room for the QR code:\n%s", name, screen)
		}
		if n := strings.Count(screen, "\n") + 1; n > 24 {
			t.Errorf("%s: %d lines", name, n)
		}
		for i, l := range strings.Split(screen, "\n") {
			if w := lipgloss.Width(l); w > 80 {
				t.Errorf("%s: line %d is %d wide: %q", name, i, w, l)
			}
		}
	}
}

// TestCloseFailureIsSettledLater: the close at cancel cannot be
// confirmed; the clerk leaves the sale, and till keeps checking until the
// provider answers, then records it closed.
func TestCloseFailureIsSettledLater(t *testing.T) {
	r := newRig(t)
	var failing atomic.Bool // read by the desk's goroutines
	failing.Store(true)
	r.wx.OnClose = func(context.Context, string) error {
		if failing.Load() {
			return fake.ErrTimeout
		}
		return nil
	}
	tm := r.run(t)
	tm.Type("6w")
	waitFor(t, tm, "Scan to pay")
	o := r.openOrder(t)
	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
	// A few tries (their timers are sent here rather than waited for),
	// then the clerk is asked.
	sendCloseRetries(t, tm, o.No)
	waitFor(t, tm, "is not settled", "nothing was closed", "r retry")
	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
	waitFor(t, tm, "is still open; till keeps checking it")
	if st := r.state(t, o.No); !st.Open() {
		t.Fatalf("state %s, want still open", st)
	}
	failing.Store(false)
	// The next pass, past the backoff of the one the hand-over ran.
	r.clock.Advance(checkout.SettleEvery)
	tm.Send(recoverNowMsg{})
	waitFor(t, tm, "Settled 1 order left open", "¥6.00 closed")
	if st := r.state(t, o.No); st != checkout.StateClosed {
		t.Fatalf("state %s, want closed", st)
	}
}

// TestLateAnswerDoesNotReturnOverTheNextSale: a sale ends PAID, the clerk
// moves on, then that sale's close answer arrives; the entry screen stays.
func TestLateAnswerDoesNotReturnOverTheNextSale(t *testing.T) {
	r := newRig(t)
	var m tea.Model = r.model
	m, _ = m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	o := checkout.Order{No: "20261123060000000T101", Method: checkout.MethodWeChat, Amount: 1230,
		State: checkout.StatePaid, CodeURL: "http://x/pay/1", ExpiresAt: t0.Add(time.Minute)}
	root := m.(Model)
	root.active = screenWaiting
	root.waiting, _ = newCreating(root.deps, o.Method, o.Amount).begin(o)
	m, cmd := root.Update(polledMsg{no: o.No, order: o})
	m, _ = m.Update(cmd()) // saleDoneMsg: the result screen
	if got := m.(Model).Active(); got != "result" {
		t.Fatalf("after paid: %s", got)
	}
	m, cmd = m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	m, _ = m.Update(cmd()) // nextSaleMsg
	m, cmd = m.Update(finishedMsg{no: o.No, order: o})
	if cmd != nil {
		m, _ = m.Update(cmd())
	}
	if got := m.(Model).Active(); got != "entry" {
		t.Fatalf("a late answer moved the desk to %s", got)
	}
}
