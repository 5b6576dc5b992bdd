package store

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"till/checkout"
)

// Records on disk (issue 13). Orders, refunds and audit entries are
// written in a compact binary form since schema version 5; records
// written before (JSON, which always starts with '{') still decode, so a
// file is readable mid-way and a record the binary form cannot hold (a
// time outside 1678–2262, which UnixNano cannot carry) is written as JSON.
// Day closes, operators and the PIN stay JSON: they are a handful.
//
// The binary form is a version byte (recBinary) and then the fields that
// are not zero, each a one-byte tag, in ascending tag order, and its
// value:
//
//	string  uvarint(i<<1 | 1), i an index in words (a word of the
//	        schema: states, methods, audit kinds, provider words), or
//	        uvarint(len<<1) and the bytes
//	hex     for hashes: uvarint(n<<1 | 1) and the n bytes a lowercase,
//	        even-length hex string stands for, or uvarint(len<<1) and
//	        the bytes of any other string
//	int     varint (zigzag), money in fen as everywhere
//	bool    the tag alone means true
//	time    varint of UnixNano minus the record's base (0 for the first
//	        time, tag 1, and that time's UnixNano for the others), then
//	        the zone offset: uvarint(zigzag(quarter hours)) below 128, or
//	        128 + uvarint(zigzag(minutes))
//
// The record's own number is its key and is not written again (an
// audit entry's Seq is its key, and its Prev the Hash of the entry
// before it, and either is written only when it is not that). A time
// decodes as encoding/json would decode the RFC 3339 text the JSON form
// held: UTC at offset 0, the Local zone when it has that offset at that
// instant, else a fixed zone with the offset. The decoder refuses an
// unknown version byte or tag, tags out of order, a word index out of
// range, a truncated value and trailing bytes.

// recBinary is the first byte of a binary record: version 1.
const recBinary = 0x01

// words are the strings written as an index. Append only: a word's index
// is in files.
var words = []string{
	// order and refund states
	"created", "awaiting", "paid", "partially_refunded", "refunded", "closed", "failed", "disputed",
	"requested", "succeeded",
	// methods
	"wechat", "alipay",
	// audit kinds
	"sale", "sale.state", "sale.late_seen", "refund", "refund.state", "refund.refused", "pin.set", "pin.failed",
	"pin.locked", "operator.added", "operator.duty", "command.refused", "day.closed", "notify.mismatch",
	// ways in, the default operator and terminal
	"desk", "cli", "recovery", "notify", "reconcile", "counter", "T1",
	// what providers say
	"NOTPAY", "USERPAYING", "SUCCESS", "CLOSED", "REVOKED", "PAYERROR", "WAIT_BUYER_PAY", "TRADE_SUCCESS",
	"TRADE_CLOSED", "TRADE_FINISHED", "PROCESSING", "ABNORMAL",
	// reasons and details
	"timeout", "paid after it was closed",
}

var wordIndex = func() map[string]int {
	m := make(map[string]int, len(words))
	for i, w := range words {
		if _, dup := m[w]; dup {
			panic("store: word listed twice: " + w)
		}
		m[w] = i
	}
	return m
}()

// errNoBinary says a record holds something the binary form cannot.
var errNoBinary = errors.New("not representable in the binary form")

type recWriter struct {
	b   []byte
	err error
}

func newRecWriter() *recWriter { return &recWriter{b: append(make([]byte, 0, 160), recBinary)} }

func (w *recWriter) word(s string) {
	if i, ok := wordIndex[s]; ok {
		w.b = binary.AppendUvarint(w.b, uint64(i)<<1|1)
		return
	}
	w.b = binary.AppendUvarint(w.b, uint64(len(s))<<1)
	w.b = append(w.b, s...)
}

func (w *recWriter) str(tag byte, s string) {
	if s != "" {
		w.b = append(w.b, tag)
		w.word(s)
	}
}

func isLowerHex(s string) bool {
	if len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// hexStr writes s under tag, even when it is "" (the caller decides).
func (w *recWriter) hexStr(tag byte, s string) {
	w.b = append(w.b, tag)
	if s != "" && isLowerHex(s) {
		w.b = binary.AppendUvarint(w.b, uint64(len(s)/2)<<1|1)
		w.b, _ = hex.AppendDecode(w.b, []byte(s)) // isLowerHex: cannot fail
		return
	}
	w.b = binary.AppendUvarint(w.b, uint64(len(s))<<1)
	w.b = append(w.b, s...)
}

func (w *recWriter) int(tag byte, v int64) {
	if v != 0 {
		w.b = append(w.b, tag)
		w.b = binary.AppendVarint(w.b, v)
	}
}

func (w *recWriter) flag(tag byte, v bool) {
	if v {
		w.b = append(w.b, tag)
	}
}

// time writes t relative to base and returns t's UnixNano.
func (w *recWriter) time(tag byte, t time.Time, base int64) int64 {
	if t.IsZero() {
		return base
	}
	ns := t.UnixNano()
	if !time.Unix(0, ns).Equal(t) {
		w.err = errNoBinary
		return base
	}
	w.b = append(w.b, tag)
	w.b = binary.AppendVarint(w.b, ns-base)
	_, off := t.Zone()
	zz := func(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }
	if q := zz(int64(off / 900)); off%900 == 0 && q < 128 {
		w.b = binary.AppendUvarint(w.b, q)
	} else {
		// RFC 3339 (the JSON form) keeps whole minutes.
		w.b = binary.AppendUvarint(w.b, 128+zz(int64(off/60)))
	}
	return ns
}

type recReader struct {
	b    []byte
	last int // the last tag read
	err  error
}

var errTruncated = errors.New("truncated")

// next returns the next field's tag, or false at the end or on an error.
func (r *recReader) next() (byte, bool) {
	if r.err != nil || len(r.b) == 0 {
		return 0, false
	}
	t := r.b[0]
	if int(t) <= r.last {
		r.err = fmt.Errorf("field %d after field %d", t, r.last)
		return 0, false
	}
	r.last, r.b = int(t), r.b[1:]
	return t, true
}

func (r *recReader) unknown(t byte) { r.err = fmt.Errorf("unknown field %d", t) }

func (r *recReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errTruncated
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errTruncated
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recReader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errTruncated
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *recReader) word() string {
	v := r.uvarint()
	if v&1 == 1 {
		if v>>1 >= uint64(len(words)) {
			if r.err == nil {
				r.err = fmt.Errorf("word %d is not in the schema", v>>1)
			}
			return ""
		}
		return words[v>>1]
	}
	return string(r.bytes(v >> 1)) // string copies: nothing points into bbolt
}

func (r *recReader) hexStr() string {
	v := r.uvarint()
	b := r.bytes(v >> 1)
	if v&1 == 1 {
		if len(b) == 0 && r.err == nil {
			r.err = errors.New("an empty hex string")
		}
		return hex.EncodeToString(b)
	}
	return string(b)
}

func (r *recReader) money() checkout.Money { return checkout.Money(r.varint()) }

// time reads a time written against base and returns it and its
// UnixNano.
func (r *recReader) time(base int64) (time.Time, int64) {
	ns := base + r.varint()
	z := r.uvarint()
	if r.err != nil {
		return time.Time{}, base
	}
	unzz := func(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }
	var off int
	if z < 128 {
		off = int(unzz(z)) * 900
	} else {
		off = int(unzz(z-128)) * 60
	}
	return timeAt(ns, off), ns
}

// timeAt is the instant ns in a zone of offset off seconds as
// encoding/json (time.Parse of RFC 3339) gives it back.
func timeAt(ns int64, off int) time.Time {
	if off == 0 {
		return time.Unix(0, ns).UTC()
	}
	t := time.Unix(0, ns)
	if _, o := t.Zone(); o == off {
		return t
	}
	return t.In(time.FixedZone("", off))
}

func (r *recReader) done(what string, key []byte) error {
	if r.err == nil && len(r.b) > 0 {
		r.err = errors.New("trailing bytes")
	}
	if r.err != nil {
		return fmt.Errorf("%s %s: decoding: %w", what, key, r.err)
	}
	return nil
}

// Order fields. CreatedAt comes first: it is the base of the others.
const (
	oCreatedAt = 1 + iota
	oNo
	oTerminal
	oMethod
	oAmount
	oNote
	oState
	oOperator
	oCodeURL
	oProviderTradeNo
	oRefunded
	oReason
	oProviderAmount
	oLate
	oLateSeenAt
	oProviderSaid
	oProviderSaidAt
	oUpdatedAt
	oExpiresAt
	oAcceptedAt
	oPaidAt
	oClosedAt
	oRecheckAt
	oWay
	oCodeTail
)

// encodeOrder is o as stored under key o.No.
func encodeOrder(o checkout.Order) ([]byte, error) {
	w := newRecWriter()
	base := w.time(oCreatedAt, o.CreatedAt, 0)
	w.str(oTerminal, o.Terminal)
	w.str(oMethod, string(o.Method))
	w.int(oAmount, int64(o.Amount))
	w.str(oNote, o.Note)
	w.str(oState, string(o.State))
	w.str(oOperator, o.Operator)
	w.str(oCodeURL, o.CodeURL)
	w.str(oProviderTradeNo, o.ProviderTradeNo)
	w.int(oRefunded, int64(o.Refunded))
	w.str(oReason, o.Reason)
	w.int(oProviderAmount, int64(o.ProviderAmount))
	w.flag(oLate, o.Late)
	w.time(oLateSeenAt, o.LateSeenAt, base)
	w.str(oProviderSaid, o.ProviderSaid)
	w.time(oProviderSaidAt, o.ProviderSaidAt, base)
	w.time(oUpdatedAt, o.UpdatedAt, base)
	w.time(oExpiresAt, o.ExpiresAt, base)
	w.time(oAcceptedAt, o.AcceptedAt, base)
	w.time(oPaidAt, o.PaidAt, base)
	w.time(oClosedAt, o.ClosedAt, base)
	w.time(oRecheckAt, o.RecheckAt, base)
	w.str(oWay, string(o.Way))
	w.str(oCodeTail, o.CodeTail)
	if w.err != nil {
		return json.Marshal(o)
	}
	return w.b, nil
}

// decodeOrder decodes the order stored under key, in either form.
func decodeOrder(key, v []byte) (checkout.Order, error) {
	var o checkout.Order
	if len(v) > 0 && v[0] == '{' {
		if err := json.Unmarshal(v, &o); err != nil {
			return checkout.Order{}, fmt.Errorf("order %s: decoding: %w", key, err)
		}
		return o, nil
	}
	if len(v) == 0 || v[0] != recBinary {
		return o, fmt.Errorf("order %s: decoding: unknown record form", key)
	}
	r := &recReader{b: v[1:]}
	o.No = string(key)
	var base int64
	for t, ok := r.next(); ok; t, ok = r.next() {
		switch t {
		case oCreatedAt:
			o.CreatedAt, base = r.time(0)
		case oNo:
			o.No = r.word()
		case oTerminal:
			o.Terminal = r.word()
		case oMethod:
			o.Method = checkout.Method(r.word())
		case oAmount:
			o.Amount = r.money()
		case oNote:
			o.Note = r.word()
		case oState:
			o.State = checkout.State(r.word())
		case oOperator:
			o.Operator = r.word()
		case oCodeURL:
			o.CodeURL = r.word()
		case oProviderTradeNo:
			o.ProviderTradeNo = r.word()
		case oRefunded:
			o.Refunded = r.money()
		case oReason:
			o.Reason = r.word()
		case oProviderAmount:
			o.ProviderAmount = r.money()
		case oLate:
			o.Late = true
		case oLateSeenAt:
			o.LateSeenAt, _ = r.time(base)
		case oProviderSaid:
			o.ProviderSaid = r.word()
		case oProviderSaidAt:
			o.ProviderSaidAt, _ = r.time(base)
		case oUpdatedAt:
			o.UpdatedAt, _ = r.time(base)
		case oExpiresAt:
			o.ExpiresAt, _ = r.time(base)
		case oAcceptedAt:
			o.AcceptedAt, _ = r.time(base)
		case oPaidAt:
			o.PaidAt, _ = r.time(base)
		case oClosedAt:
			o.ClosedAt, _ = r.time(base)
		case oRecheckAt:
			o.RecheckAt, _ = r.time(base)
		case oWay:
			o.Way = checkout.Way(r.word())
		case oCodeTail:
			o.CodeTail = r.word()
		default:
			r.unknown(t)
		}
	}
	if err := r.done("order", key); err != nil {
		return checkout.Order{}, err
	}
	return o, nil
}

// Refund fields.
const (
	rCreatedAt = 1 + iota
	rNo
	rOrderNo
	rMethod
	rAmount
	rState
	rReason
	rProviderRefundNo
	rTerminal
	rOperator
	rSent
	rAttempts
	rProviderSaid
	rProviderSaidAt
	rFailReason
	rUpdatedAt
	rSucceededAt
	rFailedAt
)

func encodeRefund(x checkout.Refund) ([]byte, error) {
	w := newRecWriter()
	base := w.time(rCreatedAt, x.CreatedAt, 0)
	w.str(rOrderNo, x.OrderNo)
	w.str(rMethod, string(x.Method))
	w.int(rAmount, int64(x.Amount))
	w.str(rState, string(x.State))
	w.str(rReason, x.Reason)
	w.str(rProviderRefundNo, x.ProviderRefundNo)
	w.str(rTerminal, x.Terminal)
	w.str(rOperator, x.Operator)
	w.flag(rSent, x.Sent)
	w.int(rAttempts, int64(x.Attempts))
	w.str(rProviderSaid, x.ProviderSaid)
	w.time(rProviderSaidAt, x.ProviderSaidAt, base)
	w.str(rFailReason, x.FailReason)
	w.time(rUpdatedAt, x.UpdatedAt, base)
	w.time(rSucceededAt, x.SucceededAt, base)
	w.time(rFailedAt, x.FailedAt, base)
	if w.err != nil {
		return json.Marshal(x)
	}
	return w.b, nil
}

func decodeRefund(key, v []byte) (checkout.Refund, error) {
	var x checkout.Refund
	if len(v) > 0 && v[0] == '{' {
		if err := json.Unmarshal(v, &x); err != nil {
			return checkout.Refund{}, fmt.Errorf("refund %s: decoding: %w", key, err)
		}
		return x, nil
	}
	if len(v) == 0 || v[0] != recBinary {
		return x, fmt.Errorf("refund %s: decoding: unknown record form", key)
	}
	r := &recReader{b: v[1:]}
	x.No = string(key)
	var base int64
	for t, ok := r.next(); ok; t, ok = r.next() {
		switch t {
		case rCreatedAt:
			x.CreatedAt, base = r.time(0)
		case rNo:
			x.No = r.word()
		case rOrderNo:
			x.OrderNo = r.word()
		case rMethod:
			x.Method = checkout.Method(r.word())
		case rAmount:
			x.Amount = r.money()
		case rState:
			x.State = checkout.RefundState(r.word())
		case rReason:
			x.Reason = r.word()
		case rProviderRefundNo:
			x.ProviderRefundNo = r.word()
		case rTerminal:
			x.Terminal = r.word()
		case rOperator:
			x.Operator = r.word()
		case rSent:
			x.Sent = true
		case rAttempts:
			x.Attempts = int(r.varint())
		case rProviderSaid:
			x.ProviderSaid = r.word()
		case rProviderSaidAt:
			x.ProviderSaidAt, _ = r.time(base)
		case rFailReason:
			x.FailReason = r.word()
		case rUpdatedAt:
			x.UpdatedAt, _ = r.time(base)
		case rSucceededAt:
			x.SucceededAt, _ = r.time(base)
		case rFailedAt:
			x.FailedAt, _ = r.time(base)
		default:
			r.unknown(t)
		}
	}
	if err := r.done("refund", key); err != nil {
		return checkout.Refund{}, err
	}
	return x, nil
}

// Audit entry fields.
const (
	aAt = 1 + iota
	aSeq
	aTerminal
	aOperator
	aVia
	aKind
	aOrder
	aRefund
	aAmount
	aFrom
	aTo
	aDetail
	aPrev
	aHash
)

// encodeAudit is e as stored under seqKey(seq); prev is the Hash of the
// entry stored under seq-1 ("" for the first), which e.Prev need not
// repeat. The hash chain is over checkout.AuditEntry.ChainHash, the
// fields' canonical JSON, so it is the same whichever form holds them.
func encodeAudit(e checkout.AuditEntry, seq uint64, prev string) ([]byte, error) {
	w := newRecWriter()
	w.time(aAt, e.At, 0)
	if e.Seq != seq {
		w.b = append(w.b, aSeq)
		w.b = binary.AppendUvarint(w.b, e.Seq)
	}
	w.str(aTerminal, e.Terminal)
	w.str(aOperator, e.Operator)
	w.str(aVia, e.Via)
	w.str(aKind, string(e.Kind))
	w.str(aOrder, e.Order)
	w.str(aRefund, e.Refund)
	w.int(aAmount, int64(e.Amount))
	w.str(aFrom, e.From)
	w.str(aTo, e.To)
	w.str(aDetail, e.Detail)
	if e.Prev != prev {
		w.hexStr(aPrev, e.Prev)
	}
	if e.Hash != "" {
		w.hexStr(aHash, e.Hash)
	}
	if w.err != nil {
		return json.Marshal(e)
	}
	return w.b, nil
}

// decodeAudit decodes the entry stored under key (8 bytes, its number).
// prev gives the Hash of the entry before, for a binary entry that does
// not carry its Prev; it is not called otherwise.
func decodeAudit(key, v []byte, prev func() (string, error)) (checkout.AuditEntry, error) {
	var e checkout.AuditEntry
	seq := binary.BigEndian.Uint64(key)
	if len(v) > 0 && v[0] == '{' {
		if err := json.Unmarshal(v, &e); err != nil {
			return checkout.AuditEntry{}, fmt.Errorf("audit entry %d: decoding: %w", seq, err)
		}
		return e, nil
	}
	if len(v) == 0 || v[0] != recBinary {
		return e, fmt.Errorf("audit entry %d: decoding: unknown record form", seq)
	}
	r := &recReader{b: v[1:]}
	e.Seq = seq
	hasPrev := false
	for t, ok := r.next(); ok; t, ok = r.next() {
		switch t {
		case aAt:
			e.At, _ = r.time(0)
		case aSeq:
			e.Seq = r.uvarint()
		case aTerminal:
			e.Terminal = r.word()
		case aOperator:
			e.Operator = r.word()
		case aVia:
			e.Via = r.word()
		case aKind:
			e.Kind = checkout.AuditKind(r.word())
		case aOrder:
			e.Order = r.word()
		case aRefund:
			e.Refund = r.word()
		case aAmount:
			e.Amount = r.money()
		case aFrom:
			e.From = r.word()
		case aTo:
			e.To = r.word()
		case aDetail:
			e.Detail = r.word()
		case aPrev:
			e.Prev, hasPrev = r.hexStr(), true
		case aHash:
			e.Hash = r.hexStr()
		default:
			r.unknown(t)
		}
	}
	if err := r.done("audit entry", fmt.Appendf(nil, "%d", seq)); err != nil {
		return checkout.AuditEntry{}, err
	}
	if !hasPrev {
		p, err := prev()
		if err != nil {
			return checkout.AuditEntry{}, fmt.Errorf("audit entry %d: the entry before: %w", seq, err)
		}
		e.Prev = p
	}
	return e, nil
}

// auditHash is the Hash of a stored entry, in either form, without
// what its Prev would need.
func auditHash(seq uint64, v []byte) (string, error) {
	e, err := decodeAudit(seqKey(seq), v, func() (string, error) { return "", nil })
	return e.Hash, err
}
