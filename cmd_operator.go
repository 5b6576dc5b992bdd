package main

import (
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"till/catalog"
	"till/checkout"
)

// operatorCmd holds the operators' subcommands. With operators
// configured, the desk asks who is at the counter at start and on o, and
// every sale and refund carries the name.
type operatorCmd struct {
	Add  operatorAddCmd  `cmd:"" help:"Add an operator (needs the manager PIN)."`
	List operatorListCmd `cmd:"" help:"List the operators."`
}

type operatorAddCmd struct {
	ID   string `arg:"" help:"A short id (letters and digits, e.g. lin)."`
	Name string `arg:"" help:"The name the desk shows."`
}

func (c *operatorAddCmd) Run(cli *CLI, out io.Writer, e errWriter) error {
	return onLedger(cli, out, e, c)
}
func (c *operatorAddCmd) needsPIN() bool { return true }

func (c *operatorAddCmd) runOn(s *services, out io.Writer) error {
	p := s.p
	if !checkout.ValidTerminal(c.ID) || utf8.RuneCountInString(c.Name) > 40 || c.Name == "" {
		return usageError{errors.New(p.T("cli.operator.bad"))}
	}
	if err := s.requirePIN(); err != nil {
		return err
	}
	op, err := s.ledger.AddOperator(s.ctx(), checkout.Operator{ID: c.ID, Name: c.Name})
	if errors.Is(err, checkout.ErrExists) {
		return errors.New(p.T("cli.operator.exists", catalog.V{"ID": c.ID}))
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(out, p.T("cli.operator.added", catalog.V{"ID": op.ID, "Name": op.Name}))
	return nil
}

type operatorListCmd struct{}

func (c *operatorListCmd) Run(cli *CLI, out io.Writer, e errWriter) error {
	return onLedger(cli, out, e, c)
}

func (c *operatorListCmd) runOn(s *services, out io.Writer) error {
	ops, err := s.ledger.Operators(s.ctx())
	if err != nil {
		return err
	}
	if len(ops) == 0 {
		fmt.Fprintln(out, s.p.T("cli.operator.none"))
		return nil
	}
	for _, op := range ops {
		fmt.Fprintf(out, "%-8s  %s\n", op.ID, op.Name)
	}
	return nil
}
