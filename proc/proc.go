// Package proc says what this host knows of its processes: whether the
// one that wrote down its pid (store's owner file, pgledger's terminals)
// is still running, or is gone (a kill -9, a power cut) and the pid was
// perhaps given to a later process.
package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Running reports whether the process that was pid at since is still
// running: pid exists, and did not start after since.
func Running(pid int, since time.Time) bool { return Alive(pid) && !StartedAfter(pid, since) }

// Alive says whether process pid exists. Signal 0 checks without
// signalling; EPERM means it exists but is another user's.
func Alive(pid int) bool {
	if pid <= 0 { // 0 and -1 would address process groups
		return false
	}
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// StartedAfter reports a process that started after since: not the one
// that wrote the owner file, but a later one that was given the same pid
// after the writer died (a kill -9, then a reboot). It reads the start
// from /proc; where there is none it says false and the pid is believed.
// /proc's start is boot time plus uptime, so a clock stepped forward by
// more than the slack while the holder runs makes it look started later:
// the message then names no holder, which is all that is lost.
func StartedAfter(pid int, since time.Time) bool {
	start, ok := Start(pid)
	// /proc gives the boot time to the second: allow for it, and for
	// since being cut to the second.
	return ok && start.After(since.Add(3*time.Second))
}

// Start is when process pid started, from /proc/<pid>/stat (its
// 22nd field, in clock ticks since boot) and /proc/stat's btime.
func Start(pid int) (time.Time, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return time.Time{}, false
	}
	// The command name (field 2) is in parentheses and may hold spaces
	// and parentheses itself: count the fields from the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return time.Time{}, false
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 20 {
		return time.Time{}, false
	}
	ticks, err := strconv.ParseInt(fields[19], 10, 64) // field 22: the first after ')' is field 3
	if err != nil {
		return time.Time{}, false
	}
	boot, ok := bootTime()
	if !ok {
		return time.Time{}, false
	}
	const clockTicks = 100 // USER_HZ: 100 on every Linux the desk runs on
	return boot.Add(time.Duration(ticks) * time.Second / clockTicks), true
}

// bootTime is /proc/stat's btime.
func bootTime() (time.Time, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			sec, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return time.Unix(sec, 0), err == nil
		}
	}
	return time.Time{}, false
}
