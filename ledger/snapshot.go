package ledger

import (
	"iter"
	"maps"

	"till/checkout"
)

// A whole ledger as a copy into another kind reads it (till ledger copy:
// a counter's file into the shop's PostgreSQL), and the figures that say
// the copy holds what the source does: counted on the source, read back
// from the destination before it commits, they must be equal.

// Snapshot is a whole ledger as one read transaction sees it. Each
// sequence yields its records in key order and stops after the first
// error, which it yields.
type Snapshot interface {
	Meta() (Meta, error)
	Orders() iter.Seq2[checkout.Order, error]
	Refunds() iter.Seq2[checkout.Refund, error]
	// Audit yields the trail by number from 1, each entry as stored (its
	// Seq, Prev and Hash included), so a copy verifies as the source does.
	Audit() iter.Seq2[checkout.AuditEntry, error]
	DayCloses() iter.Seq2[checkout.DayClose, error]
	Operators() iter.Seq2[checkout.Operator, error]
}

// Meta is what a ledger keeps once, beside its records.
type Meta struct {
	Mode      string    // "sandbox" or "live"; "" before a desk stamped it
	Head      AuditHead // the audit trail's last entry
	LastClose int       // the last Z close's number, 0 for none
	PIN       checkout.PINState
}

// AuditHead is the last entry's number and hash (0 and "" for none).
type AuditHead struct {
	Seq  uint64
	Hash string
}

// Tally is a number of records and the sum of their amounts.
type Tally struct {
	Count  int64
	Amount checkout.Money
}

// Figures are what a copy is checked by. The maps hold only the states
// some record is in.
type Figures struct {
	Mode      string
	Orders    map[checkout.State]Tally
	Refunds   map[checkout.RefundState]Tally
	Audit     int64               // entries
	Head      AuditHead           // as the ledger keeps it
	Chain     checkout.AuditCheck // the trail walked as VerifyAudit walks it
	Closes    int64               // Z closes
	LastClose int
	Operators int64
	PIN       checkout.PINState
}

// NewFigures is the figures of a ledger that holds nothing.
func NewFigures() Figures {
	return Figures{Orders: map[checkout.State]Tally{}, Refunds: map[checkout.RefundState]Tally{}}
}

// Empty reports a ledger that holds nothing a copy would overwrite or mix
// with: no record of any kind and no manager PIN. (Its mode may be
// stamped: a desk that opened it and sold nothing.)
func (f Figures) Empty() bool {
	return len(f.Orders) == 0 && len(f.Refunds) == 0 && f.Audit == 0 && f.Head == (AuditHead{}) &&
		f.Closes == 0 && f.LastClose == 0 && f.Operators == 0 && !f.HoldsPIN()
}

// HoldsPIN reports a manager PIN's state kept: a PIN set, or wrong tries
// counted.
func (f Figures) HoldsPIN() bool { return f.PIN != (checkout.PINState{}) }

// Equal reports whether f and g are the same figures (times compared as
// instants).
func (f Figures) Equal(g Figures) bool {
	pf, pg := f.PIN, g.PIN
	return f.Mode == g.Mode && maps.Equal(f.Orders, g.Orders) && maps.Equal(f.Refunds, g.Refunds) &&
		f.Audit == g.Audit && f.Head == g.Head && f.Chain == g.Chain && f.Closes == g.Closes &&
		f.LastClose == g.LastClose && f.Operators == g.Operators &&
		pf.Hash == pg.Hash && pf.Failures == pg.Failures && pf.SetAt.Equal(pg.SetAt) && pf.LockedUntil.Equal(pg.LockedUntil)
}

// Count reads the whole of s and returns its figures, walking its audit
// trail as VerifyAudit does. It reads every record once, apart from the
// pass a copy makes, so that a record the copy lost or changed on the way
// shows.
func Count(s Snapshot) (Figures, error) {
	f := NewFigures()
	m, err := s.Meta()
	if err != nil {
		return f, err
	}
	f.Mode, f.Head, f.LastClose, f.PIN = m.Mode, m.Head, m.LastClose, m.PIN
	for o, err := range s.Orders() {
		if err != nil {
			return f, err
		}
		f.Orders[o.State] = f.Orders[o.State].add(o.Amount)
	}
	for r, err := range s.Refunds() {
		if err != nil {
			return f, err
		}
		f.Refunds[r.State] = f.Refunds[r.State].add(r.Amount)
	}
	walk := NewChainCheck()
	walking := true
	for e, err := range s.Audit() {
		if err != nil {
			return f, err
		}
		f.Audit++
		if walking {
			walking = walk.Entry(e.Seq, e, nil)
		}
	}
	f.Chain = walk.End(m.Head.Seq, m.Head.Hash)
	for _, err := range s.DayCloses() {
		if err != nil {
			return f, err
		}
		f.Closes++
	}
	for _, err := range s.Operators() {
		if err != nil {
			return f, err
		}
		f.Operators++
	}
	return f, nil
}

func (t Tally) add(amount checkout.Money) Tally {
	return Tally{Count: t.Count + 1, Amount: t.Amount + amount}
}
