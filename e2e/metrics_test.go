package e2e

import (
	"bufio"
	"errors"
	"math"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"eng5np/artefacts"
	"eng5np/internal/testkit"
	"eng5np/runner"
)

// metricsRun is an execute subprocess started with --metrics-addr.
type metricsRun struct {
	cmd   *exec.Cmd
	lines chan string
	addr  string
	out   string
}

func startMetricsRun(t *testing.T, args ...string) *metricsRun {
	t.Helper()
	out := t.TempDir()
	base := []string{"execute", "--no-tui", "--inputs", testkit.Sample(t), "--output-dir", out,
		"--metrics-addr", "127.0.0.1:0", "--metrics-linger", "60s"}
	cmd, stdout := startBinary(t, nil, append(base, args...)...)
	m := &metricsRun{cmd: cmd, lines: make(chan string, 1024), out: out}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			m.lines <- sc.Text()
		}
		close(m.lines)
	}()
	m.addr = m.waitLine(t, "metrics: http://")
	m.addr = strings.TrimSuffix(strings.TrimPrefix(m.addr, "metrics: http://"), "/metrics")
	return m
}

// waitLine returns the first stdout line starting with prefix.
func (m *metricsRun) waitLine(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-m.lines:
			if !ok {
				t.Fatalf("execute exited before printing %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-deadline:
			t.Fatalf("no %q line within 60s", prefix)
		}
	}
}

// finish cuts the linger short with SIGINT and returns the exit code.
func (m *metricsRun) finish(t *testing.T) int {
	t.Helper()
	_ = m.cmd.Process.Signal(syscall.SIGINT)
	go func() {
		for range m.lines {
		}
	}()
	done := make(chan error, 1)
	go func() { done <- m.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(15 * time.Second):
		t.Fatal("execute still lingering 15s after SIGINT")
		return -1
	}
}

func (m *metricsRun) artefact(t *testing.T) (string, *artefacts.AssessmentRun) {
	t.Helper()
	r := testkit.LoadRun(t, testkit.OnlyRunDir(t, m.out))
	return r.Dir, r.Artefact
}

// The metrics of an execute run, scraped while it captures and once it has
// finished, equal what its artefact holds.
func TestMetricsMatchTheArtefact(t *testing.T) {
	m := startMetricsRun(t, "--seed", "5", "--mock-latency", "40ms",
		"--fault", "provider_error=0.1", "--fault", "duplicate=0.2", "--fault", "malformed=0.1", "--fault", "foreign_batch=0.1")

	// During the run: the state is capturing and comparisons arrive.
	deadline := time.Now().Add(60 * time.Second)
	var during map[string]*dto.MetricFamily
	for {
		during = scrape(t, m.addr)
		if value(during, "eng5np_run_state", map[string]string{"state": "capturing"}) == 1 &&
			value(during, "eng5np_comparisons_total", nil) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never saw the run capturing comparisons on /metrics")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := value(during, "eng5np_comparisons_expected", nil); got != 120 {
		t.Errorf("comparisons_expected %v during the run, want 120", got)
	}
	if got := value(during, "eng5np_deadline_remaining_seconds", nil); got <= 0 || got > 1800 {
		t.Errorf("deadline_remaining_seconds %v during the run", got)
	}
	if value(during, "llm_provider_comparison_callbacks_total", nil) == 0 {
		t.Error("the embedded stack's metrics are not served beside the runner's")
	}

	// At the end: the linger keeps /metrics up with the final values.
	m.waitLine(t, "metrics: serving the final values")
	end := scrape(t, m.addr)
	if code := m.finish(t); code != 0 {
		t.Fatalf("exit %d after the linger, want the run's 0", code)
	}
	_, run := m.artefact(t)

	if value(end, "eng5np_run_state", map[string]string{"state": "completed"}) != 1 ||
		value(end, "eng5np_run_state", map[string]string{"state": "capturing"}) != 0 {
		t.Error("run_state does not show completed alone")
	}
	status := map[string]float64{}
	prompts := map[string]bool{}
	for _, c := range run.LLMComparisons {
		status[c.Status]++
		prompts[c.PromptHash] = true
	}
	if status["failed"] == 0 {
		t.Fatal("the run has no failed comparison to count")
	}
	for _, s := range []string{"succeeded", "failed"} {
		if got := value(end, "eng5np_comparisons_total", map[string]string{"status": s}); got != status[s] {
			t.Errorf("comparisons_total{status=%q} = %v, artefact has %v", s, got, status[s])
		}
	}
	if got := value(end, "eng5np_distinct_prompt_hashes", nil); got != float64(len(prompts)) {
		t.Errorf("distinct_prompt_hashes %v, artefact has %d", got, len(prompts))
	}
	var usd float64
	for _, tc := range run.Costs.TokenCounts {
		l := map[string]string{"provider": tc.Provider, "model": tc.Model}
		got := value(end, "eng5np_cost_usd_total", l)
		usd += got
		if math.Abs(got-tc.USD) > 5e-7 {
			t.Errorf("cost_usd_total %v for %s/%s, artefact %v", got, tc.Provider, tc.Model, tc.USD)
		}
		l["kind"] = "prompt"
		if got := value(end, "eng5np_tokens_total", l); got != float64(tc.PromptTokens) {
			t.Errorf("prompt tokens %v for %s/%s, artefact %d", got, tc.Provider, tc.Model, tc.PromptTokens)
		}
		l["kind"] = "completion"
		if got := value(end, "eng5np_tokens_total", l); got != float64(tc.CompletionTokens) {
			t.Errorf("completion tokens %v for %s/%s, artefact %d", got, tc.Provider, tc.Model, tc.CompletionTokens)
		}
	}
	if math.Abs(usd-run.Costs.TotalUSD) > 5e-7 || run.Costs.TotalUSD == 0 {
		t.Errorf("cost_usd_total sums to %v, artefact total %v", usd, run.Costs.TotalUSD)
	}
	skipped := run.Validation.RunnerStatus.Skipped
	for _, o := range []string{"duplicate", "malformed", "foreign_batch"} {
		got := value(end, "eng5np_events_consumed_total", map[string]string{"outcome": o})
		if got != float64(skipped[o]) || got == 0 {
			t.Errorf("events_consumed_total{outcome=%q} = %v, artefact skipped %d", o, got, skipped[o])
		}
	}
	applied := value(end, "eng5np_events_consumed_total", map[string]string{"outcome": "applied", "topic": "huleedu.llm_provider.comparison_result.v1"})
	if applied != float64(len(run.LLMComparisons)) {
		t.Errorf("%v callbacks applied, artefact has %d comparisons", applied, len(run.LLMComparisons))
	}
	if value(end, "eng5np_metadata_faults_total", nil) != 0 {
		t.Error("metadata faults counted in a run without any")
	}
	if value(end, "eng5np_artefact_writes_total", map[string]string{"result": "ok"}) < 1 ||
		value(end, "eng5np_artefact_write_duration_seconds", nil) < 1 {
		t.Error("no artefact write counted")
	}
	if n := value(end, "eng5np_capture_lag_seconds", nil); n != float64(len(run.LLMComparisons)) {
		t.Errorf("capture lag observed %v times for %d comparisons", n, len(run.LLMComparisons))
	}
}

// A metadata fault is counted by field, as the artefact records it.
func TestMetricsCountMetadataFaults(t *testing.T) {
	m := startMetricsRun(t, "--seed", "2", "--mock-latency", "2ms", "--fault", "drop_essay_b_id=0.3")
	m.waitLine(t, "metrics: serving the final values")
	end := scrape(t, m.addr)
	if code := m.finish(t); code != runner.ExitFault {
		t.Fatalf("exit %d, want %d", code, runner.ExitFault)
	}
	_, run := m.artefact(t)
	byField := map[string]float64{}
	for _, f := range run.Validation.ManifestStatus.Faults {
		for _, field := range f.Fields {
			byField[field]++
		}
	}
	if byField["essay_b_id"] == 0 {
		t.Fatalf("the artefact records no essay_b_id fault: %+v", run.Validation.ManifestStatus.Faults)
	}
	for field, n := range byField {
		if got := value(end, "eng5np_metadata_faults_total", map[string]string{"field": field}); got != n {
			t.Errorf("metadata_faults_total{field=%q} = %v, artefact %v", field, got, n)
		}
	}
	if value(end, "eng5np_run_state", map[string]string{"state": string(runner.OutcomeMetadataFault)}) != 1 {
		t.Error("run_state does not show metadata_fault")
	}
}
