package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"till/checkout"
)

// serveCmd is `till serve`: the desk's work without its screen, for a
// machine that takes the providers' notifications while no desk is open.
// It holds the ledger as a desk does (one holder per file: a desk started
// meanwhile is told `till serve` holds it), serves the ledger commands
// through the control socket, runs the listener and settles open orders
// and refunds on the desk's schedule.
type serveCmd struct {
	Listen string `help:"Take the providers' notifications on this address (host:port), as [webhook] listen does." placeholder:"ADDR"`
}

func (c serveCmd) Run(cli *CLI, out io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runServe(ctx, cli, c.Listen, out, nil)
}

// runServe is `till serve` until ctx ends; ready, when set, is given the
// running desk once the socket and the listener are up (tests).
func runServe(ctx context.Context, cli *CLI, listen string, out io.Writer, ready func(*desk)) error {
	d, err := openDeskAs(cli, "till serve")
	if err != nil {
		return err
	}
	// Close stops, in order: the control socket, the listener, the
	// sandbox's emulators, the ledger, the log.
	defer d.Close()
	if err := d.listen(listen); err != nil {
		return err
	}
	if err := d.serve(); err != nil {
		return err
	}
	if err := d.register(); err != nil {
		return err
	}
	slog.SetDefault(d.log)
	if notice := startNotice(d.cfg); notice != "" {
		d.log.Warn(notice)
	}
	mode := "live"
	if d.cfg.Sandbox() {
		mode = "sandbox"
	}
	if d.listenURL != "" {
		fmt.Fprintf(out, "till serve (%s): ledger %s; notifications on %s (POST /notify/wechat, /notify/alipay; GET /healthz)\n", mode, d.ledgerName(), d.listenURL)
	} else {
		fmt.Fprintf(out, "till serve (%s): ledger %s; the notification listener is off (set [webhook] listen or --listen); settling open orders by polling\n", mode, d.ledgerName())
	}
	d.log.Info("till serve started", "db", d.ledgerName(), "listen", d.listenURL)
	if d.backups != nil {
		go d.backups.Run(ctx, nil)
	}
	if ready != nil {
		ready(d)
	}
	settle(ctx, d)
	d.log.Info("till serve stopping")
	return nil
}

// settle runs the settling passes until ctx ends: one at once, then one
// every checkout.SettleEvery, or sooner when a late check or a
// backed-off retry falls due (the engine keeps the schedule).
func settle(ctx context.Context, d *desk) {
	t := time.NewTimer(0)
	defer t.Stop()
	told := map[string]bool{} // late payments logged already
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pass := d.engine.Recover(ctx)
		logPass(d.log, pass, told)
		t.Reset(checkout.NextPassIn(pass, d.engine.Now()))
	}
}

// logPass writes what a settling pass did to the log: the desk shows it on
// screen, serve has only the log. A late payment is logged once per run
// (told), not at every pass until a clerk acknowledges it at a desk.
func logPass(log *slog.Logger, pass checkout.Pass, told map[string]bool) {
	for _, o := range pass.Settled {
		log.Info("settled", "order", o.No, "state", o.State)
	}
	for _, r := range pass.Refunds {
		log.Info("refund settled", "order", r.OrderNo, "refund", r.No, "state", r.State)
	}
	for _, r := range pass.RefundsPending {
		log.Info("refund still processing", "order", r.OrderNo, "refund", r.No)
	}
	for _, o := range pass.Late {
		if told[o.No] {
			continue
		}
		told[o.No] = true
		log.Warn("paid after it was closed: refund or keep it at the desk", "order", o.No, "amount", o.Amount.String())
	}
	for _, err := range pass.Errors {
		log.Warn("not settled yet; asking again at the next pass", "err", err)
	}
	if pass.LedgerErr != nil {
		log.Error("settling pass could not read the ledger", "err", pass.LedgerErr)
	}
}
