package catalog

import (
	"testing"
	"time"
)

func mustDay(t *testing.T) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return time.Date(2026, 12, 1, 14, 3, 0, 0, loc)
}
