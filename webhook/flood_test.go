package webhook_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"till/checkout"
	"till/store"
	"till/webhook"
)

// floodChild, set to a directory, makes TestFlood the listener's process:
// it serves dir/till.db until its stdin closes, then prints its peak RSS.
const floodChild = "TILL_FLOOD_CHILD"

// Sizes of the flood. The full size (about a minute on two cores, most of
// it writing the ledger, one fsync per write) runs with TILL_FLOOD_FULL=1,
// as .ci/run does; by default it is a fifth of that, and under -race (ten
// times slower, five times the memory) a tenth, with the memory bound not
// held. TILL_FLOOD_ORDERS and TILL_FLOOD_REFUNDS set the sizes outright.
const (
	floodOrders  = 5000
	floodRefunds = 1000
	floodMaxRSS  = 100 << 20
)

func floodSize(name string, def int) int {
	switch {
	case raceEnabled:
		def /= 10
	case os.Getenv("TILL_FLOOD_FULL") == "" || testing.Short():
		def /= 5
	}
	if s := os.Getenv(name); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
	}
	return def
}

type floodOrder struct {
	no, tradeNo string
	method      checkout.Method
	amount      checkout.Money
	refundNo    string         // on the refund orders
	refund      checkout.Money // its amount
}

// TestFlood writes a ledger of awaiting orders and of paid orders with a
// refund requested, starts the listener in a child process (this test
// binary again) on it, and posts to it over loopback, all at once: each
// payment notification twice (signed afresh, as a provider's retry is),
// each refund notification once, both providers mixed and shuffled.
// Every order must end paid with one paid transition in the audit trail,
// every refund succeeded once, the ledger and the trail consistent, and
// the listener's process under 100 MB at its peak (VmHWM of the child,
// so the senders and the signing here do not count).
func TestFlood(t *testing.T) {
	if dir := os.Getenv(floodChild); dir != "" {
		floodListener(t, dir)
		return
	}
	nOrders, nRefunds := floodSize("TILL_FLOOD_ORDERS", floodOrders), floodSize("TILL_FLOOD_REFUNDS", floodRefunds)
	start := time.Now()
	dir := t.TempDir()
	k := newKeys(t)
	if err := k.save(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "till.db")
	orders, refunds := writeFloodLedger(t, path, nOrders, nRefunds, bothMethods)
	built := time.Now()

	// Sign everything first, on every core. A unit is sent back to back:
	// every fourth order's two deliveries are one unit, so that they
	// race each other in the listener; the others' are shuffled apart.
	var units [][]notice
	var mu sync.Mutex
	parallel(len(orders)+len(refunds), func(i int) {
		var ns []notice
		if i < len(orders) {
			o := orders[i]
			for range 2 {
				n := notice{}
				if o.method == checkout.MethodWeChat {
					n = k.wechatPaid(o.no, o.amount, o.tradeNo)
				} else {
					n = k.alipayPaid(o.no, o.amount, o.tradeNo)
				}
				n.key = o.no
				ns = append(ns, n)
			}
		} else {
			o := refunds[i-len(orders)]
			if o.method == checkout.MethodWeChat {
				ns = append(ns, k.wechatRefunded(o.no, o.tradeNo, o.refundNo, o.amount, o.refund))
			} else {
				ns = append(ns, k.alipayRefunded(o.no, o.tradeNo, o.refundNo, o.amount, o.refund))
			}
		}
		mu.Lock()
		if len(ns) == 2 && i%4 == 0 {
			units = append(units, ns)
		} else {
			for _, n := range ns {
				units = append(units, []notice{n})
			}
		}
		mu.Unlock()
	})
	rand.Shuffle(len(units), func(i, j int) { units[i], units[j] = units[j], units[i] })
	var notes []notice
	for _, u := range units {
		notes = append(notes, u...)
	}
	signed := time.Now()

	child := exec.Command(os.Args[0], "-test.run=^TestFlood$", "-test.count=1")
	child.Env = append(os.Environ(), floodChild+"="+dir)
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	lines := bufio.NewScanner(stdout)
	var base string
	for lines.Scan() {
		if u, ok := strings.CutPrefix(lines.Text(), "LISTEN "); ok {
			base = u
			break
		}
	}
	if base == "" {
		t.Fatal("the listener's process did not start")
	}

	// Every notification at once: one goroutine each, on as many
	// connections as the listener takes requests at once. One that finds
	// it full (503) is sent again a little later, as the providers do.
	// The timeout counts the wait for a connection: the last in the queue
	// waits for nearly the whole flood.
	client := &http.Client{Timeout: 3 * time.Minute, Transport: &http.Transport{
		MaxConnsPerHost: webhook.DefaultMaxConcurrent, MaxIdleConnsPerHost: webhook.DefaultMaxConcurrent}}
	var acked, busy, retried atomic.Int64
	var refusedMu sync.Mutex
	var refused []string
	var wg sync.WaitGroup
	spans := make([][2]time.Time, len(notes)) // of the last attempt
	flood := time.Now()
	for i, n := range notes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for attempt := 1; ; attempt++ {
				// From when it has a connection: on the wire, not queued.
				var got atomic.Int64
				r := n.request(base)
				r = r.WithContext(httptrace.WithClientTrace(r.Context(), &httptrace.ClientTrace{
					GotConn: func(httptrace.GotConnInfo) { got.Store(time.Now().UnixNano()) }}))
				status, body, err := post(client, r)
				spans[i] = [2]time.Time{time.Unix(0, got.Load()), time.Now()}
				ok := err == nil && (n.Path == "/notify/wechat" && (status == 200 || status == 204) ||
					n.Path == "/notify/alipay" && status == 200 && body == "success")
				if ok {
					acked.Add(1)
					return
				}
				if status == http.StatusServiceUnavailable {
					busy.Add(1)
				} else {
					retried.Add(1)
				}
				if attempt == 200 || (err == nil && status != 503 && status < 500) {
					refusedMu.Lock()
					refused = append(refused, fmt.Sprintf("%s attempt %d: %d %q %v", n.Path, attempt, status, body, err))
					refusedMu.Unlock()
					return
				}
				time.Sleep(time.Duration(20+rand.IntN(30)) * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	took := time.Since(flood)
	// The orders whose two deliveries were on the wire at once.
	overlapped := 0
	first := map[string]int{}
	for i, n := range notes {
		if n.key == "" {
			continue
		}
		j, ok := first[n.key]
		if !ok {
			first[n.key] = i
			continue
		}
		if spans[i][0].Before(spans[j][1]) && spans[j][0].Before(spans[i][1]) {
			overlapped++
		}
	}
	stdin.Close()
	var hwm int64
	for lines.Scan() {
		if s, ok := strings.CutPrefix(lines.Text(), "VMHWM "); ok {
			hwm, _ = strconv.ParseInt(s, 10, 64)
		}
	}
	if err := child.Wait(); err != nil {
		t.Fatalf("the listener's process: %v", err)
	}
	t.Logf("%d orders, %d refunds: ledger written in %s, %d notifications signed in %s; flood %s (%.0f notifications/s), %d acknowledged, %d answered 503 and sent again, %d other failed answers; %d orders had both deliveries on the wire at once; the listener's process peaked at %.1f MB RSS (VmHWM); %s in all",
		len(orders), len(refunds), built.Sub(start).Round(time.Millisecond), len(notes), signed.Sub(built).Round(time.Millisecond),
		took.Round(time.Millisecond), float64(len(notes))/took.Seconds(), acked.Load(), busy.Load(), retried.Load(), overlapped,
		float64(hwm)/1024, time.Since(start).Round(time.Millisecond))
	for i, r := range refused {
		if i == 10 {
			break
		}
		t.Errorf("refused: %s", r)
	}
	if got := acked.Load(); got != int64(len(notes)) {
		t.Errorf("%d of %d notifications acknowledged", got, len(notes))
	}
	switch {
	case hwm == 0:
		t.Error("the listener's process did not report its peak RSS")
	case hwm<<10 > floodMaxRSS && !raceEnabled:
		t.Errorf("the listener's process peaked at %.1f MB RSS, above %d MB", float64(hwm)/1024, floodMaxRSS>>20)
	}
	checkFloodLedger(t, path, orders, refunds)
}

// parallel runs fn(0..n-1) on every core.
func parallel(n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

func post(c *http.Client, r *http.Request) (int, string, error) {
	resp, err := c.Do(r)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1024))
	return resp.StatusCode, string(b), err
}

// bothMethods makes every other order WeChat Pay, the others Alipay.
func bothMethods(i int) checkout.Method {
	if i%2 == 0 {
		return checkout.MethodWeChat
	}
	return checkout.MethodAlipay
}

// writeFloodLedger writes nOrders orders awaiting payment and nRefunds
// paid orders each with a refund requested (sent), each of the method
// method(i) gives, through the store's API as the engine writes them.
func writeFloodLedger(t testing.TB, path string, nOrders, nRefunds int, method func(i int) checkout.Method) (orders, refunds []floodOrder) {
	t.Helper()
	ledger, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	ctx := checkout.WithActor(context.Background(), checkout.Actor{Operator: "flood", Via: "test"})
	for i := range nOrders {
		orders = append(orders, floodOrder{no: fmt.Sprintf("20261201FLOOD%06d", i), tradeNo: "42" + randDigits(26),
			method: method(i), amount: checkout.Money(100 + i%9900)})
	}
	for i := range nRefunds {
		amount := checkout.Money(200 + i%9800)
		refunds = append(refunds, floodOrder{no: fmt.Sprintf("20261201REFND%06d", i), tradeNo: "42" + randDigits(26),
			method: method(i), amount: amount, refundNo: fmt.Sprintf("R20261201REFND%06d", i), refund: amount / 2})
	}
	var failMu sync.Mutex
	var failed error
	parallel(nOrders+nRefunds, func(i int) {
		var err error
		defer func() {
			if err != nil {
				failMu.Lock()
				failed = err
				failMu.Unlock()
			}
		}()
		o := floodOrder{}
		if i < nOrders {
			o = orders[i]
		} else {
			o = refunds[i-nOrders]
		}
		now := time.Now()
		if err = ledger.CreateOrder(ctx, checkout.Order{No: o.no, Terminal: "T1", Method: o.method, Amount: o.amount,
			State: checkout.StateCreated, Operator: "flood", ExpiresAt: now.Add(time.Hour)}); err != nil {
			return
		}
		if _, err = ledger.Advance(ctx, o.no, checkout.StateAwaiting, func(s *checkout.Order) {
			s.CodeURL, s.AcceptedAt = "weixin://wxpay/bizpayurl?pr="+o.no, now
		}); err != nil || o.refundNo == "" {
			return
		}
		if _, err = ledger.Advance(ctx, o.no, checkout.StatePaid, func(s *checkout.Order) {
			s.ProviderTradeNo, s.PaidAt, s.ProviderSaid = o.tradeNo, now, "SUCCESS"
		}); err != nil {
			return
		}
		_, err = ledger.CreateRefund(ctx, checkout.Refund{No: o.refundNo, OrderNo: o.no, Method: o.method, Amount: o.refund,
			State: checkout.RefundRequested, Terminal: "T1", Operator: "flood", Sent: true, Attempts: 1})
	})
	if failed != nil {
		t.Fatal(failed)
	}
	return orders, refunds
}

// checkFloodLedger reopens the ledger after the flood and checks every
// order, every refund, the trail, and bbolt's own consistency.
func checkFloodLedger(t *testing.T, path string, orders, refunds []floodOrder) {
	t.Helper()
	ledger, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	ctx := context.Background()
	bad := 0
	fail := func(format string, args ...any) {
		if bad++; bad <= 10 {
			t.Errorf(format, args...)
		}
	}
	count := func(no string, kind checkout.AuditKind, to string) int {
		es, err := ledger.AuditOf(ctx, no)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range es {
			if e.Kind == checkout.AuditNotifyMismatch {
				fail("order %s: a refused notification in the trail: %s", no, e.Detail)
			}
			if e.Kind == kind && e.To == to {
				n++
			}
		}
		return n
	}
	for _, o := range orders {
		got, err := ledger.Order(ctx, o.no)
		if err != nil || got.State != checkout.StatePaid || got.ProviderTradeNo != o.tradeNo || got.Late {
			fail("order %s: %s %q late=%v %v", o.no, got.State, got.ProviderTradeNo, got.Late, err)
		}
		if n := count(o.no, checkout.AuditSaleState, string(checkout.StatePaid)); n != 1 {
			fail("order %s: %d paid transitions in the trail", o.no, n)
		}
	}
	for _, o := range refunds {
		r, err := ledger.Refund(ctx, o.refundNo)
		if err != nil || r.State != checkout.RefundSucceeded {
			fail("refund %s: %s %v", o.refundNo, r.State, err)
		}
		got, err := ledger.Order(ctx, o.no)
		if err != nil || got.State != checkout.StatePartiallyRefunded || got.Refunded != o.refund {
			fail("order %s after its refund: %s, %s refunded, %v", o.no, got.State, got.Refunded.Yuan(), err)
		}
		if n := count(o.no, checkout.AuditRefundState, string(checkout.RefundSucceeded)); n != 1 {
			fail("refund %s: %d succeeded transitions in the trail", o.refundNo, n)
		}
		if n := count(o.no, checkout.AuditSaleState, string(checkout.StatePartiallyRefunded)); n != 1 {
			fail("order %s: %d moves to partially refunded in the trail", o.no, n)
		}
	}
	if open, err := ledger.OpenOrders(ctx); err != nil || len(open) != 0 {
		fail("%d orders still open (%v)", len(open), err)
	}
	if open, err := ledger.OpenRefunds(ctx); err != nil || len(open) != 0 {
		fail("%d refunds still open (%v)", len(open), err)
	}
	if err := ledger.Check(); err != nil {
		t.Errorf("bbolt check: %v", err)
	}
	if c, err := ledger.VerifyAudit(ctx); err != nil || !c.OK() {
		t.Errorf("audit trail: %+v %v", c, err)
	} else {
		t.Logf("audit trail verified: %d entries", c.Entries)
	}
}

// floodListener is the child's side: the real providers on the parent's
// keys, the real engine on the ledger, the listener on a free port.
func floodListener(t *testing.T, dir string) {
	k, err := loadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	wx, ali, err := k.providers()
	if err != nil {
		t.Fatal(err)
	}
	ledger, err := store.Open(filepath.Join(dir, "till.db"))
	if err != nil {
		t.Fatal(err)
	}
	eng := checkout.NewEngine(ledger, []checkout.Provider{wx, ali}, checkout.Config{Terminal: "T1", PollInterval: time.Hour}, nil, nil)
	l, err := webhook.Listen("127.0.0.1:0", webhook.New(webhook.Config{Engine: eng, WeChat: wx, Alipay: ali}), nil)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("LISTEN %s\n", l.URL)
	io.Copy(io.Discard, os.Stdin)
	if err := l.Close(context.Background()); err != nil {
		t.Error(err)
	}
	if err := ledger.Close(); err != nil {
		t.Error(err)
	}
	fmt.Printf("VMHWM %d\n", vmHWM(t))
}

// vmHWM is this process's peak resident set, in kB, from /proc.
func vmHWM(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if s, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}
