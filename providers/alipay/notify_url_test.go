package alipay

import (
	"strings"
	"testing"

	"till/checkout"
	"till/providers/alipay/alipayemu"
)

// notify_url must be a public https URL for a live merchant; loopback
// (over http too) only in a config marked sandbox, whatever the gateway.
func TestNotifyURLChecked(t *testing.T) {
	testKeys(t)
	dir := t.TempDir()
	good := Config{AppID: testAppID,
		PrivateKeyFile:      writeFile(t, dir, "app_private.pem", pemPKCS1(appKey)),
		AlipayPublicKeyFile: writeFile(t, dir, "alipay_public.pem", pemPKIX(t, &alipayKey.PublicKey))}
	const emu = "http://127.0.0.1:9/gateway.do"
	for _, tc := range []struct {
		url, gateway string
		sandbox      bool
		want         string // "" is accepted
	}{
		{"https://shop.example.com/notify/alipay", "", false, ""},
		{" https://shop.example.com/notify/alipay ", "", false, ""},
		{"", "", false, ""},
		{"http://shop.example.com/notify/alipay", "", false, "must be an https URL"},
		{"shop.example.com/notify/alipay", "", false, "is not an absolute URL"},
		{"https://shop.example.com/notify/alipay?x=1", "", false, "must not carry a query"},
		{"https://user@shop.example.com/notify/alipay", "", false, "must not carry a fragment or a user name"},
		{"https://127.0.0.1:8787/notify/alipay", "", false, "is on this machine"},
		{"http://127.0.0.1:8787/notify/alipay", "https://openapi.alipay.com/gateway.do", false, "is on this machine"},
		{"http://127.0.0.1:8787/notify/alipay", emu, false, "only for a config marked `sandbox = true`"},
		{"http://127.0.0.1:8787/notify/alipay", emu, true, ""},
		{"http://localhost:8787/notify/alipay", emu, true, ""},
		{"http://shop.example.com/notify/alipay", emu, true, "must be an https URL"},
		{"http://127.0.0.1:8787/notify/alipay?x=1", emu, true, "must not carry a query"},
		{"ftp://shop.example.com/n", "", false, "must be an https URL"},
	} {
		c := good
		c.NotifyURL, c.Gateway, c.Sandbox = tc.url, tc.gateway, tc.sandbox
		cr, err := c.Load()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q (gateway %q, sandbox %v): %v", tc.url, tc.gateway, tc.sandbox, err)
		case tc.want == "" && cr.NotifyURL != strings.TrimSpace(tc.url):
			t.Errorf("%q: loaded %q", tc.url, cr.NotifyURL)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), "alipay.notify_url: ") || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q (gateway %q, sandbox %v): %v, want alipay.notify_url: …%s", tc.url, tc.gateway, tc.sandbox, err, tc.want)
		}
	}
}

// An order that names no notify URL gets the configured one; one that
// names its own (the sandbox's listener) keeps it.
func TestCreateSendsTheConfiguredNotifyURL(t *testing.T) {
	const conf = "https://shop.example.com/notify/alipay"
	e := newEnv(t, func(_ *alipayemu.Config, cr *Credentials, _ *[]Option) { cr.NotifyURL = conf })
	req := e.create(t, 100)
	if tr, ok := e.emu.Trade(req.OrderNo); !ok || tr.NotifyURL != conf {
		t.Fatalf("trade %+v, want notify_url %s", tr, conf)
	}
	own := "http://127.0.0.1:9/notify/alipay"
	req = e.create(t, 100, func(r *checkout.CreateRequest) { r.NotifyURL = own })
	if tr, ok := e.emu.Trade(req.OrderNo); !ok || tr.NotifyURL != own {
		t.Fatalf("trade %+v, want notify_url %s", tr, own)
	}
}
