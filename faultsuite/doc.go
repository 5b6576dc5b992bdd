// Package faultsuite holds no code of its own: it is till's fault-injection
// suite, in its _test.go files, kept apart from the packages it tests
// because it needs all of them at once (checkout's engine on the bbolt
// store, both real adapters, both emulators on loopback).
//
// What it proves, after a randomized run of sales, payments, cancels,
// timeouts, late payments, refunds and settling passes while the
// emulators' fault switches flip (latency past the adapters' timeouts,
// 5xx, resets, malformed bodies, bad signatures; the request carried out
// or not), and again after each SIGKILL of a process selling on the same
// ledger:
//
//	(a) every trade paid at a provider is paid in the ledger, for its amount;
//	(b) no refund is made twice: one provider refund per ledger refund number,
//	    none the ledger does not know, and the amounts agree;
//	(c) refunds never exceed the payment, at the provider or in the ledger;
//	(d) states only move forward (checkout.State.CanMoveTo), as observed
//	    through the run and as the audit trail tells it;
//	(e) once the faults clear, every order and refund ends settled.
//
// # Running it
//
// Short mode is the default (CI, under -race: a few hundred operations over
// both providers, ten kills):
//
//	go test -race ./faultsuite
//
// Long mode runs 2000 operations over each of three seeds and 120 kills:
//
//	TILL_FAULTS_LONG=1 go test -race -timeout 60m ./faultsuite
//	go test -race -timeout 60m ./faultsuite -faults.long
//
// Every run prints its seed; replay one with
//
//	go test -race ./faultsuite -run 'TestFaultSuite$' -faults.seed=N   (or TILL_FAULTS_SEED=N)
//
// and -faults.ops=N (TILL_FAULTS_OPS) sets the number of operations.
// Network timing still varies between runs, so a replay takes the same
// decisions but a latency fault may strike a call differently.
package faultsuite
