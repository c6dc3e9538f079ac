package runner_test

// The execute scenario suite: one domain-level scenario per behaviour, run
// through the runner against a dev stack in this process over real TCP
// (kfake and the real Kafka client; no mocks). With SCENARIO_KAFKA_BOOTSTRAP,
// SCENARIO_CONTENT_URL and SCENARIO_CJ_URL set, the scenarios that need no
// fault injection run against that external stack instead (start one with
// `eng5np stack up`).

import (
	"context"
	"net"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"eng5np/config"
	"eng5np/devstack"
	"eng5np/fault"
	"eng5np/internal/testkit"
	"eng5np/rundir"
	"eng5np/runner"
)

// external returns the addresses of an external scenario stack, or nil.
func external() []string {
	b, c, j := os.Getenv("SCENARIO_KAFKA_BOOTSTRAP"), os.Getenv("SCENARIO_CONTENT_URL"), os.Getenv("SCENARIO_CJ_URL")
	if b == "" {
		return nil
	}
	return append([]string{"--stack", "external", "--kafka-bootstrap", b, "--content-service-url", c, "--cj-service-url", j}, testkit.MockJudge...)
}

// needsEmbedded skips a scenario that injects faults when the suite points
// at an external stack.
func needsEmbedded(t *testing.T) {
	if external() != nil {
		t.Skip("fault injection needs the embedded stack")
	}
}

// addresses are the flags that point a run at a dev stack.
func addresses(s *devstack.Stack) []string {
	return append([]string{"--stack", "external", "--kafka-bootstrap", s.Bootstrap, "--content-service-url", s.URL, "--cj-service-url", s.URL}, testkit.MockJudge...)
}

// outcome is a finished run: its summary, its pre-flight and its directory.
type outcome struct {
	sum    runner.Summary
	checks map[string]runner.CheckResult
	run    *testkit.Run // nil when no artefact was written
}

// execute runs the sample batch through the pre-flight checks and the
// runner, as `eng5np execute` does, against a stack started with opts (or
// the external scenario stack), with extra settings args.
func execute(t *testing.T, opts devstack.Options, args ...string) *outcome {
	t.Helper()
	where := external()
	if where == nil {
		if opts.MockLatency == 0 {
			opts.MockLatency = 2 * time.Millisecond
		}
		where = addresses(testkit.Stack(t, opts))
	}
	return executeAt(t, where, args...)
}

// executeAt runs the sample batch against the services named by where.
func executeAt(t *testing.T, where []string, args ...string) *outcome {
	t.Helper()
	out := t.TempDir()
	base := []string{"--inputs", testkit.Sample(t), "--output-dir", out}
	cfg := testkit.Config(t, config.CmdExecute, testkit.StackEnv, append(append(base, where...), args...)...)
	ep, err := runner.ExternalEndpoints(cfg)
	if err != nil {
		t.Fatal(err)
	}
	o := &outcome{checks: map[string]runner.CheckResult{}}
	pf := runner.NewPreflight(cfg, ep)
	if pf.RunAll(t.Context(), func(c runner.Check, r runner.CheckResult) { o.checks[c.ID] = r }) {
		t.Fatalf("pre-flight blocked: %+v", o.checks)
	}
	o.sum, err = (&runner.Execute{Config: cfg, Endpoints: ep, Plan: pf.Plan()}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(rundir.Path(o.sum.RunDir, rundir.Artefact(rundir.ModeExecute))); err == nil {
		o.run = testkit.LoadRun(t, o.sum.RunDir)
	}
	return o
}

func (o *outcome) mustArtefact(t *testing.T) *testkit.Run {
	t.Helper()
	if o.run == nil {
		t.Fatalf("no artefact written: %+v", o.sum)
	}
	testkit.CheckArtefact(t, o.run)
	return o.run
}

func TestScenarioHappyPath(t *testing.T) {
	t.Parallel()
	o := execute(t, devstack.Options{Seed: 11})
	if o.sum.ExitCode != 0 {
		t.Fatalf("exit %d: %s", o.sum.ExitCode, o.sum.Message)
	}
	r := o.mustArtefact(t)
	if n := len(r.Artefact.LLMComparisons); n != 120 {
		t.Errorf("%d comparisons, want the budget of 120", n)
	}
	st := r.Artefact.Validation.RunnerStatus
	if st.Outcome != "completed" || st.PartialData || *st.ExitCode != 0 || r.Artefact.Validation.ServiceComparison == nil {
		t.Errorf("runner status %+v", st)
	}
	for _, e := range r.Artefact.BTSummary {
		if e.ComparisonCount > 0 && e.StandardError <= 0 {
			t.Errorf("%s compared but SE %v", e.EssayID, e.StandardError)
		}
	}
	if o.sum.Outcome != runner.OutcomeCompleted || o.sum.Comparisons != 120 || !o.sum.Verified || o.checks["broker"].Status != runner.Pass {
		t.Errorf("summary %+v, broker check %+v", o.sum, o.checks["broker"])
	}
	for _, f := range []string{rundir.Inputs, rundir.RunRecord, rundir.Request, rundir.Journal, rundir.Offsets, rundir.UploadCache, rundir.Manifest, rundir.Log} {
		if _, err := os.Stat(rundir.Path(r.Dir, f)); err != nil {
			t.Errorf("%s missing", f)
		}
	}
}

func TestScenarioMetadataFaults(t *testing.T) {
	t.Parallel()
	needsEmbedded(t)
	for _, field := range []string{"essay_a_id", "essay_b_id", "prompt_sha256"} {
		t.Run(field, func(t *testing.T) {
			t.Parallel()
			o := execute(t, devstack.Options{Seed: 2, Faults: fault.Set{"drop_" + field: 0.3}})
			if o.sum.ExitCode != runner.ExitFault {
				t.Fatalf("exit %d, want 3: %s", o.sum.ExitCode, o.sum.Message)
			}
			r := o.mustArtefact(t)
			faults := r.Artefact.Validation.ManifestStatus.Faults
			if len(faults) != 1 || r.Artefact.Validation.ManifestStatus.Complete {
				t.Fatalf("faults %+v", faults)
			}
			f := faults[0]
			if !slices.Contains(f.Fields, field) || f.CorrelationID == "" || f.Topic != "huleedu.llm_provider.comparison_result.v1" {
				t.Errorf("fault %+v", f)
			}
			for _, c := range r.Artefact.LLMComparisons {
				if c.CorrelationID == f.CorrelationID {
					t.Error("the faulty callback is in llm_comparisons")
				}
			}
			// The message the CLI prints last names all of it.
			for _, want := range []string{field, f.CorrelationID, "offset " + strconv.FormatInt(f.Offset, 10), "partition"} {
				if !strings.Contains(o.sum.Message, want) {
					t.Errorf("the exit message does not name %q:\n%s", want, o.sum.Message)
				}
			}
			if st := r.Artefact.Validation.RunnerStatus; st.Outcome != "metadata_fault" || !st.PartialData || *st.ExitCode != 3 {
				t.Errorf("runner status %+v", st)
			}
		})
	}
}

// Duplicates, foreign-batch callbacks and malformed messages change nothing:
// the same seed gives exactly the clean run's comparisons.
func TestScenarioNoiseChangesNothing(t *testing.T) {
	t.Parallel()
	needsEmbedded(t)
	clean := execute(t, devstack.Options{Seed: 4})
	noisy := execute(t, devstack.Options{Seed: 4, Faults: fault.Set{fault.Duplicate: 0.3, fault.ForeignBatch: 0.3, fault.Malformed: 0.3}})
	if clean.sum.ExitCode != 0 || noisy.sum.ExitCode != 0 {
		t.Fatalf("exits %d and %d: %s", clean.sum.ExitCode, noisy.sum.ExitCode, noisy.sum.Message)
	}
	r := noisy.mustArtefact(t)
	if !reflect.DeepEqual(clean.mustArtefact(t).ComparisonSet(), r.ComparisonSet()) {
		t.Error("the noisy run's comparisons differ from the clean run's")
	}
	sk := r.Artefact.Validation.RunnerStatus.Skipped
	if sk["duplicate"] == 0 || sk["foreign_batch"] == 0 || sk["malformed"] == 0 {
		t.Errorf("noise not counted: %v", sk)
	}
}

func TestScenarioProviderErrors(t *testing.T) {
	t.Parallel()
	needsEmbedded(t)
	o := execute(t, devstack.Options{Seed: 6, Faults: fault.Set{fault.ProviderError: 0.1}})
	if o.sum.ExitCode != 0 {
		t.Fatalf("exit %d: %s", o.sum.ExitCode, o.sum.Message)
	}
	var failed int
	for _, c := range o.mustArtefact(t).Artefact.LLMComparisons {
		if c.Status == "failed" {
			failed++
			if c.WinnerID != "" || c.LoserID != "" || c.ErrorCode != "PROVIDER_ERROR" || c.FailureReason == "" || c.CostUSD <= 0 {
				t.Errorf("failed comparison %+v", c)
			}
		}
	}
	if failed == 0 {
		t.Error("no failed comparison recorded")
	}
}

func TestScenarioFailBatch(t *testing.T) {
	t.Parallel()
	needsEmbedded(t)
	o := execute(t, devstack.Options{Seed: 6, Faults: fault.Set{fault.FailBatch: 1}})
	if o.sum.ExitCode != runner.ExitBatchFailed {
		t.Fatalf("exit %d, want 6: %s", o.sum.ExitCode, o.sum.Message)
	}
	r := o.mustArtefact(t)
	if !strings.Contains(o.sum.Message, "the CJ service reported the batch failed") || r.Artefact.Validation.RunnerStatus.FailureReason == "" {
		t.Errorf("message %q status %+v", o.sum.Message, r.Artefact.Validation.RunnerStatus)
	}
}

func TestScenarioDroppedCompletionTimesOut(t *testing.T) {
	t.Parallel()
	needsEmbedded(t)
	start := time.Now()
	o := execute(t, devstack.Options{Seed: 6, Faults: fault.Set{fault.DropCompletion: 1}}, "--completion-timeout", "3s")
	if o.sum.ExitCode != runner.ExitTimeout {
		t.Fatalf("exit %d, want 4: %s", o.sum.ExitCode, o.sum.Message)
	}
	st := o.mustArtefact(t).Artefact.Validation.RunnerStatus
	if !st.PartialData || st.TimeoutSeconds == nil || *st.TimeoutSeconds != 3 || st.Outcome != "timeout" {
		t.Errorf("runner status %+v", st)
	}
	if !strings.Contains(o.sum.Next, "eng5np resume") || !o.sum.Resumable {
		t.Errorf("the next step does not give the resume command: %s", o.sum.Next)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
}

// A broker that is down at the start fails the pre-flight naming its
// address, well within 10 seconds.
func TestScenarioBrokerDown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := testkit.Config(t, config.CmdExecute, nil, "--inputs", testkit.Sample(t), "--output-dir", t.TempDir(), "--stack", "external",
		"--kafka-bootstrap", addr, "--content-service-url", "http://"+addr, "--cj-service-url", "http://"+addr)
	ep, err := runner.ExternalEndpoints(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var broker runner.CheckResult
	blocked := runner.NewPreflight(cfg, ep).RunAll(t.Context(), func(c runner.Check, r runner.CheckResult) {
		if c.ID == "broker" {
			broker = r
		}
	})
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("took %v, want under 10s", elapsed)
	}
	if !blocked || broker.Status != runner.Fail || !strings.Contains(broker.Detail+broker.Fix, addr) {
		t.Errorf("the broker check does not fail naming %s: %+v", addr, broker)
	}
}

func TestScenarioNoKafka(t *testing.T) {
	t.Parallel()
	o := execute(t, devstack.Options{}, "--no-kafka")
	if o.sum.ExitCode != 0 {
		t.Fatalf("exit %d: %s", o.sum.ExitCode, o.sum.Message)
	}
	r := o.mustArtefact(t)
	req, err := os.ReadFile(rundir.Path(r.Dir, rundir.Request))
	if err != nil || !strings.Contains(string(req), `"event_type":"huleedu.els.cj_assessment.requested.v1"`) {
		t.Errorf("request file: %v %s", err, req)
	}
	if len(r.Artefact.LLMComparisons) != 0 || r.Artefact.Validation.RunnerStatus.Outcome != "no_kafka" {
		t.Errorf("no-kafka artefact %+v", r.Artefact.Validation.RunnerStatus)
	}
}
