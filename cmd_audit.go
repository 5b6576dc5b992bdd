package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"till/catalog"
	"till/checkout"
)

// auditCmd prints a day of the audit trail, or checks the whole chain.
type auditCmd struct {
	Day    string `help:"The day, YYYY-MM-DD in the shop's time zone (default: today)." placeholder:"YYYY-MM-DD"`
	JSON   bool   `name:"json" help:"Print JSON."`
	Verify bool   `help:"Check the whole trail: every entry in its place and unchanged."`
}

func (c *auditCmd) Run(cli *CLI, out io.Writer, e errWriter) error { return onLedger(cli, out, e, c) }

func (c *auditCmd) runOn(s *services, out io.Writer) error {
	p := s.p
	if c.Verify {
		check, err := s.ledger.VerifyAudit(s.ctx())
		if err != nil {
			return err
		}
		if c.JSON {
			if err := json.NewEncoder(out).Encode(map[string]any{"ok": check.OK(), "entries": check.Entries, "broken": check.Broken, "reason": check.Reason}); err != nil {
				return err
			}
		} else if check.OK() {
			fmt.Fprintln(out, p.N("cli.audit.ok", int(check.Entries)))
		}
		if !check.OK() {
			return errors.New(p.T("cli.audit.broken", catalog.V{"N": check.Broken, "Reason": check.Reason}))
		}
		return nil
	}
	day, from, to, err := s.day(c.Day)
	if err != nil {
		return err
	}
	entries, err := s.ledger.AuditBetween(s.ctx(), from, to)
	if err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if entries == nil {
			entries = []checkout.AuditEntry{}
		}
		return enc.Encode(struct {
			Day      string                `json:"day"`
			Timezone string                `json:"timezone"`
			Entries  []checkout.AuditEntry `json:"entries"`
		}{day, s.cfg.location.String(), entries})
	}
	fmt.Fprintln(out, p.N("cli.audit.title", len(entries), catalog.V{"Day": day, "Zone": s.cfg.location.String()}))
	for _, e := range entries {
		fmt.Fprintln(out, auditLine(s, e))
	}
	return nil
}

// auditLine is one entry: number, time, who, what.
func auditLine(s *services, e checkout.AuditEntry) string {
	who := e.Operator
	if e.Via != "" {
		who += "/" + e.Via
	}
	parts := []string{fmt.Sprintf("%5d", e.Seq), s.p.ClockSeconds(e.At.In(s.cfg.location)), e.Terminal, who, string(e.Kind)}
	if e.From != "" || e.To != "" {
		parts = append(parts, strings.TrimPrefix(e.From+"→"+e.To, "→"))
	}
	for _, x := range []string{e.Order, e.Refund} {
		if x != "" {
			parts = append(parts, x)
		}
	}
	if e.Amount != 0 {
		parts = append(parts, s.p.Money(e.Amount))
	}
	if e.Detail != "" {
		parts = append(parts, e.Detail)
	}
	return strings.Join(parts, "  ")
}
