package alipayemu

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// The trade bill (protocols.md E5): alipay.data.dataservice.bill.downloadurl.query
// answers, signed, a bill_download_url back to the emulator, valid for
// BillURLLife, where a zip of two GBK CSVs waits: the detail
// (…_业务明细.csv) and the summary (…_业务明细(汇总).csv), their names GBK
// too, without the zip's UTF-8 flag, as Alipay packs them. The real bill
// is ready the next morning; the emulator serves today's as well (the
// records so far), so a demo can reconcile the day it sold. A later day
// is 40004 isp.bill_not_exist.

// BillDownloadPath is the route bill_download_url points at. Faults whose
// Method is BillDownloadPath strike downloads: Latency, Status5xx, Reset,
// and MalformedBody, which cuts the zip short.
const BillDownloadPath = "/bill/download"

// BillURLLife is how long a bill_download_url works, as documented.
const BillURLLife = 30 * time.Second

// billAccount is the account the bill names: the seller's user id and the
// 0156 suffix of a merchant's balance account.
const billAccount = sellerID + "0156"

// billZip is one generated bill waiting for its download.
type billZip struct {
	data    []byte
	expires time.Time
}

// detailColumns are the 25 columns of a direct merchant's detail (E5).
var detailColumns = []string{"支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号",
	"门店名称", "操作员", "终端号", "对方账户", "订单金额（元）", "商家实收（元）", "支付宝红包（元）", "集分宝（元）",
	"支付宝优惠（元）", "商家优惠（元）", "券核销金额（元）", "券名称", "商家红包消费金额（元）", "卡消费金额（元）",
	"退款批次号/请求号", "服务费（元）", "分润（元）", "备注"}

// billDownloadURL is alipay.data.dataservice.bill.downloadurl.query for
// bill_type trade, daily (yyyy-MM-dd) or monthly (yyyy-MM).
func (e *Emulator) billDownloadURL(c *call) obj {
	invalid := func(what string) obj { return bizFail("isv.invalid_arguments", "参数不合法: "+what) }
	if c.s("bill_type") != "trade" {
		return invalid("bill_type: the emulator makes trade bills only")
	}
	date := c.s("bill_date")
	from, err := time.ParseInLocation("2006-01-02", date, shanghai)
	to := from.AddDate(0, 0, 1)
	stamp := from.Format("20060102")
	if err != nil {
		if from, err = time.ParseInLocation("2006-01", date, shanghai); err != nil {
			return invalid("bill_date: yyyy-MM-dd or yyyy-MM")
		}
		to, stamp = from.AddDate(0, 1, 0), from.Format("200601")
	}
	if from.After(c.now) {
		return bizFail("isp.bill_not_exist", "账单不存在")
	}
	data, err := e.billZipLocked(from, to, stamp, c.now)
	if err != nil {
		e.log.Error("alipayemu: writing the bill", "err", err)
		return failure("20000", "isp.unknow-error", "系统繁忙")
	}
	if e.bills == nil {
		e.bills = map[string]billZip{}
	}
	for tok, b := range e.bills {
		if c.now.After(b.expires) {
			delete(e.bills, tok)
		}
	}
	token := randomHex(20)
	e.bills[token] = billZip{data: data, expires: c.now.Add(BillURLLife)}
	return success(field{"bill_download_url", strings.TrimRight(c.base, "/") + BillDownloadPath + "?token=" + token})
}

// serveBill is GET /bill/download?token=: the zip, unsigned (Alipay's
// file server signs nothing; the URL came in a signed answer).
func (e *Emulator) serveBill(w http.ResponseWriter, r *http.Request) {
	f, hit := e.takeFault(BillDownloadPath)
	if hit && f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	e.mu.Lock()
	b, ok := e.bills[r.URL.Query().Get("token")]
	now := e.cfg.Clock()
	e.mu.Unlock()
	switch {
	case hit && f.Reset:
		resetConn(w)
		return
	case hit && f.Status5xx:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>"))
		return
	case !ok || now.After(b.expires):
		http.Error(w, "the download link has expired", http.StatusNotFound)
		return
	}
	data := b.data
	if hit && f.MalformedBody {
		data = data[:len(data)/2]
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+billAccount+`.csv.zip"`)
	w.Write(data)
}

// billRow is one detail row and what the totals lines add up.
type billRow struct {
	at     time.Time
	key    string
	refund bool
	net    int64 // 商家实收, fen; negative for a refund
	fields []string
}

// billZipLocked makes the zip of [from, to); the caller holds mu. Trade
// rows are trades paid (gmt_payment) then; refund rows are refunds made
// then, with a negative amount and out_request_no as 退款批次号/请求号.
func (e *Emulator) billZipLocked(from, to time.Time, stamp string, now time.Time) ([]byte, error) {
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(from) && t.Before(to) }
	var rows []billRow
	for _, t := range e.trades {
		created := t.ScannedAt
		if created.IsZero() {
			created = t.CreatedAt
		}
		row := func(kind string, at time.Time, fen, fee int64, reqNo, memo string) []string {
			return []string{t.TradeNo, t.OutTradeNo, kind, t.Subject, beijing(created), beijing(at), t.StoreID,
				"", t.OperatorID, t.TerminalID, t.BuyerLogonID, signedYuan(fen), signedYuan(fen), "0.00", "0.00",
				"0.00", "0.00", "0.00", "", "0.00", "0.00", reqNo, signedYuan(fee), "0.00", memo}
		}
		if t.WasPaid() && in(t.PaidAt) {
			rows = append(rows, billRow{at: t.PaidAt, key: t.OutTradeNo, net: t.TotalFen,
				fields: row("交易", t.PaidAt, t.TotalFen, -feeOf(t.TotalFen), "", t.Body)})
		}
		for _, r := range t.Refunds {
			if in(r.At) {
				rows = append(rows, billRow{at: r.At, key: t.OutTradeNo + "/" + r.OutRequestNo, refund: true, net: -r.AmountFen,
					fields: row("退款", r.At, -r.AmountFen, feeOf(r.AmountFen), r.OutRequestNo, r.Reason)})
			}
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		switch {
		case !a.at.Equal(b.at):
			return a.at.Before(b.at)
		case a.refund != b.refund:
			return !a.refund
		}
		return a.key < b.key
	})

	var trades, refunds int
	var tradeNet, refundNet int64
	var detail bytes.Buffer
	line := func(s string) { detail.WriteString(s + "\r\n") }
	line("#支付宝业务明细查询")
	line("#账号：[" + billAccount + "]")
	line("#起始日期：[" + from.In(shanghai).Format("2006年01月02日 15:04:05") + "]   终止日期：[" + to.In(shanghai).Format("2006年01月02日 15:04:05") + "]")
	line("#-----------------------------------------业务明细列表----------------------------------------")
	w := csv.NewWriter(&detail)
	w.UseCRLF = true
	_ = w.Write(detailColumns)
	for _, r := range rows {
		cells := make([]string, len(r.fields))
		for i, v := range r.fields {
			cells[i] = v + "\t" // as Alipay pads them
		}
		_ = w.Write(cells)
		if r.refund {
			refunds, refundNet = refunds+1, refundNet+r.net
		} else {
			trades, tradeNet = trades+1, tradeNet+r.net
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, err
	}
	line("#-----------------------------------------业务明细列表结束------------------------------------")
	line(fmt.Sprintf("#交易合计：%d笔，商家实收共%s元，商家优惠共0.00元", trades, signedYuan(tradeNet)))
	line(fmt.Sprintf("#退款合计：%d笔，商家实收退款共%s元，商家优惠退款共0.00元", refunds, signedYuan(refundNet)))
	line("#导出时间：[" + now.In(shanghai).Format("2006年01月02日 15:04:05") + "]")

	var summary bytes.Buffer
	sline := func(s string) { summary.WriteString(s + "\r\n") }
	sline("#支付宝业务汇总查询")
	sline("#账号：[" + billAccount + "]")
	sline("#起始日期：[" + from.In(shanghai).Format("2006年01月02日 15:04:05") + "]   终止日期：[" + to.In(shanghai).Format("2006年01月02日 15:04:05") + "]")
	sline("#-----------------------------------------业务汇总列表----------------------------------------")
	sline("门店编号,门店名称,交易订单总笔数,退款订单总笔数,已收入订单总笔数,交易订单金额（元）,商家实收（元）,退款订单金额（元）,商家实收退款（元）,实收净额（元）")
	sline(fmt.Sprintf("\t,\t,%d\t,%d\t,%d\t,%s\t,%s\t,%s\t,%s\t,%s\t", trades, refunds, trades, signedYuan(tradeNet), signedYuan(tradeNet),
		signedYuan(refundNet), signedYuan(refundNet), signedYuan(tradeNet+refundNet)))
	sline(fmt.Sprintf("合计\t,\t,%d\t,%d\t,%d\t,%s\t,%s\t,%s\t,%s\t,%s\t", trades, refunds, trades, signedYuan(tradeNet), signedYuan(tradeNet),
		signedYuan(refundNet), signedYuan(refundNet), signedYuan(tradeNet+refundNet)))
	sline("#-----------------------------------------业务汇总列表结束------------------------------------")
	sline("#导出时间：[" + now.In(shanghai).Format("2006年01月02日 15:04:05") + "]")

	var z bytes.Buffer
	zw := zip.NewWriter(&z)
	prefix := billAccount + "_" + stamp + "_"
	for _, f := range []struct {
		name string
		body []byte
	}{{prefix + "业务明细.csv", detail.Bytes()}, {prefix + "业务明细(汇总).csv", summary.Bytes()}} {
		name, err := simplifiedchinese.GBK.NewEncoder().String(f.name)
		if err != nil {
			return nil, err
		}
		body, err := simplifiedchinese.GBK.NewEncoder().Bytes(f.body)
		if err != nil {
			return nil, err
		}
		// NonUTF8 keeps the writer from flagging the GBK name as UTF-8.
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, NonUTF8: true, Method: zip.Deflate, Modified: now})
		if err != nil {
			return nil, err
		}
		if _, err := fw.Write(body); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return z.Bytes(), nil
}

// feeOf is the 0.6% service fee of face-to-face payments, to the fen.
func feeOf(fen int64) int64 { return (fen*6 + 500) / 1000 }

// signedYuan formats fen with a sign, "-3.00", as the bill writes refunds.
func signedYuan(fen int64) string {
	if fen < 0 {
		return "-" + yuan(-fen)
	}
	return yuan(fen)
}

// ---- test hooks: a provider that disagrees with the merchant ----

// ErrExists: a foreign trade would take an out_trade_no already in use.
var ErrExists = errors.New("a trade with that out_trade_no exists")

// TamperTrade changes a trade's record behind the API's back, as if
// Alipay's books said otherwise (another amount, PaidAt zero for "not
// paid", another day, refunds dropped or added), and keeps the change in
// the Store. No notification is sent. fn may not change OutTradeNo.
func (e *Emulator) TamperTrade(outTradeNo string, fn func(*TradeInfo)) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.trades[outTradeNo]
	if !ok {
		return ErrUnknownTrade
	}
	before := t.info()
	changed := t.info()
	fn(&changed)
	if changed.OutTradeNo != outTradeNo {
		return fmt.Errorf("TamperTrade may not change out_trade_no %s", outTradeNo)
	}
	*t = changed
	if err := e.saveLocked(t); err != nil {
		e.saveErr = nil
		e.restoreLocked(t, before)
		return err
	}
	if before.Token != t.Token {
		delete(e.byToken, before.Token)
	}
	if before.TradeNo != t.TradeNo {
		delete(e.byNo, before.TradeNo)
	}
	e.index(t)
	return nil
}

// TamperRefund changes one refund of a trade (another amount, another
// day) and keeps the change in the Store; TamperTrade can drop it.
func (e *Emulator) TamperRefund(outTradeNo, outRequestNo string, fn func(*RefundInfo)) error {
	found := false
	err := e.TamperTrade(outTradeNo, func(t *TradeInfo) {
		for i := range t.Refunds {
			if t.Refunds[i].OutRequestNo == outRequestNo {
				fn(&t.Refunds[i])
				t.Refunds[i].OutRequestNo = outRequestNo
				found = true
			}
		}
	})
	if err == nil && !found {
		return ErrUnknownTrade
	}
	return err
}

// AddForeignTrade records a trade the merchant never created (its ledger
// does not know it), paid now unless t says otherwise, and returns it with
// the defaults filled in: TRADE_SUCCESS, a trade_no, the sandbox buyer.
func (e *Emulator) AddForeignTrade(t TradeInfo) (TradeInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t.OutTradeNo == "" {
		return TradeInfo{}, errors.New("a foreign trade needs an out_trade_no")
	}
	if _, ok := e.trades[t.OutTradeNo]; ok {
		return TradeInfo{}, ErrExists
	}
	now := e.cfg.Clock()
	if t.Status == "" {
		t.Status = StatusSuccess
	}
	if t.Scene == "" {
		t.Scene = ScenePrecreate
	}
	if t.Subject == "" {
		t.Subject = "foreign trade"
	}
	if t.Status == StatusSuccess && t.PaidAt.IsZero() {
		t.PaidAt = now
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
		if t.WasPaid() {
			t.CreatedAt = t.PaidAt
		}
	}
	if t.TradeNo == "" {
		t.TradeNo = e.newTradeNo(t.CreatedAt)
	}
	if t.BuyerLogonID == "" {
		t.BuyerLogonID, t.BuyerUserID = buyerLogonID, buyerUserID
	}
	tr := t.info()
	if err := e.saveLocked(&tr); err != nil {
		e.saveErr = nil
		return TradeInfo{}, err
	}
	e.index(&tr)
	return tr.info(), nil
}

// AddForeignRefund records a refund of outTradeNo the merchant never asked
// for, made now unless r says otherwise, and keeps it in the Store. The
// trade's refunded sum follows, as on Alipay's books.
func (e *Emulator) AddForeignRefund(outTradeNo string, r RefundInfo) (RefundInfo, error) {
	if r.OutRequestNo == "" || r.AmountFen <= 0 {
		return RefundInfo{}, errors.New("a foreign refund needs an out_request_no and an amount")
	}
	if r.At.IsZero() {
		r.At = e.cfg.Clock()
	}
	dup := false
	err := e.TamperTrade(outTradeNo, func(t *TradeInfo) {
		if t.refund(r.OutRequestNo) != nil {
			dup = true
			return
		}
		t.Refunds = append(t.Refunds, r)
		t.RefundedFen += r.AmountFen
		if t.RefundedFen >= t.TotalFen {
			t.Status, t.ClosedAt = StatusClosed, r.At
		}
	})
	switch {
	case err != nil:
		return RefundInfo{}, err
	case dup:
		return RefundInfo{}, fmt.Errorf("trade %s already has refund %s", outTradeNo, r.OutRequestNo)
	}
	return r, nil
}
