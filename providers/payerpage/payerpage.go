// Package payerpage is the customer's payer page of both sandbox
// emulators (wechatemu's /pay/{token}, alipayemu's /qr/{token}): the page
// the QR code opens. It renders and negotiates the answers, so that the two
// pages look the same and answer the same; each emulator only says what its
// trade is and what paying or declining did to it (a Backend).
//
// # Answers
//
// GET (and HEAD) shows the order: the amount, the subject, the order
// number, and Pay and Decline while it can be paid. POST action=pay pays,
// action=decline declines. Every answer states SANDBOX and that no real
// money moves, and comes in the format the client asks for:
//
//   - a browser (Accept: text/html, …) gets the HTML page;
//   - Accept: application/json gets {out_trade_no, subject, total_amount,
//     status, message, can_pay, notice}, status being the provider's own
//     trade status (NOTPAY, WAIT_BUYER_PAY, TRADE_SUCCESS, …);
//   - anything else, curl's */* included, gets two lines of plain text.
//
// The words come from the catalogues (assets/locales/payer.*.toml), in the
// language of the request's Accept-Language when it names Chinese or
// English, else in the emulator's configured language.
//
// # Status codes, the same in both emulators
//
//	200  the page; paid; declined
//	400  an action other than pay or decline
//	404  a code the emulator does not know
//	405  a method other than GET, HEAD and POST
//	409  pay or decline refused: the trade is closed, or already paid
//	500  the emulator could not save the change (nothing was paid)
//
// # Decline
//
// Declining changes nothing: the trade stays waiting (WeChat's NOTPAY,
// Alipay's WAIT_BUYER_PAY) and payable, as when a customer backs out of
// the payment sheet of either app, and the page says "the cashier is still
// waiting; you can still pay". Only the cashier's close or the trade's
// expiry ends it.
package payerpage

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"

	"till/catalog"
	"till/checkout"
)

// Brand is the payment app a page stands for.
type Brand int

const (
	WeChat Brand = iota + 1
	Alipay
)

// State is where an order stands, as the customer sees it.
type State int

const (
	Payable  State = iota + 1 // waiting for the customer: Pay and Decline
	Paid                      // paid
	Refunded                  // paid, and a refund followed
	Closed                    // closed or expired unpaid: can no longer be paid
)

// Order is what the page shows of an order.
type Order struct {
	OrderNo string // out_trade_no
	Subject string // WeChat's description, Alipay's subject
	Amount  checkout.Money
	State   State
	Status  string // the provider's trade status, for JSON answers
}

// The errors a Backend answers with; anything else counts as ErrNotSaved.
var (
	ErrUnknownCode = errors.New("payerpage: no order has this code")
	ErrClosed      = errors.New("payerpage: the order is closed and can no longer be paid")
	ErrPaid        = errors.New("payerpage: the order is already paid")
	ErrNotSaved    = errors.New("payerpage: the change could not be saved")
)

// Backend is an emulator's side of the page: each method finds the order
// a code names and returns it as it stands after the call, also with
// ErrClosed, ErrPaid and ErrNotSaved (only ErrUnknownCode comes without
// an order).
type Backend interface {
	// Look reads the order and changes nothing.
	Look(code string) (Order, error)
	// Open is what opening the page does (for Alipay, the scan that
	// makes the trade exist). A closed or paid order is no error here.
	Open(code string) (Order, error)
	// Pay pays the order.
	Pay(code string) (Order, error)
	// Decline declines it: the order stays waiting and payable.
	Decline(code string) (Order, error)
}

// Handler serves one emulator's payer page.
type Handler struct {
	brand    Brand
	fallback catalog.Lang
	backend  Backend
	printers map[catalog.Lang]*catalog.Printer
}

// New returns the payer page of an emulator of brand, speaking lang to
// requests whose Accept-Language names neither Chinese nor English (the
// zero Lang is English).
func New(brand Brand, lang catalog.Lang, b Backend) *Handler {
	h := &Handler{brand: brand, fallback: catalog.English, backend: b, printers: map[catalog.Lang]*catalog.Printer{}}
	for _, l := range catalog.Langs {
		h.printers[l] = catalog.New(l)
		if l == lang {
			h.fallback = l
		}
	}
	return h
}

// outcome is what a request came to.
type outcome int

const (
	shown outcome = iota
	paidNow
	declined
	refusedPaid
	refusedClosed
	badAction
	notSaved
	unknownCode
	badMethod
)

// status is the HTTP status of each outcome.
var status = map[outcome]int{
	shown:         http.StatusOK,
	paidNow:       http.StatusOK,
	declined:      http.StatusOK,
	refusedPaid:   http.StatusConflict,
	refusedClosed: http.StatusConflict,
	badAction:     http.StatusBadRequest,
	notSaved:      http.StatusInternalServerError,
	unknownCode:   http.StatusNotFound,
	badMethod:     http.StatusMethodNotAllowed,
}

// Serve answers a request for the page of code.
func (h *Handler) Serve(w http.ResponseWriter, r *http.Request, code string) {
	var (
		o   Order
		err error
		out outcome
	)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		o, err = h.backend.Open(code)
		out = shown
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		switch r.FormValue("action") {
		case "pay":
			o, err = h.backend.Pay(code)
			out = paidNow
		case "decline":
			o, err = h.backend.Decline(code)
			out = declined
		default:
			o, err = h.backend.Look(code)
			out = badAction
		}
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		h.write(w, r, nil, badMethod)
		return
	}
	switch {
	case err == nil:
	case errors.Is(err, ErrUnknownCode):
		h.write(w, r, nil, unknownCode)
		return
	case errors.Is(err, ErrPaid):
		out = refusedPaid
	case errors.Is(err, ErrClosed):
		out = refusedClosed
	default:
		out = notSaved
	}
	h.write(w, r, &o, out)
}

// view is what every format is made from.
type view struct {
	Lang         catalog.Lang
	Title        string
	Sandbox      string
	NoRealMoney  string
	Banner       string // the one-line notice: SANDBOX, no real money.
	Brand        string
	HasOrder     bool
	Subject      string
	Amount       string
	Order        string
	Message      string
	Tone         string // ok, warn, bad or empty: the message's colour
	CanPay       bool
	PayLabel     string
	DeclineLabel string
}

func (h *Handler) brandName(p *catalog.Printer) string {
	if h.brand == Alipay {
		return p.T("payer.brand.alipay")
	}
	return p.T("payer.brand.wechat")
}

// message is what the page says, and in which colour.
func message(p *catalog.Printer, o *Order, out outcome) (msg, tone string) {
	amount := ""
	if o != nil {
		amount = p.Money(o.Amount)
	}
	switch out {
	case paidNow:
		return p.T("payer.msg.paid_now", catalog.V{"Amount": amount}), "ok"
	case declined:
		return p.T("payer.msg.declined"), "warn"
	case refusedPaid:
		return p.T("payer.msg.already_paid"), "warn"
	case refusedClosed:
		return p.T("payer.msg.refused_closed"), "warn"
	case badAction:
		return p.T("payer.msg.bad_action"), "bad"
	case notSaved:
		return p.T("payer.msg.not_saved"), "bad"
	case unknownCode:
		return p.T("payer.msg.unknown_code"), "bad"
	case badMethod:
		return p.T("payer.msg.bad_method"), "bad"
	}
	switch o.State {
	case Paid:
		return p.T("payer.msg.paid"), "ok"
	case Refunded:
		return p.T("payer.msg.refunded"), "ok"
	case Closed:
		return p.T("payer.msg.closed"), "warn"
	}
	return p.T("payer.msg.payable"), ""
}

func (h *Handler) view(p *catalog.Printer, o *Order, out outcome) view {
	v := view{
		Lang:         p.Lang(),
		Sandbox:      p.T("payer.sandbox"),
		NoRealMoney:  p.T("payer.no_real_money"),
		Banner:       p.T("payer.text.banner"),
		Brand:        h.brandName(p),
		DeclineLabel: p.T("payer.decline"),
	}
	v.Message, v.Tone = message(p, o, out)
	v.Title = p.T("payer.title.plain", catalog.V{"Brand": v.Brand})
	if o != nil {
		v.HasOrder = true
		v.Subject = o.Subject
		v.Amount = p.Money(o.Amount)
		v.Order = p.T("payer.order", catalog.V{"OrderNo": o.OrderNo})
		v.Title = p.T("payer.title.amount", catalog.V{"Brand": v.Brand, "Amount": v.Amount})
		v.CanPay = o.State == Payable
		v.PayLabel = p.T("payer.pay", catalog.V{"Amount": v.Amount})
	}
	return v
}

// jsonAnswer is the JSON form; its fields are those scripts read today.
type jsonAnswer struct {
	OutTradeNo string `json:"out_trade_no"`
	Subject    string `json:"subject"`
	Amount     string `json:"total_amount"` // yuan, "12.30"
	Status     string `json:"status"`       // the provider's trade status
	Message    string `json:"message"`
	CanPay     bool   `json:"can_pay"`
	Notice     string `json:"notice"` // SANDBOX, no real money.
}

func (h *Handler) write(w http.ResponseWriter, r *http.Request, o *Order, out outcome) {
	p := h.printers[language(r.Header.Get("Accept-Language"), h.fallback)]
	v := h.view(p, o, out)
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("Vary", "Accept, Accept-Language")
	hd.Set("Content-Language", string(v.Lang))
	code := status[out]
	switch negotiate(r.Header.Get("Accept")) {
	case formatHTML:
		hd.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(code)
		_ = page.Execute(w, v)
	case formatJSON:
		a := jsonAnswer{Message: v.Message, CanPay: v.CanPay, Notice: v.Banner}
		if o != nil {
			a.OutTradeNo, a.Subject, a.Amount, a.Status = o.OrderNo, o.Subject, o.Amount.String(), o.Status
		}
		hd.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(a)
	default:
		hd.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		fmt.Fprint(w, text(p, r, o, v))
	}
}

// text is the plain answer: the notice and the order on the first line,
// what happened on the second (with the curl command to pay while the
// order can be paid).
func text(p *catalog.Printer, r *http.Request, o *Order, v view) string {
	head := v.Banner
	if o != nil {
		head = p.T("payer.text.head", catalog.V{"Banner": v.Banner, "Brand": v.Brand, "Amount": v.Amount, "OrderNo": o.OrderNo})
	}
	msg := v.Message
	if v.CanPay {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		msg = p.T("payer.text.how", catalog.V{"Message": msg, "URL": scheme + "://" + r.Host + r.URL.EscapedPath()})
	}
	return head + "\n" + msg + "\n"
}

// page is the one HTML page of both emulators.
var page = template.Must(template.New("payer").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC",sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.4}
.notice{margin:0 0 1rem}
.sandbox{display:inline-block;padding:.15rem .6rem;border-radius:.3rem;background:#b00020;color:#fff;font-weight:700;letter-spacing:.05em}
.nomoney{color:#b00020;font-weight:600;margin-left:.4rem}
.brand{color:#555;margin:.5rem 0 0;font-weight:600}
h1{font-size:1.3rem;margin:.3rem 0}
.amount{font-size:2.6rem;font-weight:700;margin:.4rem 0}
.muted{color:#666}
.msg{padding:.75rem;border-radius:.5rem;background:#eef2f7}
.msg.ok{background:#e3f5e8}
.msg.warn{background:#fff3dc}
.msg.bad{background:#fde6e6}
form{margin-top:1rem}
button{font-size:1.1rem;padding:.7rem 1.4rem;margin:.3rem .3rem 0 0;border-radius:.5rem;border:1px solid #222;background:#fff;color:#222}
button.pay{background:#222;color:#fff}
</style></head>
<body>
<p class="notice"><span class="sandbox">{{.Sandbox}}</span><span class="nomoney">{{.NoRealMoney}}</span></p>
<p class="brand">{{.Brand}}</p>
{{- if .HasOrder}}
{{if .Subject}}<h1>{{.Subject}}</h1>{{end}}
<div class="amount">{{.Amount}}</div>
<p class="muted">{{.Order}}</p>
{{- end}}
<p class="msg{{with .Tone}} {{.}}{{end}}" role="status">{{.Message}}</p>
{{- if .CanPay}}
<form method="post">
<button class="pay" type="submit" name="action" value="pay">{{.PayLabel}}</button>
<button class="decline" type="submit" name="action" value="decline">{{.DeclineLabel}}</button>
</form>
{{- end}}
</body></html>
`))
