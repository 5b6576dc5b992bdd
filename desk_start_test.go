//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestDeskStart times the desk from its start to its first frame, and
// takes its peak RSS, in each of the data directories TILL_DESK_HOMES
// names (comma-separated; each is HOME, with XDG_CONFIG_HOME, _DATA_HOME,
// _STATE_HOME and _CACHE_HOME inside it), runs interleaved, and logs the
// medians and the ratio of each directory's to the first's (issue 13:
// a sandbox ledger of 1,000,000 orders against an empty one).
//
// The desk runs on a pseudo-terminal of 80x24 that answers the colour
// and cursor queries a terminal answers; the first frame is the sale
// entry's "Amount" on it; then q quits. The peak RSS is the kernel's
// (the child's rusage maxrss, which is VmHWM). It asserts nothing about
// time and never runs in CI: it skips unless TILL_DESK_START=1.
//
//	TILL_DESK_BIN    the desk's binary (else built with go build)
//	TILL_DESK_RUNS   timed runs in each directory (7)
//	TILL_DESK_WARMUP runs not timed first, in each directory (1)
//	TILL_DESK_HOLD   how long the desk stays after its first frame before
//	                 q (0; "3s" lets the start's recovery pass and the
//	                 day's totals finish, for the settled peak RSS)
//
// .ci/desk-start-bench.sh prepares the two directories and runs it.
func TestDeskStart(t *testing.T) {
	if os.Getenv("TILL_DESK_START") != "1" {
		t.Skip("set TILL_DESK_START=1 and TILL_DESK_HOMES (see .ci/desk-start-bench.sh)")
	}
	homes := strings.Split(os.Getenv("TILL_DESK_HOMES"), ",")
	if homes[0] == "" {
		t.Fatal("TILL_DESK_HOMES names no directory")
	}
	runs := 7
	if s := os.Getenv("TILL_DESK_RUNS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("TILL_DESK_RUNS=%q", s)
		}
		runs = n
	}
	warmup := 1
	if s := os.Getenv("TILL_DESK_WARMUP"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			t.Fatalf("TILL_DESK_WARMUP=%q", s)
		}
		warmup = n
	}
	var hold time.Duration
	if s := os.Getenv("TILL_DESK_HOLD"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("TILL_DESK_HOLD=%q", s)
		}
		hold = d
	}
	bin := os.Getenv("TILL_DESK_BIN")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "till")
		out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
		if err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	first := make([][]time.Duration, len(homes))
	rss := make([][]int64, len(homes))
	for round := -warmup; round < runs; round++ { // rounds below 0: the warm-up
		for i, home := range homes {
			d, kb, err := deskOnce(bin, home, hold)
			if err != nil {
				t.Fatalf("%s: %v", home, err)
			}
			if round < 0 {
				continue
			}
			first[i], rss[i] = append(first[i], d), append(rss[i], kb)
			t.Logf("%s: first frame %.1f ms, peak RSS %.1f MB", home, ms(d), float64(kb)/1024)
		}
	}
	med := func(xs []time.Duration) time.Duration {
		ys := slices.Clone(xs)
		slices.Sort(ys)
		return ys[len(ys)/2]
	}
	for i, home := range homes {
		t.Logf("%s: first frame median %.1f ms (min %.1f, max %.1f); peak RSS median %.1f MB, max %.1f MB",
			home, ms(med(first[i])), ms(slices.Min(first[i])), ms(slices.Max(first[i])),
			float64(slices.Sorted(slices.Values(rss[i]))[runs/2])/1024, float64(slices.Max(rss[i]))/1024)
		if i > 0 {
			pairs := make([]time.Duration, runs) // the ratio pair by pair, scaled to keep it a Duration
			for r := range runs {
				pairs[r] = time.Duration(float64(first[i][r]) / float64(first[0][r]) * 1e6)
			}
			t.Logf("ratio %s / %s: of the medians %.3f, median of the pairs %.3f", filepath.Base(home), filepath.Base(homes[0]),
				float64(med(first[i]))/float64(med(first[0])), float64(med(pairs))/1e6)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// deskOnce runs the desk once in home on a fresh 80x24 pseudo-terminal,
// quitting hold after its first frame: the time from its start to the
// first frame, and its peak RSS in KB.
func deskOnce(bin, home string, hold time.Duration) (time.Duration, int64, error) {
	master, slave, err := openPTY(80, 24)
	if err != nil {
		return 0, 0, err
	}
	defer master.Close()
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "TERM=xterm-256color", "LANG=C.UTF-8", "HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"), "XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"XDG_STATE_HOME=" + filepath.Join(home, "state"), "XDG_CACHE_HOME=" + filepath.Join(home, "cache")}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		slave.Close()
		return 0, 0, err
	}
	slave.Close()
	framed := make(chan time.Duration, 1)
	var mu sync.Mutex
	var screen bytes.Buffer
	go func() { // the terminal: read, answer its queries, watch for the frame
		buf := make([]byte, 64<<10)
		answered := map[string]int{}
		seen := false
		for {
			n, err := master.Read(buf)
			if n > 0 {
				mu.Lock()
				screen.Write(buf[:n])
				out := screen.Bytes()
				for q, a := range terminalAnswers {
					for c := bytes.Count(out, []byte(q)); answered[q] < c; answered[q]++ {
						_, _ = master.WriteString(a)
					}
				}
				if !seen && bytes.Contains(out, []byte("Amount")) {
					seen = true
					framed <- time.Since(began)
				}
				mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var first time.Duration
	select {
	case first = <-framed:
	case err := <-exited:
		mu.Lock()
		defer mu.Unlock()
		return 0, 0, fmt.Errorf("the desk ended before its first frame (%v):\n%q", err, screen.String())
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		mu.Lock()
		defer mu.Unlock()
		return 0, 0, fmt.Errorf("no first frame in 30 s:\n%q", screen.String())
	}
	time.Sleep(hold)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	_, _ = master.WriteString("q")
	for {
		select {
		case err := <-exited:
			if err != nil {
				return 0, 0, fmt.Errorf("the desk: %v", err)
			}
			ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			if ru == nil {
				return first, 0, nil
			}
			return first, ru.Maxrss, nil
		case <-tick.C: // a warning asked for a second q
			_, _ = master.WriteString("q")
		case <-deadline:
			_ = cmd.Process.Kill()
			<-exited
			return 0, 0, fmt.Errorf("the desk did not quit on q")
		}
	}
}

// terminalAnswers are what a terminal answers to the queries a Bubble Tea
// program may send at start: the background and foreground colours
// (termenv, for lipgloss's adaptive colours), the cursor position and the
// device attributes. Unanswered, termenv waits up to 5 s for them.
var terminalAnswers = map[string]string{
	"\x1b]11;?": "\x1b]11;rgb:0000/0000/0000\x1b\\",
	"\x1b]10;?": "\x1b]10;rgb:ffff/ffff/ffff\x1b\\",
	"\x1b[6n":   "\x1b[1;1R",
	"\x1b[c":    "\x1b[?62;22c",
}

// openPTY opens a pseudo-terminal of cols x rows: its master, and the
// slave for the child.
func openPTY(cols, rows int) (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("unlockpt: %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("ptsname: %w", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(rows), Col: uint16(cols)}); err != nil {
		m.Close()
		s.Close()
		return nil, nil, err
	}
	return m, s, nil
}
