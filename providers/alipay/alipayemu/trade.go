package alipayemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Trade statuses. StatusPrecreated is the emulator's own: a precreated QR
// order that nobody has scanned; Alipay has no trade for it yet and
// answers ACQ.TRADE_NOT_EXIST.
const (
	StatusPrecreated   = "PRECREATED"
	StatusWaitBuyerPay = "WAIT_BUYER_PAY"
	StatusSuccess      = "TRADE_SUCCESS"
	StatusClosed       = "TRADE_CLOSED"
	StatusFinished     = "TRADE_FINISHED"
)

// Scenes: how a trade was created.
const (
	ScenePrecreate = "precreate" // alipay.trade.precreate, paid on the payer page
	SceneBarCode   = "bar_code"  // alipay.trade.pay with a payment code
)

// The emulated parties.
const (
	sellerID     = "2088102177649450"
	buyerUserID  = "2088102177846880"
	buyerLogonID = "cus***@sandbox.com"
)

// TradeInfo is a trade as the emulator holds it (and persists it). Amounts
// are integer fen.
type TradeInfo struct {
	OutTradeNo string `json:"out_trade_no"`
	TradeNo    string `json:"trade_no,omitempty"`
	Status     string `json:"status"`
	// Locked: the code expired before anyone scanned it and can never be
	// paid. A close or cancel before the scan does not lock it: there is
	// no trade yet for them to act on.
	Locked bool   `json:"locked,omitempty"`
	Scene  string `json:"scene"`
	Token  string `json:"token,omitempty"`
	QRCode string `json:"qr_code,omitempty"`

	TotalFen         int64  `json:"total_fen"`
	Subject          string `json:"subject"`
	Body             string `json:"body,omitempty"`
	ProductCode      string `json:"product_code,omitempty"`
	TerminalID       string `json:"terminal_id,omitempty"`
	StoreID          string `json:"store_id,omitempty"`
	OperatorID       string `json:"operator_id,omitempty"`
	NotifyURL        string `json:"notify_url,omitempty"`
	TimeExpire       string `json:"time_expire,omitempty"`             // as sent
	TimeoutExpress   string `json:"timeout_express,omitempty"`         // as sent
	QRTimeoutExpress string `json:"qr_code_timeout_express,omitempty"` // as sent

	CreatedAt time.Time `json:"created_at"`
	// QRExpiresAt ends an unscanned precreate code (qr_code_timeout_express
	// from the precreate, else DefaultExpiry). ExpiresAt ends the trade
	// once it exists: for a precreate it is set at the scan.
	QRExpiresAt time.Time `json:"qr_expires_at,omitzero"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
	ScannedAt   time.Time `json:"scanned_at,omitzero"`
	PaidAt      time.Time `json:"paid_at,omitzero"`
	ClosedAt    time.Time `json:"closed_at,omitzero"`

	BuyerLogonID string `json:"buyer_logon_id,omitempty"`
	BuyerUserID  string `json:"buyer_user_id,omitempty"`

	RefundedFen  int64        `json:"refunded_fen,omitempty"`
	Refunds      []RefundInfo `json:"refunds,omitempty"`
	CancelAction string       `json:"cancel_action,omitempty"` // "close" or "refund" once cancelled

	// A payment-code trade keeps the code's last four digits and what
	// its customer does, never the code itself; ConfirmAt is when a
	// customer asked for the password confirms (zero: never by itself).
	CodeTail  string    `json:"code_tail,omitempty"`
	Behaviour string    `json:"behaviour,omitempty"`
	ConfirmAt time.Time `json:"confirm_at,omitzero"`
}

// RefundInfo is one refund of a trade, keyed by out_request_no.
type RefundInfo struct {
	OutRequestNo string    `json:"out_request_no"`
	AmountFen    int64     `json:"amount_fen"`
	Reason       string    `json:"reason,omitempty"`
	At           time.Time `json:"at"`
	ViaCancel    bool      `json:"via_cancel,omitempty"` // made by alipay.trade.cancel
}

type trade = TradeInfo

func (t *trade) info() TradeInfo {
	c := *t
	c.Refunds = append([]RefundInfo(nil), t.Refunds...)
	return c
}

// WasPaid reports whether money ever arrived for the trade.
func (t TradeInfo) WasPaid() bool { return !t.PaidAt.IsZero() }

func (t *trade) refund(reqNo string) *RefundInfo {
	for i := range t.Refunds {
		if t.Refunds[i].OutRequestNo == reqNo {
			return &t.Refunds[i]
		}
	}
	return nil
}

// ErrNotSaved means the emulator could not persist a change: the gateway
// answers 20000 (outcome unknown) and the payer page refuses the payment.
var ErrNotSaved = errors.New("the trade could not be saved")

// saveLocked persists t. A failure is logged, remembered for the request
// under way (saveErr) and returned.
func (e *Emulator) saveLocked(t *trade) error {
	if e.cfg.Store == nil {
		return nil
	}
	b, err := json.Marshal(t)
	if err == nil {
		err = e.cfg.Store.Put(t.OutTradeNo, b)
	}
	if err != nil {
		e.log.Error("alipayemu: saving trade", "out_trade_no", t.OutTradeNo, "err", err)
		err = fmt.Errorf("%w: %v", ErrNotSaved, err)
		if e.saveErr == nil {
			e.saveErr = err
		}
	}
	return err
}

// restoreLocked puts t back as it was before a change that could not be
// saved.
func (e *Emulator) restoreLocked(t *trade, before TradeInfo) {
	if t.TradeNo != before.TradeNo {
		delete(e.byNo, t.TradeNo)
	}
	*t = before
}

// forgetLocked drops a trade made by a request whose save failed.
func (e *Emulator) forgetLocked(t *trade) {
	delete(e.trades, t.OutTradeNo)
	delete(e.byToken, t.Token)
	delete(e.byNo, t.TradeNo)
}

// qrExpiry is when an unscanned code dies; files from before
// qr_code_timeout_express kept it in ExpiresAt.
func (t *trade) qrExpiry() time.Time {
	if !t.QRExpiresAt.IsZero() {
		return t.QRExpiresAt
	}
	return t.ExpiresAt
}

// expireLocked applies the expiries: a code nobody scanned by its QR
// expiry is locked (and keeps answering ACQ.TRADE_NOT_EXIST); a waiting
// trade past its own expiry closes. A payment-code customer who confirms
// before both (CodeConfirmsLater) pays first.
func (e *Emulator) expireLocked(t *trade, now time.Time) {
	e.confirmLocked(t, now)
	switch t.Status {
	case StatusPrecreated:
		if exp := t.qrExpiry(); !t.Locked && !exp.IsZero() && !now.Before(exp) {
			t.Locked = true
			e.saveLocked(t)
		}
	case StatusWaitBuyerPay:
		if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
			t.Status = StatusClosed
			t.ClosedAt = t.ExpiresAt
			if e.saveLocked(t) == nil {
				e.notifyLocked(t, nil)
			}
		}
	}
}

func (e *Emulator) newTradeNo(now time.Time) string {
	for {
		no := now.In(shanghai).Format("20060102") + "22001" + randomDigits(15)
		if _, taken := e.byNo[no]; !taken {
			return no
		}
	}
}

// scanLocked makes a precreated trade exist: WAIT_BUYER_PAY, expiring by
// its timeout_express from now, else DefaultExpiry. time_expire is not
// applied: whether precreate honours it is not documented, and the
// emulator takes the worst case, a trade that stays payable longer.
func (e *Emulator) scanLocked(t *trade, now time.Time) error {
	e.expireLocked(t, now)
	switch {
	case t.Locked:
		return ErrTradeClosed
	case t.Status == StatusPrecreated:
		before := t.info()
		t.Status = StatusWaitBuyerPay
		t.TradeNo = e.newTradeNo(now)
		t.ScannedAt = now
		t.ExpiresAt = now.Add(e.cfg.DefaultExpiry)
		if d, err := expressDeadline(t.TimeoutExpress, now); err == nil && !d.IsZero() {
			t.ExpiresAt = d
		}
		t.BuyerLogonID, t.BuyerUserID = buyerLogonID, buyerUserID
		e.byNo[t.TradeNo] = t
		if err := e.saveLocked(t); err != nil {
			e.restoreLocked(t, before)
			return err
		}
		return nil
	case t.Status == StatusWaitBuyerPay:
		return nil
	case t.Status == StatusClosed && !t.WasPaid():
		return ErrTradeClosed
	}
	return ErrTradePaid
}

// payLocked scans if needed, then pays. A payment that cannot be saved is
// undone and reported, never answered as paid.
func (e *Emulator) payLocked(t *trade, now time.Time) error {
	if err := e.scanLocked(t, now); err != nil {
		return err
	}
	before := t.info()
	t.Status = StatusSuccess
	t.PaidAt = now
	if err := e.saveLocked(t); err != nil {
		e.restoreLocked(t, before)
		return err
	}
	e.notifyLocked(t, nil)
	return nil
}

// closeLocked closes an unpaid trade.
func (e *Emulator) closeLocked(t *trade, now time.Time) {
	t.Status = StatusClosed
	t.ClosedAt = now
}

// refundLocked records a refund; a refund of everything closes the trade.
func (e *Emulator) refundLocked(t *trade, now time.Time, reqNo string, fen int64, reason string, viaCancel bool) *RefundInfo {
	t.Refunds = append(t.Refunds, RefundInfo{OutRequestNo: reqNo, AmountFen: fen, Reason: reason, At: now, ViaCancel: viaCancel})
	t.RefundedFen += fen
	if t.RefundedFen >= t.TotalFen {
		t.Status = StatusClosed
		t.ClosedAt = now
	}
	return &t.Refunds[len(t.Refunds)-1]
}
