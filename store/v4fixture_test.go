package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"till/checkout"
)

// TestWriteV4Fixture writes testdata/v4.db, the ledger TestMigrateV4
// migrates, with a till of schema version 4 (the commit before issue 13,
// 7314fe4): records in JSON, every kind the ledger holds. It runs only
// there, and only when asked:
//
//	git archive 7314fe4 | tar -x -C /tmp/till-v4
//	cp store/v4fixture_test.go /tmp/till-v4/store/
//	(cd /tmp/till-v4 && TILL_WRITE_V4=1 go test ./store -run TestWriteV4Fixture -count 1)
//	cp /tmp/till-v4/store/testdata/v4.db store/testdata/
func TestWriteV4Fixture(t *testing.T) {
	if os.Getenv("TILL_WRITE_V4") == "" {
		t.Skip("TILL_WRITE_V4=1 writes testdata/v4.db (at a v4 till)")
	}
	if schemaVersion() != 4 {
		t.Fatalf("this till writes schema version %d: the fixture must come from a v4 till", schemaVersion())
	}
	path := filepath.Join("testdata", "v4.db")
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(path)
	shanghai := benchShop(t)
	kolkata := time.FixedZone("", 5*3600+1800)
	clk := &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 123456789, shanghai)}
	s, err := Open(path, WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}()
	desk := checkout.WithActor(context.Background(), checkout.Actor{Terminal: "T1", Operator: "ana", Via: "desk"})
	cli := checkout.WithActor(context.Background(), checkout.Actor{Terminal: "K2", Operator: "bo", Via: "cli"})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.AddOperator(cli, checkout.Operator{ID: "ana", Name: "Ana Li"})
	must(err)
	_, err = s.AddOperator(cli, checkout.Operator{ID: "bo", Name: "Bo 王"})
	must(err)
	_, err = s.UpdatePIN(cli, func(p *checkout.PINState) (checkout.AuditEntry, error) {
		p.Hash, p.SetAt = "argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA", clk.Now()
		return checkout.AuditEntry{Kind: checkout.AuditPINSet}, nil
	})
	must(err)
	n := 0
	sale := func(ctx context.Context, method checkout.Method, amount checkout.Money, created time.Time, note string) checkout.Order {
		n++
		no := benchNo(created, "", n)
		o := checkout.Order{No: no, Terminal: "T1", Method: method, Amount: amount, Note: note, State: checkout.StateCreated,
			Operator: "ana", CreatedAt: created, UpdatedAt: created, ExpiresAt: created.Add(3 * time.Minute).Truncate(time.Second)}
		must(s.CreateOrder(ctx, o))
		return o
	}
	await := func(ctx context.Context, o checkout.Order) {
		clk.Add(300 * time.Millisecond)
		_, err := s.Advance(ctx, o.No, checkout.StateAwaiting, func(x *checkout.Order) {
			x.AcceptedAt, x.CodeURL, x.ProviderSaid, x.ProviderSaidAt = clk.Now(), "weixin://wxpay/bizpayurl?pr=Fx"+o.No[14:], "NOTPAY", clk.Now()
		})
		must(err)
	}
	pay := func(ctx context.Context, o checkout.Order) {
		clk.Add(9 * time.Second)
		_, err := s.Advance(ctx, o.No, checkout.StatePaid, func(x *checkout.Order) {
			x.ProviderTradeNo, x.ProviderSaid, x.ProviderSaidAt = "4200003100"+o.No[:17], "SUCCESS", clk.Now()
		})
		must(err)
	}
	var paid []checkout.Order
	for i := range 24 {
		clk.Add(25 * time.Second)
		at := clk.Now()
		switch i % 4 { // times as the desk's clock, UTC, another zone, a caller's
		case 1:
			at = at.UTC()
		case 2:
			at = at.In(kolkata)
		}
		method := checkout.MethodWeChat
		if i%3 == 0 {
			method = checkout.MethodAlipay
		}
		note := ""
		if i%5 == 0 {
			note = "2 × 咖啡, \"extra\" hot"
		}
		o := sale(desk, method, checkout.Money(100+i*731), at, note)
		await(desk, o)
		pay(desk, o)
		paid = append(paid, o)
	}
	// A sale still awaiting, one only created, one failed, one closed
	// with a late check due, one closed and then paid late, one late
	// payment a clerk acknowledged, a disputed one.
	clk.Add(time.Minute)
	awaiting := sale(desk, checkout.MethodWeChat, 880, clk.Now(), "")
	await(desk, awaiting)
	clk.Add(time.Minute)
	sale(desk, checkout.MethodAlipay, 990, time.Time{}, "")
	clk.Add(time.Minute)
	failed := sale(desk, checkout.MethodWeChat, 1200, clk.Now(), "")
	_, err = s.Advance(desk, failed.No, checkout.StateFailed, func(x *checkout.Order) { x.Reason = "ORDERPAID: 订单已支付" })
	must(err)
	clk.Add(time.Minute)
	closed := sale(desk, checkout.MethodAlipay, 1500, clk.Now(), "")
	await(desk, closed)
	clk.Add(3 * time.Minute)
	_, err = s.Advance(desk, closed.No, checkout.StateClosed, func(x *checkout.Order) {
		x.ClosedAt, x.Reason, x.ProviderSaid, x.RecheckAt = clk.Now(), "timeout", "WAIT_BUYER_PAY", clk.Now().Add(2*time.Hour)
	})
	must(err)
	for _, seen := range []bool{false, true} {
		clk.Add(time.Minute)
		late := sale(desk, checkout.MethodWeChat, 2100, clk.Now(), "")
		await(desk, late)
		clk.Add(3 * time.Minute)
		_, err = s.Advance(desk, late.No, checkout.StateClosed, func(x *checkout.Order) { x.ClosedAt, x.Reason = clk.Now(), "timeout" })
		must(err)
		clk.Add(10 * time.Minute)
		recovery := checkout.WithActor(context.Background(), checkout.Actor{Terminal: "T1", Operator: "ana", Via: "recovery"})
		_, err = s.Advance(recovery, late.No, checkout.StatePaid, func(x *checkout.Order) {
			x.Late, x.ProviderTradeNo, x.ProviderSaid, x.ProviderSaidAt = true, "4200003100LATE"+late.No[:10], "SUCCESS", clk.Now()
		})
		must(err)
		if seen {
			clk.Add(time.Minute)
			_, err = s.Update(desk, late.No, func(x *checkout.Order) error { x.LateSeenAt = clk.Now(); return nil })
			must(err)
		}
	}
	clk.Add(time.Minute)
	disputed := sale(desk, checkout.MethodAlipay, 3000, clk.Now(), "")
	await(desk, disputed)
	clk.Add(5 * time.Second)
	_, err = s.Advance(desk, disputed.No, checkout.StateDisputed, func(x *checkout.Order) {
		x.ProviderAmount, x.ProviderTradeNo, x.ProviderSaid = 3100, "2026030222001499990001", "TRADE_SUCCESS"
	})
	must(err)
	// Refunds: succeeded (in part and in full), failed, still requested,
	// one the provider made itself, a refusal.
	refundNo := 0
	refund := func(ctx context.Context, o checkout.Order, amount checkout.Money, to checkout.RefundState) {
		refundNo++
		clk.Add(time.Minute)
		r := checkout.Refund{No: benchNo(clk.Now(), "R", refundNo), OrderNo: o.No, Amount: amount, State: checkout.RefundRequested,
			Reason: "退货 returned", Terminal: "T1", Operator: "bo"}
		_, err := s.CreateRefund(ctx, r)
		must(err)
		_, err = s.UpdateRefund(ctx, r.No, func(x *checkout.Refund) error { x.Sent, x.Attempts = true, 1; return nil })
		must(err)
		if to == checkout.RefundRequested {
			return
		}
		clk.Add(700 * time.Millisecond)
		_, _, err = s.SettleRefund(ctx, r.No, to, func(x *checkout.Refund) {
			x.ProviderSaid, x.ProviderSaidAt = "SUCCESS", clk.Now()
			x.ProviderRefundNo = "50300000012026030200001" + r.No[17:19]
			if to == checkout.RefundFailed {
				x.ProviderSaid, x.FailReason = "ABNORMAL", "the payer's account is frozen"
			}
		})
		must(err)
	}
	refund(desk, paid[0], 50, checkout.RefundSucceeded)
	refund(desk, paid[0], paid[0].Amount-50, checkout.RefundSucceeded)
	refund(cli, paid[1], 100, checkout.RefundSucceeded)
	refund(desk, paid[2], 100, checkout.RefundFailed)
	refund(desk, paid[3], 60, checkout.RefundRequested)
	refund(desk, disputed, 3100, checkout.RefundSucceeded)
	clk.Add(time.Minute)
	_, err = s.PaidAndRefunded(desk, awaiting.No, func(x *checkout.Order) { x.ProviderTradeNo = "4200003100BACK" },
		checkout.Refund{No: benchNo(clk.Now(), "R", 99), Reason: "cancelled while paid"})
	must(err)
	_, err = s.Append(desk, checkout.AuditEntry{Kind: checkout.AuditRefundRefused, Order: "NOSUCHORDER", Amount: 500, Detail: "there is no order NOSUCHORDER"})
	must(err)
	// The day's Z close.
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, shanghai)
	clk.Add(time.Hour)
	_, err = s.CloseDay(cli, day, day.AddDate(0, 0, 1), "2026-03-02", func(rec checkout.DayRecords) (checkout.DayClose, error) {
		z := checkout.DayClose{Timezone: "Asia/Shanghai"}
		for _, o := range rec.Paid {
			z.Sales = append(z.Sales, o.No)
			z.Figures.Sales.Count++
			z.Figures.Sales.Amount += o.Amount
		}
		for _, r := range rec.Settled {
			z.Refunds = append(z.Refunds, r.No)
		}
		for _, o := range rec.Open {
			z.Unsettled = append(z.Unsettled, o.No)
		}
		for _, r := range rec.OpenRefunds {
			z.UnsettledRefunds = append(z.UnsettledRefunds, r.No)
		}
		return z, nil
	})
	must(err)
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	if c, err := s.VerifyAudit(context.Background()); err != nil || !c.OK() {
		t.Fatalf("verify: %+v %v", c, err)
	}
}
