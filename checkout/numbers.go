package checkout

import (
	"fmt"
	"regexp"
	"sync"
)

var terminalRE = regexp.MustCompile(`^[0-9A-Za-z]{1,8}$`)

// ValidTerminal reports whether id can stand in order numbers: 1 to 8
// letters or digits (Alipay allows no '-' in out_trade_no).
func ValidTerminal(id string) bool { return terminalRE.MatchString(id) }

// Numbers mints order and refund numbers that are unique forever and sort
// by creation time: UTC yyyyMMddHHmmss + milliseconds, the terminal id, a
// kind letter for refunds, and a per-process sequence. At most 28 of the
// 32 characters both providers allow, all in [0-9A-Za-z].
type Numbers struct {
	Terminal string
	Clock    Clock

	mu  sync.Mutex
	seq int
}

const base36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

func (n *Numbers) next(kind string) string {
	n.mu.Lock()
	n.seq = (n.seq + 1) % (36 * 36)
	s := n.seq
	n.mu.Unlock()
	t := n.Clock.Now().UTC()
	return fmt.Sprintf("%s%03d%s%s%c%c", t.Format("20060102150405"), t.Nanosecond()/1e6,
		n.Terminal, kind, base36[s/36], base36[s%36])
}

// Order returns a new out_trade_no.
func (n *Numbers) Order() string { return n.next("") }

// Refund returns a new out_refund_no / out_request_no.
func (n *Numbers) Refund() string { return n.next("R") }
