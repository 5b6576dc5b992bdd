package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"till/catalog"
	"till/checkout"
	"till/ledger"
	"till/pgledger/pgtest"
)

// TestLedgerCopyCommand: a counter's sandbox ledger (sales paid and
// refunded through the desk, a PIN, an operator, a Z close) is refused
// while its desk holds it, and nothing reaches the database; with the
// desk closed it is copied, and the figures are printed side by side,
// equal, with what to do next; a second copy into the same database is
// refused in Chinese, naming what it holds. Read back by till itself on
// the shared ledger (the exported sandbox's config), the orders are the
// file's to the byte, and the trail verifies with the same entries.
func TestLedgerCopyCommand(t *testing.T) {
	dbURL := pgtest.FreshDB(t)
	d := servingDesk(t)
	wx := paidSale(t, d, checkout.MethodWeChat, 1230)
	paidSale(t, d, checkout.MethodAlipay, 800)
	t.Setenv("TILL_MANAGER_PIN", "4826")
	if code, _, errOut := till(t, "refund", wx.No, "--amount", "2.30"); code != 0 {
		t.Fatalf("refund: %s", errOut)
	}
	if code, _, errOut := till(t, "operator", "add", "lin", "Lin Mei"); code != 0 {
		t.Fatalf("operator add: %s", errOut)
	}
	if code, _, errOut := till(t, "close-day"); code != 0 {
		t.Fatalf("close-day: %s", errOut)
	}

	code, out, errOut := till(t, "ledger", "copy", "--to", dbURL)
	if code != exitFail || !strings.Contains(errOut, "close the desk first") || !strings.Contains(errOut, "nothing was copied") {
		t.Fatalf("a copy while the desk holds the file: %d %q %q", code, out, errOut)
	}
	if n := pgtest.Count(t, dbURL, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`); n != 0 {
		t.Fatalf("the refused copy made %d tables in the database", n)
	}
	fileOrders, _ := ordersJSON(t) // through the desk
	_, fileAudit, _ := till(t, "audit", "--verify")
	d.Close()

	code, out, errOut = till(t, "ledger", "copy", "--to", dbURL)
	if code != exitOK {
		t.Fatalf("the copy: %d %q %q", code, out, errOut)
	}
	for _, want := range []string{
		"Copied " + filepath.Join(os.Getenv("XDG_DATA_HOME"), "till", "sandbox", "till.db") + " into postgres://till@",
		"file", "shared ledger", "The shared ledger is ready", "--ledger " + dbURL + " ", "--terminal",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the copy's output lacks %q:\n%s", want, out)
		}
	}
	for _, row := range []string{`orders +2 +2`, `paid +1 · ¥8.00 +1 · ¥8.00`, `partly refunded +1 · ¥12.30 +1 · ¥12.30`,
		`succeeded +1 · ¥2.30 +1 · ¥2.30`, `Z closes +1 +1`, `operators +1 +1`, `audit trail +verifies +verifies`} {
		if !regexp.MustCompile(`(?m)^ *` + row + `$`).MatchString(out) {
			t.Errorf("no row %q in:\n%s", row, out)
		}
	}
	if strings.Contains(out, "≠") || strings.Contains(out, "xxxxx") {
		t.Errorf("a row differs, or a password was masked where there is none:\n%s", out)
	}

	t.Setenv("LANG", "zh_CN.UTF-8")
	code, _, errOut = till(t, "ledger", "copy", "--to", dbURL)
	if code != exitFail || !strings.Contains(errOut, "不是空的") || !strings.Contains(errOut, "2 笔订单、1 笔退款") ||
		!strings.Contains(errOut, "1 次日结、1 名操作员、店长密码") || !strings.Contains(errOut, "未复制任何内容") {
		t.Fatalf("a second copy, in Chinese: %d %q", code, errOut)
	}
	t.Setenv("LANG", "en_US.UTF-8")

	shop := filepath.Join(t.TempDir(), "shop")
	startSandbox(t, &CLI{}, sandboxCmd{Export: shop})
	shared := []string{"--config", filepath.Join(shop, "config.toml"), "--ledger", dbURL, "--terminal", "T2"}
	code, out, errOut = till(t, append(shared, "orders", "--json")...)
	if code != exitOK || out != fileOrders {
		t.Fatalf("orders on the shared ledger: %d %q\nthe file's:\n%s\nthe shared ledger's:\n%s", code, errOut, fileOrders, out)
	}
	code, out, errOut = till(t, append(shared, "audit", "--verify")...)
	if code != exitOK || out != fileAudit || !strings.Contains(out, "entries, each in its place") {
		t.Fatalf("audit --verify on the shared ledger: %d %q %q, the file's %q", code, out, errOut, fileAudit)
	}
}

// TestLedgerCopyRefusesBeforeTheDatabase: a --to that is no PostgreSQL
// URL (exit 2), no file to copy (exit 2, and none made; an empty file
// left empty), a file whose
// audit trail is broken (said before the database is even tried), and a
// database that cannot be reached (its password never repeated).
func TestLedgerCopyRefusesBeforeTheDatabase(t *testing.T) {
	sandboxHome(t)
	unreachable := "postgres://till:s3cret@127.0.0.1:1/till?connect_timeout=2"
	if code, _, errOut := till(t, "ledger", "copy", "--to", "mysql://till:s3cret@db/till"); code != exitUsage ||
		!strings.Contains(errOut, "PostgreSQL URL") || strings.Contains(errOut, "s3cret") {
		t.Fatalf("a MySQL URL: %d %q", code, errOut)
	}
	if code, _, errOut := till(t, "ledger", "copy"); code != exitUsage || !strings.Contains(errOut, "--to") {
		t.Fatalf("no --to: %d %q", code, errOut)
	}
	missing := filepath.Join(t.TempDir(), "none.db")
	if code, _, errOut := till(t, "--db", missing, "ledger", "copy", "--to", unreachable); code != exitUsage || !strings.Contains(errOut, "no ledger at "+missing) {
		t.Fatalf("no file: %d %q", code, errOut)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("the refused copy made %s: %v", missing, err)
	}
	empty := filepath.Join(t.TempDir(), "empty.db") // bbolt would make a ledger in it
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := till(t, "--db", empty, "ledger", "copy", "--to", unreachable); code != exitUsage || !strings.Contains(errOut, "no ledger at "+empty) {
		t.Fatalf("an empty file: %d %q", code, errOut)
	}
	if fi, err := os.Stat(empty); err != nil || fi.Size() != 0 {
		t.Fatalf("the refused copy wrote %s: %v", empty, err)
	}

	t.Setenv("TILL_MANAGER_PIN_NEW", "4826")
	till(t, "pin", "set")
	os.Unsetenv("TILL_MANAGER_PIN_NEW")
	if code, _, errOut := till(t, "ledger", "copy", "--to", unreachable); code != exitFail ||
		!strings.Contains(errOut, "Could not open the shared ledger") || strings.Contains(errOut, "s3cret") {
		t.Fatalf("an unreachable database: %d %q", code, errOut)
	}
	editAuditEntry(t, 1, func(v []byte) []byte {
		v[len(v)-1] ^= 1 // the last byte of its hash
		return v
	})
	if code, _, errOut := till(t, "ledger", "copy", "--to", unreachable); code != exitFail ||
		!strings.Contains(errOut, "broken at entry 1") || !strings.Contains(errOut, "Nothing was copied") {
		t.Fatalf("a broken trail: %d %q", code, errOut)
	}
}

// The hint names the URL to run the desks with, its password masked.
func TestMaskedURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://till@db/till?sslmode=disable":            "postgres://till@db/till?sslmode=disable",
		"postgres://till:s3cret@db:5433/till":                "postgres://till:xxxxx@db:5433/till",
		"postgres://till@/till?host=/run/pg&password=s3cret": "postgres://till@/till?host=%2Frun%2Fpg&password=xxxxx",
	} {
		got, masked := maskedURL(in)
		if got != want || masked != strings.Contains(in, "s3cret") {
			t.Errorf("maskedURL(%q) = %q, %v; want %q", in, got, masked, want)
		}
	}
}

// The table of figures marks the rows that differ, and only those, and
// lines its columns up in Chinese too (a CJK character is two columns).
func TestFiguresTableMarksDifferences(t *testing.T) {
	cfg, err := loadConfig(writeConfig(t, ""), true)
	if err != nil {
		t.Fatal(err)
	}
	a := ledger.NewFigures()
	a.Mode, a.Audit, a.Head = "sandbox", 3, ledger.AuditHead{Seq: 3, Hash: "0fe7e4a4ecaa716c"}
	a.Orders[checkout.StatePaid] = ledger.Tally{Count: 2, Amount: 2030}
	a.Orders[checkout.StateClosed] = ledger.Tally{Count: 1, Amount: 990}
	b := ledger.NewFigures()
	b.Mode, b.Audit, b.Head = a.Mode, a.Audit, a.Head
	b.Orders[checkout.StatePaid] = ledger.Tally{Count: 2, Amount: 2031}
	b.Orders[checkout.StateClosed] = a.Orders[checkout.StateClosed]
	for _, lang := range catalog.Langs {
		p := catalog.New(lang)
		var out strings.Builder
		writeFigures(&out, p, cfg, a, b)
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		var marked []string
		for _, l := range lines {
			if strings.HasSuffix(l, "≠") {
				marked = append(marked, l)
			}
		}
		if len(marked) != 1 || !strings.Contains(marked[0], "¥20.30") || !strings.Contains(marked[0], "¥20.31") {
			t.Errorf("%s: marked %q, want the paid row alone:\n%s", lang, marked, out.String())
		}
		col := func(line, s string) int { return ansi.StringWidth(line[:strings.Index(line, s)]) }
		if file, mode := col(lines[0], p.T("cli.ledger.copy.col.file")), col(lines[1], modeName(p, "sandbox")); file != mode {
			t.Errorf("%s: the file's column starts at %d in the header and at %d in the mode row:\n%s", lang, file, mode, out.String())
		}
	}
}
