// Package reconcile compares the providers' daily bills with the ledger:
// the money at the provider and the money in the ledger must agree, and
// where they do not, an owner needs each difference by order, with what a
// query can settle told apart from what needs a person.
//
// A bill's day is a China calendar day (checkout.BillZone) whatever the
// shop's zone, so the ledger side is read on the same instants: the sales
// paid and the refunds that succeeded in that day.
package reconcile

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"

	"till/checkout"
)

// Kind is what kind of difference a Difference is.
type Kind string

const (
	// MissingHere: the provider's bill has a payment the ledger has no
	// order for.
	MissingHere Kind = "missing_here"
	// MissingThere: the ledger has a sale paid on the day that the
	// provider's bill does not list.
	MissingThere Kind = "missing_at_provider"
	// AmountDiffers: both have the payment, for different amounts (a
	// disputed order is one).
	AmountDiffers Kind = "amount_differs"
	// StateDiffers: the provider's bill has it paid, the ledger has the
	// order unpaid (open, closed or failed).
	StateDiffers Kind = "state_differs"

	RefundMissingHere   Kind = "refund_missing_here"
	RefundMissingThere  Kind = "refund_missing_at_provider"
	RefundAmountDiffers Kind = "refund_amount_differs"
	// RefundStateDiffers: the bill has the refund done, the ledger has it
	// still requested or failed.
	RefundStateDiffers Kind = "refund_state_differs"

	// ListedTwice: the bill lists one payment twice (the provider took
	// the money twice, or its bill is wrong); RefundListedTwice likewise
	// a refund. Either way the bill's totals are not the ledger's.
	ListedTwice       Kind = "listed_twice"
	RefundListedTwice Kind = "refund_listed_twice"
)

// Difference is one disagreement between a bill and the ledger.
type Difference struct {
	Kind     Kind            `json:"kind"`
	Method   checkout.Method `json:"method"`
	OrderNo  string          `json:"order_no"`
	RefundNo string          `json:"refund_no,omitempty"`
	// BillFen is the amount on the provider's bill (0: not on it),
	// LedgerFen the ledger's (0: not in it).
	BillFen   checkout.Money `json:"bill_fen"`
	LedgerFen checkout.Money `json:"ledger_fen"`
	// LedgerState is the order's or refund's state in the ledger ("" when
	// the ledger has no record).
	LedgerState string `json:"ledger_state,omitempty"`
	// ByQuery says a query with the same number can settle it (the ledger
	// has the record and has not heard the outcome yet); otherwise a
	// person must look.
	ByQuery bool `json:"by_query"`
}

// Side is what one side of a comparison holds for the day.
type Side struct {
	Payments    int            `json:"payments"`
	PaymentsFen checkout.Money `json:"payments_fen"`
	Refunds     int            `json:"refunds"`
	RefundsFen  checkout.Money `json:"refunds_fen"`
}

// Provider is one provider's part of a reconciliation.
type Provider struct {
	Method checkout.Method `json:"method"`
	// NotReady says the provider has no bill for the day yet; Err is any
	// other failure to get it. Either way nothing was compared.
	NotReady bool   `json:"not_ready,omitempty"`
	Err      string `json:"error,omitempty"`
	// NotConfigured says the ledger has the provider's money on the day
	// but no configured provider can fetch its bill (its account was
	// removed from the config): Ledger is what went uncompared.
	NotConfigured bool `json:"not_configured,omitempty"`
	Bill          Side `json:"bill"`
	Ledger        Side `json:"ledger"`
}

// Compared reports whether the bill was fetched and compared.
func (p Provider) Compared() bool { return !p.NotReady && p.Err == "" && !p.NotConfigured }

// Result is a day's reconciliation.
type Result struct {
	Day       string       `json:"day"` // YYYY-MM-DD, China time
	Providers []Provider   `json:"providers"`
	Diffs     []Difference `json:"differences"`
	// Settled lists the differences a query settled (with --settle):
	// they are no longer in Diffs.
	Settled []Difference `json:"settled,omitempty"`
}

// Agrees reports whether every provider's bill was compared and nothing
// differs.
func (r Result) Agrees() bool {
	for _, p := range r.Providers {
		if !p.Compared() {
			return false
		}
	}
	return len(r.Providers) > 0 && len(r.Diffs) == 0
}

// Complete reports whether every provider's bill was compared.
func (r Result) Complete() bool {
	for _, p := range r.Providers {
		if !p.Compared() {
			return false
		}
	}
	return true
}

// Records reads the ledger's side: the day's records, and one order or
// refund by number for a bill row the day does not hold (paid or refunded
// on another day by the ledger's clock, or never recorded).
type Records interface {
	Day(ctx context.Context, day string) (checkout.DayRecords, error)
	Order(ctx context.Context, no string) (checkout.Order, error)
	Refund(ctx context.Context, no string) (checkout.Refund, error)
}

// Settler settles by query with the same number.
type Settler interface {
	SettleByQuery(ctx context.Context, orderNo string) (checkout.Order, error)
	PollRefund(ctx context.Context, refundNo string) (checkout.Refund, checkout.Order, error)
}

// Run fetches each biller's bill of day and compares it with the ledger.
// With settle non-nil, the differences a query can settle are settled
// with the same numbers and the day compared again, so what is left is
// what a person must look at.
func Run(ctx context.Context, day string, billers map[checkout.Method]checkout.Biller, rec Records, settle Settler) (Result, error) {
	res := Result{Day: day}
	if _, _, err := checkout.BillDayBounds(day); err != nil {
		return res, err
	}
	methods := make([]checkout.Method, 0, len(billers))
	for m := range billers {
		methods = append(methods, m)
	}
	slices.SortFunc(methods, func(a, b checkout.Method) int { return cmp.Compare(b, a) }) // wechat, alipay
	bills := map[checkout.Method]checkout.Bill{}
	for _, m := range methods {
		p := Provider{Method: m}
		b, err := billers[m].Bill(ctx, day)
		switch {
		case errors.Is(err, checkout.ErrBillNotReady):
			p.NotReady = true
		case err != nil:
			p.Err = err.Error()
		default:
			bills[m] = b
			p.Bill = billSide(b)
		}
		res.Providers = append(res.Providers, p)
	}
	diffs, sides, recs, err := compareAll(ctx, day, bills, rec)
	if err != nil {
		return res, err
	}
	if settle != nil {
		var settled []Difference
		for _, d := range diffs {
			if !d.ByQuery {
				continue
			}
			var err error
			if d.RefundNo != "" {
				_, _, err = settle.PollRefund(ctx, d.RefundNo)
			} else {
				_, err = settle.SettleByQuery(ctx, d.OrderNo)
			}
			if err == nil {
				settled = append(settled, d)
			}
		}
		if len(settled) > 0 {
			// Compare again: a query may have settled it, or moved it
			// to another difference (paid, for another amount).
			if diffs, sides, recs, err = compareAll(ctx, day, bills, rec); err != nil {
				return res, err
			}
			for _, d := range settled {
				if !slices.ContainsFunc(diffs, func(x Difference) bool { return x.OrderNo == d.OrderNo && x.RefundNo == d.RefundNo }) {
					res.Settled = append(res.Settled, d)
				}
			}
		}
	}
	for i, p := range res.Providers {
		if p.Compared() {
			res.Providers[i].Ledger = sides[p.Method]
		}
	}
	res.Diffs = diffs
	// Money in the ledger of a provider no biller stands for was not
	// compared with anything: the day is not reconciled.
	others := map[checkout.Method]*Side{}
	other := func(m checkout.Method) *Side {
		if _, ok := billers[m]; ok {
			return nil
		}
		if others[m] == nil {
			others[m] = &Side{}
		}
		return others[m]
	}
	for _, o := range recs.Paid {
		if s := other(o.Method); s != nil {
			s.Payments++
			s.PaymentsFen += o.Amount
		}
	}
	for _, r := range recs.Settled {
		if r.State != checkout.RefundSucceeded {
			continue
		}
		if s := other(r.Method); s != nil {
			s.Refunds++
			s.RefundsFen += r.Amount
		}
	}
	for _, m := range slices.SortedFunc(maps.Keys(others), func(a, b checkout.Method) int { return cmp.Compare(b, a) }) {
		res.Providers = append(res.Providers, Provider{Method: m, NotConfigured: true, Ledger: *others[m]})
	}
	return res, nil
}

func billSide(b checkout.Bill) Side {
	var s Side
	for _, t := range b.Trades {
		s.Payments++
		s.PaymentsFen += t.Amount
	}
	for _, r := range b.Refunds {
		s.Refunds++
		s.RefundsFen += r.Amount
	}
	return s
}

// compareAll reads the ledger's day once and compares every bill with it;
// it returns the records too.
func compareAll(ctx context.Context, day string, bills map[checkout.Method]checkout.Bill, rec Records) ([]Difference, map[checkout.Method]Side, checkout.DayRecords, error) {
	recs, err := rec.Day(ctx, day)
	if err != nil {
		return nil, nil, recs, err
	}
	var diffs []Difference
	sides := map[checkout.Method]Side{}
	for _, m := range sortedMethods(bills) {
		d, side, err := Compare(ctx, bills[m], recs, rec)
		if err != nil {
			return nil, nil, recs, err
		}
		diffs = append(diffs, d...)
		sides[m] = side
	}
	return diffs, sides, recs, nil
}

func sortedMethods(bills map[checkout.Method]checkout.Bill) []checkout.Method {
	ms := make([]checkout.Method, 0, len(bills))
	for m := range bills {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b checkout.Method) int { return cmp.Compare(b, a) })
	return ms
}

// Compare lists the differences between one provider's bill and the
// ledger's records of the same China day (recs), looking up by number in
// rec what the day does not hold. It also returns the ledger's side of
// the day for that provider.
func Compare(ctx context.Context, bill checkout.Bill, recs checkout.DayRecords, rec Records) ([]Difference, Side, error) {
	m := bill.Method
	var diffs []Difference
	var side Side

	// The ledger's payments of the day for this provider, by number.
	paid := map[string]checkout.Order{}
	for _, o := range recs.Paid {
		if o.Method != m {
			continue
		}
		paid[o.No] = o
		side.Payments++
		side.PaymentsFen += o.Amount
	}
	seen := map[string]bool{}
	for _, t := range bill.Trades {
		if t.OrderNo != "" && seen[t.OrderNo] {
			diffs = append(diffs, Difference{Kind: ListedTwice, Method: m, OrderNo: t.OrderNo, BillFen: t.Amount})
			continue
		}
		seen[t.OrderNo] = true
		o, found, err := find(ctx, paid, t.OrderNo, rec.Order)
		if err != nil {
			return nil, side, err
		}
		switch {
		case !found:
			diffs = append(diffs, Difference{Kind: MissingHere, Method: m, OrderNo: t.OrderNo, BillFen: t.Amount})
		case o.State == checkout.StateDisputed || (o.State.WasPaid() && o.Amount != t.Amount):
			diffs = append(diffs, Difference{Kind: AmountDiffers, Method: m, OrderNo: o.No, BillFen: t.Amount, LedgerFen: o.Amount, LedgerState: string(o.State)})
		case !o.State.WasPaid():
			diffs = append(diffs, Difference{Kind: StateDiffers, Method: m, OrderNo: o.No, BillFen: t.Amount, LedgerFen: o.Amount, LedgerState: string(o.State),
				ByQuery: o.State.Open() || o.State == checkout.StateClosed})
		}
	}
	for _, o := range paid {
		diffs = append(diffs, Difference{Kind: MissingThere, Method: m, OrderNo: o.No, LedgerFen: o.Amount, LedgerState: string(o.State)})
	}

	// The ledger's refunds that succeeded on the day, by number.
	done := map[string]checkout.Refund{}
	for _, r := range recs.Settled {
		if r.Method != m || r.State != checkout.RefundSucceeded {
			continue
		}
		done[r.No] = r
		side.Refunds++
		side.RefundsFen += r.Amount
	}
	seenRefund := map[string]bool{}
	for _, b := range bill.Refunds {
		if b.RefundNo != "" && seenRefund[b.RefundNo] {
			diffs = append(diffs, Difference{Kind: RefundListedTwice, Method: m, OrderNo: b.OrderNo, RefundNo: b.RefundNo, BillFen: b.Amount})
			continue
		}
		seenRefund[b.RefundNo] = true
		r, found, err := find(ctx, done, b.RefundNo, rec.Refund)
		if err != nil {
			return nil, side, err
		}
		switch {
		case !found:
			diffs = append(diffs, Difference{Kind: RefundMissingHere, Method: m, OrderNo: b.OrderNo, RefundNo: b.RefundNo, BillFen: b.Amount})
		case r.State != checkout.RefundSucceeded:
			diffs = append(diffs, Difference{Kind: RefundStateDiffers, Method: m, OrderNo: r.OrderNo, RefundNo: r.No, BillFen: b.Amount, LedgerFen: r.Amount, LedgerState: string(r.State),
				ByQuery: r.State == checkout.RefundRequested})
		case r.Amount != b.Amount:
			diffs = append(diffs, Difference{Kind: RefundAmountDiffers, Method: m, OrderNo: r.OrderNo, RefundNo: r.No, BillFen: b.Amount, LedgerFen: r.Amount, LedgerState: string(r.State)})
		}
	}
	for _, r := range done {
		diffs = append(diffs, Difference{Kind: RefundMissingThere, Method: m, OrderNo: r.OrderNo, RefundNo: r.No, LedgerFen: r.Amount, LedgerState: string(r.State)})
	}
	slices.SortFunc(diffs, func(a, b Difference) int {
		return cmp.Or(cmp.Compare(a.OrderNo, b.OrderNo), cmp.Compare(a.RefundNo, b.RefundNo), cmp.Compare(a.Kind, b.Kind))
	})
	return diffs, side, nil
}

// find returns the ledger's record numbered no: from the day's records
// (taking it off them, so that what is left there is what the bill does
// not list), or else looked up by number, for a record the ledger has on
// another day. found is false when the ledger has none.
func find[T any](ctx context.Context, day map[string]T, no string, lookup func(context.Context, string) (T, error)) (x T, found bool, err error) {
	if x, ok := day[no]; ok {
		delete(day, no)
		return x, true, nil
	}
	x, err = lookup(ctx, no)
	if errors.Is(err, checkout.ErrNotFound) {
		return x, false, nil
	}
	return x, err == nil, err
}

// FromLedger reads a reconciliation's records from a ledger: the day's
// records on the bill day's instants, and orders and refunds by number.
func FromLedger(l checkout.Ledger) Records { return ledgerRecords{l} }

type ledgerRecords struct{ l checkout.Ledger }

func (r ledgerRecords) Day(ctx context.Context, day string) (checkout.DayRecords, error) {
	from, to, err := checkout.BillDayBounds(day)
	if err != nil {
		return checkout.DayRecords{}, err
	}
	return r.l.DayRecords(ctx, from, to, "")
}

func (r ledgerRecords) Order(ctx context.Context, no string) (checkout.Order, error) {
	return r.l.Order(ctx, no)
}

func (r ledgerRecords) Refund(ctx context.Context, no string) (checkout.Refund, error) {
	return r.l.Refund(ctx, no)
}
