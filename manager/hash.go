package manager

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id cost parameters. They are written into every
// hash, so raising them later still verifies the PINs set before.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over the memory
	Threads uint8  // lanes
	KeyLen  uint32 // bytes of hash output
}

// DefaultParams are above OWASP's argon2id minimum (m=19 MiB, t=2, p=1):
// a few tenths of a second per try (BenchmarkVerify), which a manager
// typing a PIN does not mind and which makes guessing a short PIN from a
// copied ledger slow. Run it off the UI loop.
var DefaultParams = Params{Memory: 64 * 1024, Time: 3, Threads: 2, KeyLen: 32}

// saltLen is the salt we write; Verify accepts other lengths within bounds
// so hashes from another tool still read.
const saltLen = 16

// Bounds on what a hash may ask for. A stored record is data from disk:
// without them a corrupted or forged one could make one check allocate
// gigabytes or run for minutes.
const (
	maxMemory  = 256 * 1024 // KiB: 256 MiB
	maxTime    = 16
	maxThreads = 16
	minKeyLen  = 16
	maxKeyLen  = 64
	minSaltLen = 8
	maxSaltLen = 64
)

// ErrBadHash: a stored hash is not an argon2id PHC string this package
// accepts. It is a damaged record, not a wrong PIN.
var ErrBadHash = errors.New("manager: malformed PIN hash")

func (p Params) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("%w: t=%d out of 1..%d", ErrBadHash, p.Time, maxTime)
	case p.Threads < 1 || p.Threads > maxThreads:
		return fmt.Errorf("%w: p=%d out of 1..%d", ErrBadHash, p.Threads, maxThreads)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("%w: m=%d out of %d..%d", ErrBadHash, p.Memory, 8*uint32(p.Threads), maxMemory)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("%w: key length %d out of %d..%d", ErrBadHash, p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// Hash returns pin hashed with a fresh random salt, in PHC string form:
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<threads>$<salt>$<hash>.
func Hash(pin string, p Params) (string, error) {
	if err := p.validate(); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("manager: salt: %w", err)
	}
	key := argon2.IDKey([]byte(pin), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether pin matches encoded, using the parameters written
// in encoded. A malformed string is an error wrapping ErrBadHash, never a
// plain false, so a damaged record is not mistaken for a wrong PIN.
func Verify(pin, encoded string) (bool, error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pin), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// decode parses a PHC argon2id string strictly: one form, no extras.
func decode(encoded string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return p, nil, nil, fmt.Errorf("%w: want 5 $-separated fields", ErrBadHash)
	}
	if parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: algorithm %q", ErrBadHash, parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: version %q", ErrBadHash, parts[2])
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return p, nil, nil, fmt.Errorf("%w: parameters %q", ErrBadHash, parts[3])
	}
	m, err1 := param(kv[0], "m=", 32)
	t, err2 := param(kv[1], "t=", 32)
	th, err3 := param(kv[2], "p=", 8)
	if err := errors.Join(err1, err2, err3); err != nil {
		return p, nil, nil, err
	}
	b64 := base64.RawStdEncoding.Strict()
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, fmt.Errorf("%w: salt: %v", ErrBadHash, err)
	}
	if len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return p, nil, nil, fmt.Errorf("%w: salt of %d bytes", ErrBadHash, len(salt))
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil {
		return p, nil, nil, fmt.Errorf("%w: hash: %v", ErrBadHash, err)
	}
	p = Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(th), KeyLen: uint32(len(key))}
	if err := p.validate(); err != nil {
		return Params{}, nil, nil, err
	}
	return p, salt, key, nil
}

// param reads "<prefix><decimal>" into at most bits bits.
func param(s, prefix string, bits int) (uint64, error) {
	v, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return 0, fmt.Errorf("%w: want %s..., got %q", ErrBadHash, prefix, s)
	}
	n, err := strconv.ParseUint(v, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("%w: %s%s", ErrBadHash, prefix, v)
	}
	return n, nil
}
