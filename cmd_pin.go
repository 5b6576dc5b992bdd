package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"till/catalog"
	"till/manager"
)

// pinCmd holds the PIN's subcommands.
type pinCmd struct {
	Set pinSetCmd `cmd:"" help:"Set or change the manager PIN (new from TILL_MANAGER_PIN_NEW or a prompt; the old, if any, from TILL_MANAGER_PIN or a prompt)."`
}

// pinSetCmd sets the manager PIN, or changes it with the old one.
type pinSetCmd struct {
	// typed at the prompts, sent as TILL_MANAGER_PIN(_NEW)
	oldPIN, newPIN string
}

func (c *pinSetCmd) extraEnv() map[string]string {
	env := map[string]string{}
	if c.oldPIN != "" {
		env["TILL_MANAGER_PIN"] = c.oldPIN
	}
	if c.newPIN != "" {
		env["TILL_MANAGER_PIN_NEW"] = c.newPIN
	}
	return env
}

func (c *pinSetCmd) Run(cli *CLI, out io.Writer, e errWriter) error {
	// The new PIN is read here, on the client's terminal, typed twice,
	// before anything is sent; the old one too when a PIN exists (the
	// ledger says so only to whoever opens it, so ask when not set).
	p := catalog.New(catalog.FromEnv(os.Getenv))
	if os.Getenv("TILL_MANAGER_PIN") == "" {
		// Whether a PIN is set only the ledger knows: ask for it, and
		// take no answer for none.
		c.oldPIN, _ = promptSecret(p.T("cli.pin.prompt_current"))
	}
	if os.Getenv("TILL_MANAGER_PIN_NEW") == "" {
		first, err := promptSecret(p.T("cli.pin.prompt_new"))
		if err != nil {
			return usageError{errors.New(p.T("cli.pin.new_needed"))}
		}
		again, err := promptSecret(p.T("cli.pin.prompt_again"))
		if err != nil || again != first {
			return usageError{errors.New(p.T("cli.pin.mismatch"))}
		}
		c.newPIN = first
	}
	return onLedger(cli, out, e, c)
}

func (c *pinSetCmd) runOn(s *services, out io.Writer) error {
	p := s.p
	has, err := s.guard.HasPIN(s.ctx())
	if err != nil {
		return err
	}
	if has && s.env("TILL_MANAGER_PIN") == "" {
		return usageError{errors.New(p.T("cli.pin.old_needed"))}
	}
	err = s.guard.Set(s.ctx(), s.env("TILL_MANAGER_PIN"), s.env("TILL_MANAGER_PIN_NEW"))
	var pe *manager.PINError
	switch {
	case err == nil:
		if has {
			fmt.Fprintln(out, p.T("cli.pin.changed"))
		} else {
			fmt.Fprintln(out, p.T("cli.pin.set"))
		}
		return nil
	case errors.As(err, &pe):
		return usageError{errors.New(pinRule(p, pe))}
	}
	return wordPIN(s, err)
}

// pinRule words why a new PIN was refused.
func pinRule(p *catalog.Printer, pe *manager.PINError) string {
	v := catalog.V{"Min": manager.MinPINLen, "Max": manager.MaxPINLen}
	switch pe.Code {
	case manager.PINTooShort, manager.PINTooLong:
		return p.T("cli.pin.rule.length", v)
	case manager.PINNotDigits:
		return p.T("cli.pin.rule.digits", v)
	case manager.PINTooSimple:
		return p.T("cli.pin.rule.simple", v)
	}
	return pe.Error()
}
