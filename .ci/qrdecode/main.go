// Command qrdecode reads a screen captured from the desk (tmux
// capture-pane -p), redraws it as a PNG with ui.ScreenImage, and decodes
// the QR code on it with zbarimg, printing what the code holds. It checks
// that what the desk draws really scans.
package main

import (
	"fmt"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"till/ui"
)

func main() {
	var in io.Reader = os.Stdin
	if len(os.Args) > 1 {
		f, err := os.Open(os.Args[1])
		if err != nil {
			fail(err)
		}
		defer f.Close()
		in = f
	}
	screen, err := io.ReadAll(in)
	if err != nil {
		fail(err)
	}
	dir, err := os.MkdirTemp("", "qrdecode")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "screen.png")
	f, err := os.Create(file)
	if err != nil {
		fail(err)
	}
	if err := png.Encode(f, ui.ScreenImage(string(screen), 4)); err != nil {
		fail(err)
	}
	f.Close()
	out, err := exec.Command("zbarimg", "--quiet", "--raw", file).Output()
	if err != nil {
		fail(fmt.Errorf("zbarimg found no QR code: %v", err))
	}
	fmt.Println(strings.TrimSpace(string(out)))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "qrdecode:", err)
	os.Exit(1)
}
