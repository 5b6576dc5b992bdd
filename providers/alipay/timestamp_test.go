package alipay

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The SDK stamps requests with time.Local unless told otherwise. The test
// runs itself again with TZ set to New York and checks that the emulator
// received a timestamp (and a time_expire) in Beijing time.
func TestTimestampIsBeijingTime(t *testing.T) {
	if os.Getenv("TILL_ALIPAY_TZ_CHILD") == "1" {
		timestampChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestTimestampIsBeijingTime$", "-test.v")
	cmd.Env = append(os.Environ(), "TILL_ALIPAY_TZ_CHILD=1", "TZ=America/New_York")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "beijing-ok") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func timestampChild(t *testing.T) {
	if _, off := time.Now().Zone(); off == 8*3600 {
		t.Fatalf("TZ was not applied: local zone %v", time.Local)
	}
	e := newEnv(t)
	req := e.create(t, 100)
	last := e.emu.LastRequest()
	ts := last.Get("timestamp")
	got, err := time.ParseInLocation(TimeLayout, ts, Shanghai)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(got); d < -time.Minute || d > time.Minute {
		t.Fatalf("timestamp %q is %v away from Beijing now (%s); local time is %s",
			ts, d, time.Now().In(Shanghai).Format(TimeLayout), time.Now().Format(TimeLayout))
	}
	if want := req.ExpiresAt.In(Shanghai).Format(TimeLayout); !strings.Contains(last.Get("biz_content"), want) {
		t.Fatalf("time_expire not in Beijing time: %s", last.Get("biz_content"))
	}
	t.Logf("beijing-ok: timestamp %s, local %s", ts, time.Now().Format(TimeLayout+" MST"))
}
