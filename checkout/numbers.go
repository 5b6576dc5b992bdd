package checkout

import (
	"crypto/rand"
	"fmt"
	"regexp"
	"sync"
)

var terminalRE = regexp.MustCompile(`^[0-9A-Za-z]{1,8}$`)

// ValidTerminal reports whether id can stand in order numbers: 1 to 8
// letters or digits (Alipay allows no '-' in out_trade_no).
func ValidTerminal(id string) bool { return terminalRE.MatchString(id) }

// DefaultTerminal is the terminal id of a desk that was not given one.
const DefaultTerminal = "T1"

// Numbers mints order and refund numbers that are unique forever and sort
// by creation time: UTC yyyyMMddHHmmss + milliseconds, the terminal id, a
// kind letter for refunds, an instance tag drawn at random when the
// Numbers is made, and a per-instance sequence. Two desks on one merchant
// account that share a terminal id (or both kept the default) and mint in
// the same millisecond still differ in the instance tag, so one desk never
// shows PAID for the other's customer or closes its trade. At most 32
// characters (both providers' limit), all in [0-9A-Z] plus the terminal's
// letters, so no provider that compares case-insensitively can confuse two.
type Numbers struct {
	Terminal string
	Clock    Clock

	once     sync.Once
	instance string

	mu  sync.Mutex
	seq int
}

const base36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// instanceTag is 4 random base-36 characters: 1.7 million values.
func instanceTag() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("checkout: no randomness for order numbers: " + err.Error())
	}
	for i := range b {
		b[i] = base36[int(b[i])%36]
	}
	return string(b[:])
}

func (n *Numbers) next(kind string) string {
	n.once.Do(func() { n.instance = instanceTag() })
	n.mu.Lock()
	n.seq = (n.seq + 1) % (36 * 36)
	s := n.seq
	n.mu.Unlock()
	t := n.Clock.Now().UTC()
	return fmt.Sprintf("%s%03d%s%s%s%c%c", t.Format("20060102150405"), t.Nanosecond()/1e6,
		n.Terminal, kind, n.instance, base36[s/36], base36[s%36])
}

// Order returns a new out_trade_no.
func (n *Numbers) Order() string { return n.next("") }

// Refund returns a new out_refund_no / out_request_no.
func (n *Numbers) Refund() string { return n.next("R") }
