package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"till/checkout"
	"till/providers/sandbox"
	"till/store"
)

// startSandbox runs `till sandbox` with cmd until the test ends and
// returns the running sandbox and what it printed at start.
func startSandbox(t *testing.T, cli *CLI, cmd sandboxCmd) (*sandbox.Sandbox, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	ready := make(chan *sandbox.Sandbox, 1)
	done := make(chan error, 1)
	go func() { done <- runSandbox(ctx, cli, cmd, &out, func(sb *sandbox.Sandbox) { ready <- sb }) }()
	var sb *sandbox.Sandbox
	select {
	case sb = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("till sandbox: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("till sandbox did not start")
	}
	printed := out.String() // ready runs after the last line is printed
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("till sandbox stopped: %v", err)
		}
	})
	return sb, printed
}

// exportedFiles are the names --export writes.
var exportedFiles = []string{exportConfigName, exportMerchantKey, exportAPIv3Key, exportPlatformKey, exportAppKey, exportAlipayPublicKey}

// TestSandboxExportPointsADeskAtTheEmulators: --export writes an
// owner-only directory of owner-only files, names them and how to run the
// desk, and prints no secret; the config loads with the desk's own
// loader, as a sandbox that starts no emulators; a desk built from it
// sells through the real SDKs against the running emulators (the payment
// made with the emulator's Pay hook, the desk told by the notification on
// its exported listen address), on the sandbox ledger, stamped sandbox.
func TestSandboxExportPointsADeskAtTheEmulators(t *testing.T) {
	sandboxHome(t)
	dir := filepath.Join(t.TempDir(), "x")
	sb, printed := startSandbox(t, &CLI{}, sandboxCmd{Export: dir})

	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("export dir: %v %v", fi, err)
	}
	for _, name := range exportedFiles {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want mode 0600", name, fi, err)
		}
		if !strings.Contains(printed, "  "+name+"\n") {
			t.Errorf("%s not named in:\n%s", name, printed)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(exportedFiles) {
		t.Errorf("%d files in the export, want %d (no temporary left behind)", len(entries), len(exportedFiles))
	}
	cfgPath := filepath.Join(dir, "config.toml")
	if !strings.Contains(printed, "Run the desk with: till --config "+cfgPath+"\n") || !strings.Contains(printed, "WeChat Pay emulator: "+sb.WeChatURL()) {
		t.Fatalf("printed:\n%s", printed)
	}
	sec := sb.Secrets()
	if strings.Contains(printed, "PRIVATE KEY") || strings.Contains(printed, string(sec.APIv3Key)) {
		t.Fatalf("a secret was printed:\n%s", printed)
	}
	if key, _ := os.ReadFile(filepath.Join(dir, exportAPIv3Key)); strings.TrimSpace(string(key)) != string(sec.APIv3Key) {
		t.Fatal("the APIv3 key file does not hold the emulator's key")
	}

	cfg, err := loadConfig(cfgPath, true)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Sandbox() || cfg.emulated() || cfg.WeChat.APIBase != sb.WeChatURL() || cfg.Alipay.Gateway != sb.AlipayGateway() {
		t.Fatalf("loaded: sandbox %v, emulated %v, api_base %s, gateway %s", cfg.Sandbox(), cfg.emulated(), cfg.WeChat.APIBase, cfg.Alipay.Gateway)
	}

	// sandbox.db is held by till sandbox: a desk that tried to start its
	// own emulators would be refused here.
	d, err := openDesk(&CLI{Config: cfgPath})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.dbPath != (paths{}).ledgerPath(true) {
		t.Fatalf("ledger %s, want the sandbox ledger %s", d.dbPath, (paths{}).ledgerPath(true))
	}
	if err := d.listen(""); err != nil {
		t.Fatal(err)
	}
	if d.listenURL != "http://"+cfg.Webhook.Listen || d.webhookURL != "" {
		t.Fatalf("listening on %q (per-order notify URL %q), want the exported %s", d.listenURL, d.webhookURL, cfg.Webhook.Listen)
	}
	ctx := context.Background()
	for _, m := range []checkout.Method{checkout.MethodWeChat, checkout.MethodAlipay} {
		o, err := d.engine.Start(ctx, m, 1230, "")
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		var pay func(string) error
		switch m {
		case checkout.MethodWeChat:
			if _, ok := sb.WeChat.Emulator.Trade(o.No); !ok {
				t.Fatalf("order %s is not at the running WeChat Pay emulator", o.No)
			}
			pay = sb.WeChat.Emulator.Pay
		case checkout.MethodAlipay:
			if _, ok := sb.Alipay.Emulator.Trade(o.No); !ok {
				t.Fatalf("order %s is not at the running Alipay emulator", o.No)
			}
			pay = sb.Alipay.Emulator.Pay
		}
		if err := pay(o.No); err != nil {
			t.Fatalf("%s pay: %v", m, err)
		}
		waitFor(t, string(m)+" sale paid by its notification", func() bool {
			got, err := d.ledger.Order(ctx, o.No)
			return err == nil && got.State == checkout.StatePaid && got.Amount == 1230
		})
	}
	dbPath := d.dbPath
	d.Close()

	// The ledger it used is stamped sandbox: a live desk is refused it.
	st, err := store.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var we *store.WrongModeError
	if err := st.Bind(ctx, "live"); !errors.As(err, &we) || we.Held != "sandbox" {
		t.Fatalf("the exported desk's ledger taken as live: %v", err)
	}
}

// TestExportedDeskRefusesALiveLedger: a desk from the exported config
// handed a ledger stamped live stops at start, exit 2, with the mode
// named, and leaves it live.
func TestExportedDeskRefusesALiveLedger(t *testing.T) {
	sandboxHome(t)
	dir := filepath.Join(t.TempDir(), "x")
	startSandbox(t, &CLI{}, sandboxCmd{Export: dir})
	live := filepath.Join(t.TempDir(), "shop.db")
	st, err := store.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Bind(context.Background(), "live"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	_, err = openDesk(&CLI{Config: filepath.Join(dir, "config.toml"), DB: live})
	var ue usageError
	if !errors.Is(err, store.ErrWrongMode) || !errors.As(err, &ue) || !strings.Contains(err.Error(), live) {
		t.Fatalf("exported desk on a live ledger: %v", err)
	}
	code, _, errOut := till(t, "--config", filepath.Join(dir, "config.toml"), "--db", live, "orders")
	if code != exitUsage || !strings.Contains(errOut, live) {
		t.Fatalf("till orders with the exported config on a live ledger: %d %s", code, errOut)
	}
	st, err = store.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Bind(context.Background(), "live"); err != nil {
		t.Fatalf("the live ledger is no longer live: %v", err)
	}
}

// TestSandboxMarkAndLoopbackNotifyURLs: the exported config (http
// notify URLs on loopback) opens a desk; the same without `sandbox = true`
// is refused, naming the setting and the mark; the mark lets no plain
// http through off loopback, and no provider's own servers.
func TestSandboxMarkAndLoopbackNotifyURLs(t *testing.T) {
	sandboxHome(t)
	dir := filepath.Join(t.TempDir(), "x")
	startSandbox(t, &CLI{}, sandboxCmd{Export: dir})
	raw, err := os.ReadFile(filepath.Join(dir, "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	exported := string(raw)
	if !strings.Contains(exported, "\nsandbox = true\n") || !strings.Contains(exported, `notify_url = "http://127.0.0.1:`) {
		t.Fatalf("exported config:\n%s", exported)
	}
	variant := func(old, new string) string {
		t.Helper()
		if !strings.Contains(exported, old) {
			t.Fatalf("%q not in the exported config", old)
		}
		return writeConfig(t, strings.Replace(exported, old, new, 1))
	}
	wechatNotify := exported[strings.Index(exported, "notify_url = \"http://127.0.0.1:"):]
	wechatNotify = wechatNotify[:strings.Index(wechatNotify, "\n")]
	for _, tc := range []struct {
		name, config string
		want         []string // nil: the desk opens
	}{
		{"as exported", writeConfig(t, exported), nil},
		{"without the mark", variant("\nsandbox = true\n", "\n"),
			[]string{"wechat.notify_url:", "is on this machine", "sandbox = true"}},
		{"marked, http off loopback", variant(wechatNotify, `notify_url = "http://shop.example.com/notify/wechat"`),
			[]string{"wechat.notify_url:", "must be an https URL"}},
		{"marked, WeChat Pay's own servers", variant("api_base = \"http://127.0.0.1:", "api_base = \"https://api.mch.weixin.qq.com\"\n# was "),
			[]string{"wechat.api_base:", "not on this machine"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := openDesk(&CLI{Config: tc.config, DB: filepath.Join(t.TempDir(), "t.db")})
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				d.Close()
				return
			}
			var ue usageError
			if err == nil || !errors.As(err, &ue) {
				d.Close()
				t.Fatalf("opened (or not a usage error): %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q, want %q in it", err, w)
				}
			}
		})
	}
}

// TestSandboxBadInputChangesNothing: a bad address or export directory
// is refused with exit 2 and a message naming it, before the emulators
// start or anything is written; a config.toml that is not a sandbox
// export is never written over.
func TestSandboxBadInputChangesNothing(t *testing.T) {
	sandboxHome(t)
	file := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(file, []byte("x"), 0o600)
	foreign := t.TempDir()
	liveConfig := "[wechat]\nmchid = \"1900000001\"\nnotify_url = \"https://shop.example.com/notify/wechat\"\n"
	os.WriteFile(filepath.Join(foreign, "config.toml"), []byte(liveConfig), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sandbox", "--wechat-addr", "8071"}, "--wechat-addr \"8071\" is not HOST:PORT"},
		{[]string{"sandbox", "--alipay-addr", "10.1.2.3:8072"}, "loopback only"},
		{[]string{"sandbox", "--alipay-addr", "127.0.0.1:99999"}, "is not a port"},
		{[]string{"sandbox", "--export", file}, "not a directory"},
		{[]string{"sandbox", "--export", foreign}, "is not a sandbox config"},
	} {
		code, out, errOut := till(t, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir((paths{}).ledgerPath(true)), "sandbox.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("sandbox.db made on bad input: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(foreign, "config.toml")); string(got) != liveConfig {
		t.Errorf("the live config was changed:\n%s", got)
	}
	if entries, _ := os.ReadDir(foreign); len(entries) != 1 {
		t.Errorf("%d files beside the live config", len(entries))
	}
}

// TestSandboxCodePrintsTheTestCodes: `till sandbox code` lists the test
// codes, prints one to paste, refuses an unknown behaviour, and opens no
// file (it works with nothing set up).
func TestSandboxCodePrintsTheTestCodes(t *testing.T) {
	sandboxHome(t)
	code, out, _ := till(t, "sandbox", "code", "alipay", "never")
	if code != 0 || out != "286100000000000003\n" {
		t.Fatalf("alipay never: %d %q", code, out)
	}
	if code, out, _ = till(t, "sandbox", "code", "wechat"); code != 0 || out != "134610000000000001\n" {
		t.Fatalf("wechat: %d %q", code, out)
	}
	if code, out, _ = till(t, "sandbox", "code"); code != 0 || strings.Count(out, "\n") != 10 {
		t.Fatalf("the list: %d %q", code, out)
	}
	if code, _, errOut := till(t, "sandbox", "code", "wechat", "nope"); code != exitUsage || !strings.Contains(errOut, "nope") {
		t.Fatalf("an unknown behaviour: %d %q", code, errOut)
	}
	if entries, _ := os.ReadDir(os.Getenv("XDG_DATA_HOME")); len(entries) != 0 {
		t.Fatalf("sandbox code wrote %v", entries)
	}
}
