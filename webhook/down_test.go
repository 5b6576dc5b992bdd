package webhook_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"till/checkout"
	"till/providers/alipay/alipayemu"
	"till/webhook"
)

// A listener that was down when the customer paid: the emulators' own
// deliveries find nothing on the notify_url (connection refused), the
// listener comes up on that same address, and a later retry on the
// provider's real schedule (compressed) is the one that applies the
// event. The engine never asks the provider: its Query and QueryRefund
// are counted and must stay at zero.

// downRetryUnit compresses the real retry schedules: WeChat's 15 s, 15 s,
// 30 s, 3 m, ... become 75, 75, 150, 900 ms; Alipay's 4, 10, 10, 60
// minutes become 20, 50, 50, 300 ms. Wide enough that the listener is up
// again well before the retries run out, even under -race.
const downRetryUnit = 5 * time.Millisecond

// noPoll counts the engine's questions to a provider.
type noPoll struct {
	checkout.Provider
	queries *atomic.Int32
}

func (p noPoll) Query(ctx context.Context, no string) (checkout.TradeStatus, error) {
	p.queries.Add(1)
	return p.Provider.Query(ctx, no)
}

func (p noPoll) QueryRefund(ctx context.Context, no, refundNo string) (checkout.RefundStatus, error) {
	p.queries.Add(1)
	return p.Provider.QueryRefund(ctx, no, refundNo)
}

// countLog counts the log records whose message is msg.
type countLog struct {
	msg string
	n   *atomic.Int32
}

func (c countLog) Enabled(context.Context, slog.Level) bool { return true }
func (c countLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message == c.msg {
		c.n.Add(1)
	}
	return nil
}
func (c countLog) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c countLog) WithGroup(string) slog.Handler      { return c }

// downEnv is an env whose notify_url points at addr, where nothing
// listens until up is called.
type downEnv struct {
	*env
	addr    string
	queries atomic.Int32
	// aliRefused counts the Alipay emulator's deliveries that found no
	// listener (it keeps no delivery list of its own; it logs each one).
	aliRefused atomic.Int32
}

func newDownEnv(t *testing.T) *downEnv {
	t.Helper()
	// Reserve a free port, then free it: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	d := &downEnv{addr: addr}
	e := sandboxEnv(t, slog.New(countLog{msg: "alipayemu: notification not delivered", n: &d.aliRefused}), downRetryUnit)
	var providers []checkout.Provider
	for _, p := range e.sb.Providers {
		providers = append(providers, noPoll{Provider: p, queries: &d.queries})
	}
	base := "http://" + addr
	e.eng = checkout.NewEngine(e.ledger, providers, checkout.Config{Terminal: "T1", PollInterval: time.Hour,
		NotifyURL: func(m checkout.Method) string { return base + "/notify/" + string(m) }}, nil, nil)
	e.h = webhook.New(webhook.Config{Engine: e.eng, WeChat: e.wx, Alipay: e.ali})
	d.env = e
	t.Cleanup(func() { // before the ledger and the sandbox close
		if d.l != nil {
			d.l.Close(context.Background())
		}
	})
	return d
}

// up starts the listener on the reserved address; down stops it (a
// Listener is closed once).
func (d *downEnv) up(t *testing.T) {
	t.Helper()
	l, err := webhook.Listen(d.addr, d.h, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.l = l
}

func (d *downEnv) down(t *testing.T) {
	t.Helper()
	l := d.l
	d.l = nil
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// waitCount waits until n() reaches want.
func waitCount(t *testing.T, what string, n func() int32, want int32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for n() < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d, want %d", what, n(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

func refused(err string) bool { return strings.Contains(err, "connection refused") }

func TestWeChatRetryAfterTheListenerWasDown(t *testing.T) {
	d := newDownEnv(t)
	ctx := context.Background()
	o, err := d.eng.Start(ctx, checkout.MethodWeChat, 880, "")
	if err != nil {
		t.Fatal(err)
	}
	payOnPage(t, o.CodeURL)
	// The first delivery and the first retry (15 s later in real life)
	// find nothing listening.
	ds := d.waitDeliveries(t, 2)
	for _, x := range ds[:2] {
		if x.Status != 0 || !refused(x.Err) || x.URL != "http://"+d.addr+"/notify/wechat" {
			t.Fatalf("delivery with the listener down: %+v", x)
		}
	}
	if s, err := d.ledger.Order(ctx, o.No); err != nil || !s.State.Open() {
		t.Fatalf("order before the listener is up: %+v %v", s, err)
	}

	d.up(t)
	got := d.waitOrder(t, o.No, checkout.StatePaid)
	if got.ProviderTradeNo == "" {
		t.Errorf("paid: %+v", got)
	}
	// The emulator stops at its first acknowledged attempt, a retry of
	// the same notification.
	ds = d.waitDeliveries(t, 3)
	last := ds[len(ds)-1]
	if !last.Delivered() || last.ID != ds[0].ID || last.Attempt < 3 || last.Attempt != len(ds) {
		t.Fatalf("deliveries: %+v", ds)
	}
	for _, x := range ds[:len(ds)-1] {
		if x.Delivered() || !refused(x.Err) {
			t.Fatalf("deliveries: %+v", ds)
		}
	}
	if n := d.paidEntries(t, o.No); n != 1 {
		t.Fatalf("applied %d times", n)
	}
	if n := d.queries.Load(); n != 0 {
		t.Fatalf("the engine asked the provider %d times", n)
	}
	t.Logf("%d attempts refused, attempt %d applied", len(ds)-1, last.Attempt)
}

func TestAlipayRetryAfterTheListenerWasDown(t *testing.T) {
	d := newDownEnv(t)
	ctx := context.Background()
	o, err := d.eng.Start(ctx, checkout.MethodAlipay, 660, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.sb.Alipay.Emulator.Pay(o.No); err != nil {
		t.Fatal(err)
	}
	// The first delivery and the first retry (4 minutes later in real
	// life) find nothing listening.
	waitCount(t, "payment deliveries refused", d.aliRefused.Load, 2)
	if s, err := d.ledger.Order(ctx, o.No); err != nil || !s.State.Open() {
		t.Fatalf("order before the listener is up: %+v %v", s, err)
	}
	d.up(t)
	d.waitOrder(t, o.No, checkout.StatePaid)
	if n := d.paidEntries(t, o.No); n != 1 {
		t.Fatalf("applied %d times", n)
	}
	paidAfter := d.aliRefused.Load()

	// Down again for the refund. Its answer is lost after Alipay made
	// it, so only the notification can settle it.
	d.down(t)
	d.sb.Alipay.Emulator.SetFaults(alipayemu.Faults{Method: "alipay.trade.refund", Reset: true, Times: 1})
	r, _, err := d.eng.Refund(ctx, o.No, 660, "")
	if err == nil || r.State != checkout.RefundRequested {
		t.Fatalf("refund with the answer lost: %+v %v", r, err)
	}
	waitCount(t, "refund deliveries refused", d.aliRefused.Load, paidAfter+2)
	if got, err := d.ledger.Refund(ctx, r.No); err != nil || got.State != checkout.RefundRequested {
		t.Fatalf("refund before the listener is up: %+v %v", got, err)
	}
	d.up(t)
	if got := d.waitRefund(t, r.No, checkout.RefundSucceeded); got.Amount != 660 {
		t.Errorf("refund: %+v", got)
	}
	if s := d.waitOrder(t, o.No, checkout.StateRefunded); s.Refunded != 660 {
		t.Fatalf("order: %+v", s)
	}
	if n := d.paidEntries(t, o.No); n != 1 {
		t.Fatalf("paid %d times", n)
	}
	if n := d.queries.Load(); n != 0 {
		t.Fatalf("the engine asked the provider %d times", n)
	}
	t.Logf("refused: %d before the payment applied, %d before the refund applied", paidAfter, d.aliRefused.Load()-paidAfter)
}
