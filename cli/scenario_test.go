package cli

// The execute scenario suite: one domain-level scenario per behaviour, run
// through the real command against the embedded stack over TCP. With
// SCENARIO_KAFKA_BOOTSTRAP, SCENARIO_CONTENT_URL and SCENARIO_CJ_URL set, the
// scenarios that need no fault injection run against that external stack
// instead (start one with `eng5np stack up`).

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"eng5np/artefacts"
	"eng5np/runner"
	"eng5np/schemas"
)

type scenario struct {
	code           int
	stdout, stderr string
	dir            string
	run            *artefacts.AssessmentRun
	raw            []byte
}

func external() []string {
	b, c, j := os.Getenv("SCENARIO_KAFKA_BOOTSTRAP"), os.Getenv("SCENARIO_CONTENT_URL"), os.Getenv("SCENARIO_CJ_URL")
	if b == "" {
		return nil
	}
	return []string{"--stack", "external", "--kafka-bootstrap", b, "--content-service-url", c, "--cj-service-url", j}
}

// needsEmbedded skips a scenario that injects faults when the suite points at
// an external stack.
func needsEmbedded(t *testing.T) {
	if external() != nil {
		t.Skip("fault injection needs the embedded stack")
	}
}

func execute(t *testing.T, args ...string) *scenario {
	t.Helper()
	out := t.TempDir()
	base := []string{"execute", "--no-tui", "--inputs", sample, "--output-dir", out, "--mock-latency", "2ms"}
	base = append(base, external()...)
	code, stdout, stderr := run(t, append(base, args...)...)
	s := &scenario{code: code, stdout: stdout, stderr: stderr}
	entries, _ := os.ReadDir(out)
	if len(entries) == 1 {
		s.dir = filepath.Join(out, entries[0].Name())
		if data, err := os.ReadFile(filepath.Join(s.dir, "assessment_run.execute.json")); err == nil {
			s.raw = data
			s.run = &artefacts.AssessmentRun{}
			if err := json.Unmarshal(data, s.run); err != nil {
				t.Fatalf("artefact does not decode: %v", err)
			}
		}
	}
	return s
}

func (s *scenario) mustArtefact(t *testing.T) {
	t.Helper()
	if s.run == nil {
		t.Fatalf("no artefact written (exit %d)\nstdout:\n%s\nstderr:\n%s", s.code, s.stdout, s.stderr)
	}
}

// comparisonSet is the set of (essay_a_id, essay_b_id, winner_id, status)
// on which "nothing lost, nothing doubled" is judged.
func (s *scenario) comparisonSet() []string {
	var out []string
	for _, c := range s.run.LLMComparisons {
		out = append(out, strings.Join([]string{c.EssayAID, c.EssayBID, c.WinnerID, c.Status}, "|"))
	}
	sort.Strings(out)
	return out
}

// checkArtefact asserts what every written artefact must hold.
func checkArtefact(t *testing.T, s *scenario) {
	t.Helper()
	s.mustArtefact(t)
	if err := schemas.ValidateAssessmentRun(s.raw); err != nil {
		t.Errorf("artefact invalid against our schema: %v", err)
	}
	if ref := referenceSchema(t); ref != nil {
		if err := schemas.Validate(ref, s.raw); err != nil {
			t.Errorf("artefact invalid against the reference schema: %v", err)
		}
	}
	rep, err := artefacts.Verify(s.dir)
	if err != nil || !rep.OK() {
		t.Errorf("verify: %v %+v", err, rep)
	}
	// Costs add up: total = round6(Σ cost_usd), each model's usd likewise.
	var total float64
	perModel := map[string]float64{}
	for _, c := range s.run.LLMComparisons {
		total += c.CostUSD
		perModel[c.Provider+"/"+c.Model] += c.CostUSD
		if c.EssayAID == "" || c.EssayBID == "" || len(c.PromptHash) != 64 {
			t.Errorf("comparison %d lacks its metadata: %+v", c.Sequence, c)
		}
	}
	if got := s.run.Costs.TotalUSD; got != math.Round(total*1e6)/1e6 {
		t.Errorf("costs.total_usd %v, sum of cost_usd %v", got, total)
	}
	for _, tc := range s.run.Costs.TokenCounts {
		if want := math.Round(perModel[tc.Provider+"/"+tc.Model]*1e6) / 1e6; tc.USD != want {
			t.Errorf("%s/%s usd %v, want %v", tc.Provider, tc.Model, tc.USD, want)
		}
	}
	for i, c := range s.run.LLMComparisons {
		if c.Sequence != i+1 {
			t.Errorf("sequence %d at position %d", c.Sequence, i+1)
		}
	}
	// Every essay has a finite theta and SE; ids map to inputs.
	ids := map[string]bool{}
	for _, a := range s.run.Inputs.Anchors {
		ids[a.AnchorID] = true
	}
	for _, st := range s.run.Inputs.Students {
		ids[st.EssayID] = true
	}
	if len(s.run.BTSummary) != len(ids) {
		t.Errorf("bt_summary has %d entries for %d essays", len(s.run.BTSummary), len(ids))
	}
	for _, e := range s.run.BTSummary {
		if !ids[e.EssayID] || math.IsNaN(e.Theta) || math.IsInf(e.Theta, 0) || e.StandardError <= 0 || math.IsInf(e.StandardError, 0) {
			t.Errorf("bt entry %+v", e)
		}
	}
	for _, g := range s.run.GradeProjections {
		var sum float64
		for _, p := range g.Probabilities {
			sum += p
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Errorf("%s: probabilities sum to %v", g.EssayID, sum)
		}
	}
}

func referenceSchemaBytes() []byte {
	data, err := os.ReadFile("../../shared/reference/assessment_run.schema.json")
	if err != nil {
		return nil
	}
	var doc map[string]any
	if json.Unmarshal(data, &doc) != nil {
		return nil
	}
	cli := doc["definitions"].(map[string]any)["validation"].(map[string]any)["properties"].(map[string]any)["cli_environment"].(map[string]any)
	delete(cli, "required") // this runner describes itself there (schemas/reference/README.md)
	out, _ := json.Marshal(doc)
	return out
}

func referenceSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	b := referenceSchemaBytes()
	if b == nil {
		return nil
	}
	s, err := schemas.Compile(b, "reference.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestScenarioHappyPath(t *testing.T) {
	s := execute(t, "--seed", "11")
	if s.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", s.code, s.stdout, s.stderr)
	}
	checkArtefact(t, s)
	if n := len(s.run.LLMComparisons); n != 120 {
		t.Errorf("%d comparisons, want the budget of 120", n)
	}
	st := s.run.Validation.RunnerStatus
	if st.Outcome != "completed" || st.PartialData || *st.ExitCode != 0 || s.run.Validation.ServiceComparison == nil {
		t.Errorf("runner status %+v", st)
	}
	for _, e := range s.run.BTSummary {
		if e.ComparisonCount > 0 && e.StandardError <= 0 {
			t.Errorf("%s compared but SE %v", e.EssayID, e.StandardError)
		}
	}
	for _, want := range []string{"Summary: completed (exit 0)", "120 comparisons", "verify: OK", "check pass broker reachable"} {
		if !strings.Contains(s.stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, f := range []string{"inputs.json", "run.json", "requests/cj_assessment_request.json", "events/journal.jsonl", "events/offsets.json", "content_upload_cache.json", "manifest.json", "logs/eng5np.log"} {
		if _, err := os.Stat(filepath.Join(s.dir, f)); err != nil {
			t.Errorf("%s missing", f)
		}
	}
}

func TestScenarioMetadataFaults(t *testing.T) {
	needsEmbedded(t)
	for _, field := range []string{"essay_a_id", "essay_b_id", "prompt_sha256"} {
		t.Run(field, func(t *testing.T) {
			s := execute(t, "--seed", "2", "--fault", "drop_"+field+"=0.3")
			if s.code != runner.ExitFault {
				t.Fatalf("exit %d, want 3\n%s\n%s", s.code, s.stdout, s.stderr)
			}
			checkArtefact(t, s)
			faults := s.run.Validation.ManifestStatus.Faults
			if len(faults) != 1 || s.run.Validation.ManifestStatus.Complete {
				t.Fatalf("faults %+v", faults)
			}
			f := faults[0]
			if !reflectContains(f.Fields, field) || f.CorrelationID == "" || f.Topic != "huleedu.llm_provider.comparison_result.v1" {
				t.Errorf("fault %+v", f)
			}
			for _, c := range s.run.LLMComparisons {
				if c.CorrelationID == f.CorrelationID {
					t.Error("the faulty callback is in llm_comparisons")
				}
			}
			msg := s.stderr
			for _, want := range []string{field, f.CorrelationID, fmt.Sprintf("offset %d", f.Offset), "partition"} {
				if !strings.Contains(msg, want) {
					t.Errorf("the exit message does not name %q:\n%s", want, msg)
				}
			}
			if st := s.run.Validation.RunnerStatus; st.Outcome != "metadata_fault" || !st.PartialData || *st.ExitCode != 3 {
				t.Errorf("runner status %+v", st)
			}
		})
	}
}

func reflectContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Duplicates, foreign-batch callbacks and malformed messages change nothing:
// the same seed gives exactly the clean run's comparisons.
func TestScenarioNoiseChangesNothing(t *testing.T) {
	needsEmbedded(t)
	clean := execute(t, "--seed", "4")
	noisy := execute(t, "--seed", "4", "--fault", "duplicate=0.3", "--fault", "foreign_batch=0.3", "--fault", "malformed=0.3")
	if clean.code != 0 || noisy.code != 0 {
		t.Fatalf("exits %d and %d\n%s", clean.code, noisy.code, noisy.stderr)
	}
	checkArtefact(t, noisy)
	if !reflect.DeepEqual(clean.comparisonSet(), noisy.comparisonSet()) {
		t.Error("the noisy run's comparisons differ from the clean run's")
	}
	sk := noisy.run.Validation.RunnerStatus.Skipped
	if sk["duplicate"] == 0 || sk["foreign_batch"] == 0 || sk["malformed"] == 0 {
		t.Errorf("noise not counted: %v", sk)
	}
}

func TestScenarioProviderErrors(t *testing.T) {
	needsEmbedded(t)
	s := execute(t, "--seed", "6", "--fault", "provider_error=0.1")
	if s.code != 0 {
		t.Fatalf("exit %d\n%s", s.code, s.stderr)
	}
	checkArtefact(t, s)
	var failed int
	for _, c := range s.run.LLMComparisons {
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
	needsEmbedded(t)
	s := execute(t, "--seed", "6", "--fault", "fail_batch=1")
	if s.code != runner.ExitBatchFailed {
		t.Fatalf("exit %d, want 6\n%s", s.code, s.stderr)
	}
	checkArtefact(t, s)
	if !strings.Contains(s.stderr, "the CJ service reported the batch failed") || s.run.Validation.RunnerStatus.FailureReason == "" {
		t.Errorf("stderr %q status %+v", s.stderr, s.run.Validation.RunnerStatus)
	}
}

func TestScenarioDroppedCompletionTimesOut(t *testing.T) {
	needsEmbedded(t)
	start := time.Now()
	s := execute(t, "--seed", "6", "--fault", "drop_completion=1", "--completion-timeout", "3s")
	if s.code != runner.ExitTimeout {
		t.Fatalf("exit %d, want 4\n%s", s.code, s.stderr)
	}
	checkArtefact(t, s)
	st := s.run.Validation.RunnerStatus
	if !st.PartialData || st.TimeoutSeconds == nil || *st.TimeoutSeconds != 3 || st.Outcome != "timeout" {
		t.Errorf("runner status %+v", st)
	}
	if !strings.Contains(s.stderr, "eng5np resume") {
		t.Errorf("the message does not give the resume command: %s", s.stderr)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
}

// A broker that is down at the start fails pre-flight naming its address,
// with exit 1, well within 10 seconds.
func TestScenarioBrokerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	start := time.Now()
	code, stdout, stderr := run(t, "execute", "--no-tui", "--inputs", sample, "--output-dir", t.TempDir(), "--stack", "external",
		"--kafka-bootstrap", addr, "--content-service-url", "http://"+addr, "--cj-service-url", "http://"+addr)
	elapsed := time.Since(start)
	if code != runner.ExitFailure {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "check fail broker reachable") || !strings.Contains(stdout, addr) {
		t.Errorf("the broker check does not name %s:\n%s", addr, stdout)
	}
	if elapsed > 10*time.Second {
		t.Errorf("took %v, want under 10s", elapsed)
	}
	code, stdout, _ = run(t, "doctor", "--inputs", sample, "--output-dir", t.TempDir(), "--stack", "external",
		"--kafka-bootstrap", addr, "--content-service-url", "http://"+addr, "--cj-service-url", "http://"+addr)
	if code != runner.ExitFailure || !strings.Contains(stdout, addr) {
		t.Errorf("doctor: exit %d\n%s", code, stdout)
	}
}

func TestScenarioNoKafka(t *testing.T) {
	s := execute(t, "--no-kafka")
	if s.code != 0 {
		t.Fatalf("exit %d\n%s", s.code, s.stderr)
	}
	checkArtefact(t, s)
	req, err := os.ReadFile(filepath.Join(s.dir, "requests", "cj_assessment_request.json"))
	if err != nil || !strings.Contains(string(req), `"event_type":"huleedu.els.cj_assessment.requested.v1"`) {
		t.Errorf("request file: %v %s", err, req)
	}
	if len(s.run.LLMComparisons) != 0 || s.run.Validation.RunnerStatus.Outcome != "no_kafka" {
		t.Errorf("no-kafka artefact %+v", s.run.Validation.RunnerStatus)
	}
}

func TestDoctorPasses(t *testing.T) {
	code, stdout, stderr := run(t, "doctor", "--inputs", sample, "--output-dir", t.TempDir())
	if code != 0 || strings.Count(stdout, "check pass") < 11 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}
