package tui

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"eng5np/artefacts"
	"eng5np/runner"
)

// updateGolden reports -update: rewrite the golden files. teatest's golden
// package registers the flag; this package's goldens share it.
func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func TestMain(m *testing.M) {
	time.Local = time.UTC // golden files show clock times
	os.Exit(m.Run())
}

// fakeBackend records what the dashboard asked for.
type fakeBackend struct {
	mu      sync.Mutex
	checks  []runner.Check
	results []runner.CheckResult
	calls   []string
}

func newFake(results ...runner.CheckResult) *fakeBackend {
	f := &fakeBackend{results: results}
	f.Reset()
	return f
}

func (f *fakeBackend) record(s string) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.mu.Unlock()
}

func (f *fakeBackend) Checks() []runner.Check { return f.checks }
func (f *fakeBackend) Reset() {
	titles := []string{"config valid", "inputs complete and readable", "grades belong to the scale", "schema loads", "output dir writable",
		"broker reachable", "topics present", "content service reachable", "CJ service reachable", "anchors registered", "model priced", "cost estimate within budget"}
	f.checks = nil
	for i, t := range titles {
		f.checks = append(f.checks, runner.Check{ID: fmt.Sprint(i), Title: t})
	}
	f.record("reset")
}
func (f *fakeBackend) RunCheck(_ context.Context, i int) runner.CheckResult {
	if i < len(f.results) {
		return f.results[i]
	}
	return runner.CheckResult{Status: runner.Pass, Detail: "ok"}
}
func (f *fakeBackend) Start(runner.Reporter)  { f.record("start") }
func (f *fakeBackend) Resume(runner.Reporter) { f.record("resume") }
func (f *fakeBackend) Stop()                  { f.record("stop") }

var t0 = time.Date(2026, 11, 25, 19, 30, 0, 0, time.UTC)

func passAll() []runner.CheckResult {
	var out []runner.CheckResult
	details := []string{"settings valid (defaults; stack embedded)", "examples/sample: 12 anchors, 24 students", "12 anchors over 9 of 9 grades of eng5_np_legacy_9_step",
		"assessment_run schema compiled (format assertion on)", "runs writable, 76.5 GiB free", "127.0.0.1:9092 answered (5 topics)",
		"all 5 topics present (huleedu.llm_provider.comparison_result.v1: 3 partitions)", "http://127.0.0.1:8090 answered", "http://127.0.0.1:8090 answered",
		"12 anchors registered for assignment 3c2f9a4e-6b1d-4e8a-9f27-5d0c8b1e7a64 (12 newly)", "mock/mock-judge-small: $0.8 in / $4 out per 1M tokens",
		"no --budget-usd set; estimate $0.1673 for 120 comparisons"}
	for i, d := range details {
		out = append(out, runner.CheckResult{Status: runner.Pass, Detail: d, Duration: time.Duration(i%4) * 3 * time.Millisecond})
	}
	return out
}

// preflightModel is a model whose checks have all run.
func preflightModel(w, h int, results []runner.CheckResult) Model {
	m := New(context.Background(), newFake(results...), Info{BatchLabel: "sample-later-start", Stack: "embedded", Inputs: "examples/sample"})
	m.setSize(w, h)
	for i := range m.pre.checks {
		m.pre.checks[i].state = checkDone
		m.pre.checks[i].result = results[i]
	}
	return m
}

func ranking() []runner.Ranked {
	var out []runner.Ranked
	grades := []string{"A", "A", "B", "C+", "B", "C-", "D+", "D-", "E+", "E-", "F+", "F+"}
	for i := 0; i < 36; i++ {
		r := runner.Ranked{ID: fmt.Sprintf("essay_%02d", i), Theta: 3 - float64(i)*0.17, SE: 0.6 + float64(i%5)*0.1, Compared: 6 + i%2}
		if i%3 == 0 {
			r.IsAnchor, r.Grade, r.ID = true, grades[i/3], fmt.Sprintf("anchor_%02d", i)
		}
		out = append(out, r)
	}
	return out
}

func snapshot(comparisons int) runner.Progress {
	return runner.Progress{
		BatchLabel: "sample-later-start", BatchUUID: "5b0e6f5c-9a43-4b3e-8d2a-1c7f0e9b8a66", Broker: "127.0.0.1:9092",
		RunDir: "runs/sample-later-start-20261125T193000-5b0e6f5c", Capture: 1,
		Started: t0, Deadline: t0.Add(30 * time.Minute), Now: t0.Add(42 * time.Second), PublishedAt: t0,
		Expected:    120,
		Comparisons: comparisons, Succeeded: comparisons - 2, FailedComparisons: 2, CostUSD: 0.1023, DistinctPrompts: comparisons,
		Models:       []runner.ModelCost{{Provider: "mock", Model: "mock-judge-small", PromptTokens: 105_320, CompletionTokens: 5_020, USD: 0.1023, Comparisons: comparisons}},
		Topics:       runner.TopicCounts{Callbacks: int64(comparisons + 3)},
		Records:      runner.RecordCounts{Duplicate: 2, ForeignBatch: 1, Malformed: 0},
		Rate:         []float64{0, 1, 3, 5, 4, 6, 8, 7, 5, 6},
		Ranking:      ranking(),
		ProjectedUSD: 0.1461,
		LastWrite:    t0.Add(41 * time.Second), Writes: 40,
	}
}

func liveModel(w, h int, snap runner.Progress) Model {
	m := preflightModel(w, h, passAll())
	m.screen = screenLive
	m.pre.started = true
	m.live.snap = &snap
	m.live.now = snap.Now
	m.live.phase = runner.PhaseEvent{Phase: runner.PhaseCapturing}
	return m
}

func summaryModel(w, h int, s runner.Summary) Model {
	m := preflightModel(w, h, passAll())
	m.screen = screenSummary
	m.sum.sum = &s
	m.exitCode = s.ExitCode
	return m
}

func completedSummary() runner.Summary {
	dir := "runs/sample-later-start-20261125T193000-5b0e6f5c"
	return runner.Summary{Outcome: runner.OutcomeCompleted, ExitCode: 0, Message: "completed: 120 comparisons captured (118 succeeded, 2 failed)",
		RunDir: dir, ArtefactPath: dir + "/assessment_run.execute.json", ManifestPath: dir + "/manifest.json",
		BatchUUID: "5b0e6f5c-9a43-4b3e-8d2a-1c7f0e9b8a66", BatchLabel: "sample-later-start",
		Comparisons: 120, Succeeded: 118, Failed: 2, CostUSD: 0.146231,
		Models:  []runner.ModelCost{{Provider: "mock", Model: "mock-judge-small", PromptTokens: 152_256, CompletionTokens: 6_095, USD: 0.146231, Comparisons: 120}},
		Elapsed: 82 * time.Second, Verified: true, SlowestModel: "mock/mock-judge-small (mean 25 ms)", PriciestModel: "mock/mock-judge-small ($0.1462)",
		Next: "eng5np verify " + dir + " before handing the artefact on"}
}

type fixture struct {
	name  string
	model func(w, h int) Model
}

func fixtures() []fixture {
	blocked := passAll()
	blocked[5] = runner.CheckResult{Status: runner.Fail, Duration: 5 * time.Second, Detail: "Kafka broker 127.0.0.1:9092 is unreachable: dial tcp 127.0.0.1:9092: connect: connection refused",
		Fix: "start the broker at 127.0.0.1:9092 or point --kafka-bootstrap at a running one (kcat -L -b 127.0.0.1:9092)"}
	blocked[6] = runner.CheckResult{Status: runner.Fail, Detail: "cannot list topics", Fix: "fix the broker check first"}
	blocked[10] = runner.CheckResult{Status: runner.Warn, Detail: "openai/gpt-x has no price", Fix: "add openai/gpt-x to the pricing list in eng5np.yaml"}
	fault := snapshot(37)
	fault.Faults = []runner.Fault{{Kind: "missing_metadata", Fields: []string{"prompt_sha256"}, CorrelationID: "425e531a-f793-434b-aed2-d786b4dc5193",
		Topic: "huleedu.llm_provider.comparison_result.v1", Partition: 1, Offset: 12}}
	over := snapshot(96)
	over.BudgetUSD = 0.10
	over.CostUSD = 0.1172
	timeout := completedSummary()
	timeout.Outcome, timeout.ExitCode, timeout.Resumable = runner.OutcomeTimeout, 4, true
	timeout.Message = "timed out after 5s with 6 of 120 comparisons captured"
	timeout.Comparisons, timeout.Succeeded, timeout.Failed, timeout.CostUSD = 6, 6, 0, 0.0069
	timeout.Next = "eng5np resume runs/sample-later-start-20261125T193000-5b0e6f5c needs the stack that served the run; this run used the embedded stack, which lives only as long as its process: press r on the summary to resume in place"
	faultSum := completedSummary()
	faultSum.Outcome, faultSum.ExitCode = runner.OutcomeMetadataFault, 3
	faultSum.Message = "metadata fault: request_metadata lacks prompt_sha256 (field prompt_sha256, correlation id 425e531a-f793-434b-aed2-d786b4dc5193, huleedu.llm_provider.comparison_result.v1 partition 1 offset 12); consumption stopped"
	faultSum.Faults = []string{"request_metadata lacks prompt_sha256 (field prompt_sha256, correlation id 425e531a-f793-434b-aed2-d786b4dc5193, huleedu.llm_provider.comparison_result.v1 partition 1 offset 12)"}
	faultSum.Next = artefacts.FaultAdvice
	budgetSum := completedSummary()
	budgetSum.Outcome, budgetSum.ExitCode, budgetSum.Resumable = runner.OutcomeBudgetExceeded, 1, true
	budgetSum.Message = "captured cost $0.1172 exceeded --budget-usd $0.1000; capture stopped (the CJ service may still be running the batch)"
	failedSum := completedSummary()
	failedSum.Outcome, failedSum.ExitCode = runner.OutcomeFailed, 6
	failedSum.Comparisons, failedSum.Succeeded, failedSum.Failed = 18, 18, 0
	failedSum.Message = `the CJ service reported the batch failed: stuck_timeout_insufficient_progress {"details":{"batch_state":"WAITING_CALLBACKS","progress_pct":15}}`
	failedSum.Next = "read the failure reason above and the CJ service's logs, then run the batch again"
	return []fixture{
		{"preflight_ready", func(w, h int) Model { return preflightModel(w, h, passAll()) }},
		{"preflight_blocked", func(w, h int) Model { return preflightModel(w, h, blocked) }},
		{"live_normal", func(w, h int) Model { return liveModel(w, h, snapshot(84)) }},
		{"live_hard_fault", func(w, h int) Model {
			m := liveModel(w, h, fault)
			m.live.faultHold, m.live.exitCode, m.exitCode = true, 3, 3
			return m
		}},
		{"live_budget_exceeded", func(w, h int) Model { return liveModel(w, h, over) }},
		{"live_confirm_stop", func(w, h int) Model {
			m := liveModel(w, h, snapshot(84))
			m.live.confirmStop = true
			return m
		}},
		{"summary_completed", func(w, h int) Model { return summaryModel(w, h, completedSummary()) }},
		{"summary_hard_fault", func(w, h int) Model { return summaryModel(w, h, faultSum) }},
		{"summary_timeout", func(w, h int) Model { return summaryModel(w, h, timeout) }},
		{"summary_budget_exceeded", func(w, h int) Model { return summaryModel(w, h, budgetSum) }},
		{"summary_batch_failed", func(w, h int) Model { return summaryModel(w, h, failedSum) }},
	}
}

// Every screen in every state renders to its golden file, at 80×24 and
// 120×40: no line wider than the terminal, no more lines than its height.
func TestGoldenScreens(t *testing.T) {
	for _, f := range fixtures() {
		for _, size := range [][2]int{{80, 24}, {120, 40}} {
			name := fmt.Sprintf("%s_%dx%d", f.name, size[0], size[1])
			t.Run(name, func(t *testing.T) {
				m := f.model(size[0], size[1])
				out := ansi.Strip(m.render())
				lines := strings.Split(out, "\n")
				if len(lines) > size[1] {
					t.Errorf("%d lines on a %d-line terminal", len(lines), size[1])
				}
				for i, l := range lines {
					if w := ansi.StringWidth(l); w > size[0] {
						t.Errorf("line %d is %d cells wide: %q", i+1, w, l)
					}
				}
				path := filepath.Join("testdata", name+".golden")
				if updateGolden() {
					if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./tui -update to create it)", err)
				}
				if out != string(want) {
					t.Errorf("render differs from %s (run go test ./tui -update after checking):\n%s", path, out)
				}
			})
		}
	}
}

// The contract lines of docs/CONTRACT.md, "Dashboard" are on the screens.
func TestScreenContract(t *testing.T) {
	ready := ansi.Strip(preflightModel(80, 24, passAll()).render())
	if !strings.Contains(ready, "Enter to start") {
		t.Error("the ready checklist does not say Enter to start")
	}
	sum := ansi.Strip(summaryModel(80, 24, completedSummary()).render())
	lines := strings.Split(sum, "\n")
	if !strings.HasPrefix(lines[0], "Summary") {
		t.Errorf("first line %q does not begin with Summary", lines[0])
	}
	found := false
	for _, l := range lines {
		if strings.TrimSpace(l) == "assessment_run.execute.json" {
			found = true
		}
	}
	if !found || !strings.Contains(sum, "120 comparisons") || !strings.Contains(sum, "$0.1462") {
		t.Errorf("summary lacks the artefact name on its own line, the count or the cost:\n%s", sum)
	}
	// The hard-fault panel is red: its border carries the fault colour.
	hot := liveModel(120, 40, fixtures()[3].model(120, 40).snapshotForTest()).render()
	if !strings.Contains(hot, "FAULTS") || !strings.Contains(ansi.Strip(hot), "425e531a-f793-434b-aed2-d786b4dc5193") {
		t.Error("the hard fault is not shown with its correlation id")
	}
}

func (m Model) snapshotForTest() runner.Progress { return *m.live.snap }

// Resizing re-lays out every screen; a terminal below 60×16 gets a notice.
func TestResize(t *testing.T) {
	m := liveModel(120, 40, snapshot(84))
	nm, _ := m.Update(tea.WindowSizeMsg{Width: 90, Height: 30})
	out := ansi.Strip(nm.(Model).render())
	for _, l := range strings.Split(out, "\n") {
		if ansi.StringWidth(l) > 90 {
			t.Fatalf("line wider than 90 after resize: %q", l)
		}
	}
	nm, _ = nm.Update(tea.WindowSizeMsg{Width: 50, Height: 12})
	if out := nm.(Model).render(); !strings.Contains(out, "too small") {
		t.Errorf("tiny terminal: %q", out)
	}
}
