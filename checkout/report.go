package checkout

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// The day report: one place computes a day's figures (or a range of
// days'), for the manager's screen, `till report`, the Z close and the
// sale screen's "Today" line alike, so they can never disagree.
//
// A sale counts on the day it was paid and a refund on the day it
// succeeded, both in the shop's zone. A disputed order (the provider took
// another amount) counts in neither sales nor net, nor do its refunds: it
// is listed for a manager with both amounts. A late payment (paid after
// till had closed the order) is a sale on its paid day and is also listed.

// DayRecords is what the figures of [From, To) are computed from, read by
// the ledger in one transaction so that an order settling meanwhile is
// neither missed nor counted twice.
type DayRecords struct {
	From, To time.Time
	// Paid holds the orders whose PaidAt is in [From, To): sales, and
	// disputed orders.
	Paid []Order
	// Settled holds the refunds that succeeded (SucceededAt) or failed
	// (FailedAt) in [From, To); Orders their orders, by number.
	Settled []Refund
	Orders  map[string]Order
	// Open holds every order still created or awaiting that was created
	// before To, OpenRefunds every refund still requested created before
	// To: each may yet land in the range.
	Open        []Order
	OpenRefunds []Refund
	// Rechecks holds the closed orders created before To whose late check
	// is still to come (a code the customer may still pay): they may land
	// in the range as late payments.
	Rechecks []Order
	// Close is the day's Z close when the records are of one closed day;
	// CounterCloses holds that day's closes of single counters, by
	// terminal (ForTerminal makes one of them the Close).
	Close         *DayClose
	CounterCloses map[string]DayClose
	// FirstOrder is when the ledger's first order was created (zero for
	// a ledger with none): a day before it has nothing to close.
	FirstOrder time.Time
	// LateMargin is the room given to a provider's clock after an order's
	// payable window (the engine's LateCheckMargin; zero: the default).
	LateMargin time.Duration
}

// Tally is a count and its amount.
type Tally struct {
	Count  int   `json:"count"`
	Amount Money `json:"amount_fen"`
}

func (t *Tally) add(m Money) { t.Count++; t.Amount += m }

// GroupFigures are one provider's or one operator's figures.
type GroupFigures struct {
	SalesCount   int   `json:"sales_count"`
	SalesFen     Money `json:"sales_fen"`
	RefundsCount int   `json:"refunds_count"`
	RefundsFen   Money `json:"refunds_fen"`
	NetFen       Money `json:"net_fen"`
}

// HourFigures are the figures of one hour of the shop's clock (0–23).
type HourFigures struct {
	Hour         int   `json:"hour"`
	SalesCount   int   `json:"sales_count"`
	SalesFen     Money `json:"sales_fen"`
	RefundsCount int   `json:"refunds_count"`
	RefundsFen   Money `json:"refunds_fen"`
}

// Figures are the money of a day or a range: what a Z close freezes.
type Figures struct {
	Sales   Tally `json:"sales"`
	Refunds Tally `json:"refunds"`
	NetFen  Money `json:"net_fen"`
	// ByProvider always holds both providers, ByOperator every operator
	// with a sale or a refund in the range, ByHour all 24 hours.
	ByProvider map[Method]GroupFigures `json:"by_provider"`
	ByOperator map[string]GroupFigures `json:"by_operator"`
	ByHour     []HourFigures           `json:"by_hour"`
}

func newFigures() Figures {
	f := Figures{
		ByProvider: map[Method]GroupFigures{MethodWeChat: {}, MethodAlipay: {}},
		ByOperator: map[string]GroupFigures{},
		ByHour:     make([]HourFigures, 24),
	}
	for h := range f.ByHour {
		f.ByHour[h].Hour = h
	}
	return f
}

func (f *Figures) sale(o Order, loc *time.Location) {
	f.Sales.add(o.Amount)
	f.NetFen += o.Amount
	g := f.ByProvider[o.Method]
	g.SalesCount, g.SalesFen, g.NetFen = g.SalesCount+1, g.SalesFen+o.Amount, g.NetFen+o.Amount
	f.ByProvider[o.Method] = g
	op := operatorOf(o.Operator)
	g = f.ByOperator[op]
	g.SalesCount, g.SalesFen, g.NetFen = g.SalesCount+1, g.SalesFen+o.Amount, g.NetFen+o.Amount
	f.ByOperator[op] = g
	h := &f.ByHour[o.PaidAt.In(loc).Hour()]
	h.SalesCount, h.SalesFen = h.SalesCount+1, h.SalesFen+o.Amount
}

func (f *Figures) refund(r Refund, loc *time.Location) {
	f.Refunds.add(r.Amount)
	f.NetFen -= r.Amount
	g := f.ByProvider[r.Method]
	g.RefundsCount, g.RefundsFen, g.NetFen = g.RefundsCount+1, g.RefundsFen+r.Amount, g.NetFen-r.Amount
	f.ByProvider[r.Method] = g
	op := operatorOf(r.Operator)
	g = f.ByOperator[op]
	g.RefundsCount, g.RefundsFen, g.NetFen = g.RefundsCount+1, g.RefundsFen+r.Amount, g.NetFen-r.Amount
	f.ByOperator[op] = g
	h := &f.ByHour[r.SucceededAt.In(loc).Hour()]
	h.RefundsCount, h.RefundsFen = h.RefundsCount+1, h.RefundsFen+r.Amount
}

// operatorOf is who a record counts for: records from before operators
// were kept count for the counter.
func operatorOf(id string) string { return cmp.Or(id, DefaultOperator) }

// Unsettled lists what may still change the range's figures: orders the
// provider has not yet been heard on, and refunds it has not finished.
type Unsettled struct {
	Count   int      `json:"count"`
	Orders  []Order  `json:"orders"`
	Refunds []Refund `json:"refunds"`
}

// Anomalies are what a manager should look at: money taken for another
// amount than the sale's, payments after till had closed the order,
// refunds the provider refused, and refunds of disputed orders.
type Anomalies struct {
	Count           int      `json:"count"`
	Disputed        []Order  `json:"disputed"`
	LatePayments    []Order  `json:"late_payments"`
	FailedRefunds   []Refund `json:"failed_refunds"`
	DisputedRefunds []Refund `json:"disputed_refunds"`
}

// ZInfo is how a closed day was closed.
type ZInfo struct {
	Seq      int       `json:"seq"`
	ClosedAt time.Time `json:"closed_at"`
	Terminal string    `json:"terminal"`
	Operator string    `json:"operator"`
	// UnsettledAtClose counts what was still unsettled when it was closed
	// (a manager may close a day the providers cannot yet answer for).
	UnsettledAtClose int `json:"unsettled_at_close"`
}

// CounterZ is one counter's own close of a day, as the shop's report
// names it.
type CounterZ struct {
	Counter  string    `json:"counter"`
	Seq      int       `json:"seq"`
	ClosedAt time.Time `json:"closed_at"`
	Operator string    `json:"operator"`
}

// ChangeKind says how a closed day's money changed after its close.
type ChangeKind string

const (
	ChangeSale          ChangeKind = "sale"           // a sale counted on the day, learnt after the close
	ChangeRefund        ChangeKind = "refund"         // a refund that succeeded on the day, learnt after the close
	ChangeDisputed      ChangeKind = "disputed"       // a disputed order of the day, learnt after the close
	ChangeSettled       ChangeKind = "settled"        // an order unsettled at the close, since settled off the day (unpaid, or paid another day)
	ChangeSaleGone      ChangeKind = "sale_gone"      // a sale counted at the close that no longer counts
	ChangeRefundGone    ChangeKind = "refund_gone"    // a refund counted at the close that no longer counts
	ChangeRefundSettled ChangeKind = "refund_settled" // a refund unsettled at the close, since settled off the day
)

// Change is one change to a closed day. AmountFen is what it does to the
// day's net (negative for a refund).
type Change struct {
	Kind      ChangeKind `json:"kind"`
	Order     string     `json:"order_no"`
	Refund    string     `json:"refund_no,omitempty"`
	Method    Method     `json:"method"`
	AmountFen Money      `json:"amount_fen"`
	State     string     `json:"state"`
	At        time.Time  `json:"at,omitzero"` // when it counts (paid, succeeded), if it does
}

// DayReport is the report of one day, or of a range of days (From, To).
type DayReport struct {
	Day      string `json:"day,omitempty"`
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
	Timezone string `json:"timezone"`
	Currency string `json:"currency"`
	// Terminal is the one counter the report is of ("": the whole shop).
	Terminal string `json:"terminal,omitempty"`
	// Figures are the live ones, or a closed day's frozen ones.
	Figures
	Unsettled Unsettled `json:"unsettled"`
	Anomalies Anomalies `json:"anomalies"`
	Z         *ZInfo    `json:"z,omitempty"`
	// CounterCloses lists, in a whole shop's day report, the counters
	// that closed the day on their own (CloseCounter), by terminal.
	CounterCloses []CounterZ `json:"counter_closes,omitempty"`
	// ChangesAfterClose lists, for a closed day, what changed its money
	// after the close; ChangesNetFen is their sum. Neither is merged into
	// the frozen figures.
	ChangesAfterClose []Change `json:"changes_after_close"`
	ChangesNetFen     Money    `json:"changes_net_fen"`
}

// Closed reports whether the report is of a closed day.
func (r DayReport) Closed() bool { return r.Z != nil }

// DayClose is a day's Z close as the ledger keeps it: the figures frozen
// at the close and what they were made of, so that what changes the day
// afterwards can be told apart.
type DayClose struct {
	Seq      int       `json:"seq"`
	Day      string    `json:"day"`
	Timezone string    `json:"timezone"`
	ClosedAt time.Time `json:"closed_at"`
	Terminal string    `json:"terminal"` // where it was closed from
	Operator string    `json:"operator"`
	// Counter is the one counter (terminal) the close covers; "" is the
	// whole shop. Each has its own close of the day.
	Counter string  `json:"counter,omitempty"`
	Figures Figures `json:"figures"`
	// The numbers counted in the frozen figures, and those unsettled then.
	Sales            []string `json:"sales"`
	Refunds          []string `json:"refunds"`
	Disputed         []string `json:"disputed"`
	Unsettled        []string `json:"unsettled"`
	UnsettledRefunds []string `json:"unsettled_refunds"`
}

// tallied is a computation's result with the numbers it counted.
type tallied struct {
	figures   Figures
	unsettled Unsettled
	anomalies Anomalies
	sales     []string
	refunds   []string
	disputed  []string
	// terminals are those of every order and refund counted or listed.
	terminals map[string]bool
}

// tally computes the figures of rec in loc.
func tally(rec DayRecords, loc *time.Location) tallied {
	t := tallied{figures: newFigures(), terminals: map[string]bool{}}
	for _, o := range rec.Paid {
		if o.PaidAt.Before(rec.From) || !o.PaidAt.Before(rec.To) {
			continue
		}
		switch {
		case o.State == StateDisputed:
			t.anomalies.Disputed = append(t.anomalies.Disputed, o)
			t.disputed = append(t.disputed, o.No)
			t.terminals[o.Terminal] = true
		case o.State.WasPaid():
			t.terminals[o.Terminal] = true
			t.figures.sale(o, loc)
			t.sales = append(t.sales, o.No)
			if o.Late {
				t.anomalies.LatePayments = append(t.anomalies.LatePayments, o)
			}
		}
	}
	for _, r := range rec.Settled {
		switch r.State {
		case RefundSucceeded:
			if r.SucceededAt.Before(rec.From) || !r.SucceededAt.Before(rec.To) {
				continue
			}
			t.terminals[r.Terminal] = true
			if o, ok := rec.Orders[r.OrderNo]; ok && o.State == StateDisputed {
				t.anomalies.DisputedRefunds = append(t.anomalies.DisputedRefunds, r)
				continue
			}
			t.figures.refund(r, loc)
			t.refunds = append(t.refunds, r.No)
		case RefundFailed:
			if r.FailedAt.Before(rec.From) || !r.FailedAt.Before(rec.To) {
				continue
			}
			t.terminals[r.Terminal] = true
			t.anomalies.FailedRefunds = append(t.anomalies.FailedRefunds, r)
		}
	}
	margin := cmp.Or(rec.LateMargin, DefaultLateCheckMargin)
	for _, o := range rec.Open {
		if o.State.Open() && mayLand(o, rec.From, rec.To, margin) {
			t.unsettled.Orders = append(t.unsettled.Orders, o)
		}
	}
	for _, o := range rec.Rechecks {
		if o.State == StateClosed && !o.RecheckAt.IsZero() && mayLand(o, rec.From, rec.To, margin) {
			t.unsettled.Orders = append(t.unsettled.Orders, o)
		}
	}
	for _, r := range rec.OpenRefunds {
		if r.State == RefundRequested && r.CreatedAt.Before(rec.To) {
			t.unsettled.Refunds = append(t.unsettled.Refunds, r)
		}
	}
	t.unsettled.Count = len(t.unsettled.Orders) + len(t.unsettled.Refunds)
	for _, o := range t.unsettled.Orders {
		t.terminals[o.Terminal] = true
	}
	for _, r := range t.unsettled.Refunds {
		t.terminals[r.Terminal] = true
	}
	a := &t.anomalies
	a.Count = len(a.Disputed) + len(a.LatePayments) + len(a.FailedRefunds) + len(a.DisputedRefunds)
	return t
}

// mayLand reports whether order o, open or closed with its late check to
// come, could still turn out paid inside [from, to): it was created
// before to, and the provider could have taken the money as late as from
// (its payable window plus margin, for a provider's clock running behind).
func mayLand(o Order, from, to time.Time, margin time.Duration) bool {
	return o.CreatedAt.Before(to) && !PayableUntil(o).Add(margin).Before(from)
}

// BuildReport computes the report of rec, a range of days in loc (its
// first and last day are named by first and last: the same for one day).
// A closed day shows its frozen figures and lists what changed since.
func BuildReport(rec DayRecords, loc *time.Location, first, last string) DayReport {
	t := tally(rec, loc)
	r := DayReport{
		Timezone: loc.String(), Currency: "CNY",
		Figures: t.figures, Unsettled: t.unsettled, Anomalies: t.anomalies,
		ChangesAfterClose: []Change{},
	}
	if first == last {
		r.Day = first
	} else {
		r.From, r.To = first, last
	}
	if z := rec.Close; z != nil {
		r.Figures = z.Figures
		r.Timezone = cmp.Or(z.Timezone, r.Timezone) // the zone its day was frozen in
		r.Z = &ZInfo{Seq: z.Seq, ClosedAt: z.ClosedAt, Terminal: z.Terminal, Operator: z.Operator, UnsettledAtClose: len(z.Unsettled) + len(z.UnsettledRefunds)}
		r.ChangesAfterClose = changesSince(*z, rec, t)
		for _, c := range r.ChangesAfterClose {
			r.ChangesNetFen += c.AmountFen
		}
	}
	r.sort()
	return r
}

// changesSince lists what differs between the close z and the live
// tally t of the same records.
func changesSince(z DayClose, rec DayRecords, t tallied) []Change {
	out := []Change{}
	sales, refunds, disputed := set(z.Sales), set(z.Refunds), set(z.Disputed)
	liveSales, liveDisputed := set(t.sales), set(t.disputed)
	live := map[string]bool{}
	for _, o := range rec.Paid {
		switch {
		case o.State == StateDisputed && liveDisputed[o.No]:
			live[o.No] = true
			if !disputed[o.No] {
				out = append(out, Change{Kind: ChangeDisputed, Order: o.No, Method: o.Method, State: string(o.State), At: o.PaidAt})
			}
		case o.State.WasPaid() && liveSales[o.No]:
			live[o.No] = true
			if !sales[o.No] {
				out = append(out, Change{Kind: ChangeSale, Order: o.No, Method: o.Method, AmountFen: o.Amount, State: string(o.State), At: o.PaidAt})
			}
		}
	}
	liveRefunds := set(t.refunds)
	for _, r := range rec.Settled {
		if liveRefunds[r.No] && !refunds[r.No] {
			out = append(out, Change{Kind: ChangeRefund, Order: r.OrderNo, Refund: r.No, Method: r.Method, AmountFen: -r.Amount, State: string(r.State), At: r.SucceededAt})
		}
	}
	// What the close counted and no longer counts: it cannot happen by
	// the state rules, but a day's money is never let go of silently.
	for _, no := range z.Sales {
		if !live[no] {
			out = append(out, Change{Kind: ChangeSaleGone, Order: no, AmountFen: -saleAmount(no, rec)})
		}
	}
	for _, no := range z.Refunds {
		if !liveRefunds[no] {
			out = append(out, Change{Kind: ChangeRefundGone, Refund: no})
		}
	}
	// Orders and refunds unsettled at the close that have since settled
	// without landing on the day.
	stillOpen := map[string]bool{}
	for _, o := range t.unsettled.Orders {
		stillOpen[o.No] = true
	}
	for _, r := range t.unsettled.Refunds {
		stillOpen[r.No] = true
	}
	for _, no := range z.Unsettled {
		if !stillOpen[no] && !live[no] && !sales[no] && !disputed[no] {
			out = append(out, Change{Kind: ChangeSettled, Order: no})
		}
	}
	for _, no := range z.UnsettledRefunds {
		if !stillOpen[no] && !liveRefunds[no] && !refunds[no] {
			out = append(out, Change{Kind: ChangeRefundSettled, Refund: no})
		}
	}
	return out
}

// saleAmount is what a sale counted at the close was, as far as the
// records still tell (0 when they no longer hold it).
func saleAmount(no string, rec DayRecords) Money {
	for _, o := range rec.Paid {
		if o.No == no {
			return o.Amount
		}
	}
	return 0
}

func set(nos []string) map[string]bool {
	m := make(map[string]bool, len(nos))
	for _, n := range nos {
		m[n] = true
	}
	return m
}

// sort orders the lists as a person reads them: by time.
func (r *DayReport) sort() {
	byPaid := func(a, b Order) int { return cmp.Or(a.PaidAt.Compare(b.PaidAt), cmp.Compare(a.No, b.No)) }
	byCreated := func(a, b Order) int { return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.No, b.No)) }
	refundsBy := func(a, b Refund) int { return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.No, b.No)) }
	slices.SortFunc(r.Anomalies.Disputed, byPaid)
	slices.SortFunc(r.Anomalies.LatePayments, byPaid)
	slices.SortFunc(r.Anomalies.FailedRefunds, refundsBy)
	slices.SortFunc(r.Anomalies.DisputedRefunds, refundsBy)
	slices.SortFunc(r.Unsettled.Orders, byCreated)
	slices.SortFunc(r.Unsettled.Refunds, refundsBy)
	slices.SortStableFunc(r.ChangesAfterClose, func(a, b Change) int { return a.At.Compare(b.At) })
	for _, l := range []*[]Order{&r.Anomalies.Disputed, &r.Anomalies.LatePayments, &r.Unsettled.Orders} {
		if *l == nil {
			*l = []Order{}
		}
	}
	for _, l := range []*[]Refund{&r.Anomalies.FailedRefunds, &r.Anomalies.DisputedRefunds, &r.Unsettled.Refunds} {
		if *l == nil {
			*l = []Refund{}
		}
	}
}

// NewDayClose freezes rec's figures as day's Z close (Seq and ClosedAt
// are the ledger's to stamp).
func NewDayClose(rec DayRecords, loc *time.Location, day string, a Actor) DayClose {
	t := tally(rec, loc)
	z := DayClose{
		Day: day, Timezone: loc.String(), Terminal: a.Terminal, Operator: operatorOf(a.Operator),
		Figures: t.figures, Sales: t.sales, Refunds: t.refunds, Disputed: t.disputed,
		Unsettled: []string{}, UnsettledRefunds: []string{},
	}
	for _, o := range t.unsettled.Orders {
		z.Unsettled = append(z.Unsettled, o.No)
	}
	for _, r := range t.unsettled.Refunds {
		z.UnsettledRefunds = append(z.UnsettledRefunds, r.No)
	}
	return z
}

// DayLayout is how a day is written: YYYY-MM-DD.
const DayLayout = "2006-01-02"

// ParseDay reads a YYYY-MM-DD day in loc, returning its first instant.
func ParseDay(s string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation(DayLayout, s, loc)
	if err != nil {
		return time.Time{}, &DayError{Input: s, Reason: fmt.Sprintf("%s is not a day: write it YYYY-MM-DD, like 2026-12-01", Quoted(s))}
	}
	return t, nil
}

// DayError is a refused day or range.
type DayError struct {
	Input  string
	Reason string
}

func (e *DayError) Error() string { return e.Reason }

// MaxReportDays is the longest range a report sums: a year and a day, so
// a whole year fits whatever its leap day.
const MaxReportDays = 367

// Report is the report of the shop's calendar day that holds day.
func (e *Engine) Report(ctx context.Context, day time.Time) (DayReport, error) {
	return e.CounterReport(ctx, day, "")
}

// CounterReport is Report for one counter of the shop (terminal; "" is
// the whole shop), with that counter's own close of the day
// (CloseCounter).
func (e *Engine) CounterReport(ctx context.Context, day time.Time, terminal string) (DayReport, error) {
	from, to := DayBounds(day, e.cfg.Location)
	name := from.Format(DayLayout)
	rec, err := e.ledger.DayRecords(ctx, from, to, name)
	if err != nil {
		return DayReport{}, &LedgerError{Op: "reading the figures of " + name, Err: err}
	}
	rec.LateMargin = e.cfg.LateCheckMargin
	r := reportOf(rec, e.cfg.Location, name, name, terminal)
	if terminal == "" {
		for _, c := range slices.Sorted(maps.Keys(rec.CounterCloses)) {
			z := rec.CounterCloses[c]
			r.CounterCloses = append(r.CounterCloses, CounterZ{Counter: c, Seq: z.Seq, ClosedAt: z.ClosedAt, Operator: z.Operator})
		}
	}
	return r, nil
}

// ReportRange sums the shop's calendar days from first to last, both
// included, as they stand now (a closed day's changes after its close
// are in).
func (e *Engine) ReportRange(ctx context.Context, first, last time.Time) (DayReport, error) {
	return e.ReportFor(ctx, first, last, "")
}

// ReportFor is ReportRange for one counter of the shop (terminal; "" is
// the whole shop): the sales it rang up, the refunds it made and what it
// left unsettled (DayRecords.ForTerminal).
func (e *Engine) ReportFor(ctx context.Context, first, last time.Time, terminal string) (DayReport, error) {
	from, _ := DayBounds(first, e.cfg.Location)
	lastFrom, to := DayBounds(last, e.cfg.Location)
	a, b := from.Format(DayLayout), lastFrom.Format(DayLayout)
	switch {
	case lastFrom.Before(from):
		return DayReport{}, &DayError{Input: a + ".." + b, Reason: fmt.Sprintf("the range ends (%s) before it starts (%s)", b, a)}
	case from.AddDate(0, 0, MaxReportDays-1).Before(lastFrom):
		return DayReport{}, &DayError{Input: a + ".." + b, Reason: fmt.Sprintf("a report sums at most %d days", MaxReportDays)}
	}
	rec, err := e.ledger.DayRecords(ctx, from, to, "")
	if err != nil {
		return DayReport{}, &LedgerError{Op: fmt.Sprintf("reading the figures of %s to %s", a, b), Err: err}
	}
	rec.LateMargin = e.cfg.LateCheckMargin
	return reportOf(rec, e.cfg.Location, a, b, terminal), nil
}

// reportOf is BuildReport of what terminal did of rec ("": the whole
// shop's), naming the counter.
func reportOf(rec DayRecords, loc *time.Location, first, last, terminal string) DayReport {
	if terminal == "" {
		return BuildReport(rec, loc, first, last)
	}
	r := BuildReport(rec.ForTerminal(terminal), loc, first, last)
	r.Terminal = terminal
	return r
}

// ForTerminal keeps of r what one counter did: the orders it rang up
// (paid, open, to be checked again) and the refunds it made, whichever
// counter sold them. Its Close is that counter's own close of the day.
func (r DayRecords) ForTerminal(terminal string) DayRecords {
	order := func(o Order) bool { return o.Terminal == terminal }
	refund := func(x Refund) bool { return x.Terminal == terminal }
	r.Paid, r.Open, r.Rechecks = keep(r.Paid, order), keep(r.Open, order), keep(r.Rechecks, order)
	r.Settled, r.OpenRefunds = keep(r.Settled, refund), keep(r.OpenRefunds, refund)
	r.Close = nil
	if z, ok := r.CounterCloses[terminal]; ok {
		r.Close = &z
	}
	return r
}

// keep is the xs that ok accepts, in a new slice (nil for none): xs is
// the caller's, and stays as it was.
func keep[T any](xs []T, ok func(T) bool) []T {
	var out []T
	for _, x := range xs {
		if ok(x) {
			out = append(out, x)
		}
	}
	return out
}

// Counters lists, sorted, the terminals with a record that counts in
// r's figures or lists (a sale or refund of the range, an anomaly, or
// something unsettled that may still land in it, as tally reads them):
// who a day close of one counter may be for. A sale left open on an
// earlier day that can no longer land in the range is not the range's.
func (r DayRecords) Counters() []string {
	seen := tally(r, time.UTC).terminals
	delete(seen, "")
	return slices.Sorted(maps.Keys(seen))
}

// CloseOf is the close of counter ("" the whole shop) r holds, or nil.
func (r DayRecords) CloseOf(counter string) *DayClose {
	if counter == "" {
		return r.Close
	}
	if z, ok := r.CounterCloses[counter]; ok {
		return &z
	}
	return nil
}

// ErrDayClosed means the day already has its Z close.
var ErrDayClosed = errors.New("the day is already closed")

// CloseCode says why a day close was refused.
type CloseCode string

const (
	CloseAlready   CloseCode = "already_closed" // the day has its Z close
	CloseFuture    CloseCode = "future"         // the day has not begun
	CloseUnsettled CloseCode = "unsettled"      // orders or refunds are still unsettled
	CloseBefore    CloseCode = "before_ledger"  // the day ended before the ledger's first order
	CloseIdle      CloseCode = "idle_counter"   // the counter to close recorded nothing that day
)

// CloseError is a refused day close: Left lists what is unsettled, Z the
// close a closed day already has.
type CloseError struct {
	Code CloseCode
	Day  string
	Left Unsettled
	Z    *DayClose
	// Counter is the counter a close of one was refused for, Counters
	// those that did record something that day (CloseIdle).
	Counter  string
	Counters []string
	Reason   string
}

func (e *CloseError) Error() string { return e.Reason }

func (e *CloseError) Unwrap() error {
	if e.Code == CloseAlready {
		return ErrDayClosed
	}
	return nil
}

// CloseDay freezes the figures of the shop's calendar day that holds day
// into the ledger as its Z close, numbered after the last one. What is
// unsettled refuses the close unless anyway is set, and then the close
// records it; callers settle first by query (Recover). The figures are
// computed in the transaction that stores the close, so nothing lands
// between the count and the freeze.
func (e *Engine) CloseDay(ctx context.Context, day time.Time, anyway bool) (DayClose, error) {
	return e.CloseCounter(ctx, day, "", anyway)
}

// CloseCounter is CloseDay for one counter of the shop (terminal; "" is
// the whole shop): its own Z close of the day, of what ReportFor shows
// for it, numbered in the ledger's one series. A counter that recorded
// nothing that day is refused (most likely a mistyped id), naming those
// that did.
func (e *Engine) CloseCounter(ctx context.Context, day time.Time, counter string, anyway bool) (DayClose, error) {
	ctx = e.as(ctx, "desk")
	from, to := DayBounds(day, e.cfg.Location)
	name := from.Format(DayLayout)
	if from.After(e.clock.Now()) {
		return DayClose{}, &CloseError{Code: CloseFuture, Day: name, Reason: fmt.Sprintf("%s has not begun: a day is closed once it has", name)}
	}
	actor, _ := ActorFrom(ctx)
	z, err := e.ledger.CloseDay(ctx, from, to, name, func(rec DayRecords) (DayClose, error) {
		rec.LateMargin = e.cfg.LateCheckMargin
		if counter != "" {
			counters := rec.Counters()
			if rec = rec.ForTerminal(counter); rec.Close == nil && !slices.Contains(counters, counter) {
				return DayClose{}, &CloseError{Code: CloseIdle, Day: name, Counter: counter, Counters: counters,
					Reason: fmt.Sprintf("counter %s recorded nothing on %s: there is nothing of its to close", Quoted(counter), name)}
			}
		}
		if rec.Close != nil {
			return DayClose{}, closedError(*rec.Close, e.cfg.Location)
		}
		if rec.FirstOrder.IsZero() || !rec.FirstOrder.Before(to) {
			// An empty day before the shop's first sale would take a Z
			// number and put the Zs out of the days' order.
			return DayClose{}, &CloseError{Code: CloseBefore, Day: name,
				Reason: fmt.Sprintf("%s ended before the first sale in this ledger: there is nothing to close", name)}
		}
		t := tally(rec, e.cfg.Location)
		if t.unsettled.Count > 0 && !anyway {
			t.unsettled.Orders, t.unsettled.Refunds = sortedOrders(t.unsettled.Orders), sortedRefunds(t.unsettled.Refunds)
			return DayClose{}, &CloseError{Code: CloseUnsettled, Day: name, Left: t.unsettled,
				Reason: fmt.Sprintf("%s has %d orders or refunds the providers have not settled yet", name, t.unsettled.Count)}
		}
		z := NewDayClose(rec, e.cfg.Location, name, actor)
		z.Counter = counter
		return z, nil
	})
	if err != nil {
		var ce *CloseError
		if errors.As(err, &ce) {
			return DayClose{}, ce
		}
		return DayClose{}, &LedgerError{Op: "closing " + name, Err: err}
	}
	e.log.Info("day closed", "day", name, "counter", z.Counter, "seq", z.Seq, "net_fen", int64(z.Figures.NetFen), "unsettled", len(z.Unsettled)+len(z.UnsettledRefunds))
	if fn, _ := e.afterClose.Load().(func(context.Context, DayClose)); fn != nil {
		// After the commit, whatever it does: the close stands.
		fn(context.WithoutCancel(ctx), z)
	}
	return z, nil
}

// AfterClose sets what runs once a day close is committed, from the desk,
// a command or `till serve` alike: the backup taken at each close.
func (e *Engine) AfterClose(fn func(ctx context.Context, z DayClose)) { e.afterClose.Store(fn) }

func closedError(z DayClose, loc *time.Location) *CloseError {
	what := z.Day
	if z.Counter != "" {
		what = fmt.Sprintf("%s of counter %s", z.Day, z.Counter)
	}
	return &CloseError{Code: CloseAlready, Day: z.Day, Z: &z, Counter: z.Counter,
		Reason: fmt.Sprintf("%s is already closed (Z %d at %s)", what, z.Seq, z.ClosedAt.In(loc).Format(time.DateTime))}
}

func sortedOrders(os []Order) []Order {
	slices.SortFunc(os, func(a, b Order) int { return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.No, b.No)) })
	return os
}

func sortedRefunds(rs []Refund) []Refund {
	slices.SortFunc(rs, func(a, b Refund) int { return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.No, b.No)) })
	return rs
}
