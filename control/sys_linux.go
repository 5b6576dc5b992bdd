package control

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// peer is who is at the other end of a connection, as the kernel says.
type peer struct {
	known    bool // false where the system cannot tell
	uid, pid int
}

// peerOf asks the kernel (SO_PEERCRED) who is at the other end of c.
func peerOf(c *net.UnixConn) (peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return peer{}, err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return peer{}, err
	}
	if credErr != nil {
		return peer{}, credErr
	}
	return peer{known: true, uid: int(cred.Uid), pid: int(cred.Pid)}, nil
}

// ownerOnly runs on the listening socket before bind. Linux creates the
// socket file with the socket's own mode less the umask, so setting 0600
// here means the file is never wider, not even until the chmod after bind.
func ownerOnly(_, _ string, c syscall.RawConn) error {
	var err error
	if cerr := c.Control(func(fd uintptr) { err = unix.Fchmod(int(fd), 0o600) }); cerr != nil {
		return cerr
	}
	return err
}
