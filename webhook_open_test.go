package main

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"till/checkout"
)

// The sandbox desk listens on a free loopback port and gives the
// emulators that notify_url: a payment on the payer page is in the ledger
// as paid without a poll.
func TestSandboxDeskTakesNotifications(t *testing.T) {
	sandboxHome(t)
	d, err := openDesk(&CLI{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.listen(""); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d.webhookURL, "http://127.0.0.1:") {
		t.Fatalf("webhook URL %q", d.webhookURL)
	}
	resp, err := http.Get(d.webhookURL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %s", resp.Status)
	}
	o, err := d.engine.Start(context.Background(), checkout.MethodWeChat, 1230, "")
	if err != nil {
		t.Fatal(err)
	}
	pay, err := http.PostForm(o.CodeURL, url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	pay.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := d.ledger.Order(context.Background(), o.No)
		if err == nil && got.State == checkout.StatePaid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %+v %v, want paid by the notification", got, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestListenAddressInUseIsNamed(t *testing.T) {
	sandboxHome(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	d, err := openDesk(&CLI{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	addr := taken.Addr().String()
	if err := d.listen(addr); err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("err %v, want one naming %s", err, addr)
	}
}

// TestListenOff: "off" keeps even the sandbox's listener off, and the
// emulators get no notify_url.
func TestListenOff(t *testing.T) {
	sandboxHome(t)
	d, err := openDesk(&CLI{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.listen("off"); err != nil || d.webhookURL != "" || d.listenURL != "" || d.notifyURL(checkout.MethodWeChat) != "" {
		t.Fatalf("listen off: %v, URL %q", err, d.webhookURL)
	}
}

// --listen works with the desk named or not.
func TestListenFlag(t *testing.T) {
	for _, args := range [][]string{{"--listen", "127.0.0.1:8787"}, {"desk", "--listen", "127.0.0.1:8787"}} {
		var cli CLI
		parser, err := kong.New(&cli, kong.Name("till"))
		if err != nil {
			t.Fatal(err)
		}
		kctx, err := parser.Parse(args)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if kctx.Command() != "desk" || cli.Desk.Listen != "127.0.0.1:8787" {
			t.Fatalf("%q: command %q listen %q", args, kctx.Command(), cli.Desk.Listen)
		}
	}
}
