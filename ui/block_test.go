package ui

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"till/catalog"
	"till/checkout"
)

// The blocks stand for lipgloss calls (block.go): these tests hold them
// to what those calls give, in colour (the goldens are drawn without).

func colourStyles() Styles {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.TrueColor)
	r.SetHasDarkBackground(true)
	return DefaultStyles(r)
}

var blockSamples = func() []string {
	s := colourStyles()
	return []string{
		"", "a", "\n", "abc\n\nde", "  x  \n", "付款 成功\n¥12.30",
		s.Band["waiting"].Width(20).Render(" WAITING"), s.Title.Width(12).Render("Scan to pay with WeChat Pay"),
		s.QR.Render(halfBlocks([][]bool{{true, false, true}, {false, true, false}, {true, true, false}})),
		s.Amount.Render(bigText("¥12.30")) + "\n" + s.Label.Render("Closes in") + " " + s.CountdownLast.Render("0:09"),
		s.Muted.Render(wrapHard("Sandbox payer page: http://127.0.0.1:43121/pay/0123456789abcdef0123", 17)),
	}
}()

func TestJoinTopIsJoinHorizontal(t *testing.T) {
	for _, a := range blockSamples {
		for _, b := range blockSamples {
			want := lipgloss.JoinHorizontal(lipgloss.Top, a, "  ", b)
			j := joinTop(measure(a), spaces(2), measure(b))
			if got := j.String(); got != want {
				t.Fatalf("joinTop(%q, %q):\n%q\nwant\n%q", a, b, got, want)
			}
			if got, want := j.widths, measure(want).widths; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("joinTop(%q, %q): widths %v, want %v", a, b, got, want)
			}
		}
	}
}

func TestPadAppIsTheAppStyle(t *testing.T) {
	for _, st := range []Styles{colourStyles(), DefaultStyles(lipgloss.NewRenderer(io.Discard))} {
		for _, a := range blockSamples {
			for _, b := range blockSamples {
				s := a + "\n" + b
				got, ok := padApp(measure(s))
				if want := st.App.Render(s); !ok || got != want {
					t.Fatalf("padApp(%q) = %q, %v; want %q", s, got, ok, want)
				}
			}
		}
	}
	if _, ok := padApp(measure("a\tb")); ok {
		t.Fatal("padApp took a tab")
	}
}

// legacyClamp is clampView as it was before blocks.
func legacyClamp(view string, w, h int) string {
	lines := strings.Split(view, "\n")
	if len(lines) > max(h, 1) {
		lines = lines[:max(h, 1)]
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > w {
			lines[i] = ansi.Truncate(l, max(w, 1), "")
		}
	}
	return strings.Join(lines, "\n")
}

func TestClampIsClampView(t *testing.T) {
	for _, a := range blockSamples {
		for _, b := range blockSamples {
			s := a + "\n" + b
			for w := 0; w < 25; w += 3 {
				for h := 0; h < 6; h++ {
					if got, want := measure(s).clamp(w, h).String(), legacyClamp(s, w, h); got != want {
						t.Fatalf("clamp(%q, %d, %d) = %q, want %q", s, w, h, got, want)
					}
				}
			}
		}
	}
}

// legacyLayout is the waiting screen joined by lipgloss, as before blocks
// (the code measured on every frame), from the same parts.
func legacyLayout(m waitingModel) string {
	l := m.qr.layout
	code := m.qr.styled
	bw, _ := m.frame.body()
	payer := ""
	if m.deps.sandbox && bw > 0 {
		payer = "\n" + m.deps.styles.Muted.Render(wrapHard(m.payerLine(m.order.CodeURL), bw))
	}
	fresh := m
	fresh.qr.parts, fresh.qr.below = panelParts{}, belowParts{} // drawn now, not kept
	switch {
	case m.qr.err != nil || l.kind == layoutTooSmall || l.kind == layoutMinimal:
		return m.layoutView()
	case l.kind == layoutBig || l.kind == layoutBeside:
		return lipgloss.JoinHorizontal(lipgloss.Top, code, strings.Repeat(" ", gap), fresh.panel(l.panelW, lipgloss.Height(code), false).String()) + payer
	case l.kind == layoutBelow:
		return code + "\n" + fresh.below(bw).String() + payer
	}
	return lipgloss.JoinHorizontal(lipgloss.Top, code, " ", fresh.panel(l.panelW, m.frame.H, true).String())
}

// legacyView is the root's View as before blocks.
func legacyView(m Model) string {
	w := m.waiting
	if w.fullScreen() {
		compact := w.qr.layout.kind == layoutCompact
		width := m.width
		if compact {
			width = w.qr.layout.panelW
		}
		w.alert, w.alertFirst = m.waitingAlert(width, compact), m.quitArmed
		return legacyLayout(w)
	}
	header, help := m.headerView(), m.helpView()
	body := legacyClamp(legacyLayout(w), m.width-2, m.height-lipgloss.Height(header)-lipgloss.Height(help))
	return m.deps.styles.App.Render(header + "\n" + body + "\n" + help)
}

// TestWaitingFramesAsBefore draws the waiting screen in colour in every
// window from 20x8 to 132x44 (every layout), in both languages, sandbox and live, in
// each state it shows, and holds each frame to the one lipgloss joins.
func TestWaitingFramesAsBefore(t *testing.T) {
	r := newRig(t)
	states := []struct {
		name string
		edit func(m Model) Model
	}{
		{"waiting", func(m Model) Model { return m }},
		{"scanned", func(m Model) Model { m.waiting.scanned = true; return m }},
		{"closing", func(m Model) Model { m.waiting.phase = phaseClosing; return m }},
		{"warning", func(m Model) Model {
			m.waiting.warning = "The provider is not answering (timeout); still trying"
			m.waiting.now = t0.Add(2*time.Minute + 55*time.Second)
			return m
		}},
		{"unsaved", func(m Model) Model { m.waiting.unsaved = errors.New("disk full"); return m }},
		{"quit armed", func(m Model) Model { m.quitArmed = true; return m }},
		{"notice", func(m Model) Model { m.notice = "Backup written to /var/backups/till/till-2026-11-23.db"; return m }},
	}
	seen := map[layoutKind]bool{}
	for _, lang := range catalog.Langs {
		for _, sandbox := range []bool{true, false} {
			rend := lipgloss.NewRenderer(io.Discard)
			rend.SetColorProfile(termenv.TrueColor)
			rend.SetHasDarkBackground(true)
			var tm tea.Model = New(Options{Engine: r.engine, Renderer: rend, Sandbox: sandbox, Terminal: "T1", Lang: lang, SkipRecovery: true})
			root := tm.(Model)
			root.active = screenWaiting
			o := goldenOrder(checkout.MethodAlipay, checkout.StateAwaiting)
			o.Note = "two bowls, one without coriander"
			root.waiting, _ = newCreating(root.deps, o.Method, o.Amount).begin(o)
			for w := 20; w <= 132; w += 7 {
				for h := 8; h <= 44; h += 3 {
					tm, _ = root.Update(tea.WindowSizeMsg{Width: w, Height: h})
					sized := tm.(Model)
					seen[sized.waiting.qr.layout.kind] = true
					for _, st := range states {
						m := st.edit(sized)
						if got, want := m.View(), legacyView(m); got != want {
							t.Fatalf("%s, sandbox %v, %dx%d, %s (layout %v):\n%s\nwant\n%s", lang, sandbox, w, h, st.name, m.waiting.qr.layout.kind, got, want)
						}
					}
				}
			}
		}
	}
	for k := layoutBig; k <= layoutTooSmall; k++ {
		if !seen[k] {
			t.Errorf("no window drew layout %v", k)
		}
	}
}
