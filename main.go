// Command till is a merchant cashier desk that runs in a terminal: the
// clerk keys an amount, picks WeChat Pay or Alipay, and the customer scans
// the QR code drawn on the screen. With no merchant account configured it
// runs a sandbox: emulators of both providers on loopback.
//
// main.go owns flags, configuration and wiring; it is the only place that
// knows every concrete type.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	_ "time/tzdata" // the shop's zone loads on machines without zoneinfo

	"github.com/BurntSushi/toml"
	"github.com/alecthomas/kong"
	tea "github.com/charmbracelet/bubbletea"

	"till/assets"
	"till/backup"
	"till/catalog"
	"till/checkout"
	"till/manager"
	"till/pgledger"
	"till/providers/alipay"
	"till/providers/sandbox"
	"till/providers/wechat"
	"till/store"
	"till/ui"
)

// Exit codes (design.md): 0 success, 1 failure, 2 usage error.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// version is set by -ldflags "-X main.version=..."; otherwise the module's
// build info tells.
var version = ""

// CLI is till's command line.
type CLI struct {
	Config   string `help:"Configuration file (default: $XDG_CONFIG_HOME/till/config.toml)." env:"TILL_CONFIG" type:"path" placeholder:"FILE"`
	DB       string `help:"Ledger file (default: $XDG_DATA_HOME/till/till.db; in the sandbox $XDG_DATA_HOME/till/sandbox/till.db)." env:"TILL_DB" type:"path" placeholder:"FILE"`
	Ledger   string `help:"A shared ledger on PostgreSQL (postgres://…), as [ledger] url: several counters on one ledger." env:"TILL_LEDGER_URL" placeholder:"URL"`
	Terminal string `help:"This counter's id, as [shop] terminal (so several desks can share one config)." env:"TILL_TERMINAL" placeholder:"ID"`

	Desk          deskCmd          `cmd:"" default:"withargs" help:"Open the cashier desk (the default)."`
	Report        reportCmd        `cmd:"" help:"Print a day's report, or a range's (--from, --to)."`
	CloseDay      closeDayCmd      `cmd:"" name:"close-day" help:"Close the day (Z report): freeze its figures (needs the manager PIN)."`
	Orders        ordersCmd        `cmd:"" help:"List a day's orders with their refunds."`
	Refund        refundCmd        `cmd:"" help:"Refund an order, in full or in part (needs the manager PIN)."`
	Pin           pinCmd           `cmd:"" help:"The manager PIN."`
	Operator      operatorCmd      `cmd:"" help:"The operators who work the counter."`
	Reconcile     reconcileCmd     `cmd:"" help:"Compare the providers' bills of a day with the ledger; exit 1 when they differ, 3 when a bill is not ready."`
	Backup        backupCmd        `cmd:"" help:"Write a hot copy of the ledger to FILE, with the desk open or not."`
	LedgerCmd     ledgerGroup      `cmd:"" name:"ledger" help:"The ledger as a whole: copy this counter's file into a shared ledger on PostgreSQL."`
	Audit         auditCmd         `cmd:"" help:"Print a day of the audit trail, or check it with --verify."`
	Serve         serveCmd         `cmd:"" help:"Run headless: take the providers' notifications, serve the ledger commands and settle open orders, with no desk."`
	Sandbox       sandboxGroup     `cmd:"" help:"Run the WeChat Pay and Alipay emulators on their own, for demos and tests (--export DIR: a config that points a desk at them)."`
	ExampleConfig exampleConfigCmd `cmd:"" name:"example-config" help:"Print a commented configuration file with the defaults."`
	Version       versionCmd       `cmd:"" help:"Print till's version."`
	Help          helpCmd          `cmd:"" help:"Show this help (the same as --help)."`

	// args is the command line as given, for a command that has the
	// ledger's holder run it (ledger_commands.go).
	args []string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses args and runs the command, returning the exit code; tests
// call it without a process of their own.
func run(args []string, stdout, stderr io.Writer) int {
	// `till help [command]` is `till [command] --help`, word for word.
	if len(args) > 0 && args[0] == "help" {
		args = append(append([]string(nil), args[1:]...), "--help")
	}
	cli := CLI{args: args}
	exit := -1
	parser, err := kong.New(&cli,
		kong.Name("till"),
		kong.Description("A cashier desk for WeChat Pay and Alipay that runs in a terminal."),
		kong.UsageOnError(),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { exit = code }),
		kong.BindTo(stdout, (*io.Writer)(nil)),
		kong.Bind(errWriter{stderr}),
	)
	if err != nil {
		fmt.Fprintln(stderr, "till:", err)
		return exitFail
	}
	kctx, err := parser.Parse(args)
	if exit >= 0 { // --help
		return exit
	}
	if err != nil {
		fmt.Fprintln(stderr, "till:", err)
		return exitUsage
	}
	if err := kctx.Run(&cli); err != nil {
		var ee exitError
		if errors.As(err, &ee) { // the holder ran it and said so on its stderr
			return ee.code
		}
		fmt.Fprintln(stderr, "till:", err)
		var ue usageError
		if errors.As(err, &ue) {
			return exitUsage
		}
		return exitFail
	}
	return exitOK
}

// usageError marks a fault in what the user asked for (bad config, bad
// flag value): exit code 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

type versionCmd struct{}

func (versionCmd) Run(cli *CLI, out io.Writer) error {
	fmt.Fprintln(out, versionLine(version, debug.ReadBuildInfo))
	return nil
}

// versionLine is till's version as the build knows it: the -X version or
// the module's, then the VCS revision and its time, and "modified" when
// the tree had uncommitted changes.
func versionLine(set string, info func() (*debug.BuildInfo, bool)) string {
	v := set
	var rev, at, dirty string
	if bi, ok := info(); ok {
		if v == "" && bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				rev = kv.Value
			case "vcs.time":
				at = kv.Value
			case "vcs.modified":
				if kv.Value == "true" {
					dirty = ", modified"
				}
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	line := "till " + v
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		line += " (" + rev + " " + at + dirty + ")"
	}
	return line
}

// helpCmd is listed so that `till --help` shows `till help`; run turns
// `till help` into --help before parsing, so Run is never reached.
type helpCmd struct{}

func (helpCmd) Run(cli *CLI, out io.Writer) error { return nil }

type exampleConfigCmd struct{}

func (exampleConfigCmd) Run(cli *CLI, out io.Writer) error {
	_, err := out.Write(assets.ExampleConfig)
	return err
}

// Config is till's configuration file.
type Config struct {
	// SandboxMark is the top-level `sandbox = true` of a config that points
	// a desk at emulators running outside it (`till sandbox --export`):
	// see config_sandbox.go.
	SandboxMark bool `toml:"sandbox"`
	Shop        struct {
		Name     string `toml:"name"`
		Timezone string `toml:"timezone"`
		Terminal string `toml:"terminal"`
	} `toml:"shop"`
	Checkout struct {
		PollInterval    time.Duration `toml:"poll_interval"`
		Timeout         time.Duration `toml:"timeout"`
		MaxAmount       string        `toml:"max_amount"`
		LateCheckMargin time.Duration `toml:"late_check_margin"`
		CodeDeadline    time.Duration `toml:"code_deadline"` // a payment-code sale not final by then is reversed
	} `toml:"checkout"`
	UI struct {
		Language string `toml:"language"` // "zh" or "en"; "" follows LANG
		Bell     *bool  `toml:"bell"`     // ring on PAID; default on
	} `toml:"ui"`
	Manager struct {
		Idle time.Duration `toml:"idle"` // manager mode closes after this long without a key
	} `toml:"manager"`
	Log struct {
		File  string `toml:"file"`
		Level string `toml:"level"`
	} `toml:"log"`
	Webhook struct {
		Listen string `toml:"listen"` // host:port for the notification listener; "" is off (sandbox: a free loopback port); "off" is off in the sandbox too
	} `toml:"webhook"`
	Backup struct {
		Dir  string `toml:"dir"`  // automatic copies go here; "" is off
		Keep int    `toml:"keep"` // how many of each kind (daily, at a close) are kept
	} `toml:"backup"`
	Ledger struct {
		URL              string        `toml:"url"`               // a shared ledger on PostgreSQL; "" is the file (--db)
		HeartbeatTimeout time.Duration `toml:"heartbeat_timeout"` // a desk silent this long is taken for gone
	} `toml:"ledger"`
	WeChat *wechat.Config `toml:"wechat"`
	Alipay *alipay.Config `toml:"alipay"`

	// Resolved by Validate.
	location *time.Location
	ceiling  checkout.Money
	level    slog.Level
	lang     catalog.Lang
}

// Sandbox reports whether the desk takes no real money: no merchant
// account is configured, or the config is marked `sandbox = true`.
func (c *Config) Sandbox() bool { return c.SandboxMark || c.emulated() }

// loadConfig reads the built-in defaults, then the file at path on top.
// A missing file is fine unless the user named it.
func loadConfig(path string, named bool) (*Config, error) {
	var c Config
	if _, err := toml.NewDecoder(bytes.NewReader(assets.ExampleConfig)).Decode(&c); err != nil {
		return nil, fmt.Errorf("built-in defaults: %w", err)
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && !named:
	case err != nil:
		return nil, usageError{fmt.Errorf("config: %w", err)}
	default:
		md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&c)
		if err != nil {
			return nil, usageError{fmt.Errorf("config %s: %w", path, err)}
		}
		if und := md.Undecoded(); len(und) > 0 {
			var keys []string
			for _, k := range und {
				keys = append(keys, k.String())
			}
			return nil, usageError{fmt.Errorf("config %s: unknown setting %s (see `till example-config`)", path, strings.Join(keys, ", "))}
		}
	}
	if err := c.Validate(); err != nil {
		return nil, usageError{fmt.Errorf("config %s: %w", path, err)}
	}
	return &c, nil
}

// Validate checks every setting and names the one at fault.
func (c *Config) Validate() error {
	loc, err := time.LoadLocation(c.Shop.Timezone)
	if err != nil || c.Shop.Timezone == "" {
		return fmt.Errorf("shop.timezone: %q is not a time zone (e.g. \"Asia/Shanghai\")", c.Shop.Timezone)
	}
	c.location = loc
	if !checkout.ValidTerminal(c.Shop.Terminal) {
		return fmt.Errorf("shop.terminal: %q must be 1 to 8 letters or digits", c.Shop.Terminal)
	}
	if strings.TrimSpace(c.Shop.Name) == "" {
		return errors.New("shop.name: must not be empty")
	}
	co := c.Checkout
	minTimeout := 5 * time.Second
	if !c.Sandbox() {
		minTimeout = time.Minute // both providers' shortest expiry
	}
	switch {
	case co.Timeout < minTimeout:
		return fmt.Errorf("checkout.timeout: %s is too short; at least %s", co.Timeout, minTimeout)
	case co.Timeout > 2*time.Hour:
		return fmt.Errorf("checkout.timeout: %s is too long; at most 2h", co.Timeout)
	case co.PollInterval < time.Second:
		return fmt.Errorf("checkout.poll_interval: %s is too short; at least 1s", co.PollInterval)
	case co.PollInterval >= co.Timeout:
		return fmt.Errorf("checkout.poll_interval: %s must be shorter than checkout.timeout (%s)", co.PollInterval, co.Timeout)
	case co.LateCheckMargin < time.Second || co.LateCheckMargin > time.Hour:
		return fmt.Errorf("checkout.late_check_margin: %s is out of range; 1s to 1h", co.LateCheckMargin)
	case co.CodeDeadline < checkout.ReverseNotBefore || co.CodeDeadline > checkout.MaxCodeDeadline:
		return fmt.Errorf("checkout.code_deadline: %s is out of range; %s to %s", co.CodeDeadline, checkout.ReverseNotBefore, checkout.MaxCodeDeadline)
	case c.Manager.Idle < 10*time.Second || c.Manager.Idle > time.Hour:
		return fmt.Errorf("manager.idle: %s is out of range; 10s to 1h", c.Manager.Idle)
	}
	if c.Backup.Dir != "" && !filepath.IsAbs(c.Backup.Dir) {
		return fmt.Errorf("backup.dir: %q must be an absolute path", c.Backup.Dir)
	}
	if c.Backup.Keep < 1 || c.Backup.Keep > 1000 {
		return fmt.Errorf("backup.keep: %d is out of range; 1 to 1000", c.Backup.Keep)
	}
	if err := c.checkLedger(); err != nil {
		return err
	}
	if c.WeChat != nil && strings.TrimSpace(c.WeChat.NotifyURL) == "" {
		// WeChat refuses a prepay without one, even though till polls.
		return errors.New("wechat.notify_url: WeChat Pay requires an https notify URL for every order")
	}
	if err := c.checkSandboxMark(); err != nil {
		return err
	}
	ceiling, err := checkout.ParseMoney(co.MaxAmount, 0)
	if err != nil {
		return fmt.Errorf("checkout.max_amount: %v", err)
	}
	c.ceiling = ceiling
	if c.UI.Language == "" {
		c.lang = catalog.FromEnv(os.Getenv)
	} else if c.lang, err = catalog.ParseLang(c.UI.Language); err != nil {
		return fmt.Errorf("ui.language: %v", err)
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if err := c.level.UnmarshalText([]byte(c.Log.Level)); err != nil {
		return fmt.Errorf("log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	return nil
}

// paths resolves the config, ledger and log files from flags, the
// environment and the XDG defaults.
type paths struct {
	config      string
	configNamed bool
	db          string // "" until resolved against the config's mode
}

func resolvePaths(cli *CLI) paths {
	p := paths{config: cli.Config, configNamed: cli.Config != "", db: cli.DB}
	if p.config == "" {
		p.config = filepath.Join(xdgDir("XDG_CONFIG_HOME", ".config"), "till", "config.toml")
	}
	return p
}

// ledgerPath is --db, or the default for the mode: sandbox sales live in
// their own ledger, never among the shop's takings.
func (p paths) ledgerPath(sandbox bool) string {
	if p.db != "" {
		return p.db
	}
	dir := filepath.Join(xdgDir("XDG_DATA_HOME", ".local/share"), "till")
	if sandbox {
		dir = filepath.Join(dir, "sandbox")
	}
	return filepath.Join(dir, "till.db")
}

// mode is what the ledger is stamped with (store.Bind).
func (c *Config) mode() string {
	if c.Sandbox() {
		return "sandbox"
	}
	return "live"
}

func xdgDir(env, fallback string) string {
	if d := os.Getenv(env); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "."
	}
	return filepath.Join(home, fallback)
}

// openLog opens the log file: logs never go to the terminal the desk owns.
func openLog(c *Config) (*slog.Logger, io.Closer, error) {
	path := c.Log.File
	if path == "" {
		path = filepath.Join(xdgDir("XDG_STATE_HOME", ".local/state"), "till", "till.log")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("log.file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("log.file: %w", err)
	}
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: c.level, ReplaceAttr: shopTime(c.location)})), f, nil
}

// shopTime writes each log line's time in the shop's zone with its offset
// (2026-12-01T14:03:07.123+08:00), so a line reads as the shop's clock
// does and still says which instant it was.
func shopTime(loc *time.Location) func(groups []string, a slog.Attr) slog.Attr {
	return func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey && a.Value.Kind() == slog.KindTime {
			return slog.String(slog.TimeKey, a.Value.Time().In(loc).Format("2006-01-02T15:04:05.000Z07:00"))
		}
		return a
	}
}

// desk is everything the cashier desk runs on, wired.
type desk struct {
	cfg     *Config
	dbPath  string // the ledger's file; "" for a shared ledger
	log     *slog.Logger
	ledger  deskLedger
	engine  *checkout.Engine
	closers []io.Closer

	providers []checkout.Provider
	// backups writes the automatic copies ([backup] dir); nil when off.
	backups *backup.Keeper
	// sandbox is the emulators this desk runs itself (nil otherwise).
	sandbox *sandbox.Sandbox
	// webhookURL is the sandbox listener's base URL, which the engine
	// gives the emulators as notify_url; set by listen before any sale.
	webhookURL string
	// listenURL is the listener's base URL, "" while it is off.
	listenURL string
	// reg is the desk's registration on a shared ledger (nil otherwise).
	reg *pgledger.Registration
}

func (d *desk) Close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i].Close()
	}
}

// openDesk loads the config, opens the log and the ledger and builds the
// providers and the engine. Bad config and bad keys fail here, at start,
// not at the first sale.
func openDesk(cli *CLI) (*desk, error) { return openDeskAs(cli, "") }

// openDeskAs is openDesk naming this process command in the ledger's
// owner file ("till serve"), so that another desk is told who holds it;
// "" is the command line's words ("till", "till orders").
func openDeskAs(cli *CLI, command string) (*desk, error) {
	p, cfg, err := cliConfig(cli)
	if err != nil {
		return nil, err
	}
	return openDeskOn(p, cfg, command)
}

// cliConfig loads the config the command line names (--config, or the
// default) and puts --ledger and --terminal over it; p is where it looked.
func cliConfig(cli *CLI) (p paths, cfg *Config, err error) {
	p = resolvePaths(cli)
	if cfg, err = loadConfig(p.config, p.configNamed); err != nil {
		return p, nil, err
	}
	if err := cfg.applyOverrides(cli); err != nil {
		return p, nil, err
	}
	return p, cfg, nil
}

// openDeskOn is openDeskAs on a config already loaded (cliConfig).
func openDeskOn(p paths, cfg *Config, command string) (_ *desk, err error) {
	if cfg.emulated() && cfg.shared() {
		// Each desk's own emulators would know only its own trades: a
		// shop tries a shared ledger on one `till sandbox`.
		return nil, usageError{errors.New(catalog.New(cfg.lang).T("cli.ledger.shared_needs_sandbox"))}
	}
	d := &desk{cfg: cfg}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	log, lf, err := openLog(cfg)
	if err != nil {
		return nil, err
	}
	d.log = log
	d.closers = append(d.closers, lf)

	// The ledger first: a second desk is told the ledger is in use.
	if cfg.shared() {
		err = d.openShared()
	} else {
		err = d.openFile(p, command)
	}
	if err != nil {
		return nil, err
	}
	if err := bindMode(d.ledger, cfg); err != nil {
		return nil, err
	}

	var providers []checkout.Provider
	if cfg.emulated() {
		sb, err := sandbox.Start(filepath.Join(filepath.Dir(d.dbPath), "sandbox.db"), log.With("pkg", "sandbox"), sandbox.WithLang(cfg.lang))
		if err != nil {
			return nil, err
		}
		d.closers = append(d.closers, sb)
		d.sandbox, providers = sb, sb.Providers
	} else if providers, err = liveProviders(cfg, log); err != nil {
		return nil, usageError{err}
	}

	d.engine = checkout.NewEngine(d.ledger, providers, checkout.Config{
		PollInterval:     cfg.Checkout.PollInterval,
		Timeout:          cfg.Checkout.Timeout,
		LateCheckMargin:  cfg.Checkout.LateCheckMargin,
		CodeDeadline:     cfg.Checkout.CodeDeadline,
		Terminal:         cfg.Shop.Terminal,
		HeartbeatTimeout: cfg.Ledger.HeartbeatTimeout,
		Ceiling:          cfg.ceiling,
		ShopName:         cfg.Shop.Name,
		Location:         cfg.location,
		NotifyURL:        d.notifyURL,
	}, checkout.SystemClock, log.With("pkg", "checkout"))
	d.providers = providers
	if st, ok := d.ledger.(*store.Store); ok && cfg.Backup.Dir != "" {
		k := &backup.Keeper{Dir: cfg.Backup.Dir, Keep: cfg.Backup.Keep, Src: st, Loc: cfg.location, Log: log.With("pkg", "backup"), Sandbox: cfg.Sandbox()}
		d.backups = k
		d.engine.AfterClose(func(ctx context.Context, z checkout.DayClose) { _, _ = k.AfterClose(ctx, z.Day, z.Seq) })
	}
	log.Info("till started", "db", d.ledgerName(), "sandbox", cfg.Sandbox(), "methods", d.engine.Methods())
	return d, nil
}

// bellWriter is where the desk rings the bell on PAID: the terminal (a
// BEL between frames moves nothing on screen), unless [ui] bell = false.
func bellWriter(c *Config) io.Writer {
	if c.UI.Bell != nil && !*c.UI.Bell {
		return nil
	}
	return os.Stdout
}

// startNotice is what the desk says at start about its setup, in the
// clerk's language: with a real merchant account, a terminal id left at
// the default (two counters could not be told apart in order numbers and
// reports), and secret key files that others on the machine can read.
func startNotice(cfg *Config) string {
	p := catalog.New(cfg.lang)
	var parts []string
	if !cfg.Sandbox() && cfg.Shop.Terminal == checkout.DefaultTerminal {
		parts = append(parts, p.T("cli.notice.default_terminal", catalog.V{"Terminal": checkout.DefaultTerminal}))
	}
	for _, f := range exposedKeyFiles(cfg) {
		parts = append(parts, p.T("cli.notice.key_readable", catalog.V{"Field": f.field, "File": f.path, "Mode": fmt.Sprintf("%04o", f.mode)}))
	}
	return strings.Join(parts, " ")
}

type keyFile struct {
	field, path string
	mode        os.FileMode
}

// exposedKeyFiles lists the configured secret key files that the group or
// others may read (a private key or the APIv3 key is the shop's money).
func exposedKeyFiles(cfg *Config) []keyFile {
	var files []keyFile
	check := func(field, path string) {
		if path == "" {
			return
		}
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			files = append(files, keyFile{field: field, path: path, mode: fi.Mode().Perm()})
		}
	}
	if w := cfg.WeChat; w != nil {
		check("wechat.private_key_file", w.PrivateKeyFile)
		check("wechat.apiv3_key_file", w.APIv3KeyFile)
	}
	if a := cfg.Alipay; a != nil {
		check("alipay.private_key_file", a.PrivateKeyFile)
	}
	return files
}

// liveProviders builds the adapters of the configured merchant accounts,
// reading and checking every key now rather than at the first sale.
func liveProviders(cfg *Config, log *slog.Logger) ([]checkout.Provider, error) {
	var providers []checkout.Provider
	if cfg.WeChat != nil {
		creds, err := cfg.WeChat.Load()
		if err != nil {
			return nil, err
		}
		wp, err := wechat.New(creds, wechat.WithLogger(log.With("pkg", "wechat")))
		if err != nil {
			return nil, fmt.Errorf("wechat: %w", err)
		}
		providers = append(providers, wp)
	}
	if cfg.Alipay != nil {
		creds, err := cfg.Alipay.Load()
		if err != nil {
			return nil, err
		}
		ap, err := alipay.New(creds, alipay.WithLogger(log.With("pkg", "alipay")))
		if err != nil {
			return nil, fmt.Errorf("alipay: %w", err)
		}
		providers = append(providers, ap)
	}
	return providers, nil
}

type deskCmd struct {
	Listen string `help:"Take the providers' notifications on this address (host:port), as [webhook] listen does." placeholder:"ADDR"`
}

func (c deskCmd) Run(cli *CLI, out io.Writer) error {
	d, err := openDesk(cli)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.listen(c.Listen); err != nil {
		return err
	}
	// Anything that logs through the standard loggers goes to the file,
	// not over the screen.
	slog.SetDefault(d.log)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // calls still running when the desk stops give up
	notice := startNotice(d.cfg)
	if notice != "" {
		d.log.Warn(notice)
	}
	// The desk holds the ledger: commands run meanwhile (till orders,
	// till refund, …) come through its control socket. On a shared
	// ledger it registers its terminal instead.
	if err := d.serve(); err != nil {
		return err
	}
	if err := d.register(); err != nil {
		return err
	}
	opts := ui.Options{Context: ctx, Engine: d.engine, Sandbox: d.cfg.Sandbox(), Terminal: d.cfg.Shop.Terminal,
		Shop: d.cfg.Shop.Name, Lang: d.cfg.lang, Bell: bellWriter(d.cfg), Notice: notice,
		Guard: manager.New(d.ledger, checkout.SystemClock), ManagerIdle: d.cfg.Manager.Idle, Staff: d.ledger}
	if d.backups != nil {
		go d.backups.Run(ctx, nil)
		opts.Backups = d.backups.Status
	}
	if w, ok := d.ledger.(checkout.Watcher); ok {
		opts.Changes = w.Watch(ctx) // a shared ledger: follow the other desks
	}
	if opts.Sandbox {
		for _, c := range sandbox.TestCodes {
			opts.TestCodes = append(opts.TestCodes, ui.TestCode{Method: c.Method, Behaviour: c.Behaviour, Code: c.Code})
		}
	}
	model := ui.New(opts)
	// A signal (kill, a shutdown, the terminal closing) stops the desk
	// the way q does: the model draws its blank last frame, so the shell
	// gets its screen back clean. Open sales are settled at the next start.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	prog := tea.NewProgram(model, tea.WithAltScreen(), tea.WithoutSignalHandler())
	go func() {
		select {
		case s := <-sigs:
			d.log.Info("stopping on a signal", "signal", s.String())
			prog.Send(ui.ShutdownMsg{})
		case <-d.lost():
			// Another desk took this terminal over (this one had been
			// silent past the heartbeat timeout): two desks must never
			// sell under one id.
			d.log.Error("the terminal was taken over by another desk; stopping", "terminal", d.cfg.Shop.Terminal)
			prog.Send(ui.ShutdownMsg{})
		case <-ctx.Done():
		}
	}()
	if _, err := prog.Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		d.log.Error("desk stopped", "err", err)
		return fmt.Errorf("%s: %w", catalog.New(d.cfg.lang).T("cli.run.desk_stopped"), err)
	}
	d.log.Info("till stopped")
	return nil
}
