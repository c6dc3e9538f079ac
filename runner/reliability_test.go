package runner_test

// The reliability suite: whatever happens during a run, the captured
// comparisons are exactly the ones the services produced. Each scenario runs
// against a dev stack in this test process that outlives the run, and
// compares the set of (essay_a_id, essay_b_id, winner_id, status) with a
// clean run of the same seed. The scenarios that kill a runner process are
// in e2e/.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"eng5np/config"
	"eng5np/devstack"
	"eng5np/fault"
	"eng5np/internal/testkit"
	"eng5np/rundir"
	"eng5np/runner"
)

const relSeed = 21

var (
	cleanOnce sync.Once
	cleanRun  []string
)

// cleanSet is the comparison set of an undisturbed run with relSeed.
func cleanSet(t *testing.T) []string {
	t.Helper()
	cleanOnce.Do(func() {
		o := execute(t, devstack.Options{Seed: relSeed})
		if o.sum.ExitCode != 0 || o.run == nil || len(o.run.Artefact.LLMComparisons) != 120 {
			t.Fatalf("clean run: %+v", o.sum)
		}
		cleanRun = o.run.ComparisonSet()
	})
	if cleanRun == nil {
		t.Fatal("no clean run")
	}
	return cleanRun
}

// resume resumes dir against the services named by args (none: the run's
// own) with extra settings.
func resume(t *testing.T, dir string, args ...string) (runner.Summary, error) {
	t.Helper()
	cfg := testkit.Config(t, config.CmdResume, testkit.StackEnv, args...)
	timeout := time.Duration(0)
	if cfg.Explicit("completion_timeout") {
		timeout = cfg.CompletionTimeout
	}
	return (&runner.Resume{Dir: dir, Config: cfg, CompletionTimeout: timeout}).Run(context.Background())
}

// resumeToEnd resumes dir and checks the result against the clean set.
func resumeToEnd(t *testing.T, dir string, clean []string) *testkit.Run {
	t.Helper()
	sum, err := resume(t, dir, "--completion-timeout", "60s")
	if err != nil || sum.ExitCode != 0 {
		t.Fatalf("resume: %v %+v", err, sum)
	}
	r := testkit.LoadRun(t, dir)
	testkit.CheckArtefact(t, r)
	testkit.CheckJournalOnce(t, dir)
	if st := r.Artefact.Validation.RunnerStatus; st.Outcome != "completed" || st.PartialData {
		t.Errorf("after resume: runner status %+v", st)
	}
	if got := r.ComparisonSet(); !reflect.DeepEqual(got, clean) {
		t.Errorf("after resume: %d comparisons differ from the clean run's %d", len(got), len(clean))
	}
	return r
}

// Timeout → exit 4 with partial_data → resume captures exactly the clean
// run's comparisons.
func TestReliabilityTimeoutThenResume(t *testing.T) {
	t.Parallel()
	clean := cleanSet(t)
	st := testkit.Stack(t, devstack.Options{Seed: relSeed, MockLatency: 20 * time.Millisecond, Faults: fault.Set{fault.Late: 0.25}, LateDelay: 400 * time.Millisecond})
	o := executeAt(t, addresses(st), "--completion-timeout", "1s")
	if o.sum.ExitCode != runner.ExitTimeout {
		t.Fatalf("exit %d, want 4: %s", o.sum.ExitCode, o.sum.Message)
	}
	partial := o.mustArtefact(t)
	if rs := partial.Artefact.Validation.RunnerStatus; !rs.PartialData || rs.Outcome != "timeout" || len(partial.Artefact.LLMComparisons) >= 120 {
		t.Fatalf("timed-out run: %d comparisons, status %+v", len(partial.Artefact.LLMComparisons), rs)
	}
	if !strings.Contains(o.sum.Next, "eng5np resume "+partial.Dir) {
		t.Errorf("the next step does not give the resume command:\n%s", o.sum.Next)
	}
	r := resumeToEnd(t, partial.Dir, clean)
	if r.Artefact.Validation.RunnerStatus.Captures != 2 {
		t.Errorf("captures %d, want 2", r.Artefact.Validation.RunnerStatus.Captures)
	}
}

// background is an execute run of this process while the test acts on the
// stack; its outcome is set once exited is closed.
type background struct {
	exited chan struct{}
	out    *outcome
}

func executeInBackground(t *testing.T, st *devstack.Stack, out, timeout string) *background {
	b := &background{exited: make(chan struct{})}
	go func() {
		defer close(b.exited)
		b.out = executeAt(t, addresses(st), "--output-dir", out, "--completion-timeout", timeout)
	}()
	return b
}

// The broker restarts (its log persisted) during capture: the runner
// reconnects and loses nothing.
func TestReliabilityBrokerRestartMidCapture(t *testing.T) {
	t.Parallel()
	clean := cleanSet(t)
	st := testkit.Stack(t, devstack.Options{Seed: relSeed, MockLatency: 150 * time.Millisecond, DataDir: t.TempDir()})
	out := t.TempDir()
	r := executeInBackground(t, st, out, "60s")
	testkit.WaitJournal(t, out, 30, r.exited)
	if err := st.RestartBroker(time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.exited:
		t.Fatal("the run ended before the broker came back: the restart was not mid-capture")
	default:
	}
	<-r.exited
	if r.out.sum.ExitCode != 0 {
		t.Fatalf("exit %d: %s", r.out.sum.ExitCode, r.out.sum.Message)
	}
	run := r.out.mustArtefact(t)
	testkit.CheckJournalOnce(t, run.Dir)
	if got := run.ComparisonSet(); !reflect.DeepEqual(got, clean) {
		t.Errorf("after a broker restart: %d comparisons differ from the clean run's %d", len(got), len(clean))
	}
}

// The broker is gone for longer than the completion timeout: exit 4 with
// partial data; once it is back, resume captures exactly the clean set.
func TestReliabilityBrokerGoneThenResume(t *testing.T) {
	t.Parallel()
	clean := cleanSet(t)
	st := testkit.Stack(t, devstack.Options{Seed: relSeed, MockLatency: 50 * time.Millisecond, DataDir: t.TempDir()})
	out := t.TempDir()
	r := executeInBackground(t, st, out, "2s")
	testkit.WaitJournal(t, out, 30, r.exited)
	st.StopBroker()
	<-r.exited
	if r.out.sum.ExitCode != runner.ExitTimeout {
		t.Fatalf("exit %d with the broker gone, want 4: %s", r.out.sum.ExitCode, r.out.sum.Message)
	}
	partial := r.out.mustArtefact(t)
	if rs := partial.Artefact.Validation.RunnerStatus; !rs.PartialData || rs.Outcome != "timeout" || len(partial.Artefact.LLMComparisons) >= 120 {
		t.Errorf("%d comparisons, status %+v", len(partial.Artefact.LLMComparisons), rs)
	}
	if err := st.RestartBroker(0); err != nil {
		t.Fatal(err)
	}
	resumeToEnd(t, partial.Dir, clean)
}

// Rehydrate rebuilds the artefact from a copy of the run directory alone,
// after the artefact was deleted, byte for byte in the sections it derives
// from the journal and inputs, and again the same the second time.
func TestRehydrateIsByteStable(t *testing.T) {
	t.Parallel()
	o := execute(t, devstack.Options{Seed: 13, Faults: fault.Set{fault.ProviderError: 0.1, fault.Duplicate: 0.2, fault.Malformed: 0.1}})
	if o.sum.ExitCode != 0 {
		t.Fatalf("exit %d: %s", o.sum.ExitCode, o.sum.Message)
	}
	orig := o.mustArtefact(t)
	// A copy elsewhere: no original input file, no stack, no log written.
	dir := t.TempDir() + "/" + "copy"
	if err := os.CopyFS(dir, os.DirFS(orig.Dir)); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(rundir.Path(dir, rundir.LogsDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(rundir.Path(dir, rundir.Artefact(rundir.ModeExecute))); err != nil {
		t.Fatal(err)
	}
	if _, err := (&runner.Rehydrate{Dir: dir}).Run(); err != nil {
		t.Fatalf("rehydrate: %v", err)
	}
	if _, err := os.Stat(rundir.Path(dir, rundir.LogsDir)); !os.IsNotExist(err) {
		t.Error("rehydrate wrote a log into the run directory")
	}
	again := testkit.LoadRun(t, dir)
	testkit.CheckArtefact(t, again)
	before, rebuilt := testkit.Sections(t, orig.Raw), testkit.Sections(t, again.Raw)
	for _, k := range []string{"llm_comparisons", "bt_summary", "grade_projections", "costs", "inputs",
		"validation.runner_status", "validation.manifest_status", "validation.reliability", "validation.service_comparison", "validation.grade_projection_status"} {
		if len(before[k]) == 0 {
			t.Errorf("the original artefact has no %s", k)
			continue
		}
		if !bytes.Equal(before[k], rebuilt[k]) {
			t.Errorf("%s differs after rehydrate", k)
		}
	}
	// Twice is the same as once.
	if _, err := (&runner.Rehydrate{Dir: dir}).Run(); err != nil {
		t.Fatalf("second rehydrate: %v", err)
	}
	if !bytes.Equal(testkit.Sections(t, testkit.LoadRun(t, dir).Raw)["llm_comparisons"], before["llm_comparisons"]) {
		t.Error("a second rehydrate changed llm_comparisons")
	}
}

// The end event can be journaled before the last callbacks of another
// partition (each partition is read on its own). A capture that stops there
// must first read every partition up to where it stood when the end was
// seen. Simulated exactly: a completed run whose journal lost the last
// callbacks of partition 0 after its end events, as if killed right then.
func TestReliabilityEndEventBeforeLastCallbacks(t *testing.T) {
	t.Parallel()
	clean := cleanSet(t)
	st := testkit.Stack(t, devstack.Options{Seed: relSeed, MockLatency: 2 * time.Millisecond})
	o := executeAt(t, addresses(st))
	if o.sum.ExitCode != 0 {
		t.Fatalf("exit %d: %s", o.sum.ExitCode, o.sum.Message)
	}
	dir := o.sum.RunDir
	path := rundir.Path(dir, rundir.Journal)
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
	rj, _ := os.ReadFile(rundir.Path(dir, rundir.RunRecord))
	if err := json.Unmarshal(rj, &rec); err != nil {
		t.Fatal(err)
	}
	caps := rec["captures"].([]any)
	last := caps[len(caps)-1].(map[string]any)
	delete(last, "outcome")
	delete(last, "ended_at")
	delete(last, "message")
	rj, _ = json.Marshal(rec)
	if err := os.WriteFile(rundir.Path(dir, rundir.RunRecord), rj, 0o600); err != nil {
		t.Fatal(err)
	}
	// And before offsets.json recorded how far it had journaled.
	var offs map[string]any
	oj, _ := os.ReadFile(rundir.Path(dir, rundir.Offsets))
	if err := json.Unmarshal(oj, &offs); err != nil {
		t.Fatal(err)
	}
	offs["next"] = offs["start"]
	oj, _ = json.Marshal(offs)
	if err := os.WriteFile(rundir.Path(dir, rundir.Offsets), oj, 0o600); err != nil {
		t.Fatal(err)
	}

	r := resumeToEnd(t, dir, clean)
	if n := len(r.Artefact.LLMComparisons); n != 120 {
		t.Errorf("%d comparisons after resume, want 120", n)
	}
}

// resume against a broker that lost the run's data (a dev stack restarted
// without its data directory: its CJ service no longer knows the batch
// either) says so and stops, instead of timing out again.
func TestResumeAgainstABrokerThatLostTheData(t *testing.T) {
	t.Parallel()
	st := testkit.Stack(t, devstack.Options{Seed: relSeed, MockLatency: 2 * time.Millisecond, Faults: fault.Set{fault.DropCompletion: 1}})
	o := executeAt(t, addresses(st), "--completion-timeout", "2s")
	if o.sum.ExitCode != runner.ExitTimeout {
		t.Fatalf("exit %d, want 4: %s", o.sum.ExitCode, o.sum.Message)
	}
	fresh := testkit.Stack(t, devstack.Options{Seed: relSeed})
	start := time.Now()
	_, err := resume(t, o.sum.RunDir, "--kafka-bootstrap", fresh.Bootstrap, "--content-service-url", fresh.URL, "--cj-service-url", fresh.URL, "--completion-timeout", "60s")
	var ee *runner.ExitError
	if !errors.As(err, &ee) || ee.Code != runner.ExitFailure || !strings.Contains(err.Error(), "lost its data") || !strings.Contains(ee.Next, "run the batch again") {
		t.Fatalf("resume: %v", err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("resume took %v to refuse", took)
	}
}
