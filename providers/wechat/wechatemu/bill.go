package wechatemu

import (
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"
)

// The trade bill (protocols.md A10): GET /v3/bill/tradebill makes the
// day's file from the emulator's own records and answers, signed, its
// SHA-1 and a download_url back to the emulator; GET
// /v3/billdownload/file?token= serves the file unsigned, as WeChat does.
// The real service has a bill only from the next morning; the emulator
// serves today's too (the records so far), so a demo can reconcile the
// day it sold. A day after today is 400 NO_STATEMENT_EXIST.

// billFilePath is the download route download_url points at.
const billFilePath = "/v3/billdownload/file"

// BillURLLife is how long a download_url works (5 minutes in the newer
// docs).
const BillURLLife = 5 * time.Minute

// billFile is one generated bill waiting for its download.
type billFile struct {
	data    []byte
	expires time.Time
}

// The bill's columns by bill_type, as WeChat writes them (A10). The
// writer fills a row by name, so each type is just its column list.
var (
	allColumns = []string{"交易时间", "公众账号ID", "商户号", "特约商户号", "设备号", "微信订单号", "商户订单号",
		"用户标识", "交易类型", "交易状态", "付款银行", "货币种类", "应结订单金额", "代金券金额", "微信退款单号",
		"商户退款单号", "退款金额", "充值券退款金额", "退款类型", "退款状态", "商品名称", "商户数据包", "手续费",
		"费率", "订单金额", "申请退款金额", "费率备注"}
	billColumns = map[string][]string{
		"ALL":     allColumns,
		"SUCCESS": without(allColumns, "微信退款单号", "商户退款单号", "退款金额", "充值券退款金额", "退款类型", "退款状态", "申请退款金额"),
		"REFUND":  insertAfter(allColumns, "代金券金额", "退款申请时间", "退款成功时间"),
	}
	allSummary  = []string{"总交易单数", "应结订单总金额", "退款总金额", "充值券退款总金额", "手续费总金额", "订单总金额", "申请退款总金额"}
	billSummary = map[string][]string{
		"ALL":     allSummary,
		"SUCCESS": {"总交易单数", "应结订单总金额", "手续费总金额", "订单总金额"},
		"REFUND":  allSummary,
	}
)

func without(cols []string, drop ...string) []string {
	var out []string
	for _, c := range cols {
		keep := true
		for _, d := range drop {
			keep = keep && c != d
		}
		if keep {
			out = append(out, c)
		}
	}
	return out
}

func insertAfter(cols []string, after string, add ...string) []string {
	var out []string
	for _, c := range cols {
		out = append(out, c)
		if c == after {
			out = append(out, add...)
		}
	}
	return out
}

func queryParamError(field, value, issue string) answer {
	a := paramError(field, value, issue)
	a.body = bytes.Replace(a.body, []byte(`"location":"body"`), []byte(`"location":"query"`), 1)
	return a
}

// tradeBill is GET /v3/bill/tradebill.
func (e *Emulator) tradeBill(r *http.Request) answer {
	q := r.URL.Query()
	day := q.Get("bill_date")
	if day == "" {
		return queryParamError("bill_date", "", "此字段为必填项")
	}
	from, err := time.ParseInLocation("2006-01-02", day, cst)
	if err != nil {
		return queryParamError("bill_date", day, "格式须为yyyy-MM-dd")
	}
	billType := q.Get("bill_type")
	if billType == "" {
		billType = "ALL"
	}
	if _, ok := billColumns[billType]; !ok {
		return queryParamError("bill_type", billType, "模拟器仅支持ALL、SUCCESS、REFUND")
	}
	tar := q.Get("tar_type")
	if tar != "" && tar != "GZIP" {
		return queryParamError("tar_type", tar, "仅支持GZIP")
	}
	now := e.now()
	if from.After(now) {
		return failure(http.StatusBadRequest, "NO_STATEMENT_EXIST", "账单文件不存在")
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	data, err := e.billLocked(billType, from, from.AddDate(0, 0, 1))
	if err != nil {
		return systemError
	}
	sum := sha1.Sum(data)
	if tar == "GZIP" {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		_, _ = zw.Write(data)
		_ = zw.Close()
		data = z.Bytes()
	}
	if e.bills == nil {
		e.bills = map[string]billFile{}
	}
	for tok, f := range e.bills {
		if now.After(f.expires) {
			delete(e.bills, tok)
		}
	}
	token := randString(40)
	e.bills[token] = billFile{data: data, expires: now.Add(BillURLLife)}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	e.log.Info("trade bill", "day", day, "type", billType, "bytes", len(data))
	return okJSON(map[string]string{
		"hash_type":    "SHA1",
		"hash_value":   hex.EncodeToString(sum[:]),
		"download_url": scheme + "://" + r.Host + billFilePath + "?token=" + token,
	})
}

// billFile is GET /v3/billdownload/file: the merchant's signature was
// checked like on any route, but the answer is not signed.
func (e *Emulator) billFile(r *http.Request) answer {
	token := r.URL.Query().Get("token")
	e.mu.Lock()
	f, ok := e.bills[token]
	e.mu.Unlock()
	if !ok || e.now().After(f.expires) {
		return failure(http.StatusBadRequest, "INVALID_REQUEST", "下载链接已失效，请重新申请账单")
	}
	return answer{status: http.StatusOK, body: f.data, unsigned: true, contentType: "application/octet-stream"}
}

// billRow is one detail row by column name, with the sums the summary
// needs in fen (fee in fen too: WeChat rounds it to the fen and prints five
// decimals).
type billRow struct {
	at                  time.Time
	key                 string
	fields              map[string]string
	settle, order, fee  int64
	refund, refundAsked int64
}

// billLocked writes the bill of [from, to), oldest first; the caller
// holds mu. Rows, as WeChat's bill documentation has them (protocols.md
// A10: a bill lists the day's payments and the refunds made then; an
// order never paid is not in it; a trade paid and then reversed is, under
// its own order number):
//   - a SUCCESS row per trade paid then, whatever became of it later (a
//     refunded or reversed trade keeps its SUCCESS row);
//   - a REFUND row per refund that succeeded then, at its success time;
//   - a REVOKED row per reverse made then that gave a payment back, at
//     the reverse's time: the money going back, under a refund id WeChat
//     gave it (the reverse takes no refund number, so the merchant's
//     refund number column holds WeChat's too). The documentation does
//     not show this row; it is written the way that asks most of the
//     merchant's parser. A reverse of a trade never paid moves no money
//     and has no row.
//
// 交易类型 is the trade's: NATIVE, or MICROPAY for a payment code.
func (e *Emulator) billLocked(billType string, from, to time.Time) ([]byte, error) {
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(from) && t.Before(to) }
	var rows []billRow
	for no := range e.trades {
		t, _ := e.trade(no)
		paid := t.State == StateSuccess || t.State == StateRefund || t.State == StateRevoked
		if billType != "REFUND" && paid && in(t.SuccessTime) {
			rows = append(rows, e.paymentRow(t))
		}
		if billType != "SUCCESS" && t.State == StateRevoked && !t.SuccessTime.IsZero() && t.Refunded > 0 && in(t.RevokedAt) {
			rows = append(rows, e.moneyBackRow(t, StateRevoked, t.OutTradeNo, t.RevokeRefundID, t.RevokeRefundID, t.Refunded, t.RevokedAt, t.RevokedAt))
		}
	}
	if billType != "SUCCESS" {
		for no := range e.refunds {
			rf, _ := e.refund(no)
			if rf.Status != RefundSuccess || !in(rf.SuccessTime) {
				continue
			}
			t := e.trades[rf.OutTradeNo]
			t.OutTradeNo, t.TransactionID = rf.OutTradeNo, rf.TransactionID
			rows = append(rows, e.moneyBackRow(t, StateRefund, rf.OutRefundNo, rf.RefundID, rf.OutRefundNo, rf.Amount, rf.CreatedAt, rf.SuccessTime))
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		switch {
		case !a.at.Equal(b.at):
			return a.at.Before(b.at)
		case (a.refund == 0) != (b.refund == 0):
			return a.refund == 0 // a payment before a refund of the same second
		}
		return a.key < b.key
	})

	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	cols := billColumns[billType]
	_ = w.Write(cols)
	var settle, order, fee, refund, asked int64
	for _, r := range rows {
		rec := make([]string, len(cols))
		for i, c := range cols {
			rec[i] = "`" + r.fields[c]
		}
		_ = w.Write(rec)
		settle, order, fee, refund, asked = settle+r.settle, order+r.order, fee+r.fee, refund+r.refund, asked+r.refundAsked
	}
	sums := map[string]string{
		"总交易单数": fmt.Sprint(len(rows)), "应结订单总金额": yuanText(settle), "退款总金额": yuanText(refund),
		"充值券退款总金额": "0.00", "手续费总金额": feeText(fee), "订单总金额": yuanText(order), "申请退款总金额": yuanText(asked),
	}
	summary := billSummary[billType]
	_ = w.Write(summary)
	rec := make([]string, len(summary))
	for i, c := range summary {
		rec[i] = "`" + sums[c]
	}
	_ = w.Write(rec)
	w.Flush()
	return b.Bytes(), w.Error()
}

// paymentRow is trade t's SUCCESS row.
func (e *Emulator) paymentRow(t Trade) billRow {
	fee := feeOf(t.Total)
	return billRow{at: t.SuccessTime, key: t.OutTradeNo,
		settle: t.Total, order: t.Total, fee: fee,
		fields: map[string]string{
			"交易时间": t.SuccessTime.In(cst).Format(time.DateTime), "公众账号ID": t.AppID, "商户号": t.MchID,
			"特约商户号": "0", "设备号": "", "微信订单号": t.TransactionID, "商户订单号": t.OutTradeNo,
			"用户标识": t.PayerOpenID, "交易类型": t.Type(), "交易状态": StateSuccess, "付款银行": "OTHERS",
			"货币种类": t.Currency, "应结订单金额": yuanText(t.Total), "代金券金额": "0.00",
			"微信退款单号": "0", "商户退款单号": "0", "退款金额": "0.00", "充值券退款金额": "0.00",
			"退款类型": "", "退款状态": "", "退款申请时间": "", "退款成功时间": "",
			"商品名称": t.Description, "商户数据包": t.Attach, "手续费": feeText(fee), "费率": "0.60%",
			"订单金额": yuanText(t.Total), "申请退款金额": "0.00", "费率备注": "",
		}}
}

// moneyBackRow is a row of trade t giving fen back to the customer: a
// REFUND row (state REFUND) or a reverse's (REVOKED), keyed for sorting
// by key, asked at asked and done at done.
func (e *Emulator) moneyBackRow(t Trade, state, key, refundID, outRefundNo string, fen int64, asked, done time.Time) billRow {
	fee := -feeOf(fen)
	return billRow{at: done, key: key, fee: fee, refund: fen, refundAsked: fen,
		fields: map[string]string{
			"交易时间": done.In(cst).Format(time.DateTime), "公众账号ID": e.cfg.AppID, "商户号": e.cfg.MchID,
			"特约商户号": "0", "设备号": "", "微信订单号": t.TransactionID, "商户订单号": t.OutTradeNo,
			"用户标识": t.PayerOpenID, "交易类型": t.Type(), "交易状态": state, "付款银行": "OTHERS",
			"货币种类": "CNY", "应结订单金额": "0.00", "代金券金额": "0.00",
			"微信退款单号": refundID, "商户退款单号": outRefundNo, "退款金额": yuanText(fen),
			"充值券退款金额": "0.00", "退款类型": "ORIGINAL", "退款状态": RefundSuccess,
			"退款申请时间": asked.In(cst).Format(time.DateTime), "退款成功时间": done.In(cst).Format(time.DateTime),
			"商品名称": t.Description, "商户数据包": t.Attach, "手续费": feeText(fee), "费率": "0.60%",
			"订单金额": "0.00", "申请退款金额": yuanText(fen), "费率备注": "",
		}}
}

// feeOf is the 0.6% fee of a Native payment, rounded to the fen.
func feeOf(fen int64) int64 { return (fen*6 + 500) / 1000 }

func yuanText(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// feeText prints a fee as the bill does, with five decimals.
func feeText(fen int64) string { return yuanText(fen) + "000" }

// ---- test hooks: a provider that disagrees with the merchant ----

// ErrExists: a foreign record would take a number already in use.
var ErrExists = errors.New("wechatemu: a trade or refund with that number exists")

// TamperTrade changes a trade's record behind the API's back, as if
// WeChat's books said otherwise (another amount, not paid, paid another
// day), and keeps the change in the Store. No notification is sent.
// fn may not change OutTradeNo.
func (e *Emulator) TamperTrade(outTradeNo string, fn func(*Trade)) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	old, ok := e.trades[outTradeNo]
	if !ok {
		return ErrNotFound
	}
	t := old
	fn(&t)
	if t.OutTradeNo != outTradeNo {
		return fmt.Errorf("wechatemu: TamperTrade may not change out_trade_no %s", outTradeNo)
	}
	if err := e.saveTrade(t); err != nil {
		return err
	}
	if old.TransactionID != t.TransactionID {
		delete(e.byTxn, old.TransactionID)
	}
	if old.Token != t.Token {
		delete(e.byToken, old.Token)
	}
	return nil
}

// TamperRefund changes a refund's record behind the API's back (another
// amount, not succeeded, another day) and keeps the change in the Store.
// No notification is sent. fn may not change OutRefundNo.
func (e *Emulator) TamperRefund(outRefundNo string, fn func(*Refund)) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	old, ok := e.refunds[outRefundNo]
	if !ok {
		return ErrNotFound
	}
	r := old
	fn(&r)
	if r.OutRefundNo != outRefundNo {
		return fmt.Errorf("wechatemu: TamperRefund may not change out_refund_no %s", outRefundNo)
	}
	return e.saveRefund(r)
}

// AddForeignTrade records a trade the merchant never created (its ledger
// does not know it), paid unless t says otherwise, and returns it with the
// defaults filled in: this merchant's appid and mchid, CNY, SUCCESS, a
// transaction_id, and now as the success time.
func (e *Emulator) AddForeignTrade(t Trade) (Trade, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t.OutTradeNo == "" {
		return Trade{}, errors.New("wechatemu: a foreign trade needs an out_trade_no")
	}
	if _, ok := e.trades[t.OutTradeNo]; ok {
		return Trade{}, ErrExists
	}
	now := e.now().Truncate(time.Second)
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&t.AppID, e.cfg.AppID)
	def(&t.MchID, e.cfg.MchID)
	def(&t.Currency, "CNY")
	def(&t.Description, "foreign trade")
	def(&t.State, StateSuccess)
	def(&t.Token, randString(24))
	if t.State == StateSuccess || t.State == StateRefund {
		def(&t.TransactionID, newDigits("4200", now, 10))
		def(&t.PayerOpenID, "oEmu"+randString(24))
		if t.SuccessTime.IsZero() {
			t.SuccessTime = now
		}
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
		if !t.SuccessTime.IsZero() {
			t.CreatedAt = t.SuccessTime
		}
	}
	if err := e.saveTrade(t); err != nil {
		return Trade{}, err
	}
	return t, nil
}

// AddForeignRefund records a refund the merchant never asked for, of the
// trade r.OutTradeNo (which must exist), SUCCESS now unless r says
// otherwise; the trade's refunded sum and state follow, as on WeChat's
// books. It returns the refund with its defaults filled in.
func (e *Emulator) AddForeignRefund(r Refund) (Refund, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r.OutRefundNo == "" || r.Amount <= 0 {
		return Refund{}, errors.New("wechatemu: a foreign refund needs an out_refund_no and an amount")
	}
	if _, ok := e.refunds[r.OutRefundNo]; ok {
		return Refund{}, ErrExists
	}
	t, ok := e.trades[r.OutTradeNo]
	if !ok {
		return Refund{}, ErrNotFound
	}
	now := e.now().Truncate(time.Second)
	if r.RefundID == "" {
		r.RefundID = newDigits("50", now, 16)
	}
	if r.TransactionID == "" {
		r.TransactionID = t.TransactionID
	}
	if r.Total == 0 {
		r.Total = t.Total
	}
	if r.Status == "" {
		r.Status = RefundSuccess
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	if r.Status == RefundSuccess && r.SuccessTime.IsZero() {
		r.SuccessTime = now
	}
	if err := e.saveRefund(r); err != nil {
		return Refund{}, err
	}
	if r.Status != RefundClosed {
		t.Refunded += r.Amount
		t.State = StateRefund
		_ = e.saveTrade(t)
	}
	return r, nil
}
