package tui

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"eng5np/runner"
)

func press(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	return tea.KeyPressMsg{Code: rune(k[0]), Text: k}
}

// runCmd executes a command (and the batches it contains) and returns the
// messages it produced, so a test sees what a key set in motion.
func runCmd(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	if b, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range b {
			out = append(out, runCmd(c)...)
		}
		return out
	}
	return []tea.Msg{msg}
}

func isQuit(cmd tea.Cmd) bool {
	for _, m := range runCmd(cmd) {
		if _, ok := m.(tea.QuitMsg); ok {
			return true
		}
	}
	return false
}

func TestUpdatePreflight(t *testing.T) {
	f := newFake()
	m := New(context.Background(), f, Info{BatchLabel: "b"})
	// Checks run one after another: each result starts the next check.
	cmd := m.pre.runCheck(0)
	for i := 0; i < len(m.pre.checks); i++ {
		msgs := runCmd(cmd)
		done := msgs[0].(preflightCheckDoneMsg)
		if done.Index != i {
			t.Fatalf("check %d ran in place of %d", done.Index, i)
		}
		var nm tea.Model
		nm, cmd = m.Update(done)
		m = nm.(Model)
		if i < len(m.pre.checks)-1 && m.pre.checks[i+1].state != checkRunning {
			t.Fatalf("check %d did not start after %d", i+1, i)
		}
	}
	if cmd != nil {
		t.Error("a command after the last check")
	}
	if d, b := m.pre.done(); !d || b {
		t.Fatalf("done %v blocked %v", d, b)
	}

	// A result from a superseded run of the checks is ignored.
	nm, _ := m.Update(preflightCheckDoneMsg{Gen: m.pre.gen - 1, Index: 0, Result: runner.CheckResult{Status: runner.Fail}})
	if nm.(Model).pre.checks[0].result.Status == runner.Fail {
		t.Error("a stale result was applied")
	}

	// r re-runs the checks.
	nm, cmd = m.Update(press("r"))
	rm := nm.(Model)
	if rm.pre.gen != m.pre.gen+1 || rm.pre.checks[0].state != checkRunning || cmd == nil || !slices.Contains(f.calls, "reset") {
		t.Errorf("r did not re-run the checks: gen %d→%d", m.pre.gen, rm.pre.gen)
	}
	// r while checks run does nothing.
	if nm, _ := rm.Update(press("r")); nm.(Model).pre.gen != rm.pre.gen {
		t.Error("r restarted checks that were running")
	}

	// Enter starts the run and shows the live view.
	nm, cmd = m.Update(press("enter"))
	lm := nm.(Model)
	runCmd(cmd)
	if lm.screen != screenLive || !slices.Contains(f.calls, "start") {
		t.Errorf("enter: screen %v calls %v", lm.screen, f.calls)
	}
	// Enter again does not start a second run.
	f.calls = nil
	nm, cmd = lm.Update(press("enter"))
	runCmd(cmd)
	if slices.Contains(f.calls, "start") {
		t.Error("a second run was started")
	}

	// q quits with exit 0 before a run; ctrl+c cancels with 130.
	for k, code := range map[string]int{"q": 0, "ctrl+c": 130} {
		nm, cmd := m.Update(press(k))
		if !isQuit(cmd) || nm.(Model).ExitCode() != code {
			t.Errorf("%s on the checklist: quit %v exit %d, want %d", k, isQuit(cmd), nm.(Model).ExitCode(), code)
		}
	}
	// ↓ selects a check; enter then shows its detail instead of starting;
	// esc goes back.
	nm, _ = m.Update(press("j"))
	sel := nm.(Model)
	nm, _ = sel.Update(press("enter"))
	if d := nm.(Model); d.pre.detail == nil || d.screen != screenPreflight || !strings.Contains(ansi.Strip(d.render()), "Check: config valid") {
		t.Errorf("enter on a selected check did not open its detail:\n%s", ansi.Strip(nm.(Model).render()))
	}
	nm, _ = nm.Update(press("esc"))
	if nm.(Model).pre.detail != nil {
		t.Error("esc did not close the detail")
	}
}

func TestUpdatePreflightBlocked(t *testing.T) {
	results := passAll()
	results[5] = runner.CheckResult{Status: runner.Fail, Detail: "down", Fix: "start it"}
	f := newFake(results...)
	m := preflightModel(80, 24, results)
	m.backend = f
	nm, cmd := m.Update(press("enter"))
	runCmd(cmd)
	if nm.(Model).screen != screenPreflight || slices.Contains(f.calls, "start") {
		t.Error("enter started a run although a check failed")
	}
	if out := ansi.Strip(m.render()); !strings.Contains(out, "re-run the checks") || !strings.Contains(out, "r re-run checks") {
		t.Errorf("the blocked checklist does not say how to go on:\n%s", out)
	}
	// Leaving a failed pre-flight is a failure: exit 1.
	if nm, cmd := m.Update(press("q")); !isQuit(cmd) || nm.(Model).ExitCode() != 1 {
		t.Errorf("q after a failed check: exit %d, want 1", nm.(Model).ExitCode())
	}
	// Enter before the checks finished does nothing either.
	m.pre.checks[11].state = checkRunning
	if nm, _ := m.Update(press("enter")); nm.(Model).screen != screenPreflight {
		t.Error("enter started a run while checks were running")
	}
}

func TestUpdateLive(t *testing.T) {
	f := newFake()
	m := liveModel(120, 40, snapshot(10))
	m.backend = f

	nm, _ := m.Update(phaseMsg{runner.PhaseEvent{Phase: runner.PhasePublishing}})
	if nm.(Model).live.phase.Phase != runner.PhasePublishing {
		t.Error("phase not shown")
	}
	s := snapshot(50)
	nm, _ = m.Update(captureProgressMsg{Progress: s})
	if nm.(Model).live.snap.Comparisons != 50 {
		t.Error("progress not applied")
	}
	nm, cmd := m.Update(clockMsg(t0.Add(time.Minute)))
	if !nm.(Model).live.now.Equal(t0.Add(time.Minute)) || cmd == nil {
		t.Error("the clock does not tick")
	}

	// q asks first; n and esc keep capturing; y or ctrl+c stop.
	nm, _ = m.Update(press("q"))
	cm := nm.(Model)
	if !cm.live.confirmStop || !strings.Contains(cm.render(), "Stop capturing?") {
		t.Fatal("q did not ask to confirm")
	}
	for _, k := range []string{"n", "esc"} {
		if nm, _ := cm.Update(press(k)); nm.(Model).live.confirmStop {
			t.Errorf("%s did not cancel the stop", k)
		}
	}
	for _, k := range []string{"y", "ctrl+c"} {
		f.calls = nil
		nm, cmd := cm.Update(press(k))
		runCmd(cmd)
		if !nm.(Model).live.stopping || !slices.Contains(f.calls, "stop") {
			t.Errorf("%s did not stop the run", k)
		}
	}
	// A signal stops at once, without asking.
	f.calls = nil
	nm, cmd = m.Update(signalStopMsg{})
	runCmd(cmd)
	if !nm.(Model).live.stopping || !slices.Contains(f.calls, "stop") {
		t.Error("a signal did not stop the run")
	}

	// The finish shows the summary.
	nm, _ = m.Update(runFinishedMsg{Summary: completedSummary()})
	if nm.(Model).screen != screenSummary || nm.(Model).ExitCode() != 0 {
		t.Error("the finish did not show the summary")
	}
	// A metadata fault keeps the red panel in view until enter.
	fault := completedSummary()
	fault.Outcome, fault.ExitCode = runner.OutcomeMetadataFault, 3
	nm, _ = m.Update(runFinishedMsg{Summary: fault})
	hm := nm.(Model)
	if hm.screen != screenLive || !hm.live.faultHold || hm.ExitCode() != 3 {
		t.Fatalf("fault: screen %v hold %v exit %d", hm.screen, hm.live.faultHold, hm.ExitCode())
	}
	if nm, _ := hm.Update(press("enter")); nm.(Model).screen != screenSummary {
		t.Error("enter did not move from the fault to the summary")
	}
	if _, cmd := hm.Update(press("q")); !isQuit(cmd) {
		t.Error("q on the held fault did not quit")
	}
}

func TestUpdateSummary(t *testing.T) {
	f := newFake()
	timeout := completedSummary()
	timeout.Outcome, timeout.ExitCode, timeout.Resumable = runner.OutcomeTimeout, 4, true
	m := summaryModel(120, 40, timeout)
	m.backend = f
	nm, cmd := m.Update(press("r"))
	runCmd(cmd)
	if nm.(Model).screen != screenLive || !slices.Contains(f.calls, "resume") || nm.(Model).live.resumes != 1 {
		t.Errorf("r did not resume in place: %v", f.calls)
	}
	nm, cmd = m.Update(press("q"))
	if !isQuit(cmd) || nm.(Model).ExitCode() != 4 {
		t.Errorf("q on the summary: exit %d", nm.(Model).ExitCode())
	}
	// j selects an essay of the final ranking, enter opens its page, esc
	// closes it; tab shows the final live view, and tab again the summary.
	sm := summaryModel(80, 24, completedSummary())
	sm.live.snap = &[]runner.Progress{snapshot(120)}[0]
	sm, _ = updateModel(sm, press("j"))
	sm, _ = updateModel(sm, press("enter"))
	if out := ansi.Strip(sm.render()); sm.sum.detail == nil || !strings.Contains(out, "Essay essay_01") || !strings.Contains(out, "θ: +2.83") {
		t.Errorf("enter on the ranking did not open the essay:\n%s", out)
	}
	// The essay's comparisons are links: enter opens the selected one, esc
	// goes back to the essay, esc again to the summary.
	sm, _ = updateModel(sm, press("j"))
	sm, _ = updateModel(sm, press("enter"))
	if out := ansi.Strip(sm.render()); !strings.Contains(out, "Comparison #36") || !strings.Contains(out, "justification:") || !strings.Contains(out, "esc back to essay essay_01") {
		t.Errorf("enter on an essay's comparison did not open it:\n%s", out)
	}
	sm, _ = updateModel(sm, press("esc"))
	if sm.sum.detail == nil || sm.sum.detail.title != "Essay essay_01" {
		t.Fatalf("esc did not return to the essay page")
	}
	sm, _ = updateModel(sm, press("esc"))
	sm, _ = updateModel(sm, tea.KeyPressMsg{Code: tea.KeyTab})
	if sm.sum.detail != nil || sm.screen != screenLive {
		t.Errorf("esc then tab: detail %v screen %v", sm.sum.detail != nil, sm.screen)
	}
	sm.live.finished = sm.sum.sum
	sm, _ = updateModel(sm, tea.KeyPressMsg{Code: tea.KeyTab})
	if sm.screen != screenSummary {
		t.Error("tab on the final live view did not return to the summary")
	}
	// r does nothing when the run cannot be resumed.
	done := summaryModel(120, 40, completedSummary())
	done.backend = f
	f.calls = nil
	nm, cmd = done.Update(press("r"))
	runCmd(cmd)
	if nm.(Model).screen != screenSummary || len(f.calls) > 0 {
		t.Error("r resumed a completed run")
	}
}

func TestSignalFilter(t *testing.T) {
	live := liveModel(80, 24, snapshot(1))
	for _, msg := range []tea.Msg{tea.InterruptMsg{}, tea.QuitMsg{}} {
		if _, ok := SignalFilter(live, msg).(signalStopMsg); !ok {
			t.Errorf("%T during a run was not turned into a clean stop", msg)
		}
	}
	pre := preflightModel(80, 24, passAll())
	if _, ok := SignalFilter(pre, tea.InterruptMsg{}).(tea.InterruptMsg); !ok {
		t.Error("a signal on the checklist must still end the program")
	}
}

// The bridge coalesces progress but always delivers phases and the finish,
// after the latest progress and in order.
func TestBridgeOrdering(t *testing.T) {
	got := make(chan tea.Msg, 1000)
	br := newBridge()
	br.start(func(m tea.Msg) { got <- m })
	for i := 0; i < 500; i++ {
		s := snapshot(i)
		br.Report(runner.ProgressEvent{Progress: s})
	}
	br.Report(runner.PhaseEvent{Phase: runner.PhaseWriting})
	br.Report(runner.FinishedEvent{Summary: completedSummary()})
	br.close()
	close(got)
	var msgs []tea.Msg
	for m := range got {
		msgs = append(msgs, m)
	}
	if len(msgs) > 50 {
		t.Errorf("%d messages for 500 snapshots: progress is not coalesced", len(msgs))
	}
	last := len(msgs) - 1
	if _, ok := msgs[last].(runFinishedMsg); !ok {
		t.Fatalf("last message %T, want the finish", msgs[last])
	}
	if _, ok := msgs[last-1].(phaseMsg); !ok {
		t.Fatalf("second to last %T, want the phase", msgs[last-1])
	}
	p, ok := msgs[last-2].(captureProgressMsg)
	if !ok || p.Progress.Comparisons != 499 {
		t.Errorf("the latest snapshot was not delivered before the phase: %+v", msgs[last-2])
	}
}

// drawChecklist runs the real Run path with a true-colour profile, quits from
// the checklist, and returns what was drawn.
func drawChecklist(t *testing.T) string {
	t.Helper()
	in, w := io.Pipe()
	var out bytes.Buffer
	done := make(chan int, 1)
	tc := colorprofile.TrueColor
	go func() {
		code, err := Run(context.Background(), newFake(passAll()...), Options{Info: Info{BatchLabel: "b"}, Input: in, Output: &out, Width: 100, Height: 30, Profile: &tc})
		if err != nil {
			t.Error(err)
		}
		done <- code
	}()
	time.Sleep(300 * time.Millisecond)
	_, _ = w.Write([]byte("q"))
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("q did not quit")
	}
	if !strings.Contains(out.String(), "config valid") {
		t.Fatalf("nothing drawn: %q", out.String())
	}
	return out.String()
}

// NO_COLOR removes the colours a colour terminal would get.
func TestNoColor(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	if c := colourSGR.FindString(drawChecklist(t)); c == "" {
		t.Fatal("no colour even on a true-colour terminal: this test would prove nothing")
	}
	t.Setenv("NO_COLOR", "1")
	if c := colourSGR.FindString(drawChecklist(t)); c != "" {
		t.Errorf("colour sequence %q drawn despite NO_COLOR", c)
	}
}

// colourSGR matches an SGR sequence that sets a foreground or background
// colour (30–38, 40–48, 90–97, 100–107).
var colourSGR = regexp.MustCompile(`\x1b\[(?:[0-9]+;)*(?:3[0-8]|4[0-8]|9[0-7]|10[0-7])(?:;[0-9:]+)*m`)

// Between deliveries the bridge keeps every problem record and the latest
// comparisons, and says how many it let go; the log then holds the same.
func TestBridgeKeepsProblemsAndTheLatestComparisons(t *testing.T) {
	got := make(chan tea.Msg, 100)
	br := newBridge()
	br.start(func(m tea.Msg) { got <- m })
	const n = 3*maxLog + 7
	all := records(n)
	problems := 0
	for i, e := range all {
		if i%1000 == 500 {
			e.Disposition, e.Record, e.Comparison = runner.Malformed, nil, nil
		}
		if problem(e) {
			problems++
		}
		br.Report(e)
	}
	br.Report(runner.FinishedEvent{Summary: completedSummary()}) // delivers what is pending
	br.close()
	close(got)
	var l logPane
	l.scroll.cursor = -1
	skipped := 0
	for m := range got {
		if r, ok := m.(recordsMsg); ok {
			skipped += r.Skipped
			l.dropped += r.Skipped
			l.add(r.Records)
		}
	}
	kept := 0
	for _, e := range l.entries {
		if problem(e) {
			kept++
		}
	}
	if kept != problems {
		t.Errorf("%d of %d problem records reached the log", kept, problems)
	}
	if len(l.entries)+l.dropped != len(all) {
		t.Errorf("%d kept + %d dropped != %d reported", len(l.entries), l.dropped, len(all))
	}
	last := l.entries[len(l.entries)-1]
	if last.Seq != all[len(all)-1].Seq {
		t.Errorf("the newest record is not the last in the log: %d", last.Seq)
	}
	if len(l.entries) > 2*maxLog+problems {
		t.Errorf("the log holds %d entries", len(l.entries))
	}
}

// A capture that starts over (a resume, or a watcher refolding) reports
// every record again: the log starts over with it instead of listing each
// record twice.
func TestLogStartsOverWithACapture(t *testing.T) {
	got := make(chan tea.Msg, 100)
	br := newBridge()
	br.start(func(m tea.Msg) { got <- m })
	for _, e := range records(30) {
		br.Report(e)
	}
	br.Report(runner.CaptureStartedEvent{Capture: 2})
	for _, e := range records(30) {
		br.Report(e)
	}
	br.Report(runner.FinishedEvent{Summary: completedSummary()})
	br.close()
	close(got)
	m := liveModel(80, 24, snapshot(30))
	for msg := range got {
		m, _ = updateModel(m, msg)
	}
	if n := len(m.live.log.entries); n != len(records(30)) {
		t.Errorf("the log holds %d entries after a refold of %d records", n, len(records(30)))
	}
}
