package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"till/checkout"
)

// sandboxHome points till's XDG directories at a fresh temporary home, so
// a test's sandbox ledger and emulators are its own.
func sandboxHome(t *testing.T) {
	t.Helper()
	dir, err := os.MkdirTemp("", "tillhome") // short: the socket lives beside the ledger
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, k := range []string{"XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"} {
		t.Setenv(k, filepath.Join(dir, k))
	}
	for _, k := range []string{"TILL_DB", "TILL_CONFIG", "TILL_MANAGER_PIN", "TILL_MANAGER_PIN_NEW", "TILL_OPERATOR", "LC_ALL", "LC_MESSAGES"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("LANG", "en_US.UTF-8")
}

// till runs the command line and returns its exit code and output.
func till(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// paidSale opens a sale on d and pays it at the sandbox's payer page.
func paidSale(t *testing.T, d *desk, m checkout.Method, amount checkout.Money) checkout.Order {
	t.Helper()
	ctx := context.Background()
	o, err := d.engine.Start(ctx, m, amount, "")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm(o.CodeURL, url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if o, err = d.engine.Poll(ctx, o.No); err != nil || o.State != checkout.StatePaid {
		t.Fatalf("poll: %+v %v", o, err)
	}
	return o
}

// ordersJSON is `till orders --json` parsed.
func ordersJSON(t *testing.T) (string, []orderWithRefunds) {
	t.Helper()
	code, out, errOut := till(t, "orders", "--json")
	if code != 0 {
		t.Fatalf("till orders: %d %s", code, errOut)
	}
	var got struct {
		Orders []orderWithRefunds `json:"orders"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return out, got.Orders
}

// TestCommandsSameWithTheDeskOpenOrClosed: with a desk holding the ledger,
// till orders and till refund go through its control socket; with the
// desk closed they open the ledger themselves; both ways give the same
// answers, and a refund made either way is the same refund.
func TestCommandsSameWithTheDeskOpenOrClosed(t *testing.T) {
	sandboxHome(t)
	if code, _, errOut := till(t, "pin", "set"); code != 2 || !strings.Contains(errOut, "TILL_MANAGER_PIN_NEW") {
		t.Fatalf("pin set with no PIN and no terminal: %d %s", code, errOut)
	}
	t.Setenv("TILL_MANAGER_PIN_NEW", "4826")
	if code, out, errOut := till(t, "pin", "set"); code != 0 || !strings.Contains(out, "PIN is set") {
		t.Fatalf("pin set: %d %s %s", code, out, errOut)
	}
	os.Unsetenv("TILL_MANAGER_PIN_NEW")

	d, err := openDesk(&CLI{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.serve(); err != nil {
		t.Fatal(err)
	}
	wx := paidSale(t, d, checkout.MethodWeChat, 1230)
	ali := paidSale(t, d, checkout.MethodAlipay, 800)

	// Through the desk: a WeChat refund (PROCESSING first in the sandbox).
	t.Setenv("TILL_MANAGER_PIN", "4826")
	code, out, errOut := till(t, "refund", wx.No, "--amount", "2.30", "--reason", "wrong size")
	if code != 0 || !strings.Contains(out, "Refunded ¥2.30") || !strings.Contains(out, "¥10.00 is left") {
		t.Fatalf("refund through the desk: %d %q %q", code, out, errOut)
	}
	// A refused one: more than is left, exit 1, the reason on stderr.
	if code, _, errOut := till(t, "refund", ali.No, "--amount", "8.01"); code != 1 || !strings.Contains(errOut, "¥8.00 is left") {
		t.Fatalf("refund above what is left: %d %q", code, errOut)
	}
	openText, openOrders := ordersJSON(t)
	if sock, _ := filepath.Glob(filepath.Join(os.Getenv("XDG_DATA_HOME"), "till", "sandbox", "*.sock")); len(sock) != 1 {
		t.Fatalf("the desk's socket: %v", sock)
	}
	d.Close()

	// The desk closed: the same list, read from the file.
	closedText, _ := ordersJSON(t)
	if openText != closedText {
		t.Fatalf("orders differ:\nthrough the desk:\n%s\nfrom the file:\n%s", openText, closedText)
	}
	if len(openOrders) != 2 || len(openOrders[0].Refunds) != 1 || openOrders[0].Refunds[0].Operator != "manager" ||
		openOrders[0].Refunds[0].State != checkout.RefundSucceeded || openOrders[0].Refunded != 230 {
		t.Fatalf("orders: %+v", openOrders)
	}
	// And a refund with the desk closed.
	if code, out, errOut := till(t, "refund", ali.No, "--amount", "8"); code != 0 || !strings.Contains(out, "Refunded ¥8.00") {
		t.Fatalf("refund from the file: %d %q %q", code, out, errOut)
	}
	if _, orders := ordersJSON(t); orders[1].State != checkout.StateRefunded {
		t.Fatalf("after the second refund: %+v", orders[1])
	}
	if code, _, errOut := till(t, "refund", ali.No, "--amount", "0.01"); code != 1 || !strings.Contains(errOut, "nothing left to refund") {
		t.Fatalf("a refunded order again: %d %q", code, errOut)
	}
}

// TestFiveWrongPINsLockAcrossRestarts: each command opens and closes the
// ledger (a restart each time); five wrong PINs lock manager actions, and
// the sixth try, with the right PIN, is refused too.
func TestFiveWrongPINsLockAcrossRestarts(t *testing.T) {
	sandboxHome(t)
	t.Setenv("TILL_MANAGER_PIN_NEW", "4826")
	if code, _, errOut := till(t, "pin", "set"); code != 0 {
		t.Fatal(errOut)
	}
	os.Unsetenv("TILL_MANAGER_PIN_NEW")
	t.Setenv("TILL_MANAGER_PIN", "1111")
	for i := range 5 {
		code, _, errOut := till(t, "operator", "add", "lin", "Lin Mei")
		if code != 1 {
			t.Fatalf("wrong PIN %d: %d %s", i+1, code, errOut)
		}
		if i == 4 && !strings.Contains(errOut, "locked until") {
			t.Fatalf("the fifth wrong PIN did not lock: %s", errOut)
		}
	}
	t.Setenv("TILL_MANAGER_PIN", "4826")
	if code, _, errOut := till(t, "operator", "add", "lin", "Lin Mei"); code != 1 || !strings.Contains(errOut, "locked until") {
		t.Fatalf("the right PIN during the lock: %d %s", code, errOut)
	}
	if code, out, _ := till(t, "operator", "list"); code != 0 || !strings.Contains(out, "No operators") {
		t.Fatalf("an operator was added during the lock: %s", out)
	}
	code, out, _ := till(t, "audit", "--json")
	if code != 0 || strings.Count(out, `"kind": "pin.failed"`) != 4 || strings.Count(out, `"kind": "pin.locked"`) != 1 {
		t.Fatalf("audit: %s", out)
	}
}

// TestAuditVerifyFindsAnEditedEntry: till audit --verify passes on the
// trail as written and fails, naming the entry, after one is edited in
// the file.
func TestAuditVerifyFindsAnEditedEntry(t *testing.T) {
	sandboxHome(t)
	t.Setenv("TILL_MANAGER_PIN_NEW", "4826")
	till(t, "pin", "set")
	os.Unsetenv("TILL_MANAGER_PIN_NEW")
	t.Setenv("TILL_MANAGER_PIN", "4826")
	till(t, "operator", "add", "lin", "Lin Mei")
	till(t, "operator", "add", "wang", "Wang Fang")
	if code, out, errOut := till(t, "audit", "--verify"); code != 0 || !strings.Contains(out, "3 entries") {
		t.Fatalf("verify: %d %s %s", code, out, errOut)
	}
	editAuditEntry(t, 2, func(v []byte) []byte { return bytes.Replace(v, []byte("lin Lin Mei"), []byte("eve Eve Ill"), 1) })
	if code, _, errOut := till(t, "audit", "--verify"); code != 1 || !strings.Contains(errOut, "entry 2") {
		t.Fatalf("verify after the edit: %d %s", code, errOut)
	}
}

// editAuditEntry rewrites entry seq of the sandbox ledger's trail in the
// file, behind till's back, as edit says.
func editAuditEntry(t *testing.T, seq byte, edit func([]byte) []byte) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(os.Getenv("XDG_DATA_HOME"), "till", "sandbox", "till.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("audit"))
		k := []byte{0, 0, 0, 0, 0, 0, 0, seq}
		return b.Put(k, edit(bytes.Clone(b.Get(k))))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
}
