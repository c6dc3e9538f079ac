package tui

import (
	"fmt"
	"path/filepath"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"eng5np/runner"
)

// summaryScreen is the end of a run: outcome and exit code, the artefact
// and its verification, totals, faults, the next step.
type summaryScreen struct {
	styles Styles
	keys   summaryKeys
	help   help.Model

	width, height int
	sum           *runner.Summary
}

func newSummaryScreen(s Styles) summaryScreen {
	return summaryScreen{styles: s, keys: newSummaryKeys(), help: newHelp(s)}
}

// SetSize lays the summary out for a terminal of w×h cells.
func (m *summaryScreen) SetSize(w, h int) { m.width, m.height = w, h }

// ShortHelp and FullHelp are the screen's keys as they apply now.
func (m summaryScreen) ShortHelp() []key.Binding  { return m.currentKeys().ShortHelp() }
func (m summaryScreen) FullHelp() [][]key.Binding { return m.currentKeys().FullHelp() }

func (m summaryScreen) currentKeys() summaryKeys {
	k := m.keys
	k.Resume.SetEnabled(m.sum != nil && m.sum.Resumable)
	code := 0
	if m.sum != nil {
		code = m.sum.ExitCode
	}
	k.Quit.SetHelp("q", fmt.Sprintf("quit (exit %d)", code))
	return k
}

// Update takes the summary's keys.
func (m summaryScreen) Update(msg tea.Msg) (summaryScreen, tea.Cmd, intent) {
	if msg, ok := msg.(tea.KeyPressMsg); ok && m.sum != nil {
		k := m.currentKeys()
		switch {
		case key.Matches(msg, k.Quit):
			return m, nil, intent{kind: intentQuit, code: m.sum.ExitCode}
		case key.Matches(msg, k.Resume) && k.Resume.Enabled():
			return m, nil, intent{kind: intentResume}
		}
	}
	return m, nil, intent{}
}

// View renders the summary.
func (m summaryScreen) View() string {
	s := m.styles
	sum := m.sum
	if sum == nil {
		return ""
	}
	outcome := s.Pass.Render(string(sum.Outcome))
	if sum.ExitCode != 0 {
		outcome = s.Fail.Render(string(sum.Outcome))
	}
	var lines []string
	lines = append(lines,
		header(m.width, s.Title.Render("Summary")+" · "+outcome+" · exit "+fmt.Sprint(sum.ExitCode)+" · "+s.Value.Render(sum.BatchLabel),
			s.Subtle.Render(sum.BatchUUID+" ")),
		rule(s, m.width))
	lines = append(lines, wrap(sum.Message, m.width-2, " ")...)
	lines = append(lines, "")
	if sum.ArtefactPath != "" {
		dir := filepath.Dir(sum.ArtefactPath)
		lines = append(lines,
			" "+s.Label.Render("artefact ")+" "+s.Subtle.Render(padTo(shorten(dir, m.width-14)+string(filepath.Separator), m.width-12)),
			"   "+s.Value.Render(filepath.Base(sum.ArtefactPath)),
			" "+s.Label.Render("manifest ")+" "+padTo(shorten(sum.ManifestPath, m.width-14), m.width-12))
		if sum.Verified {
			lines = append(lines, " "+s.Label.Render("verify   ")+" "+s.Pass.Render("OK")+" schema valid, checksum matches, manifest re-hashed")
		} else {
			lines = append(lines, " "+s.Label.Render("verify   ")+" "+s.Fail.Render("FAILED ")+padTo(strings.Join(sum.VerifyProblems, "; "), m.width-20))
		}
	} else if sum.RunDir != "" {
		lines = append(lines, " "+s.Label.Render("run dir  ")+" "+padTo(sum.RunDir, m.width-12))
	}
	lines = append(lines, "",
		" "+s.Value.Render(fmt.Sprintf("%d comparisons", sum.Comparisons))+fmt.Sprintf(" (%d succeeded · %d failed) · ", sum.Succeeded, sum.Failed)+
			s.Value.Render(fmt.Sprintf("$%.4f", sum.CostUSD))+fmt.Sprintf(" · %s", clockOf(sum.Elapsed)))
	for _, mc := range sum.Models {
		lines = append(lines, " "+s.Subtle.Render(padTo(fmt.Sprintf("  %s/%s: %d comparisons, %d prompt + %d completion tokens, $%.4f",
			mc.Provider, mc.Model, mc.Comparisons, mc.PromptTokens, mc.CompletionTokens, mc.USD), m.width-2)))
	}
	if sum.SlowestModel != "" {
		lines = append(lines, " "+s.Subtle.Render(padTo("  slowest "+sum.SlowestModel+" · most expensive "+sum.PriciestModel, m.width-2)))
	}
	for _, f := range sum.Faults {
		for _, l := range wrap("✗ "+f, m.width-4, " ") {
			lines = append(lines, s.Fail.Render(l))
		}
	}
	for _, w := range sum.Warnings {
		for _, l := range wrap("warning: "+w, m.width-2, " ") {
			lines = append(lines, s.Warn.Render(l))
		}
	}
	if sum.Next != "" {
		lines = append(lines, "")
		lines = append(lines, wrap("next: "+sum.Next, m.width-2, " ")...)
	}
	for len(lines) < m.height-1 {
		lines = append(lines, "")
	}
	lines = append(lines, " "+helpLine(m.help, m, m.width-2))
	return clip(lines, m.width, m.height)
}
