package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"till/checkout"
	"till/providers/alipay"
	"till/providers/wechat"
	"till/store"
	"till/webhook"
)

// BenchmarkNotification is one payment notification after another, each
// for an order awaiting payment, for each provider:
//
//   - listener: posted over loopback HTTP to the real listener, which
//     verifies, decrypts, checks and commits it (one fsynced bbolt
//     transaction) before it answers;
//   - crypto: the adapter's parse of the same notifications alone
//     (signature verification, and for WeChat Pay the AES-GCM
//     decryption), no ledger;
//   - ledger: Engine.Notified with the notice the listener would have
//     built, the same commits with no HTTP and no crypto.
//
// notices/s is b.N over the time taken.
func BenchmarkNotification(b *testing.B) {
	k := newKeys(b)
	wx, ali, err := k.providers()
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range []checkout.Method{checkout.MethodWeChat, checkout.MethodAlipay} {
		sign := func(o floodOrder) notice {
			if m == checkout.MethodWeChat {
				return k.wechatPaid(o.no, o.amount, o.tradeNo)
			}
			return k.alipayPaid(o.no, o.amount, o.tradeNo)
		}
		b.Run(string(m)+"/listener", func(b *testing.B) {
			eng, orders := benchLedger(b, b.N, m, wx, ali)
			notes := make([]notice, len(orders))
			parallel(len(orders), func(i int) { notes[i] = sign(orders[i]) })
			l, err := webhook.Listen("127.0.0.1:0", webhook.New(webhook.Config{Engine: eng, WeChat: wx, Alipay: ali}), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close(context.Background())
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			b.ResetTimer()
			for i := range b.N {
				status, body, err := post(client, notes[i].request(l.URL))
				if err != nil || status != http.StatusNoContent && body != "success" {
					b.Fatalf("%s: %d %q %v", orders[i].no, status, body, err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notices/s")
		})
		b.Run(string(m)+"/crypto", func(b *testing.B) {
			// The parse does not look at the ledger: a few hundred
			// notifications, parsed in turn, stand for any number.
			orders := make([]floodOrder, min(b.N, 256))
			for i := range orders {
				orders[i] = floodOrder{no: fmt.Sprintf("20261201BENCH%06d", i), tradeNo: "42" + randDigits(26), amount: checkout.Money(100 + i)}
			}
			notes := make([]notice, len(orders))
			parallel(len(orders), func(i int) { notes[i] = sign(orders[i]) })
			b.ResetTimer()
			for i := range b.N {
				n := notes[i%len(notes)]
				r := httptest.NewRequest(http.MethodPost, n.Path, bytes.NewReader(n.Body))
				r.Header = n.Header.Clone()
				var no string
				if m == checkout.MethodWeChat {
					ev, err := wx.ParseNotification(r)
					if err != nil {
						b.Fatal(err)
					}
					no = ev.(*wechat.PaymentEvent).OrderNo
				} else {
					ev, err := ali.ParseNotificationRequest(r)
					if err != nil {
						b.Fatal(err)
					}
					no = ev.OrderNo
				}
				if no != orders[i%len(orders)].no {
					b.Fatalf("parsed %s", no)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notices/s")
		})
		b.Run(string(m)+"/ledger", func(b *testing.B) {
			eng, orders := benchLedger(b, b.N, m, wx, ali)
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				o := orders[i]
				raw := "SUCCESS"
				if m == checkout.MethodAlipay {
					raw = "TRADE_SUCCESS"
				}
				got, err := eng.Notified(ctx, checkout.PaymentNotice{Method: m, ID: "EV-bench", OrderNo: o.no, ProviderTradeNo: o.tradeNo,
					Amount: o.amount, Currency: checkout.Currency, State: checkout.TradePaid, PaidAt: time.Now(), Raw: raw})
				if err != nil || got.State != checkout.StatePaid {
					b.Fatalf("%s: %s %v", o.no, got.State, err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notices/s")
		})
	}
}

// benchLedger is a fresh ledger with n orders of method m awaiting
// payment, and an engine on it.
func benchLedger(b *testing.B, n int, m checkout.Method, wx *wechat.Provider, ali *alipay.Provider) (*checkout.Engine, []floodOrder) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "till.db")
	orders, _ := writeFloodLedger(b, path, n, 0, func(int) checkout.Method { return m })
	ledger, err := store.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ledger.Close() })
	// Nobody reads eng.Notices(): past its buffer, publish drops, as on
	// a headless till serve.
	eng := checkout.NewEngine(ledger, []checkout.Provider{wx, ali}, checkout.Config{Terminal: "T1", PollInterval: time.Hour}, nil, nil)
	return eng, orders
}
