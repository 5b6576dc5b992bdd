package alipay

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/smartwalle/alipay/v3"
	"golang.org/x/text/encoding/simplifiedchinese"

	"till/checkout"
)

// MaxBillSize caps a downloaded bill zip and the detail inside it. A
// shop's day is kilobytes; the cap only keeps a broken answer from filling
// memory.
const MaxBillSize = 64 << 20

var _ checkout.Biller = (*Provider)(nil)

// Bill fetches the trade bill of day (protocols.md E5): the signed
// alipay.data.dataservice.bill.downloadurl.query gives a short-lived URL,
// a plain GET of it a zip, and the zip's …_业务明细.csv (GBK) the rows.
// isp.bill_not_exist (BILL_NOT_EXIST in older docs) is
// checkout.ErrBillNotReady; a download that fails or does not read as a
// bill is an error, never an empty bill.
func (p *Provider) Bill(ctx context.Context, day string) (checkout.Bill, error) {
	const op = "bill"
	if _, _, err := checkout.BillDayBounds(day); err != nil {
		return checkout.Bill{}, fmt.Errorf("alipay bill: %q is not a day (YYYY-MM-DD)", day)
	}
	rsp, err := call(p, op, day, func() (*alipay.BillDownloadURLQueryRsp, error) {
		return p.client.BillDownloadURLQuery(ctx, alipay.BillDownloadURLQuery{BillType: "trade", BillDate: day})
	}, func(r *alipay.BillDownloadURLQueryRsp) *alipay.Error { return &r.Error })
	if err != nil {
		var pe *checkout.ProviderError
		if errors.As(err, &pe) && billNotExist(pe.Code) {
			p.log.Info("alipay bill not ready", "day", day, "sub_code", pe.Code)
			return checkout.Bill{}, fmt.Errorf("alipay bill of %s: %w (%s)", day, checkout.ErrBillNotReady, pe.Code)
		}
		return checkout.Bill{}, err
	}
	data, err := p.fetchBill(ctx, rsp.BillDownloadURL)
	if err != nil {
		return checkout.Bill{}, fmt.Errorf("alipay bill of %s: %w", day, err)
	}
	bill, err := ParseBill(day, data)
	if err != nil {
		return checkout.Bill{}, err
	}
	p.log.Info("alipay bill", "day", day, "trades", len(bill.Trades), "refunds", len(bill.Refunds))
	return bill, nil
}

// billNotExist reports the sub-codes that mean "no bill for that day":
// the one observed (isp.bill_not_exist), the documented one
// (BILL_NOT_EXIST), and the dashed spelling some clients check.
func billNotExist(code string) bool {
	c := strings.ToLower(code)
	return strings.Contains(c, "bill_not_exist") || strings.Contains(c, "bill-not-exist")
}

// fetchBill GETs the bill_download_url (a signed answer gave it; the file
// server itself signs nothing) and returns at most MaxBillSize bytes.
func (p *Provider) fetchBill(ctx context.Context, raw string) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("bill_download_url %q is not an http(s) URL", raw)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, err
	}
	res, err := p.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("downloading the bill: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("downloading the bill: HTTP %d", res.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, MaxBillSize+1))
	if err != nil {
		return nil, fmt.Errorf("downloading the bill: %w", err)
	}
	if len(data) > MaxBillSize {
		return nil, fmt.Errorf("the bill is larger than %d bytes", MaxBillSize)
	}
	return data, nil
}

// ParseBill reads Alipay's bill zip: exactly one entry whose name (GBK
// unless the entry is flagged UTF-8) ends in 业务明细.csv, not the
// (汇总) summary, read by ParseBillDetail.
func ParseBill(day string, zipData []byte) (checkout.Bill, error) {
	zr, err := zip.NewReader(bytes.NewReader(zipData), int64(len(zipData)))
	if err != nil {
		return checkout.Bill{}, fmt.Errorf("alipay bill of %s: not a zip: %w", day, err)
	}
	var detail *zip.File
	for _, f := range zr.File {
		if !isDetailEntry(entryName(f)) {
			continue
		}
		if detail != nil {
			return checkout.Bill{}, fmt.Errorf("alipay bill of %s: two detail files (%s, %s)", day, entryName(detail), entryName(f))
		}
		detail = f
	}
	if detail == nil {
		return checkout.Bill{}, fmt.Errorf("alipay bill of %s: the zip has no …业务明细.csv", day)
	}
	if detail.UncompressedSize64 > MaxBillSize {
		return checkout.Bill{}, fmt.Errorf("alipay bill of %s: %s is larger than %d bytes", day, entryName(detail), MaxBillSize)
	}
	rc, err := detail.Open()
	if err != nil {
		return checkout.Bill{}, fmt.Errorf("alipay bill of %s: %w", day, err)
	}
	defer rc.Close()
	gbk, err := io.ReadAll(io.LimitReader(rc, MaxBillSize+1))
	if err != nil { // a damaged entry fails its CRC here
		return checkout.Bill{}, fmt.Errorf("alipay bill of %s: %s: %w", day, entryName(detail), err)
	}
	return ParseBillDetail(day, gbk)
}

// entryName is a zip entry's name as text: Alipay writes GBK names
// without the UTF-8 flag.
func entryName(f *zip.File) string {
	if f.Flags&0x800 != 0 {
		return f.Name
	}
	if s, err := simplifiedchinese.GBK.NewDecoder().String(f.Name); err == nil {
		return s
	}
	return f.Name
}

func isDetailEntry(name string) bool {
	base := name[strings.LastIndex(name, "/")+1:]
	return strings.HasSuffix(base, "业务明细.csv") &&
		!strings.HasSuffix(base, "(汇总).csv") && !strings.HasSuffix(base, "（汇总）.csv")
}

// Column names of the detail the parser uses; other channels add or move
// columns, so the header is read by name.
const (
	colTradeNo  = "支付宝交易号"
	colOrderNo  = "商户订单号"
	colKind     = "业务类型"
	colDone     = "完成时间"
	colAmount   = "订单金额（元）"
	colRefundNo = "退款批次号/请求号"
)

var (
	tradeTotalRE  = regexp.MustCompile(`^#交易合计：(\d+)笔`)
	refundTotalRE = regexp.MustCompile(`^#退款合计：(\d+)笔`)
)

// ParseBillDetail reads the GBK detail CSV: # lines around a header and
// the rows, every field trimmed of the tabs and spaces Alipay pads them
// with. 交易 rows are trades, 退款 rows refunds (their negative 订单金额
// made positive) under their 退款批次号/请求号, or their order's number
// when it is empty: Alipay numbers a refund asked for without a request
// number, as a trade.cancel's is, by the trade's out_trade_no, the number
// till records it under. Another 业务类型 is an error. The #交易合计 and #退款合计
// counts, when present, must match the rows, and the end-of-list line
// must be there (a file cut short is no bill). Errors name the line.
func ParseBillDetail(day string, gbk []byte) (checkout.Bill, error) {
	text, err := simplifiedchinese.GBK.NewDecoder().Bytes(gbk)
	if err != nil {
		return checkout.Bill{}, fmt.Errorf("alipay bill of %s: not GBK text: %w", day, err)
	}
	bad := func(line int, format string, args ...any) error {
		return fmt.Errorf("alipay bill of %s, line %d: %s", day, line, fmt.Sprintf(format, args...))
	}
	bill := checkout.Bill{Method: checkout.MethodAlipay, Day: day}
	var (
		col        map[string]int
		width      int
		ended      bool
		nTrade     = -1
		nRefund    = -1
		seenTrade  int
		seenRefund int
	)
	for i, raw := range strings.Split(string(text), "\n") {
		n := i + 1
		s := strings.TrimSpace(raw)
		switch {
		case s == "":
			continue
		case strings.HasPrefix(s, "#"):
			if strings.Contains(s, "业务明细列表结束") {
				ended = true
			}
			if m := tradeTotalRE.FindStringSubmatch(s); m != nil {
				nTrade, _ = strconv.Atoi(m[1])
			}
			if m := refundTotalRE.FindStringSubmatch(s); m != nil {
				nRefund, _ = strconv.Atoi(m[1])
			}
			continue
		case ended:
			return checkout.Bill{}, bad(n, "a row after the end of the list")
		}
		rec, err := splitRow(s)
		if err != nil {
			return checkout.Bill{}, bad(n, "%v", err)
		}
		if col == nil {
			col, width = map[string]int{}, len(rec)
			for j, name := range rec {
				col[normColumn(name)] = j
			}
			for _, name := range []string{colTradeNo, colOrderNo, colKind, colDone, colAmount} {
				if _, ok := col[name]; !ok {
					return checkout.Bill{}, bad(n, "the header has no %s column", name)
				}
			}
			continue
		}
		if len(rec) != width {
			return checkout.Bill{}, bad(n, "%d fields where the header has %d", len(rec), width)
		}
		at, err := time.ParseInLocation(TimeLayout, rec[col[colDone]], checkout.BillZone)
		if err != nil {
			return checkout.Bill{}, bad(n, "%s %q is not a time", colDone, rec[col[colDone]])
		}
		amount, err := parseSignedYuan(rec[col[colAmount]])
		if err != nil {
			return checkout.Bill{}, bad(n, "%s: %v", colAmount, err)
		}
		switch kind := rec[col[colKind]]; kind {
		case "交易":
			seenTrade++
			bill.Trades = append(bill.Trades, checkout.BillTrade{
				OrderNo: rec[col[colOrderNo]], ProviderTradeNo: rec[col[colTradeNo]], Amount: amount, At: at, Raw: kind,
			})
		case "退款":
			seenRefund++
			j, ok := col[colRefundNo]
			if !ok {
				return checkout.Bill{}, bad(n, "a refund row, and the header has no %s column", colRefundNo)
			}
			if amount < 0 {
				amount = -amount
			}
			refundNo := rec[j]
			if refundNo == "" {
				refundNo = rec[col[colOrderNo]]
			}
			bill.Refunds = append(bill.Refunds, checkout.BillRefund{
				OrderNo: rec[col[colOrderNo]], RefundNo: refundNo, Amount: amount, At: at, Raw: kind,
			})
		default:
			return checkout.Bill{}, bad(n, "unknown %s %q", colKind, kind)
		}
	}
	switch {
	case col == nil:
		return checkout.Bill{}, fmt.Errorf("alipay bill of %s: no header line", day)
	case !ended:
		return checkout.Bill{}, fmt.Errorf("alipay bill of %s: the list has no end line (truncated?)", day)
	case nTrade >= 0 && nTrade != seenTrade:
		return checkout.Bill{}, fmt.Errorf("alipay bill of %s: #交易合计 counts %d, the list has %d", day, nTrade, seenTrade)
	case nRefund >= 0 && nRefund != seenRefund:
		return checkout.Bill{}, fmt.Errorf("alipay bill of %s: #退款合计 counts %d, the list has %d", day, nRefund, seenRefund)
	}
	return bill, nil
}

// splitRow reads one CSV line (a quoted field may hold a comma) and trims
// each field.
func splitRow(line string) ([]string, error) {
	r := csv.NewReader(strings.NewReader(line))
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	rec, err := r.Read()
	if err != nil {
		return nil, err
	}
	for i := range rec {
		rec[i] = strings.TrimSpace(rec[i])
	}
	return rec, nil
}

// normColumn makes "订单金额(元)" and "订单金额（元）" one name.
func normColumn(s string) string {
	return strings.NewReplacer("(", "（", ")", "）").Replace(strings.TrimSpace(s))
}

// parseSignedYuan reads a bill amount, which may be negative ("-3.00").
func parseSignedYuan(s string) (checkout.Money, error) {
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		m, err := parseYuan(rest)
		return -m, err
	}
	return parseYuan(s)
}
