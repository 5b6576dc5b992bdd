package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"till/checkout"
	"till/store"
)

// TestBackupWithTheDeskOpenAndRestore: till backup writes a hot copy
// through the desk's socket while it runs (a relative FILE is the
// client's, not the desk's), and from the file itself once it is closed;
// each copy opens as a ledger holding the sale; the ledger itself is
// never written over.
func TestBackupWithTheDeskOpenAndRestore(t *testing.T) {
	d := servingDesk(t)
	o := paidSale(t, d, checkout.MethodWeChat, 1230)
	work := t.TempDir()
	t.Chdir(work)
	code, out, errOut := till(t, "backup", "open.db")
	if code != 0 || !strings.Contains(out, filepath.Join(work, "open.db")) {
		t.Fatalf("backup through the desk: %d %q %q", code, out, errOut)
	}
	paidSale(t, d, checkout.MethodAlipay, 800) // the desk goes on selling
	d.Close()
	if code, out, errOut = till(t, "backup", filepath.Join(work, "closed.db")); code != 0 {
		t.Fatalf("backup of the closed ledger: %d %q %q", code, out, errOut)
	}
	for name, want := range map[string]int{"open.db": 1, "closed.db": 2} {
		st, err := store.Open(filepath.Join(work, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := st.Check(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		got, err := st.Order(t.Context(), o.No)
		if err != nil || got.State != checkout.StatePaid {
			t.Errorf("%s: the sale %+v %v", name, got, err)
		}
		open, _ := st.OpenOrders(t.Context())
		if c, _ := st.VerifyAudit(t.Context()); !c.OK() || len(open) != 0 {
			t.Errorf("%s: audit %+v, open %d", name, c, len(open))
		}
		all, err := st.OrdersCreated(t.Context(), time.Unix(0, 0), time.Now().Add(24*time.Hour), 0)
		if err != nil || len(all) != want {
			t.Errorf("%s: %d orders, want %d (%v)", name, len(all), want, err)
		}
		st.Close()
	}
	// Through the socket a relative FILE is the client's directory's,
	// whatever the holder's working directory.
	d2, err := openDesk(&CLI{})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	client := t.TempDir()
	var stdout, stderr strings.Builder
	if code := runHeld(t.Context(), d2, []string{"backup", "rel.db"}, func(string) string { return "" }, client, &stdout, &stderr); code != 0 {
		t.Fatalf("backup in the holder: %d %s", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(client, "rel.db")); err != nil {
		t.Fatalf("the copy is not in the client's directory: %v (%s)", err, stdout.String())
	}
	d2.Close()
	ledger := filepath.Join(os.Getenv("XDG_DATA_HOME"), "till", "sandbox", "till.db")
	if code, _, errOut := till(t, "backup", ledger); code != 2 || !strings.Contains(errOut, "the ledger itself") {
		t.Fatalf("backup onto the ledger: %d %s", code, errOut)
	}
}

// TestAutomaticBackupsAtCloseAndDaily: with [backup] dir, a day closed
// from a script through the desk leaves a copy named after the day and
// its Z number, and the desk's daily copy is dated by the shop's day;
// both open as ledgers with the sale.
func TestAutomaticBackupsAtCloseAndDaily(t *testing.T) {
	sandboxHome(t)
	dir := filepath.Join(t.TempDir(), "copies")
	cfgDir := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "till")
	if err := os.MkdirAll(cfgDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "config.toml"), []byte("[backup]\ndir = \""+dir+"\"\nkeep = 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TILL_MANAGER_PIN_NEW", "4826")
	if code, _, errOut := till(t, "pin", "set"); code != 0 {
		t.Fatalf("pin set: %s", errOut)
	}
	d, err := openDesk(&CLI{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.serve(); err != nil {
		t.Fatal(err)
	}
	o := paidSale(t, d, checkout.MethodWeChat, 1230)
	if d.backups == nil {
		t.Fatal("no backups with [backup] dir set")
	}
	t.Setenv("TILL_MANAGER_PIN", "4826")
	code, out, errOut := till(t, "close-day")
	if code != 0 || !strings.Contains(out, "Backed up to "+filepath.Join(dir, "till-sandbox-")) {
		t.Fatalf("close-day: %d %q %s", code, out, errOut)
	}
	day := time.Now().In(d.cfg.location).Format(checkout.DayLayout)
	daily, err := d.backups.Daily(t.Context())
	if err != nil || filepath.Base(daily) != "till-sandbox-"+day+".db" {
		t.Fatalf("daily copy %q %v", daily, err)
	}
	for _, name := range []string{"till-sandbox-" + day + "-z1.db", "till-sandbox-" + day + ".db"} {
		st, err := store.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, err := st.Order(t.Context(), o.No); err != nil || got.State != checkout.StatePaid {
			t.Fatalf("%s holds %+v %v", name, got, err)
		}
		st.Close()
	}
	if s := d.backups.Status(); s.Failed || s.LastPath != daily {
		t.Fatalf("status %+v", s)
	}
}

// TestBackupSettingsAreChecked: a relative directory or a keep out of
// range is refused at start, naming the setting.
func TestBackupSettingsAreChecked(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"[backup]\ndir = \"copies\"\n", "backup.dir"},
		{"[backup]\ndir = \"/tmp/x\"\nkeep = 0\n", "backup.keep"},
	} {
		if _, err := loadConfig(writeConfig(t, c.text), true); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v", c.text, err)
		}
	}
}
