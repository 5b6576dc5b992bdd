package ui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"till/checkout"
)

// waitingFrameRoot is the desk at 80x24 showing a sale's QR code.
func waitingFrameRoot(b *testing.B) Model {
	r := newRig(b)
	var m tea.Model = r.model
	m, _ = m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	root := m.(Model)
	root.active = screenWaiting
	root.waiting, _ = newCreating(root.deps, checkout.MethodWeChat, 1230).begin(checkout.Order{
		No: "20261123060000000T100", Method: checkout.MethodWeChat, Amount: 1230,
		CodeURL: "http://127.0.0.1:43121/pay/0123456789abcdef0123", State: checkout.StateAwaiting,
		ExpiresAt: t0.Add(3 * time.Minute)})
	return root.resize()
}

// BenchmarkWaitingFrame is the work of one redraw of the QR screen, which
// happens on every spinner tick (about 10 a second) while a sale waits.
func BenchmarkWaitingFrame(b *testing.B) {
	root := waitingFrameRoot(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = root.View()
	}
}

// BenchmarkWaitingFrameFloor is its floor: the same frame with the code
// a constant block of spaces of its size, so what is left is everything
// else (the details, the header and help, the padding).
func BenchmarkWaitingFrameFloor(b *testing.B) {
	root := waitingFrameRoot(b)
	code := root.waiting.qr.code
	blank := block{lines: make([]string, len(code.lines)), widths: code.widths}
	for i, w := range code.widths {
		blank.lines[i] = strings.Repeat(" ", w)
	}
	root.waiting.qr.code = blank
	b.ReportAllocs()
	for b.Loop() {
		_ = root.View()
	}
}
