package tui

import (
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"
)

// Every screen has its own key map; its help line is rendered from it, so
// a key the screen does not take is never advertised, and a key it takes
// always is.

// preflightKeys are the checklist's keys.
type preflightKeys struct {
	Start key.Binding
	Rerun key.Binding
	Quit  key.Binding
}

func newPreflightKeys() preflightKeys {
	return preflightKeys{
		Start: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "start")),
		Rerun: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "re-run checks")),
		Quit:  key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

func (k preflightKeys) ShortHelp() []key.Binding  { return []key.Binding{k.Start, k.Rerun, k.Quit} }
func (k preflightKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// liveKeys are the live view's keys: stop (confirmed), or, once a hard
// fault ended the run, on to the summary.
type liveKeys struct {
	Stop    key.Binding
	Yes     key.Binding
	No      key.Binding
	Summary key.Binding
	Quit    key.Binding
}

func newLiveKeys() liveKeys {
	return liveKeys{
		Stop:    key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "stop (asks first)")),
		Yes:     key.NewBinding(key.WithKeys("y", "enter", "ctrl+c"), key.WithHelp("y", "stop")),
		No:      key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n", "keep capturing")),
		Summary: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "summary")),
		Quit:    key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

func (k liveKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Stop, k.Yes, k.No, k.Summary, k.Quit}
}
func (k liveKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// summaryKeys are the summary's keys.
type summaryKeys struct {
	Resume key.Binding
	Quit   key.Binding
}

func newSummaryKeys() summaryKeys {
	return summaryKeys{
		Resume: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "resume capture in place")),
		Quit:   key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

func (k summaryKeys) ShortHelp() []key.Binding  { return []key.Binding{k.Resume, k.Quit} }
func (k summaryKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// newHelp is the help renderer every screen uses.
func newHelp(s Styles) help.Model {
	h := help.New()
	h.ShortSeparator = " · "
	h.Styles.ShortKey, h.Styles.ShortDesc, h.Styles.ShortSeparator = s.Help, s.Help, s.Help
	h.Styles.FullKey, h.Styles.FullDesc, h.Styles.FullSeparator = s.Help, s.Help, s.Help
	h.Styles.Ellipsis = s.Help
	return h
}

// helpLines renders a key map's short help within width, wrapping onto
// further lines instead of cutting a key off.
func helpLines(h help.Model, km help.KeyMap, width int) []string {
	var lines []string
	var cur []key.Binding
	h.SetWidth(0) // measure whole items; wrapping is done here
	for _, b := range km.ShortHelp() {
		if !b.Enabled() {
			continue
		}
		try := append(append([]key.Binding(nil), cur...), b)
		if len(cur) > 0 && lipgloss.Width(h.ShortHelpView(try)) > width {
			lines = append(lines, h.ShortHelpView(cur))
			cur = []key.Binding{b}
			continue
		}
		cur = try
	}
	if len(cur) > 0 {
		lines = append(lines, h.ShortHelpView(cur))
	}
	return lines
}

// helpLine is helpLines joined for a screen's last line.
func helpLine(h help.Model, km help.KeyMap, width int) string {
	return strings.Join(helpLines(h, km, width), "\n ")
}
