package ledger

import (
	"fmt"
	"time"

	"till/checkout"
)

// The audit trail: entries numbered from 1, each linked to the one before
// by its hash (checkout.AuditEntry.ChainHash). An entry is written in the
// transaction of the change it describes, so there is never a change
// without its line or a line without its change; the ledger keeps the
// last number and hash (its head) beside them, so that removing the
// newest entries is found as well.

// OrderEntry is the entry for an order written (old nil) or moved, or nil
// when the change is bookkeeping only.
func OrderEntry(old *checkout.Order, o checkout.Order) *checkout.AuditEntry {
	switch {
	case old == nil:
		return &checkout.AuditEntry{Kind: checkout.AuditSale, Order: o.No, Amount: o.Amount, To: string(o.State),
			Detail: string(o.Method)}
	case old.State != o.State:
		e := &checkout.AuditEntry{Kind: checkout.AuditSaleState, Order: o.No, Amount: o.Amount,
			From: string(old.State), To: string(o.State), Detail: o.Reason}
		if o.State == checkout.StateDisputed {
			e.Detail = fmt.Sprintf("provider says %s paid", o.ProviderAmount.Yuan())
		}
		if o.Late {
			e.Detail = "paid after it was closed"
		}
		return e
	case old.LateSeenAt.IsZero() && !o.LateSeenAt.IsZero():
		return &checkout.AuditEntry{Kind: checkout.AuditLateSeen, Order: o.No, Amount: o.Amount}
	}
	return nil
}

// RefundEntry is the entry for a refund written (old nil) or settled, or
// nil when the change is bookkeeping only.
func RefundEntry(old *checkout.Refund, r checkout.Refund) *checkout.AuditEntry {
	switch {
	case old == nil:
		return &checkout.AuditEntry{Kind: checkout.AuditRefund, Order: r.OrderNo, Refund: r.No, Amount: r.Amount,
			To: string(r.State), Detail: r.Reason}
	case old.State != r.State:
		return &checkout.AuditEntry{Kind: checkout.AuditRefundState, Order: r.OrderNo, Refund: r.No, Amount: r.Amount,
			From: string(old.State), To: string(r.State), Detail: r.FailReason}
	}
	return nil
}

// Chain is e as it joins the trail after the entry numbered seq whose
// hash is prev (0 and "" on an empty trail): numbered seq+1, linked to
// prev, stamped now and with actor unless it carries a time or an actor
// of its own, and hashed.
func Chain(e checkout.AuditEntry, seq uint64, prev string, now time.Time, actor checkout.Actor) checkout.AuditEntry {
	e.Seq, e.Prev = seq+1, prev
	if e.At.IsZero() {
		e.At = now
	}
	if e.Terminal == "" && e.Operator == "" && e.Via == "" {
		e.SetActor(actor)
	}
	e.Hash = e.ChainHash()
	return e
}

// CloseDay is Ledger.CloseDay's close of day from rec, the day's records
// read in the close's transaction: build freezes them (or refuses, and
// its error is returned); a day rec says is closed already is never
// closed again (checkout.ErrDayClosed, should build forget to refuse it).
// The close is numbered after last (the number of the ledger's last
// close, 0 for none), closed now by actor unless build named who closed
// it, and comes with the entry it adds to the trail.
func CloseDay(rec checkout.DayRecords, build func(checkout.DayRecords) (checkout.DayClose, error), last int, day string,
	now time.Time, actor checkout.Actor) (checkout.DayClose, checkout.AuditEntry, error) {
	z, err := build(rec)
	if err != nil {
		return z, checkout.AuditEntry{}, err
	}
	if rec.CloseOf(z.Counter) != nil {
		return z, checkout.AuditEntry{}, fmt.Errorf("day %s: %w", CloseKey(day, z.Counter), checkout.ErrDayClosed)
	}
	z.Seq, z.Day, z.ClosedAt = last+1, day, now
	if z.Terminal == "" && z.Operator == "" {
		z.Terminal, z.Operator = actor.Terminal, actor.Operator
	}
	e := checkout.AuditEntry{
		Kind: checkout.AuditDayClosed, Amount: z.Figures.NetFen,
		Detail: fmt.Sprintf("Z %d of %s: %d sales %s, %d refunds %s, %d unsettled", z.Seq, CloseKey(day, z.Counter),
			z.Figures.Sales.Count, z.Figures.Sales.Amount.Yuan(), z.Figures.Refunds.Count, z.Figures.Refunds.Amount.Yuan(),
			len(z.Unsettled)+len(z.UnsettledRefunds)),
	}
	return z, e, nil
}

// CloseKey is where a ledger keeps the close of day for counter: the day
// itself for the whole shop's, "day/counter" for one counter's. The keys
// of a day sort together, the shop's first.
func CloseKey(day, counter string) string {
	if counter == "" {
		return day
	}
	return day + "/" + counter
}

// ChainCheck walks a trail in number order, as VerifyAudit does: the
// numbers run from 1 without a gap, each entry links to the hash of the
// one before, each hash is the entry's own, and the last entry is the one
// the head names. It stops at the first entry where any of that fails.
type ChainCheck struct {
	out  checkout.AuditCheck
	prev string // the Hash of the entry before
	want uint64 // the number the next entry must have
}

// NewChainCheck starts a walk at entry 1.
func NewChainCheck() *ChainCheck { return &ChainCheck{want: 1} }

// Prev is the hash of the last entry walked ("" before the first): what
// the next one must link to.
func (c *ChainCheck) Prev() string { return c.prev }

// broken records that the walk fails at the next entry, for why.
func (c *ChainCheck) broken(why string, args ...any) {
	c.out.Broken, c.out.Reason = c.want, fmt.Sprintf(why, args...)
}

// NotAnEntry walks a record that is no entry at all (a key that is not a
// number): the walk fails there, saying why.
func (c *ChainCheck) NotAnEntry(why string) {
	c.out.Entries++
	c.broken("%s", why)
}

// Entry walks the entry stored under number seq: e as decoded, or derr
// when it cannot be. It reports whether the walk goes on.
func (c *ChainCheck) Entry(seq uint64, e checkout.AuditEntry, derr error) bool {
	c.out.Entries++
	want := c.want
	switch {
	case seq != want:
		c.broken("entry %d is missing (the next is %d)", want, seq)
	case derr != nil:
		c.broken("entry %d cannot be read", want)
	case e.Seq != want:
		c.broken("entry %d says it is number %d", want, e.Seq)
	case e.Prev != c.prev:
		c.broken("entry %d does not follow entry %d (an entry before it was changed or removed)", want, want-1)
	case e.ChainHash() != e.Hash:
		c.broken("entry %d was changed after it was written", want)
	}
	if !c.out.OK() {
		return false
	}
	c.prev, c.want = e.Hash, want+1
	return true
}

// End is the walk's result, given the head the ledger keeps (the last
// entry's number and hash).
func (c *ChainCheck) End(headSeq uint64, headHash string) checkout.AuditCheck {
	if !c.out.OK() {
		return c.out
	}
	last := c.want - 1
	switch {
	case headSeq > last:
		c.broken("entries %d to %d are missing (the trail ended at %d)", c.want, headSeq, last)
	case headSeq < last || headHash != c.prev:
		c.want = headSeq + 1
		c.broken("the trail's last entries do not match its head record")
	}
	return c.out
}
