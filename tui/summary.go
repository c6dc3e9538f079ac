package tui

import (
	"fmt"
	"path/filepath"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"eng5np/runner"
)

// summaryScreen is the end of a run: outcome and exit code (with warnings
// when the run set things aside), the artefact and its verification,
// totals and cost per model, reliability and the order effect, problems,
// the next step, and the final ranking with projected grades (and the CJ
// service's beside them when it sent them).
type summaryScreen struct {
	styles Styles
	keys   summaryKeys
	help   help.Model

	width, height int
	fullHelp      bool
	sum           *runner.Summary
	watch         bool
	log           []runner.RecordEvent // the live view's log, for essay pages
	rank          rankTable
	detail        *detailView
	// doc scrolls the whole summary on a terminal too short to give the
	// ranking rows of its own (isCompact, set by sync).
	doc       scroller
	isCompact bool
}

func newSummaryScreen(s Styles) summaryScreen {
	return summaryScreen{styles: s, keys: newSummaryKeys(), help: newHelp(s), rank: rankTable{styles: s, scroll: scroller{cursor: -1}}}
}

// SetSize lays the summary out for a terminal of w×h cells.
func (m *summaryScreen) SetSize(w, h int) {
	m.width, m.height = w, h
	m.sync()
}

// setSummary shows a run's end.
func (m *summaryScreen) setSummary(sum *runner.Summary) {
	m.sum = sum
	m.detail = nil
	m.rank.service = nil
	var rows []runner.Ranked
	if sum != nil && sum.Result != nil {
		rows = sum.Result.Ranking
		m.rank.service = sum.Result.ServiceGrades
	}
	m.rank.setRows(rows)
	m.rank.focus(true)
	m.sync()
}

// ShortHelp and FullHelp are the screen's keys as they apply now.
func (m summaryScreen) ShortHelp() []key.Binding  { return m.currentKeys().ShortHelp() }
func (m summaryScreen) FullHelp() [][]key.Binding { return m.currentKeys().FullHelp() }

func (m summaryScreen) currentKeys() summaryKeys {
	k := m.keys
	browsing := m.detail == nil && !m.rank.filter.editing
	k.Resume.SetEnabled(browsing && !m.watch && m.sum != nil && m.sum.Resumable)
	code := 0
	if m.sum != nil {
		code = m.sum.ExitCode
	}
	k.Quit.SetHelp("q", fmt.Sprintf("quit (exit %d)", code))
	k.Quit.SetEnabled(browsing)
	k.Live.SetEnabled(browsing)
	compact := m.compact()
	k.Filter.SetEnabled(browsing && !compact && len(m.rank.rows) > 0)
	k.Clear.SetEnabled(browsing && m.rank.filter.text != "")
	k.Detail.SetEnabled(browsing && !compact && m.rank.selectedID() != "")
	k.Close.SetEnabled(m.detail != nil)
	if d := m.detail; d != nil {
		detailKeys(&k.Detail, &k.Close, d)
	}
	k.nav.setEnabled(m.detail != nil || compact || (browsing && len(m.rank.rows) > 0))
	if compact {
		k.nav.Up.SetHelp("↑/k", "scroll")
		k.nav.Down.SetHelp("↓/j", "scroll")
	}
	return k
}

// Update takes the summary's keys.
func (m summaryScreen) Update(msg tea.Msg) (summaryScreen, tea.Cmd, intent) {
	m, cmd, in := m.update(msg)
	m.sync()
	return m, cmd, in
}

func (m summaryScreen) update(msg tea.Msg) (summaryScreen, tea.Cmd, intent) {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok || m.sum == nil {
		return m, nil, intent{}
	}
	k := m.currentKeys()
	if m.rank.filter.editing {
		if m.rank.filter.update(km) {
			m.rank.refilter()
		}
		return m, nil, intent{}
	}
	if m.detail != nil {
		m.detail = m.detail.key(k.Detail, k.Close, k.nav, km)
		return m, nil, intent{}
	}
	switch {
	case key.Matches(km, k.Quit) && k.Quit.Enabled():
		return m, nil, intent{kind: intentQuit, code: m.sum.ExitCode}
	case key.Matches(km, k.Resume) && k.Resume.Enabled():
		return m, nil, intent{kind: intentResume}
	case key.Matches(km, k.Live) && k.Live.Enabled():
		return m, nil, intent{kind: intentLive}
	case key.Matches(km, k.Filter) && k.Filter.Enabled():
		m.rank.filter.editing = true
	case key.Matches(km, k.Clear) && k.Clear.Enabled():
		m.rank.filter.text = ""
		m.rank.refilter()
	case key.Matches(km, k.Detail) && k.Detail.Enabled():
		if r, ok := m.rank.selected(); ok {
			rank := 0
			for i, x := range m.rank.rows {
				if x.ID == r.ID {
					rank = i + 1
				}
			}
			m.detail = essayDetail(r, rank, m.rank.service[r.ID], m.log)
		}
	case m.compact() && k.nav.Up.Enabled():
		d := detailView{scroll: m.doc}
		d.update(k.nav, km)
		m.doc = d.scroll
	case k.nav.Up.Enabled() && m.rank.scroll.move(k.nav, km):
	}
	return m, nil, intent{}
}

// compact reports whether the terminal is too short for the summary and a
// ranking of at least four rows: the summary then scrolls as one page.
func (m summaryScreen) compact() bool { return m.isCompact }

// document is the whole summary as one page: the information, then the
// full ranking.
func (m summaryScreen) document() []string {
	lines := append([]string(nil), m.infoLinesWith(true)...)
	if len(m.rank.rows) > 0 {
		lines = append(lines, " "+m.styles.PanelHead.Render(fmt.Sprintf("Final ranking · %d essays", len(m.rank.rows))), " "+m.rank.header())
		for i := range m.rank.rows {
			lines = append(lines, " "+m.rank.row(i))
		}
	}
	return lines
}

// sync sizes the ranking to the rows it gets.
func (m *summaryScreen) sync() {
	if m.sum == nil || m.width == 0 {
		return
	}
	m.isCompact = m.height-len(m.infoLinesWith(false))-len(m.bottomLines())-1 < 5
	info, bottom := m.infoLines(), m.bottomLines()
	rows := m.height - len(info) - len(bottom) - 1
	m.rank.width = m.width - 2
	m.rank.scroll.resize(len(m.rank.view), max(1, rows-1))
	if m.isCompact {
		m.doc.cursor = -1
		m.doc.resize(len(m.document()), m.height-len(bottom)-1)
	}
}

// infoLines is everything above the ranking. When listing every warning
// would leave the ranking fewer than four rows, the warnings collapse to a
// count that points at the artefact, which lists them all.
func (m summaryScreen) infoLines() []string {
	full := m.infoLinesWith(true)
	if m.height-len(full)-len(m.bottomLines()) >= 5 {
		return full
	}
	return m.infoLinesWith(false)
}

func (m summaryScreen) infoLinesWith(allWarnings bool) []string {
	s := m.styles
	sum := m.sum
	w := m.width - 2
	status := outcomeText(sum)
	outcome := s.Pass.Render(status)
	switch {
	case sum.ExitCode != 0:
		outcome = s.Fail.Render(status)
	case len(sum.Warnings) > 0:
		outcome = s.Warn.Render(status)
	}
	left := s.Title.Render("Summary") + " · " + outcome + " · exit " + fmt.Sprint(sum.ExitCode) + " · " + s.Value.Render(sum.BatchLabel)
	var lines []string
	// The batch uuid in full when it fits, else the run directory's
	// 8-character suffix, else not at all: never cut.
	right := ""
	for _, u := range []string{sum.BatchUUID, shortUUID(sum.BatchUUID)} {
		if u != "" && lipgloss.Width(left)+len(u)+2 <= m.width {
			right = u
			break
		}
	}
	if right != "" {
		lines = append(lines, header(m.width, left, s.Subtle.Render(right+" ")))
	} else {
		lines = append(lines, flow([]string{left}, m.width, "")...)
	}
	lines = append(lines, rule(s, m.width))
	lines = append(lines, wrap(sum.Message, w, " ")...)
	if sum.ArtefactPath != "" {
		dir := filepath.Dir(sum.ArtefactPath) + string(filepath.Separator)
		lines = append(lines, wrap(s.Label.Render("artefact ")+dir, w, " ")...)
		lines = append(lines, "   "+s.Value.Render(filepath.Base(sum.ArtefactPath)))
		if sum.Verified {
			lines = append(lines, wrap(s.Label.Render("verify ")+s.Pass.Render("OK")+" schema valid, checksum matches, manifest re-hashed", w, " ")...)
		} else {
			lines = append(lines, wrap(s.Label.Render("verify ")+s.Fail.Render("FAILED ")+strings.Join(sum.VerifyProblems, "; "), w, " ")...)
		}
	} else if sum.RunDir != "" {
		lines = append(lines, wrap(s.Label.Render("run dir ")+sum.RunDir, w, " ")...)
	}
	// Totals and cost per model, from the same sums.
	totals := []string{
		s.Value.Render(fmt.Sprintf("%d comparisons", sum.Comparisons)),
		fmt.Sprintf("%d ok", sum.Succeeded),
		m.countWarn(sum.Failed, fmt.Sprintf("%d failed", sum.Failed)),
		s.Value.Render(usd(totalUSD(sum.CostUSD, sum.Models))),
		clockOf(sum.Elapsed) + " capturing",
	}
	for _, l := range flow(totals, w, " · ") {
		lines = append(lines, " "+l)
	}
	for _, mc := range sum.Models {
		for _, l := range flow([]string{mc.Provider + "/" + mc.Model, fmt.Sprintf("%d comparisons", mc.Comparisons),
			tokens(mc.PromptTokens) + "+" + tokens(mc.CompletionTokens) + " tokens", usd(mc.USD)}, w-2, " · ") {
			lines = append(lines, "   "+s.Subtle.Render(l))
		}
	}
	if sum.SlowestModel != "" && len(sum.Models) > 1 {
		for _, l := range flow([]string{"slowest " + sum.SlowestModel, "most expensive " + sum.PriciestModel}, w-2, " · ") {
			lines = append(lines, "   "+s.Subtle.Render(l))
		}
	}
	if r := sum.Result; r != nil {
		for _, l := range flow(r.Figures(), w, " · ") {
			lines = append(lines, " "+l)
		}
	}
	for _, f := range sum.Faults {
		lines = append(lines, wrap(s.Fail.Render("✗ ")+f, w, " ")...)
	}
	if allWarnings {
		for _, wn := range sum.Warnings {
			lines = append(lines, wrap(s.Warn.Render("! ")+wn, w, " ")...)
		}
	} else if len(sum.Warnings) > 0 {
		lines = append(lines, " "+s.Warn.Render(fmt.Sprintf("! %s: the terminal is too small to list them; they are in the artefact's validation.runner_status.warnings", plural(len(sum.Warnings), "warning", "warnings"))))
	}
	if allWarnings {
		for _, c := range sum.Caveats {
			lines = append(lines, wrap(s.Label.Render("note ")+c, w, " ")...)
		}
	} else if len(sum.Caveats) > 0 {
		lines = append(lines, " "+s.Subtle.Render(plural(len(sum.Caveats), "note on the statistics", "notes on the statistics")+" in the artefact (validation.reliability.caveats)"))
	}
	if sum.Next != "" {
		lines = append(lines, wrap(s.Label.Render("next ")+sum.Next, w, " ")...)
	}
	return lines
}

func (m summaryScreen) countWarn(n int, text string) string {
	if n > 0 {
		return m.styles.Warn.Render(text)
	}
	return text
}

// bottomLines are the filter prompt and the help bar.
func (m summaryScreen) bottomLines() []string {
	var out []string
	if m.rank.filter.editing {
		out = append(out, " "+m.styles.Subtle.Render("type to filter by essay id or grade · enter keep · esc clear"))
	}
	for _, h := range helpLines(m.help, m, m.width-2, m.fullHelp) {
		out = append(out, " "+h)
	}
	return out
}

// View renders the summary.
func (m summaryScreen) View() string {
	s := m.styles
	if m.sum == nil {
		return ""
	}
	info, bottom := m.infoLines(), m.bottomLines()
	if m.compact() && m.detail == nil {
		doc := m.document()
		sc := m.doc
		sc.cursor = -1
		sc.resize(len(doc), m.height-len(bottom)-1)
		from, to := sc.window()
		lines := append([]string(nil), doc[from:to]...)
		more := fmt.Sprintf("lines %d–%d of %d · ↓ scrolls", from+1, to, len(doc))
		if to == len(doc) && from == 0 {
			more = ""
		}
		for len(lines) < m.height-len(bottom)-1 {
			lines = append(lines, "")
		}
		lines = append(lines, " "+s.Subtle.Render(more))
		return clip(append(lines, bottom...), m.width, m.height)
	}
	lines := append([]string(nil), info...)
	rows := m.height - len(info) - len(bottom) - 1
	switch {
	case m.detail != nil:
		d := *m.detail
		lines = append(lines[:2], " "+s.PanelHead.Render(d.title))
		for _, l := range d.lines(s, m.width-2, m.height-len(lines)-len(bottom)) {
			lines = append(lines, " "+l)
		}
	case len(m.rank.rows) == 0:
		lines = append(lines, "", " "+s.Subtle.Render("no ranking: nothing was fitted"))
	default:
		rt := m.rank
		lines = append(lines, " "+s.PanelHead.Render("Final ranking")+s.Subtle.Render(strings.TrimPrefix(rt.title("Final ranking"), "Final ranking")))
		for _, r := range rt.lines(max(2, rows)) {
			lines = append(lines, " "+r)
		}
	}
	for len(lines) < m.height-len(bottom) {
		lines = append(lines, "")
	}
	return clip(append(lines, bottom...), m.width, m.height)
}

// shortUUID is a batch uuid's first eight characters, the run directory's
// suffix.
func shortUUID(u string) string {
	if len(u) > 8 {
		return u[:8]
	}
	return u
}
