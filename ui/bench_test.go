package ui

import (
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"till/checkout"
)

// BenchmarkWaitingFrame is the work of one redraw of the QR screen, which
// happens on every spinner tick (about 10 a second) while a sale waits.
func BenchmarkWaitingFrame(b *testing.B) {
	r := newRig(b)
	var m tea.Model = r.model
	m, _ = m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	root := m.(Model)
	root.active = screenWaiting
	root.waiting, _ = newCreating(root.deps, checkout.MethodWeChat, 1230).begin(checkout.Order{
		No: "20261123060000000T100", Method: checkout.MethodWeChat, Amount: 1230,
		CodeURL: "http://127.0.0.1:43121/pay/0123456789abcdef0123", State: checkout.StateAwaiting,
		ExpiresAt: t0.Add(3 * time.Minute)})
	root = root.resize()
	b.ReportAllocs()
	for b.Loop() {
		_ = root.View()
	}
}
