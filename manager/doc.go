// Package manager guards the manager actions of the desk (refunds,
// closing the day, setting the PIN) behind one manager PIN.
//
// The PIN is kept only as an argon2id hash in PHC form, so a copied ledger
// file does not give the PIN away and the parameters travel with the hash.
// Wrong tries are counted in the ledger (checkout.PINLedger), not in
// memory, so that restarting the program does not reset a lock: five wrong
// PINs in a row lock manager actions for five minutes, and every wrong try
// and every lock lands in the audit trail.
//
// Session is the desk's idle timeout of manager mode: pure time
// arithmetic, driven by the times the screen passes in.
package manager
