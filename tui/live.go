package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"eng5np/runner"
)

// liveScreen is the run in progress: identity and clocks, progress and
// rate, events by topic, faults, cost, and the ranking.
type liveScreen struct {
	info   Info
	styles Styles
	keys   liveKeys
	help   help.Model

	width, height int
	frame         string
	now           time.Time

	phase       runner.PhaseEvent
	snap        *runner.Progress
	resumes     int
	confirmStop bool
	stopping    bool
	// faultHold is set when a hard fault ended the run: the red faults
	// panel keeps the screen until Enter; exitCode is the run's.
	faultHold bool
	exitCode  int
}

func newLiveScreen(info Info, s Styles) liveScreen {
	return liveScreen{info: info, styles: s, keys: newLiveKeys(), help: newHelp(s)}
}

// SetSize lays the live view out for a terminal of w×h cells.
func (l *liveScreen) SetSize(w, h int) { l.width, l.height = w, h }

// ShortHelp and FullHelp are the screen's keys as they apply now.
func (l liveScreen) ShortHelp() []key.Binding  { return l.currentKeys().ShortHelp() }
func (l liveScreen) FullHelp() [][]key.Binding { return l.currentKeys().FullHelp() }

func (l liveScreen) currentKeys() liveKeys {
	k := l.keys
	k.Stop.SetEnabled(!l.faultHold && !l.confirmStop && !l.stopping)
	k.Yes.SetEnabled(!l.faultHold && l.confirmStop)
	k.No.SetEnabled(!l.faultHold && l.confirmStop)
	k.Summary.SetEnabled(l.faultHold)
	k.Quit.SetEnabled(l.faultHold)
	k.Quit.SetHelp("q", fmt.Sprintf("quit (exit %d)", l.exitCode))
	return k
}

// spinning reports whether the live view shows a spinner (before the first
// progress arrives).
func (l liveScreen) spinning() bool { return l.snap == nil }

// restart clears the view for an in-place resume.
func (l *liveScreen) restart() {
	l.resumes++
	l.snap = nil
	l.confirmStop, l.stopping, l.faultHold = false, false, false
}

// Update takes the run's phases and progress, the clock and the keys.
func (l liveScreen) Update(msg tea.Msg) (liveScreen, tea.Cmd, intent) {
	switch msg := msg.(type) {
	case phaseMsg:
		l.phase = msg.PhaseEvent
	case captureProgressMsg:
		p := msg.Progress
		l.snap = &p
		l.now = p.Now
	case clockMsg:
		l.now = time.Time(msg)
	case tea.KeyPressMsg:
		k := l.currentKeys()
		switch {
		case key.Matches(msg, k.Summary) && k.Summary.Enabled():
			l.faultHold = false
			return l, nil, intent{kind: intentSummary}
		case key.Matches(msg, k.Quit) && k.Quit.Enabled():
			return l, nil, intent{kind: intentQuit, code: l.exitCode}
		case key.Matches(msg, k.Yes) && k.Yes.Enabled():
			l.confirmStop, l.stopping = false, true
			return l, nil, intent{kind: intentStop}
		case key.Matches(msg, k.No) && k.No.Enabled():
			l.confirmStop = false
		case key.Matches(msg, k.Stop) && k.Stop.Enabled():
			l.confirmStop = true
		}
	case signalStopMsg:
		// SIGINT or SIGTERM from outside the terminal during a run: stop
		// cleanly without asking; the summary follows.
		if !l.stopping {
			l.confirmStop, l.stopping = false, true
			return l, nil, intent{kind: intentStop}
		}
	}
	return l, nil, intent{}
}

// View renders the live view.
func (l liveScreen) View() string {
	s := l.styles
	snap := l.snap
	var lines []string
	phase := string(l.phase.Phase)
	if l.resumes > 0 {
		phase = "resuming · " + phase
	}
	if snap == nil {
		lines = append(lines, header(l.width, s.Title.Render(" eng5np")+"  live  "+s.Value.Render(l.info.BatchLabel), ""), rule(s, l.width))
		if phase == "" {
			phase = "starting"
		}
		lines = append(lines, " "+l.frame+" "+phase+" "+s.Subtle.Render(l.phase.Detail))
		return clip(append(lines, "", " "+helpLine(l.help, l, l.width-2)), l.width, l.height)
	}
	now := l.now
	if now.IsZero() || now.Before(snap.Now) {
		now = snap.Now
	}
	right := fmt.Sprintf("elapsed %s · deadline in %s ", clockOf(now.Sub(snap.Started)), clockOf(snap.Deadline.Sub(now)))
	uuid := snap.BatchUUID
	if l.width < 110 && len(uuid) > 8 {
		uuid = uuid[:8] // the run directory's suffix
	}
	lines = append(lines,
		header(l.width, s.Title.Render(" eng5np")+"  live  "+s.Value.Render(snap.BatchLabel)+"  "+s.Subtle.Render(uuid), s.Subtle.Render(right)),
		" "+s.Subtle.Render(padTo(fmt.Sprintf("broker %s · capture %d · %s", snap.Broker, snap.Capture, phaseText(l.phase, snap)), l.width-2)),
		rule(s, l.width))

	// Progress bar and rate.
	expected := max(snap.Expected, snap.Comparisons, 1)
	label := fmt.Sprintf(" %d/%d comparisons (%d ok · %d failed)", snap.Comparisons, snap.Expected, snap.Succeeded, snap.FailedComparisons)
	b := bar{styles: s, percent: float64(snap.Comparisons) / float64(expected)}
	b.SetSize(l.width-lipgloss.Width(label)-2, 1)
	lines = append(lines, " "+b.View()+label)
	rateLabel := fmt.Sprintf(" %5.1f comparisons/s ", snap.RecentRate())
	sp := sparkline{values: snap.Rate}
	sp.SetSize(l.width-lipgloss.Width(rateLabel)-1, 1)
	lines = append(lines, rateLabel+s.Student.Render(sp.View()))

	// Panels: topics, faults, cost. A hard fault takes the faults panel
	// wide and red.
	hardFault := len(snap.Faults) > 0
	budgetHot := snap.BudgetUSD > 0 && snap.CostUSD > snap.BudgetUSD
	panelH := 8
	if l.height >= 36 {
		panelH = 10
	}
	var row string
	costW := max(26, l.width/3)
	if hardFault {
		faults := panel{styles: s, title: "✗ FAULTS: capture stopped", lines: l.faultLines(l.width - costW - 4), hot: true}
		faults.SetSize(l.width-costW, panelH)
		cost := panel{styles: s, title: "Cost", lines: l.costLines(costW - 4), hot: budgetHot}
		cost.SetSize(costW, panelH)
		row = lipgloss.JoinHorizontal(lipgloss.Top, faults.View(), cost.View())
	} else {
		w1 := l.width / 3
		w2 := l.width / 3
		w3 := l.width - w1 - w2
		topics := panel{styles: s, title: "Events by topic", lines: l.topicLines(w1 - 4)}
		topics.SetSize(w1, panelH)
		faults := panel{styles: s, title: "Faults", lines: l.faultLines(w2 - 4)}
		faults.SetSize(w2, panelH)
		cost := panel{styles: s, title: "Cost", lines: l.costLines(w3 - 4), hot: budgetHot}
		cost.SetSize(w3, panelH)
		row = lipgloss.JoinHorizontal(lipgloss.Top, topics.View(), faults.View(), cost.View())
	}
	lines = append(lines, strings.Split(row, "\n")...)

	// Ranking strip.
	rankH := 4
	if l.height >= 36 {
		rankH = 6
	}
	lines = append(lines, " "+s.PanelHead.Render("Ranking")+s.Subtle.Render(" (θ, anchors by grade, students by position)"))
	rs := rankingStrip{styles: s, ranking: snap.Ranking}
	rs.SetSize(l.width-2, rankH)
	for _, line := range strings.Split(rs.View(), "\n") {
		lines = append(lines, " "+line)
	}
	// On a tall terminal, the extremes of the ranking by name.
	if room := l.height - len(lines) - 4; room >= 5 && len(snap.Ranking) > 0 {
		lines = append(lines, "")
		lines = append(lines, l.leaderboard(min(room-1, 8))...)
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
	for len(lines) < l.height-2 {
		lines = append(lines, "")
	}
	lines = append(lines, " "+s.Subtle.Render(padTo(status, l.width-2)))
	keys := " " + helpLine(l.help, l, l.width-2)
	switch {
	case l.faultHold:
		lines = append(lines, " "+s.Fail.Render("Capture stopped on a metadata fault; the artefact is written with the fault recorded.")+keys)
	case l.stopping:
		lines = append(lines, " "+s.Warn.Render("stopping: flushing the journal and writing the artefact…"))
	case l.confirmStop:
		lines = append(lines, " "+s.Warn.Render("Stop capturing?")+" The journal is flushed and the artefact written; resume continues later."+keys)
	default:
		lines = append(lines, keys)
	}
	return clip(lines, l.width, l.height)
}

// leaderboard lists the strongest and weakest essays side by side.
func (l liveScreen) leaderboard(rows int) []string {
	s := l.styles
	rk := l.snap.Ranking
	half := (l.width - 3) / 2
	row := func(i int) string {
		if i < 0 || i >= len(rk) {
			return ""
		}
		e := rk[i]
		name := e.ID
		if e.IsAnchor {
			name = s.Anchor.Render(e.Grade) + " " + e.ID
		}
		return padTo(fmt.Sprintf("%3d ", i+1)+name, half-22) + fmt.Sprintf(" θ %+6.2f ±%5.2f  n %2d", e.Theta, e.SE, e.Compared)
	}
	n := min(rows, (len(rk)+1)/2)
	out := []string{" " + padTo(s.PanelHead.Render("Strongest"), half) + " " + s.PanelHead.Render("Weakest")}
	for i := 0; i < n; i++ {
		out = append(out, " "+padTo(row(i), half)+" "+row(len(rk)-n+i))
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

func (l liveScreen) topicLines(w int) []string {
	st := l.snap
	s := l.styles
	return []string{
		kv(s, "comparison results", fmt.Sprint(st.Topics.Callbacks), w),
		kv(s, "completed", fmt.Sprint(st.Topics.Completed), w),
		kv(s, "result", fmt.Sprint(st.Topics.Results), w),
		kv(s, "failed", fmt.Sprint(st.Topics.Failed), w),
		kv(s, "distinct prompts", fmt.Sprint(st.DistinctPrompts), w),
	}
}

func (l liveScreen) faultLines(w int) []string {
	st := l.snap
	s := l.styles
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
			lines = append(lines, s.Fail.Render(padTo(fmt.Sprintf(" %s: %s", f, strings.Join(byField[f], ", ")), w)))
		}
		for _, f := range st.Faults {
			lines = append(lines, padTo(fmt.Sprintf(" at %s/%d offset %d", shortTopic(f.Topic), f.Partition, f.Offset), w))
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

func (l liveScreen) costLines(w int) []string {
	snap := l.snap
	s := l.styles
	budget := "none"
	if snap.BudgetUSD > 0 {
		budget = fmt.Sprintf("$%.4f", snap.BudgetUSD)
		if snap.CostUSD > snap.BudgetUSD {
			budget = s.Fail.Render(budget + " EXCEEDED")
		}
	}
	lines := []string{
		kv(s, "total", s.Value.Render(fmt.Sprintf("$%.4f", snap.CostUSD)), w),
		kv(s, "projected", fmt.Sprintf("$%.4f", snap.ProjectedUSD), w),
		kv(s, "budget", budget, w),
	}
	for _, mc := range snap.Models {
		lines = append(lines, padTo(fmt.Sprintf("%s/%s", mc.Provider, mc.Model), w),
			kv(s, fmt.Sprintf(" %dk+%dk tok", mc.PromptTokens/1000, mc.CompletionTokens/1000), fmt.Sprintf("$%.4f", mc.USD), w))
	}
	return lines
}
