package main

import (
	"context"
	"strings"
	"time"

	"till/checkout"
	"till/providers/alipay"
	"till/providers/wechat"
	"till/webhook"
)

// listen starts the notification listener on flag (--listen), else on
// [webhook] listen; in the in-process sandbox, by default, on a free loopback port,
// whose URL the engine then gives the emulators as notify_url. With a
// merchant account and no address it stays off. An address that cannot
// be taken stops the start, with a message naming it.
func (d *desk) listen(flag string) error {
	addr := flag
	if addr == "" {
		addr = d.cfg.Webhook.Listen
	}
	if addr == "" && d.cfg.emulated() {
		addr = "127.0.0.1:0"
	}
	if addr == "" || addr == "off" {
		// "off" keeps the sandbox's listener off too: the desk then learns
		// of payments by polling alone, as with no notify_url.
		return nil
	}
	cfg := webhook.Config{Engine: d.engine, Log: d.log.With("pkg", "webhook")}
	for _, p := range d.providers {
		switch p := p.(type) {
		case *wechat.Provider:
			cfg.WeChat = p
		case *alipay.Provider:
			cfg.Alipay = p
		}
	}
	l, err := webhook.Listen(addr, webhook.New(cfg), d.log.With("pkg", "webhook"))
	if err != nil {
		return err
	}
	d.closers = append(d.closers, closeFunc(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return l.Close(ctx)
	}))
	d.listenURL = l.URL
	if d.cfg.emulated() {
		d.webhookURL = l.URL
	}
	d.log.Info("webhook listening", "url", l.URL)
	if a := d.cfg.Alipay; a != nil && strings.TrimSpace(a.NotifyURL) == "" {
		d.log.Warn("the listener is on but [alipay] notify_url is not set: Alipay sends no notifications, its payments are seen by polling")
	}
	return nil
}

// notifyURL is the engine's notify_url for m: the sandbox listener's, or
// "" (the adapter's configured notify_url, behind the merchant's proxy).
func (d *desk) notifyURL(m checkout.Method) string {
	if d.webhookURL == "" {
		return ""
	}
	return d.webhookURL + "/notify/" + string(m)
}

type closeFunc func() error

func (f closeFunc) Close() error { return f() }
