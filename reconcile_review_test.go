package main

import (
	"testing"

	"till/checkout"
	"till/providers/alipay/alipayemu"
)

// TestReconcileABrokenBillIsAFailure: exit 3 says "a bill is not ready
// yet, try later"; a bill that was had and is damaged (cut short, a zip
// that does not open, a digest that does not match) or a download that
// fails is no such thing. A script that waits on 3 would wait for ever on
// a bill that never reads, and never tell the owner: it is a failure
// (exit 1), never 0 and never 3.
func TestReconcileABrokenBillIsAFailure(t *testing.T) {
	sandboxHome(t)
	day := billDay(t)
	d, err := openDesk(&CLI{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.serve(); err != nil {
		t.Fatal(err)
	}
	paidSale(t, d, checkout.MethodAlipay, 800)
	d.sandbox.Alipay.Emulator.SetFaults(alipayemu.Faults{Method: alipayemu.BillDownloadPath, MalformedBody: true})
	code, r := reconcileJSON(t, "--day", day)
	if r.Agrees || len(r.Providers) != 2 || r.Providers[1].Err == "" {
		t.Fatalf("a damaged Alipay bill: %+v", r)
	}
	if code != exitFail {
		t.Fatalf("a damaged Alipay bill: exit %d, want %d (a failure, not %d 'not ready yet')", code, exitFail, exitIncomplete)
	}
}
