package ui

import (
	"image"
	"image/color"
	"strings"
)

// ScreenImage turns captured screen text back into a picture: each
// QR glyph's dark half is drawn black and every other character white.
// A cell is scale pixels wide and 2*scale tall, so a half-block module is
// square. It exists so that tests and scripts can check, with a standard
// decoder, that what the desk draws really scans.
func ScreenImage(screen string, scale int) *image.Gray {
	lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	width := 0
	rows := make([][]rune, len(lines))
	for i, l := range lines {
		rows[i] = []rune(l)
		width = max(width, len(rows[i]))
	}
	const margin = 4 // cells of white around it, in case the capture is tight
	w := (width + 2*margin) * scale
	h := (len(rows) + 2*margin) * 2 * scale
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 0xFF
	}
	black := color.Gray{Y: 0}
	fill := func(cx, half int) {
		x0 := (cx + margin) * scale
		y0 := (2*margin + half) * scale
		for y := y0; y < y0+scale; y++ {
			for x := x0; x < x0+scale; x++ {
				img.SetGray(x, y, black)
			}
		}
	}
	for y, row := range rows {
		for x, r := range row {
			switch r {
			case glyphBoth:
				fill(x, 2*y)
				fill(x, 2*y+1)
			case glyphUpper:
				fill(x, 2*y)
			case glyphLower:
				fill(x, 2*y+1)
			}
		}
	}
	return img
}
