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
		r := runner.Ranked{ID: fmt.Sprintf("essay_%02d", i), Theta: 3 - float64(i)*0.17, SE: 0.6 + float64(i%5)*0.1, Compared: 6 + i%2,
			Wins: (36 - i) / 6, Projected: grades[min(11, i/3)], Probability: 0.35 + float64(i%4)*0.1}
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
		ThisCapture: comparisons, LastCallback: t0.Add(40 * time.Second),
	}
}

func liveModel(w, h int, snap runner.Progress) Model {
	m := preflightModel(w, h, passAll())
	m.screen = screenLive
	m.pre.started = true
	m.live.snap = &snap
	m.live.now = snap.Now
	m.live.phase = runner.PhaseEvent{Phase: runner.PhaseCapturing}
	m.live.rank.setRows(snap.Ranking)
	m.live.widenAxis(snap.Ranking)
	m.live.log.add(records(min(snap.Comparisons, 40)))
	m.live.sync()
	return m
}

func summaryModel(w, h int, s runner.Summary) Model {
	m := preflightModel(w, h, passAll())
	m.screen = screenSummary
	m.sum.setSummary(&s)
	m.live.log.add(records(40)) // the summary reads the live view's log
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
		Next: "eng5np verify " + dir + " before handing the artefact on", Result: result()}
}

func result() *runner.Result {
	ssr := 0.83
	service := map[string]string{}
	for i, r := range ranking() {
		if i%2 == 0 {
			service[r.ID] = r.Projected
		}
	}
	return &runner.Result{Ranking: ranking(), ServiceGrades: service,
		Reliability: artefacts.Reliability{SSR: &ssr, SplitHalf: &artefacts.SplitHalf{Estimate: 0.79, Min: 0.71, Max: 0.86, Splits: 20},
			OrderEffect: &artefacts.OrderEffect{Estimate: 0.12, SE: 0.07, Comparisons: 118}},
		Agreement: &artefacts.GradeAgreement{Compared: 18, Exact: 11, WithinOne: 17}}
}

// records is a log: comparisons, then a duplicate and a failed one.
func records(n int) []runner.RecordEvent {
	var out []runner.RecordEvent
	topic := "huleedu.llm_provider.comparison_result.v1"
	for i := 1; i <= n; i++ {
		conf := 0.5 + float64(i%5)/10
		rt := int64(20 + i)
		c := &artefacts.Comparison{Sequence: i, CorrelationID: fmt.Sprintf("corr-%04d", i), EssayAID: fmt.Sprintf("essay_%02d", i%36), EssayBID: fmt.Sprintf("essay_%02d", (i*7+1)%36),
			PromptHash: "9f2c4e1ab37d5c60e8f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7", Provider: "mock", Model: "mock-judge-small",
			TokensPrompt: 1269, TokensCompletion: 51, CostUSD: 0.001219, StartedAt: "2026-11-25T19:30:01.000Z", CompletedAt: "2026-11-25T19:30:01.040Z",
			Status: "succeeded", Confidence: &conf, Justification: "Essay A develops its argument with clearer paragraphing and evidence.", ResponseTimeMS: &rt}
		c.WinnerID, c.LoserID = c.EssayAID, c.EssayBID
		disp := runner.Applied
		if i == n-1 {
			c.Status, c.WinnerID, c.LoserID, c.FailureReason, c.Confidence = "failed", "", "", "provider timeout after 30s", nil
		}
		out = append(out, runner.RecordEvent{Topic: topic, Disposition: disp, Current: true, Seq: int64(i), CorrelationID: c.CorrelationID,
			Source: artefacts.RecordSource{Topic: topic, Partition: i % 3, Offset: int64(i / 3)}, Record: c,
			Comparison: &runner.ComparisonRecord{Succeeded: c.Status == "succeeded", Provider: "mock", Model: "mock-judge-small"}})
	}
	out = append(out, runner.RecordEvent{Topic: topic, Disposition: runner.Duplicate, Current: true, Seq: int64(n + 1), CorrelationID: "corr-0003",
		Source: artefacts.RecordSource{Topic: topic, Partition: 0, Offset: 99}})
	return out
}

type fixture struct {
	name  string
	model func(w, h int) Model
	// whole are texts that must appear unbroken at every size: numbers
	// and keys.
	whole []string
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
	fault.Stopped = true
	over := snapshot(96)
	over.BudgetUSD = 0.10
	over.CostUSD = 0.1172
	over.Models[0].USD = 0.1172
	timeout := completedSummary()
	timeout.Outcome, timeout.ExitCode, timeout.Resumable = runner.OutcomeTimeout, 4, true
	timeout.Message = "timed out after 5s with 6 of 120 comparisons captured"
	timeout.Comparisons, timeout.Succeeded, timeout.Failed, timeout.CostUSD = 6, 6, 0, 0.0069
	timeout.Models = []runner.ModelCost{{Provider: "mock", Model: "mock-judge-small", PromptTokens: 7_614, CompletionTokens: 306, USD: 0.0069, Comparisons: 6}}
	timeout.Next = "resuming needs the stack that served the run, and the embedded stack lives only as long as this process; for a batch you may need to resume later, start the stack with `eng5np stack up` and execute with --stack external"
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
	failedSum.Result = nil
	warnSum := completedSummary()
	warnSum.Warnings = []string{"18 duplicate callbacks (redeliveries) were ignored", "6 records were quarantined as malformed (validation.runner_status.skipped)",
		"6 callbacks of another batch were ignored", "2 comparisons failed at the provider"}
	waiting := snapshot(0)
	waiting.Ranking, waiting.Succeeded, waiting.FailedComparisons, waiting.CostUSD, waiting.ProjectedUSD = nil, 0, 0, 0, 0
	waiting.Models, waiting.Rate, waiting.Records, waiting.LastCallback = nil, nil, runner.RecordCounts{}, time.Time{}
	live := []string{"84/120", "$0.1023", "$0.1461", "elapsed 00:42", "36 outstanding", "?"}
	return []fixture{
		{"preflight_ready", func(w, h int) Model { return preflightModel(w, h, passAll()) }, []string{"Enter to start", "enter start", "q quit"}},
		{"preflight_blocked", func(w, h int) Model { return preflightModel(w, h, blocked) }, []string{"2 blocking checks failed", "r re-run checks", "q quit (exit 1)"}},
		{"preflight_detail", func(w, h int) Model {
			m := preflightModel(w, h, blocked)
			m.pre.scroll.cursor = 5
			m.pre.detail = checkDetail(m.pre.checks[5])
			return m
		}, []string{"esc back"}},
		{"live_waiting", func(w, h int) Model { return liveModel(w, h, waiting) }, []string{"0/120", "waiting for the first comparisons"}},
		{"live_normal", func(w, h int) Model { return liveModel(w, h, snapshot(84)) }, append(live, "ETA 00:18", "q stop (asks first)")},
		{"live_log", func(w, h int) Model {
			m := liveModel(w, h, snapshot(84))
			m.live.setFocus(paneLog)
			m.live.sync()
			return m
		}, append(live, "enter details")},
		{"live_essay_detail", func(w, h int) Model {
			m := liveModel(w, h, snapshot(84))
			m.live.rank.scroll.cursor = 3
			m.live.openDetail()
			return m
		}, []string{"84/120", "esc close", "θ: +2.49"}},
		{"live_comparison_detail", func(w, h int) Model {
			m := liveModel(w, h, snapshot(84))
			m.live.setFocus(paneLog)
			m.live.log.scroll.cursor = 2
			m.live.openDetail()
			return m
		}, []string{"84/120", "esc close", "9f2c4e1ab37d5c60e8f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7"}},
		{"live_full_help", func(w, h int) Model {
			m := liveModel(w, h, snapshot(84))
			m.setFullHelp(true)
			return m
		}, []string{"84/120", "tab", "ranking/log", "G/end", "q", "stop (asks first)"}},
		{"live_hard_fault", func(w, h int) Model {
			m := liveModel(w, h, fault)
			s := faultSum
			m.live.finished, m.live.faultHold, m.live.exitCode, m.exitCode = &s, true, 3, 3
			m.live.sync()
			return m
		}, []string{"37/120", "stopped: metadata fault", "425e531a-f793-434b-aed2-d786b4dc5193", "enter summary", "q quit (exit 3)", "assessment_run.execute.json"}},
		{"live_budget_exceeded", func(w, h int) Model { return liveModel(w, h, over) }, []string{"96/120", "$0.1172", "EXCEEDED"}},
		{"live_confirm_stop", func(w, h int) Model {
			m := liveModel(w, h, snapshot(84))
			m.live.confirmStop = true
			return m
		}, []string{"y stop", "n/esc keep capturing", "84/120"}},
		{"live_final", func(w, h int) Model {
			m := liveModel(w, h, snapshot(84))
			s := completedSummary()
			m.live.finished = &s
			m.live.sync()
			return m
		}, []string{"84/120", "tab summary", "finished: completed"}},
		{"live_watch", func(w, h int) Model {
			m := liveModel(w, h, snapshot(84))
			m.watch, m.live.watch = true, true
			return m
		}, []string{"84/120", "watch", "q quit watching"}},
		{"summary_completed", func(w, h int) Model { return summaryModel(w, h, completedSummary()) },
			[]string{"120 comparisons", "$0.1462", "exit 0", "SSR 0.83", "split-half 0.79", "+0.12 ± 0.07", "tab live view", "assessment_run.execute.json"}},
		{"summary_warnings", func(w, h int) Model { return summaryModel(w, h, warnSum) }, []string{"completed with warnings", "120 comparisons", "exit 0", "5b0e6f5c"}},
		{"summary_hard_fault", func(w, h int) Model { return summaryModel(w, h, faultSum) }, []string{"metadata fault", "exit 3", "q quit (exit 3)"}},
		{"summary_timeout", func(w, h int) Model { return summaryModel(w, h, timeout) }, []string{"timeout", "exit 4", "r resume capture in place", "$0.0069"}},
		{"summary_budget_exceeded", func(w, h int) Model { return summaryModel(w, h, budgetSum) }, []string{"budget exceeded", "exit 1"}},
		{"summary_batch_failed", func(w, h int) Model { return summaryModel(w, h, failedSum) }, []string{"exit 6", "18 comparisons"}},
		{"summary_essay_detail", func(w, h int) Model {
			m := summaryModel(w, h, completedSummary())
			m, _ = updateModel(m, press("j"))
			m, _ = updateModel(m, press("enter"))
			return m
		}, nil}, // compact below 80×24: the page scrolls instead
	}
}

func updateModel(m Model, msg tea.Msg) (Model, tea.Cmd) {
	nm, cmd := m.Update(msg)
	return nm.(Model), cmd
}

// goldenSizes are the terminal sizes every screen is drawn at.
var goldenSizes = [][2]int{{60, 20}, {80, 24}, {100, 30}, {140, 50}}

// Every screen in every state renders to its golden file at each size: no
// line wider than the terminal, no more lines than its height, and every
// number and key of the fixture whole.
func TestGoldenScreens(t *testing.T) {
	for _, f := range fixtures() {
		for _, size := range goldenSizes {
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
				for _, w := range f.whole {
					if ansi.StringWidth(w) > size[0]-2 {
						continue // wider than the terminal: wrapped, necessarily
					}
					if !strings.Contains(out, w) {
						t.Errorf("%q is not on the screen whole", w)
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
	hot := fixtureNamed("live_hard_fault").model(120, 40).render()
	if !strings.Contains(hot, "stopped: metadata fault") || !strings.Contains(ansi.Strip(hot), "425e531a-f793-434b-aed2-d786b4dc5193") {
		t.Error("the hard fault is not shown with its correlation id")
	}
}

func fixtureNamed(name string) fixture {
	for _, f := range fixtures() {
		if f.name == name {
			return f
		}
	}
	panic("no fixture " + name)
}

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
	out = nm.(Model).render()
	if !strings.Contains(out, "at least 60×16") || !strings.Contains(out, "84/120 comparisons") {
		t.Errorf("tiny terminal: %q", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if ansi.StringWidth(l) > 50 {
			t.Errorf("the too-small message is wider than the terminal: %q", l)
		}
	}
}
