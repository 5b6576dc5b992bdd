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

// qrGrid is content's QR code with its quiet zone, one bool a module
// (true = dark).
func qrGrid(content string) ([][]bool, error) {
	q, err := qrcode.New(content, qrcode.Low)
	if err != nil {
		return nil, err
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
	return grid, nil
}

// qrCells is how many columns and rows content's code takes in the
// half-block form (the smallest a scanner reads well).
func qrCells(content string) (w, h int) {
	grid, err := qrGrid(content)
	if err != nil {
		return 0, 0
	}
	return len(grid), (len(grid) + 1) / 2
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
