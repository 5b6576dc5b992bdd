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
	var rows [bigRows]strings.Builder
	first := true
	for _, r := range s {
		g, ok := bigGlyphs[r]
		if !ok {
			continue
		}
		for i := range rows {
			if !first {
				rows[i].WriteByte(' ')
			}
			top, bottom := g[2*i], g[2*i+1]
			for c := range len(top) {
				switch t, b := top[c] == '#', bottom[c] == '#'; {
				case t && b:
					rows[i].WriteRune('█')
				case t:
					rows[i].WriteRune('▀')
				case b:
					rows[i].WriteRune('▄')
				default:
					rows[i].WriteByte(' ')
				}
			}
		}
		first = false
	}
	out := make([]string, bigRows)
	for i := range rows {
		out[i] = rows[i].String()
	}
	return strings.Join(out, "\n")
}

// hugeRows is how many text rows hugeText draws.
const hugeRows = 6

// hugeText draws s in the same font at twice the size, for a large
// window: a pixel is two full blocks side by side, a text row each, so
// the figures stay square.
func hugeText(s string) string {
	var rows [hugeRows]strings.Builder
	first := true
	for _, r := range s {
		g, ok := bigGlyphs[r]
		if !ok {
			continue
		}
		for i := range rows {
			if !first {
				rows[i].WriteString("  ")
			}
			for c := range len(g[i]) {
				if g[i][c] == '#' {
					rows[i].WriteString("██")
				} else {
					rows[i].WriteString("  ")
				}
			}
		}
		first = false
	}
	out := make([]string, hugeRows)
	for i := range rows {
		out[i] = rows[i].String()
	}
	return strings.Join(out, "\n")
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
