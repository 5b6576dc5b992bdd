package manager

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestHashVerifyRoundTrip(t *testing.T) {
	h, err := Hash("4826", cheap)
	if err != nil {
		t.Fatal(err)
	}
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(h) {
		t.Fatalf("hash %q is not PHC argon2id with the given params", h)
	}
	if ok, err := Verify("4826", h); err != nil || !ok {
		t.Fatalf("Verify(right) = %v, %v; want true", ok, err)
	}
	for _, wrong := range []string{"4827", "48260", "", "４８２６"} {
		if ok, err := Verify(wrong, h); err != nil || ok {
			t.Errorf("Verify(%q) = %v, %v; want false, nil", wrong, ok, err)
		}
	}
	h2, _ := Hash("4826", cheap)
	if h2 == h {
		t.Error("two hashes of one PIN are equal: salt not random")
	}
}

func TestVerifyReadsParamsFromHash(t *testing.T) {
	other := Params{Memory: 128, Time: 2, Threads: 2, KeyLen: 16}
	h, err := Hash("739155", other)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h, "$m=128,t=2,p=2$") {
		t.Fatalf("params not recorded: %q", h)
	}
	// A Guard whose defaults are different still checks the old hash.
	l, c := &fakeLedger{}, newClock()
	l.st.Hash = h
	g := New(l, c, WithParams(cheap))
	if err := g.Check(t.Context(), "739155"); err != nil {
		t.Fatalf("Check with a hash of other params: %v", err)
	}
	var w *WrongPINError
	if err := g.Check(t.Context(), "739156"); !errors.As(err, &w) {
		t.Fatalf("wrong PIN: %v, want *WrongPINError", err)
	}
}

func TestVerifyRefusesMalformed(t *testing.T) {
	good, err := Hash("4826", cheap)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(good, "$") // "", alg, v, params, salt, hash
	with := func(i int, v string) string {
		g := append([]string(nil), f...)
		g[i] = v
		return strings.Join(g, "$")
	}
	cases := map[string]string{
		"empty":            "",
		"garbage":          "not a hash",
		"prefix only":      "$argon2id$",
		"too few fields":   strings.Join(f[:5], "$"),
		"extra field":      good + "$x",
		"no leading $":     strings.TrimPrefix(good, "$"),
		"argon2i":          with(1, "argon2i"),
		"bcrypt":           "$2a$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
		"version 16":       with(2, "v=16"),
		"no version":       with(2, ""),
		"memory 4 GiB":     with(3, "m=4194304,t=1,p=1"),
		"memory > uint32":  with(3, "m=99999999999,t=1,p=1"),
		"memory just over": with(3, "m=262145,t=1,p=1"),
		"memory 0":         with(3, "m=0,t=1,p=1"),
		"memory below 8p":  with(3, "m=8,t=1,p=2"),
		"time huge":        with(3, "m=64,t=1000000,p=1"),
		"time 0":           with(3, "m=64,t=0,p=1"),
		"threads 255":      with(3, "m=4096,t=1,p=255"),
		"threads > uint8":  with(3, "m=64,t=1,p=256"),
		"threads 0":        with(3, "m=64,t=0,p=0"),
		"negative":         with(3, "m=-64,t=1,p=1"),
		"plus sign":        with(3, "m=+64,t=1,p=1"),
		"reordered":        with(3, "t=1,m=64,p=1"),
		"missing p":        with(3, "m=64,t=1"),
		"extra param":      with(3, "m=64,t=1,p=1,k=2"),
		"space":            with(3, "m=64, t=1,p=1"),
		"empty params":     with(3, ""),
		"salt padded":      with(4, f[4]+"=="),
		"salt not b64":     with(4, "!!!!!!!!!!!!"),
		"salt too short":   with(4, "AAAA"),
		"salt empty":       with(4, ""),
		"hash empty":       with(5, ""),
		"hash too short":   with(5, "AAAAAAAA"),
		"hash too long":    with(5, strings.Repeat("A", 100)),
		"hash not b64":     with(5, strings.Repeat("*", 43)),
	}
	for name, enc := range cases {
		t.Run(name, func(t *testing.T) {
			ok, err := Verify("4826", enc)
			if ok || !errors.Is(err, ErrBadHash) {
				t.Fatalf("Verify(%q) = %v, %v; want false, ErrBadHash", enc, ok, err)
			}
		})
	}
}

func TestHashRefusesBadParams(t *testing.T) {
	for _, p := range []Params{
		{},
		{Memory: 64, Time: 1, Threads: 1, KeyLen: 8},
		{Memory: 1 << 20, Time: 1, Threads: 1, KeyLen: 32},
		{Memory: 64, Time: 0, Threads: 1, KeyLen: 32},
	} {
		if h, err := Hash("4826", p); !errors.Is(err, ErrBadHash) {
			t.Errorf("Hash with %+v = %q, %v; want ErrBadHash", p, h, err)
		}
	}
}

// BenchmarkVerify is the cost of one PIN check at DefaultParams: what a
// clerk waits and what an offline guesser pays per guess.
func BenchmarkVerify(b *testing.B) {
	h, err := Hash("4826", DefaultParams)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, err := Verify("4826", h); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
