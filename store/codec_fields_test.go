package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"till/checkout"
)

// fillEvery sets every exported field of the struct v points to to a
// value other than its zero (strings "x<field>", numbers 7, bools true,
// times a fixed instant in the shop's zone plus the field's index), so
// that a field the codec does not know shows up as lost.
func fillEvery(t *testing.T, v any) {
	t.Helper()
	rv := reflect.ValueOf(v).Elem()
	loc := time.FixedZone("CST", 8*3600)
	for i := range rv.NumField() {
		f, sf := rv.Field(i), rv.Type().Field(i)
		if !sf.IsExported() {
			continue
		}
		switch {
		case f.Type() == reflect.TypeOf(time.Time{}):
			f.Set(reflect.ValueOf(time.Date(2026, 12, 1, 10, 0, i, 123000, loc)))
		case f.Kind() == reflect.String:
			f.SetString("x" + sf.Name)
		case f.Kind() == reflect.Int64 || f.Kind() == reflect.Int:
			f.SetInt(7 + int64(i))
		case f.Kind() == reflect.Uint64:
			f.SetUint(7 + uint64(i))
		case f.Kind() == reflect.Bool:
			f.SetBool(true)
		default:
			t.Fatalf("%s.%s is a %s: teach fillEvery (and the codec) about it", rv.Type().Name(), sf.Name, f.Type())
		}
	}
}

func viaJSON[T any](t *testing.T, v T) T {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCodecKeepsEveryField: a field added to checkout.Order, Refund or
// AuditEntry must be taught to the binary codec, or its value would be
// dropped on every write. Each record with every field set survives the
// codec as it survives JSON (the format it replaced).
func TestCodecKeepsEveryField(t *testing.T) {
	var o checkout.Order
	fillEvery(t, &o)
	o.State, o.Method = checkout.StatePaid, checkout.MethodWeChat
	v, err := encodeOrder(o)
	if err != nil || len(v) == 0 || v[0] != recBinary {
		t.Fatalf("the order was not written in the binary form (%v)", err)
	}
	got, err := decodeOrder([]byte(o.No), v)
	if want := viaJSON(t, o); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("order round trip (%v)\n got %+v\nwant %+v", err, got, want)
	}

	var r checkout.Refund
	fillEvery(t, &r)
	r.State, r.Method = checkout.RefundSucceeded, checkout.MethodAlipay
	v, err = encodeRefund(r)
	if err != nil || len(v) == 0 || v[0] != recBinary {
		t.Fatalf("the refund was not written in the binary form (%v)", err)
	}
	gotR, err := decodeRefund([]byte(r.No), v)
	if want := viaJSON(t, r); err != nil || !reflect.DeepEqual(gotR, want) {
		t.Fatalf("refund round trip (%v)\n got %+v\nwant %+v", err, gotR, want)
	}

	var e checkout.AuditEntry
	fillEvery(t, &e)
	e.Kind = checkout.AuditSaleState
	e.Seq = 9
	v, err = encodeAudit(e, e.Seq, e.Prev)
	if err != nil || len(v) == 0 || v[0] != recBinary {
		t.Fatalf("the audit entry was not written in the binary form (%v)", err)
	}
	gotE, err := decodeAudit(seqKey(e.Seq), v, func() (string, error) { return e.Prev, nil })
	if want := viaJSON(t, e); err != nil || !reflect.DeepEqual(gotE, want) {
		t.Fatalf("audit round trip (%v)\n got %+v\nwant %+v", err, gotE, want)
	}
}
