package faultsuite

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"till/checkout"
	"till/store"
)

// The crash test: a helper process (this test binary again, running
// TestHelperProcess) sells and refunds in a loop on a ledger file,
// against emulators that live in the parent; the parent pays some of its
// orders as a customer would, flips faults, and kills it with SIGKILL at a
// random moment. After each kill the parent reopens the ledger (it must
// open cleanly and pass bbolt's check), runs settling passes until
// everything is settled, checks the invariants against the ledger and the
// emulators, and starts the next helper on the same file.

// helperEnv names the helper's configuration file; only the helper has it.
const helperEnv = "TILL_FAULTS_HELPER"

// crashConfig is what the parent hands the helper: where the ledger and
// the emulators are, the keys (PEM), and the shared clock's offset.
type crashConfig struct {
	Ledger        string            `json:"ledger"`
	WeChatURL     string            `json:"wechat_url"`
	AlipayGateway string            `json:"alipay_gateway"`
	Keys          map[string]string `json:"keys"`
	APIv3         string            `json:"apiv3"`
	Offset        time.Duration     `json:"offset"`
	Seed          int64             `json:"seed"`
}

func (c crashConfig) keySet() (keySet, error) {
	k := keySet{APIv3: c.APIv3}
	for name, dst := range map[string]**rsa.PrivateKey{"wx_merchant": &k.WxMerchant, "wx_platform": &k.WxPlatform,
		"ali_app": &k.AliApp, "ali_alipay": &k.AliAlipay} {
		key, err := parseKeyPEM(c.Keys[name])
		if err != nil {
			return k, fmt.Errorf("key %s: %w", name, err)
		}
		*dst = key
	}
	return k, nil
}

// TestHelperProcess is the desk the crash test kills. It does nothing
// unless started by TestCrashRecovery.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("the crash test's helper process: runs only when TestCrashRecovery starts it")
	}
	if err := helperMain(path); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// helperMain opens the ledger, says "ready" on stdout and sells until it
// is killed.
func helperMain(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cfg crashConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return err
	}
	k, err := cfg.keySet()
	if err != nil {
		return err
	}
	clk := &suiteClock{}
	clk.Advance(cfg.Offset)
	st, err := store.Open(cfg.Ledger, store.WithClock(clk.Now))
	if err != nil {
		return fmt.Errorf("opening the ledger: %w", err)
	}
	ps, err := newProviders(k, cfg.WeChatURL, cfg.AlipayGateway, clk.Now)
	if err != nil {
		return err
	}
	eng := checkout.NewEngine(st, ps, engineConfig(), clk, nil)
	fmt.Println("ready")
	ctx := context.Background()
	rng := rand.New(rand.NewSource(cfg.Seed))
	eng.Recover(ctx)
	var nos []string
	pick := func() string {
		if len(nos) == 0 {
			return ""
		}
		recent := nos[max(0, len(nos)-20):]
		return recent[rng.Intn(len(recent))]
	}
	for {
		switch n := rng.Intn(20); {
		case n < 7:
			m := checkout.MethodWeChat
			if rng.Intn(2) == 0 {
				m = checkout.MethodAlipay
			}
			if o, _ := eng.Start(ctx, m, checkout.Money(1+rng.Int63n(20000)), "crash"); o.No != "" {
				nos = append(nos, o.No)
			}
		case n < 12:
			if no := pick(); no != "" {
				eng.Poll(ctx, no)
			}
		case n < 14:
			if no := pick(); no != "" {
				eng.Finish(ctx, no, "cancelled by clerk")
			}
		case n < 19:
			no := pick()
			if no == "" {
				continue
			}
			o, err := st.Order(ctx, no)
			if err != nil || !o.State.WasPaid() {
				continue
			}
			rs, err := st.Refunds(ctx, no)
			if err != nil {
				continue
			}
			if left := checkout.RefundLeft(o, rs); left > 0 {
				amount := 1 + checkout.Money(rng.Int63n(int64(left)))
				if rng.Intn(3) == 0 {
					amount = left
				}
				if r, _, err := eng.Refund(ctx, no, amount, "crash"); err != nil && r.State == checkout.RefundRequested {
					eng.PollRefund(ctx, r.No)
				}
			}
		default:
			eng.Recover(ctx)
		}
	}
}

// TestCrashRecovery kills a desk selling on a ledger (SIGKILL, at a random
// moment) ten times in short mode, 120 in long mode; after each kill the
// ledger must open, settle and keep every invariant.
func TestCrashRecovery(t *testing.T) {
	kills := 10
	if longMode() {
		kills = 120
	}
	seed := time.Now().UnixNano() % 1_000_000_007
	if s := seedGiven(); s != 0 {
		seed = s
	}
	t.Logf("seed %d, %d kills (replay: -faults.seed=%d)", seed, kills, seed)
	rng := rand.New(rand.NewSource(seed))
	k := testKeys()
	clk := &suiteClock{}
	emus := startEmulators(t, k, clk, 0)
	emus.wxStore.puts = make(chan string, 1024)
	emus.aliStore.puts = make(chan string, 1024)
	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "till.db")
	cfgPath := filepath.Join(dir, "helper.json")
	ps, err := newProviders(k, emus.wx.URL, emus.ali.Gateway, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	cfg2 := engineConfig()
	cfg2.Terminal = "T2"
	began := clk.Now()
	ob := newObserver(nil)
	ctx := context.Background()
	var interrupted, settledOrders, settledRefunds int

	for round := range kills {
		cfg := crashConfig{Ledger: ledgerPath, WeChatURL: emus.wx.URL, AlipayGateway: emus.ali.Gateway,
			Keys: map[string]string{"wx_merchant": keyPEM(k.WxMerchant), "wx_platform": keyPEM(k.WxPlatform),
				"ali_app": keyPEM(k.AliApp), "ali_alipay": keyPEM(k.AliAlipay)},
			APIv3: k.APIv3, Offset: clk.Offset(), Seed: seed + int64(round)}
		b, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
			t.Fatal(err)
		}

		stderr := runHelper(t, round, cfgPath, rng, emus)

		// The desk is dead: the faults go, the ledger must open cleanly.
		emus.clearFaults()
		st, err := store.Open(ledgerPath, store.WithClock(clk.Now))
		if err != nil {
			t.Fatalf("round %d: the ledger did not open after the kill: %v\nhelper stderr:\n%s", round, err, stderr)
		}
		if err := st.Check(); err != nil {
			st.Close()
			t.Fatalf("round %d: the ledger failed bbolt's check: %v", round, err)
		}
		ob.rebase(st)
		// Past every sale's timeout and every late check the helper left.
		clk.Advance(checkout.DefaultTimeout + checkout.DefaultLateCheckMargin + time.Minute)
		eng := checkout.NewEngine(ob, ps, cfg2, clk, nil)
		var lastErrs []error
		settled := false
		for i := range 20 {
			pass := eng.Recover(ctx)
			settledOrders += len(pass.Settled)
			settledRefunds += len(pass.Refunds)
			if i == 0 && len(pass.Settled)+len(pass.Refunds) > 0 {
				interrupted++
			}
			lastErrs = append(pass.Errors, pass.LedgerErr)
			if o, c, r := unsettled(ctx, ob); o+c+r == 0 {
				settled = true
				break
			}
			if at := pass.NextCheck; !at.IsZero() && at.After(clk.Now()) {
				clk.Advance(at.Sub(clk.Now()) + time.Second)
			}
		}
		orders, err := ledgerOrders(ctx, ob, began.Add(-time.Hour), clk.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		os_, rs := ob.seen()
		vs := Check(Snapshot{Orders: orders, Trades: providerTrades(emus), ObservedOrders: os_, ObservedRefunds: rs})
		if !settled {
			t.Logf("round %d: not settled after 20 passes; last errors %v", round, lastErrs)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		if len(vs) > 0 {
			t.Errorf("round %d (seed %d): %d violations after the kill and recovery", round, seed, len(vs))
			for i, v := range vs {
				if i < 30 {
					t.Errorf("  %s", v)
				}
			}
			t.Logf("helper stderr:\n%s", stderr)
			return
		}
	}
	final, err := store.Open(ledgerPath)
	if err != nil {
		t.Fatal(err)
	}
	defer final.Close()
	orders, err := ledgerOrders(ctx, final, began.Add(-time.Hour), clk.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	sum := summarize(Snapshot{Orders: orders})
	t.Logf("%d orders over %d kills; paid %v, refunds %v; %d kills left work that recovery settled (%d orders, %d refunds)",
		len(orders), kills, sum.paid, sum.refunds, interrupted, settledOrders, settledRefunds)
	// Kills that never caught the desk with work under way prove nothing.
	if len(orders) == 0 || sum.paid[checkout.MethodWeChat]+sum.paid[checkout.MethodAlipay] == 0 {
		t.Fatalf("the helpers sold nothing paid: %d orders", len(orders))
	}
	if interrupted == 0 {
		t.Fatalf("no kill left anything open for recovery to settle")
	}
}

// runHelper starts the helper process, waits for it to open the ledger,
// lets it sell for a random 20 ms to 1 s while a customer pays some of its
// orders and faults flip, then kills it with SIGKILL. It returns the
// helper's stderr.
func runHelper(t *testing.T, round int, cfgPath string, rng *rand.Rand, emus *emulators) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), helperEnv+"="+cfgPath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "ready" {
				ready <- true
				break
			}
		}
		ready <- false
		for sc.Scan() { // drain
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			cmd.Wait()
			t.Fatalf("round %d: the helper stopped before it was ready: %s", round, stderr.String())
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("round %d: the helper was not ready within a minute: %s", round, stderr.String())
	}

	// The customer: pays some of the trades as they appear, flips faults
	// now and then.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	custRng := rand.New(rand.NewSource(rng.Int63()))
	wg.Go(func() {
		for {
			var key string
			var wechat bool
			select {
			case <-stop:
				return
			case key = <-emus.wxStore.puts:
				wechat = true
			case key = <-emus.aliStore.puts:
			}
			if custRng.Intn(10) == 0 {
				flipFaults(custRng, emus, "")
			}
			switch {
			case wechat && strings.HasPrefix(key, "trade/") && custRng.Intn(2) == 0:
				no := strings.TrimPrefix(key, "trade/")
				if tr, ok := emus.wx.Emulator.Trade(no); ok && tr.State == "NOTPAY" {
					emus.wx.Emulator.Pay(no)
				}
			case !wechat && custRng.Intn(2) == 0:
				if tr, ok := emus.ali.Emulator.Trade(key); ok && !tr.WasPaid() {
					emus.ali.Emulator.Pay(key)
				}
			}
		}
	})

	time.Sleep(time.Duration(20+rng.Intn(980)) * time.Millisecond) // a random moment, in the helper's real time
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("round %d: kill: %v", round, err)
	}
	err = cmd.Wait()
	close(stop)
	wg.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("round %d: the helper ended before the kill (%v): %s", round, err, stderr.String())
	}
	return stderr.String()
}
