package checkout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"
)

// Defaults for Config.
const (
	DefaultPollInterval = 3 * time.Second
	DefaultTimeout      = 3 * time.Minute
	MaxNoteRunes        = 60
)

// Config is what the engine needs to know about the shop and the counter.
type Config struct {
	PollInterval time.Duration
	Timeout      time.Duration
	Terminal     string
	Ceiling      Money
	ShopName     string              // goes into the provider's description
	Location     *time.Location      // the shop's time zone: days are its calendar days
	NotifyURL    func(Method) string // webhook URL per provider, "" for none
}

// Engine runs sales: it writes the order, creates it at the provider,
// polls it, and closes it at the timeout or on the clerk's cancel. It is
// safe for concurrent use: every change is a compare-and-set in the ledger.
type Engine struct {
	ledger    Ledger
	providers map[Method]Provider
	methods   []Method // the configured ones, wechat first
	clock     Clock
	numbers   *Numbers
	cfg       Config
	log       *slog.Logger

	// started holds the numbers of the sales this engine began, so that
	// recovery settles only what an earlier run left open and never a
	// sale the clerk has just started.
	started sync.Map
	// locks serialise the calls on one order (a poll, the close at the
	// timeout, recovery), so that what one learns is never overtaken by
	// another's older answer.
	locks sync.Map
}

// lock takes the order's lock and returns its release.
func (e *Engine) lock(no string) func() {
	mu, _ := e.locks.LoadOrStore(no, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	return mu.(*sync.Mutex).Unlock
}

// NewEngine builds an engine. A nil clock means the system clock and a nil
// logger discards.
func NewEngine(l Ledger, providers []Provider, cfg Config, clock Clock, log *slog.Logger) *Engine {
	if clock == nil {
		clock = SystemClock
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Ceiling <= 0 {
		cfg.Ceiling = DefaultCeiling
	}
	if cfg.Terminal == "" {
		cfg.Terminal = "T1"
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.ShopName == "" {
		cfg.ShopName = "till"
	}
	ps := map[Method]Provider{}
	var methods []Method
	for _, p := range providers {
		if _, dup := ps[p.Method()]; !dup {
			methods = append(methods, p.Method())
		}
		ps[p.Method()] = p
	}
	sort.Slice(methods, func(i, j int) bool { return methods[i] > methods[j] }) // wechat, alipay
	return &Engine{
		ledger:    l,
		providers: ps,
		methods:   methods,
		clock:     clock,
		numbers:   &Numbers{Terminal: cfg.Terminal, Clock: clock},
		cfg:       cfg,
		log:       log,
	}
}

// Config returns the engine's settings after defaults.
func (e *Engine) Config() Config { return e.cfg }

// Now is the engine's clock.
func (e *Engine) Now() time.Time { return e.clock.Now() }

// Methods lists the configured payment methods in a stable order.
func (e *Engine) Methods() []Method { return e.methods }

// ParseAmount parses what the clerk typed, against the configured ceiling.
func (e *Engine) ParseAmount(s string) (Money, error) { return ParseMoney(s, e.cfg.Ceiling) }

// Order returns an order from the ledger.
func (e *Engine) Order(ctx context.Context, no string) (Order, error) {
	return e.ledger.Order(ctx, no)
}

// Today returns the orders created on the shop's current calendar day,
// newest first, at most limit.
func (e *Engine) Today(ctx context.Context, limit int) ([]Order, error) {
	from, to := DayBounds(e.clock.Now(), e.cfg.Location)
	return e.ledger.OrdersCreated(ctx, from, to, limit)
}

// DayBounds returns the start of t's calendar day in loc and the start of
// the next, so that a day is [from, to) whatever the machine's zone.
func DayBounds(t time.Time, loc *time.Location) (from, to time.Time) {
	t = t.In(loc)
	from = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	to = from.AddDate(0, 0, 1)
	return from, to
}

func (e *Engine) provider(m Method) (Provider, error) {
	p, ok := e.providers[m]
	if !ok {
		return nil, fmt.Errorf("%s: %w", m.Label(), ErrNoProvider)
	}
	return p, nil
}

// Start begins a sale: it checks the input (a refused input writes
// nothing), writes the order as created, then creates it at the provider.
// When the provider's answer is unknown the order stays created and the
// error says so; Retry sends the same request again and Finish settles it.
func (e *Engine) Start(ctx context.Context, m Method, amount Money, note string) (Order, error) {
	if amount <= 0 {
		return Order{}, &AmountError{Reason: "the amount must be at least 0.01"}
	}
	if amount > e.cfg.Ceiling {
		return Order{}, &AmountError{Reason: fmt.Sprintf("%s is above the limit of %s for one sale", amount, e.cfg.Ceiling)}
	}
	note = strings.TrimSpace(note)
	if utf8.RuneCountInString(note) > MaxNoteRunes {
		return Order{}, fmt.Errorf("the note is longer than %d characters", MaxNoteRunes)
	}
	p, err := e.provider(m)
	if err != nil {
		return Order{}, err
	}
	now := e.clock.Now()
	o := Order{
		Terminal:  e.cfg.Terminal,
		Method:    m,
		Amount:    amount,
		Note:      note,
		State:     StateCreated,
		CreatedAt: now,
		UpdatedAt: now,
		// Providers take whole seconds; the payable window is the timeout.
		ExpiresAt: now.Add(e.cfg.Timeout).Truncate(time.Second),
	}
	// A number is taken only after a restart within the same millisecond
	// (or a clock set back): try the next ones.
	// The number is claimed for this run before the order is written, so
	// a recovery pass running now never takes it for a leftover.
	for range 50 {
		o.No = e.numbers.Order()
		e.started.Store(o.No, true)
		if err = e.ledger.CreateOrder(ctx, o); !errors.Is(err, ErrExists) {
			break
		}
		e.started.Delete(o.No)
	}
	if err != nil {
		e.started.Delete(o.No)
		return Order{}, fmt.Errorf("recording the sale: %w", err)
	}
	defer e.lock(o.No)()
	e.log.Info("sale started", "order", o.No, "method", m, "amount_fen", int64(amount))
	return e.create(ctx, p, o)
}

// Retry sends the create request of an order still in created again, with
// the same number and the same parameters, so the provider answers the
// same trade rather than making a second one.
func (e *Engine) Retry(ctx context.Context, no string) (Order, error) {
	defer e.lock(no)()
	o, err := e.ledger.Order(ctx, no)
	if err != nil {
		return o, err
	}
	if o.State != StateCreated {
		return o, nil
	}
	p, err := e.provider(o.Method)
	if err != nil {
		return o, err
	}
	return e.create(ctx, p, o)
}

func (e *Engine) create(ctx context.Context, p Provider, o Order) (Order, error) {
	notify := ""
	if e.cfg.NotifyURL != nil {
		notify = e.cfg.NotifyURL(o.Method)
	}
	res, err := p.Create(ctx, CreateRequest{
		OrderNo:     o.No,
		Amount:      o.Amount,
		Description: e.description(o),
		ExpiresAt:   o.ExpiresAt,
		Terminal:    o.Terminal,
		NotifyURL:   notify,
	})
	switch {
	case err == nil:
		e.log.Info("order created at provider", "order", o.No)
		got, err := e.advance(ctx, o.No, StateAwaiting, func(s *Order) { s.CodeURL = res.CodeURL })
		if err != nil {
			// The provider has it, the ledger could not say so: the sale
			// stays created, and a retry asks for the same code again.
			return o, fmt.Errorf("recording the QR code of order %s: %w", o.No, err)
		}
		return got, nil
	case IsUnknown(err):
		e.log.Warn("create outcome unknown", "order", o.No, "err", err)
		return o, err
	default:
		// A definite refusal. It may still follow an earlier attempt whose
		// answer was lost, so settle by query before calling it failed.
		e.log.Warn("create refused", "order", o.No, "err", err)
		settled, serr := e.settle(ctx, p, o, "refused by provider: "+userMessage(err), true)
		if serr != nil {
			return settled, serr
		}
		return settled, err
	}
}

func (e *Engine) description(o Order) string {
	if o.Note != "" {
		return e.cfg.ShopName + " - " + o.Note
	}
	return e.cfg.ShopName
}

// Poll asks the provider once about an open order and records what it
// learns. Errors leave the order as it was: the next poll asks again.
func (e *Engine) Poll(ctx context.Context, no string) (Order, error) {
	defer e.lock(no)()
	o, p, err := e.openOrder(ctx, no)
	if err != nil || p == nil {
		return o, err
	}
	st, err := p.Query(ctx, no)
	if err != nil {
		e.log.Warn("poll failed", "order", no, "err", err)
		return o, err
	}
	return e.apply(ctx, o, st)
}

// apply records a query's answer. Not paid and not found change nothing.
func (e *Engine) apply(ctx context.Context, o Order, st TradeStatus) (Order, error) {
	switch st.State {
	case TradePaid:
		if st.Amount != 0 && st.Amount != o.Amount {
			e.log.Error("provider reports a different amount", "order", o.No, "ours_fen", int64(o.Amount), "theirs_fen", int64(st.Amount))
			return o, fmt.Errorf("order %s: the provider reports %s paid, not %s; check it on the merchant platform", o.No, st.Amount.Yuan(), o.Amount.Yuan())
		}
		return e.markPaid(ctx, o.No, st)
	case TradeRefunded:
		// Paid, then refunded in full: a cancel that refunded a
		// last-moment payment and whose answer was lost. The ledger shows
		// both the sale and its refund.
		return e.paidAndRefunded(ctx, o, st.ProviderTradeNo, st.PaidAt)
	case TradeClosed, TradeFailed:
		reason := "closed by the provider (" + st.Raw + ")"
		if st.State == TradeClosed && !e.clock.Now().Before(o.ExpiresAt) {
			reason = "timed out" // the provider's expiry is the sale's timeout
		}
		return e.advance(ctx, o.No, StateClosed, func(s *Order) {
			s.Reason = reason
			s.ClosedAt = e.clock.Now()
		})
	}
	return o, nil
}

func (e *Engine) markPaid(ctx context.Context, no string, st TradeStatus) (Order, error) {
	o, err := e.advance(ctx, no, StatePaid, func(s *Order) {
		s.ProviderTradeNo = st.ProviderTradeNo
		s.PaidAt = st.PaidAt
		if s.PaidAt.IsZero() {
			s.PaidAt = e.clock.Now()
		}
		s.Reason = ""
	})
	if err == nil {
		e.log.Info("paid", "order", no, "amount_fen", int64(o.Amount))
	}
	return o, err
}

// advance moves an order; finding it already in `to` or further along is
// not an error, since another path (a poll, a close) may have got there.
func (e *Engine) advance(ctx context.Context, no string, to State, fn func(*Order)) (Order, error) {
	// The write records what the provider already did: it must not be
	// lost to the call's deadline or a shutdown.
	o, err := e.ledger.Advance(context.WithoutCancel(ctx), no, to, fn)
	var te *TransitionError
	if errors.As(err, &te) {
		return te.Current, nil
	}
	return o, err
}

// Finish ends an open sale at the timeout or on the clerk's cancel: it
// queries once more, and if the trade is still unpaid it closes it and
// records what the close answered (closed, found paid, or refunded). When
// the provider cannot be reached the order stays open and the error says
// so; Recover settles it later.
func (e *Engine) Finish(ctx context.Context, no, reason string) (Order, error) {
	defer e.lock(no)()
	o, p, err := e.openOrder(ctx, no)
	if err != nil || p == nil {
		return o, err
	}
	return e.settle(ctx, p, o, reason, false)
}

// openOrder loads an order and, when it is still open, its provider; a
// settled order comes back with a nil provider and nothing to do.
func (e *Engine) openOrder(ctx context.Context, no string) (Order, Provider, error) {
	o, err := e.ledger.Order(ctx, no)
	if err != nil || !o.State.Open() {
		return o, nil, err
	}
	p, err := e.provider(o.Method)
	return o, p, err
}

// settle queries, then closes an unpaid trade. failed says the order ends
// as failed rather than closed when it was never payable.
func (e *Engine) settle(ctx context.Context, p Provider, o Order, reason string, failed bool) (Order, error) {
	st, qerr := p.Query(ctx, o.No)
	if qerr == nil {
		got, err := e.apply(ctx, o, st)
		if err != nil || !got.State.Open() {
			return got, err
		}
	} else {
		e.log.Warn("final query failed; closing anyway", "order", o.No, "err", qerr)
	}
	end := StateClosed
	if failed {
		end = StateFailed
	}
	closeAs := func(why string) (Order, error) {
		return e.advance(ctx, o.No, end, func(s *Order) {
			s.Reason = why
			s.ClosedAt = e.clock.Now()
		})
	}
	cr, err := p.Close(ctx, o.No)
	if err != nil {
		switch KindOf(err) {
		case KindNotFound, KindClosed:
			// Never created, never scanned, or already closed: nothing
			// can be paid.
			return closeAs(reason)
		case KindAlreadyPaid:
			cr.Outcome = CloseWasPaid
		default:
			e.log.Warn("close failed; order stays open", "order", o.No, "err", err)
			return o, fmt.Errorf("could not close order %s: %w", o.No, err)
		}
	}
	switch cr.Outcome {
	case CloseWasPaid:
		// Paid after all. Record it from a query, so the amount is
		// checked like any payment; until then the order stays open.
		st, err := p.Query(ctx, o.No)
		if err != nil {
			return o, fmt.Errorf("order %s: %s says it is paid; confirming it failed: %w", o.No, o.Method.Label(), err)
		}
		got, err := e.apply(ctx, o, st)
		if err == nil && got.State.Open() {
			err = fmt.Errorf("order %s: %s says it is paid but reports it %s", o.No, o.Method.Label(), st.Raw)
		}
		return got, err
	case CloseRefunded:
		return e.paidAndRefunded(ctx, o, cr.ProviderTradeNo, time.Time{})
	}
	e.log.Info("closed", "order", o.No, "reason", reason)
	return closeAs(reason)
}

// paidAndRefunded records that the customer paid and the provider gave
// it all back (Alipay's cancel of a trade paid at the last moment).
func (e *Engine) paidAndRefunded(ctx context.Context, o Order, tradeNo string, paidAt time.Time) (Order, error) {
	now := e.clock.Now()
	if paidAt.IsZero() {
		paidAt = now
	}
	r := Refund{
		No:        e.numbers.Refund(),
		OrderNo:   o.No,
		Method:    o.Method,
		Amount:    o.Amount,
		State:     RefundSucceeded,
		Reason:    "paid as the sale was being closed; the provider refunded it",
		CreatedAt: now, UpdatedAt: now, SucceededAt: now,
	}
	got, err := e.ledger.PaidAndRefunded(context.WithoutCancel(ctx), o.No, func(s *Order) {
		s.ProviderTradeNo = tradeNo
		s.PaidAt = paidAt
	}, r)
	var te *TransitionError
	if errors.As(err, &te) {
		return te.Current, nil
	}
	if err == nil {
		e.log.Warn("paid at the last moment and refunded by the provider", "order", o.No, "refund", r.No)
	}
	return got, err
}

// Release hands a sale this engine started over to recovery: the clerk
// has left it (its close could not be confirmed), so the next Recover
// settles it like one an earlier run left open.
func (e *Engine) Release(no string) { e.started.Delete(no) }

// Recover settles every order left open by an earlier run (a crash, a
// kill, a power cut): each is queried and, if unpaid, closed. Sales this
// engine started are left to their own screens. It returns the orders it settled
// and the errors of those it could not (they stay open for the next Recover).
func (e *Engine) Recover(ctx context.Context) ([]Order, []error) {
	open, err := e.ledger.OpenOrders(ctx)
	if err != nil {
		return nil, []error{err}
	}
	var done []Order
	var errs []error
	for _, o := range open {
		if _, mine := e.started.Load(o.No); mine {
			continue
		}
		got, err := e.Finish(ctx, o.No, "settled at start-up")
		if err != nil {
			errs = append(errs, fmt.Errorf("order %s: %w", o.No, err))
			continue
		}
		e.log.Info("recovered", "order", o.No, "state", got.State)
		done = append(done, got)
	}
	return done, errs
}

// userMessage is the part of an error a clerk should read.
func userMessage(err error) string {
	var pe *ProviderError
	if errors.As(err, &pe) && pe.Message != "" {
		return pe.Message
	}
	return err.Error()
}

// UserMessage explains err in words for the counter; the log keeps the
// detail.
func UserMessage(err error) string {
	var (
		ae *AmountError
		pe *ProviderError
		ne net.Error
	)
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ae):
		return ae.Reason
	case errors.As(err, &pe) && pe.Kind == KindUnknown:
		return "no clear answer from the provider: " + userMessage(pe)
	case errors.As(err, &pe):
		return userMessage(pe)
	case errors.Is(err, context.DeadlineExceeded):
		return "the provider did not answer in time"
	case errors.As(err, &ne) && ne.Timeout():
		return "the provider did not answer in time"
	case errors.As(err, &ne), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return "could not reach the provider (" + networkCause(err) + ")"
	}
	return err.Error()
}

func networkCause(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	}
	return "network error"
}
