package pgtest

import (
	"strings"
	"testing"
)

func TestFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, c := range []struct {
		name       string
		env        func(string) string
		url        string
		skip, fail bool
	}{
		{"set", env("TILL_TEST_PG_URL", "postgres://x/y"), "postgres://x/y", false, false},
		{"set in CI", env("TILL_TEST_PG_URL", "postgres://x/y", "CI", "true"), "postgres://x/y", false, false},
		{"unset: skip", env(), "", true, false},
		{"unset in CI: fail", env("CI", "true"), "", false, true},
		{"unset in CI=1: fail", env("CI", "1"), "", false, true},
	} {
		u, why, fail := FromEnv(c.env)
		if u != c.url || fail != c.fail || (c.skip || c.fail) != (why != "") {
			t.Errorf("%s: url %q, why %q, fail %v", c.name, u, why, fail)
		}
	}
	if _, why, _ := FromEnv(env()); !strings.Contains(why, "TILL_TEST_PG_URL") || !strings.Contains(why, ".ci/postgres") {
		t.Errorf("the skip message %q should say what to set and how", why)
	}
}
