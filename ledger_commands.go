package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"github.com/charmbracelet/x/term"

	"till/backup"
	"till/catalog"
	"till/checkout"
	"till/control"
	"till/manager"
)

// The commands that work on the ledger (orders, refund, pin set, operator,
// audit) run the same code whether a desk holds the ledger or not: with
// the file free they open it themselves; with a desk (or later `till
// serve`) holding it, they send their command line through the holder's
// control socket, and the holder runs the command against its open
// ledger and sends back what it printed and its exit code.

// ledgerCommand is a subcommand that works on an open ledger.
type ledgerCommand interface {
	runOn(s *services, out io.Writer) error
}

// pinCommand is a ledgerCommand that changes money or the day: it needs
// the manager PIN, which the client reads (TILL_MANAGER_PIN, or a prompt)
// before anything is sent.
type pinCommand interface {
	ledgerCommand
	needsPIN() bool
}

// services is what a ledger command works on, and for whom.
type services struct {
	cfg    *Config
	ledger deskLedger
	engine *checkout.Engine
	guard  *manager.Guard
	log    *slog.Logger
	p      *catalog.Printer
	env    func(string) string
	stderr io.Writer
	// actor is who the command acts as: the operator named by
	// TILL_OPERATOR, or "manager" once the PIN was checked, at this
	// counter, via "cli".
	actor checkout.Actor
	// base is the context the command runs under: the client's call in
	// the holder (it ends when the client goes away).
	base context.Context
	// dir is the client's working directory, for the paths it names
	// ("" for the current one).
	dir string
	// backups writes the automatic copies; nil when [backup] is off.
	backups *backup.Keeper
}

// path resolves a path the client named against its working directory.
func (s *services) path(p string) string {
	if filepath.IsAbs(p) || s.dir == "" {
		return p
	}
	return filepath.Join(s.dir, p)
}

// ctx returns the context the command's ledger calls run under, carrying
// its actor for the audit entries.
func (s *services) ctx() context.Context {
	b := s.base
	if b == nil {
		b = context.Background()
	}
	return checkout.WithActor(b, s.actor)
}

// requirePIN checks the manager PIN the client sent (TILL_MANAGER_PIN)
// and words a refusal for the command line. The check, and a wrong PIN's
// count towards the lock, are in the ledger.
func (s *services) requirePIN() error {
	err := s.guard.Check(s.ctx(), s.env("TILL_MANAGER_PIN"))
	if err == nil {
		if s.env("TILL_OPERATOR") == "" {
			s.actor.Operator = "manager"
		}
		return nil
	}
	return wordPIN(s, err)
}

// wordPIN words a refused PIN for the command line.
func wordPIN(s *services, err error) error {
	var (
		wrong  *manager.WrongPINError
		locked *manager.LockedError
	)
	switch {
	case errors.Is(err, manager.ErrNoPIN):
		return errors.New(s.p.T("cli.pin.none"))
	case errors.As(err, &wrong):
		return errors.New(s.p.N("cli.pin.wrong", wrong.Left))
	case errors.As(err, &locked):
		return errors.New(s.p.T("cli.pin.locked", catalog.V{"Until": s.p.Clock(locked.Until.In(s.cfg.location))}))
	case errors.Is(err, manager.ErrPINChanged):
		return errors.New(s.p.T("cli.pin.changed_meanwhile"))
	case errors.Is(err, manager.ErrBadHash):
		return errors.New(s.p.T("cli.pin.damaged"))
	}
	return err
}

// day is the shop's calendar day named by arg (YYYY-MM-DD; "" today) as
// the instants [from, to).
func (s *services) day(arg string) (day string, from, to time.Time, err error) {
	t := time.Now().In(s.cfg.location)
	if arg != "" {
		if t, err = time.ParseInLocation("2006-01-02", arg, s.cfg.location); err != nil {
			return "", time.Time{}, time.Time{}, usageError{errors.New(s.p.T("cli.day.bad", catalog.V{"Day": arg}))}
		}
	}
	from, to = checkout.DayBounds(t, s.cfg.location)
	return from.Format("2006-01-02"), from, to, nil
}

// envKeys are the variables a command through the socket may read.
var envKeys = []string{"TILL_MANAGER_PIN", "TILL_MANAGER_PIN_NEW", "TILL_OPERATOR", "LANG", "LC_ALL", "LC_MESSAGES"}

// onLedger runs cmd: through the holder's control socket when one holds
// the ledger, else on the ledger opened here.
func onLedger(cli *CLI, out io.Writer, errOut errWriter, cmd ledgerCommand) error {
	p, cfg, err := cliConfig(cli)
	if err != nil {
		return err
	}
	pr := catalog.New(catalog.FromEnv(os.Getenv))
	env := map[string]string{}
	for _, k := range envKeys {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	if x, ok := cmd.(interface{ extraEnv() map[string]string }); ok {
		for k, v := range x.extraEnv() {
			env[k] = v
		}
	}
	if pc, ok := cmd.(pinCommand); ok && pc.needsPIN() && env["TILL_MANAGER_PIN"] == "" {
		pin, err := promptSecret(pr.T("cli.pin.prompt"))
		if err != nil {
			return usageError{errors.New(pr.T("cli.pin.needed"))}
		}
		env["TILL_MANAGER_PIN"] = pin
	}
	if cfg.shared() {
		// A shared ledger has no holder: every process opens it.
		return runHere(p, cfg, env, errOut, out, cmd)
	}
	dbPath := p.ledgerPath(cfg.Sandbox())
	sock, err := control.SocketPath(dbPath)
	if err != nil {
		return err
	}
	wd, _ := os.Getwd()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	resp, err := control.Call(ctx, sock, control.Request{Args: cli.args, Env: env, Dir: wd})
	switch {
	case err == nil:
		if _, werr := out.Write(resp.Stdout); werr != nil {
			return werr
		}
		_, _ = errOut.Write(resp.Stderr)
		return exitCode(resp.Exit)
	case errors.Is(err, control.ErrOutcomeUnknown):
		return errors.New(pr.T("cli.holder.outcome_unknown", catalog.V{"Err": err.Error()}))
	case !errors.Is(err, control.ErrNoHolder):
		return err
	}
	// Nobody holds the ledger: open it here.
	return runHere(p, cfg, env, errOut, out, cmd)
}

// runHere runs cmd on the ledger opened by this process, with the config
// onLedger loaded.
func runHere(p paths, cfg *Config, env map[string]string, errOut errWriter, out io.Writer, cmd ledgerCommand) error {
	d, err := openDeskOn(p, cfg, "")
	if err != nil {
		return err
	}
	defer d.Close()
	s := d.services(func(k string) string { return env[k] }, errOut)
	return cmd.runOn(s, out)
}

// services builds the services of a command run on d's ledger, reading
// env and writing its warnings to stderr.
func (d *desk) services(env func(string) string, stderr io.Writer) *services {
	lang := d.cfg.lang
	if d.cfg.UI.Language == "" {
		lang = catalog.FromEnv(env)
	}
	op := strings.TrimSpace(env("TILL_OPERATOR"))
	if op == "" {
		op = checkout.DefaultOperator
	}
	return &services{
		cfg: d.cfg, ledger: d.ledger, engine: d.engine, log: d.log, env: env, stderr: stderr, backups: d.backups,
		guard: manager.New(d.ledger, checkout.SystemClock),
		p:     catalog.New(lang),
		actor: checkout.Actor{Terminal: d.cfg.Shop.Terminal, Operator: op, Via: "cli"},
	}
}

// errWriter is where a command writes what is not its output (kong binds
// it beside the output writer).
type errWriter struct{ io.Writer }

// exitError carries a command's exit code from the holder.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// exitCode turns a holder's exit code into run's error (nil for 0).
func exitCode(code int) error {
	if code == exitOK {
		return nil
	}
	return exitError{code}
}

// serve starts d's control socket; Close stops it (before the ledger
// closes: it is in d.closers after the ledger).
func (d *desk) serve() error {
	if d.dbPath == "" {
		return nil // a shared ledger: the other processes open it themselves
	}
	path, err := control.SocketPath(d.dbPath)
	if err != nil {
		return err
	}
	srv, err := control.Listen(path, serveCommands(d), d.log.With("pkg", "control"))
	if err != nil {
		return err
	}
	d.closers = append(d.closers, srv)
	return nil
}

// serveCommands is the holder's side: it runs a command line sent
// through the control socket on d's ledger, as the command would run on
// its own, and answers what it printed and its exit code.
func serveCommands(d *desk) control.Handler {
	return func(ctx context.Context, req control.Request) control.Response {
		var stdout, stderr bytes.Buffer
		env := func(k string) string { return req.Env[k] }
		code := runHeld(ctx, d, req.Args, env, req.Dir, &stdout, &stderr)
		return control.Response{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), Exit: code}
	}
}

// runHeld parses args as run does and runs the ledger command they name on
// d's ledger. Only ledger commands are run for a client: a desk, the
// sandbox or a second listener are refused.
func runHeld(ctx context.Context, d *desk, args []string, env func(string) string, dir string, stdout, stderr io.Writer) int {
	var cli CLI
	exit := -1
	parser, err := kong.New(&cli, kong.Name("till"), kong.Writers(stdout, stderr), kong.Exit(func(code int) { exit = code }))
	if err != nil {
		fmt.Fprintln(stderr, "till:", err)
		return exitFail
	}
	kctx, err := parser.Parse(args)
	if exit >= 0 {
		return exit
	}
	if err != nil {
		fmt.Fprintln(stderr, "till:", err)
		return exitUsage
	}
	cmd, ok := kctx.Selected().Target.Addr().Interface().(ledgerCommand)
	if !ok {
		fmt.Fprintln(stderr, "till: the desk runs only ledger commands for others")
		return exitUsage
	}
	s := d.services(env, stderr)
	s.base, s.dir = ctx, dir
	if err := cmd.runOn(s, stdout); err != nil {
		var ee exitError
		if errors.As(err, &ee) { // the command said what it had to
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

// promptSecret reads a secret from the terminal without echo; it fails
// when stdin is not a terminal (a script must set the variable).
func promptSecret(prompt string) (string, error) {
	fd := os.Stdin.Fd()
	if !term.IsTerminal(fd) {
		return "", errors.New("not a terminal")
	}
	fmt.Fprint(os.Stderr, prompt)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	return strings.TrimSpace(string(b)), err
}
