package faultsuite

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"till/checkout"
	"till/providers/alipay/alipayemu"
	"till/providers/wechat/wechatemu"
	"till/store"
)

// driverOpts is one randomized run.
type driverOpts struct {
	seed int64
	ops  int
	// wrapLedger and wrapProvider inject a bug for the suite to catch:
	// the ledger wrapper sits between the observer and the store, the
	// provider wrapper between the engines and the adapters.
	wrapLedger   func(checkout.Ledger) checkout.Ledger
	wrapProvider func(checkout.Provider) checkout.Provider
}

// driver runs random operations on two desks (engines) sharing one
// ledger and the two adapters, against both emulators, while the
// emulators' fault switches flip.
type driver struct {
	t    testing.TB
	ctx  context.Context
	rng  *rand.Rand
	clk  *suiteClock
	emus *emulators
	led  *observer
	eng  *checkout.Engine // the desk
	eng2 *checkout.Engine // a second desk, for refunds racing the first's

	nos     []string                     // every order written, oldest first
	cache   map[string]checkout.Order    // the ledger's order as last read
	refunds map[string][]checkout.Refund // and its refunds
	began   time.Time

	trace      []string    // one line per operation, for a failure's report
	violations []Violation // broken by an operation itself (a refund above what is left accepted)
	counts     map[string]int
}

func (d *driver) logf(format string, args ...any) {
	d.trace = append(d.trace, fmt.Sprintf("%4d ", len(d.trace))+fmt.Sprintf(format, args...))
}

// runDriver runs opts.ops operations, clears the faults, settles, and
// returns the snapshot and every violation found.
func runDriver(t testing.TB, opts driverOpts) (Snapshot, []Violation, *driver) {
	t.Helper()
	k := testKeys()
	clk := &suiteClock{}
	// WeChat refunds stay PROCESSING until the suite's bank settles them.
	emus := startEmulators(t, k, clk, time.Hour)
	st, err := store.Open(filepath.Join(t.TempDir(), "till.db"), store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var base checkout.Ledger = st
	if opts.wrapLedger != nil {
		base = opts.wrapLedger(st)
	}
	led := newObserver(base)
	ps, err := newProviders(k, emus.wx.URL, emus.ali.Gateway, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	if opts.wrapProvider != nil {
		for i := range ps {
			ps[i] = opts.wrapProvider(ps[i])
		}
	}
	cfg2 := engineConfig()
	cfg2.Terminal = "T2"
	d := &driver{
		t: t, ctx: context.Background(), rng: rand.New(rand.NewSource(opts.seed)), clk: clk, emus: emus, led: led,
		eng:   checkout.NewEngine(led, ps, engineConfig(), clk, nil),
		eng2:  checkout.NewEngine(led, ps, cfg2, clk, nil),
		cache: map[string]checkout.Order{}, refunds: map[string][]checkout.Refund{},
		began: clk.Now(), counts: map[string]int{},
	}
	type op struct {
		name   string
		weight int
		run    func()
	}
	ops := []op{
		{"start", 14, d.opStart},
		{"retry", 2, d.opRetry},
		{"pay", 12, d.opPay},
		{"scan", 3, d.opScan},
		{"poll", 8, d.opPoll},
		{"cancel", 5, d.opCancel},
		{"timeout", 5, d.opTimeout},
		{"late pay", 4, d.opLatePay},
		{"late check", 3, d.opLateCheck},
		{"refund", 12, d.opRefund},
		{"refund race", 2, d.opRefundRace},
		{"poll refund", 5, d.opPollRefund},
		{"bank", 4, d.opBank},
		{"recover", 4, d.opRecover},
		{"release", 2, d.opRelease},
	}
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	for range opts.ops {
		d.flipFaults()
		n := d.rng.Intn(total)
		for _, o := range ops {
			if n -= o.weight; n < 0 {
				d.counts[o.name]++
				o.run()
				break
			}
		}
		d.refresh()
	}
	d.settle()
	snap := d.snapshot()
	vs := append(Check(snap), d.violations...)
	return snap, vs, d
}

// ---- faults ----

var (
	wxPaths    = []string{"", "/native", "/out-trade-no/", "/close", "/refunds"}
	aliMethods = []string{"", "alipay.trade.precreate", "alipay.trade.query", "alipay.trade.close",
		"alipay.trade.refund", "alipay.trade.fastpay.refund.query"}
)

// flipFaults may switch a fault on at one provider, or clear both.
func (d *driver) flipFaults() {
	other := d.pickOrder(func(o checkout.Order) bool { return o.Method == checkout.MethodAlipay })
	if what := flipFaults(d.rng, d.emus, other); what != "" {
		d.logf("%s", what)
	}
}

// flipFaults may switch a random fault on at one of the emulators (for a
// few calls, or every call until cleared), or clear both, and says what it
// did. otherAlipay is an Alipay order an answer may be mixed up with.
func flipFaults(r *rand.Rand, emus *emulators, otherAlipay string) string {
	switch p := r.Float64(); {
	case p < 0.12:
		emus.clearFaults()
		return "faults cleared"
	case p < 0.40:
		times := 1 + r.Intn(3)
		if r.Float64() < 0.1 {
			times = 0 // every matching call until cleared
		}
		if r.Intn(2) == 0 {
			f := wechatemu.Faults{Path: wxPaths[r.Intn(len(wxPaths))], Times: times, Processed: r.Intn(2) == 0}
			switch r.Intn(6) {
			case 0:
				f.Latency = faultLatency
			case 1:
				f.Status = []int{500, 502, 503}[r.Intn(3)]
			case 2:
				f.Status, f.Code = 502, "-" // a proxy's HTML page
			case 3:
				f.DropConnection = true
			case 4:
				f.MalformedBody = true
			case 5:
				f.BadSignature = true
			}
			emus.wx.Emulator.SetFaults(f)
			return fmt.Sprintf("wechat fault %+v", f)
		}
		f := alipayemu.Faults{Method: aliMethods[r.Intn(len(aliMethods))], Times: times, Unprocessed: r.Intn(2) == 0}
		switch r.Intn(8) {
		case 0:
			f.Latency = faultLatency
		case 1:
			f.Status5xx = true
		case 2:
			f.Reset = true
		case 3:
			f.MalformedBody = true
		case 4:
			f.BadSignature = true
		case 5:
			f.SystemError = true
		case 6:
			f.Unavailable = true
		case 7:
			// A well-formed, signed answer about another order.
			f.OtherOrder = otherAlipay
			if f.OtherOrder == "" {
				f.Unavailable = true
			}
		}
		emus.ali.Emulator.SetFaults(f)
		return fmt.Sprintf("alipay fault %+v", f)
	}
	return ""
}

// ---- picking ----

// pickOrder returns a random order (as last read) that keep accepts, ""
// when none does.
func (d *driver) pickOrder(keep func(checkout.Order) bool) string {
	var cands []string
	for _, no := range d.nos {
		if keep(d.cache[no]) {
			cands = append(cands, no)
		}
	}
	if len(cands) == 0 {
		return ""
	}
	return cands[d.rng.Intn(len(cands))]
}

func open(o checkout.Order) bool { return o.State.Open() }

func refundable(o checkout.Order) bool { return o.State.WasPaid() || o.State == checkout.StateDisputed }

func (d *driver) method() checkout.Method {
	if d.rng.Intn(2) == 0 {
		return checkout.MethodWeChat
	}
	return checkout.MethodAlipay
}

func (d *driver) desk() *checkout.Engine {
	if d.rng.Intn(4) == 0 {
		return d.eng2
	}
	return d.eng
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	s := err.Error()
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// ---- operations ----

func (d *driver) track(no string) {
	if _, ok := d.cache[no]; !ok && no != "" {
		d.nos = append(d.nos, no)
		d.cache[no] = checkout.Order{No: no}
	}
	d.read(no)
}

func (d *driver) opStart() {
	m := d.method()
	amount := checkout.Money(1 + d.rng.Int63n(20000))
	if d.rng.Intn(10) == 0 {
		amount = checkout.Money(1 + d.rng.Int63n(99))
	}
	o, err := d.desk().Start(d.ctx, m, amount, "fault suite")
	d.logf("start %s %d -> %s %s: %s", m, amount, o.No, o.State, errText(err))
	d.track(o.No)
}

func (d *driver) opRetry() {
	no := d.pickOrder(func(o checkout.Order) bool { return o.State == checkout.StateCreated })
	if no == "" {
		return
	}
	o, err := d.desk().Retry(d.ctx, no)
	d.logf("retry %s -> %s: %s", no, o.State, errText(err))
	d.read(no)
}

// pay is the customer paying on the payer page (Alipay: scanning first).
func (d *driver) pay(no string) error {
	if d.cache[no].Method == checkout.MethodWeChat {
		return d.emus.wx.Emulator.Pay(no)
	}
	return d.emus.ali.Emulator.Pay(no)
}

func (d *driver) opPay() {
	keep := func(o checkout.Order) bool { return o.State == checkout.StateAwaiting }
	if d.rng.Intn(6) == 0 {
		// A code still on a phone: any order that showed one.
		keep = func(o checkout.Order) bool { return o.CodeURL != "" }
	}
	no := d.pickOrder(keep)
	if no == "" {
		return
	}
	err := d.pay(no)
	d.logf("customer pays %s (%s) -> %s", no, d.cache[no].State, errText(err))
}

func (d *driver) opScan() {
	no := d.pickOrder(func(o checkout.Order) bool {
		return o.State == checkout.StateAwaiting && o.Method == checkout.MethodAlipay
	})
	if no == "" {
		return
	}
	err := d.emus.ali.Emulator.Scan(no)
	d.logf("customer scans %s -> %s", no, errText(err))
}

func (d *driver) opPoll() {
	no := d.pickOrder(open)
	if no == "" {
		return
	}
	o, err := d.desk().Poll(d.ctx, no)
	d.logf("poll %s -> %s: %s", no, o.State, errText(err))
	d.read(no)
}

func (d *driver) opCancel() {
	no := d.pickOrder(open)
	if no == "" {
		return
	}
	o, err := d.desk().Finish(d.ctx, no, "cancelled by clerk")
	d.logf("cancel %s -> %s recheck=%v: %s", no, o.State, !o.RecheckAt.IsZero(), errText(err))
	if o.State == checkout.StateClosed && !o.RecheckAt.IsZero() && d.rng.Intn(5) < 2 {
		// The customer had the code open and pays it anyway.
		d.cache[no] = o
		err := d.pay(no)
		d.logf("customer pays %s right after the close -> %s", no, errText(err))
	}
}

// opTimeout runs the clock past an open sale's timeout; the screen closes
// it, or (the screen gone) the next settling pass does.
func (d *driver) opTimeout() {
	no := d.pickOrder(open)
	if no == "" {
		return
	}
	if exp := d.cache[no].ExpiresAt; d.clk.Now().Before(exp) {
		d.clk.Advance(exp.Sub(d.clk.Now()) + time.Second)
	}
	if d.rng.Intn(2) == 0 {
		o, err := d.desk().Finish(d.ctx, no, "timed out")
		d.logf("timeout %s -> %s recheck=%v: %s", no, o.State, !o.RecheckAt.IsZero(), errText(err))
		return
	}
	d.eng.Release(no)
	d.eng2.Release(no)
	pass := d.eng.Recover(d.ctx)
	d.logf("timeout %s, screen gone; recover: settled %d, errors %d", no, len(pass.Settled), len(pass.Errors))
}

// opLatePay: the customer pays a code after till closed its sale, which
// only an unscanned Alipay precreate allows (until its code expires).
func (d *driver) opLatePay() {
	no := d.pickOrder(func(o checkout.Order) bool {
		return o.State == checkout.StateClosed && !o.RecheckAt.IsZero() && d.clk.Now().Before(checkout.PayableUntil(o))
	})
	if no == "" {
		return
	}
	err := d.pay(no)
	d.logf("customer pays %s after the close -> %s", no, errText(err))
}

func (d *driver) opLateCheck() {
	d.clk.Advance(time.Duration(30+d.rng.Intn(270)) * time.Second)
	pass := d.eng.Recover(d.ctx)
	d.logf("clock +; recover: settled %d, late %d, errors %d, refunds %d", len(pass.Settled), len(pass.Late), len(pass.Errors), len(pass.Refunds))
}

func (d *driver) opRecover() {
	pass := d.eng.Recover(d.ctx)
	d.logf("recover: settled %d, late %d, errors %d, refunds %d", len(pass.Settled), len(pass.Late), len(pass.Errors), len(pass.Refunds))
}

func (d *driver) opRelease() {
	no := d.pickOrder(open)
	if no == "" {
		return
	}
	d.eng.Release(no)
	d.eng2.Release(no)
	d.logf("screen of %s gone", no)
}

func (d *driver) left(no string) checkout.Money {
	return checkout.RefundLeft(d.cache[no], d.refunds[no])
}

func (d *driver) opRefund() {
	no := d.pickOrder(refundable)
	if no == "" {
		return
	}
	defer d.read(no)
	d.read(no) // what is left now, not as last cached
	left := d.left(no)
	if left == 0 || d.rng.Intn(5) == 0 {
		// Above what is left: refused, and nothing written.
		amount := left + 1 + checkout.Money(d.rng.Int63n(500))
		before := len(d.refunds[no])
		r, _, err := d.desk().Refund(d.ctx, no, amount, "above")
		d.read(no)
		var re *checkout.RefundError
		d.logf("refund %s %d (left %d) -> %q: %s", no, amount, left, r.No, errText(err))
		if !errors.As(err, &re) || r.No != "" || len(d.refunds[no]) != before {
			d.violations = append(d.violations, Violation{InvRefundCeil, no,
				fmt.Sprintf("a refund of %d fen with %d left was not refused: refund %q, %v", amount, left, r.No, err)})
		}
		return
	}
	amount := 1 + checkout.Money(d.rng.Int63n(int64(left)))
	if d.rng.Intn(3) == 0 {
		amount = left
	}
	r, _, err := d.desk().Refund(d.ctx, no, amount, "fault suite")
	d.logf("refund %s %d (left %d) -> %s %s: %s", no, amount, left, r.No, r.State, errText(err))
}

// opRefundRace: two desks refund one order at once, each within what is
// left, together above it. The ledger's check in the refund's own
// transaction must keep them from taking the same money.
func (d *driver) opRefundRace() {
	no := d.pickOrder(func(o checkout.Order) bool { return refundable(o) && d.left(o.No) >= 2 })
	if no == "" {
		return
	}
	defer d.read(no)
	d.read(no)
	left := d.left(no)
	if left < 2 {
		return
	}
	a := left/2 + 1 + checkout.Money(d.rng.Int63n(int64(left-left/2)))
	a = min(a, left)
	b := left - a + 1 + checkout.Money(d.rng.Int63n(int64(a)))
	b = min(b, left)
	var wg sync.WaitGroup
	var ra, rb checkout.Refund
	var ea, eb error
	wg.Go(func() { ra, _, ea = d.eng.Refund(d.ctx, no, a, "race a") })
	wg.Go(func() { rb, _, eb = d.eng2.Refund(d.ctx, no, b, "race b") })
	wg.Wait()
	d.logf("refund race %s %d+%d (left %d) -> %s %s: %s | %s %s: %s", no, a, b, left, ra.No, ra.State, errText(ea), rb.No, rb.State, errText(eb))
}

func (d *driver) opPollRefund() {
	var cands []string
	for _, no := range d.nos {
		for _, r := range d.refunds[no] {
			if r.State == checkout.RefundRequested {
				cands = append(cands, r.No)
			}
		}
	}
	if len(cands) == 0 {
		return
	}
	no := cands[d.rng.Intn(len(cands))]
	r, _, err := d.desk().PollRefund(d.ctx, no)
	d.logf("poll refund %s -> %s: %s", no, r.State, errText(err))
	d.read(r.OrderNo)
}

// opBank: WeChat's bank settles a processing refund (or flags it
// abnormal, which is not final).
func (d *driver) opBank() {
	cands := wxProcessing(d.emus)
	if len(cands) == 0 {
		return
	}
	no := cands[d.rng.Intn(len(cands))]
	status := wechatemu.RefundSuccess
	switch p := d.rng.Float64(); {
	case p < 0.2:
		status = wechatemu.RefundClosed
	case p < 0.35:
		status = wechatemu.RefundAbnormal
	}
	err := d.emus.wx.Emulator.SetRefundStatus(no, status)
	d.logf("bank: refund %s %s -> %s", no, status, errText(err))
}

// ---- reading back ----

// read reloads one order and its refunds into the cache.
func (d *driver) read(no string) {
	if no == "" {
		return
	}
	// As the desks see it: a sale whose code a desk showed is awaiting
	// on that desk, though the ledger says created until the sale
	// settles (the code rides in that commit).
	if o, err := d.eng.Order(d.ctx, no); err == nil {
		if o2, err := d.eng2.Order(d.ctx, no); err == nil && o.State == checkout.StateCreated {
			o = o2
		}
		d.cache[no] = o
	}
	if rs, err := d.led.Refunds(d.ctx, no); err == nil {
		d.refunds[no] = rs
	}
}

// refresh reloads every order a settling pass, a poll or a refund may
// have moved: open, due a late check, or with a refund in flight; and
// every paid one when the run is small.
func (d *driver) refresh() {
	for _, no := range d.nos {
		o := d.cache[no]
		live := o.State.Open() || !o.RecheckAt.IsZero() || o.State == "" || len(d.nos) < 400 && refundable(o)
		for _, r := range d.refunds[no] {
			live = live || r.State == checkout.RefundRequested
		}
		if live {
			d.read(no)
		}
	}
}

// settle clears the faults and runs settling passes (the bank settling
// WeChat's processing refunds, the clock moving to each late check) until
// nothing is open, due or requested, at most 40 of them.
func (d *driver) settle() {
	d.emus.clearFaults()
	for _, no := range d.nos {
		d.eng.Release(no)
		d.eng2.Release(no)
	}
	d.clk.Advance(checkout.DefaultTimeout + time.Minute)
	for i := range 40 {
		for _, no := range wxProcessing(d.emus) {
			status := wechatemu.RefundSuccess
			if d.rng.Intn(5) == 0 {
				status = wechatemu.RefundClosed
			}
			_ = d.emus.wx.Emulator.SetRefundStatus(no, status)
		}
		pass := d.eng.Recover(d.ctx)
		nOpen, checks, refunds := unsettled(d.ctx, d.led)
		d.logf("settling pass %d: settled %d, late %d, errors %d; left open %d, checks %d, refunds %d",
			i, len(pass.Settled), len(pass.Late), len(pass.Errors), nOpen, checks, refunds)
		for _, err := range pass.Errors {
			d.logf("    %s", errText(err))
		}
		if nOpen+checks+refunds == 0 && len(wxProcessing(d.emus)) == 0 {
			break
		}
		if at := pass.NextCheck; !at.IsZero() && at.After(d.clk.Now()) {
			d.clk.Advance(at.Sub(d.clk.Now()) + time.Second)
		}
	}
	for _, no := range d.nos {
		d.read(no)
	}
}

func (d *driver) snapshot() Snapshot {
	orders, err := ledgerOrders(d.ctx, d.led, d.began.Add(-time.Hour), d.clk.Now().Add(time.Hour))
	if err != nil {
		d.t.Fatalf("reading the ledger: %v", err)
	}
	os, rs := d.led.seen()
	return Snapshot{Orders: orders, Trades: providerTrades(d.emus), ObservedOrders: os, ObservedRefunds: rs}
}

// ---- the suite ----

// summary counts what a run did, so a test can insist it did enough to
// prove anything.
type summary struct {
	paid, late, refunds map[checkout.Method]int
}

func summarize(s Snapshot) summary {
	sum := summary{paid: map[checkout.Method]int{}, late: map[checkout.Method]int{}, refunds: map[checkout.Method]int{}}
	for _, lo := range s.Orders {
		if lo.Order.State.WasPaid() {
			sum.paid[lo.Order.Method]++
		}
		if lo.Order.Late {
			sum.late[lo.Order.Method]++
		}
		for _, r := range lo.Refunds {
			if r.State == checkout.RefundSucceeded {
				sum.refunds[lo.Order.Method]++
			}
		}
	}
	return sum
}

// report fails t with the violations, the lines of the trace that name
// their subjects, and how to replay the run.
func report(t testing.TB, seed int64, ops int, vs []Violation, d *driver) {
	t.Helper()
	if len(vs) == 0 {
		return
	}
	t.Errorf("%d invariant violations (seed %d, %d ops); replay: go test -race ./faultsuite -run 'TestFaultSuite$' -faults.seed=%d -faults.ops=%d",
		len(vs), seed, ops, seed, ops)
	subjects := map[string]bool{}
	for i, v := range vs {
		if i < 30 {
			t.Errorf("  %s", v)
		}
		subjects[v.Subject] = true
	}
	var lines []string
	for _, l := range d.trace {
		for s := range subjects {
			if strings.Contains(l, s) {
				lines = append(lines, l)
				break
			}
		}
	}
	if len(lines) > 200 {
		lines = lines[len(lines)-200:]
	}
	t.Logf("operations naming them:\n%s", strings.Join(lines, "\n"))
}

// TestFaultSuite is the randomized fault run: hundreds of operations
// (thousands, over several seeds, in long mode) over both real adapters
// and both emulators, faults flipping; then the faults clear, settling
// passes run, and the invariants are checked against the ledger and the
// emulators' records. The seed is printed; -faults.seed replays it.
func TestFaultSuite(t *testing.T) {
	ops := 300
	seeds := []int64{time.Now().UnixNano() % 1_000_000_007}
	if longMode() {
		ops = 2000
		for i := 1; i < 3; i++ {
			seeds = append(seeds, seeds[0]+int64(i)*7919)
		}
	}
	if n := *flagOps; n > 0 {
		ops = n
	} else if n := envInt("TILL_FAULTS_OPS"); n > 0 {
		ops = int(n)
	}
	if s := seedGiven(); s != 0 {
		seeds = []int64{s}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Logf("seed %d, %d operations (replay: -faults.seed=%d -faults.ops=%d)", seed, ops, seed, ops)
			start := time.Now()
			snap, vs, d := runDriver(t, driverOpts{seed: seed, ops: ops})
			sum := summarize(snap)
			t.Logf("%v: %d orders, %d provider trades; paid %v, late %v, refunds %v; ops %v",
				time.Since(start).Round(time.Millisecond), len(snap.Orders), len(snap.Trades), sum.paid, sum.late, sum.refunds, d.counts)
			if os.Getenv("TILL_FAULTS_TRACE") == "1" {
				t.Logf("trace:\n%s", strings.Join(d.trace, "\n"))
			}
			report(t, seed, ops, vs, d)
			// A run that sold nothing proves nothing.
			for _, m := range []checkout.Method{checkout.MethodWeChat, checkout.MethodAlipay} {
				if sum.paid[m] == 0 || sum.refunds[m] == 0 {
					t.Errorf("%s: %d sales paid, %d refunds succeeded: the run exercised too little", m, sum.paid[m], sum.refunds[m])
				}
			}
		})
	}
}
