package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"till/catalog"
	"till/checkout"
	"till/providers/fake"
)

// The history screen, driven directly: keys go to Update, and each Cmd it
// returns is run here and its message fed back, as the program would, so
// nothing waits on a timer.

// historyScreen is a history screen on r's engine, in lang, with a body of
// w x h.
func historyScreen(r *rig, lang catalog.Lang, w, h int) historyModel {
	d := r.model.deps
	d.p = catalog.New(lang)
	m := newHistory(d)
	m.width, m.height = w, h
	return m
}

// drive runs cmd and everything that follows from it, feeding each
// message to m.
func drive(m historyModel, cmd tea.Cmd) historyModel {
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		switch msg := c().(type) {
		case nil:
		case tea.BatchMsg:
			queue = append(queue, msg...)
		default:
			var next tea.Cmd
			m, next = m.Update(msg)
			queue = append(queue, next)
		}
	}
	return m
}

var keyTypes = map[string]tea.KeyType{
	"up": tea.KeyUp, "down": tea.KeyDown, "left": tea.KeyLeft, "right": tea.KeyRight,
	"pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown, "home": tea.KeyHome, "end": tea.KeyEnd,
	"enter": tea.KeyEnter, "esc": tea.KeyEsc, "backspace": tea.KeyBackspace,
}

func keyMsg(k string) tea.KeyMsg {
	if t, ok := keyTypes[k]; ok {
		return tea.KeyMsg{Type: t}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// press sends each key (a name from keyTypes, or one rune) and runs what
// it starts.
func press(m historyModel, keys ...string) historyModel {
	for _, k := range keys {
		var cmd tea.Cmd
		m, cmd = m.Update(keyMsg(k))
		m = drive(m, cmd)
	}
	return m
}

// typeText types s into the screen one rune at a time, as the root hands
// typed runes over.
func typeText(m historyModel, s string) historyModel {
	for _, r := range s {
		m = press(m, string(r))
	}
	return m
}

// openHistory opens m at the rig's now and loads the day.
func openHistory(r *rig, m historyModel) historyModel {
	m, cmd := m.open(r.clock.Now())
	return drive(m, cmd)
}

// put writes an order straight into the ledger: number from its creation
// time and i, paid at paid (zero: not paid).
func put(t testing.TB, r *rig, i int, created time.Time, st checkout.State, amount checkout.Money, note string, set func(*checkout.Order)) checkout.Order {
	t.Helper()
	o := checkout.Order{
		No: fmt.Sprintf("%s000T1TEST%02d", created.UTC().Format("20060102150405"), i%100), Terminal: "T1",
		Method: checkout.MethodWeChat, Amount: amount, State: st, Note: note, Operator: "alice",
		CreatedAt: created, ExpiresAt: created.Add(3 * time.Minute),
	}
	if i%2 == 1 {
		o.Method = checkout.MethodAlipay
	}
	if st.WasPaid() {
		o.PaidAt = created.Add(40 * time.Second)
	}
	if set != nil {
		set(&o)
	}
	if err := r.ledger.CreateOrder(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return o
}

// sale rings a sale up on the engine and has the customer pay it.
func sale(t *testing.T, r *rig, amount checkout.Money, note string) checkout.Order {
	t.Helper()
	ctx := context.Background()
	o, err := r.engine.Start(ctx, checkout.MethodWeChat, amount, note)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.wx.Pay(o.No); err != nil {
		t.Fatal(err)
	}
	o, err = r.engine.Poll(ctx, o.No)
	if err != nil || o.State != checkout.StatePaid {
		t.Fatalf("poll: %v, %s", err, o.State)
	}
	return o
}

// rowsOf is the list's order lines, as shown.
func rowsOf(view string) []string {
	var out []string
	for _, l := range strings.Split(view, "\n") {
		if len(l) > 2 && (strings.HasPrefix(l, "› ") || strings.HasPrefix(l, "›⚠") || strings.HasPrefix(l, "  ") && len(l) > 7 && l[4] == ':' || strings.HasPrefix(l, " ⚠")) {
			out = append(out, l)
		}
	}
	return out
}

func mustFit(t *testing.T, m historyModel) string {
	t.Helper()
	view := m.View()
	if err := fits(view, m.width, m.height); err != nil {
		t.Fatalf("the view does not fit %dx%d: %v\n%s", m.width, m.height, err, view)
	}
	return view
}

func TestHistoryListsTheDay(t *testing.T) {
	r := newRig(t)
	first := sale(t, r, 1230, "table 4")
	r.clock.Advance(5 * time.Minute)
	ctx := context.Background()
	closed, err := r.engine.Start(ctx, checkout.MethodWeChat, 500, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.engine.Finish(ctx, closed.No, "cancelled by clerk"); err != nil {
		t.Fatal(err)
	}
	late := put(t, r, 3, t0.Add(10*time.Minute), checkout.StatePartiallyRefunded, 2000, "", func(o *checkout.Order) {
		o.Late, o.Refunded, o.Operator = true, 500, "bob"
		o.PaidAt = o.CreatedAt.Add(9 * time.Minute) // after the close
	})
	disputed := put(t, r, 4, t0.Add(12*time.Minute), checkout.StateDisputed, 3000, "", func(o *checkout.Order) {
		o.ProviderAmount = 1
	})
	r.clock.Advance(20 * time.Minute)

	m := openHistory(r, historyScreen(r, catalog.English, 118, 20))
	view := mustFit(t, m)
	if !strings.Contains(view, "Mon 23 Nov 2026: 4 orders, 2 paid, ¥27.30 net · today") {
		t.Errorf("title: want the day, 4 orders, 2 paid and the net:\n%s", view)
	}
	rows := rowsOf(view)
	if len(rows) != 4 {
		t.Fatalf("want 4 rows, got %d:\n%s", len(rows), view)
	}
	// Newest first, the cursor on the newest.
	for i, o := range []checkout.Order{disputed, late, closed, first} {
		if !strings.Contains(rows[i], o.No[len(o.No)-noTail:]) {
			t.Errorf("row %d is not %s:\n%s", i, o.No, view)
		}
	}
	if !strings.HasPrefix(rows[0], "›") {
		t.Errorf("the cursor is not on the newest order:\n%s", view)
	}
	for _, want := range []struct {
		row   int
		texts []string
	}{
		{3, []string{"14:00", "WeChat ", "¥12.30", "paid", "14:00 ", "counter", "table 4"}},
		{2, []string{"14:05", "¥5.00", "closed"}},
		{1, []string{"⚠", "14:10", "Alipay", "¥20.00", "part refunded, paid late", "14:19", "¥5.00", "bob"}},
		{0, []string{"⚠", "14:12", "DISPUTED ¥0.01 paid"}},
	} {
		for _, s := range want.texts {
			if !strings.Contains(rows[want.row], s) {
				t.Errorf("row %d lacks %q: %q", want.row, s, rows[want.row])
			}
		}
	}
	if strings.Contains(rows[2], "⚠") || strings.Count(rows[2], ":") != 1 {
		t.Errorf("the closed order shows a mark or a paid time: %q", rows[2])
	}
}

func TestHistoryDays(t *testing.T) {
	r := newRig(t)
	today := put(t, r, 1, t0, checkout.StatePaid, 1230, "today's", nil)
	yesterday := put(t, r, 2, t0.Add(-24*time.Hour), checkout.StatePaid, 4560, "yesterday's", nil)
	m := openHistory(r, historyScreen(r, catalog.English, 78, 19))

	shows := func(m historyModel, o checkout.Order) bool { return strings.Contains(m.View(), o.Note) }
	if !shows(m, today) || shows(m, yesterday) {
		t.Fatalf("today's list:\n%s", m.View())
	}
	for _, k := range []string{"left", "["} {
		back := press(m, k)
		view := mustFit(t, back)
		if !shows(back, yesterday) || shows(back, today) || !strings.Contains(view, "Sun 22 Nov 2026: 1 order") || strings.Contains(view, "today") {
			t.Errorf("%s: want yesterday's list alone:\n%s", k, view)
		}
		for _, k := range []string{"right", "]"} {
			if again := press(back, k); !shows(again, today) || shows(again, yesterday) {
				t.Errorf("%s: want today's list again:\n%s", k, again.View())
			}
		}
	}
	// Never after today.
	for _, k := range []string{"right", "]"} {
		next, cmd := m.Update(keyMsg(k))
		if cmd != nil || !next.day.Equal(m.day) {
			t.Errorf("%s on today moved to %s", k, next.day)
		}
	}
	// t comes back from days away, and t on today reads nothing again.
	far := press(m, "left", "left", "left")
	if !strings.Contains(far.View(), "Fri 20 Nov 2026") {
		t.Fatalf("three days back:\n%s", far.View())
	}
	if back := press(far, "t"); !shows(back, today) || !back.day.Equal(m.day) {
		t.Errorf("t: want today:\n%s", back.View())
	}
	if _, cmd := m.Update(keyMsg("t")); cmd != nil {
		t.Error("t on today loads it again")
	}
	// The desk kept open past midnight: the next day is allowed once it
	// has come.
	r.clock.Advance(12 * time.Hour)
	if next := press(m, "right"); !strings.Contains(next.View(), "Tue 24 Nov 2026: 0 orders, 0 paid, ¥0.00 net · today") {
		t.Errorf("after midnight, → shows the new day:\n%s", next.View())
	}
}

func TestHistoryLoadingAndLateAnswers(t *testing.T) {
	r := newRig(t)
	put(t, r, 1, t0, checkout.StatePaid, 1230, "today's", nil)
	put(t, r, 2, t0.Add(-24*time.Hour), checkout.StatePaid, 4560, "yesterday's", nil)
	m := historyScreen(r, catalog.English, 78, 19)
	m, todayCmd := m.open(r.clock.Now())
	if view := m.View(); !strings.Contains(view, "Loading the orders of Mon 23 Nov 2026…") {
		t.Fatalf("no loading line:\n%s", view)
	}
	m, yesterdayCmd := m.Update(keyMsg("left"))
	// Today's answer comes after the manager went back a day: dropped.
	m, _ = m.Update(todayCmd())
	if view := m.View(); strings.Contains(view, "today's") || !strings.Contains(view, "Loading the orders of Sun 22 Nov 2026") {
		t.Fatalf("a late answer for today was shown on yesterday:\n%s", view)
	}
	m, _ = m.Update(yesterdayCmd())
	if view := m.View(); !strings.Contains(view, "yesterday's") || strings.Contains(view, "today's") {
		t.Fatalf("yesterday's answer:\n%s", view)
	}
}

func TestHistoryLedgerFailureInWords(t *testing.T) {
	r := newRig(t)
	r.faulty.Fail(func(op fake.Op) error {
		if op.Name == "list" {
			return fake.ErrDisk
		}
		return nil
	})
	for _, lang := range catalog.Langs {
		m := openHistory(r, historyScreen(r, lang, 58, 15))
		view := mustFit(t, m)
		words := describe(m.deps.p, &checkout.LedgerError{Op: "reading", Err: fake.ErrDisk}, "")
		flat := strings.Join(strings.Fields(view), " ")
		if !strings.Contains(flat, strings.Join(strings.Fields(words), " ")) || !strings.Contains(flat, fake.ErrDisk.Error()) {
			t.Errorf("%s: the failure is not in the clerk's words %q:\n%s", lang, words, view)
		}
		if strings.Contains(view, "reading the orders of") {
			t.Errorf("%s: the engine's English shows:\n%s", lang, view)
		}
	}
	r.faulty.Fail(nil)
	m := openHistory(r, historyScreen(r, catalog.English, 58, 15))
	if view := m.View(); !strings.Contains(view, "No orders on this day.") {
		t.Errorf("healed:\n%s", view)
	}
}

func TestHistorySearch(t *testing.T) {
	r := newRig(t)
	a := put(t, r, 1, t0.Add(-3*time.Hour), checkout.StatePaid, 1230, "Table 4", nil)
	b := put(t, r, 2, t0.Add(-2*time.Hour), checkout.StatePaid, 4560, "takeaway", nil)
	c := put(t, r, 3, t0.Add(-1*time.Hour), checkout.StateClosed, 1230, "", nil)
	m := openHistory(r, historyScreen(r, catalog.English, 118, 19))
	m = press(m, "/")
	if !m.typing() || !strings.Contains(m.View(), "Find:") {
		t.Fatalf("/ does not open the search:\n%s", m.View())
	}
	found := func(m historyModel) []string {
		var nos []string
		for _, i := range m.shown {
			nos = append(nos, m.orders[i].No)
		}
		return nos
	}
	for _, tc := range []struct {
		query string
		want  []checkout.Order
	}{
		{"TEST02", []checkout.Order{b}},  // the number's last characters
		{"test03", []checkout.Order{c}},  // in any case
		{"12.3", []checkout.Order{c, a}}, // the amount: 12.3 is ¥12.30
		{"¥45.60", []checkout.Order{b}},  // as the receipt writes it
		{"table", []checkout.Order{a}},   // a piece of the note, in any case
		{"away", []checkout.Order{b}},    //
		{"nothing like it", nil},         //
	} {
		s := typeText(m, tc.query)
		got := found(s)
		var want []string
		for _, o := range tc.want {
			want = append(want, o.No)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%q found %v, want %v", tc.query, got, want)
		}
		view := mustFit(t, s)
		if len(rowsOf(view)) != len(tc.want) {
			t.Errorf("%q: %d rows shown, want %d:\n%s", tc.query, len(rowsOf(view)), len(tc.want), view)
		}
		if len(tc.want) == 0 && !strings.Contains(view, "Nothing on this day matches") {
			t.Errorf("%q: no word for no match:\n%s", tc.query, view)
		}
	}
	// A pasted number goes in whole.
	if p, _ := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(" TEST01 "), Paste: true}); len(p.shown) != 1 || p.orders[p.shown[0]].No != a.No {
		t.Errorf("a pasted number found %d orders", len(p.shown))
	}
	// Letters go to the search, not to the list's keys.
	s := typeText(m, "jkgGt[")
	if s.search.Value() != "jkgGt[" || !s.day.Equal(m.day) {
		t.Errorf("typing moved the list: query %q, day %s", s.search.Value(), s.day)
	}
	// Enter opens the match under the cursor; ↓ moves among the matches.
	s = typeText(m, "12.3")
	s = press(s, "down", "enter")
	if !s.inDetail || s.detail.no != a.No {
		t.Fatalf("enter after ↓ opened %q, want %s", s.detail.no, a.No)
	}
	// Esc: back to the search as it was, then it empties it, then closes
	// it; only then does Esc leave the screen.
	s = press(s, "esc")
	if s.inDetail || !s.typing() || s.search.Value() != "12.3" || s.selectedNo() != a.No {
		t.Fatalf("esc from the detail: detail %v, search %q, on %s", s.inDetail, s.search.Value(), s.selectedNo())
	}
	s = press(s, "esc")
	if !s.typing() || s.search.Value() != "" || len(s.shown) != 3 || s.leave {
		t.Fatalf("first esc: search open %v, query %q, %d shown, leave %v", s.typing(), s.search.Value(), len(s.shown), s.leave)
	}
	if s.selectedNo() != a.No {
		t.Errorf("clearing the search lost the order under the cursor: on %s", s.selectedNo())
	}
	s = press(s, "esc")
	if s.typing() || s.leave {
		t.Fatalf("second esc: search open %v, leave %v", s.typing(), s.leave)
	}
	s = press(s, "esc")
	if !s.leave {
		t.Fatal("esc on the list with no search open does not ask to leave")
	}
}

func TestHistoryFindsAWholeNumberOnAnotherDay(t *testing.T) {
	r := newRig(t)
	put(t, r, 1, t0, checkout.StatePaid, 1230, "today's", nil)
	old := put(t, r, 2, t0.Add(-72*time.Hour), checkout.StatePaid, 4560, "from friday", nil)
	m := openHistory(r, historyScreen(r, catalog.English, 78, 19))
	m = press(m, "/")
	m = typeText(m, strings.ToLower(old.No))
	if view := m.View(); !strings.Contains(view, "Nothing on this day matches") || !strings.Contains(view, "enter looks for this order number on every day") {
		t.Fatalf("a whole number not on the day:\n%s", view)
	}
	m, cmd := m.Update(keyMsg("enter"))
	if cmd == nil || !strings.Contains(m.View(), "Looking for order "+strings.ToLower(old.No)) {
		t.Fatalf("enter does not look the number up:\n%s", m.View())
	}
	m = drive(m, cmd)
	if !m.inDetail || m.detail.no != old.No || !m.detail.loaded {
		t.Fatalf("the order from another day is not open: detail %v %q", m.inDetail, m.detail.no)
	}
	view := mustFit(t, m)
	for _, s := range []string{"Order " + old.No, "¥45.60", "from friday", "Fri 20 Nov 2026 14:00:00"} {
		if !strings.Contains(view, s) {
			t.Errorf("detail lacks %q:\n%s", s, view)
		}
	}
	// Back: its own day, the order under the cursor.
	m = press(m, "esc")
	if !strings.Contains(m.View(), "Fri 20 Nov 2026") || m.selectedNo() != old.No {
		t.Errorf("esc from the found order:\n%s", m.View())
	}
	// A number that is nowhere is said so.
	m = press(m, "esc", "esc", "/")
	m = typeText(m, "20261123060000000T1NOPE00")
	m = press(m, "enter")
	if m.inDetail || !strings.Contains(m.View(), "There is no order 20261123060000000T1NOPE00 in the ledger.") {
		t.Errorf("an unknown number:\n%s", m.View())
	}
}

func TestHistoryDetailShowsRefundsAndTimeline(t *testing.T) {
	r := newRig(t)
	o := sale(t, r, 1230, "table 4")
	ctx := context.Background()
	r.clock.Advance(5 * time.Minute)
	ref, _, err := r.engine.Refund(ctx, o.No, 200, "wrong item")
	if err != nil || ref.State != checkout.RefundSucceeded {
		t.Fatalf("refund: %v %s", err, ref.State)
	}
	r.wx.OnRefund = func(context.Context, checkout.RefundRequest) error {
		return &checkout.ProviderError{Op: "refund", Kind: checkout.KindInsufficient, Code: "NOT_ENOUGH", Message: "balance"}
	}
	failed, _, _ := r.engine.Refund(ctx, o.No, 300, "second try")
	if failed.State != checkout.RefundFailed {
		t.Fatalf("second refund %s", failed.State)
	}
	m := openHistory(r, historyScreen(r, catalog.English, 118, 60))
	m = press(m, "enter")
	if !m.inDetail || !m.detail.loaded {
		t.Fatal("enter does not open the detail")
	}
	view := mustFit(t, m)
	for _, s := range []string{
		"Order " + o.No, "WeChat Pay · ¥12.30 · part refunded",
		"Created", "Mon 23 Nov 2026 14:00:00", "Paid", "T1, rung up by counter", "table 4",
		"trade " + o.ProviderTradeNo, "last said ",
		"¥2.00 so far, ¥10.30 left to refund",
		"2 refunds", ref.No, "succeeded", "wrong item", "by counter at T1", "provider no. " + ref.ProviderRefundNo,
		failed.No, "failed", "second try", "failed: ",
		"History", "created ¥12.30 · WeChat Pay", "created → paid", // the code rides in the paid commit
		"refund requested ¥2.00 · wrong item", "refund succeeded ¥2.00", "refund requested ¥3.00", "refund failed ¥3.00",
		"paid → partly refunded", "T1 · counter · desk",
	} {
		if !strings.Contains(view, s) {
			t.Errorf("the detail lacks %q:\n%s", s, view)
		}
	}
	// The timeline runs oldest first.
	if i, j := strings.Index(view, "created → paid"), strings.Index(view, "refund succeeded"); i < 0 || j < i {
		t.Errorf("the timeline is out of order:\n%s", view)
	}
	// Shorter: it scrolls, and shows where.
	m.height = 12
	view = mustFit(t, m)
	if !strings.Contains(view, "1–11 of ") {
		t.Fatalf("no position in a long detail:\n%s", view)
	}
	down := press(m, "down", "down")
	if v := mustFit(t, down); !strings.Contains(v, "3–13 of ") || strings.Contains(v, "Order "+o.No) {
		t.Errorf("↓↓ does not scroll:\n%s", v)
	}
	end := press(m, "end")
	if v := mustFit(t, end); !strings.Contains(v, "refund failed ¥3.00") {
		t.Errorf("end does not reach the timeline's end:\n%s", v)
	}
	if up := press(end, "home"); up.detail.top != 0 {
		t.Errorf("home: top %d", up.detail.top)
	}
	// Esc: the list, the cursor where it was.
	m = press(press(m, "esc"), "esc")
	if !m.leave {
		t.Error("esc, esc from the detail does not leave")
	}
}

func TestHistoryRefundIntent(t *testing.T) {
	r := newRig(t)
	paid := sale(t, r, 1230, "")
	r.clock.Advance(time.Minute)
	ctx := context.Background()
	closed, _ := r.engine.Start(ctx, checkout.MethodWeChat, 500, "")
	if _, err := r.engine.Finish(ctx, closed.No, "cancelled by clerk"); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(time.Minute)
	full := sale(t, r, 800, "")
	if _, _, err := r.engine.Refund(ctx, full.No, 800, ""); err != nil {
		t.Fatal(err)
	}
	m := openHistory(r, historyScreen(r, catalog.English, 78, 19))
	// The list: newest first, so full, closed, paid.
	helps := func(m historyModel) string {
		var s []string
		for _, b := range m.shortHelp() {
			s = append(s, b.Help().Key+" "+b.Help().Desc)
		}
		return strings.Join(s, ", ")
	}
	for i, tc := range []struct {
		o          checkout.Order
		refundable bool
	}{{full, false}, {closed, false}, {paid, true}} {
		d := m
		for range i {
			d = press(d, "down")
		}
		d = press(d, "enter")
		if d.detail.no != tc.o.No {
			t.Fatalf("row %d opened %s, want %s", i, d.detail.no, tc.o.No)
		}
		if got := strings.Contains(helps(d), "r refund"); got != tc.refundable {
			t.Errorf("%s: r refund in the help is %v, want %v (%s)", tc.o.State, got, tc.refundable, helps(d))
		}
		d = press(d, "r")
		if (d.refund != nil) != tc.refundable {
			t.Fatalf("%s: r set the refund intent %v, want %v", tc.o.No, d.refund != nil, tc.refundable)
		}
		if d.refund != nil {
			if d.refund.Order.No != paid.No || checkout.RefundLeft(d.refund.Order, d.refund.Refunds) != 1230 {
				t.Errorf("the refund intent is for %s with %s left", d.refund.Order.No, checkout.RefundLeft(d.refund.Order, d.refund.Refunds))
			}
			if !d.inDetail || d.leave {
				t.Error("r left the detail")
			}
		}
	}
	// r while the detail is still loading asks nothing.
	loading, _ := press(m, "down", "down").Update(keyMsg("enter"))
	if loading = press(loading, "r"); loading.refund != nil {
		t.Error("r before the refunds were read set the intent")
	}
	// r on the list is nothing.
	if l := press(m, "down", "down", "r"); l.refund != nil {
		t.Error("r on the list set the intent")
	}
}

func TestHistoryReloadKeepsTheOrder(t *testing.T) {
	r := newRig(t)
	paid := sale(t, r, 1230, "")
	r.clock.Advance(time.Minute)
	sale(t, r, 800, "")
	m := openHistory(r, historyScreen(r, catalog.English, 78, 19))
	m = press(m, "down", "enter")
	if _, _, err := r.engine.Refund(context.Background(), paid.No, 1230, ""); err != nil {
		t.Fatal(err)
	}
	m = drive(m, m.reload())
	if !m.inDetail || m.detail.h.Order.State != checkout.StateRefunded || len(m.detail.h.Refunds) != 1 {
		t.Fatalf("reload did not read the detail again: %s, %d refunds", m.detail.h.Order.State, len(m.detail.h.Refunds))
	}
	if m.canRefund() {
		t.Error("a refunded order still offers r")
	}
	m = press(m, "esc")
	if m.selectedNo() != paid.No || !strings.Contains(m.View(), "refunded") {
		t.Errorf("after the reload the list is not on %s:\n%s", paid.No, m.View())
	}
}

func TestHistoryOpenResets(t *testing.T) {
	r := newRig(t)
	put(t, r, 1, t0, checkout.StatePaid, 1230, "x", nil)
	m := openHistory(r, historyScreen(r, catalog.English, 78, 19))
	m = press(m, "left", "/")
	m = typeText(m, "zz")
	m.leave = true
	m = openHistory(r, m)
	if m.typing() || m.search.Value() != "" || m.leave || m.inDetail || !m.day.Equal(time.Date(2026, 11, 23, 0, 0, 0, 0, m.deps.loc)) || len(m.shown) != 1 {
		t.Errorf("open did not reset: typing %v %q leave %v detail %v day %s shown %d", m.typing(), m.search.Value(), m.leave, m.inDetail, m.day, len(m.shown))
	}
}

// busyDay writes n orders of one day straight into the ledger, a few
// seconds apart from the shop's opening, and returns them oldest first.
func busyDay(t testing.TB, r *rig, n int) []checkout.Order {
	t.Helper()
	out := busyOrders(r.model.deps.loc, n)
	for _, o := range out {
		if err := r.ledger.CreateOrder(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// busyOrders are n orders of one day, oldest first.
func busyOrders(loc *time.Location, n int) []checkout.Order {
	start := time.Date(2026, 11, 23, 8, 0, 0, 0, loc)
	states := []checkout.State{checkout.StatePaid, checkout.StatePaid, checkout.StateClosed, checkout.StatePartiallyRefunded}
	var out []checkout.Order
	for i := range n {
		o := checkout.Order{No: fmt.Sprintf("20261123%06d000T1BUSY%02d", i, i%100), Terminal: "T1",
			Method: []checkout.Method{checkout.MethodWeChat, checkout.MethodAlipay}[i%2], Amount: checkout.Money(100 + i),
			State: states[i%len(states)], CreatedAt: start.Add(time.Duration(i) * 9 * time.Second), Operator: "alice",
			Note: fmt.Sprintf("note %d", i)}
		if o.State.WasPaid() {
			o.PaidAt = o.CreatedAt.Add(30 * time.Second)
		}
		if o.State == checkout.StatePartiallyRefunded {
			o.Refunded = 50
		}
		out = append(out, o)
	}
	return out
}

func TestHistoryBusyDayScrolls(t *testing.T) {
	r := newRig(t)
	day := busyDay(t, r, 2000)
	for _, lang := range catalog.Langs {
		for _, size := range [][2]int{{78, 19}, {58, 15}, {118, 35}} {
			m := openHistory(r, historyScreen(r, lang, size[0], size[1]))
			if len(m.orders) != 2000 {
				t.Fatalf("%d orders read", len(m.orders))
			}
			newest, oldest := day[len(day)-1], day[0]
			// The amounts tell the orders apart (the number's end is cut
			// in a narrow window).
			amount := func(o checkout.Order) string { return " " + m.deps.p.Money(o.Amount) + " " }
			view := mustFit(t, m)
			if !strings.Contains(rowsOf(view)[0], amount(newest)) {
				t.Errorf("the newest is not first:\n%s", view)
			}
			end := press(m, "end")
			view = mustFit(t, end)
			if end.selectedNo() != oldest.No {
				t.Fatalf("end selects %s, want %s", end.selectedNo(), oldest.No)
			}
			rows := rowsOf(view)
			if len(rows) != end.rows() || !strings.Contains(rows[len(rows)-1], amount(oldest)) || !strings.HasPrefix(rows[len(rows)-1], "›") {
				t.Errorf("%s %v: end does not show the last order under the cursor:\n%s", lang, size, view)
			}
			if G := press(m, "G"); G.selectedNo() != oldest.No {
				t.Errorf("G selects %s", G.selectedNo())
			}
			if back := press(end, "home"); back.selectedNo() != newest.No || back.top != 0 {
				t.Errorf("home selects %s", back.selectedNo())
			}
			if g := press(end, "g"); g.selectedNo() != newest.No {
				t.Errorf("g selects %s", g.selectedNo())
			}
			page := press(m, "pgdown")
			if page.cursor != m.rows() || page.top != m.rows() {
				t.Errorf("pgdown: cursor %d top %d, want %d", page.cursor, page.top, m.rows())
			}
			mustFit(t, page)
			if up := press(page, "pgup"); up.cursor != 0 || up.top != 0 {
				t.Errorf("pgup: cursor %d top %d", up.cursor, up.top)
			}
			jk := press(m, "down", "down", "down", "up")
			if jk.cursor != 2 {
				t.Errorf("↓ ↓ ↓ ↑: cursor %d, want 2", jk.cursor)
			}
			if up := press(m, "up", "up"); up.cursor != 0 {
				t.Errorf("up at the top: cursor %d", up.cursor)
			}
			// The cursor keeps to the window: walk past its bottom.
			walk := m
			for range m.rows() + 3 {
				walk = press(walk, "down")
			}
			if rows := rowsOf(mustFit(t, walk)); !strings.HasPrefix(rows[len(rows)-1], "›") {
				t.Errorf("the cursor left the window:\n%s", walk.View())
			}
		}
	}
}

func TestHistoryKeysHelp(t *testing.T) {
	r := newRig(t)
	put(t, r, 1, t0, checkout.StatePaid, 1230, "x", nil)
	m := openHistory(r, historyScreen(r, catalog.English, 78, 19))
	help := func(m historyModel) string {
		var s []string
		for _, b := range m.shortHelp() {
			if b.Enabled() {
				s = append(s, b.Help().Key+" "+b.Help().Desc)
			}
		}
		return strings.Join(s, " · ")
	}
	if got := help(m); got != "↑/↓ move · enter open · / find · ←/→ day · esc back · t today · pgup/pgdn page · g/G first/last" {
		t.Errorf("list help: %s", got)
	}
	s := press(m, "/")
	if got := help(s); !strings.Contains(got, "esc close find") {
		t.Errorf("empty search help: %s", got)
	}
	if got := help(typeText(s, "1")); !strings.Contains(got, "esc clear") {
		t.Errorf("search help: %s", got)
	}
	for _, lang := range catalog.Langs {
		m := historyScreen(r, lang, 78, 19)
		for _, b := range append(m.shortHelp(), m.keys.Refund, m.keys.Scroll) {
			if d := b.Help().Desc; d == "" || strings.HasPrefix(d, "history.") {
				t.Errorf("%s: a key without its words: %q", lang, d)
			}
		}
	}
}

func TestHistoryWholeNumberShape(t *testing.T) {
	for q, want := range map[string]bool{
		"20261123060000000T1K4QZ01": true,
		"20261123060000000t1k4qz01": true,
		"2026112306000000":          false, // too short
		"20261123060000000T1-K4QZ0": false,
		"12.30":                     false,
	} {
		if looksLikeOrderNo(q) != want {
			t.Errorf("looksLikeOrderNo(%q) = %v", q, !want)
		}
	}
}

// benchHistoryFrame is the work of one redraw of the history's list of a
// day of n orders at 80x24 (the body the root leaves it), the cursor
// halfway down: what every key on the list costs.
func benchHistoryFrame(b *testing.B, n int) {
	r := newRig(b)
	m := historyScreen(r, catalog.English, 78, 19)
	m, _ = m.open(t0)
	orders := busyOrders(m.deps.loc, n)
	slices.Reverse(orders) // newest first, as the ledger gives them
	m, _ = m.Update(historyLoadedMsg{day: m.day, orders: orders})
	for range n / 2 {
		m, _ = m.Update(keyMsg("down"))
	}
	if err := fits(m.View(), m.width, m.height); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkHistoryFrame: a busy day, 2,000 orders. Beside
// BenchmarkHistoryFrameFloor it shows whether a frame's cost grows with
// the day (it should not: only the window's rows are drawn).
func BenchmarkHistoryFrame(b *testing.B) { benchHistoryFrame(b, 2000) }

// BenchmarkHistoryFrameFloor: a quiet day, 20 orders, about one window.
func BenchmarkHistoryFrameFloor(b *testing.B) { benchHistoryFrame(b, 20) }
