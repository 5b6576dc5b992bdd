package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
		"[checkout]\ntimeout = \"2s\"\n":                           "checkout.timeout",
		"[checkout]\ntimeout = \"3h\"\n":                           "checkout.timeout",
		"[checkout]\npoll_interval = \"100ms\"\n":                  "checkout.poll_interval",
		"[checkout]\npoll_interval = \"5m\"\n":                     "checkout.poll_interval",
		"[checkout]\nmax_amount = \"12.345\"\n":                    "checkout.max_amount",
		"[checkout]\ntimout = \"1m\"\n":                            "checkout.timout",
		"[shop]\ntimezone = \"Mars/Olympus\"\n":                    "shop.timezone",
		"[shop]\nterminal = \"T-1\"\n":                             "shop.terminal",
		"[log]\nlevel = \"loud\"\n":                                "log.level",
		"[checkout]\ntimeout = 5\n":                                "timeout",
		"[wechat]\nmchid = \"1\"\n[checkout]\ntimeout = \"30s\"\n": "checkout.timeout",
		"[wechat]\nmchid = \"1\"\n":                                "wechat.notify_url",
		"[checkout]\nlate_check_margin = \"0s\"\n":                 "checkout.late_check_margin",
		"[checkout]\nlate_check_margin = \"2h\"\n":                 "checkout.late_check_margin",
	}
	for text, field := range cases {
		_, err := loadConfig(writeConfig(t, text), true)
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%q: error %v, want one naming %s", text, err, field)
		}
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
