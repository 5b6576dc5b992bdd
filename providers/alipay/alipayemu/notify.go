package alipayemu

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// retrySchedule is Alipay's wait before each further notification, in
// units of Config.NotifyRetryUnit (minutes in real life).
var retrySchedule = []time.Duration{4, 10, 10, 60, 120, 360, 900}

// notifyLocked sends a trade_status_sync notification about t (and refund
// r, if any) to the trade's notify_url, in the background.
func (e *Emulator) notifyLocked(t *trade, r *RefundInfo) {
	if t.NotifyURL == "" || e.closed {
		return
	}
	v := url.Values{}
	set := func(k, s string) {
		if s != "" { // empty fields are never sent (the SDK would sign them as "k=")
			v.Set(k, s)
		}
	}
	set("notify_type", "trade_status_sync")
	set("notify_id", randomHex(16))
	set("app_id", e.cfg.AppID)
	set("auth_app_id", e.cfg.AppID)
	set("charset", "utf-8")
	set("version", "1.0")
	set("sign_type", "RSA2")
	set("trade_no", t.TradeNo)
	set("out_trade_no", t.OutTradeNo)
	set("buyer_id", t.BuyerUserID)
	set("buyer_logon_id", t.BuyerLogonID)
	set("seller_id", sellerID)
	set("trade_status", t.Status)
	set("total_amount", yuan(t.TotalFen))
	if t.WasPaid() {
		paid := yuan(t.TotalFen)
		set("receipt_amount", paid)
		set("invoice_amount", paid)
		set("buyer_pay_amount", paid)
		set("point_amount", "0.00")
		set("fund_bill_list", `[{"amount":"`+paid+`","fundChannel":"ALIPAYACCOUNT"}]`)
	}
	set("subject", t.Subject)
	set("body", t.Body)
	created := t.ScannedAt
	if created.IsZero() {
		created = t.CreatedAt
	}
	set("gmt_create", beijing(created))
	set("gmt_payment", beijing(t.PaidAt))
	if r != nil {
		set("refund_fee", yuan(t.RefundedFen))
		// Alipay gives gmt_refund with milliseconds.
		set("gmt_refund", r.At.In(shanghai).Format("2006-01-02 15:04:05.000"))
		if !r.ViaCancel {
			set("out_biz_no", r.OutRequestNo)
		}
	}
	if t.Status == StatusClosed {
		set("gmt_close", beijing(t.ClosedAt))
	}
	e.wg.Add(1)
	go e.deliver(t.NotifyURL, v)
}

// deliver posts the notification until the answer is exactly "success",
// on the retry schedule, or until Close.
func (e *Emulator) deliver(to string, v url.Values) {
	defer e.wg.Done()
	for i := 0; i <= len(retrySchedule); i++ {
		if i > 0 {
			t := time.NewTimer(retrySchedule[i-1] * e.cfg.NotifyRetryUnit)
			select {
			case <-e.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		form := url.Values{}
		for k, vs := range v {
			form[k] = vs
		}
		form.Set("notify_time", beijing(e.cfg.Clock()))
		sig, err := signRSA2(e.cfg.AlipayKey, []byte(signContent(form, "sign_type")))
		if err != nil {
			e.log.Error("alipayemu: signing notification", "err", err)
			return
		}
		form.Set("sign", sig)
		if e.post(to, form) {
			return
		}
		if e.ctx.Err() != nil {
			return
		}
	}
	e.log.Warn("alipayemu: notification never acknowledged", "out_trade_no", v.Get("out_trade_no"), "notify_id", v.Get("notify_id"))
}

func (e *Emulator) post(to string, form url.Values) bool {
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, to, strings.NewReader(form.Encode()))
	if err != nil {
		e.log.Warn("alipayemu: bad notify_url", "url", to, "err", err)
		return false
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	resp, err := e.client.Do(req)
	if err != nil {
		e.log.Info("alipayemu: notification not delivered", "url", to, "err", err)
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	ok := resp.StatusCode == http.StatusOK && string(body) == "success"
	if !ok {
		e.log.Info("alipayemu: notification not acknowledged", "url", to, "status", resp.StatusCode)
	}
	return ok
}
