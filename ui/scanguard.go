package ui

import (
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"till/checkout"
)

// A barcode scanner is a keyboard: the customer's payment code arrives as
// fast digits and an Enter wherever the cursor is. Outside the code
// prompt such a run must be neither taken (as an amount, a note, a
// search) nor shown: scanGuard drops the rest of a scan once a field has
// recognised one.

// A barcode scanner types a code's digits a few milliseconds apart, a
// person a hundred or more. scannerPace is the slowest a key may follow
// the one before to be taken for a scanner's; scanGap the longest pause
// that still belongs to one scan (a slow wireless scanner's hiccup) once
// a scan is recognised.
const (
	scannerPace = 40 * time.Millisecond
	scanGap     = 150 * time.Millisecond
)

// scanGuard follows the keys' timing (on the desk's clock) and, once
// armed, drops the scan's remaining digits and its Enter.
type scanGuard struct {
	armed   bool
	lastKey time.Time
}

// fast reports a key at now that follows the last one at a scanner's
// pace, faster than a person types.
func (g scanGuard) fast(now time.Time) bool {
	return !g.lastKey.IsZero() && now.Sub(g.lastKey) <= scannerPace
}

// drop reports whether msg, typed at now, is the rest of an armed scan
// (and disarms at its Enter, at a pause, or at any other key, which is
// then taken as typed). It records the key's time either way.
func (g *scanGuard) drop(msg tea.KeyMsg, now time.Time) bool {
	gap := now.Sub(g.lastKey)
	g.lastKey = now
	if !g.armed {
		return false
	}
	if gap > scanGap {
		g.armed = false
		return false
	}
	switch {
	case msg.Type == tea.KeyRunes && !msg.Paste && isDigits(string(msg.Runes)):
		return true
	case msg.Type == tea.KeyEnter:
		g.armed = false
		return true
	}
	g.armed = false
	return false
}

// scrub takes out of in the customer's code that msg, pasted or typed at
// a scanner's pace (fast), has just brought into it, and arms g to drop
// the rest of a typed scan; it reports whether there was one. A long
// number typed by hand stays.
func (g *scanGuard) scrub(in *textinput.Model, msg tea.KeyMsg, fast bool) bool {
	v := in.Value()
	if !(msg.Paste || fast) || !checkout.HoldsCode(v) {
		return false
	}
	in.SetValue(stripCodes(v))
	g.armed = !msg.Paste
	return true
}

func isDigits(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }

// stripCodes takes out of s the runs of digits that may be a customer's
// payment code (checkout.HoldsCode).
func stripCodes(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexAny(s, "0123456789")
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		j := 0
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if !checkout.HoldsCode(s[:j]) {
			b.WriteString(s[:j])
		}
		s = s[j:]
	}
	return b.String()
}
