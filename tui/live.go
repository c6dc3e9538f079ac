package tui

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"eng5np/runner"
)

// pane is the focusable part of the live view's lower half.
type pane int

const (
	paneRanking pane = iota
	paneLog
)

// liveScreen is the run in progress (or, once it ended, its final state):
// identity and clocks, progress with rate, ETA and health, events by
// topic, problems, cost, the θ strip, and a focusable ranking or log.
type liveScreen struct {
	info   Info
	styles Styles
	keys   liveKeys
	help   help.Model

	width, height int
	fullHelp      bool
	frame         string
	now           time.Time

	phase       runner.PhaseEvent
	snap        *runner.Progress
	resumes     int
	confirmStop bool
	stopping    bool
	// faultHold is set when a metadata fault ended the run: the red panel
	// keeps the screen until Enter; exitCode is the run's.
	faultHold bool
	exitCode  int
	// finished is the run's summary once it ended: the view is then the
	// final live view, its clocks stopped.
	finished *runner.Summary
	// watch is a read-only view of a run another process captures.
	watch bool

	rank   rankTable
	log    logPane
	focus  pane
	detail *detailView
	// axis is the θ strip's range: widened only when a point falls off.
	axis [2]float64
}

func newLiveScreen(info Info, s Styles) liveScreen {
	l := liveScreen{info: info, styles: s, keys: newLiveKeys(), help: newHelp(s)}
	l.rank = rankTable{styles: s, scroll: scroller{cursor: -1}}
	l.log = logPane{styles: s, scroll: scroller{cursor: -1}, follow: true}
	l.rank.focus(true)
	return l
}

// SetSize lays the live view out for a terminal of w×h cells.
func (l *liveScreen) SetSize(w, h int) {
	l.width, l.height = w, h
	l.sync()
}

// ShortHelp and FullHelp are the screen's keys as they apply now.
func (l liveScreen) ShortHelp() []key.Binding  { return l.currentKeys().ShortHelp() }
func (l liveScreen) FullHelp() [][]key.Binding { return l.currentKeys().FullHelp() }

func (l liveScreen) editing() bool { return l.rank.filter.editing || l.log.filter.editing }

func (l liveScreen) currentKeys() liveKeys {
	k := l.keys
	running := l.finished == nil && !l.faultHold
	browsing := l.detail == nil && !l.confirmStop && !l.faultHold && !l.editing()
	k.Stop.SetEnabled(running && !l.watch && !l.confirmStop && !l.stopping && browsing)
	k.Yes.SetEnabled(running && l.confirmStop)
	k.No.SetEnabled(running && l.confirmStop)
	k.Summary.SetEnabled(l.faultHold)
	k.Back.SetEnabled(l.finished != nil && !l.faultHold && browsing)
	k.Quit.SetEnabled(l.faultHold || (l.watch && browsing) || (l.finished != nil && browsing))
	if l.watch && l.finished == nil {
		k.Quit.SetHelp("q", "quit watching")
	} else {
		k.Quit.SetHelp("q", fmt.Sprintf("quit (exit %d)", l.exitCode))
	}
	if l.finished != nil {
		// tab returns to the summary; the panes switch with the arrows.
		k.Pane.SetKeys("left", "right")
		k.Pane.SetHelp("←/→", "ranking/log")
	}
	k.Pane.SetEnabled(browsing)
	k.Filter.SetEnabled(browsing)
	k.Clear.SetEnabled(browsing && l.focusedFilter().text != "")
	k.Detail.SetEnabled(browsing && l.hasSelection())
	k.Close.SetEnabled(l.detail != nil)
	if d := l.detail; d != nil {
		detailKeys(&k.Detail, &k.Close, d)
	}
	k.Problem.SetEnabled(browsing && l.focus == paneLog)
	if l.log.problems {
		k.Problem.SetHelp("p", "all records")
	}
	k.nav.setEnabled(l.detail != nil || browsing)
	return k
}

func (l liveScreen) focusedFilter() filterInput {
	if l.focus == paneLog {
		return l.log.filter
	}
	return l.rank.filter
}

func (l liveScreen) hasSelection() bool {
	if l.focus == paneLog {
		_, ok := l.log.selected()
		return ok
	}
	_, ok := l.rank.selected()
	return ok
}

// spinning reports whether the live view shows a spinner (before the first
// progress arrives).
func (l liveScreen) spinning() bool { return l.snap == nil }

// frozen reports whether the clocks stopped: the capture ended.
func (l liveScreen) frozen() bool {
	return l.finished != nil || l.faultHold || (l.snap != nil && l.snap.Stopped)
}

// restart clears the view for an in-place resume: the resumed capture
// refolds the journal and reports every record again.
func (l *liveScreen) restart() {
	l.resumes++
	l.snap = nil
	l.confirmStop, l.stopping, l.faultHold = false, false, false
	l.finished, l.detail = nil, nil
	l.rank.setRows(nil) // the log starts over with the capture (captureStartedMsg)
}

// Update takes the run's phases, progress and records, the clock and the
// keys.
func (l liveScreen) Update(msg tea.Msg) (liveScreen, tea.Cmd, intent) {
	l, cmd, in := l.update(msg)
	l.sync()
	return l, cmd, in
}

func (l liveScreen) update(msg tea.Msg) (liveScreen, tea.Cmd, intent) {
	switch msg := msg.(type) {
	case phaseMsg:
		l.phase = msg.PhaseEvent
	case captureProgressMsg:
		p := msg.Progress
		l.snap = &p
		l.now = p.Now
		l.rank.setRows(p.Ranking)
		l.widenAxis(p.Ranking)
	case captureStartedMsg:
		l.log.entries, l.log.dropped = nil, 0
		l.log.refilter()
	case recordsMsg:
		l.log.dropped += msg.Skipped
		l.log.add(msg.Records)
	case clockMsg:
		if !l.frozen() {
			l.now = time.Time(msg)
		}
	case signalStopMsg:
		// SIGINT or SIGTERM from outside the terminal during a run: stop
		// cleanly without asking; the summary follows.
		if !l.stopping && l.finished == nil {
			l.confirmStop, l.stopping = false, true
			return l, nil, intent{kind: intentStop}
		}
	case tea.KeyPressMsg:
		return l.key(msg)
	}
	return l, nil, intent{}
}

func (l liveScreen) key(msg tea.KeyPressMsg) (liveScreen, tea.Cmd, intent) {
	k := l.currentKeys()
	if l.editing() {
		f := &l.rank.filter
		if l.focus == paneLog {
			f = &l.log.filter
		}
		if f.update(msg) {
			if l.focus == paneLog {
				l.log.refilter()
			} else {
				l.rank.refilter()
			}
		}
		return l, nil, intent{}
	}
	if l.detail != nil {
		l.detail = l.detail.key(k.Detail, k.Close, k.nav, msg)
		return l, nil, intent{}
	}
	switch {
	case key.Matches(msg, k.Summary) && k.Summary.Enabled():
		l.faultHold = false
		return l, nil, intent{kind: intentSummary}
	case key.Matches(msg, k.Yes) && k.Yes.Enabled():
		l.confirmStop, l.stopping = false, true
		return l, nil, intent{kind: intentStop}
	case key.Matches(msg, k.No) && k.No.Enabled():
		l.confirmStop = false
	case key.Matches(msg, k.Quit) && k.Quit.Enabled():
		return l, nil, intent{kind: intentQuit, code: l.exitCode}
	case key.Matches(msg, k.Stop) && k.Stop.Enabled():
		l.confirmStop = true
	case key.Matches(msg, k.Back) && k.Back.Enabled():
		return l, nil, intent{kind: intentSummary}
	case key.Matches(msg, k.Pane) && k.Pane.Enabled():
		l.setFocus(1 - l.focus)
	case key.Matches(msg, k.Filter) && k.Filter.Enabled():
		if l.focus == paneLog {
			l.log.filter.editing = true
		} else {
			l.rank.filter.editing = true
		}
	case key.Matches(msg, k.Clear) && k.Clear.Enabled():
		l.rank.filter.text, l.log.filter.text = "", ""
		l.rank.refilter()
		l.log.refilter()
	case key.Matches(msg, k.Problem) && k.Problem.Enabled():
		l.log.problems = !l.log.problems
		l.log.refilter()
	case key.Matches(msg, k.Detail) && k.Detail.Enabled():
		l.openDetail()
	case l.focus == paneLog && k.nav.Up.Enabled() && l.log.scroll.move(k.nav, msg):
		l.log.follow = l.log.scroll.cursor == len(l.log.view)-1
	case l.focus == paneRanking && k.nav.Up.Enabled() && l.rank.scroll.move(k.nav, msg):
	}
	return l, nil, intent{}
}

func (l *liveScreen) setFocus(p pane) {
	l.focus = p
	l.rank.focus(p == paneRanking)
	l.log.focus(p == paneLog)
}

func (l *liveScreen) openDetail() {
	if l.focus == paneLog {
		if e, ok := l.log.selected(); ok {
			l.detail = recordDetail(e)
		}
		return
	}
	if r, ok := l.rank.selected(); ok {
		rank := 0
		for i, x := range l.rank.rows {
			if x.ID == r.ID {
				rank = i + 1
			}
		}
		l.detail = essayDetail(r, rank, l.rank.service[r.ID], l.log.entries)
	}
}

// widenAxis keeps the θ strip's scale still: it grows (with a margin) only
// when a point would fall off it, so the strip does not jump every wave.
func (l *liveScreen) widenAxis(rk []runner.Ranked) {
	if len(rk) == 0 {
		return
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, e := range rk {
		lo, hi = math.Min(lo, e.Theta), math.Max(hi, e.Theta)
	}
	if l.axis[0] == 0 && l.axis[1] == 0 {
		l.axis = [2]float64{math.Min(-1, math.Floor(lo)), math.Max(1, math.Ceil(hi))}
		return
	}
	if lo < l.axis[0] {
		l.axis[0] = math.Floor(lo - 0.1*(l.axis[1]-l.axis[0]))
	}
	if hi > l.axis[1] {
		l.axis[1] = math.Ceil(hi + 0.1*(l.axis[1]-l.axis[0]))
	}
}

// layout is how the view's rows are shared out at the current size.
type liveLayout struct {
	panels   []string // the events/problems/cost block, rendered
	strip    bool     // room for the θ strip
	paneRows int      // rows of the lower pane, its title excluded
	bottom   []string // status, prompt and help lines
	topLines []string
}

// sync sizes the lists to the rows they get, so that keys page by what is
// on screen.
func (l *liveScreen) sync() {
	if l.snap == nil || l.width == 0 {
		return
	}
	lay := l.layout()
	l.rank.width, l.log.width = l.width-2, l.width-2
	if l.sideBySide() {
		l.rank.width = min(80, (l.width-5)/2+10)
		l.log.width = l.width - 5 - l.rank.width
	}
	l.rank.scroll.resize(len(l.rank.view), max(1, lay.paneRows-1))
	l.log.scroll.resize(len(l.log.view), max(1, lay.paneRows))
}

func (l liveScreen) layout() liveLayout {
	lay := liveLayout{topLines: l.topLines(), panels: l.panelLines(l.width >= 80)}
	lay.bottom = l.bottomLines()
	fixed := len(lay.topLines) + len(lay.panels) + len(lay.bottom) + 1 // + the pane's title
	rest := l.height - fixed
	if rest >= 12 && l.height >= 30 {
		lay.strip = true
		rest -= 5
	}
	lay.paneRows = max(1, rest)
	return lay
}

// View renders the live view.
func (l liveScreen) View() string {
	s := l.styles
	if l.snap == nil {
		lines := []string{header(l.width, s.Title.Render(" eng5np")+"  live  "+s.Value.Render(l.info.BatchLabel), ""), rule(s, l.width)}
		phase := string(l.phase.Phase)
		if phase == "" {
			phase = "starting"
		}
		if l.resumes > 0 {
			phase = "resuming · " + phase
		}
		lines = append(lines, wrap(l.frame+" "+phase+" "+s.Subtle.Render(l.phase.Detail), l.width-2, " ")...)
		lines = append(lines, "")
		for _, h := range helpLines(l.help, l, l.width-2, l.fullHelp) {
			lines = append(lines, " "+h)
		}
		return clip(lines, l.width, l.height)
	}
	lay := l.layout()
	lines := append([]string(nil), lay.topLines...)
	if l.detail != nil {
		lines = append(lines, " "+s.PanelHead.Render(l.detail.title))
		rows := l.height - len(lines) - len(lay.bottom)
		d := *l.detail
		for _, dl := range d.lines(s, l.width-2, max(1, rows)) {
			lines = append(lines, " "+dl)
		}
		for len(lines) < l.height-len(lay.bottom) {
			lines = append(lines, "")
		}
		return clip(append(lines, lay.bottom...), l.width, l.height)
	}
	// The middle (panels, strip, pane) gives way when the screen is
	// short: the header, the prompt and the keys always show.
	middle := append([]string(nil), lay.panels...)
	if lay.strip {
		middle = append(middle, " "+s.PanelHead.Render("θ scale")+s.Subtle.Render(" anchors by grade, students by position"))
		rs := rankingStrip{styles: s, ranking: l.snap.Ranking, lo: l.axis[0], hi: l.axis[1]}
		rs.SetSize(l.width-2, 4)
		for _, line := range strings.Split(rs.View(), "\n") {
			middle = append(middle, " "+line)
		}
	}
	middle = append(middle, l.paneLines(lay.paneRows)...)
	if room := l.height - len(lines) - len(lay.bottom); len(middle) > room {
		middle = middle[:max(0, room)]
	}
	lines = append(lines, middle...)
	for len(lines) < l.height-len(lay.bottom) {
		lines = append(lines, "")
	}
	return clip(append(lines, lay.bottom...), l.width, l.height)
}

// paneLines renders the focused pane's title and rows; the other pane's
// name sits in the title as a tab.
func (l liveScreen) paneLines(rows int) []string {
	s := l.styles
	tabs := func(active string) string {
		names := []string{"Ranking", "Log"}
		var out []string
		for _, n := range names {
			if n == active {
				out = append(out, s.PanelHead.Render("["+n+"]"))
			} else {
				out = append(out, s.Subtle.Render(n))
			}
		}
		return strings.Join(out, " ")
	}
	rankPane := func(rt rankTable, title string) []string {
		if len(rt.rows) == 0 {
			return []string{title, s.Subtle.Render("waiting for the first comparisons")}
		}
		out := []string{title + s.Subtle.Render(strings.TrimPrefix(rt.title("Ranking"), "Ranking"))}
		return append(out, rt.lines(rows)...)
	}
	logPaneLines := func(lp logPane, title string) []string {
		out := []string{title + s.Subtle.Render(strings.TrimPrefix(lp.title(), "Log"))}
		return append(out, lp.lines(rows)...)
	}
	var body []string
	if l.sideBySide() {
		// Wide: both panes, the focused one's title marked.
		left := rankPane(l.rank, paneTitle(s, "Ranking", l.focus == paneRanking))
		right := logPaneLines(l.log, paneTitle(s, "Log", l.focus == paneLog))
		lw := l.rank.width
		for i := 0; i < max(len(left), len(right)); i++ {
			var a, b string
			if i < len(left) {
				a = left[i]
			}
			if i < len(right) {
				b = right[i]
			}
			body = append(body, padTo(a, lw)+" │ "+b)
		}
	} else if l.focus == paneLog {
		body = logPaneLines(l.log, tabs("Log"))
	} else {
		body = rankPane(l.rank, tabs("Ranking"))
	}
	lines := make([]string, 0, len(body))
	for _, b := range body {
		lines = append(lines, " "+b)
	}
	return lines
}

// sideBySide reports whether the ranking and the log share the width.
func (l liveScreen) sideBySide() bool { return l.width >= 140 }

// paneTitle is a pane's name, bracketed and bold when it has the keys.
func paneTitle(s Styles, name string, focused bool) string {
	if focused {
		return s.PanelHead.Render("[" + name + "]")
	}
	return s.Subtle.Render(name)
}

// topLines are the header, the phase line, the rule, progress and health.
func (l liveScreen) topLines() []string {
	s := l.styles
	snap := l.snap
	now := l.clockNow()
	uuid := snap.BatchUUID
	if l.width < 110 && len(uuid) > 8 {
		uuid = uuid[:8] // the run directory's suffix
	}
	mode := "live"
	if l.watch {
		mode = "watch"
	}
	left := s.Title.Render(" eng5np") + "  " + mode + "  " + s.Value.Render(snap.BatchLabel) + "  " + s.Subtle.Render(uuid)
	elapsed := snap.ElapsedAt(now)
	clocks := []string{"elapsed " + clockOf(elapsed)}
	if !l.frozen() {
		clocks = append(clocks, l.healthStyle(now).Render("deadline in "+clockOf(snap.Deadline.Sub(now))))
	}
	right := strings.Join(clocks, " · ") + " "
	var lines []string
	if lipgloss.Width(left)+lipgloss.Width(right)+1 <= l.width {
		lines = append(lines, header(l.width, left, right))
	} else {
		lines = append(lines, left, " "+right)
	}
	where := []string{l.phaseText(), "broker " + snap.Broker}
	if snap.Capture > 1 {
		where = append(where, fmt.Sprintf("resumed: capture %d of the run", snap.Capture))
	}
	for _, w := range flow(where, l.width-2, " · ") {
		lines = append(lines, " "+s.Subtle.Render(w))
	}
	lines = append(lines, rule(s, l.width))

	// Progress: the bar keeps its width; the counts wrap after it.
	barW := min(40, max(10, l.width/3))
	expected := max(snap.Expected, snap.Comparisons, 1)
	b := bar{styles: s, percent: float64(snap.Comparisons) / float64(expected)}
	b.SetSize(barW, 1)
	counts := []string{
		s.Value.Render(fmt.Sprintf("%d/%d comparisons", snap.Comparisons, snap.Expected)),
		fmt.Sprintf("%.0f%%", 100*float64(snap.Comparisons)/float64(expected)),
		fmt.Sprintf("%d ok", snap.Succeeded),
	}
	failed := fmt.Sprintf("%d failed", snap.FailedComparisons)
	if snap.FailedComparisons > 0 {
		failed = s.Warn.Render(failed)
	}
	counts = append(counts, failed)
	cl := flow(counts, l.width-barW-3, " · ")
	lines = append(lines, " "+b.View()+" "+cl[0])
	for _, c := range cl[1:] {
		lines = append(lines, " "+strings.Repeat(" ", barW+1)+c)
	}
	// Rate, ETA and health.
	spW := min(20, max(6, l.width/6))
	sp := sparkline{values: snap.Rate}
	sp.SetSize(spW, 1)
	rate := fmt.Sprintf("%.1f/s", snap.RecentRate())
	health := []string{s.Student.Render(sp.View()) + " " + rate}
	health = append(health, l.healthItems(now)...)
	for i, h := range flow(health, l.width-2, " · ") {
		if i == 0 {
			lines = append(lines, " "+h)
		} else {
			lines = append(lines, " "+h)
		}
	}
	return lines
}

// clockNow is the time the clocks show: the last tick while capturing,
// the moment capture stopped once it has.
func (l liveScreen) clockNow() time.Time {
	now := l.now
	if now.IsZero() || now.Before(l.snap.Now) || l.frozen() {
		now = l.snap.Now
	}
	return now
}

// healthLevel is 0 (fine), 1 (yellow: the deadline nears, or the rate
// will not make it) or 2 (red: the deadline is close with work
// outstanding).
func (l liveScreen) healthLevel(now time.Time) int {
	snap := l.snap
	if l.frozen() || snap.Outstanding() == 0 || snap.Deadline.IsZero() {
		return 0
	}
	left := snap.Deadline.Sub(now)
	total := snap.Deadline.Sub(snap.Started)
	switch {
	case left < 10*time.Second || (total > 0 && left < total/10):
		return 2
	case total > 0 && left < total/4:
		return 1
	}
	if eta, ok := snap.ETA(); ok && eta > left {
		return 1
	}
	return 0
}

func (l liveScreen) healthStyle(now time.Time) lipgloss.Style {
	switch l.healthLevel(now) {
	case 2:
		return l.styles.Fail
	case 1:
		return l.styles.Warn
	}
	return l.styles.Subtle
}

// healthItems say how long is left and whether callbacks still come.
func (l liveScreen) healthItems(now time.Time) []string {
	snap := l.snap
	st := l.healthStyle(now)
	var out []string
	if l.frozen() {
		if snap.Outstanding() == 0 {
			return []string{"capture stopped · every expected comparison in"}
		}
		return []string{fmt.Sprintf("capture stopped with %d outstanding", snap.Outstanding())}
	}
	if eta, ok := snap.ETA(); ok {
		out = append(out, st.Render("ETA "+clockOf(eta)))
	} else if snap.Outstanding() > 0 {
		out = append(out, "ETA –")
	}
	out = append(out, st.Render(fmt.Sprintf("%d outstanding", snap.Outstanding())))
	if !snap.LastCallback.IsZero() {
		ago := now.Sub(snap.LastCallback).Truncate(time.Second)
		item := fmt.Sprintf("last callback %s ago", agoText(ago))
		if ago >= 30*time.Second && snap.Outstanding() > 0 {
			item = st.Render("no callback for " + agoText(ago))
		}
		out = append(out, item)
	} else if snap.Outstanding() > 0 {
		out = append(out, "no callback yet")
	}
	return out
}

func (l liveScreen) phaseText() string {
	snap := l.snap
	switch {
	case l.finished != nil && l.finished.Outcome == runner.OutcomeMetadataFault, l.faultHold:
		return l.styles.Fail.Render("stopped: metadata fault")
	case l.finished != nil:
		return "finished: " + outcomeText(l.finished)
	case snap.Completion.Failed:
		return "the CJ service failed the batch"
	case snap.Stopped && l.phase.Phase == runner.PhaseWriting:
		return "capture stopped · writing the artefact"
	case l.phase.Phase == "":
		return "capturing"
	}
	phase := string(l.phase.Phase)
	if l.resumes > 0 {
		phase = "resumed · " + phase
	}
	return phase
}

// problemCounts are the records the run set aside, by kind.
func (l liveScreen) problemItems() []struct {
	label string
	n     int64
	hard  bool
} {
	st := l.snap
	return []struct {
		label string
		n     int64
		hard  bool
	}{
		{"missing metadata", int64(len(st.Faults)), true},
		{"failed comparisons", int64(st.FailedComparisons), false},
		{"duplicates", st.Records.Duplicate, false},
		{"malformed", st.Records.Malformed, false},
		{"foreign batch", st.Records.ForeignBatch, false},
		{"suspicious", st.Records.Suspicious, false},
	}
}

// panelLines renders events, problems and cost: three bordered panels side
// by side on a wide terminal, compact flowing lines on a narrow one.
func (l liveScreen) panelLines(wide bool) []string {
	s := l.styles
	st := l.snap
	budgetHot := st.BudgetUSD > 0 && st.CostUSD > st.BudgetUSD
	hardFault := len(st.Faults) > 0
	if !wide {
		// Compact: flowing lines, problems only where there are some, and
		// the events left out when the screen is short.
		ev := []string{s.PanelHead.Render("Events"), fmt.Sprintf("results %d", st.Topics.Callbacks), fmt.Sprintf("completed %d", st.Topics.Completed),
			fmt.Sprintf("result %d", st.Topics.Results), fmt.Sprintf("batch failed %d", st.Topics.Failed), fmt.Sprintf("prompts %d", st.DistinctPrompts)}
		pr := []string{s.PanelHead.Render("Problems")}
		for _, p := range l.problemItems() {
			if p.n > 0 {
				pr = append(pr, l.countStyle(p.n, p.hard).Render(fmt.Sprintf("%s %d", p.label, p.n)))
			}
		}
		if len(pr) == 1 {
			pr = append(pr, "none")
		}
		if hardFault {
			pr = append(pr, l.faultDetailLines()...)
		}
		cost := append([]string{s.PanelHead.Render("Cost")}, l.costItems(budgetHot)...)
		groups := [][]string{ev, pr, cost}
		if l.height < 30 {
			groups = groups[1:]
		}
		var out []string
		for _, group := range groups {
			for _, line := range flow(group, l.width-2, " · ") {
				out = append(out, " "+line)
			}
		}
		return out
	}
	panelH := 8
	costW := max(28, l.width/3)
	var row string
	if hardFault {
		w := l.width - costW
		lines := []string{s.Fail.Render(fmt.Sprintf("missing metadata: %d", len(st.Faults)))}
		for _, fl := range l.faultDetailLines() {
			lines = append(lines, wrap(fl, w-4, "")...)
		}
		var others []string
		for _, p := range l.problemItems()[1:] {
			others = append(others, l.countStyle(p.n, false).Render(fmt.Sprintf("%s %d", p.label, p.n)))
		}
		lines = append(lines, flow(others, w-4, " · ")...)
		faults := panel{styles: s, title: "✗ stopped: metadata fault", lines: lines, hot: true}
		faults.SetSize(w, panelH)
		cost := panel{styles: s, title: "Cost", lines: l.costLines(costW-4, budgetHot), hot: budgetHot}
		cost.SetSize(costW, panelH)
		row = lipgloss.JoinHorizontal(lipgloss.Top, faults.View(), cost.View())
	} else {
		w1 := (l.width - costW) / 2
		w2 := l.width - costW - w1
		topics := panel{styles: s, title: "Events by topic", lines: []string{
			kv(s, "comparison results", fmt.Sprint(st.Topics.Callbacks), w1-4),
			kv(s, "completed", fmt.Sprint(st.Topics.Completed), w1-4),
			kv(s, "result", fmt.Sprint(st.Topics.Results), w1-4),
			kv(s, "batch failed", fmt.Sprint(st.Topics.Failed), w1-4),
			kv(s, "distinct prompts", fmt.Sprint(st.DistinctPrompts), w1-4),
		}}
		topics.SetSize(w1, panelH)
		var pl []string
		warn := false
		for _, p := range l.problemItems() {
			pl = append(pl, kv(s, p.label, l.countStyle(p.n, p.hard).Render(fmt.Sprint(p.n)), w2-4))
			warn = warn || p.n > 0
		}
		title := "Problems"
		if warn {
			title = "! Problems"
		}
		problems := panel{styles: s, title: title, lines: pl}
		problems.SetSize(w2, panelH)
		cost := panel{styles: s, title: "Cost", lines: l.costLines(costW-4, budgetHot), hot: budgetHot}
		cost.SetSize(costW, panelH)
		row = lipgloss.JoinHorizontal(lipgloss.Top, topics.View(), problems.View(), cost.View())
	}
	return strings.Split(row, "\n")
}

// countStyle colours a problem count: red for a hard fault, yellow for a
// warning, plain for zero.
func (l liveScreen) countStyle(n int64, hard bool) lipgloss.Style {
	switch {
	case n == 0:
		return lipgloss.NewStyle()
	case hard:
		return l.styles.Fail
	}
	return l.styles.Warn
}

// faultDetailLines say which callbacks broke the metadata contract, by
// field, and where the first was read.
func (l liveScreen) faultDetailLines() []string {
	st := l.snap
	byField := faultsByField(st.Faults)
	fields := make([]string, 0, len(byField))
	for f := range byField {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	var out []string
	for _, f := range fields {
		out = append(out, f+":")
		for _, id := range byField[f] {
			out = append(out, "  "+id)
		}
	}
	if len(st.Faults) > 0 {
		f := st.Faults[0]
		out = append(out, fmt.Sprintf("at %s/%d offset %d", shortTopic(f.Topic), f.Partition, f.Offset))
	}
	return out
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

// totalUSD is the cost the view shows: the sum of the per-model figures
// when there are any, so that the total and its parts round alike.
func totalUSD(total float64, models []runner.ModelCost) float64 {
	if len(models) == 0 {
		return total
	}
	var sum float64
	for _, m := range models {
		sum += m.USD
	}
	return sum
}

func (l liveScreen) costItems(hot bool) []string {
	st := l.snap
	s := l.styles
	budget := "no budget"
	if st.BudgetUSD > 0 {
		budget = "budget " + usd(st.BudgetUSD)
		if hot {
			budget = s.Fail.Render(budget + " EXCEEDED")
		}
	}
	out := []string{s.Value.Render(usd(totalUSD(st.CostUSD, st.Models))), "projected " + usd(st.ProjectedUSD), budget}
	for _, mc := range st.Models {
		out = append(out, fmt.Sprintf("%s/%s %s+%s tok %s", mc.Provider, mc.Model, tokens(mc.PromptTokens), tokens(mc.CompletionTokens), usd(mc.USD)))
	}
	return out
}

func (l liveScreen) costLines(w int, hot bool) []string {
	st := l.snap
	s := l.styles
	budget := "none"
	if st.BudgetUSD > 0 {
		budget = usd(st.BudgetUSD)
		if hot {
			budget = s.Fail.Render(budget + " EXCEEDED")
		}
	}
	lines := []string{
		kv(s, "total", s.Value.Render(usd(totalUSD(st.CostUSD, st.Models))), w),
		kv(s, "projected", usd(st.ProjectedUSD), w),
		kv(s, "budget", budget, w),
	}
	// Two rows are left below the title: one model with its tokens, or
	// the models by cost (the summary lists every one).
	switch ms := st.Models; {
	case len(ms) == 1:
		mc := ms[0]
		lines = append(lines, padTo(mc.Provider+"/"+mc.Model, w),
			kv(s, fmt.Sprintf(" %s+%s tok", tokens(mc.PromptTokens), tokens(mc.CompletionTokens)), usd(mc.USD), w))
	case len(ms) > 1:
		lines = append(lines, kv(s, ms[0].Provider+"/"+ms[0].Model, usd(ms[0].USD), w))
		if len(ms) == 2 {
			lines = append(lines, kv(s, ms[1].Provider+"/"+ms[1].Model, usd(ms[1].USD), w))
		} else {
			lines = append(lines, s.Subtle.Render(fmt.Sprintf("+%d more models on the summary", len(ms)-1)))
		}
	}
	return lines
}

// bottomLines are the status, the prompt (stop confirmation or fault
// hold) with its keys, and the help bar.
func (l liveScreen) bottomLines() []string {
	s := l.styles
	snap := l.snap
	var status []string
	switch {
	case l.finished != nil && l.finished.ArtefactPath != "":
		status = append(status, "artefact "+l.finished.ArtefactPath)
	case snap.LastWrite.IsZero():
		status = append(status, "no artefact written yet")
	default:
		status = append(status, fmt.Sprintf("artefact written %s (%s)", snap.LastWrite.Local().Format("15:04:05"), plural(snap.Writes, "write", "writes")))
	}
	if snap.BrokerErrors > 0 {
		status = append(status, s.Warn.Render(fmt.Sprintf("broker trouble (%d errors, retrying): %s", snap.BrokerErrors, snap.LastBrokerErr)))
	}
	if snap.WaitingForResult && !l.frozen() {
		status = append(status, "completed; waiting for the result event")
	}
	var out []string
	for _, line := range flow(status, l.width-2, " · ") {
		out = append(out, " "+s.Subtle.Render(line))
	}
	box := func(st lipgloss.Style, text string) {
		for _, line := range wrap(text, l.width-4, "") {
			out = append(out, " "+st.Render("▌")+" "+line)
		}
	}
	switch {
	case l.faultHold:
		box(s.Fail, s.Fail.Render("stopped: metadata fault")+" — a callback broke the metadata contract; capture stopped and the artefact (above) records the fault.")
	case l.stopping:
		box(s.Warn, "stopping: flushing the journal and writing the artefact…")
	case l.confirmStop:
		box(s.Warn, "y stop · n keep capturing — Stop capturing? The journal is flushed and the artefact written; `eng5np resume` continues later (exit 130).")
	case l.editing():
		box(s.Subtle, "type to filter · enter keep · esc clear")
	}
	for _, h := range helpLines(l.help, l, l.width-2, l.fullHelp) {
		out = append(out, " "+h)
	}
	return out
}

// outcomeText is the summary's status: the outcome, "with warnings" when
// the run completed but set things aside.
func outcomeText(sum *runner.Summary) string {
	o := strings.ReplaceAll(string(sum.Outcome), "_", " ")
	if sum.ExitCode == 0 && len(sum.Warnings) > 0 {
		o += " with warnings"
	}
	return o
}

// agoText is a short duration: "2s", "45s", then "01:30".
func agoText(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
	return clockOf(d)
}
