//go:build !linux

package control

import (
	"net"
	"syscall"
)

// peer is who is at the other end of a connection, as the kernel says.
type peer struct {
	known    bool // false where the system cannot tell
	uid, pid int
}

// peerOf cannot ask the kernel here; the socket's 0600 mode is the only
// check.
func peerOf(*net.UnixConn) (peer, error) { return peer{}, nil }

// ownerOnly does nothing here: these systems ignore a socket's mode at
// bind, so Listen's chmod after bind is what narrows the file (the peer
// check cannot back it up).
func ownerOnly(_, _ string, _ syscall.RawConn) error { return nil }
