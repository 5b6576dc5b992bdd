package ui

import (
	"io"
	"path/filepath"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"till/checkout"
	"till/providers/sandbox"
	"till/providers/wechat/wechatemu"
	"till/store"
)

// TestProviderFaultOnTheRealAdapter: the WeChat emulator answers the
// prepay with a 500; the desk says so plainly, keeps the sale, and the
// clerk's retry (same order number) brings up the QR.
func TestProviderFaultOnTheRealAdapter(t *testing.T) {
	dir := t.TempDir()
	sb, err := sandbox.Start(filepath.Join(dir, "sandbox.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	st, err := store.Open(filepath.Join(dir, "till.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng := checkout.NewEngine(st, sb.Providers, checkout.Config{PollInterval: time.Second}, nil, nil)
	rend := lipgloss.NewRenderer(io.Discard)
	rend.SetColorProfile(termenv.Ascii)
	tm := teatest.NewTestModel(t, New(Options{Engine: eng, Renderer: rend, Sandbox: true, Terminal: "T1"}),
		teatest.WithInitialTermSize(80, 24))
	t.Cleanup(func() { tm.Quit() })

	sb.WeChat.Emulator.SetFaults(wechatemu.Faults{Path: "/native", Status: 500, Code: "SYSTEM_ERROR", Message: "系统错误", Times: 1})
	tm.Type("4.20w")
	waitFor(t, tm, "No clear answer from WeChat Pay", "could not tell whether", "r retry")
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("r")})
	// The amount is in block digits beside the code at 80x24: the
	// waiting state says the code is up.
	waitFor(t, tm, "Scan to pay with WeChat Pay", "WAITING FOR PAYMENT")
}
