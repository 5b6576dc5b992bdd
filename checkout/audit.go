package checkout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Actor is who did a thing, at which counter and through what: every
// change the ledger records carries one, in its audit entry.
type Actor struct {
	Terminal string `json:"terminal"`
	Operator string `json:"operator"`
	// Via is the way in: "desk", "cli", "recovery".
	Via string `json:"via,omitempty"`
}

// DefaultOperator is the operator of a desk with no operators configured.
const DefaultOperator = "counter"

type actorKey struct{}

// WithActor returns ctx carrying a: the ledger stamps the changes made
// under it with a. The actor is request-scoped like a deadline: the same
// ledger serves the desk, a command through the control socket and
// recovery at once.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor ctx carries.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// AuditKind names what an audit entry records.
type AuditKind string

const (
	AuditSale           AuditKind = "sale"            // a sale was written (created)
	AuditSaleState      AuditKind = "sale.state"      // an order moved From -> To
	AuditLateSeen       AuditKind = "sale.late_seen"  // a clerk acknowledged a late payment
	AuditRefund         AuditKind = "refund"          // a refund was written (requested or, rarely, succeeded)
	AuditRefundState    AuditKind = "refund.state"    // a refund moved From -> To
	AuditRefundRefused  AuditKind = "refund.refused"  // a refund was refused before anything was written
	AuditPINSet         AuditKind = "pin.set"         // the manager PIN was set or changed
	AuditPINFailed      AuditKind = "pin.failed"      // a wrong manager PIN
	AuditPINLocked      AuditKind = "pin.locked"      // too many wrong PINs: manager actions locked
	AuditOperatorAdded  AuditKind = "operator.added"  // an operator was added
	AuditOperatorOnDuty AuditKind = "operator.duty"   // an operator took the counter
	AuditCommandRefused AuditKind = "command.refused" // a command that needs the PIN was refused
	AuditDayClosed      AuditKind = "day.closed"      // a day's figures were frozen as its Z close
	// AuditNotifyMismatch is a verified provider notification that
	// disagrees with the ledger (amount, currency, method, a state that
	// cannot follow): refused, for a manager to look at.
	AuditNotifyMismatch AuditKind = "notify.mismatch"
)

// AuditEntry is one line of the append-only audit trail. Entries are
// numbered from 1 without gaps, and each carries the hash of the one
// before it (Prev) and its own (Hash, over Prev and the entry's other
// fields), so that an entry edited or deleted in the file breaks the chain
// (VerifyAudit).
type AuditEntry struct {
	Seq      uint64    `json:"seq"`
	At       time.Time `json:"at"`
	Terminal string    `json:"terminal"`
	Operator string    `json:"operator"`
	Via      string    `json:"via,omitempty"`
	Kind     AuditKind `json:"kind"`
	Order    string    `json:"order,omitempty"`
	Refund   string    `json:"refund,omitempty"`
	Amount   Money     `json:"amount_fen,omitempty"`
	From     string    `json:"from,omitempty"`
	To       string    `json:"to,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	Prev     string    `json:"prev"`
	Hash     string    `json:"hash"`
}

// SetActor stamps e with a.
func (e *AuditEntry) SetActor(a Actor) {
	e.Terminal, e.Operator, e.Via = a.Terminal, a.Operator, a.Via
}

// ChainHash is the hash e should carry: SHA-256 over its JSON form with
// Hash empty (Prev included), in hex.
func (e AuditEntry) ChainHash() string {
	e.Hash = ""
	e.At = e.At.UTC()       // the instant, not the zone it was read in
	b, _ := json.Marshal(e) // a struct of strings, numbers and a time: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// AuditCheck is what a walk of the whole trail found.
type AuditCheck struct {
	Entries uint64 // how many were read
	// Broken is the first entry whose hash or link is wrong, or where a
	// number is missing; 0 when the chain holds.
	Broken uint64
	Reason string // what is wrong there, in English
}

// OK reports an unbroken chain.
func (c AuditCheck) OK() bool { return c.Broken == 0 }

// AuditLog is the audit trail as the ledger keeps it: entries are added in
// the same transaction as the change they describe; Append adds one that
// describes no change (a refusal, a failed PIN).
type AuditLog interface {
	Append(ctx context.Context, e AuditEntry) (AuditEntry, error)
	// AuditBetween returns the entries at [from, to), oldest first.
	AuditBetween(ctx context.Context, from, to time.Time) ([]AuditEntry, error)
	// AuditOf returns an order's entries (its refunds' included), oldest
	// first.
	AuditOf(ctx context.Context, orderNo string) ([]AuditEntry, error)
	// VerifyAudit walks the whole trail and checks the chain.
	VerifyAudit(ctx context.Context) (AuditCheck, error)
}

// Operator is a person who works the counter, when operators are
// configured (till operator add).
type Operator struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	AddedAt time.Time `json:"added_at"`
}

// PINState is the manager PIN as the ledger keeps it: the hash (with its
// parameters, never the PIN) and the run of wrong tries, so that a lock
// survives a restart.
type PINState struct {
	Hash        string    `json:"hash,omitempty"` // "" until a PIN is set
	SetAt       time.Time `json:"set_at,omitzero"`
	Failures    int       `json:"failures,omitempty"` // wrong tries since the last right one
	LockedUntil time.Time `json:"locked_until,omitzero"`
}

// PINLedger keeps the PIN state. UpdatePIN runs fn on the stored state in
// one transaction and stores what fn leaves; the entry fn returns (when
// its Kind is set) is added to the audit trail in the same transaction;
// an error from fn writes nothing.
type PINLedger interface {
	PINState(ctx context.Context) (PINState, error)
	UpdatePIN(ctx context.Context, fn func(*PINState) (AuditEntry, error)) (PINState, error)
}
