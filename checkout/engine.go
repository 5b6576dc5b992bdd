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
	"sync/atomic"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"
)

// Defaults for Config.
const (
	DefaultPollInterval    = 3 * time.Second
	DefaultTimeout         = 3 * time.Minute
	DefaultLateCheckMargin = 2 * time.Minute
	MaxNoteRunes           = 60
	// DefaultHeartbeatTimeout is how long a desk on a shared ledger may
	// stay silent before the others settle its open sales.
	DefaultHeartbeatTimeout = 2 * time.Minute
)

// Config is what the engine needs to know about the shop and the counter.
type Config struct {
	PollInterval time.Duration
	Timeout      time.Duration
	// LateCheckMargin is added to a provider's own expiry before a closed
	// order that could still be paid is asked about once more: room for a
	// desk clock running ahead of the provider's.
	LateCheckMargin time.Duration
	Terminal        string
	Ceiling         Money
	ShopName        string              // goes into the provider's description
	Location        *time.Location      // the shop's time zone: days are its calendar days
	NotifyURL       func(Method) string // webhook URL per provider, "" for none
	// CodeDeadline is how long a payment-code sale may stay unsettled
	// before it is reversed (DefaultCodeDeadline when zero; at most
	// MaxCodeDeadline).
	CodeDeadline time.Duration
	// HeartbeatTimeout: on a ledger several desks share (Terminals), the
	// open sales of another desk are settled only once its heartbeat is
	// older than this (DefaultHeartbeatTimeout when zero).
	HeartbeatTimeout time.Duration
}

// Engine runs sales: it writes the order, creates it at the provider,
// polls it, and closes it at the timeout or on the clerk's cancel. It is
// safe for concurrent use: every change is a compare-and-set in the ledger.
//
// Every method that takes an order number returns an Order carrying at
// least that number, also with an error, so a caller can always tell which
// sale an answer is about.
type Engine struct {
	ledger    Ledger
	providers map[Method]Provider
	methods   []Method // the configured ones, wechat first
	clock     Clock
	numbers   *Numbers
	cfg       Config
	log       *slog.Logger

	// started holds the numbers of the sales this engine began and has not
	// seen settled, so that recovery settles only what an earlier run (or
	// a screen that gave up, see Release) left open and never a sale the
	// clerk has just started.
	started sync.Map
	// locks serialise the calls on one order (a poll, the close at the
	// timeout, recovery), so that what one learns is never overtaken by
	// another's older answer. An entry lives while someone holds or waits
	// for it, so the map stays as small as the work in flight.
	locksMu sync.Mutex
	locks   map[string]*orderLock
	// pass serialises Recover: a start-up pass and a periodic one never
	// overlap.
	pass sync.Mutex
	// startedRefunds holds the refunds a caller is settling itself (a
	// refund under way, a screen watching one), which a settling pass
	// leaves alone.
	startedRefunds sync.Map
	// operator is who works the counter now (SetOperator).
	operator atomic.Value // string
	// notices carries the orders a notification settled (Notices).
	notices chan Order
	// retry is the settling passes' backoff per order and refund.
	retry backoff
	// afterClose runs after each committed day close (AfterClose).
	afterClose atomic.Value // func(context.Context, DayClose)
	// accepted holds, by order number, what a provider's accepted create
	// gave (the code, when) until a commit carries it: a sale commits
	// twice, when it is written (before the provider is called) and when
	// it settles, not a third time in between (see create).
	accepted sync.Map // string -> acceptance
	// codePaid holds the code sales whose provider has said "paid" while
	// the ledger could not record it: never reversed, whatever a later
	// query answers (a reverse would give back money the clerk saw paid).
	// codeCancelled holds the code sales a clerk cancelled (CancelCode):
	// reversed as soon as the provider allows, by the screen or by a
	// settling pass after the screen let go. Both live until the sale
	// settles; after a restart the deadline rules.
	codePaid, codeCancelled sync.Map // string -> true
}

// acceptance is a create's answer not yet in the ledger.
type acceptance struct {
	codeURL string
	at      time.Time
}

// overlay gives o, read from the ledger, what this engine knows of it and
// has not committed yet: an order still created in the ledger whose
// create the provider accepted is awaiting, with its code.
func (e *Engine) overlay(o Order) Order {
	if o.State != StateCreated {
		return o
	}
	if a, ok := e.accepted.Load(o.No); ok {
		acc := a.(acceptance)
		o.State, o.CodeURL, o.AcceptedAt = StateAwaiting, acc.codeURL, acc.at
	}
	return o
}

// carry adds to a commit on order no the acceptance it has not recorded.
func (e *Engine) carry(no string, s *Order) {
	if a, ok := e.accepted.Load(no); ok && s.CodeURL == "" {
		acc := a.(acceptance)
		s.CodeURL, s.AcceptedAt = acc.codeURL, acc.at
	}
}

// SetOperator says who works the counter from now on: the sales and
// refunds made through this engine carry the name.
func (e *Engine) SetOperator(id string) { e.operator.Store(id) }

// Operator is who works the counter (DefaultOperator until set).
func (e *Engine) Operator() string {
	if id, _ := e.operator.Load().(string); id != "" {
		return id
	}
	return DefaultOperator
}

// as returns ctx with the actor the ledger stamps changes with: the
// caller's own when it set one (a command through the control socket),
// else this counter, its operator and via.
func (e *Engine) as(ctx context.Context, via string) context.Context {
	if _, ok := ActorFrom(ctx); ok {
		return ctx
	}
	return WithActor(ctx, Actor{Terminal: e.cfg.Terminal, Operator: e.Operator(), Via: via})
}

// orderLock is one order's lock: a channel of one, so that waiting for it
// can give up with the caller's context.
type orderLock struct {
	held chan struct{}
	refs int // holders and waiters, under Engine.locksMu
}

// lock takes the order's lock and returns its release. A caller whose
// context ends while another call on the order is still under way gets an
// error wrapping ErrBusy, and nothing is done.
func (e *Engine) lock(ctx context.Context, no string) (func(), error) {
	e.locksMu.Lock()
	l := e.locks[no]
	if l == nil {
		l = &orderLock{held: make(chan struct{}, 1)}
		e.locks[no] = l
	}
	l.refs++
	e.locksMu.Unlock()
	drop := func() {
		e.locksMu.Lock()
		if l.refs--; l.refs == 0 {
			delete(e.locks, no)
		}
		e.locksMu.Unlock()
	}
	select {
	case l.held <- struct{}{}:
	case <-ctx.Done():
		drop()
		return nil, fmt.Errorf("order %s: %w (%v)", no, ErrBusy, ctx.Err())
	}
	local := func() { <-l.held; drop() }
	ol, shared := e.ledger.(OrderLocker)
	if !shared {
		return local, nil
	}
	// A ledger shared by several desks: the order is also locked across
	// them, after this process's own lock (so one process queues its
	// callers itself and holds at most one shared lock per order).
	release, err := ol.LockOrder(ctx, no)
	if err != nil {
		local()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("order %s: %w (%v)", no, ErrBusy, ctx.Err())
		}
		return nil, &LedgerError{Op: "locking order " + no, Err: err}
	}
	return func() { release(); local() }, nil
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
	if cfg.LateCheckMargin < 0 {
		cfg.LateCheckMargin = 0
	} else if cfg.LateCheckMargin == 0 {
		cfg.LateCheckMargin = DefaultLateCheckMargin
	}
	if cfg.Ceiling <= 0 {
		cfg.Ceiling = DefaultCeiling
	}
	if cfg.Terminal == "" {
		cfg.Terminal = DefaultTerminal
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
		locks:     map[string]*orderLock{},
		notices:   make(chan Order, noticeBuffer),
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
	o, err := e.ledger.Order(ctx, no)
	return e.overlay(o), err
}

func (e *Engine) overlayAll(os []Order) []Order {
	for i := range os {
		os[i] = e.overlay(os[i])
	}
	return os
}

// Today returns the orders created on the shop's current calendar day,
// newest first, at most limit.
func (e *Engine) Today(ctx context.Context, limit int) ([]Order, error) {
	from, to := DayBounds(e.clock.Now(), e.cfg.Location)
	os, err := e.ledger.OrdersCreated(ctx, from, to, limit)
	if err != nil {
		return nil, &LedgerError{Op: "reading today's orders", Err: err}
	}
	return e.overlayAll(os), nil
}

// OrdersOn returns the orders created on the shop's calendar day that
// holds t, newest first: one day's key range, never the whole ledger.
func (e *Engine) OrdersOn(ctx context.Context, t time.Time) ([]Order, error) {
	from, to := DayBounds(t, e.cfg.Location)
	os, err := e.ledger.OrdersCreated(ctx, from, to, 0)
	if err != nil {
		return nil, &LedgerError{Op: "reading the orders of " + from.Format("2006-01-02"), Err: err}
	}
	return e.overlayAll(os), nil
}

// OrderHistory is one order with everything that happened to it.
type OrderHistory struct {
	Order   Order
	Refunds []Refund
	Entries []AuditEntry // its audit trail: who did what, when, where
}

// History returns order no with its refunds and its audit entries.
func (e *Engine) History(ctx context.Context, no string) (OrderHistory, error) {
	o, err := e.read(ctx, no)
	if err != nil {
		return OrderHistory{Order: o}, err
	}
	h := OrderHistory{Order: o}
	if h.Refunds, err = e.ledger.Refunds(ctx, no); err != nil {
		return h, &LedgerError{Op: "reading the refunds of order " + no, Err: err}
	}
	if h.Entries, err = e.ledger.AuditOf(ctx, no); err != nil {
		return h, &LedgerError{Op: "reading the history of order " + no, Err: err}
	}
	return h, nil
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

// CheckNote trims a clerk's note and refuses what must not reach a
// provider's bill or a terminal: more than MaxNoteRunes characters,
// invalid UTF-8, control characters (escape sequences start with one) and
// the invisible characters that reorder or break text.
func CheckNote(note string) (string, error) {
	note = strings.TrimSpace(note)
	if !utf8.ValidString(note) {
		return "", &NoteError{Code: NoteInvalid, Reason: "the note is not valid text"}
	}
	if HoldsCode(note) {
		// A scan into the note: the customer's code must not go to the
		// ledger, the provider's description or the bill.
		return "", &NoteError{Code: NoteHoldsCode, Reason: "the note holds what looks like a customer's payment code"}
	}
	if utf8.RuneCountInString(note) > MaxNoteRunes {
		return "", &NoteError{Code: NoteTooLong, Reason: fmt.Sprintf("the note is longer than %d characters", MaxNoteRunes)}
	}
	for _, r := range note {
		if unicode.IsControl(r) || invisible(r) {
			return "", &NoteError{Code: NoteControl, Reason: "the note holds a control character or an escape sequence: use letters, digits and punctuation"}
		}
	}
	return note, nil
}

// NoteError says why a note was refused: Reason in English for logs,
// Code for a screen's own words.
type NoteError struct {
	Code   NoteCode
	Reason string
}

func (e *NoteError) Error() string { return e.Reason }

// NoteCode names why a note was refused.
type NoteCode string

const (
	NoteInvalid NoteCode = "invalid"  // not UTF-8
	NoteTooLong NoteCode = "too_long" // more than MaxNoteRunes
	NoteControl NoteCode = "control"  // control characters, escapes, direction overrides
	// NoteHoldsCode: a run of digits that may be a customer's payment
	// code (HoldsCode), scanned into the note by mistake.
	NoteHoldsCode NoteCode = "holds_code"
)

// invisible reports the direction overrides and separators that change
// how the text around them is shown.
func invisible(r rune) bool {
	switch {
	case r == '\u200e', r == '\u200f', r == '\u061c': // direction marks
		return true
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069': // embeddings, overrides, isolates
		return true
	case r == '\u2028', r == '\u2029', r == '\ufeff':
		return true
	}
	return false
}

// Start begins a sale: it checks the input (a refused input writes
// nothing), writes the order as created, then creates it at the provider.
// When the provider's answer is unknown the order stays created and the
// error says so; Retry sends the same request again and Finish settles it.
// An Order with an empty State means nothing was recorded.
func (e *Engine) Start(ctx context.Context, m Method, amount Money, note string) (Order, error) {
	ctx = e.as(ctx, "desk")
	note, err := e.checkSale(amount, note)
	if err != nil {
		return Order{}, err
	}
	p, err := e.provider(m)
	if err != nil {
		return Order{}, err
	}
	now := e.clock.Now()
	actor, _ := ActorFrom(ctx)
	o := Order{
		Terminal:  e.cfg.Terminal,
		Operator:  actor.Operator,
		Method:    m,
		Amount:    amount,
		Note:      note,
		State:     StateCreated,
		CreatedAt: now,
		UpdatedAt: now,
		// Providers take whole seconds; the payable window is the timeout.
		ExpiresAt: now.Add(e.cfg.Timeout).Truncate(time.Second),
	}
	o, release, err := e.write(ctx, o)
	if err != nil {
		return o, err
	}
	defer release()
	e.log.Info("sale started", "order", o.No, "method", m, "amount_fen", int64(amount))
	return e.create(ctx, p, o)
}

// checkSale refuses an amount or a note no sale may have, before anything
// is written.
func (e *Engine) checkSale(amount Money, note string) (string, error) {
	if amount <= 0 {
		return "", &AmountError{Code: AmountZero, Reason: "the amount must be at least 0.01"}
	}
	if amount > e.cfg.Ceiling {
		return "", &AmountError{Code: AmountAboveLimit, Limit: e.cfg.Ceiling, Amount: amount,
			Reason: fmt.Sprintf("%s is above the limit of %s for one sale", amount, e.cfg.Ceiling)}
	}
	return CheckNote(note)
}

// write gives o its number, writes it as created and takes its lock: the
// sale is on disk before its provider hears of it. A number is taken only
// if this desk's sequence wrapped within one millisecond or its clock was
// set back (the instance tag sets desks apart): the next ones are tried.
// The number is claimed for this run before the order is written, so a
// recovery pass running now never takes it for a leftover. An Order with
// no number means nothing was written; one with a number and an error is
// written and not sent (recovery settles it).
func (e *Engine) write(ctx context.Context, o Order) (Order, func(), error) {
	var err error
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
		return Order{}, nil, &LedgerError{Op: "recording the sale (nothing was sent to " + o.Method.Label() + ")", Err: err}
	}
	release, err := e.lock(ctx, o.No)
	if err != nil {
		return o, nil, err
	}
	return o, release, nil
}

// Retry sends the create request of an order still in created again, with
// the same number and the same parameters, so the provider answers the
// same trade rather than making a second one.
func (e *Engine) Retry(ctx context.Context, no string) (Order, error) {
	ctx = e.as(ctx, "desk")
	release, err := e.lock(ctx, no)
	if err != nil {
		return Order{No: no}, err
	}
	defer release()
	o, err := e.read(ctx, no)
	if err != nil || o.State != StateCreated {
		return o, err
	}
	p, err := e.provider(o.Method)
	if err != nil {
		return o, err
	}
	return e.create(ctx, p, o)
}

// read loads an order; on failure the Order still carries its number.
func (e *Engine) read(ctx context.Context, no string) (Order, error) {
	o, err := e.ledger.Order(ctx, no)
	if err != nil {
		return Order{No: no}, &LedgerError{Op: "reading order " + no, Err: err}
	}
	return e.overlay(o), nil
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
		Timeout:     o.ExpiresAt.Sub(o.CreatedAt),
		Terminal:    o.Terminal,
		NotifyURL:   notify,
	})
	switch {
	case err == nil:
		e.log.Info("order created at provider", "order", o.No)
		// Not committed now: the order is on disk as created (written
		// before the call), which is all recovery needs to settle it by
		// query; the code and its time ride in the commit that settles
		// the sale (or any write on it before). Should the desk die
		// first, the ledger says created with no code, and settle
		// assumes the worst: a code was shown, accepted just before the
		// crash, and is checked again after the latest it can expire.
		e.accepted.Store(o.No, acceptance{codeURL: res.CodeURL, at: e.clock.Now()})
		return e.overlay(o), nil
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
	o, _, err := e.Watch(ctx, no)
	return o, err
}

// Watch is Poll that also returns what the provider said, for a screen
// that shows it (the customer has scanned); a zero TradeStatus when it
// did not ask.
func (e *Engine) Watch(ctx context.Context, no string) (Order, TradeStatus, error) {
	ctx = e.as(ctx, "desk")
	release, err := e.lock(ctx, no)
	if err != nil {
		return Order{No: no}, TradeStatus{}, err
	}
	defer release()
	o, p, err := e.openOrder(ctx, no)
	if err != nil || p == nil {
		return o, TradeStatus{}, err
	}
	st, err := p.Query(ctx, no)
	if err != nil {
		e.log.Warn("poll failed", "order", no, "err", err)
		return o, TradeStatus{}, err
	}
	got, err := e.apply(ctx, o, st)
	return got, st, err
}

// apply records a query's answer. Not paid and not found change nothing.
func (e *Engine) apply(ctx context.Context, o Order, st TradeStatus) (Order, error) {
	switch st.State {
	case TradePaid, TradeRefunded:
		if st.Amount <= 0 {
			e.log.Error("provider says paid without an amount", "order", o.No, "raw", st.Raw)
			return o, &ProviderError{Op: "query", Kind: KindUnknown,
				Message: o.Method.Label() + " says the order is paid but gives no amount; asking again"}
		}
		if st.Amount != o.Amount {
			return e.dispute(ctx, o, st)
		}
		if st.State == TradeRefunded {
			// Paid, then refunded in full: a cancel that refunded a
			// last-moment payment and whose answer was lost. The ledger
			// shows both the sale and its refund.
			return e.paidAndRefunded(ctx, o, st.ProviderTradeNo, st.PaidAt)
		}
		return e.markPaid(ctx, o, st)
	case TradeClosed, TradeFailed:
		reason := "closed by the provider (" + st.Raw + ")"
		if st.State == TradeClosed && !e.clock.Now().Before(o.ExpiresAt) {
			reason = "timed out" // the provider's expiry is the sale's timeout
		}
		return e.advance(ctx, o, StateClosed, func(s *Order) {
			s.Reason = reason
			s.ClosedAt = e.clock.Now()
			s.ProviderSaid, s.ProviderSaidAt = st.Raw, e.clock.Now()
		})
	}
	if st.Raw != "" && st.Raw != o.ProviderSaid {
		// What the provider says changed (the customer scanned): keep it
		// for the order's detail. Bookkeeping only: a failed write loses
		// nothing the next answer does not bring back.
		got, err := e.ledger.Update(ctx, o.No, func(s *Order) error {
			e.carry(o.No, s)
			s.ProviderSaid, s.ProviderSaidAt = st.Raw, e.clock.Now()
			return nil
		})
		if err != nil {
			e.log.Warn("could not keep the provider's word", "order", o.No, "err", err)
			return o, nil
		}
		return e.overlay(got), nil
	}
	return o, nil
}

func (e *Engine) markPaid(ctx context.Context, o Order, st TradeStatus) (Order, error) {
	got, err := e.advance(ctx, o, StatePaid, func(s *Order) {
		s.Late = s.State == StateClosed
		s.ProviderTradeNo = st.ProviderTradeNo
		s.PaidAt = st.PaidAt
		if s.PaidAt.IsZero() {
			s.PaidAt = e.clock.Now()
		}
		s.Reason = ""
		s.RecheckAt = time.Time{}
		s.ProviderSaid, s.ProviderSaidAt = st.Raw, e.clock.Now()
	})
	switch {
	case err != nil:
	case got.Late:
		e.log.Warn("paid after it was closed", "order", o.No, "amount_fen", int64(got.Amount), "paid_at", got.PaidAt)
	default:
		e.log.Info("paid", "order", o.No, "amount_fen", int64(got.Amount))
	}
	return got, err
}

// dispute records a payment of another amount than the sale's: final, both
// amounts kept, never polled again, and not a sale.
func (e *Engine) dispute(ctx context.Context, o Order, st TradeStatus) (Order, error) {
	e.log.Error("provider reports a different amount", "order", o.No, "ours_fen", int64(o.Amount), "theirs_fen", int64(st.Amount), "raw", st.Raw)
	return e.advance(ctx, o, StateDisputed, func(s *Order) {
		s.Late = s.State == StateClosed
		s.ProviderAmount = st.Amount
		s.ProviderTradeNo = st.ProviderTradeNo
		s.PaidAt = st.PaidAt
		if s.PaidAt.IsZero() {
			s.PaidAt = e.clock.Now()
		}
		s.Reason = fmt.Sprintf("%s reports %s paid for this %s sale", o.Method.Label(), st.Amount.Yuan(), o.Amount.Yuan())
		s.RecheckAt = time.Time{}
		s.ProviderSaid, s.ProviderSaidAt = st.Raw, e.clock.Now()
	})
}

// advance moves o; finding it already in `to` or further along is not an
// error, since another path (a poll, a close) may have got there. A write
// that fails comes back as a *SaveError with o as the caller had it.
func (e *Engine) advance(ctx context.Context, o Order, to State, fn func(*Order)) (Order, error) {
	// The write records what the provider already did: it must not be
	// lost to the call's deadline or a shutdown.
	got, err := e.ledger.Advance(context.WithoutCancel(ctx), o.No, to, func(s *Order) {
		e.carry(o.No, s)
		if fn != nil {
			fn(s)
		}
	})
	var te *TransitionError
	switch {
	case errors.As(err, &te):
		got, err = te.Current, nil
	case err != nil:
		e.log.Error("ledger write failed", "order", o.No, "to", to, "err", err)
		return o, &SaveError{No: o.No, Method: o.Method, To: to, Err: err}
	}
	if !got.State.Open() {
		e.forget(o.No)
	}
	return e.overlay(got), nil
}

// watchedElsewhere tells, on a ledger several desks share, the open sales
// another desk is watching: those of a terminal alive within the
// heartbeat timeout. A pass that cannot tell settles only its own
// terminal's sales: never a sale another live desk may be watching.
func (e *Engine) watchedElsewhere(ctx context.Context) func(Order) bool {
	ts, shared := e.ledger.(Terminals)
	if !shared {
		return func(Order) bool { return false }
	}
	within := e.cfg.HeartbeatTimeout
	if within <= 0 {
		within = DefaultHeartbeatTimeout
	}
	live, err := ts.LiveTerminals(ctx, within)
	if err != nil {
		e.log.Warn("could not read which desks are alive; settling this desk's sales only", "err", err)
	}
	return func(o Order) bool {
		return o.Terminal != e.cfg.Terminal && (err != nil || live[o.Terminal])
	}
}

// forget drops what the engine keeps in memory of a sale once it has
// settled.
func (e *Engine) forget(no string) {
	e.started.Delete(no)
	e.accepted.Delete(no)
	e.codePaid.Delete(no)
	e.codeCancelled.Delete(no)
}

// Finish ends an open sale at the timeout or on the clerk's cancel: it
// queries once more, and if the trade is still unpaid it closes it and
// records what the close answered (closed, or found paid). When the
// provider cannot be reached the order stays open, nothing is closed, and
// the error says so; Recover settles it later.
func (e *Engine) Finish(ctx context.Context, no, reason string) (Order, error) {
	ctx = e.as(ctx, "desk")
	release, err := e.lock(ctx, no)
	if err != nil {
		return Order{No: no}, err
	}
	defer release()
	o, p, err := e.openOrder(ctx, no)
	if err != nil || p == nil {
		return o, err
	}
	return e.settle(ctx, p, o, reason, false)
}

// openOrder loads an order and, when it is still open, its provider; a
// settled order comes back with a nil provider and nothing to do.
func (e *Engine) openOrder(ctx context.Context, no string) (Order, Provider, error) {
	o, err := e.read(ctx, no)
	if err != nil || !o.State.Open() {
		return o, nil, err
	}
	p, err := e.provider(o.Method)
	return o, p, err
}

// settle queries, then closes an unpaid trade. failed says the order ends
// as failed rather than closed when it was never payable. A query that
// fails never leads to a close: the state is unknown, and a close could
// only be wrong (Alipay's cancel would even refund a payment).
func (e *Engine) settle(ctx context.Context, p Provider, o Order, reason string, failed bool) (Order, error) {
	if o.Way == WayCode {
		// A payment code is never closed: it is reversed at its deadline.
		return e.settleCode(ctx, p, o, nil)
	}
	st, err := p.Query(ctx, o.No)
	if err != nil {
		e.log.Warn("final query failed; the order stays open and is asked again", "order", o.No, "err", err)
		return o, err
	}
	if got, err := e.apply(ctx, o, st); err != nil || !got.State.Open() {
		return got, err
	}
	end := StateClosed
	if failed {
		end = StateFailed
	}
	recheck := false
	cr, err := p.Close(ctx, o.No)
	if err != nil {
		switch KindOf(err) {
		case KindNotFound:
			// No trade at the provider: never created, or (Alipay) not
			// scanned yet, in which case a code on screen stays payable
			// until its own expiry. Ask once more after that.
			// A created order with no code in the ledger may have
			// shown one whose acceptance died with the desk (create);
			// not one whose create this engine has just seen refused
			// (failed: it showed none, and a failed order is never
			// checked again).
			recheck = o.CodeURL != "" || o.State == StateCreated && !failed
		case KindClosed:
			// Closed already: nothing can be paid.
		case KindAlreadyPaid:
			cr.Outcome = CloseWasPaid
		default:
			e.log.Warn("close failed; order stays open", "order", o.No, "err", err)
			return o, fmt.Errorf("could not close order %s: %w", o.No, err)
		}
	}
	switch cr.Outcome {
	case CloseWasPaid:
		// Paid after all: the sale stands. Record it from a query, so the
		// amount is checked like any payment; until then it stays open.
		st, err := p.Query(ctx, o.No)
		if err != nil {
			return o, fmt.Errorf("order %s: %s says it is paid; confirming it failed: %w", o.No, o.Method.Label(), err)
		}
		got, err := e.apply(ctx, o, st)
		if err == nil && got.State.Open() {
			err = &ProviderError{Op: "close", Kind: KindUnknown,
				Message: fmt.Sprintf("%s would not close order %s but reports it %s; asking again", o.Method.Label(), o.No, st.Raw)}
		}
		return got, err
	case CloseRefunded:
		return e.paidAndRefunded(ctx, o, cr.ProviderTradeNo, time.Time{})
	}
	now := e.clock.Now()
	var recheckAt time.Time
	until := PayableUntil(o)
	if recheck && o.State == StateCreated && o.AcceptedAt.IsZero() {
		// Accepted, if at all, before now: its code lives at most its
		// whole minutes from then.
		until = later(until, now.Add(WholeMinutes(o.ExpiresAt.Sub(o.CreatedAt))))
	}
	if at := until.Add(e.cfg.LateCheckMargin); recheck && at.After(now) {
		recheckAt = at
	}
	got, err := e.advance(ctx, o, end, func(s *Order) {
		s.Reason = reason
		s.ClosedAt = now
		s.RecheckAt = recheckAt
	})
	if err == nil {
		e.log.Info("closed", "order", o.No, "reason", reason, "recheck_at", recheckAt)
	}
	return got, err
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// paidAndRefunded records that the customer paid and the provider gave
// it all back (a cancel of a trade paid at the last moment, seen in a
// query or a close answer).
//
// The refund is numbered with the order's number, not a refund number of
// till's: the provider made it, on a cancel or reverse that takes no
// refund number, and its books know it by the order's (Alipay gives a
// refund asked for without a request number the out_trade_no; WeChat
// lists a reverse's refund under its order), so the bill's row and the
// ledger's record meet by number. An order is paid and refunded this way
// at most once.
func (e *Engine) paidAndRefunded(ctx context.Context, o Order, tradeNo string, paidAt time.Time) (Order, error) {
	now := e.clock.Now()
	if paidAt.IsZero() {
		paidAt = now
	}
	r := Refund{
		No:      o.No,
		OrderNo: o.No,
		Method:  o.Method,
		Amount:  o.Amount,
		State:   RefundSucceeded,
		Reason:  "paid as the sale was being closed; the provider refunded it",
		// The sale's own clerk and counter: the money came and went in
		// one go, so the report nets it out for them, not for another.
		Operator: o.Operator, Terminal: o.Terminal,
		CreatedAt: now, UpdatedAt: now, SucceededAt: now,
	}
	got, err := e.ledger.PaidAndRefunded(context.WithoutCancel(ctx), o.No, func(s *Order) {
		e.carry(o.No, s)
		s.Late = s.State == StateClosed
		s.ProviderTradeNo = tradeNo
		s.PaidAt = paidAt
		s.RecheckAt = time.Time{}
	}, r)
	var te *TransitionError
	switch {
	case errors.As(err, &te):
		got = te.Current
	case err != nil:
		return o, &SaveError{No: o.No, Method: o.Method, To: StateRefunded, Err: err}
	default:
		e.log.Warn("paid at the last moment and refunded by the provider", "order", o.No, "refund", r.No)
	}
	e.forget(o.No)
	return got, nil
}

// Release hands a sale this engine started over to recovery: the clerk
// has left it (its close could not be confirmed), so the next Recover
// settles it like one an earlier run left open.
func (e *Engine) Release(no string) { e.started.Delete(no) }

// MaxChecksPerPass bounds the late checks one Recover pass runs; what is
// left is due at once in the next (Pass.NextCheck).
const MaxChecksPerPass = 20

// Pass is what one Recover pass did.
type Pass struct {
	Settled []Order // open orders of an earlier run (or released), now settled
	Late    []Order // paid after they were closed, not yet acknowledged by a clerk
	// LateKnown says the follow-ups were read, so Late is the whole list;
	// after a read error it is not, and says nothing.
	LateKnown bool
	Errors    []error // orders that could not be settled or checked yet; the next pass asks again
	// LedgerErr is a failure to read the ledger's open orders or
	// follow-ups: the pass could not even see what to do.
	LedgerErr error
	// NextCheck is when the earliest late check or backed-off retry not
	// yet due falls due (NextPassIn); zero when none is waiting.
	NextCheck time.Time
	// Refunds are the refunds left requested (by a crash, a timeout, a
	// screen that stopped watching) that this pass settled;
	// RefundsPending those the provider still processes.
	Refunds        []Refund
	RefundsPending []Refund
}

// next brings the pass's NextCheck forward to at.
func (pass *Pass) next(at time.Time) {
	if pass.NextCheck.IsZero() || at.Before(pass.NextCheck) {
		pass.NextCheck = at
	}
}

// Recover is one settling pass, run at start and then every so often: it
// settles every order left open by an earlier run (a crash, a kill, a
// power cut) or released by a screen, by query and, if unpaid, close; it
// asks once more about closed orders whose late check is due; and it
// lists late payments nobody has acknowledged. Sales this engine started
// are left to their own screens. Passes never overlap: a second waits for
// the first.
func (e *Engine) Recover(ctx context.Context) Pass {
	ctx = e.as(ctx, "recovery")
	e.pass.Lock()
	defer e.pass.Unlock()
	var pass Pass
	e.recoverRefunds(ctx, &pass)
	open, err := e.ledger.OpenOrders(ctx)
	if err != nil {
		pass.LedgerErr = &LedgerError{Op: "reading the open orders", Err: err}
	}
	watched := e.watchedElsewhere(ctx)
	for _, o := range open {
		if _, mine := e.started.Load(o.No); mine || watched(o) {
			continue
		}
		var got Order
		err := e.try(o.No, &pass, func() (err error) {
			got, err = e.Finish(ctx, o.No, "settled by recovery")
			return err
		})
		if err == nil && got.State.Open() {
			// A code sale before its deadline: the customer may still
			// confirm; the next pass asks again.
			err = &ProviderError{Op: "query", Kind: KindUnknown, Message: o.Method.Label() + " is still waiting for the customer to confirm"}
		}
		if err != nil {
			pass.Errors = append(pass.Errors, fmt.Errorf("order %s: %w", o.No, err))
			continue
		}
		e.log.Info("recovered", "order", o.No, "state", got.State)
		pass.Settled = append(pass.Settled, got)
	}
	follow, err := e.ledger.FollowUps(ctx)
	if err != nil {
		pass.LedgerErr = errors.Join(pass.LedgerErr, &LedgerError{Op: "reading the orders to check again", Err: err})
	} else {
		pass.LateKnown = true
	}
	now := e.clock.Now()
	checks := 0
	next := pass.next
	for _, o := range follow {
		if !o.RecheckAt.IsZero() {
			if o.RecheckAt.After(now) {
				next(o.RecheckAt)
				continue
			}
			if checks == MaxChecksPerPass {
				// The rest in the next pass, soon: one pass does not
				// hold the queue (or the provider's rate limit) for long.
				next(now)
				continue
			}
			var got Order
			err := e.try(o.No, &pass, func() (err error) {
				checks++
				got, err = e.recheck(ctx, o.No)
				return err
			})
			if err != nil {
				pass.Errors = append(pass.Errors, fmt.Errorf("late check of order %s: %w", o.No, err))
				continue
			}
			o = got
		}
		if o.Late && o.LateSeenAt.IsZero() {
			pass.Late = append(pass.Late, o)
		}
	}
	return pass
}

// recheck is the late check of a closed order that could still have been
// paid: one query after the provider's own expiry. A payment found moves
// it closed -> paid with the late mark (or disputed, or paid and refunded);
// a trade scanned and still waiting is closed now (trade.close refuses a
// paid trade); anything else ends the check. A failed call keeps the check
// for the next pass.
func (e *Engine) recheck(ctx context.Context, no string) (Order, error) {
	release, err := e.lock(ctx, no)
	if err != nil {
		return Order{No: no}, err
	}
	defer release()
	o, err := e.read(ctx, no)
	if err != nil || o.RecheckAt.IsZero() {
		return o, err
	}
	if o.State == StateClosed {
		p, err := e.provider(o.Method)
		if err != nil {
			return o, err
		}
		st, err := p.Query(ctx, no)
		if err != nil {
			return o, err
		}
		switch st.State {
		case TradePaid, TradeRefunded:
			return e.apply(ctx, o, st)
		case TradeNotPaid:
			cr, err := p.Close(ctx, no)
			switch KindOf(err) {
			case KindAlreadyPaid:
				cr.Outcome, err = CloseWasPaid, nil
			case KindNotFound, KindClosed:
				err = nil
			}
			if err != nil {
				return o, err
			}
			switch cr.Outcome {
			case CloseWasPaid:
				// Not waiting any more: paid, or closed meanwhile.
				st, err := p.Query(ctx, no)
				switch {
				case err != nil:
					return o, err
				case st.State == TradePaid || st.State == TradeRefunded:
					return e.apply(ctx, o, st)
				case st.State == TradeNotPaid:
					return o, &ProviderError{Op: "close", Kind: KindUnknown,
						Message: fmt.Sprintf("%s would not close order %s but reports it %s", o.Method.Label(), no, st.Raw)}
				}
			case CloseRefunded:
				return e.paidAndRefunded(ctx, o, cr.ProviderTradeNo, time.Time{})
			}
		}
	}
	got, err := e.ledger.Update(context.WithoutCancel(ctx), no, func(s *Order) error {
		s.RecheckAt = time.Time{}
		return nil
	})
	if err != nil {
		return o, &SaveError{No: no, Method: o.Method, To: o.State, Err: err}
	}
	e.log.Info("late check found nothing", "order", no)
	return got, nil
}

// AcknowledgeLate records that a clerk has seen the late payment of order
// no, so the desk stops showing it.
func (e *Engine) AcknowledgeLate(ctx context.Context, no string) (Order, error) {
	ctx = e.as(ctx, "desk")
	now := e.clock.Now()
	o, err := e.ledger.Update(ctx, no, func(s *Order) error {
		if !s.Late {
			return fmt.Errorf("order %s: %w", no, ErrNotLate)
		}
		if s.LateSeenAt.IsZero() {
			s.LateSeenAt = now
		}
		return nil
	})
	if errors.Is(err, ErrNotLate) {
		return Order{No: no}, err
	}
	if err != nil {
		return Order{No: no}, &LedgerError{Op: "recording that order " + no + " was seen", Err: err}
	}
	return o, nil
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
		se *SaveError
		le *LedgerError
		ne net.Error
	)
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ae):
		return ae.Reason
	case errors.Is(err, ErrBusy):
		return "another check of this order is still under way; asking again"
	case errors.As(err, &se):
		what := map[State]string{StatePaid: "paid", StateDisputed: "paid another amount", StateRefunded: "paid and refunded",
			StateClosed: "closed", StateFailed: "refused", StateAwaiting: "created"}[se.To]
		if what == "" {
			what = string(se.To)
		}
		return fmt.Sprintf("%s at %s, could not be saved: %v", what, se.Method.Label(), se.Err)
	case errors.As(err, &le):
		return "the ledger failed: " + le.Error()
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
