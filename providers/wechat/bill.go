package wechat

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"

	"till/checkout"
)

// MaxBillSize caps a downloaded bill. A shop's day is kilobytes; the cap
// only keeps a broken or hostile answer from filling memory.
const MaxBillSize = 64 << 20

var _ checkout.Biller = (*Provider)(nil)

// tradeBillAnswer is the signed answer of GET /v3/bill/tradebill.
type tradeBillAnswer struct {
	HashType    string `json:"hash_type"`
	HashValue   string `json:"hash_value"`
	DownloadURL string `json:"download_url"`
}

// Bill fetches the ALL trade bill of day (protocols.md A10): the signed
// apply call gives a download_url and the file's SHA-1; the file itself
// comes unsigned, so the digest is what vouches for it. A file that does
// not match is an error, never a bill. NO_STATEMENT_EXIST and
// STATEMENT_CREATING are checkout.ErrBillNotReady.
func (p *Provider) Bill(ctx context.Context, day string) (checkout.Bill, error) {
	const op = "bill"
	if _, _, err := checkout.BillDayBounds(day); err != nil {
		return checkout.Bill{}, fmt.Errorf("wechat bill: %q is not a day (YYYY-MM-DD)", day)
	}
	q := url.Values{"bill_date": {day}, "bill_type": {"ALL"}}
	res, err := p.api.Get(ctx, DefaultAPIBase+"/v3/bill/tradebill?"+q.Encode())
	if err != nil {
		if code := apiCode(err); code == "NO_STATEMENT_EXIST" || code == "STATEMENT_CREATING" {
			p.log.Info("wechat bill not ready", "day", day, "code", code)
			return checkout.Bill{}, fmt.Errorf("wechat bill of %s: %w (%s)", day, checkout.ErrBillNotReady, code)
		}
		return checkout.Bill{}, p.fail(op, day, res, err)
	}
	var ans tradeBillAnswer
	if err := core.UnMarshalResponse(res.Response, &ans); err != nil {
		return checkout.Bill{}, unknown(op, "", "WeChat Pay's bill answer could not be read", err)
	}
	if !strings.EqualFold(ans.HashType, "SHA1") {
		return checkout.Bill{}, fmt.Errorf("wechat bill of %s: unexpected hash_type %q (want SHA1)", day, ans.HashType)
	}
	want, err := hex.DecodeString(ans.HashValue)
	if err != nil || len(want) != sha1.Size {
		return checkout.Bill{}, fmt.Errorf("wechat bill of %s: hash_value %q is not a SHA-1 digest", day, ans.HashValue)
	}
	if err := p.checkDownloadURL(ans.DownloadURL); err != nil {
		return checkout.Bill{}, fmt.Errorf("wechat bill of %s: %w", day, err)
	}

	res, err = p.download.Get(ctx, ans.DownloadURL)
	if err != nil {
		return checkout.Bill{}, p.fail(op+" download", day, res, err)
	}
	defer res.Response.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Response.Body, MaxBillSize+1))
	if err != nil {
		return checkout.Bill{}, unknown(op+" download", "", "the bill download from WeChat Pay broke off", err)
	}
	if len(data) > MaxBillSize {
		return checkout.Bill{}, fmt.Errorf("wechat bill of %s: the file is larger than %d bytes", day, MaxBillSize)
	}
	if sum := sha1.Sum(data); !bytes.Equal(sum[:], want) {
		p.log.Warn("wechat bill digest mismatch", "day", day, "bytes", len(data))
		return checkout.Bill{}, fmt.Errorf("wechat bill of %s: the downloaded file does not match its SHA-1 digest (damaged or truncated)", day)
	}
	bill, err := ParseBill(day, data)
	if err != nil {
		return checkout.Bill{}, err
	}
	p.log.Info("wechat bill", "day", day, "trades", len(bill.Trades), "refunds", len(bill.Refunds))
	return bill, nil
}

// checkDownloadURL refuses a download_url on a host other than WeChat's
// or the configured api_base: the download is a signed request, and the
// Authorization header is for WeChat alone.
func (p *Provider) checkDownloadURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("download_url %q is not an http(s) URL", raw)
	}
	def, _ := url.Parse(DefaultAPIBase)
	base, _ := url.Parse(p.creds.APIBase)
	switch {
	case u.Host == def.Host && u.Scheme == "https":
		return nil
	case base != nil && u.Host == base.Host:
		return nil
	}
	return fmt.Errorf("download_url points at %s, neither WeChat Pay nor api_base", u.Host)
}

// Column names of the bill the parser uses. The bill is read by name:
// ALL has 27 columns, SUCCESS 20, REFUND 29, in WeChat's order or not.
const (
	colTime          = "交易时间"
	colTransactionID = "微信订单号"
	colOrderNo       = "商户订单号"
	colState         = "交易状态"
	colSettle        = "应结订单金额"
	colOrderAmount   = "订单金额"
	colRefundID      = "微信退款单号"
	colRefundNo      = "商户退款单号"
	colRefundAmount  = "退款金额"
	colRefundAsked   = "申请退款金额"
	colRefundStatus  = "退款状态"
	colRefundDone    = "退款成功时间"
	colSummaryCount  = "总交易单数"
)

// ParseBill reads a WeChat trade bill (UTF-8 CSV, every value after a
// backquote): the detail header, the rows, then a summary header that
// starts with 总交易单数 and one summary row, whose count must match the
// rows. A SUCCESS row is a trade (订单金额, else 应结订单金额); a REFUND
// row whose 退款状态 is SUCCESS is a refund (退款金额, else 申请退款金额,
// at 退款成功时间 when the bill has it, else 交易时间). REFUND rows in any
// other refund state are left out, since a Bill lists only what succeeded.
// A REVOKED row (a reversed payment-code trade) that gives money back is a
// refund numbered with its order's number (Raw "REVOKED"); one that moves
// no money is left out. Any other 交易状态 is an error. A bill that does
// not parse is an error naming the line.
func ParseBill(day string, data []byte) (checkout.Bill, error) {
	bill := checkout.Bill{Method: checkout.MethodWeChat, Day: day}
	bad := func(line int, format string, args ...any) error {
		return fmt.Errorf("wechat bill of %s, line %d: %s", day, line, fmt.Sprintf(format, args...))
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	read := func() ([]string, int, error) {
		rec, err := r.Read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, pe.Line, bad(pe.Line, "%v", pe.Err)
			}
			return nil, 0, err
		}
		line, _ := r.FieldPos(0)
		for i := range rec {
			rec[i] = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rec[i]), "`"))
		}
		return rec, line, nil
	}

	header, _, err := read()
	if err == io.EOF {
		return checkout.Bill{}, fmt.Errorf("wechat bill of %s: the file is empty", day)
	} else if err != nil {
		return checkout.Bill{}, err
	}
	col := map[string]int{}
	for i, name := range header {
		col[name] = i
	}
	for _, name := range []string{colTime, colTransactionID, colOrderNo, colState} {
		if _, ok := col[name]; !ok {
			return checkout.Bill{}, bad(1, "the header has no %s column", name)
		}
	}
	if _, ok := col[colOrderAmount]; !ok {
		if _, ok := col[colSettle]; !ok {
			return checkout.Bill{}, bad(1, "the header has neither %s nor %s", colOrderAmount, colSettle)
		}
	}

	rows := 0
	for {
		rec, line, err := read()
		if err == io.EOF {
			return checkout.Bill{}, fmt.Errorf("wechat bill of %s: the file ends without its summary (truncated?)", day)
		} else if err != nil {
			return checkout.Bill{}, err
		}
		if rec[0] == colSummaryCount {
			if err := checkSummary(rec, line, read, rows, bad); err != nil {
				return checkout.Bill{}, err
			}
			return bill, nil
		}
		if len(rec) != len(header) {
			return checkout.Bill{}, bad(line, "%d fields where the header has %d", len(rec), len(header))
		}
		rows++
		get := func(names ...string) (string, bool) {
			for _, n := range names {
				if i, ok := col[n]; ok && rec[i] != "" {
					return rec[i], true
				}
			}
			return "", false
		}
		at, err := time.ParseInLocation(time.DateTime, rec[col[colTime]], checkout.BillZone)
		if err != nil {
			return checkout.Bill{}, bad(line, "%s %q is not a time", colTime, rec[col[colTime]])
		}
		switch state := rec[col[colState]]; state {
		case "SUCCESS":
			s, _ := get(colOrderAmount, colSettle)
			amount, err := parseBillYuan(s)
			if err != nil {
				return checkout.Bill{}, bad(line, "the order amount: %v", err)
			}
			bill.Trades = append(bill.Trades, checkout.BillTrade{
				OrderNo: rec[col[colOrderNo]], ProviderTradeNo: rec[col[colTransactionID]],
				Amount: amount, At: at, Raw: state,
			})
		case "REFUND", "REVOKED":
			// Money going back. A REFUND row is a refund the merchant
			// asked for, under its number. A REVOKED row is a reverse
			// (payment codes): one that gave a payment back is a refund
			// too, though the merchant never numbered it (a reverse takes
			// no refund number; 商户退款单号 holds WeChat's, if anything),
			// so it goes by its order's number, the one till records such
			// a refund under. A reverse of a trade never paid moves no
			// money and is left out.
			revoked := state == "REVOKED"
			status, ok := get(colRefundStatus)
			if !ok && !revoked {
				return checkout.Bill{}, bad(line, "a REFUND row without %s", colRefundStatus)
			}
			if ok && status != "SUCCESS" {
				continue
			}
			refundNo, ok1 := get(colRefundNo)
			refundID, ok2 := get(colRefundID)
			s, ok3 := get(colRefundAmount, colRefundAsked)
			if revoked {
				if !ok3 {
					continue
				}
				refundNo, ok1, ok2, status = rec[col[colOrderNo]], true, true, state
				if refundID == "0" {
					refundID = ""
				}
			}
			if !ok1 || !ok2 || !ok3 {
				return checkout.Bill{}, bad(line, "a REFUND row needs %s, %s and %s", colRefundNo, colRefundID, colRefundAmount)
			}
			amount, err := parseBillYuan(s)
			if err != nil {
				return checkout.Bill{}, bad(line, "the refund amount: %v", err)
			}
			if revoked && amount == 0 {
				continue
			}
			if done, ok := get(colRefundDone); ok {
				if at, err = time.ParseInLocation(time.DateTime, done, checkout.BillZone); err != nil {
					return checkout.Bill{}, bad(line, "%s %q is not a time", colRefundDone, done)
				}
			}
			bill.Refunds = append(bill.Refunds, checkout.BillRefund{
				OrderNo: rec[col[colOrderNo]], RefundNo: refundNo, ProviderRefundNo: refundID,
				Amount: abs(amount), At: at, Raw: status,
			})
		default:
			return checkout.Bill{}, bad(line, "unknown %s %q", colState, state)
		}
	}
}

// checkSummary reads the summary row after its header and holds its count
// of rows against the rows read; nothing may follow it.
func checkSummary(header []string, headerLine int, read func() ([]string, int, error), rows int, bad func(int, string, ...any) error) error {
	rec, line, err := read()
	if err == io.EOF {
		return bad(headerLine, "the summary header has no summary row")
	} else if err != nil {
		return err
	}
	if len(rec) != len(header) {
		return bad(line, "the summary row has %d fields where its header has %d", len(rec), len(header))
	}
	n, err := strconv.Atoi(rec[0])
	if err != nil {
		return bad(line, "%s %q is not a number", colSummaryCount, rec[0])
	}
	if n != rows {
		return bad(line, "the summary counts %d rows, the bill has %d", n, rows)
	}
	if extra, line, err := read(); err != io.EOF {
		if err != nil {
			return err
		}
		return bad(line, "unexpected %q after the summary", strings.Join(extra, ","))
	}
	return nil
}

// parseBillYuan reads a bill amount ("12.30", "-3.00", "0") as fen,
// exactly: an optional minus, digits, at most two decimals.
func parseBillYuan(s string) (checkout.Money, error) {
	in, neg := strings.CutPrefix(s, "-")
	whole, frac, dot := strings.Cut(in, ".")
	if whole == "" || (dot && (frac == "" || len(frac) > 2)) || len(whole) > 12 {
		return 0, fmt.Errorf("%q is not an amount in yuan", s)
	}
	var fen int64
	for _, r := range whole + frac + strings.Repeat("0", 2-len(frac)) {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%q is not an amount in yuan", s)
		}
		fen = fen*10 + int64(r-'0')
	}
	if neg {
		fen = -fen
	}
	return checkout.Money(fen), nil
}

func abs(m checkout.Money) checkout.Money {
	if m < 0 {
		return -m
	}
	return m
}
