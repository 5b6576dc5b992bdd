package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"till/catalog"
	"till/pgledger"
	"till/pgledger/pgtest"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsComeFromTheExampleConfig(t *testing.T) {
	c, err := loadConfig(filepath.Join(t.TempDir(), "missing.toml"), false)
	if err != nil {
		t.Fatal(err)
	}
	if c.Checkout.PollInterval != 3*time.Second || c.Checkout.Timeout != 3*time.Minute || c.Checkout.LateCheckMargin != 2*time.Minute ||
		c.ceiling != 1_000_000 || c.Shop.Terminal != "T1" || c.location.String() != "Asia/Shanghai" || !c.Sandbox() {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestConfigOverridesDefaults(t *testing.T) {
	c, err := loadConfig(writeConfig(t, "[checkout]\ntimeout = \"10s\"\npoll_interval = \"1s\"\nmax_amount = \"200\"\n"), true)
	if err != nil {
		t.Fatal(err)
	}
	if c.Checkout.Timeout != 10*time.Second || c.Checkout.PollInterval != time.Second || c.ceiling != 20000 {
		t.Fatalf("got %+v", c.Checkout)
	}
}

func TestBadConfigNamesTheSetting(t *testing.T) {
	cases := map[string]string{
		"[checkout]\ntimeout = \"2s\"\n":                                         "checkout.timeout",
		"[checkout]\ntimeout = \"3h\"\n":                                         "checkout.timeout",
		"[checkout]\npoll_interval = \"100ms\"\n":                                "checkout.poll_interval",
		"[checkout]\npoll_interval = \"5m\"\n":                                   "checkout.poll_interval",
		"[checkout]\nmax_amount = \"12.345\"\n":                                  "checkout.max_amount",
		"[checkout]\ntimout = \"1m\"\n":                                          "checkout.timout",
		"[shop]\ntimezone = \"Mars/Olympus\"\n":                                  "shop.timezone",
		"[shop]\nterminal = \"T-1\"\n":                                           "shop.terminal",
		"[log]\nlevel = \"loud\"\n":                                              "log.level",
		"[checkout]\ntimeout = 5\n":                                              "timeout",
		"[wechat]\nmchid = \"1\"\n[checkout]\ntimeout = \"30s\"\n":               "checkout.timeout",
		"[wechat]\nmchid = \"1\"\n":                                              "wechat.notify_url",
		"[checkout]\nlate_check_margin = \"0s\"\n":                               "checkout.late_check_margin",
		"[checkout]\nlate_check_margin = \"2h\"\n":                               "checkout.late_check_margin",
		"[checkout]\ncode_deadline = \"10s\"\n":                                  "checkout.code_deadline",
		"[checkout]\ncode_deadline = \"2m\"\n":                                   "checkout.code_deadline",
		"[ledger]\nurl = \"mysql://x/y\"\n":                                      "ledger.url",
		"[ledger]\nurl = \"/var/lib/till.db\"\n":                                 "ledger.url",
		"[ledger]\nheartbeat_timeout = \"1s\"\n":                                 "ledger.heartbeat_timeout",
		"[ledger]\nurl = \"postgres://t@db/till\"\n[backup]\ndir = \"/tmp/b\"\n": "backup.dir",
	}
	for text, field := range cases {
		_, err := loadConfig(writeConfig(t, text), true)
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%q: error %v, want one naming %s", text, err, field)
		}
	}
}

// A shared ledger's URL is never repeated in a refusal (it may hold the
// password), and --terminal / --ledger are checked as the file's
// settings are.
func TestLedgerOverridesAreChecked(t *testing.T) {
	_, err := loadConfig(writeConfig(t, "[ledger]\nurl = \"mysql://till:s3cret@db/till\"\n"), true)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("a bad url: %v", err)
	}
	c, err := loadConfig(writeConfig(t, ""), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.applyOverrides(&CLI{Terminal: "T-2"}); err == nil || !strings.Contains(err.Error(), "shop.terminal") {
		t.Fatalf("--terminal T-2: %v", err)
	}
	c, _ = loadConfig(writeConfig(t, ""), true)
	if err := c.applyOverrides(&CLI{Terminal: "T2", Ledger: "postgres://till@db.shop.lan/till"}); err != nil || c.Shop.Terminal != "T2" || !c.shared() {
		t.Fatalf("--terminal T2 --ledger: %v %+v", err, c.Shop)
	}
	c, _ = loadConfig(writeConfig(t, ""), true)
	if err := c.applyOverrides(&CLI{Ledger: "postgres://till:pw@/till?host=/tmp"}); err != nil {
		t.Fatalf("a socket URL: %v", err)
	}
}

// TestStartNoticeOnDefaultTerminal: with a real merchant account and the
// terminal id left at the default, the desk says so at start; not in the
// sandbox, and not once the counter has its own id.
func TestStartNoticeOnDefaultTerminal(t *testing.T) {
	live := "[wechat]\nmchid = \"1900000001\"\nnotify_url = \"https://shop.example.com/notify/wechat\"\n"
	for text, want := range map[string]bool{
		live:                                 true,
		live + "[shop]\nterminal = \"C2\"\n": false,
		"":                                   false,
	} {
		c, err := loadConfig(writeConfig(t, text), true)
		if err != nil {
			t.Fatal(err)
		}
		if got := startNotice(c); (got != "") != want || (want && !strings.Contains(got, "[shop] terminal")) {
			t.Errorf("config %q: notice %q, want one: %v", text, got, want)
		}
	}
}

func TestNamedConfigMustExist(t *testing.T) {
	if _, err := loadConfig(filepath.Join(t.TempDir(), "nope.toml"), true); err == nil {
		t.Fatal("a missing --config file was accepted")
	}
}

func TestExitCodes(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"version"}, &out, &errb); code != exitOK || !strings.HasPrefix(out.String(), "till ") {
		t.Errorf("version: %d %q", code, out.String())
	}
	if code := run([]string{"--no-such-flag"}, &out, &errb); code != exitUsage {
		t.Errorf("bad flag: exit %d, want 2", code)
	}
	out.Reset()
	if code := run([]string{"--help"}, &out, &errb); code != exitOK || !strings.Contains(out.String(), "sandbox") {
		t.Errorf("--help: exit %d\n%s", code, out.String())
	}
	bad := writeConfig(t, "[shop]\nterminal = \"no spaces\"\n")
	errb.Reset()
	if code := run([]string{"--config", bad, "--db", filepath.Join(t.TempDir(), "t.db")}, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "shop.terminal") {
		t.Errorf("bad config: exit %d, %q", code, errb.String())
	}
}

func TestSandboxLedgerIsSeparate(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/data")
	p := paths{}
	if live, sb := p.ledgerPath(false), p.ledgerPath(true); live != "/data/till/till.db" || sb != "/data/till/sandbox/till.db" {
		t.Fatalf("live %s, sandbox %s", live, sb)
	}
	p.db = "/x/shop.db"
	if got := p.ledgerPath(true); got != "/x/shop.db" {
		t.Fatalf("--db ignored: %s", got)
	}
}

// TestLanguageAndBell: [ui] language picks the desk's words, else LANG
// does; [ui] bell = false silences the bell.
func TestLanguageAndBell(t *testing.T) {
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_MESSAGES", "")
	t.Setenv("LANG", "zh_CN.UTF-8")
	c, err := loadConfig(writeConfig(t, ""), true)
	if err != nil || c.lang != catalog.Chinese || bellWriter(c) == nil {
		t.Fatalf("from LANG: %v %s, bell %v", err, c.lang, bellWriter(c))
	}
	c, err = loadConfig(writeConfig(t, "[ui]\nlanguage = \"en\"\nbell = false\n"), true)
	if err != nil || c.lang != catalog.English || bellWriter(c) != nil {
		t.Fatalf("configured: %v %s, bell %v", err, c.lang, bellWriter(c))
	}
}

func TestVersionLine(t *testing.T) {
	info := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "5ccbcab0123456789abcdef"}, {Key: "vcs.time", Value: "2026-12-01T18:11:32Z"}, {Key: "vcs.modified", Value: "true"}}}, true
	}
	if got, want := versionLine("", info), "till v0.3.0 (5ccbcab01234 2026-12-01T18:11:32Z, modified)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := versionLine("v9", func() (*debug.BuildInfo, bool) { return nil, false }); got != "till v9" {
		t.Errorf("-X version: %q", got)
	}
}

func TestHelpCommand(t *testing.T) {
	var a, b, errb bytes.Buffer
	if code := run([]string{"help"}, &a, &errb); code != exitOK {
		t.Fatalf("till help: exit %d %s", code, errb.String())
	}
	run([]string{"--help"}, &b, &errb)
	if a.String() != b.String() || !strings.Contains(a.String(), "sandbox") {
		t.Fatalf("till help and --help differ:\n%s\n---\n%s", a.String(), b.String())
	}
}

// TestKeyFilesReadableByOthersAreNamed: a private key others can read is
// named at start; one kept 0600 is not.
func TestKeyFilesReadableByOthersAreNamed(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "apiclient_key.pem")
	closed := filepath.Join(dir, "alipay_key.pem")
	os.WriteFile(open, []byte("x"), 0o644)
	os.WriteFile(closed, []byte("x"), 0o600)
	c, err := loadConfig(writeConfig(t, "[shop]\nterminal = \"C2\"\n[wechat]\nmchid = \"1\"\nnotify_url = \"https://shop.example.com/n\"\nprivate_key_file = \""+open+"\"\n"+
		"[alipay]\napp_id = \"2021\"\nprivate_key_file = \""+closed+"\"\n"), true)
	if err != nil {
		t.Fatal(err)
	}
	c.lang = catalog.English
	n := startNotice(c)
	if !strings.Contains(n, "wechat.private_key_file") || !strings.Contains(n, "0644") || strings.Contains(n, "alipay.private_key_file") {
		t.Fatalf("notice %q", n)
	}
}

// TestLogTimesCarryTheShopsOffset: a log line's time is the shop's clock
// with its offset, not the machine's zone.
func TestLogTimesCarryTheShopsOffset(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: shopTime(loc)}))
	log.Info("x")
	if !strings.Contains(buf.String(), "+08:00") {
		t.Fatalf("log line %q", buf.String())
	}
}

// A shared ledger with the desk's own emulators is refused before anything
// is opened (each desk's emulators would know only its own trades), and
// one that cannot be reached says so, without its password.
func TestSharedLedgerAtStart(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	t.Setenv("XDG_STATE_HOME", dir)
	t.Setenv("XDG_CONFIG_HOME", dir)
	var out, errb bytes.Buffer
	code := run([]string{"orders", "--ledger", "postgres://till:s3cret@127.0.0.1:1/till"}, &out, &errb)
	if code != exitUsage || !strings.Contains(errb.String(), "till sandbox --export") {
		t.Fatalf("in-process emulators on a shared ledger: exit %d: %s", code, errb.String())
	}
	cfg := writeConfig(t, "sandbox = true\n[wechat]\nmchid = \"1\"\nappid = \"wx1\"\nnotify_url = \"http://127.0.0.1:9/notify/wechat\"\napi_base = \"http://127.0.0.1:9\"\n")
	errb.Reset()
	code = run([]string{"--config", cfg, "orders", "--ledger", "postgres://till:s3cret@127.0.0.1:1/till?connect_timeout=2"}, &out, &errb)
	if code != exitFail || !strings.Contains(errb.String(), "Could not open the shared ledger") || strings.Contains(errb.String(), "s3cret") {
		t.Fatalf("an unreachable shared ledger: exit %d: %s", code, errb.String())
	}
}

// A shared ledger stamped live, opened by a sandbox config, is refused
// naming the database and the flag that points elsewhere (--ledger, not
// --db), and is left live.
func TestSharedLedgerOfTheOtherMode(t *testing.T) {
	dbURL := pgtest.FreshDB(t)
	l, err := pgledger.Open(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Bind(t.Context(), "live"); err != nil {
		t.Fatal(err)
	}
	l.Close()
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	t.Setenv("XDG_STATE_HOME", dir)
	t.Setenv("XDG_CONFIG_HOME", dir)
	cfg := writeConfig(t, "sandbox = true\n[wechat]\nmchid = \"1\"\nappid = \"wx1\"\nnotify_url = \"http://127.0.0.1:9/notify/wechat\"\napi_base = \"http://127.0.0.1:9\"\n")
	var out, errb bytes.Buffer
	code := run([]string{"--config", cfg, "--ledger", dbURL, "orders"}, &out, &errb)
	if code != exitUsage || !strings.Contains(errb.String(), "the shared ledger") || !strings.Contains(errb.String(), "holds live sales") ||
		!strings.Contains(errb.String(), "point --ledger") || strings.Contains(errb.String(), "--db") {
		t.Fatalf("a live shared ledger with a sandbox config: exit %d: %s", code, errb.String())
	}
	if n := pgtest.Count(t, dbURL, `SELECT count(*) FROM meta WHERE key = 'mode' AND value = 'live'`); n != 1 {
		t.Fatal("the refused ledger's mode changed")
	}
}
