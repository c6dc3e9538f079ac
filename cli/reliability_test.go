package cli

// The reliability suite (issue 8): whatever happens during a run, the
// captured comparisons are exactly the ones the services produced. Each
// scenario runs against a dev stack started in this test process (what
// `eng5np stack up` runs, on free ports over real TCP), so the stack outlives
// the runner, and compares the set of (essay_a_id, essay_b_id, winner_id,
// status) with a clean run of the same --seed.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"eng5np/artefacts"
	"eng5np/devstack"
	"eng5np/fault"
	"eng5np/inputs"
	"eng5np/runner"
)

const relSeed = 21

var (
	cleanMu   sync.Mutex
	cleanSets = map[int64][]string{}
)

// cleanSet is the comparison set of an undisturbed run with seed.
func cleanSet(t *testing.T, seed int64) []string {
	t.Helper()
	cleanMu.Lock()
	defer cleanMu.Unlock()
	if s, ok := cleanSets[seed]; ok {
		return s
	}
	s := execute(t, "--seed", fmt.Sprint(seed))
	if s.code != 0 {
		t.Fatalf("clean run: exit %d\n%s", s.code, s.stderr)
	}
	if len(s.run.LLMComparisons) != 120 {
		t.Fatalf("clean run captured %d comparisons", len(s.run.LLMComparisons))
	}
	cleanSets[seed] = s.comparisonSet()
	return cleanSets[seed]
}

type stackOpts struct {
	latency time.Duration
	dataDir string
	faults  fault.Set
	late    time.Duration
}

// inProcessStack starts a dev stack in the test process on free ports.
func inProcessStack(t *testing.T, seed int64, o stackOpts) *devstack.Stack {
	t.Helper()
	f, err := os.Open(filepath.Join(sample, inputs.GroundTruthName))
	if err != nil {
		t.Fatal(err)
	}
	gt, err := inputs.ParseGroundTruthCSV("ground_truth.csv", f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	cfg := loadTestConfig(t)
	s, err := devstack.Start(t.Context(), devstack.Options{Seed: seed, MockLatency: o.latency, GroundTruth: gt, Pricing: cfg.Pricing,
		DataDir: o.dataDir, Faults: o.faults, LateDelay: o.late, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func externalTo(s *devstack.Stack) []string {
	return []string{"--stack", "external", "--kafka-bootstrap", s.Bootstrap, "--content-service-url", s.URL, "--cj-service-url", s.URL}
}

// onlyRunDir returns the single run directory under out, once it exists.
func onlyRunDir(t *testing.T, out string) string {
	t.Helper()
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 {
		t.Fatalf("%d run directories in %s", len(entries), out)
	}
	return filepath.Join(out, entries[0].Name())
}

// loadRun reads a run directory's artefact.
func loadRun(t *testing.T, dir string) *scenario {
	t.Helper()
	s := &scenario{dir: dir}
	data, err := os.ReadFile(filepath.Join(dir, "assessment_run.execute.json"))
	if err != nil {
		t.Fatal(err)
	}
	s.raw = data
	s.run = &artefacts.AssessmentRun{}
	if err := json.Unmarshal(data, s.run); err != nil {
		t.Fatal(err)
	}
	return s
}

// journalLines counts the complete lines of a run's journal under out.
func journalLines(out string) int {
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 {
		return 0
	}
	data, _ := os.ReadFile(filepath.Join(out, entries[0].Name(), "events", "journal.jsonl"))
	return bytes.Count(data, []byte("\n"))
}

// waitJournal waits until the journal under out holds n lines.
func waitJournal(t *testing.T, out string, n int, done <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for journalLines(out) < n {
		select {
		case <-done:
			t.Fatalf("the run ended with %d journal lines, before %d", journalLines(out), n)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the journal did not reach %d lines within 60s (has %d)", n, journalLines(out))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkJournalOnce asserts that no Kafka record was journaled twice.
func checkJournalOnce(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "events", "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var r struct {
			Topic     string `json:"topic"`
			Partition int    `json:"partition"`
			Offset    int64  `json:"offset"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("journal line: %v", err)
		}
		k := fmt.Sprintf("%s/%d/%d", r.Topic, r.Partition, r.Offset)
		if seen[k] {
			t.Errorf("record %s journaled twice", k)
		}
		seen[k] = true
	}
}

// resumeToEnd resumes dir and checks the result against the clean set.
func resumeToEnd(t *testing.T, dir string, clean []string, extra ...string) *scenario {
	t.Helper()
	code, stdout, stderr := run(t, append([]string{"resume", dir, "--completion-timeout", "60s"}, extra...)...)
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s\n%s", code, stdout, stderr)
	}
	s := loadRun(t, dir)
	checkArtefact(t, s)
	checkJournalOnce(t, dir)
	if st := s.run.Validation.RunnerStatus; st.Outcome != "completed" || st.PartialData {
		t.Errorf("after resume: runner status %+v", st)
	}
	if got := s.comparisonSet(); !reflect.DeepEqual(got, clean) {
		t.Errorf("after resume: %d comparisons differ from the clean run's %d", len(got), len(clean))
	}
	return s
}

// Timeout → exit 4 with partial_data → resume captures exactly the clean
// run's comparisons.
func TestReliabilityTimeoutThenResume(t *testing.T) {
	clean := cleanSet(t, relSeed)
	st := inProcessStack(t, relSeed, stackOpts{latency: 20 * time.Millisecond, faults: fault.Set{fault.Late: 0.25}, late: 1500 * time.Millisecond})
	out := t.TempDir()
	code, stdout, stderr := run(t, append([]string{"execute", "--no-tui", "--inputs", sample, "--output-dir", out, "--completion-timeout", "1s"}, externalTo(st)...)...)
	if code != runner.ExitTimeout {
		t.Fatalf("exit %d, want 4\n%s\n%s", code, stdout, stderr)
	}
	dir := onlyRunDir(t, out)
	partial := loadRun(t, dir)
	checkArtefact(t, partial)
	if rs := partial.run.Validation.RunnerStatus; !rs.PartialData || rs.Outcome != "timeout" || len(partial.run.LLMComparisons) >= 120 {
		t.Fatalf("timed-out run: %d comparisons, status %+v", len(partial.run.LLMComparisons), rs)
	}
	if !strings.Contains(stderr, "eng5np resume "+dir) {
		t.Errorf("the exit message does not give the resume command:\n%s", stderr)
	}
	s := resumeToEnd(t, dir, clean)
	if s.run.Validation.RunnerStatus.Captures != 2 {
		t.Errorf("captures %d, want 2", s.run.Validation.RunnerStatus.Captures)
	}
}

// SIGKILL of a runner subprocess at several points (one of them leaving a
// torn journal line, as a kill during an append does), and Ctrl-C →
// rehydrate shows an interrupted, verifiable artefact → resume → exactly the
// clean set.
func TestReliabilitySIGKILLThenResume(t *testing.T) {
	clean := cleanSet(t, relSeed)
	points := []struct {
		name    string
		sig     syscall.Signal
		journal int  // signal once the journal holds this many lines (0: as capture starts)
		tear    bool // then cut the last line in half
	}{
		{"SIGKILL as capture starts", syscall.SIGKILL, 0, false},
		{"SIGKILL mid-capture, torn last line", syscall.SIGKILL, 40, true},
		{"SIGKILL near the end", syscall.SIGKILL, 100, false},
		{"Ctrl-C mid-capture", syscall.SIGINT, 60, false},
	}
	for _, p := range points {
		t.Run(p.name, func(t *testing.T) {
			st := inProcessStack(t, relSeed, stackOpts{latency: 150 * time.Millisecond})
			out := t.TempDir()
			cmd, stdout := startBinary(t, append([]string{"execute", "--no-tui", "--inputs", sample, "--output-dir", out, "--completion-timeout", "60s"}, externalTo(st)...)...)
			exited := make(chan struct{})
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					if strings.HasPrefix(sc.Text(), "capturing") && p.journal == 0 {
						_ = cmd.Process.Signal(p.sig)
					}
				}
				close(exited)
			}()
			if p.journal > 0 {
				waitJournal(t, out, p.journal, exited)
				_ = cmd.Process.Signal(p.sig)
			}
			err := cmd.Wait()
			<-exited
			var ee *exec.ExitError
			switch {
			case p.sig == syscall.SIGINT && (!errors.As(err, &ee) || ee.ExitCode() != runner.ExitInterrupted):
				t.Fatalf("Ctrl-C: %v, want exit 130", err)
			case p.sig == syscall.SIGKILL && (!errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL):
				t.Fatalf("the runner was not killed: %v", err)
			}
			dir := onlyRunDir(t, out)
			if n := journalLines(out); n > 120 {
				t.Fatalf("killed with %d journal lines: the run was already complete", n)
			}
			if p.tear {
				tearLastLine(t, filepath.Join(dir, "events", "journal.jsonl"))
			}

			// rehydrate works on the killed run directory alone.
			code, so, se := run(t, "rehydrate", dir)
			if code != 0 {
				t.Fatalf("rehydrate after SIGKILL: exit %d\n%s\n%s", code, so, se)
			}
			if p.tear && !strings.Contains(so, "incomplete last line") {
				t.Errorf("rehydrate does not report the torn line:\n%s", so)
			}
			killed := loadRun(t, dir)
			checkArtefact(t, killed)
			if rs := killed.run.Validation.RunnerStatus; rs.Outcome != "interrupted" || !rs.PartialData {
				t.Errorf("rehydrated after SIGKILL: status %+v", rs)
			}

			resumeToEnd(t, dir, clean)
		})
	}
}

// tearLastLine cuts the journal's last line in half, as a crash in the
// middle of an append leaves it.
func tearLastLine(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.TrimSuffix(data, []byte("\n"))
	start := bytes.LastIndexByte(body, '\n') + 1
	cut := start + (len(body)-start)/2
	if err := os.WriteFile(path, data[:cut], 0o600); err != nil {
		t.Fatal(err)
	}
}

// background is an execute run in this process while the test acts on the
// stack; its fields are set once exited is closed.
type background struct {
	exited         chan struct{}
	code           int
	stdout, stderr string
}

func executeInBackground(t *testing.T, st *devstack.Stack, out, timeout string) *background {
	b := &background{exited: make(chan struct{})}
	go func() {
		defer close(b.exited)
		b.code, b.stdout, b.stderr = run(t, append([]string{"execute", "--no-tui", "--inputs", sample, "--output-dir", out, "--completion-timeout", timeout}, externalTo(st)...)...)
	}()
	return b
}

func (b *background) wait() { <-b.exited }

// The broker restarts (its log persisted) during capture: the runner
// reconnects and loses nothing.
func TestReliabilityBrokerRestartMidCapture(t *testing.T) {
	clean := cleanSet(t, relSeed)
	st := inProcessStack(t, relSeed, stackOpts{latency: 150 * time.Millisecond, dataDir: t.TempDir()})
	out := t.TempDir()
	r := executeInBackground(t, st, out, "60s")
	waitJournal(t, out, 30, r.exited)
	if err := st.RestartBroker(time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.exited:
		t.Fatal("the run ended before the broker came back: the restart was not mid-capture")
	default:
	}
	r.wait()
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	dir := onlyRunDir(t, out)
	s := loadRun(t, dir)
	checkArtefact(t, s)
	checkJournalOnce(t, dir)
	if got := s.comparisonSet(); !reflect.DeepEqual(got, clean) {
		t.Errorf("after a broker restart: %d comparisons differ from the clean run's %d", len(got), len(clean))
	}
}

// The broker is gone for longer than the completion timeout: exit 4 with
// partial data; once it is back, resume captures exactly the clean set.
func TestReliabilityBrokerGoneThenResume(t *testing.T) {
	clean := cleanSet(t, relSeed)
	st := inProcessStack(t, relSeed, stackOpts{latency: 150 * time.Millisecond, dataDir: t.TempDir()})
	out := t.TempDir()
	r := executeInBackground(t, st, out, "4s")
	waitJournal(t, out, 30, r.exited)
	st.StopBroker()
	r.wait()
	if r.code != runner.ExitTimeout {
		t.Fatalf("exit %d with the broker gone, want 4\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	dir := onlyRunDir(t, out)
	partial := loadRun(t, dir)
	checkArtefact(t, partial)
	if rs := partial.run.Validation.RunnerStatus; !rs.PartialData || rs.Outcome != "timeout" || len(partial.run.LLMComparisons) >= 120 {
		t.Errorf("%d comparisons, status %+v", len(partial.run.LLMComparisons), rs)
	}
	if err := st.RestartBroker(0); err != nil {
		t.Fatal(err)
	}
	resumeToEnd(t, dir, clean)
}

// rehydrate rebuilds the artefact from a copy of the run directory alone,
// after the artefact was deleted, byte for byte in the sections it derives
// from the journal and inputs.
func TestRehydrateIsByteStable(t *testing.T) {
	s := execute(t, "--seed", "13", "--fault", "provider_error=0.1", "--fault", "duplicate=0.2", "--fault", "malformed=0.1")
	if s.code != 0 {
		t.Fatalf("exit %d\n%s", s.code, s.stderr)
	}
	// A copy elsewhere: no original input file, no stack, no log written.
	dir := filepath.Join(t.TempDir(), filepath.Base(s.dir))
	if err := os.CopyFS(dir, os.DirFS(s.dir)); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "logs")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "assessment_run.execute.json")); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "rehydrate", dir)
	if code != 0 {
		t.Fatalf("rehydrate: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "logs")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("rehydrate wrote a log into the run directory")
	}
	again := loadRun(t, dir)
	checkArtefact(t, again)
	orig, rebuilt := sections(t, s.raw), sections(t, again.raw)
	for _, k := range []string{"llm_comparisons", "bt_summary", "grade_projections", "costs", "inputs",
		"validation.runner_status", "validation.manifest_status", "validation.reliability", "validation.service_comparison", "validation.grade_projection_status"} {
		if len(orig[k]) == 0 {
			t.Errorf("the original artefact has no %s", k)
			continue
		}
		if !bytes.Equal(orig[k], rebuilt[k]) {
			t.Errorf("%s differs after rehydrate", k)
		}
	}
	// Twice is the same as once.
	if code, _, se := run(t, "rehydrate", dir); code != 0 {
		t.Fatalf("second rehydrate: exit %d %s", code, se)
	}
	if !bytes.Equal(sections(t, loadRun(t, dir).raw)["llm_comparisons"], orig["llm_comparisons"]) {
		t.Error("a second rehydrate changed llm_comparisons")
	}
	// A dry-run directory and a non-run directory are refused, naming why.
	if code, _, se := run(t, "rehydrate", t.TempDir()); code != runner.ExitUsage || !strings.Contains(se, "run.json") {
		t.Errorf("rehydrate of an empty directory: exit %d %s", code, se)
	}
	dry := t.TempDir()
	if code, _, se := run(t, "dry-run", "--inputs", sample, "--output-dir", dry); code != 0 {
		t.Fatalf("dry-run: exit %d %s", code, se)
	}
	if code, _, se := run(t, "rehydrate", onlyRunDir(t, dry)); code != runner.ExitUsage || !strings.Contains(se, "dry-run directory") {
		t.Errorf("rehydrate of a dry-run directory: exit %d %s", code, se)
	}
}

// sections returns the artefact's top-level sections and validation's
// members as raw bytes.
func sections(t *testing.T, raw []byte) map[string][]byte {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for k, v := range top {
		out[k] = v
	}
	var val map[string]json.RawMessage
	if err := json.Unmarshal(top["validation"], &val); err == nil {
		for k, v := range val {
			out["validation."+k] = v
		}
	}
	return out
}

// The end event can be journaled before the last callbacks of another
// partition (each partition is read on its own). A capture that stops there
// must first read every partition up to where it stood when the end was
// seen. Simulated exactly: a completed run whose journal lost the last
// callbacks of partition 0 after its end events, as if killed right then.
func TestReliabilityEndEventBeforeLastCallbacks(t *testing.T) {
	clean := cleanSet(t, relSeed)
	st := inProcessStack(t, relSeed, stackOpts{latency: 2 * time.Millisecond})
	out := t.TempDir()
	code, stdout, stderr := run(t, append([]string{"execute", "--no-tui", "--inputs", sample, "--output-dir", out}, externalTo(st)...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	dir := onlyRunDir(t, out)
	path := filepath.Join(dir, "events", "journal.jsonl")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type line struct {
		raw       map[string]any
		topic     string
		partition int
		offset    int64
	}
	var lines []line
	maxOff := int64(-1)
	for _, l := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatal(err)
		}
		x := line{raw: m, topic: m["topic"].(string), partition: int(m["partition"].(float64)), offset: int64(m["offset"].(float64))}
		if x.topic == "huleedu.llm_provider.comparison_result.v1" && x.partition == 0 && x.offset > maxOff {
			maxOff = x.offset
		}
		lines = append(lines, x)
	}
	var kept bytes.Buffer
	dropped, seq := 0, 0
	for _, x := range lines {
		if x.topic == "huleedu.llm_provider.comparison_result.v1" && x.partition == 0 && x.offset > maxOff-5 {
			dropped++
			continue
		}
		seq++
		x.raw["seq"] = seq
		b, _ := json.Marshal(x.raw)
		kept.Write(append(b, '\n'))
	}
	if dropped != 5 {
		t.Fatalf("dropped %d callbacks", dropped)
	}
	if err := os.WriteFile(path, kept.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	// The process "died" right after journaling the end events.
	var rec map[string]any
	rj, _ := os.ReadFile(filepath.Join(dir, "run.json"))
	if err := json.Unmarshal(rj, &rec); err != nil {
		t.Fatal(err)
	}
	caps := rec["captures"].([]any)
	last := caps[len(caps)-1].(map[string]any)
	delete(last, "outcome")
	delete(last, "ended_at")
	delete(last, "message")
	rj, _ = json.Marshal(rec)
	if err := os.WriteFile(filepath.Join(dir, "run.json"), rj, 0o600); err != nil {
		t.Fatal(err)
	}
	// And before offsets.json recorded how far it had journaled.
	var offs map[string]any
	oj, _ := os.ReadFile(filepath.Join(dir, "events", "offsets.json"))
	if err := json.Unmarshal(oj, &offs); err != nil {
		t.Fatal(err)
	}
	offs["next"] = offs["start"]
	oj, _ = json.Marshal(offs)
	if err := os.WriteFile(filepath.Join(dir, "events", "offsets.json"), oj, 0o600); err != nil {
		t.Fatal(err)
	}

	s := resumeToEnd(t, dir, clean)
	if n := len(s.run.LLMComparisons); n != 120 {
		t.Errorf("%d comparisons after resume, want 120", n)
	}
}
