package ledger

import (
	"errors"
	"strings"
	"time"

	"till/checkout"
)

// The operators, as every ledger keeps them: by ID, each added once, with
// its audit entry in the transaction that adds it.

// CheckNewOperator is op as AddOperator takes it: its ID and name trimmed,
// and refused when either is empty.
func CheckNewOperator(op checkout.Operator) (checkout.Operator, error) {
	op.ID, op.Name = strings.TrimSpace(op.ID), strings.TrimSpace(op.Name)
	if op.ID == "" || op.Name == "" {
		return op, errors.New("an operator needs an id and a name")
	}
	return op, nil
}

// OperatorAdded is op (checked by CheckNewOperator) as AddOperator stores
// it, a zero AddedAt stamped now, and its audit entry.
func OperatorAdded(op checkout.Operator, now time.Time) (checkout.Operator, checkout.AuditEntry) {
	if op.AddedAt.IsZero() {
		op.AddedAt = now
	}
	return op, checkout.AuditEntry{Kind: checkout.AuditOperatorAdded, Detail: op.ID + " " + op.Name}
}
