package runner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"testing"
	"time"

	"eng5np/artefacts"
	"eng5np/config"
	"eng5np/devstack"
	"eng5np/fault"
	"eng5np/internal/testkit"
	"eng5np/rundir"
	"eng5np/runner"
)

// Every line of a run's log is a JSON object carrying the batch, and the
// events a log query filters on are there; --log-level debug also streams
// them to stderr, as JSON.
func TestRunLogIsJSONWithTheBatchOnEveryLine(t *testing.T) {
	t.Parallel()
	needsEmbedded(t)
	st := testkit.Stack(t, devstack.Options{Seed: 3, MockLatency: 2 * time.Millisecond, Faults: fault.Set{fault.Duplicate: 0.2, fault.Malformed: 0.1}})
	cfg := testkit.Config(t, config.CmdExecute, testkit.StackEnv, append([]string{"--inputs", testkit.Sample(t), "--output-dir", t.TempDir(), "--log-level", "debug"}, addresses(st)...)...)
	ep, err := runner.ExternalEndpoints(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	sum, err := (&runner.Execute{Config: cfg, Endpoints: ep, Stderr: &stderr}).Run(context.Background())
	if err != nil || sum.ExitCode != 0 {
		t.Fatalf("exit %d: %v %s", sum.ExitCode, err, sum.Message)
	}
	run := testkit.LoadRun(t, sum.RunDir).Artefact
	data, err := os.ReadFile(rundir.Path(sum.RunDir, rundir.Log))
	if err != nil {
		t.Fatal(err)
	}
	checkLogLines(t, rundir.Log, data, run, true)
	checkLogLines(t, "stderr", stderr.Bytes(), run, false)
}

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func checkLogLines(t *testing.T, name string, data []byte, run *artefacts.AssessmentRun, complete bool) {
	t.Helper()
	seen := map[string]int{}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	for i, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal(l, &rec); err != nil {
			t.Fatalf("%s line %d is not JSON: %v\n%s", name, i+1, err, l)
		}
		if rec["batch_uuid"] != run.Metadata.BatchUUID || !uuidRe.MatchString(rec["batch_uuid"].(string)) {
			t.Fatalf("%s line %d: batch_uuid %v, run %s", name, i+1, rec["batch_uuid"], run.Metadata.BatchUUID)
		}
		if rec["batch_label"] == nil || rec["runner_mode"] != "execute" {
			t.Fatalf("%s line %d lacks batch_label or runner_mode: %s", name, i+1, l)
		}
		ev, _ := rec["event"].(string)
		if ev == "" {
			t.Fatalf("%s line %d has no event name: %s", name, i+1, l)
		}
		seen[ev]++
		if _, ok := rec["offset"]; ok {
			for _, k := range []string{"topic", "partition"} {
				if _, ok := rec[k]; !ok {
					t.Errorf("%s line %d: an event line without %s: %s", name, i+1, k, l)
				}
			}
		}
		if ev == "comparison_applied" {
			if rec["correlation_id"] == nil || rec["request_id"] == nil {
				t.Errorf("%s line %d: comparison_applied without correlation and request ids: %s", name, i+1, l)
			}
		}
	}
	if !complete {
		return
	}
	if seen["comparison_applied"] != len(run.LLMComparisons) {
		t.Errorf("%s: %d comparison_applied lines for %d comparisons", name, seen["comparison_applied"], len(run.LLMComparisons))
	}
	for _, ev := range []string{"run_started", "request_published", "collector_started", "duplicate_skipped", "malformed_quarantined", "collector_completed", "artefact_written"} {
		if seen[ev] == 0 {
			t.Errorf("%s: no %s line (events seen: %v)", name, ev, seen)
		}
	}
}
