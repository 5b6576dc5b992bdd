package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"till/catalog"
	"till/checkout"
)

// refundCmd refunds an order, in full or in part, as the desk's refund
// screen does: the PIN first, the refund written before the provider is
// asked, an unknown outcome settled with the same refund number.
type refundCmd struct {
	Order  string `arg:"" help:"The order number."`
	Amount string `required:"" help:"How much to refund, in yuan (e.g. 12.30)."`
	Reason string `help:"Why (the customer sees it)."`
}

func (c *refundCmd) Run(cli *CLI, out io.Writer, e errWriter) error { return onLedger(cli, out, e, c) }

func (c *refundCmd) needsPIN() bool { return true }

// refundWait is how long the command waits for a refund the provider
// is still processing before it leaves it to the settling passes.
const (
	refundWait  = 20 * time.Second
	refundEvery = 2 * time.Second
)

func (c *refundCmd) runOn(s *services, out io.Writer) error {
	p := s.p
	amount, err := checkout.ParseMoney(c.Amount, 0)
	if err != nil {
		return usageError{errors.New(p.T("cli.refund.bad_amount", catalog.V{"Amount": c.Amount, "Err": err.Error()}))}
	}
	if err := s.requirePIN(); err != nil {
		return err
	}
	r, o, err := s.engine.Refund(s.ctx(), c.Order, amount, c.Reason)
	var re *checkout.RefundError
	if errors.As(err, &re) {
		return errors.New(refundRefusal(p, re))
	}
	if r.No == "" {
		return err // nothing was written (a ledger fault)
	}
	v := catalog.V{"No": r.No, "Order": o.No, "Amount": p.Money(r.Amount), "Provider": o.Method.Label()}
	// A provider that is still processing (WeChat's PROCESSING) is asked
	// again for a while; then the settling passes take over.
	for deadline := time.Now().Add(refundWait); err == nil && r.State == checkout.RefundRequested && time.Now().Before(deadline); {
		time.Sleep(refundEvery)
		r, o, err = s.engine.PollRefund(s.ctx(), r.No)
	}
	switch {
	case r.State == checkout.RefundSucceeded:
		v["Left"] = p.Money(checkout.Refundable(o) - o.Refunded)
		fmt.Fprintln(out, p.T("cli.refund.done", v))
		return nil
	case r.State == checkout.RefundFailed:
		v["Reason"] = r.FailReason
		return errors.New(p.T("cli.refund.failed", v))
	case err != nil:
		v["Err"] = err.Error()
		return errors.New(p.T("cli.refund.unknown", v))
	}
	fmt.Fprintln(out, p.T("cli.refund.processing", v))
	return nil
}

var refusalKeys = map[checkout.RefundCode]string{
	checkout.RefundNoOrder:         "cli.refund.refused.no_order",
	checkout.RefundNotPaid:         "cli.refund.refused.not_paid",
	checkout.RefundNothingLeft:     "cli.refund.refused.nothing_left",
	checkout.RefundAboveLeft:       "cli.refund.refused.above_left",
	checkout.RefundBadAmount:       "cli.refund.refused.bad_amount",
	checkout.RefundDisputedPartial: "cli.refund.refused.disputed_partial",
	checkout.RefundBadReason:       "cli.refund.refused.bad_reason",
}

// refundRefusal words a refund refused before anything was sent.
func refundRefusal(p *catalog.Printer, re *checkout.RefundError) string {
	key, ok := refusalKeys[re.Code]
	if !ok {
		return re.Error()
	}
	return p.T(key, catalog.V{"Order": re.OrderNo, "Amount": p.Money(re.Amount), "Left": p.Money(re.Left), "State": stateName(p, re.State), "Max": checkout.MaxReasonRunes})
}
