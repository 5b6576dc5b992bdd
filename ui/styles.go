package ui

import "github.com/charmbracelet/lipgloss"

// Role colours, adaptive to light and dark terminals.
var (
	colorAccent  = lipgloss.AdaptiveColor{Light: "#1F6FEB", Dark: "#58A6FF"}
	colorMuted   = lipgloss.AdaptiveColor{Light: "#6E7781", Dark: "#8B949E"}
	colorDanger  = lipgloss.AdaptiveColor{Light: "#CF222E", Dark: "#FF7B72"}
	colorWarn    = lipgloss.AdaptiveColor{Light: "#9A6700", Dark: "#D29922"}
	colorPaid    = lipgloss.AdaptiveColor{Light: "#1A7F37", Dark: "#3FB950"}
	colorSandbox = lipgloss.Color("#F2CC60")
	colorAlert   = lipgloss.Color("#F2CC60") // a ground that stops the eye, for news a clerk must act on
	colorInk     = lipgloss.Color("#000000")
	colorPaper   = lipgloss.Color("#FFFFFF")

	// The result bands: solid grounds, the same on light and dark
	// terminals, read from across the counter.
	bandPaid     = lipgloss.Color("#1A7F37")
	bandClosed   = lipgloss.Color("#57606A")
	bandFailed   = lipgloss.Color("#CF222E")
	bandRefunded = lipgloss.Color("#9A6700")
	bandWaiting  = lipgloss.Color("#1F6FEB")
	bandScanned  = lipgloss.Color("#BF8700")
)

// Styles holds every style the screens use, grouped by role, so that a
// test can pin the colour profile through the renderer.
type Styles struct {
	App      lipgloss.Style
	Header   lipgloss.Style
	Title    lipgloss.Style
	Sandbox  lipgloss.Style
	Live     lipgloss.Style
	Muted    lipgloss.Style
	Accent   lipgloss.Style
	Warn     lipgloss.Style
	Error    lipgloss.Style
	Label    lipgloss.Style
	Amount   lipgloss.Style
	Input    lipgloss.Style
	InputOn  lipgloss.Style
	QR       lipgloss.Style
	Late     lipgloss.Style // the late-payment banner
	Row      lipgloss.Style
	Selected lipgloss.Style
	State    map[string]lipgloss.Style
	HelpLine lipgloss.Style

	// Bar draws the report's sales by hour.
	Bar lipgloss.Style

	// Band is the full-width ground of a result, by outcome: "paid",
	// "closed", "failed", "refunded"; and of the waiting state:
	// "waiting", "scanned".
	Band map[string]lipgloss.Style

	// The countdown, by how much time is left.
	CountdownSoon lipgloss.Style // the last 30 s
	CountdownLast lipgloss.Style // the last 10 s
}

// DefaultStyles builds the styles on renderer r.
func DefaultStyles(r *lipgloss.Renderer) Styles {
	s := Styles{}
	s.App = r.NewStyle().Padding(0, 1)
	s.Header = r.NewStyle().MarginBottom(1)
	s.Title = r.NewStyle().Bold(true).Foreground(colorAccent)
	s.Sandbox = r.NewStyle().Bold(true).Foreground(colorInk).Background(colorSandbox).Padding(0, 1)
	s.Live = r.NewStyle().Bold(true).Foreground(colorPaper).Background(bandPaid).Padding(0, 1)
	s.Muted = r.NewStyle().Foreground(colorMuted)
	s.Accent = r.NewStyle().Foreground(colorAccent)
	s.Warn = r.NewStyle().Foreground(colorWarn)
	s.Error = r.NewStyle().Foreground(colorDanger).Bold(true)
	s.Label = r.NewStyle().Foreground(colorMuted)
	s.Amount = r.NewStyle().Bold(true)
	s.Input = r.NewStyle().Border(lipgloss.NormalBorder()).BorderForeground(colorMuted).Padding(0, 1)
	s.InputOn = s.Input.BorderForeground(colorAccent)
	// Dark modules on a light ground whatever the terminal's theme:
	// scanners want dark on light.
	s.QR = r.NewStyle().Foreground(colorInk).Background(colorPaper)
	s.Late = r.NewStyle().Bold(true).Foreground(colorInk).Background(colorAlert)
	s.Row = r.NewStyle()
	s.Selected = r.NewStyle().Reverse(true)
	s.State = map[string]lipgloss.Style{
		"paid":               r.NewStyle().Foreground(colorPaid),
		"partially_refunded": r.NewStyle().Foreground(colorWarn),
		"refunded":           r.NewStyle().Foreground(colorWarn),
		"awaiting":           r.NewStyle().Foreground(colorAccent),
		"created":            r.NewStyle().Foreground(colorAccent),
		"closed":             r.NewStyle().Foreground(colorMuted),
		"failed":             r.NewStyle().Foreground(colorDanger),
		"disputed":           r.NewStyle().Foreground(colorDanger).Bold(true),
	}
	band := func(bg lipgloss.Color, fg lipgloss.Color) lipgloss.Style {
		return r.NewStyle().Bold(true).Foreground(fg).Background(bg)
	}
	s.Band = map[string]lipgloss.Style{
		"paid":     band(bandPaid, colorPaper),
		"closed":   band(bandClosed, colorPaper),
		"failed":   band(bandFailed, colorPaper),
		"refunded": band(bandRefunded, colorPaper),
		"waiting":  band(bandWaiting, colorPaper),
		"scanned":  band(bandScanned, colorInk),
	}
	s.HelpLine = r.NewStyle().MarginTop(1)
	s.Bar = r.NewStyle().Foreground(colorPaid)
	s.CountdownSoon = r.NewStyle().Bold(true).Foreground(colorWarn)
	s.CountdownLast = r.NewStyle().Bold(true).Foreground(colorDanger)
	return s
}
