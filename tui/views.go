package tui

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"charm.land/lipgloss/v2"

	"eng5np/runner"
)

// header renders a title on the left and info on the right of one line.
func (m Model) header(left, right string) string {
	gap := m.width - lipgloss.Width(left) - lipgloss.Width(right)
	if gap < 1 {
		return fit(left+" "+right, m.width)
	}
	return left + strings.Repeat(" ", gap) + right
}

func (m Model) rule() string { return m.styles.Rule.Render(strings.Repeat("─", m.width)) }

func dur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return "0ms"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	default:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
}

func clockOf(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Second)
	h, mnt, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, mnt, s)
	}
	return fmt.Sprintf("%02d:%02d", mnt, s)
}

// renderPreflight is the checklist.
func (m Model) renderPreflight() string {
	s := m.styles
	var lines []string
	lines = append(lines, m.header(s.Title.Render(" eng5np")+"  pre-flight  "+s.Value.Render(m.info.BatchLabel),
		s.Subtle.Render(fmt.Sprintf("stack %s · %s ", m.info.Stack, m.info.Inputs))), m.rule())
	const titleW, durW = 30, 7
	detailW := m.width - 3 - titleW - durW - 2
	var fixes int
	for _, c := range m.checks {
		var icon, d string
		switch c.state {
		case checkPending:
			icon = s.Subtle.Render("·")
		case checkRunning:
			icon = m.spinner.View()
		default:
			d = dur(c.result.Duration)
			switch c.result.Status {
			case runner.Pass:
				icon = s.Pass.Render("✓")
			case runner.Warn:
				icon = s.Warn.Render("!")
			default:
				icon = s.Fail.Render("✗")
			}
		}
		title := c.check.Title
		if c.state == checkDone && c.result.Status == runner.Fail {
			title = s.Fail.Render(title)
		}
		line := " " + icon + " " + fit(title, titleW) + s.Subtle.Render(fmt.Sprintf("%*s", durW, d)) + "  " + fit(c.result.Detail, detailW)
		lines = append(lines, line)
		if c.state == checkDone && c.result.Status != runner.Pass && c.result.Fix != "" {
			lines = append(lines, "     "+s.Subtle.Render(fit("fix: "+c.result.Fix, m.width-6)))
			fixes++
		}
	}
	lines = append(lines, m.rule())
	done, blocked := m.preflightDone()
	switch {
	case !done:
		lines = append(lines, " "+m.spinner.View()+" running the pre-flight checks…")
	case blocked:
		n := 0
		for _, c := range m.checks {
			if c.result.Status == runner.Fail {
				n++
			}
		}
		lines = append(lines, " "+s.Fail.Render(fmt.Sprintf("%d blocking check(s) failed:", n))+" fix them, then press r to re-run")
	default:
		lines = append(lines, " "+s.Pass.Render("All blocking checks passed.")+" "+s.Value.Render("Enter to start"))
	}
	hints := []string{"r re-run checks", "q quit"}
	if done && !blocked {
		hints = append([]string{"enter start"}, hints...)
	}
	lines = append(lines, " "+helpLine(s, hints...))
	return m.clip(lines)
}

// clip fits lines to the terminal height, dropping from the middle of long
// lists rather than the header or footer.
func (m Model) clip(lines []string) string {
	for len(lines) > m.height && len(lines) > 4 {
		lines = append(lines[:len(lines)-3], lines[len(lines)-2:]...)
	}
	for i := range lines {
		if lipgloss.Width(lines[i]) > m.width {
			lines[i] = fit(lines[i], m.width)
		}
	}
	return strings.Join(lines, "\n")
}

// renderLive is the run in progress.
func (m Model) renderLive() string {
	s := m.styles
	snap := m.snap
	var lines []string
	phase := string(m.phase.Phase)
	if m.resumes > 0 {
		phase = "resuming · " + phase
	}
	if snap == nil {
		lines = append(lines, m.header(s.Title.Render(" eng5np")+"  live  "+s.Value.Render(m.info.BatchLabel), ""), m.rule())
		detail := m.phase.Detail
		if phase == "" {
			phase = "starting"
		}
		lines = append(lines, " "+m.spinner.View()+" "+phase+" "+s.Subtle.Render(detail))
		return m.clip(append(lines, "", " "+helpLine(s, "q stop")))
	}
	now := m.now
	if now.IsZero() || now.Before(snap.Now) {
		now = snap.Now
	}
	right := fmt.Sprintf("elapsed %s · deadline in %s ", clockOf(now.Sub(snap.Started)), clockOf(snap.Deadline.Sub(now)))
	uuid := snap.BatchUUID
	if m.width < 110 && len(uuid) > 8 {
		uuid = uuid[:8] // the run directory's suffix
	}
	lines = append(lines,
		m.header(s.Title.Render(" eng5np")+"  live  "+s.Value.Render(snap.BatchLabel)+"  "+s.Subtle.Render(uuid), s.Subtle.Render(right)),
		" "+s.Subtle.Render(fit(fmt.Sprintf("broker %s · capture %d · %s", snap.Broker, snap.Capture, phaseText(m.phase, snap)), m.width-2)),
		m.rule())

	// Progress bar and rate.
	expected := max(snap.Expected, snap.Comparisons, 1)
	label := fmt.Sprintf(" %d/%d comparisons (%d ok · %d failed)", snap.Comparisons, snap.Expected, snap.Succeeded, snap.FailedComparisons)
	b := bar{styles: s, percent: float64(snap.Comparisons) / float64(expected)}
	b.SetSize(m.width-lipgloss.Width(label)-2, 1)
	lines = append(lines, " "+b.View()+label)
	rateLabel := fmt.Sprintf(" %5.1f comparisons/s ", snap.RecentRate())
	sp := sparkline{values: snap.Rate}
	sp.SetSize(m.width-lipgloss.Width(rateLabel)-1, 1)
	lines = append(lines, rateLabel+s.Student.Render(sp.View()))

	// Panels: topics, faults, cost. A hard fault takes the faults panel
	// wide and red.
	hardFault := len(snap.Faults) > 0
	budgetHot := snap.BudgetUSD > 0 && snap.CostUSD > snap.BudgetUSD
	panelH := 8
	if m.height >= 36 {
		panelH = 10
	}
	var row string
	costW := max(26, m.width/3)
	if hardFault {
		faults := panel{styles: s, title: "✗ FAULTS: capture stopped", lines: m.faultLines(m.width - costW - 4), hot: true}
		faults.SetSize(m.width-costW, panelH)
		cost := panel{styles: s, title: "Cost", lines: m.costLines(costW - 4), hot: budgetHot}
		cost.SetSize(costW, panelH)
		row = lipgloss.JoinHorizontal(lipgloss.Top, faults.View(), cost.View())
	} else {
		w1 := m.width / 3
		w2 := m.width / 3
		w3 := m.width - w1 - w2
		topics := panel{styles: s, title: "Events by topic", lines: m.topicLines(w1 - 4)}
		topics.SetSize(w1, panelH)
		faults := panel{styles: s, title: "Faults", lines: m.faultLines(w2 - 4)}
		faults.SetSize(w2, panelH)
		cost := panel{styles: s, title: "Cost", lines: m.costLines(w3 - 4), hot: budgetHot}
		cost.SetSize(w3, panelH)
		row = lipgloss.JoinHorizontal(lipgloss.Top, topics.View(), faults.View(), cost.View())
	}
	lines = append(lines, strings.Split(row, "\n")...)

	// Ranking strip.
	rankH := 4
	if m.height >= 36 {
		rankH = 6
	}
	lines = append(lines, " "+s.PanelHead.Render("Ranking")+s.Subtle.Render(" (θ, anchors by grade, students by position)"))
	rs := rankingStrip{styles: s, ranking: snap.Ranking}
	rs.SetSize(m.width-2, rankH)
	for _, l := range strings.Split(rs.View(), "\n") {
		lines = append(lines, " "+l)
	}
	// On a tall terminal, the extremes of the ranking by name.
	if room := m.height - len(lines) - 4; room >= 5 && len(snap.Ranking) > 0 {
		lines = append(lines, "")
		lines = append(lines, m.leaderboard(min(room-1, 8))...)
	}

	// Status and help.
	status := "no artefact written yet"
	if !snap.LastWrite.IsZero() {
		status = fmt.Sprintf("last artefact write %s (%d writes)", snap.LastWrite.Local().Format("15:04:05"), snap.Writes)
	}
	if snap.BrokerErrors > 0 {
		status += s.Warn.Render(fmt.Sprintf(" · broker trouble (%d errors, retrying): %s", snap.BrokerErrors, snap.LastBrokerErr))
	}
	if snap.WaitingForResult {
		status += " · completed; waiting for the result event"
	}
	for len(lines) < m.height-2 {
		lines = append(lines, "")
	}
	lines = append(lines, " "+s.Subtle.Render(fit(status, m.width-2)))
	switch {
	case m.faultHold:
		lines = append(lines, " "+s.Fail.Render("Capture stopped on a metadata fault; the artefact is written with the fault recorded.")+" "+helpLine(s, "enter summary", fmt.Sprintf("q quit (exit %d)", m.exitCode)))
	case m.stopping:
		lines = append(lines, " "+s.Warn.Render("stopping: flushing the journal and writing the artefact…"))
	case m.confirmStop:
		lines = append(lines, " "+s.Warn.Render("Stop capturing?")+" The journal is flushed and the artefact written; resume continues later. "+helpLine(s, "y stop", "n keep capturing"))
	default:
		lines = append(lines, " "+helpLine(s, "q stop (asks first)"))
	}
	return m.clip(lines)
}

// leaderboard lists the strongest and weakest essays side by side.
func (m Model) leaderboard(rows int) []string {
	s := m.styles
	rk := m.snap.Ranking
	half := (m.width - 3) / 2
	row := func(i int) string {
		if i < 0 || i >= len(rk) {
			return ""
		}
		e := rk[i]
		name := e.ID
		if e.IsAnchor {
			name = s.Anchor.Render(e.Grade) + " " + e.ID
		}
		return fit(fmt.Sprintf("%3d ", i+1)+name, half-22) + fmt.Sprintf(" θ %+6.2f ±%5.2f  n %2d", e.Theta, e.SE, e.Compared)
	}
	n := min(rows, (len(rk)+1)/2)
	out := []string{" " + fit(s.PanelHead.Render("Strongest"), half) + " " + s.PanelHead.Render("Weakest")}
	for i := 0; i < n; i++ {
		out = append(out, " "+fit(row(i), half)+" "+row(len(rk)-n+i))
	}
	return out
}

func phaseText(p runner.PhaseEvent, snap *runner.Progress) string {
	if snap.Completion.Failed {
		return "the CJ service failed the batch"
	}
	if p.Phase == "" {
		return "capturing"
	}
	return string(p.Phase)
}

func (m Model) topicLines(w int) []string {
	st := m.snap
	s := m.styles
	return []string{
		kv(s, "comparison results", fmt.Sprint(st.Topics.Callbacks), w),
		kv(s, "completed", fmt.Sprint(st.Topics.Completed), w),
		kv(s, "result", fmt.Sprint(st.Topics.Results), w),
		kv(s, "failed", fmt.Sprint(st.Topics.Failed), w),
		kv(s, "distinct prompts", fmt.Sprint(st.DistinctPrompts), w),
	}
}

func (m Model) faultLines(w int) []string {
	st := m.snap
	s := m.styles
	byField := faultsByField(st.Faults)
	var missing int
	for _, ids := range byField {
		missing += len(ids)
	}
	lines := []string{}
	if missing > 0 {
		lines = append(lines, s.Fail.Render(fmt.Sprintf("missing metadata: %d", missing)))
		fields := make([]string, 0, len(byField))
		for f := range byField {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			lines = append(lines, s.Fail.Render(fit(fmt.Sprintf(" %s: %s", f, strings.Join(byField[f], ", ")), w)))
		}
		for _, f := range st.Faults {
			lines = append(lines, fit(fmt.Sprintf(" at %s/%d offset %d", shortTopic(f.Topic), f.Partition, f.Offset), w))
		}
	} else {
		lines = append(lines, kv(s, "missing metadata", "0", w))
	}
	lines = append(lines,
		kv(s, "malformed", fmt.Sprint(st.Records.Malformed), w),
		kv(s, "duplicates", fmt.Sprint(st.Records.Duplicate), w),
		kv(s, "foreign batch", fmt.Sprint(st.Records.ForeignBatch), w),
	)
	return lines
}

// faultsByField lists the correlation ids of the faulty callbacks by the
// metadata field they lacked.
func faultsByField(faults []runner.Fault) map[string][]string {
	by := map[string][]string{}
	for _, f := range faults {
		for _, field := range f.Fields {
			by[field] = append(by[field], f.CorrelationID)
		}
	}
	return by
}

func shortTopic(t string) string {
	if i := strings.LastIndex(strings.TrimSuffix(t, ".v1"), "."); i >= 0 {
		return strings.TrimSuffix(t[i+1:], ".v1")
	}
	return t
}

func (m Model) costLines(w int) []string {
	snap := m.snap
	st := snap
	s := m.styles
	budget := "none"
	if snap.BudgetUSD > 0 {
		budget = fmt.Sprintf("$%.4f", snap.BudgetUSD)
		if st.CostUSD > snap.BudgetUSD {
			budget = s.Fail.Render(budget + " EXCEEDED")
		}
	}
	lines := []string{
		kv(s, "total", s.Value.Render(fmt.Sprintf("$%.4f", st.CostUSD)), w),
		kv(s, "projected", fmt.Sprintf("$%.4f", snap.ProjectedUSD), w),
		kv(s, "budget", budget, w),
	}
	for _, mc := range st.Models {
		lines = append(lines, fit(fmt.Sprintf("%s/%s", mc.Provider, mc.Model), w),
			kv(s, fmt.Sprintf(" %dk+%dk tok", mc.PromptTokens/1000, mc.CompletionTokens/1000), fmt.Sprintf("$%.4f", mc.USD), w))
	}
	return lines
}

// renderSummary is the end of a run.
func (m Model) renderSummary() string {
	s := m.styles
	sum := m.summary
	outcome := s.Pass.Render(string(sum.Outcome))
	if sum.ExitCode != 0 {
		outcome = s.Fail.Render(string(sum.Outcome))
	}
	var lines []string
	lines = append(lines,
		m.header(s.Title.Render("Summary")+" · "+outcome+" · exit "+fmt.Sprint(sum.ExitCode)+" · "+s.Value.Render(sum.BatchLabel),
			s.Subtle.Render(sum.BatchUUID+" ")),
		m.rule())
	lines = append(lines, wrap(sum.Message, m.width-2, " ")...)
	lines = append(lines, "")
	if sum.ArtefactPath != "" {
		dir := filepath.Dir(sum.ArtefactPath)
		lines = append(lines,
			" "+s.Label.Render("artefact ")+" "+s.Subtle.Render(fit(shorten(dir, m.width-14)+string(filepath.Separator), m.width-12)),
			"   "+s.Value.Render(filepath.Base(sum.ArtefactPath)),
			" "+s.Label.Render("manifest ")+" "+fit(shorten(sum.ManifestPath, m.width-14), m.width-12))
		if sum.Verified {
			lines = append(lines, " "+s.Label.Render("verify   ")+" "+s.Pass.Render("OK")+" schema valid, checksum matches, manifest re-hashed")
		} else {
			lines = append(lines, " "+s.Label.Render("verify   ")+" "+s.Fail.Render("FAILED ")+fit(strings.Join(sum.VerifyProblems, "; "), m.width-20))
		}
	} else if sum.RunDir != "" {
		lines = append(lines, " "+s.Label.Render("run dir  ")+" "+fit(sum.RunDir, m.width-12))
	}
	lines = append(lines, "",
		" "+s.Value.Render(fmt.Sprintf("%d comparisons", sum.Comparisons))+fmt.Sprintf(" (%d succeeded · %d failed) · ", sum.Succeeded, sum.Failed)+
			s.Value.Render(fmt.Sprintf("$%.4f", sum.CostUSD))+fmt.Sprintf(" · %s", clockOf(sum.Elapsed)))
	for _, mc := range sum.Models {
		lines = append(lines, " "+s.Subtle.Render(fit(fmt.Sprintf("  %s/%s: %d comparisons, %d prompt + %d completion tokens, $%.4f",
			mc.Provider, mc.Model, mc.Comparisons, mc.PromptTokens, mc.CompletionTokens, mc.USD), m.width-2)))
	}
	if sum.SlowestModel != "" {
		lines = append(lines, " "+s.Subtle.Render(fit("  slowest "+sum.SlowestModel+" · most expensive "+sum.PriciestModel, m.width-2)))
	}
	for _, f := range sum.Faults {
		for _, l := range wrap("✗ "+f, m.width-4, " ") {
			lines = append(lines, s.Fail.Render(l))
		}
	}
	if sum.Warning != "" {
		for _, l := range wrap("warning: "+sum.Warning, m.width-2, " ") {
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
	hints := []string{fmt.Sprintf("q quit (exit %d)", sum.ExitCode)}
	if sum.Resumable {
		hints = append([]string{"r resume capture in place"}, hints...)
	}
	lines = append(lines, " "+helpLine(s, hints...))
	return m.clip(lines)
}

// wrap breaks text into lines of at most width cells, each with prefix.
func wrap(text string, width int, prefix string) []string {
	if width < 10 {
		width = 10
	}
	var out []string
	for _, l := range strings.Split(lipgloss.NewStyle().Width(width-lipgloss.Width(prefix)).Render(text), "\n") {
		out = append(out, prefix+strings.TrimRight(l, " "))
	}
	return out
}

// shorten keeps the end of a long path, which names the run.
func shorten(p string, width int) string {
	if lipgloss.Width(p) <= width || width < 8 {
		return p
	}
	r := []rune(p)
	return "…" + string(r[len(r)-(width-1):])
}
