package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"

	bolt "go.etcd.io/bbolt"

	"till/proc"
)

// The owner file
//
// bbolt's flock is the lock; it cannot say who holds it. So the process
// that got the lock writes <file>.owner beside it (0600, one line of
// JSON):
//
//	{"pid":1234,"command":"till","since":"2026-03-10T14:03:07+08:00"}
//
// and removes it on Close. A process refused the lock (or waiting for it)
// reads the file to name the holder. The file only informs, it never
// locks: one that is missing, unreadable, or names a process that is gone
// (a kill -9, a power cut) is ignored, and the next holder overwrites it.

// Owner is what an owner file says about the process holding a file.
type Owner struct {
	PID     int       // process id
	Command string    // the program and its subcommand, "till" or "till sandbox"; never flags or their values
	Since   time.Time // when it took the lock, to the second, in its zone
}

// String is "till, pid 1234, since 14:03" (with the date when that was
// not today).
func (o Owner) String() string {
	return fmt.Sprintf("%s, pid %d, since %s", o.Command, o.PID, sinceText(o.Since, time.Now()))
}

// sinceText is the time of day of t, with the date in front when t is not
// on now's day (both in t's zone).
func sinceText(t, now time.Time) string {
	n := now.In(t.Location())
	if y, m, d := t.Date(); n.Year() == y && n.Month() == m && n.Day() == d {
		return t.Format("15:04")
	}
	return t.Format("2006-01-02 15:04")
}

// OwnerPath is the owner file of the bbolt file at path.
func OwnerPath(path string) string { return path + ".owner" }

// ownerJSON is the file's form: since is RFC 3339 with a numeric offset,
// which says the zone plainly even for UTC.
type ownerJSON struct {
	PID     int    `json:"pid"`
	Command string `json:"command"`
	Since   string `json:"since"`
}

const sinceLayout = "2006-01-02T15:04:05-07:00" // time.RFC3339, never "Z"

// maxOwnerFile bounds what readOwner reads: the real file is ~80 bytes.
const maxOwnerFile = 4 << 10

// readOwner is the live holder named by path's owner file, or nil when
// there is no file, it does not parse, or its process is gone.
func readOwner(path string) *Owner {
	f, err := os.Open(OwnerPath(path))
	if err != nil {
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxOwnerFile))
	if err != nil {
		return nil
	}
	var j ownerJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil
	}
	since, err := time.Parse(time.RFC3339, j.Since)
	cmd := printable(j.Command)
	if err != nil || j.PID <= 0 || cmd == "" || !proc.Running(j.PID, since) {
		return nil
	}
	return &Owner{PID: j.PID, Command: cmd, Since: since}
}

// printable keeps what is safe to print on a terminal: the owner file is
// read back into messages, so no control characters, and not too long.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s)
	if r := []rune(s); len(r) > 64 {
		s = string(r[:64])
	}
	return strings.TrimSpace(s)
}

// ownerCommand names this process without anything secret: the program's
// base name and the leading subcommand words of its arguments, stopping at
// the first flag ("till", "till sandbox").
func ownerCommand() string {
	if len(os.Args) == 0 {
		return "till"
	}
	words := []string{printable(filepath.Base(os.Args[0]))}
	for _, a := range os.Args[1:] {
		if len(words) == 3 || !isSubcommand(a) {
			break
		}
		words = append(words, a)
	}
	return strings.Join(words, " ")
}

func isSubcommand(s string) bool {
	if s == "" || len(s) > 32 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// writeOwner writes o to path's owner file (through a temporary file and
// a rename, so a reader never sees half of it, and a stale file is
// replaced whole) and returns the bytes written.
func writeOwner(path string, o Owner) ([]byte, error) {
	b, err := json.Marshal(ownerJSON{PID: o.PID, Command: o.Command, Since: o.Since.Format(sinceLayout)})
	if err != nil {
		return nil, err
	}
	b = append(b, '\n')
	dst := OwnerPath(path)
	// A new file of a fresh name (O_EXCL, 0600): a symlink planted at a
	// fixed name cannot redirect the write.
	f, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".*.tmp")
	if err != nil {
		return nil, err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return nil, err
	}
	return b, nil
}

// File is a bbolt file opened with OpenFile: the DB, and the owner file
// written beside it. Close removes the owner file, then closes the DB.
type File struct {
	*bolt.DB

	path  string
	wrote []byte // the owner file as written; nil if writing it failed
	once  sync.Once
}

// claim writes the owner file for this process. It is best effort: the
// file only informs, and a desk that holds the lock works without it.
// Temporary files a crash left between create and rename (and the fixed
// name an older till used) are the lock holder's to remove.
func (f *File) claim(command string) {
	if command == "" {
		command = ownerCommand()
	}
	left, _ := filepath.Glob(OwnerPath(f.path) + ".*.tmp")
	for _, name := range append(left, OwnerPath(f.path)+".tmp") {
		_ = os.Remove(name)
	}
	f.wrote, _ = writeOwner(f.path, Owner{
		PID:     os.Getpid(),
		Command: printable(command),
		Since:   time.Now().Truncate(time.Second),
	})
}

// release removes the owner file if it is still the one claim wrote.
func (f *File) release() {
	if f.wrote == nil {
		return
	}
	if b, err := os.ReadFile(OwnerPath(f.path)); err == nil && bytes.Equal(b, f.wrote) {
		_ = os.Remove(OwnerPath(f.path))
	}
}

// Close removes the owner file while the lock is still held (so it cannot
// remove the next holder's) and then closes the DB, which lets go of the
// lock.
func (f *File) Close() error {
	f.once.Do(f.release)
	return f.DB.Close()
}
