package main

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// checkLedger checks [ledger]: a url is a PostgreSQL one (its password is
// never repeated in a message), and a shared ledger is backed up by the
// database, not by till's copies of a file.
func (c *Config) checkLedger() error {
	l := c.Ledger
	if l.HeartbeatTimeout < 10*time.Second || l.HeartbeatTimeout > time.Hour {
		return fmt.Errorf("ledger.heartbeat_timeout: %s is out of range; 10s to 1h", l.HeartbeatTimeout)
	}
	if l.URL == "" {
		return nil
	}
	if !isPostgresURL(l.URL) {
		return errors.New("ledger.url: must be a PostgreSQL URL, e.g. postgres://till@db.shop.lan/till")
	}
	if c.Backup.Dir != "" {
		return errors.New("backup.dir: a shared ledger on PostgreSQL is backed up with the database's own tools (pg_dump), not by till: unset backup.dir")
	}
	return nil
}

// applyOverrides puts the command line's --ledger and --terminal over the
// config file's, and checks the result again.
func (c *Config) applyOverrides(cli *CLI) error {
	if cli.Ledger != "" {
		c.Ledger.URL = cli.Ledger
	}
	if cli.Terminal != "" {
		c.Shop.Terminal = cli.Terminal
	}
	if cli.Ledger == "" && cli.Terminal == "" {
		return nil
	}
	if err := c.Validate(); err != nil {
		return usageError{fmt.Errorf("--ledger/--terminal: %w", err)}
	}
	return nil
}

// shared reports a ledger several desks share.
func (c *Config) shared() bool { return c.Ledger.URL != "" }

// isPostgresURL reports a postgres:// URL that names a server (a host,
// or a socket directory in ?host=).
func isPostgresURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") && (u.Host != "" || u.Query().Get("host") != "")
}
