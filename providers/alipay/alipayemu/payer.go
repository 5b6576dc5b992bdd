package alipayemu

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strings"
)

// page is what the payer page shows.
type page struct {
	OutTradeNo string `json:"out_trade_no"`
	Subject    string `json:"subject"`
	Amount     string `json:"total_amount"` // yuan, "12.30"
	Status     string `json:"status"`       // the trade's status (PRECREATED, WAIT_BUYER_PAY, ...)
	Message    string `json:"message"`
	CanPay     bool   `json:"can_pay"`
}

var payerTmpl = template.Must(template.New("payer").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Alipay sandbox – ¥{{.Amount}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem;color:#222}
.amount{font-size:2.5rem;font-weight:600;margin:.5rem 0}
.muted{color:#666}
.msg{padding:.75rem;border-radius:.5rem;background:#f2f6ff}
button{font-size:1.1rem;padding:.7rem 1.4rem;margin:.3rem .3rem 0 0;border-radius:.5rem;border:1px solid #1677ff}
button.pay{background:#1677ff;color:#fff}
button.decline{background:#fff;color:#1677ff}
</style></head>
<body>
<p class="muted">Alipay · SANDBOX (no real money)</p>
{{if .Subject}}<h1>{{.Subject}}</h1>{{end}}
<div class="amount">¥{{.Amount}}</div>
<p class="muted">Order {{.OutTradeNo}}</p>
<p class="msg">{{.Message}}</p>
{{if .CanPay}}<form method="post">
<button class="pay" name="action" value="pay">Pay ¥{{.Amount}}</button>
<button class="decline" name="action" value="decline">Decline</button>
</form>{{end}}
</body></html>
`))

func (e *Emulator) pageOf(t *trade, msg string) page {
	p := page{OutTradeNo: t.OutTradeNo, Subject: t.Subject, Amount: yuan(t.TotalFen), Status: t.Status}
	switch {
	case t.Locked || (t.Status == StatusClosed && !t.WasPaid()):
		p.Message = "This payment is closed and can no longer be paid. Ask the cashier for a new code."
		p.Status = StatusClosed
	case t.Status == StatusWaitBuyerPay:
		p.Message = "Check the amount, then pay or decline."
		p.CanPay = true
	case t.WasPaid():
		p.Message = "Paid. Thank you."
	}
	if msg != "" {
		p.Message = msg
	}
	return p
}

// servePayerPage is GET /qr/{token}: the customer scanned the code.
func (e *Emulator) servePayerPage(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	t, ok := e.byToken[r.PathValue("token")]
	if !ok {
		e.mu.Unlock()
		renderPage(w, r, http.StatusNotFound, page{Message: "Unknown payment code."})
		return
	}
	status, msg := http.StatusOK, ""
	if err := e.scanLocked(t, e.cfg.Clock()); errors.Is(err, ErrNotSaved) { // closed or paid: the page says so
		status, msg = http.StatusInternalServerError, "The Alipay sandbox could not save the scan; reload the page."
	}
	p := e.pageOf(t, msg)
	e.mu.Unlock()
	renderPage(w, r, status, p)
}

// servePayerAction is POST /qr/{token} with action=pay or action=decline.
func (e *Emulator) servePayerAction(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	action := r.FormValue("action")
	e.mu.Lock()
	t, ok := e.byToken[r.PathValue("token")]
	if !ok {
		e.mu.Unlock()
		renderPage(w, r, http.StatusNotFound, page{Message: "Unknown payment code."})
		return
	}
	now := e.cfg.Clock()
	var err error
	msg := ""
	switch action {
	case "pay":
		if err = e.payLocked(t, now); err == nil {
			msg = "Paid ¥" + yuan(t.TotalFen) + ". Thank you."
		}
	case "decline":
		if err = e.scanLocked(t, now); err == nil {
			msg = "You declined. The cashier is still waiting; you can still pay."
		}
	default:
		p := e.pageOf(t, "")
		e.mu.Unlock()
		p.Message = `Unknown action: use action=pay or action=decline.`
		renderPage(w, r, http.StatusBadRequest, p)
		return
	}
	status := http.StatusOK
	switch {
	case errors.Is(err, ErrTradeClosed):
		status, msg = http.StatusConflict, "Refused: this payment is closed and can no longer be paid. Ask the cashier for a new code."
	case errors.Is(err, ErrTradePaid):
		status, msg = http.StatusConflict, "Refused: this order is already paid."
	case errors.Is(err, ErrNotSaved):
		status, msg = http.StatusInternalServerError, "Not paid: the Alipay sandbox could not save the payment. Nothing was charged; try again."
	}
	p := e.pageOf(t, msg)
	e.mu.Unlock()
	renderPage(w, r, status, p)
}

// renderPage answers HTML, or JSON when the client asks for it (scripts
// driving the sandbox from outside).
func renderPage(w http.ResponseWriter, r *http.Request, status int, p page) {
	w.Header().Set("Cache-Control", "no-store")
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(p)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	payerTmpl.Execute(w, p)
}
