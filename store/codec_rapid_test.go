package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"pgregory.net/rapid"

	"till/checkout"
)

// The codec against the JSON form it replaced: every field of an order, a
// refund and an audit entry decodes from the binary form as it did from
// JSON (times: the same instant, in the zone encoding/json gives back),
// over random values: zero and far times, zones with odd offsets, unicode,
// the schema's words, money up to max int64.

var rapidZones = func() []*time.Location {
	zs := []*time.Location{time.UTC, time.Local, time.FixedZone("", 0), time.FixedZone("X", 3600), // [2:10]: whole minutes at every instant
		time.FixedZone("", -(3*3600 + 30*60)), time.FixedZone("", 5*3600+45*60), time.FixedZone("", 14*3600),
		time.FixedZone("", -12*3600), time.FixedZone("", 13*3600+45*60), time.FixedZone("", 90*60+60)}
	for _, n := range []string{"Asia/Shanghai", "America/St_Johns", "Asia/Kathmandu", "Europe/London", "Pacific/Chatham"} {
		if l, err := time.LoadLocation(n); err == nil {
			zs = append(zs, l)
		}
	}
	return zs
}()

func genTime(t *rapid.T, label string) time.Time {
	switch rapid.IntRange(0, 9).Draw(t, label+"-kind") {
	case 0, 1:
		return time.Time{}
	case 2: // far, still within UnixNano, in a zone of whole minutes (a
		// local mean time's seconds: binary keeps the instant, which JSON's
		// RFC 3339 text does not, see TestAuditEntrySubMinuteOffsetVerifies)
		ns := rapid.Int64().Draw(t, label+"-ns")
		return time.Unix(0, ns).In(rapid.SampledFrom(rapidZones[2:10]).Draw(t, label+"-zone"))
	default: // near now, where till's times are
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
		ns := base + rapid.Int64Range(-5*365*24*int64(time.Hour), 5*365*24*int64(time.Hour)).Draw(t, label+"-ns")
		return time.Unix(0, ns).In(rapid.SampledFrom(rapidZones).Draw(t, label+"-zone"))
	}
}

func genStr(t *rapid.T, label string) string {
	switch rapid.IntRange(0, 4).Draw(t, label+"-kind") {
	case 0:
		return ""
	case 1:
		return rapid.SampledFrom(words).Draw(t, label+"-word")
	case 2:
		return rapid.StringMatching(`[0-9a-f]{0,64}`).Draw(t, label+"-hex")
	default:
		return rapid.String().Draw(t, label)
	}
}

func genMoney(t *rapid.T, label string) checkout.Money {
	return checkout.Money(rapid.OneOf(rapid.Just(int64(0)), rapid.Int64(), rapid.Just(int64(1<<63-1)), rapid.Int64Range(1, 1e7)).Draw(t, label))
}

func jsonRT[T any](t *rapid.T, v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		t.Skip("not JSON-representable either:", err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCodecOrderRoundTripRapid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		o := checkout.Order{
			No: rapid.StringMatching(`[0-9A-Za-z]{6,32}`).Draw(t, "no"), Terminal: genStr(t, "terminal"),
			Method: checkout.Method(genStr(t, "method")), Amount: genMoney(t, "amount"), Note: genStr(t, "note"),
			State: checkout.State(genStr(t, "state")), Operator: genStr(t, "operator"), CodeURL: genStr(t, "code"),
			ProviderTradeNo: genStr(t, "trade"), Refunded: genMoney(t, "refunded"), Reason: genStr(t, "reason"),
			ProviderAmount: genMoney(t, "pamount"), Late: rapid.Bool().Draw(t, "late"), LateSeenAt: genTime(t, "lateseen"),
			ProviderSaid: genStr(t, "said"), ProviderSaidAt: genTime(t, "saidat"), CreatedAt: genTime(t, "created"),
			UpdatedAt: genTime(t, "updated"), ExpiresAt: genTime(t, "expires"), AcceptedAt: genTime(t, "accepted"),
			PaidAt: genTime(t, "paid"), ClosedAt: genTime(t, "closed"), RecheckAt: genTime(t, "recheck"),
		}
		v, err := encodeOrder(o)
		if err != nil {
			t.Skip("not representable:", err)
		}
		got, err := decodeOrder([]byte(o.No), v)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if want := jsonRT(t, o); !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, want)
		}
	})
}

func TestCodecRefundRoundTripRapid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x := checkout.Refund{
			No: rapid.StringMatching(`[0-9A-Za-z]{6,32}`).Draw(t, "no"), OrderNo: genStr(t, "order"),
			Method: checkout.Method(genStr(t, "method")), Amount: genMoney(t, "amount"),
			State: checkout.RefundState(genStr(t, "state")), Reason: genStr(t, "reason"),
			ProviderRefundNo: genStr(t, "prno"), Terminal: genStr(t, "terminal"), Operator: genStr(t, "operator"),
			Sent: rapid.Bool().Draw(t, "sent"), Attempts: rapid.Int().Draw(t, "attempts"),
			ProviderSaid: genStr(t, "said"), ProviderSaidAt: genTime(t, "saidat"), FailReason: genStr(t, "fail"),
			CreatedAt: genTime(t, "created"), UpdatedAt: genTime(t, "updated"), SucceededAt: genTime(t, "ok"),
			FailedAt: genTime(t, "failed"),
		}
		v, err := encodeRefund(x)
		if err != nil {
			t.Skip("not representable:", err)
		}
		got, err := decodeRefund([]byte(x.No), v)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if want := jsonRT(t, x); !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, want)
		}
	})
}

func TestCodecAuditRoundTripRapid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seq := rapid.Uint64Range(1, 1<<40).Draw(t, "seq")
		prev := genStr(t, "storedprev")
		e := checkout.AuditEntry{
			Seq: rapid.OneOf(rapid.Just(seq), rapid.Uint64()).Draw(t, "eseq"), At: genTime(t, "at"),
			Terminal: genStr(t, "terminal"), Operator: genStr(t, "operator"), Via: genStr(t, "via"),
			Kind: checkout.AuditKind(genStr(t, "kind")), Order: genStr(t, "order"), Refund: genStr(t, "refund"),
			Amount: genMoney(t, "amount"), From: genStr(t, "from"), To: genStr(t, "to"), Detail: genStr(t, "detail"),
			Prev: rapid.OneOf(rapid.Just(prev), rapid.Custom(func(t *rapid.T) string { return genStr(t, "prev") })).Draw(t, "eprev"),
			Hash: genStr(t, "hash"),
		}
		v, err := encodeAudit(e, seq, prev)
		if err != nil {
			t.Skip("not representable:", err)
		}
		got, err := decodeAudit(seqKey(seq), v, func() (string, error) { return prev, nil })
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		want := jsonRT(t, e)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, want)
		}
		if got.ChainHash() != want.ChainHash() {
			t.Fatalf("chain hash differs")
		}
	})
}

// A record cut short or with a byte changed is an error, never a panic.
func TestCodecCorruptRecordsRapid(t *testing.T) {
	o := checkout.Order{No: "T1abcdef", Terminal: "T1", Method: checkout.MethodAlipay, Amount: 1234, Note: "茶 ☕",
		State: checkout.StatePaid, CodeURL: "https://qr.alipay.com/x", CreatedAt: t0, UpdatedAt: t0.Add(time.Second),
		ExpiresAt: t0.Add(3 * time.Minute), AcceptedAt: t0, PaidAt: t0.Add(time.Minute), ProviderSaid: "TRADE_SUCCESS"}
	ov, _ := encodeOrder(o)
	r := checkout.Refund{No: "R1abcdef", OrderNo: o.No, Method: o.Method, Amount: 12, State: checkout.RefundSucceeded,
		CreatedAt: t0, UpdatedAt: t0, SucceededAt: t0, Attempts: 2, Sent: true}
	rv, _ := encodeRefund(r)
	e := checkout.AuditEntry{Seq: 7, At: t0, Kind: checkout.AuditSale, Order: o.No, Amount: 3, Prev: "ab", Hash: "cdef"}
	av, _ := encodeAudit(e, 7, "")
	rapid.Check(t, func(t *rapid.T) {
		which := rapid.IntRange(0, 2).Draw(t, "which")
		src := [][]byte{ov, rv, av}[which]
		b := append([]byte(nil), src...)
		switch rapid.IntRange(0, 2).Draw(t, "how") {
		case 0:
			b = b[:rapid.IntRange(0, len(b)).Draw(t, "cut")]
		case 1:
			i := rapid.IntRange(0, len(b)-1).Draw(t, "at")
			b[i] = rapid.Byte().Draw(t, "byte")
		default:
			b = append([]byte{recBinary}, rapid.SliceOf(rapid.Byte()).Draw(t, "junk")...)
		}
		switch which {
		case 0:
			_, _ = decodeOrder([]byte("k"), b)
		case 1:
			_, _ = decodeRefund([]byte("k"), b)
		default:
			_, _ = decodeAudit(seqKey(7), b, func() (string, error) { return "", nil })
		}
	})
}

// An audit entry stamped in a zone whose offset has seconds (Shanghai's
// local mean time, +08:05:43, before 1901) verifies: the hash is over the
// instant (UTC), which the binary form keeps exactly.
func TestAuditEntrySubMinuteOffsetVerifies(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip(err)
	}
	s, _ := mustOpen(t)
	at := time.Date(1900, 6, 1, 12, 0, 30, 0, sh)
	if _, off := at.Zone(); off%60 == 0 {
		t.Skip("no local mean time in this zone database")
	}
	if _, err := s.Append(t.Context(), checkout.AuditEntry{Kind: checkout.AuditCommandRefused, At: at, Detail: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(t.Context(), checkout.AuditEntry{Kind: checkout.AuditCommandRefused, Detail: "y"}); err != nil {
		t.Fatal(err)
	}
	chk, err := s.VerifyAudit(t.Context())
	if err != nil || !chk.OK() {
		t.Fatalf("audit: %+v %v", chk, err)
	}
}
