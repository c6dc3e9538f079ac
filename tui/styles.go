// Package tui is eng5np's dashboard: one Bubble Tea program with three
// screens — the pre-flight checklist, the live run and the summary. It only
// renders the state it is sent: the checks, the capture and the resume run in
// the background (through Backend, from tea.Cmds) and report as typed
// messages; Update does no I/O.
package tui

import (
	"image/color"

	"charm.land/lipgloss/v2"
)

// Styles holds every style of the dashboard, in one place.
type Styles struct {
	Title     lipgloss.Style
	Subtle    lipgloss.Style
	Label     lipgloss.Style
	Value     lipgloss.Style
	Pass      lipgloss.Style
	Warn      lipgloss.Style
	Fail      lipgloss.Style
	Rule      lipgloss.Style
	Help      lipgloss.Style
	HelpKey   lipgloss.Style
	Selected  lipgloss.Style // the focused row of a list
	Panel     lipgloss.Style
	PanelHot  lipgloss.Style // a panel that demands attention (hard fault, budget)
	PanelHead lipgloss.Style
	Anchor    lipgloss.Style
	Student   lipgloss.Style

	BarFull  color.Color
	BarEmpty color.Color
}

// DefaultStyles are the dashboard's colours.
func DefaultStyles() Styles {
	accent := lipgloss.Color("#7D56F4")
	subtle := lipgloss.Color("#8A8A8A")
	red := lipgloss.Color("#E5484D")
	green := lipgloss.Color("#3DD68C")
	yellow := lipgloss.Color("#F5D90A")
	panel := lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(subtle).Padding(0, 1)
	return Styles{
		Title:     lipgloss.NewStyle().Bold(true).Foreground(accent),
		Subtle:    lipgloss.NewStyle().Foreground(subtle),
		Label:     lipgloss.NewStyle().Foreground(subtle),
		Value:     lipgloss.NewStyle().Bold(true),
		Pass:      lipgloss.NewStyle().Foreground(green),
		Warn:      lipgloss.NewStyle().Foreground(yellow),
		Fail:      lipgloss.NewStyle().Foreground(red).Bold(true),
		Rule:      lipgloss.NewStyle().Foreground(subtle),
		Help:      lipgloss.NewStyle().Foreground(subtle),
		HelpKey:   lipgloss.NewStyle().Foreground(lipgloss.Color("#B4B4B4")).Bold(true),
		Selected:  lipgloss.NewStyle().Reverse(true),
		Panel:     panel,
		PanelHot:  panel.BorderForeground(red),
		PanelHead: lipgloss.NewStyle().Bold(true),
		Anchor:    lipgloss.NewStyle().Foreground(accent).Bold(true),
		Student:   lipgloss.NewStyle().Foreground(lipgloss.Color("#5EB1EF")),
		BarFull:   accent,
		BarEmpty:  lipgloss.Color("#3A3A3A"),
	}
}
