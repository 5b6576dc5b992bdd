package sandbox

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"till/checkout"
)

// TestTradesSurviveARestart: an order made in one run is found, paid, by
// the next, through the real adapters, because keys and trades are kept in
// sandbox.db.
func TestTradesSurviveARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sandbox.db")
	ctx := context.Background()
	sb, err := Start(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	nos := map[checkout.Method]string{}
	for i, p := range sb.Providers {
		no := "20261123060000000T10" + string(rune('0'+i))
		res, err := p.Create(ctx, checkout.CreateRequest{OrderNo: no, Amount: 1230, Description: "test",
			ExpiresAt: time.Now().Add(10 * time.Minute), Terminal: "T1"})
		if err != nil {
			t.Fatalf("%s create: %v", p.Method(), err)
		}
		resp, err := http.PostForm(res.CodeURL, url.Values{"action": {"pay"}})
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s pay at %s: %v %v", p.Method(), res.CodeURL, err, resp)
		}
		resp.Body.Close()
		nos[p.Method()] = no
	}
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}

	sb, err = Start(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if len(sb.Providers) != 2 {
		t.Fatalf("%d providers", len(sb.Providers))
	}
	for _, p := range sb.Providers {
		st, err := p.Query(ctx, nos[p.Method()])
		if err != nil {
			t.Fatalf("%s query after restart: %v", p.Method(), err)
		}
		if st.State != checkout.TradePaid || st.Amount != 1230 {
			t.Fatalf("%s after restart: %+v, want paid 12.30", p.Method(), st)
		}
	}
}

func TestSecondSandboxOnTheSameFileIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sandbox.db")
	sb, err := Start(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if _, err := Start(path, nil); err == nil {
		t.Fatal("a second sandbox opened the same file")
	}
}
