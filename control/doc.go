// Package control lets one till process do another's ledger work.
//
// bbolt locks the ledger file for one process, even against readers. The
// process that holds it (the desk, or `till serve`) therefore listens on a
// control socket beside the ledger, and every other subcommand (orders,
// refund, pin set, audit, report, …) sends its command line there instead
// of opening the file. The holder runs the very same subcommand code
// against its open ledger and sends back what it printed and its exit
// code, so a command gives the same result with the desk open or closed;
// there is no second API to keep in step with the command line.
//
// # Trust
//
// The socket is owner-only (0600; on Linux it is created that way, with no
// moment when it is wider), and both ends check the other's uid with
// SO_PEERCRED where the system has it: the server refuses a caller of
// another uid, and Call refuses to send (a PIN may be in Env) to a holder
// of another uid, say one that squatted a shared temporary directory.
// Neither end logs Env or the arguments; the server logs the subcommand's
// name at most.
//
// # Wire
//
// One connection carries one request and one response. Each is a frame: a
// 4-byte big-endian length, then that many bytes of JSON. A length prefix
// lets each side refuse an oversized frame before reading it, and lets the
// server read exactly the request and nothing more, so the one read it
// keeps open afterwards only ends when the caller goes away (which
// cancels the command's context). Requests are bounded by MaxRequest and
// responses by MaxResponse. Every frame carries the protocol Version, and
// a holder refuses a request of another version rather than guess at it.
// The "v" and "error" fields keep their names in every version, so two
// tills of different versions can always tell each other so.
//
// # Outcomes
//
// Call separates three endings that a caller must treat differently:
// ErrNoHolder (nobody listens: open the file yourself), ErrRefused (the
// holder did not run the command), and ErrOutcomeUnknown (the command was
// sent and may have run: a refund may have been carried out).
package control
