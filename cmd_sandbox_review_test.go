package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSandboxExportLeavesLiveKeysAlone: the example config keeps the
// live Alipay keys as /etc/till/alipay_app_private_key.pem and
// alipay_public_key.pem, the very names --export writes. A directory
// holding any of those files without a sandbox config.toml is a live
// merchant's: --export must refuse it (exit 2) and leave the keys as they
// are, as it does a live config.toml.
func TestSandboxExportLeavesLiveKeysAlone(t *testing.T) {
	sandboxHome(t)
	dir := t.TempDir()
	live := []byte("-----BEGIN PRIVATE KEY-----\nthe shop's real Alipay app key\n-----END PRIVATE KEY-----\n")
	key := filepath.Join(dir, exportAppKey)
	if err := os.WriteFile(key, live, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // run, export, and return at once
	var out bytes.Buffer
	err := runSandbox(ctx, &CLI{}, sandboxCmd{Export: dir}, &out, nil)
	if got, _ := os.ReadFile(key); !bytes.Equal(got, live) {
		t.Fatalf("--export wrote over the live key %s (err %v)", key, err)
	}
	var ue usageError
	if err == nil || !strings.Contains(err.Error(), exportAppKey) {
		t.Fatalf("--export into a directory of live keys: %v, want a usage error naming %s", err, exportAppKey)
	} else if _, ok := err.(usageError); !ok {
		t.Fatalf("err %T %v, want %T", err, err, ue)
	}
}
