package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/BurntSushi/toml"

	"till/catalog"
	"till/checkout"
	"till/providers/alipay"
	"till/providers/sandbox"
	"till/providers/wechat"
)

// sandboxCmd is `till sandbox`: both emulators on their own, in the
// foreground until SIGINT, on the addresses they had last time (kept in
// sandbox.db beside the sandbox ledger) unless told others; with --export,
// the config and keys that point a desk or an SDK at them.
// sandboxGroup is `till sandbox`: the emulators (the default) and their
// test payment codes.
type sandboxGroup struct {
	Run  sandboxCmd     `cmd:"" default:"withargs" help:"Run the emulators until ctrl+c (the default)."`
	Code sandboxCodeCmd `cmd:"" help:"Print a sandbox test payment code to paste at the desk's code prompt (wechat|alipay, and how the customer behaves)."`
}

// sandboxCodeCmd prints the emulators' fixed test codes: it opens no file,
// so it works while a desk runs.
type sandboxCodeCmd struct {
	Wallet    string `arg:"" optional:"" enum:",wechat,alipay" default:"" help:"wechat or alipay (none: list every code)."`
	Behaviour string `arg:"" optional:"" help:"pays (the default), password, never, balance or expired."`
}

func (c sandboxCodeCmd) Run(out io.Writer) error {
	if c.Wallet == "" {
		for _, tc := range sandbox.TestCodes {
			fmt.Fprintf(out, "%-7s %-9s %s  %s\n", tc.Method, tc.Behaviour, tc.Code, tc.What)
		}
		return nil
	}
	tc, ok := sandbox.FindTestCode(checkout.Method(c.Wallet), c.Behaviour)
	if !ok {
		return usageError{fmt.Errorf("no %s test code behaves %q: pays, password, never, balance or expired", c.Wallet, c.Behaviour)}
	}
	fmt.Fprintln(out, tc.Code)
	return nil
}

type sandboxCmd struct {
	WeChatAddr string `name:"wechat-addr" help:"Run the WeChat Pay emulator on this loopback address (kept for the next run)." placeholder:"HOST:PORT"`
	AlipayAddr string `name:"alipay-addr" help:"Run the Alipay emulator on this loopback address (kept for the next run)." placeholder:"HOST:PORT"`
	Export     string `help:"Write DIR/config.toml and the sandbox merchant's key files, which point a desk (till --config DIR/config.toml) or an SDK at the running emulators." type:"path" placeholder:"DIR"`
}

func (c sandboxCmd) Run(cli *CLI, out io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runSandbox(ctx, cli, c, out, nil)
}

// runSandbox runs the emulators until ctx is done; ready, when set, is
// called once they run and the export (if any) is written.
func runSandbox(ctx context.Context, cli *CLI, c sandboxCmd, out io.Writer, ready func(*sandbox.Sandbox)) error {
	// Bad input is refused before anything starts or is written.
	opts := []sandbox.Option{sandbox.WithLang(catalog.FromEnv(os.Getenv))}
	if c.WeChatAddr != "" {
		if err := loopbackAddr("wechat-addr", c.WeChatAddr); err != nil {
			return usageError{err}
		}
		opts = append(opts, sandbox.WithWeChatAddr(c.WeChatAddr))
	}
	if c.AlipayAddr != "" {
		if err := loopbackAddr("alipay-addr", c.AlipayAddr); err != nil {
			return usageError{err}
		}
		opts = append(opts, sandbox.WithAlipayAddr(c.AlipayAddr))
	}
	if c.Export != "" {
		dir, err := filepath.Abs(c.Export)
		if err != nil {
			return usageError{fmt.Errorf("--export: %w", err)}
		}
		c.Export = dir
		if err := checkExportDir(dir); err != nil {
			return usageError{err}
		}
	}

	p := resolvePaths(cli)
	log := slog.New(slog.NewTextHandler(out, nil))
	sb, err := sandbox.Start(filepath.Join(filepath.Dir(p.ledgerPath(true)), "sandbox.db"), log, opts...)
	if err != nil {
		return err
	}
	defer sb.Close()
	fmt.Fprintf(out, "WeChat Pay emulator: %s\nAlipay gateway:      %s\n", sb.WeChatURL(), sb.AlipayGateway())
	if c.Export != "" {
		files, err := exportSandbox(sb, c.Export)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "Wrote the sandbox merchant's config and keys (no real money) to %s:\n", c.Export)
		for _, f := range files {
			fmt.Fprintf(out, "  %s\n", f)
		}
		fmt.Fprintf(out, "Run the desk with: till --config %s\n", filepath.Join(c.Export, exportConfigName))
	}
	fmt.Fprintln(out, "Press ctrl+c to stop.")
	if ready != nil {
		ready(sb)
	}
	<-ctx.Done()
	return nil
}

// The files --export writes into DIR.
const (
	exportConfigName      = "config.toml"
	exportMerchantKey     = "wechat_merchant_key.pem"
	exportAPIv3Key        = "wechat_apiv3.key"
	exportPlatformKey     = "wechat_platform_public_key.pem"
	exportAppKey          = "alipay_app_private_key.pem"
	exportAlipayPublicKey = "alipay_public_key.pem"
)

// exportHeader opens the exported config.
const exportHeader = `# Written by till sandbox --export: the sandbox merchant, whose keys are
# the emulators' own and worth no money. Run the desk with
#   till --config %s
# while till sandbox runs. sandbox = true keeps this desk a sandbox: it says
# SANDBOX, uses the sandbox ledger (stamped sandbox, refused by and refusing
# a live one), may take notifications over http on loopback, and talks only
# to emulators on this machine; it starts none of its own.

`

// exportedConfig is what --export writes, in till's own config types so
// that the names cannot drift from what the loader reads.
type exportedConfig struct {
	SandboxMark bool `toml:"sandbox"`
	Webhook     struct {
		Listen string `toml:"listen"`
	} `toml:"webhook"`
	WeChat *wechat.Config `toml:"wechat"`
	Alipay *alipay.Config `toml:"alipay"`
}

// checkExportDir refuses a DIR that is not a directory, and a
// config.toml in it that is not a sandbox export (a live merchant's
// config must never be written over).
func checkExportDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("--export: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("--export %s: not a directory", dir)
	}
	path := filepath.Join(dir, exportConfigName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		// No export here yet: the key files' names are also those a live
		// merchant's keys may have (the example config's Alipay keys), and
		// a live key must never be written over either.
		for _, name := range []string{exportMerchantKey, exportAPIv3Key, exportPlatformKey, exportAppKey, exportAlipayPublicKey} {
			if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
				return fmt.Errorf("--export %s: %s is there and no sandbox config.toml beside it: it may be a live key, and it is left as it is: choose another directory", dir, name)
			}
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("--export: %w", err)
	}
	var mark struct {
		Sandbox bool `toml:"sandbox"`
	}
	if _, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&mark); err != nil || !mark.Sandbox {
		return fmt.Errorf("--export %s: %s is there and is not a sandbox config (no `sandbox = true`); it is left as it is: choose another directory", dir, path)
	}
	return nil
}

// exportSandbox writes into dir (made 0700 if missing) the sandbox
// merchant's key files and a config.toml that points a desk at sb's
// emulators, all 0600, each written beside its name and renamed in. It
// returns the names written.
func exportSandbox(sb *sandbox.Sandbox, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("--export: %w", err)
	}
	deskAddr, err := sb.DeskAddr()
	if err != nil {
		return nil, err
	}
	desk := "http://" + deskAddr
	sec := sb.Secrets()
	in := func(name string) string { return filepath.Join(dir, name) }
	cfg := exportedConfig{
		SandboxMark: true,
		WeChat: &wechat.Config{
			APIBase:               sb.WeChatURL(),
			MchID:                 sandbox.MchID,
			AppID:                 sandbox.WeChatAppID,
			MerchantSerial:        sandbox.MerchantSerial,
			PrivateKeyFile:        in(exportMerchantKey),
			APIv3KeyFile:          in(exportAPIv3Key),
			PlatformPublicKeyID:   sandbox.PlatformKeyID,
			PlatformPublicKeyFile: in(exportPlatformKey),
			NotifyURL:             desk + "/notify/wechat",
		},
		Alipay: &alipay.Config{
			Gateway:             sb.AlipayGateway(),
			AppID:               sandbox.AlipayAppID,
			PrivateKeyFile:      in(exportAppKey),
			AlipayPublicKeyFile: in(exportAlipayPublicKey),
			NotifyURL:           desk + "/notify/alipay",
		},
	}
	cfg.Webhook.Listen = deskAddr
	var text bytes.Buffer
	fmt.Fprintf(&text, exportHeader, in(exportConfigName))
	enc := toml.NewEncoder(&text)
	enc.Indent = ""
	if err := enc.Encode(cfg); err != nil {
		return nil, fmt.Errorf("--export: %w", err)
	}
	files := []struct {
		name string
		data []byte
	}{
		{exportMerchantKey, sec.MerchantPrivateKey},
		{exportAPIv3Key, append(append([]byte(nil), sec.APIv3Key...), '\n')},
		{exportPlatformKey, sec.PlatformPublicKey},
		{exportAppKey, sec.AppPrivateKey},
		{exportAlipayPublicKey, sec.AlipayPublicKey},
		{exportConfigName, text.Bytes()}, // last: it names the others
	}
	var names []string
	for _, f := range files {
		if err := writePrivate(in(f.name), f.data); err != nil {
			return names, fmt.Errorf("--export: %w", err)
		}
		names = append(names, f.name)
	}
	return names, nil
}

// writePrivate writes data to path, owner-only, through a temporary file
// beside it, so path is always whole.
func writePrivate(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing is there
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
