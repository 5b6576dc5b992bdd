package reconcile_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"till/checkout"
	"till/reconcile"
)

// records is the ledger side of a comparison, by hand.
type records struct {
	day     checkout.DayRecords
	orders  map[string]checkout.Order
	refunds map[string]checkout.Refund
	reads   int
}

func (r *records) Day(context.Context, string) (checkout.DayRecords, error) {
	r.reads++
	return r.day, nil
}

func (r *records) Order(_ context.Context, no string) (checkout.Order, error) {
	if o, ok := r.orders[no]; ok {
		return o, nil
	}
	return checkout.Order{}, checkout.ErrNotFound
}

func (r *records) Refund(_ context.Context, no string) (checkout.Refund, error) {
	if x, ok := r.refunds[no]; ok {
		return x, nil
	}
	return checkout.Refund{}, checkout.ErrNotFound
}

var at = time.Date(2026, 12, 1, 10, 0, 0, 0, checkout.BillZone)

func paid(no string, fen checkout.Money) checkout.Order {
	return checkout.Order{No: no, Method: checkout.MethodWeChat, Amount: fen, State: checkout.StatePaid, PaidAt: at}
}

func refunded(no, order string, fen checkout.Money) checkout.Refund {
	return checkout.Refund{No: no, OrderNo: order, Method: checkout.MethodWeChat, Amount: fen, State: checkout.RefundSucceeded, SucceededAt: at}
}

// clean is a day on which the bill and the ledger agree: two sales, one
// partly refunded, and an Alipay sale the WeChat bill must not list.
func clean() (checkout.Bill, *records) {
	a, b := paid("A", 1230), paid("B", 4560)
	ali := paid("C", 880)
	ali.Method = checkout.MethodAlipay
	r := refunded("A-R1", "A", 500)
	rec := &records{
		day: checkout.DayRecords{Paid: []checkout.Order{a, b, ali}, Settled: []checkout.Refund{r,
			{No: "B-R1", OrderNo: "B", Method: checkout.MethodWeChat, Amount: 100, State: checkout.RefundFailed, FailedAt: at}}},
		orders:  map[string]checkout.Order{"A": a, "B": b, "C": ali},
		refunds: map[string]checkout.Refund{"A-R1": r},
	}
	bill := checkout.Bill{Method: checkout.MethodWeChat, Day: "2026-12-01",
		Trades:  []checkout.BillTrade{{OrderNo: "A", Amount: 1230}, {OrderNo: "B", Amount: 4560}},
		Refunds: []checkout.BillRefund{{OrderNo: "A", RefundNo: "A-R1", Amount: 500}},
	}
	return bill, rec
}

func TestCleanDayHasNoDifferences(t *testing.T) {
	bill, rec := clean()
	diffs, side, err := reconcile.Compare(context.Background(), bill, rec.day, rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 0 {
		t.Fatalf("differences on a clean day: %+v", diffs)
	}
	want := reconcile.Side{Payments: 2, PaymentsFen: 5790, Refunds: 1, RefundsFen: 500}
	if side != want {
		t.Fatalf("ledger side %+v, want %+v (a failed refund and another provider's sale are not in it)", side, want)
	}
}

// Each kind of difference, made once on a clean day, is reported exactly
// once and alone.
func TestEachDifferenceIsReportedAlone(t *testing.T) {
	cases := []struct {
		name    string
		damage  func(*checkout.Bill, *records)
		kind    reconcile.Kind
		order   string
		refund  string
		byQuery bool
	}{
		{"paid at the provider, unknown here", func(b *checkout.Bill, _ *records) {
			b.Trades = append(b.Trades, checkout.BillTrade{OrderNo: "X", Amount: 100})
		}, reconcile.MissingHere, "X", "", false},
		{"paid here, not on the bill", func(b *checkout.Bill, _ *records) {
			b.Trades = b.Trades[1:]
		}, reconcile.MissingThere, "A", "", false},
		{"another amount", func(b *checkout.Bill, _ *records) {
			b.Trades[1].Amount = 4500
		}, reconcile.AmountDiffers, "B", "", false},
		{"disputed here", func(b *checkout.Bill, r *records) {
			o := r.day.Paid[1]
			o.State, o.ProviderAmount = checkout.StateDisputed, 4560
			r.day.Paid[1], r.orders["B"] = o, o
		}, reconcile.AmountDiffers, "B", "", false},
		{"paid at the provider, closed here", func(b *checkout.Bill, r *records) {
			o := r.day.Paid[1]
			o.State, o.PaidAt = checkout.StateClosed, time.Time{}
			r.day.Paid = []checkout.Order{r.day.Paid[0], r.day.Paid[2]}
			r.orders["B"] = o
		}, reconcile.StateDiffers, "B", "", true},
		{"paid at the provider, failed here", func(b *checkout.Bill, r *records) {
			o := r.day.Paid[1]
			o.State, o.PaidAt = checkout.StateFailed, time.Time{}
			r.day.Paid = []checkout.Order{r.day.Paid[0], r.day.Paid[2]}
			r.orders["B"] = o
		}, reconcile.StateDiffers, "B", "", false},
		{"paid yesterday by the ledger's clock is not a difference", func(b *checkout.Bill, r *records) {
			// B is paid in the ledger on another day: found by number, no
			// difference for it; only Y, unknown here, is one.
			r.day.Paid = []checkout.Order{r.day.Paid[0], r.day.Paid[2]}
			b.Trades = append(b.Trades, checkout.BillTrade{OrderNo: "Y", Amount: 1})
		}, reconcile.MissingHere, "Y", "", false},
		{"a refund unknown here", func(b *checkout.Bill, _ *records) {
			b.Refunds = append(b.Refunds, checkout.BillRefund{OrderNo: "B", RefundNo: "B-R9", Amount: 60})
		}, reconcile.RefundMissingHere, "B", "B-R9", false},
		{"a refund not on the bill", func(b *checkout.Bill, _ *records) {
			b.Refunds = nil
		}, reconcile.RefundMissingThere, "A", "A-R1", false},
		{"a refund of another amount", func(b *checkout.Bill, _ *records) {
			b.Refunds[0].Amount = 50
		}, reconcile.RefundAmountDiffers, "A", "A-R1", false},
		{"a refund still requested here", func(b *checkout.Bill, r *records) {
			x := r.refunds["A-R1"]
			x.State, x.SucceededAt = checkout.RefundRequested, time.Time{}
			r.refunds["A-R1"] = x
			r.day.Settled = r.day.Settled[1:]
		}, reconcile.RefundStateDiffers, "A", "A-R1", true},
		{"a refund failed here", func(b *checkout.Bill, r *records) {
			x := r.refunds["A-R1"]
			x.State, x.SucceededAt, x.FailedAt = checkout.RefundFailed, time.Time{}, at
			r.refunds["A-R1"] = x
			r.day.Settled[0] = x
		}, reconcile.RefundStateDiffers, "A", "A-R1", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bill, rec := clean()
			c.damage(&bill, rec)
			diffs, _, err := reconcile.Compare(context.Background(), bill, rec.day, rec)
			if err != nil {
				t.Fatal(err)
			}
			if len(diffs) != 1 {
				t.Fatalf("want exactly one difference, got %+v", diffs)
			}
			d := diffs[0]
			if d.Kind != c.kind || d.OrderNo != c.order || d.RefundNo != c.refund || d.ByQuery != c.byQuery || d.Method != checkout.MethodWeChat {
				t.Fatalf("got %+v, want kind %s order %s refund %q by query %v", d, c.kind, c.order, c.refund, c.byQuery)
			}
		})
	}
}

type biller struct {
	bill checkout.Bill
	err  error
}

func (b biller) Bill(context.Context, string) (checkout.Bill, error) { return b.bill, b.err }

// settler settles B (closed here, paid at the provider) as a query would.
type settler struct {
	rec    *records
	orders []string
	fail   bool
}

func (s *settler) SettleByQuery(_ context.Context, no string) (checkout.Order, error) {
	s.orders = append(s.orders, no)
	if s.fail {
		return checkout.Order{No: no}, errors.New("provider down")
	}
	o := s.rec.orders[no]
	o.State, o.PaidAt, o.Late = checkout.StatePaid, at, true
	s.rec.orders[no] = o
	s.rec.day.Paid = append(s.rec.day.Paid, o)
	return o, nil
}

func (s *settler) PollRefund(_ context.Context, no string) (checkout.Refund, checkout.Order, error) {
	return checkout.Refund{}, checkout.Order{}, errors.New("not expected")
}

func closedB() (checkout.Bill, *records) {
	bill, rec := clean()
	o := rec.orders["B"]
	o.State, o.PaidAt = checkout.StateClosed, time.Time{}
	rec.orders["B"] = o
	rec.day.Paid = []checkout.Order{rec.day.Paid[0], rec.day.Paid[2]}
	return bill, rec
}

func TestRunSettlesWhatAQueryCanAndComparesAgain(t *testing.T) {
	bill, rec := closedB()
	bill.Trades = append(bill.Trades, checkout.BillTrade{OrderNo: "X", Amount: 7})
	s := &settler{rec: rec}
	res, err := reconcile.Run(context.Background(), "2026-12-01",
		map[checkout.Method]checkout.Biller{checkout.MethodWeChat: biller{bill: bill}}, rec, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.orders) != 1 || s.orders[0] != "B" {
		t.Fatalf("settled %v, want only B (X is not in the ledger: no query can settle it)", s.orders)
	}
	if len(res.Settled) != 1 || res.Settled[0].OrderNo != "B" {
		t.Fatalf("settled list %+v", res.Settled)
	}
	if len(res.Diffs) != 1 || res.Diffs[0].Kind != reconcile.MissingHere || res.Diffs[0].OrderNo != "X" {
		t.Fatalf("left %+v, want only X for a person", res.Diffs)
	}
	if rec.reads != 2 {
		t.Fatalf("the ledger's day was read %d times, want twice (before and after settling)", rec.reads)
	}
	if got := res.Providers[0].Ledger; got.Payments != 2 || got.PaymentsFen != 5790 {
		t.Fatalf("ledger side after settling %+v, want B counted", got)
	}
	if res.Agrees() {
		t.Fatal("a day with X unknown here agrees")
	}
}

func TestRunKeepsWhatAFailedQueryCouldNotSettle(t *testing.T) {
	bill, rec := closedB()
	s := &settler{rec: rec, fail: true}
	res, err := reconcile.Run(context.Background(), "2026-12-01",
		map[checkout.Method]checkout.Biller{checkout.MethodWeChat: biller{bill: bill}}, rec, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Settled) != 0 || len(res.Diffs) != 1 || res.Diffs[0].Kind != reconcile.StateDiffers {
		t.Fatalf("settled %+v, left %+v", res.Settled, res.Diffs)
	}
}

func TestABillNotReadyIsNotAgreement(t *testing.T) {
	bill, rec := clean()
	ali := checkout.Bill{Method: checkout.MethodAlipay, Day: "2026-12-01", Trades: []checkout.BillTrade{{OrderNo: "C", Amount: 880}}}
	for _, c := range []struct {
		name     string
		alipay   biller
		notReady bool
	}{
		{"not ready", biller{err: checkout.ErrBillNotReady}, true},
		{"not ready, wrapped", biller{err: errors.Join(errors.New("isp.bill_not_exist"), checkout.ErrBillNotReady)}, true},
		{"download failed", biller{err: errors.New("sha1 mismatch")}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := reconcile.Run(context.Background(), "2026-12-01", map[checkout.Method]checkout.Biller{
				checkout.MethodWeChat: biller{bill: bill}, checkout.MethodAlipay: c.alipay}, rec, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Agrees() || res.Complete() {
				t.Fatal("a day with a bill missing counts as reconciled")
			}
			if len(res.Diffs) != 0 {
				t.Fatalf("differences %+v", res.Diffs)
			}
			if res.Providers[0].Method != checkout.MethodWeChat || !res.Providers[0].Compared() {
				t.Fatalf("WeChat's side %+v", res.Providers[0])
			}
			a := res.Providers[1]
			if a.NotReady != c.notReady || (a.Err != "") == c.notReady {
				t.Fatalf("Alipay's side %+v", a)
			}
		})
	}
	res, err := reconcile.Run(context.Background(), "2026-12-01", map[checkout.Method]checkout.Biller{
		checkout.MethodWeChat: biller{bill: bill}, checkout.MethodAlipay: biller{bill: ali}}, rec, nil)
	if err != nil || !res.Agrees() {
		t.Fatalf("both bills clean: %+v %v", res, err)
	}
}

func TestRunRefusesABadDay(t *testing.T) {
	_, rec := clean()
	if _, err := reconcile.Run(context.Background(), "2026-02-30", map[checkout.Method]checkout.Biller{}, rec, nil); err == nil {
		t.Fatal("2026-02-30 accepted")
	}
}

// TestMoneyOfAProviderNoLongerConfiguredIsNotAgreement: the ledger has
// Alipay's sale on the day but only WeChat Pay can fetch its bill (the
// Alipay account was taken out of the config): the day does not agree,
// and the Alipay money left uncompared is named.
func TestMoneyOfAProviderNoLongerConfiguredIsNotAgreement(t *testing.T) {
	bill, rec := clean()
	res, err := reconcile.Run(context.Background(), "2026-12-01",
		map[checkout.Method]checkout.Biller{checkout.MethodWeChat: biller{bill: bill}}, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Agrees() || res.Complete() || len(res.Diffs) != 0 {
		t.Fatalf("agrees %v complete %v diffs %+v", res.Agrees(), res.Complete(), res.Diffs)
	}
	if len(res.Providers) != 2 {
		t.Fatalf("providers %+v", res.Providers)
	}
	a := res.Providers[1]
	if a.Method != checkout.MethodAlipay || !a.NotConfigured || a.Ledger.Payments != 1 || a.Ledger.PaymentsFen != 880 {
		t.Fatalf("the uncompared provider %+v", a)
	}
}
