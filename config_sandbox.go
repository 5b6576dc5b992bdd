package main

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// A config marked `sandbox = true` (top level, before any section) points
// the desk at emulators that run outside it, as `till sandbox --export`
// writes: its [wechat] and [alipay] sections name the sandbox merchant and
// the emulators' URLs. Such a desk is a sandbox in every way but one:
//
//   - it says SANDBOX on screen and its ledger is the sandbox's
//     ($XDG_DATA_HOME/till/sandbox/till.db by default), stamped sandbox,
//     so a live ledger refuses it and a live desk refuses its ledger;
//   - its notify_url may be http on loopback (and only on loopback);
//   - its api_base and gateway must be on this machine: a config marked
//     sandbox never talks to the real providers;
//   - but it starts no emulators of its own (that is emulated).
//
// Without [wechat] or [alipay] the mark changes nothing: that is the
// in-process sandbox already.

// emulated reports whether no merchant account is configured, so that
// the desk runs the emulators itself and gives them its own listener's
// URL as notify_url.
func (c *Config) emulated() bool { return c.WeChat == nil && c.Alipay == nil }

// checkSandboxMark holds a config marked sandbox to the emulators on this
// machine, and lets its providers' notify_url be on loopback.
func (c *Config) checkSandboxMark() error {
	if !c.SandboxMark {
		return nil
	}
	if w := c.WeChat; w != nil {
		if err := onThisMachine(w.APIBase, "http://127.0.0.1:PORT"); err != nil {
			return fmt.Errorf("wechat.api_base: %w", err)
		}
		w.Sandbox = true
	}
	if a := c.Alipay; a != nil {
		if err := onThisMachine(a.Gateway, "http://127.0.0.1:PORT/gateway.do"); err != nil {
			return fmt.Errorf("alipay.gateway: %w", err)
		}
		a.Sandbox = true
	}
	return nil
}

// onThisMachine checks that an emulator's URL is set and on loopback.
func onThisMachine(s, example string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return fmt.Errorf("is unset, and a config marked `sandbox = true` talks only to the emulators: give their URL on this machine, e.g. %s (`till sandbox --export` writes it)", example)
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL, e.g. %s", s, example)
	}
	if !isLoopbackHost(u.Hostname()) {
		return fmt.Errorf("%q is not on this machine, and a config marked `sandbox = true` talks only to the emulators (e.g. %s); remove `sandbox = true` to take real payments", s, example)
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackAddr checks a --wechat-addr or --alipay-addr: host:port on
// loopback (the emulators take anyone's payment: they are not for the
// network).
func loopbackAddr(flag, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--%s %q is not HOST:PORT (e.g. 127.0.0.1:8071)", flag, addr)
	}
	if !isLoopbackHost(host) {
		return fmt.Errorf("--%s %q: the emulators listen on loopback only (127.0.0.1, ::1 or localhost)", flag, addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("--%s %q: %q is not a port (1 to 65535)", flag, addr, port)
	}
	return nil
}
