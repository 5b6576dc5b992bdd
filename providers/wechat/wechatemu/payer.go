package wechatemu

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
)

// yuan formats fen as ¥12.34 without floating point.
func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s¥%d.%02d", sign, fen/100, fen%100)
}

var payerPage = template.Must(template.New("pay").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>WeChat Pay sandbox: {{.Amount}}</title>
<style>body{font-family:sans-serif;max-width:26em;margin:2em auto;padding:0 1em}
.amount{font-size:2.5em;margin:.3em 0}button{font-size:1.2em;padding:.5em 1.5em;margin-right:1em}
.sandbox{color:#a00;font-weight:bold}</style></head>
<body>
<p class="sandbox">SANDBOX: no real money moves.</p>
<p>{{.Description}}</p>
<p class="amount">{{.Amount}}</p>
<p>Order {{.OrderNo}}</p>
{{if .Payable}}<form method="post">
<button type="submit" name="action" value="pay">Pay</button>
<button type="submit" name="action" value="decline">Decline</button>
</form>{{else}}<p><strong>{{.Status}}</strong></p>{{end}}
</body></html>
`))

var resultPage = template.Must(template.New("result").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>WeChat Pay sandbox</title></head>
<body style="font-family:sans-serif;max-width:26em;margin:2em auto;padding:0 1em">
<p>{{.}}</p></body></html>
`))

// servePayer is the page a customer opens from the QR code.
func (e *Emulator) servePayer(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimPrefix(r.URL.Path, "/pay/")
	e.mu.Lock()
	no, ok := e.byToken[token]
	var t Trade
	if ok {
		t, ok = e.trade(no)
	}
	e.mu.Unlock()
	if !ok {
		reply(w, r, http.StatusNotFound, "No such order: the code is unknown to this sandbox.")
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		status := map[string]string{
			StateSuccess: "Paid.",
			StateRefund:  "Paid (refunds followed).",
			StateClosed:  "This order is closed and can no longer be paid.",
		}[t.State]
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = payerPage.Execute(w, map[string]any{
			"Amount":      yuan(t.Total),
			"Description": t.Description,
			"OrderNo":     t.OutTradeNo,
			"Payable":     t.State == StateNotPay,
			"Status":      status,
		})
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		switch action := r.FormValue("action"); action {
		case "pay":
			already, err := e.pay(no)
			switch {
			case errors.Is(err, ErrNotPayable):
				reply(w, r, http.StatusConflict, fmt.Sprintf("Order %s is closed and can no longer be paid.", no))
			case err != nil:
				reply(w, r, http.StatusInternalServerError, "The payment failed: "+err.Error())
			case already:
				reply(w, r, http.StatusOK, fmt.Sprintf("Order %s was already paid.", no))
			default:
				reply(w, r, http.StatusOK, fmt.Sprintf("Paid %s for order %s.", yuan(t.Total), no))
			}
		case "decline":
			// A declined Native scan leaves the trade NOTPAY: the customer
			// may still scan again until it expires or is closed.
			if t.State == StateClosed {
				reply(w, r, http.StatusConflict, fmt.Sprintf("Order %s is closed.", no))
				return
			}
			reply(w, r, http.StatusOK, fmt.Sprintf("Declined: order %s was not paid.", no))
		default:
			reply(w, r, http.StatusBadRequest, "action must be pay or decline")
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		reply(w, r, http.StatusMethodNotAllowed, "use GET or POST")
	}
}

// reply answers in HTML to a browser and in plain text to everyone else.
func reply(w http.ResponseWriter, r *http.Request, status int, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		_ = resultPage.Execute(w, msg)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}
