package ui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// A frame is put together from parts that lipgloss would measure again
// each time they are joined, padded or cut: lipgloss.JoinHorizontal, the
// app's padding and clampView each take the width of every line, and the
// QR code's lines, the most of a waiting frame, never change while the
// order and the window stay. A block carries its lines with their widths,
// so a part measured once (the code, per order and size) is not measured
// again per frame, and a fresh part (the details, the header) once.
//
// The functions here give, byte for byte, what the lipgloss calls they
// stand for give (the tests compare them).

// block is text as lines, each with its width in cells (ansi.StringWidth).
type block struct {
	lines  []string
	widths []int
}

// measure splits s into lines and measures each.
func measure(s string) block {
	lines := strings.Split(s, "\n")
	widths := make([]int, len(lines))
	for i, l := range lines {
		widths[i] = ansi.StringWidth(l)
	}
	return block{lines: lines, widths: widths}
}

// spaces is a one-line block of n spaces.
func spaces(n int) block {
	return block{lines: []string{strings.Repeat(" ", n)}, widths: []int{n}}
}

// width is the widest line's width (lipgloss.Width).
func (b block) width() int {
	w := 0
	for _, x := range b.widths {
		w = max(w, x)
	}
	return w
}

// height is the block's rows (lipgloss.Height).
func (b block) height() int { return len(b.lines) }

func (b block) String() string { return strings.Join(b.lines, "\n") }

// below is b with c under it (b + "\n" + c).
func (b block) below(c block) block {
	return block{lines: append(b.lines[:len(b.lines):len(b.lines)], c.lines...),
		widths: append(b.widths[:len(b.widths):len(b.widths)], c.widths...)}
}

// joinTop is lipgloss.JoinHorizontal(lipgloss.Top, bs...): the blocks side
// by side, tops aligned, each padded with spaces to its widest line and
// the shorter ones with blank lines below. Every line of the result is
// the sum of the blocks' widths wide.
func joinTop(bs ...block) block {
	switch len(bs) {
	case 0:
		return block{lines: []string{""}, widths: []int{0}}
	case 1:
		return bs[0]
	}
	rows, total := 0, 0
	widest := make([]int, len(bs))
	for i, b := range bs {
		rows = max(rows, len(b.lines))
		widest[i] = b.width()
		total += widest[i]
	}
	out := block{lines: make([]string, rows), widths: make([]int, rows)}
	var sb strings.Builder
	for r := range rows {
		sb.Reset()
		sb.Grow(total + 64)
		for i, b := range bs {
			w := 0
			if r < len(b.lines) {
				sb.WriteString(b.lines[r])
				w = b.widths[r]
			}
			writeSpaces(&sb, widest[i]-w)
		}
		out.lines[r], out.widths[r] = sb.String(), total
	}
	return out
}

// clamp is clampView on a block: at most h rows (at least one), each cut
// to w columns.
func (b block) clamp(w, h int) block {
	n := min(len(b.lines), max(h, 1))
	out := block{lines: b.lines[:n:n], widths: b.widths[:n:n]}
	cut := false
	for i, x := range out.widths {
		if x <= w {
			continue
		}
		if !cut { // copy before writing: b's lines may be a kept block's
			out.lines, out.widths = append([]string(nil), out.lines...), append([]int(nil), out.widths...)
			cut = true
		}
		out.lines[i] = ansi.Truncate(out.lines[i], max(w, 1), "")
		out.widths[i] = ansi.StringWidth(out.lines[i])
	}
	return out
}

// padApp is what Styles.App (Padding(0, 1), no colour) renders of
// b.String(): a space either side of every line and the lines padded
// with spaces to the widest. ok is false when b holds a tab or a carriage
// return, which lipgloss rewrites first: then render it with lipgloss.
func padApp(b block) (s string, ok bool) {
	widest, size := 0, 0
	for i, l := range b.lines {
		if strings.IndexByte(l, '\t') >= 0 || strings.IndexByte(l, '\r') >= 0 {
			return "", false
		}
		widest = max(widest, b.widths[i])
		size += len(l)
	}
	var sb strings.Builder
	sb.Grow(size + len(b.lines)*(widest+3))
	for i, l := range b.lines {
		if i > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteByte(' ')
		sb.WriteString(l)
		writeSpaces(&sb, 1+widest-b.widths[i])
	}
	return sb.String(), true
}

const blanks = "                                                                                                                                "

func writeSpaces(sb *strings.Builder, n int) {
	for n > 0 {
		k := min(n, len(blanks))
		sb.WriteString(blanks[:k])
		n -= k
	}
}
