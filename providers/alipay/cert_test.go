package alipay

import (
	"crypto/x509"

	"testing"

	"till/checkout"
	"till/providers/alipay/alipayemu"
)

// certEnv runs the emulator and the provider in certificate mode: answers
// carry alipay_cert_sn, requests carry app_cert_sn and alipay_root_cert_sn.
func certEnv(t *testing.T, production bool, answerSN string) *env {
	p := testCerts(t)
	return newEnv(t, func(cfg *alipayemu.Config, c *Credentials, _ *[]Option) {
		cfg.AlipayCertSN = answerSN
		if answerSN == "" {
			cfg.AlipayCertSN = certSN(p.alipayCert)
		}
		c.AlipayPublicKey = nil
		c.AppCert = p.appCert
		c.AlipayRootCerts = []*x509.Certificate{p.eccRoot, p.root}
		c.AlipayCert = p.alipayCert
		c.Production = production
	})
}

func TestCertificateMode(t *testing.T) {
	p := testCerts(t)
	e := certEnv(t, false, "")
	sink := newNotifySink(t)
	req := e.create(t, 1230, func(r *checkout.CreateRequest) { r.NotifyURL = sink.URL })

	last := e.emu.LastRequest()
	if got, want := last.Get("app_cert_sn"), certSN(p.appCert); got != want {
		t.Errorf("app_cert_sn = %q, want %q", got, want)
	}
	// The ECC root is left out of alipay_root_cert_sn.
	if got, want := last.Get("alipay_root_cert_sn"), certSN(p.root); got != want {
		t.Errorf("alipay_root_cert_sn = %q, want %q", got, want)
	}
	if err := e.emu.Pay(req.OrderNo); err != nil {
		t.Fatal(err)
	}
	st, err := e.p.Query(ctx, req.OrderNo)
	if err != nil || st.State != checkout.TradePaid || st.Amount != 1230 {
		t.Fatalf("query in certificate mode: %+v, %v", st, err)
	}
	ev, err := e.p.ParseNotification(sink.next(t))
	if err != nil || ev.TotalAmount != 1230 {
		t.Fatalf("notification in certificate mode: %+v, %v", ev, err)
	}
	form := sampleNotification()
	signByHand(t, alipayKey, form)
	if _, err := e.p.ParseNotification(form); err != nil {
		t.Fatalf("hand-signed notification in certificate mode: %v", err)
	}
	signByHand(t, otherKey, form)
	if _, err := e.p.ParseNotification(form); err == nil {
		t.Fatal("notification signed by the wrong key accepted")
	}
}

// An answer naming a certificate the client does not hold cannot be
// verified: outcome unknown, whether the SDK gives up (sandbox) or tries
// to download the certificate (production).
func TestCertificateModeUnknownCert(t *testing.T) {
	for _, production := range []bool{false, true} {
		e := certEnv(t, production, "0123456789abcdef0123456789abcdef")
		_, err := e.p.Query(ctx, newOrderNo())
		assertUnknown(t, err)
	}
}
