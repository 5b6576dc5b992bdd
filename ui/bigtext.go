package ui

import "strings"

// The large figures of the result and waiting screens: a small font of
// half-block glyphs, six pixels high, so a glyph is three text rows. A
// pixel row pair becomes one text row: '█' both, '▀' top, '▄' bottom.
// Readable from across the counter; drawn by bigText, tested by golden
// files.
var bigGlyphs = map[rune][6]string{
	'0': {" ## ", "#  #", "#  #", "#  #", "#  #", " ## "},
	'1': {"  # ", " ## ", "  # ", "  # ", "  # ", " ###"},
	'2': {" ## ", "#  #", "   #", "  # ", " #  ", "####"},
	'3': {"### ", "   #", " ## ", "   #", "   #", "### "},
	'4': {"#  #", "#  #", "#  #", "####", "   #", "   #"},
	'5': {"####", "#   ", "### ", "   #", "   #", "### "},
	'6': {" ## ", "#   ", "### ", "#  #", "#  #", " ## "},
	'7': {"####", "   #", "  # ", " #  ", " #  ", " #  "},
	'8': {" ## ", "#  #", " ## ", "#  #", "#  #", " ## "},
	'9': {" ## ", "#  #", "#  #", " ###", "   #", " ## "},
	'.': {"  ", "  ", "  ", "  ", "  ", "##"},
	',': {"  ", "  ", "  ", "  ", "##", " #"},
	':': {"  ", "##", "  ", "  ", "##", "  "},
	'-': {"    ", "    ", "####", "    ", "    ", "    "},
	'¥': {"#   #", " # # ", "#####", "  #  ", "#####", "  #  "},
}

// bigRows is how many text rows bigText draws.
const bigRows = 3

// bigText draws s in the large font, one space between glyphs. Runes the
// font lacks are left out: it draws figures, not words.
func bigText(s string) string {
	return drawGlyphs(s, bigRows, " ", func(g [6]string, i int, b *strings.Builder) {
		top, bottom := g[2*i], g[2*i+1]
		for c := range len(top) {
			switch t, bt := top[c] == '#', bottom[c] == '#'; {
			case t && bt:
				b.WriteRune('█')
			case t:
				b.WriteRune('▀')
			case bt:
				b.WriteRune('▄')
			default:
				b.WriteByte(' ')
			}
		}
	})
}

// hugeRows is how many text rows hugeText draws.
const hugeRows = 6

// hugeText draws s in the same font at twice the size, for a large
// window: a pixel is two full blocks side by side, a text row each, so
// the figures stay square.
func hugeText(s string) string {
	return drawGlyphs(s, hugeRows, "  ", func(g [6]string, i int, b *strings.Builder) {
		for c := range len(g[i]) {
			if g[i][c] == '#' {
				b.WriteString("██")
			} else {
				b.WriteString("  ")
			}
		}
	})
}

// drawGlyphs lays the glyphs of s side by side, sep between them, in rows
// text rows; row draws text row i of glyph g.
func drawGlyphs(s string, rows int, sep string, row func(g [6]string, i int, b *strings.Builder)) string {
	out := make([]strings.Builder, rows)
	first := true
	for _, r := range s {
		g, ok := bigGlyphs[r]
		if !ok {
			continue
		}
		for i := range out {
			if !first {
				out[i].WriteString(sep)
			}
			row(g, i, &out[i])
		}
		first = false
	}
	lines := make([]string, rows)
	for i := range out {
		lines[i] = out[i].String()
	}
	return strings.Join(lines, "\n")
}

// bigWidth is how many columns bigText(s) takes; hugeText takes twice as
// many.
func bigWidth(s string) int {
	w, n := 0, 0
	for _, r := range s {
		if g, ok := bigGlyphs[r]; ok {
			w += len(g[0])
			n++
		}
	}
	if n > 1 {
		w += n - 1
	}
	return w
}
