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
)

// Styles holds every style the screens use, grouped by role, so that a
// test can pin the colour profile through the renderer.
type Styles struct {
	App      lipgloss.Style
	Header   lipgloss.Style
	Title    lipgloss.Style
	Sandbox  lipgloss.Style
	Muted    lipgloss.Style
	Accent   lipgloss.Style
	Warn     lipgloss.Style
	Error    lipgloss.Style
	Label    lipgloss.Style
	Amount   lipgloss.Style
	Input    lipgloss.Style
	InputOn  lipgloss.Style
	QR       lipgloss.Style
	Paid     lipgloss.Style
	Closed   lipgloss.Style
	Failed   lipgloss.Style
	Late     lipgloss.Style // the late-payment banner
	Box      lipgloss.Style
	Row      lipgloss.Style
	State    map[string]lipgloss.Style
	HelpLine lipgloss.Style
}

// DefaultStyles builds the styles on renderer r.
func DefaultStyles(r *lipgloss.Renderer) Styles {
	s := Styles{}
	s.App = r.NewStyle().Padding(0, 1)
	s.Header = r.NewStyle().MarginBottom(1)
	s.Title = r.NewStyle().Bold(true).Foreground(colorAccent)
	s.Sandbox = r.NewStyle().Bold(true).Foreground(colorInk).Background(colorSandbox).Padding(0, 1)
	s.Muted = r.NewStyle().Foreground(colorMuted)
	s.Accent = r.NewStyle().Foreground(colorAccent)
	s.Warn = r.NewStyle().Foreground(colorWarn)
	s.Error = r.NewStyle().Foreground(colorDanger).Bold(true)
	s.Label = r.NewStyle().Foreground(colorMuted).Width(10)
	s.Amount = r.NewStyle().Bold(true)
	s.Input = r.NewStyle().Border(lipgloss.NormalBorder()).BorderForeground(colorMuted).Padding(0, 1)
	s.InputOn = s.Input.BorderForeground(colorAccent)
	// Dark modules on a light ground whatever the terminal's theme:
	// scanners want dark on light.
	s.QR = r.NewStyle().Foreground(colorInk).Background(colorPaper)
	s.Box = r.NewStyle().Border(lipgloss.RoundedBorder()).Padding(1, 3)
	s.Paid = s.Box.BorderForeground(colorPaid).Foreground(colorPaid).Bold(true)
	s.Closed = s.Box.BorderForeground(colorMuted)
	s.Failed = s.Box.BorderForeground(colorDanger).Foreground(colorDanger)
	s.Late = r.NewStyle().Bold(true).Foreground(colorInk).Background(colorAlert)
	s.Row = r.NewStyle()
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
	s.HelpLine = r.NewStyle().MarginTop(1)
	return s
}
