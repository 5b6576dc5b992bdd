package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"till/checkout"
	"till/providers/alipay/alipayemu"
	"till/providers/wechat/wechatemu"
)

// TestTradesSurviveARestart: an order made in one run is found, paid, by
// the next, through the real adapters, because keys and trades are kept in
// sandbox.db.
func TestTradesSurviveARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sandbox.db")
	ctx := context.Background()
	sb, err := Start(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	nos := map[checkout.Method]string{}
	for i, p := range sb.Providers {
		no := "20261123060000000T10" + string(rune('0'+i))
		res, err := p.Create(ctx, checkout.CreateRequest{OrderNo: no, Amount: 1230, Description: "test",
			ExpiresAt: time.Now().Add(10 * time.Minute), Terminal: "T1"})
		if err != nil {
			t.Fatalf("%s create: %v", p.Method(), err)
		}
		resp, err := http.PostForm(res.CodeURL, url.Values{"action": {"pay"}})
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s pay at %s: %v %v", p.Method(), res.CodeURL, err, resp)
		}
		resp.Body.Close()
		nos[p.Method()] = no
	}
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}

	sb, err = Start(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if len(sb.Providers) != 2 {
		t.Fatalf("%d providers", len(sb.Providers))
	}
	for _, p := range sb.Providers {
		st, err := p.Query(ctx, nos[p.Method()])
		if err != nil {
			t.Fatalf("%s query after restart: %v", p.Method(), err)
		}
		if st.State != checkout.TradePaid || st.Amount != 1230 {
			t.Fatalf("%s after restart: %+v, want paid 12.30", p.Method(), st)
		}
	}
}

func TestSecondSandboxOnTheSameFileIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sandbox.db")
	sb, err := Start(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if _, err := Start(path, nil); err == nil {
		t.Fatal("a second sandbox opened the same file")
	}
}

// port is the port of an emulator's http://host:port URL.
func port(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Port() == "" {
		t.Fatalf("URL %q", raw)
	}
	return u.Port()
}

// freeAddr is a loopback address nobody listens on (just now).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// payWorks makes a trade on each emulator through its adapter and pays it
// at the payer page the emulator named: the URLs it hands out are its own.
func payWorks(t *testing.T, sb *Sandbox, no string) {
	t.Helper()
	for i, p := range sb.Providers {
		res, err := p.Create(context.Background(), checkout.CreateRequest{OrderNo: no + string(rune('0'+i)), Amount: 100, Description: "test",
			ExpiresAt: time.Now().Add(10 * time.Minute), Terminal: "T1"})
		if err != nil {
			t.Fatalf("%s create: %v", p.Method(), err)
		}
		base := sb.WeChatURL()
		if p.Method() == checkout.MethodAlipay {
			base = sb.Alipay.URL
		}
		if !strings.HasPrefix(res.CodeURL, base+"/") {
			t.Fatalf("%s code URL %s, want one on %s", p.Method(), res.CodeURL, base)
		}
		resp, err := http.PostForm(res.CodeURL, url.Values{"action": {"pay"}})
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s pay at %s: %v %v", p.Method(), res.CodeURL, err, resp)
		}
		resp.Body.Close()
	}
}

// TestPortsKeptAcrossRuns: the second Start on the same sandbox.db
// listens where the first did, so a config exported once stays good.
func TestPortsKeptAcrossRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sandbox.db")
	sb, err := Start(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, a := sb.WeChatURL(), sb.AlipayGateway()
	if w == "" || a == "" || port(t, w) == port(t, a) {
		t.Fatalf("first run: %s %s", w, a)
	}
	sb.Close()
	sb, err = Start(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if sb.WeChatURL() != w || sb.AlipayGateway() != a {
		t.Fatalf("second run on %s %s, first on %s %s", sb.WeChatURL(), sb.AlipayGateway(), w, a)
	}
	payWorks(t, sb, "20261202010000000T10")
}

// TestAddrOptionsOverrideAndAreKept: WithWeChatAddr and WithAlipayAddr
// win over the kept addresses and are kept for the next run without them.
func TestAddrOptionsOverrideAndAreKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sandbox.db")
	sb, err := Start(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	sb.Close()
	wa, aa := freeAddr(t), freeAddr(t)
	for wa == aa {
		aa = freeAddr(t)
	}
	sb, err = Start(path, nil, WithWeChatAddr(wa), WithAlipayAddr(aa))
	if err != nil {
		t.Fatal(err)
	}
	if sb.WeChatURL() != "http://"+wa || sb.AlipayGateway() != "http://"+aa+"/gateway.do" {
		t.Fatalf("asked %s %s, got %s %s", wa, aa, sb.WeChatURL(), sb.AlipayGateway())
	}
	payWorks(t, sb, "20261202020000000T10")
	sb.Close()
	sb, err = Start(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if sb.WeChatURL() != "http://"+wa || sb.AlipayGateway() != "http://"+aa+"/gateway.do" {
		t.Fatalf("next run on %s %s, want the asked %s %s", sb.WeChatURL(), sb.AlipayGateway(), wa, aa)
	}
}

// TestTakenPortFallsBack: a kept port someone else holds now gives way
// to a free one, the log says so, and the new one is kept; an address
// asked for explicitly that is taken fails Start instead.
func TestTakenPortFallsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sandbox.db")
	sb, err := Start(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, a := sb.WeChatURL(), sb.AlipayGateway()
	sb.Close()
	squatter, err := net.Listen("tcp", strings.TrimPrefix(w, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()

	var logs bytes.Buffer
	sb, err = Start(path, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	moved := sb.WeChatURL()
	if moved == w || sb.AlipayGateway() != a {
		t.Fatalf("with %s taken: %s %s", w, moved, sb.AlipayGateway())
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "was="+strings.TrimPrefix(w, "http://")) {
		t.Fatalf("no warning naming %s:\n%s", w, logs.String())
	}
	payWorks(t, sb, "20261202030000000T10")
	sb.Close()

	sb, err = Start(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sb.WeChatURL() != moved {
		t.Fatalf("after the fallback: %s, want the new %s kept", sb.WeChatURL(), moved)
	}
	sb.Close()

	if _, err := Start(path, nil, WithWeChatAddr(squatter.Addr().String())); err == nil || !strings.Contains(err.Error(), squatter.Addr().String()) {
		t.Fatalf("a taken address asked for: %v", err)
	}
}

// TestDeskAddrKept: the exported desk's address is chosen once.
func TestDeskAddrKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sandbox.db")
	sb, err := Start(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	first, err := sb.DeskAddr()
	if err != nil || !strings.HasPrefix(first, "127.0.0.1:") {
		t.Fatalf("desk addr %q %v", first, err)
	}
	sb.Close()
	sb, err = Start(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if again, err := sb.DeskAddr(); err != nil || again != first {
		t.Fatalf("next run %q %v, want %q", again, err, first)
	}
	if s := fmt.Sprintf("%v %+v %#v %s", sb.Secrets(), sb.Secrets(), sb.Secrets(), sb.Secrets()); strings.Contains(s, "PRIVATE") || strings.Contains(s, string(sb.Secrets().APIv3Key)) {
		t.Fatalf("secrets printed: %s", s)
	}
}

// TestTestCodesAreWalletCodes: every documented test code is told as its
// wallet's payment code, and each wallet has each behaviour once.
func TestTestCodesAreWalletCodes(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range TestCodes {
		if m, err := checkout.WalletOf(c.Code); err != nil || m != c.Method {
			t.Errorf("%s %s: %q is told as %q (%v)", c.Method, c.Behaviour, c.Code, m, err)
		}
		k := string(c.Method) + "/" + c.Behaviour
		if seen[k] {
			t.Errorf("%s twice", k)
		}
		seen[k] = true
	}
	for _, m := range []checkout.Method{checkout.MethodWeChat, checkout.MethodAlipay} {
		for _, b := range []string{"pays", "password", "never", "balance", "expired"} {
			if _, ok := FindTestCode(m, b); !ok {
				t.Errorf("no %s %s code", m, b)
			}
		}
	}
}

// TestTestCodesAreTheEmulators: the codes `till sandbox code` prints are
// the ones the emulators act on.
func TestTestCodesAreTheEmulators(t *testing.T) {
	want := map[string]string{
		"wechat/pays": wechatemu.CodePaysAtOnce, "wechat/password": wechatemu.CodeAsksPassword,
		"wechat/never": wechatemu.CodeNeverConfirms, "wechat/balance": wechatemu.CodeInsufficient,
		"wechat/expired": wechatemu.CodeExpired,
		"alipay/pays":    alipayemu.CodePaysAtOnce, "alipay/password": alipayemu.CodeConfirmsLater,
		"alipay/never": alipayemu.CodeNeverConfirms, "alipay/balance": alipayemu.CodeInsufficient,
		"alipay/expired": alipayemu.CodeExpired,
	}
	for _, c := range TestCodes {
		if w := want[string(c.Method)+"/"+c.Behaviour]; c.Code != w {
			t.Errorf("%s %s: %s, the emulator's is %s", c.Method, c.Behaviour, c.Code, w)
		}
	}
}
