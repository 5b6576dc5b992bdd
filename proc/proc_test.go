package proc

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// goneP is the pid of a process that ran and was reaped.
func gonePID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestRunning(t *testing.T) {
	me := os.Getpid()
	if !Alive(me) || !Running(me, time.Now()) {
		t.Error("this process is not running")
	}
	if pid := gonePID(t); Alive(pid) || Running(pid, time.Now()) {
		t.Errorf("pid %d, reaped, is running", pid)
	}
	for _, pid := range []int{0, -1} {
		if Alive(pid) {
			t.Errorf("pid %d (a process group) is alive", pid)
		}
	}
	if _, ok := Start(me); !ok {
		t.Skip("no /proc here: a pid is believed")
	}
	if Running(me, time.Now().Add(-24*time.Hour)) {
		t.Error("this process, started today, is taken for the one that had its pid yesterday")
	}
}
