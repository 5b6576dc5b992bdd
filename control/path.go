package control

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// maxPath is the longest socket path we use. sun_path holds 108 bytes with
// the NUL on Linux and 104 on macOS and the BSDs; 100 leaves room for both.
const maxPath = 100

// SocketPath is the control socket of the ledger at ledgerPath: the
// ledger's absolute path plus ".sock", beside it, where that fits a socket
// address. Otherwise it is a name made from a hash of the ledger's path in
// a private directory: $XDG_RUNTIME_DIR, or os.TempDir()/till-<uid>,
// created 0700 and refused when it is not a directory of ours with mode
// 0700 (in a shared temporary directory another user could have made it).
// Holder and clients compute the same path as long as they agree on
// $XDG_RUNTIME_DIR and the temporary directory.
func SocketPath(ledgerPath string) (string, error) {
	abs, err := filepath.Abs(ledgerPath)
	if err != nil {
		return "", fmt.Errorf("control: %w", err)
	}
	if p := abs + ".sock"; len(p) <= maxPath {
		return p, nil
	}
	dir, err := privateDir()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(abs))
	p := filepath.Join(dir, "till-"+hex.EncodeToString(sum[:8])+".sock")
	if len(p) > maxPath {
		return "", fmt.Errorf("control: no socket path of at most %d bytes for %s: %s is too long", maxPath, abs, p)
	}
	return p, nil
}

// privateDir is the directory for sockets that do not fit beside their
// ledger.
func privateDir() (string, error) {
	if d := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		if err := checkPrivate(d); err != nil {
			return "", err
		}
		return d, nil
	}
	d := filepath.Join(os.TempDir(), "till-"+strconv.Itoa(os.Getuid()))
	if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("control: %w", err)
	}
	if err := checkPrivate(d); err != nil {
		return "", err
	}
	return d, nil
}

// checkPrivate fails unless d is a directory (not a link to one) that we
// own with mode 0700, so nobody else can plant or remove sockets in it.
func checkPrivate(d string) error {
	fi, err := os.Lstat(d)
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("control: %s is not a directory; not using it for the control socket", d)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("control: %s belongs to uid %d, not to us; not using it for the control socket", d, st.Uid)
	}
	if fi.Mode().Perm() != 0o700 {
		return fmt.Errorf("control: %s has mode %04o, not 0700; not using it for the control socket", d, fi.Mode().Perm())
	}
	return nil
}
