package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"till/checkout"
	"till/store"
)

// startServe runs `till serve` for cli until the test ends (or stop is
// called) and returns its desk, what it printed at start, and stop, which
// waits for it to return and gives its error.
func startServe(t *testing.T, cli *CLI, listen string) (*desk, string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	ready := make(chan *desk, 1)
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, cli, listen, &out, func(d *desk) { ready <- d }) }()
	var d *desk
	select {
	case d = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("till serve: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("till serve did not start")
	}
	stopped := false
	var err error
	stop := func() error {
		if !stopped {
			stopped = true
			cancel()
			err = <-done
		}
		return err
	}
	t.Cleanup(func() { stop() })
	return d, out.String(), stop
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
	}
}

// TestServeTakesNotificationsAndServesCommands: `till serve` in the
// sandbox listens on a free loopback port that the emulators are told; a
// payment and a refund are applied by their notifications with no poll;
// the ledger commands work through its socket; a desk started meanwhile
// is refused with a message naming till serve; stopped, it lets the
// ledger go.
func TestServeTakesNotificationsAndServesCommands(t *testing.T) {
	sandboxHome(t)
	t.Setenv("TILL_MANAGER_PIN_NEW", "4826")
	if code, _, errOut := till(t, "pin", "set"); code != 0 {
		t.Fatalf("pin set: %s", errOut)
	}
	os.Unsetenv("TILL_MANAGER_PIN_NEW")

	d, started, stop := startServe(t, &CLI{}, "")
	if !strings.Contains(started, "till serve (sandbox)") || !strings.Contains(started, d.dbPath) || !strings.Contains(started, "notifications on http://127.0.0.1:") {
		t.Fatalf("start line %q", started)
	}
	owner, err := os.ReadFile(store.OwnerPath(d.dbPath))
	if err != nil || !strings.Contains(string(owner), `"till serve"`) {
		t.Fatalf("owner file %s %v", owner, err)
	}

	ctx := context.Background()
	paid := map[checkout.Method]checkout.Order{}
	for _, m := range []checkout.Method{checkout.MethodWeChat, checkout.MethodAlipay} {
		o, err := d.engine.Start(ctx, m, 1230, "")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.PostForm(o.CodeURL, url.Values{"action": {"pay"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// No Poll: only the notification can make it paid.
		waitFor(t, string(m)+" paid by its notification", func() bool {
			got, err := d.ledger.Order(ctx, o.No)
			return err == nil && got.State == checkout.StatePaid
		})
		paid[m] = o
	}

	// The ledger commands go through serve's socket.
	_, orders := ordersJSON(t)
	if len(orders) != 2 || orders[0].State != checkout.StatePaid || orders[1].State != checkout.StatePaid {
		t.Fatalf("till orders through till serve: %+v", orders)
	}
	t.Setenv("TILL_MANAGER_PIN", "4826")
	if code, out, errOut := till(t, "refund", paid[checkout.MethodWeChat].No, "--amount", "2.30"); code != 0 || !strings.Contains(out, "¥2.30") {
		t.Fatalf("refund through till serve: %d %q %q", code, out, errOut)
	}
	waitFor(t, "the refund succeeded", func() bool {
		rs, err := d.ledger.Refunds(ctx, paid[checkout.MethodWeChat].No)
		return err == nil && len(rs) == 1 && rs[0].State == checkout.RefundSucceeded
	})

	// A desk started meanwhile is told till serve holds the ledger.
	_, err = openDesk(&CLI{})
	if err == nil {
		t.Fatal("a desk opened the ledger till serve holds")
	}
	pid := strconv.Itoa(os.Getpid())
	if msg := err.Error(); !strings.Contains(msg, "till serve") || !strings.Contains(msg, "pid "+pid) || !strings.Contains(msg, "stop it first") {
		t.Fatalf("refusal %q, want one naming till serve and pid %s", msg, pid)
	}

	if err := stop(); err != nil {
		t.Fatalf("till serve stopped with %v", err)
	}
	if _, err := os.Stat(store.OwnerPath(d.dbPath)); !os.IsNotExist(err) {
		t.Fatalf("owner file left after stop: %v", err)
	}
	if socks, _ := filepath.Glob(filepath.Join(filepath.Dir(d.dbPath), "*.sock")); len(socks) != 0 {
		t.Fatalf("socket left after stop: %v", socks)
	}
	// The ledger is free again: the commands open it themselves.
	if _, orders := ordersJSON(t); len(orders) != 2 || orders[0].Refunded != 230 {
		t.Fatalf("orders after stop: %+v", orders)
	}
}

// TestServeRefusedWhileADeskHoldsTheLedger: one holder per bbolt ledger,
// the other way round.
func TestServeRefusedWhileADeskHoldsTheLedger(t *testing.T) {
	sandboxHome(t)
	desk, err := openDeskAs(&CLI{}, "till")
	if err != nil {
		t.Fatal(err)
	}
	defer desk.Close()
	var out bytes.Buffer
	err = runServe(context.Background(), &CLI{}, "", &out, nil)
	if err == nil {
		t.Fatal("till serve opened the ledger a desk holds")
	}
	if msg := err.Error(); !strings.Contains(msg, "in use by till (pid "+strconv.Itoa(os.Getpid())) || !strings.Contains(msg, "close the other desk first") {
		t.Fatalf("refusal %q", msg)
	}
	if out.Len() != 0 {
		t.Fatalf("printed %q before refusing", out.String())
	}
}

// liveAlipayConfig writes a config with an [alipay] merchant (a gateway
// nobody answers: nothing here calls it) and extra settings.
func liveAlipayConfig(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	priv := filepath.Join(dir, "app.pem")
	pub := filepath.Join(dir, "alipay.pem")
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600)
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
	return writeConfig(t, "[shop]\nterminal = \"C2\"\n[alipay]\napp_id = \"2021000000000000\"\ngateway = \"https://openapi.alipay.com/gateway.do\"\n"+
		"private_key_file = \""+priv+"\"\nalipay_public_key_file = \""+pub+"\"\n"+extra)
}

// With a merchant account and no listen address, serve still serves the
// socket and settles, and says the listener is off.
func TestServeWithAMerchantAndNoListener(t *testing.T) {
	sandboxHome(t)
	cli := &CLI{Config: liveAlipayConfig(t, "notify_url = \"https://shop.example.com/notify/alipay\"\n")}
	d, started, _ := startServe(t, cli, "")
	if d.cfg.Sandbox() || d.listenURL != "" || !strings.Contains(started, "till serve (live)") || !strings.Contains(started, "listener is off") {
		t.Fatalf("start line %q (listening on %q)", started, d.listenURL)
	}
	if code, _, errOut := till(t, "--config", cli.Config, "orders", "--json"); code != 0 {
		t.Fatalf("till orders through till serve: %d %s", code, errOut)
	}
}

// The Alipay notify_url of a live merchant must be https on a public
// host; the refusal names the setting and stops the start.
func TestAlipayNotifyURLValidated(t *testing.T) {
	sandboxHome(t)
	for _, tc := range []struct{ url, want string }{
		{"http://shop.example.com/notify/alipay", "alipay.notify_url: \"http://shop.example.com/notify/alipay\" must be an https URL"},
		{"https://127.0.0.1:8787/notify/alipay", "alipay.notify_url: \"https://127.0.0.1:8787/notify/alipay\" is on this machine"},
	} {
		cfg := liveAlipayConfig(t, "notify_url = \""+tc.url+"\"\n")
		code, _, errOut := till(t, "--config", cfg, "serve")
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d %q, want 2 and %q", tc.url, code, errOut, tc.want)
		}
	}
	// An unknown key in [webhook] is refused as before.
	cfg := writeConfig(t, "[webhook]\npublic_url = \"https://shop.example.com\"\n")
	if code, _, errOut := till(t, "--config", cfg, "serve"); code != exitUsage || !strings.Contains(errOut, "unknown setting webhook.public_url") {
		t.Fatalf("unknown setting: %d %q", code, errOut)
	}
}
