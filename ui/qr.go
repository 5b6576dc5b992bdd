package ui

import (
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// quietZone is the light margin, in modules, that the QR standard asks
// for around the symbol; scanners need it to find the code.
const quietZone = 4

// QR glyphs: the glyph is the dark part. Two module rows share one text
// row so that a module is about square in a terminal cell (1 wide, ½ high).
const (
	glyphBoth  = '█'
	glyphUpper = '▀'
	glyphLower = '▄'
	glyphNone  = ' '
)

// renderQR draws content as a QR code that fits in maxW x maxH cells,
// using the larger full-block form (2 cells a module) when it fits and the
// half-block form otherwise. It returns "" if even the small form does not
// fit, so the caller can say the window is too small.
func renderQR(content string, maxW, maxH int) (string, error) {
	q, err := qrcode.New(content, qrcode.Low)
	if err != nil {
		return "", err
	}
	q.DisableBorder = true
	bits := q.Bitmap()
	n := len(bits) + 2*quietZone
	grid := make([][]bool, n)
	for y := range grid {
		grid[y] = make([]bool, n)
		if y >= quietZone && y < n-quietZone {
			copy(grid[y][quietZone:], bits[y-quietZone])
		}
	}
	if 2*n <= maxW && n <= maxH {
		return fullBlocks(grid), nil
	}
	if n <= maxW && (n+1)/2 <= maxH {
		return halfBlocks(grid), nil
	}
	return "", nil
}

func fullBlocks(grid [][]bool) string {
	var b strings.Builder
	for y, row := range grid {
		if y > 0 {
			b.WriteByte('\n')
		}
		for _, dark := range row {
			if dark {
				b.WriteString("██")
			} else {
				b.WriteString("  ")
			}
		}
	}
	return b.String()
}

func halfBlocks(grid [][]bool) string {
	var b strings.Builder
	for y := 0; y < len(grid); y += 2 {
		if y > 0 {
			b.WriteByte('\n')
		}
		for x := range grid[y] {
			top := grid[y][x]
			bottom := y+1 < len(grid) && grid[y+1][x]
			switch {
			case top && bottom:
				b.WriteRune(glyphBoth)
			case top:
				b.WriteRune(glyphUpper)
			case bottom:
				b.WriteRune(glyphLower)
			default:
				b.WriteRune(glyphNone)
			}
		}
	}
	return b.String()
}
