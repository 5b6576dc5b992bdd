package wechatemu

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// RetrySchedule is how long WeChat waits before each resend of a
// notification that was not answered 200 or 204, in seconds of the real
// service (about 24 h 4 min in all). Config.NotifyRetryUnit scales it.
var RetrySchedule = []int{15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600}

// Delivery is one attempt to deliver a notification.
type Delivery struct {
	ID        string // notification id, the same on every retry
	EventType string // TRANSACTION.SUCCESS, REFUND.SUCCESS, ...
	URL       string
	Attempt   int // 1 for the first
	Status    int // HTTP status; 0 when the request failed
	Err       string
	At        time.Time
}

// Delivered reports whether the merchant acknowledged this attempt.
func (d Delivery) Delivered() bool {
	return d.Status == http.StatusOK || d.Status == http.StatusNoContent
}

// Deliveries returns every notification attempt so far, oldest first.
func (e *Emulator) Deliveries() []Delivery {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Delivery(nil), e.deliveries...)
}

type envelope struct {
	ID           string   `json:"id"`
	CreateTime   string   `json:"create_time"`
	ResourceType string   `json:"resource_type"`
	EventType    string   `json:"event_type"`
	Summary      string   `json:"summary"`
	Resource     resource `json:"resource"`
}

type resource struct {
	OriginalType   string `json:"original_type"`
	Algorithm      string `json:"algorithm"`
	Ciphertext     string `json:"ciphertext"`
	AssociatedData string `json:"associated_data"`
	Nonce          string `json:"nonce"`
}

type refundNotice struct {
	MchID               string `json:"mchid"`
	OutTradeNo          string `json:"out_trade_no"`
	TransactionID       string `json:"transaction_id"`
	OutRefundNo         string `json:"out_refund_no"`
	RefundID            string `json:"refund_id"`
	RefundStatus        string `json:"refund_status"`
	SuccessTime         string `json:"success_time,omitempty"`
	UserReceivedAccount string `json:"user_received_account"`
	Amount              struct {
		Total       int64 `json:"total"`
		Refund      int64 `json:"refund"`
		PayerTotal  int64 `json:"payer_total"`
		PayerRefund int64 `json:"payer_refund"`
	} `json:"amount"`
}

// queuePaymentNotification sends TRANSACTION.SUCCESS; the caller holds mu.
func (e *Emulator) queuePaymentNotification(t Trade) {
	if t.NotifyURL == "" {
		return
	}
	plain, err := json.Marshal(transactionOf(t))
	if err != nil {
		return
	}
	e.queueNotification(t.NotifyURL, "TRANSACTION.SUCCESS", "支付成功", "transaction", plain)
}

var refundSummary = map[string]string{
	RefundSuccess:  "退款成功",
	RefundClosed:   "退款关闭",
	RefundAbnormal: "退款异常",
}

// queueRefundNotification sends REFUND.<status> to the refund's
// notify_url, or the trade's when the refund named none; the caller holds
// mu.
func (e *Emulator) queueRefundNotification(r Refund) {
	to := r.NotifyURL
	t, ok := e.trades[r.OutTradeNo]
	if to == "" && ok {
		to = t.NotifyURL
	}
	if to == "" {
		return
	}
	n := refundNotice{
		MchID:               e.cfg.MchID,
		OutTradeNo:          r.OutTradeNo,
		TransactionID:       r.TransactionID,
		OutRefundNo:         r.OutRefundNo,
		RefundID:            r.RefundID,
		RefundStatus:        r.Status,
		UserReceivedAccount: "支付用户零钱",
	}
	if r.Status == RefundSuccess {
		n.SuccessTime = rfc3339(r.SuccessTime)
	}
	n.Amount.Total, n.Amount.Refund = r.Total, r.Amount
	n.Amount.PayerTotal, n.Amount.PayerRefund = r.Total, r.Amount
	plain, err := json.Marshal(n)
	if err != nil {
		return
	}
	e.queueNotification(to, "REFUND."+r.Status, refundSummary[r.Status], "refund", plain)
}

// queueNotification encrypts plain and delivers it in the background,
// retrying on the real schedule; the caller holds mu.
func (e *Emulator) queueNotification(to, eventType, summary, originalType string, plain []byte) {
	if e.closed {
		return
	}
	body, id, err := e.seal(eventType, summary, originalType, plain)
	if err != nil {
		e.log.Error("sealing notification failed", "err", err)
		return
	}
	e.wg.Add(1)
	go e.deliver(to, id, eventType, body)
}

// seal builds the notification envelope with the resource encrypted by
// AES-256-GCM under the APIv3 key (A9 in protocols.md).
func (e *Emulator) seal(eventType, summary, originalType string, plain []byte) ([]byte, string, error) {
	block, err := aes.NewCipher([]byte(e.cfg.APIv3Key))
	if err != nil {
		return nil, "", err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, "", err
	}
	nonce := randString(12)
	sealed := gcm.Seal(nil, []byte(nonce), plain, []byte(originalType))
	env := envelope{
		ID:           "EV-" + newDigits("", e.now(), 12),
		CreateTime:   rfc3339(e.now()),
		ResourceType: "encrypt-resource",
		EventType:    eventType,
		Summary:      summary,
		Resource: resource{
			OriginalType:   originalType,
			Algorithm:      "AEAD_AES_256_GCM",
			Ciphertext:     base64.StdEncoding.EncodeToString(sealed),
			AssociatedData: originalType,
			Nonce:          nonce,
		},
	}
	b, err := json.Marshal(env)
	return b, env.ID, err
}

func (e *Emulator) deliver(to, id, eventType string, body []byte) {
	defer e.wg.Done()
	for attempt := 1; ; attempt++ {
		d := Delivery{ID: id, EventType: eventType, URL: to, Attempt: attempt}
		d.Status, d.Err = e.post(to, body)
		d.At = e.now()
		e.mu.Lock()
		e.deliveries = append(e.deliveries, d)
		e.mu.Unlock()
		if d.Delivered() {
			e.log.Info("notification delivered", "id", id, "event", eventType, "attempt", attempt)
			return
		}
		if attempt > len(RetrySchedule) || e.ctx.Err() != nil {
			e.log.Warn("notification given up", "id", id, "event", eventType, "attempts", attempt)
			return
		}
		wait := time.Duration(RetrySchedule[attempt-1]) * e.cfg.NotifyRetryUnit
		t := time.NewTimer(wait)
		select {
		case <-e.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// post sends one attempt, freshly signed.
func (e *Emulator) post(to string, body []byte) (int, string) {
	h, err := e.signHeaders(body, false)
	if err != nil {
		return 0, err.Error()
	}
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, to, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	req.Header.Set("Wechatpay-Signature-Type", authScheme)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	resp, err := e.cfg.NotifyClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, ""
}
