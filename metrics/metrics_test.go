package metrics

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"eng5np/runner"
)

func callback(status string, provider, model string, in, out int64, usd float64) runner.RecordEvent {
	return runner.RecordEvent{Topic: "t", Disposition: runner.Applied, Current: true, Comparison: &runner.ComparisonRecord{
		Succeeded: status == "succeeded", Provider: provider, Model: model, PromptTokens: in, CompletionTokens: out, CostUSD: usd}}
}

func TestCountersFollowObservationsAndResetPerCapture(t *testing.T) {
	m := NewRunner(NewRegistry())
	m.Report(runner.CaptureStartedEvent{Capture: 1})
	m.Report(callback("succeeded", "mock", "small", 100, 10, 0.25))
	m.Report(callback("failed", "mock", "small", 50, 0, 0.125))
	m.Report(runner.RecordEvent{Topic: "t", Disposition: runner.MetadataFault, FaultFields: []string{"essay_a_id", "prompt_sha256"}})
	m.Report(runner.RecordEvent{Topic: "t", Disposition: runner.Duplicate})

	for _, c := range []struct {
		got, want float64
		what      string
	}{
		{testutil.ToFloat64(m.comparisons.WithLabelValues("succeeded")), 1, "succeeded"},
		{testutil.ToFloat64(m.comparisons.WithLabelValues("failed")), 1, "failed"},
		{testutil.ToFloat64(m.tokens.WithLabelValues("mock", "small", "prompt")), 150, "prompt tokens"},
		{testutil.ToFloat64(m.tokens.WithLabelValues("mock", "small", "completion")), 10, "completion tokens"},
		{testutil.ToFloat64(m.usd.WithLabelValues("mock", "small")), 0.375, "usd"},
		{testutil.ToFloat64(m.faults.WithLabelValues("essay_a_id")), 1, "essay_a_id faults"},
		{testutil.ToFloat64(m.faults.WithLabelValues("prompt_sha256")), 1, "prompt_sha256 faults"},
		{testutil.ToFloat64(m.events.WithLabelValues("t", "duplicate")), 1, "duplicates"},
		{testutil.ToFloat64(m.events.WithLabelValues("t", "applied")), 2, "applied"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	// A resumed capture refolds the journal: the counters start again so
	// that they keep equalling the artefact.
	m.Report(runner.CaptureStartedEvent{Capture: 2})
	if n := testutil.CollectAndCount(m.comparisons); n != 0 {
		t.Errorf("%d comparison series after Started, want none", n)
	}
	m.Report(runner.PhaseEvent{Phase: runner.PhaseRegister})
	if testutil.ToFloat64(m.state.WithLabelValues("registering_anchors")) != 1 {
		t.Error("run_state does not show the phase")
	}
	m.Report(runner.PhaseEvent{Phase: runner.PhaseCapturing})
	m.Report(runner.FinishedEvent{Summary: runner.Summary{Outcome: runner.OutcomeTimeout}})
	if testutil.ToFloat64(m.state.WithLabelValues("capturing")) != 0 || testutil.ToFloat64(m.state.WithLabelValues("timeout")) != 1 {
		t.Error("run_state does not show exactly the last state")
	}
	now := time.Now()
	m.Report(runner.ProgressEvent{Progress: runner.Progress{Now: now, Deadline: now.Add(90 * time.Second), Expected: 120}})
	if got := testutil.ToFloat64(m.deadline); got != 90 {
		t.Errorf("deadline remaining %v, want 90", got)
	}
	m.Report(runner.ProgressEvent{Progress: runner.Progress{Now: now, Deadline: now.Add(-time.Second)}})
	if got := testutil.ToFloat64(m.deadline); got != 0 {
		t.Errorf("deadline remaining %v after the deadline, want 0", got)
	}
}

func TestServeNamesABusyAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = Serve(ln.Addr().String(), NewRegistry())
	if err == nil || !strings.Contains(err.Error(), ln.Addr().String()) || !strings.Contains(err.Error(), "--metrics-addr") {
		t.Fatalf("Serve on a busy address: %v", err)
	}
}

func TestServeExposesTheRegistry(t *testing.T) {
	reg := NewRegistry()
	NewRunner(reg).Report(runner.PhaseEvent{Phase: runner.PhaseCapturing})
	s, err := Serve("127.0.0.1:0", reg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := http.Get("http://" + s.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`eng5np_run_state{state="capturing"} 1`, "go_goroutines", "eng5np_comparisons_expected"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if resp, err := http.Get("http://" + s.Addr + "/nope"); err != nil || resp.StatusCode != 404 {
		t.Errorf("/nope: %v %v", resp.StatusCode, err)
	}
}

// Every metric the Grafana dashboard queries is one the runner exports, and
// every runner metric appears on the dashboard.
func TestGrafanaDashboardQueriesRunnerMetrics(t *testing.T) {
	data, err := os.ReadFile("../docs/grafana/eng5np.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("docs/grafana/eng5np.json: %v", err)
	}
	reg := prometheus.NewRegistry()
	m := NewRunner(reg)
	// Give every vector a sample so that Gather lists it.
	m.Report(callback("succeeded", "p", "m", 1, 1, 1))
	m.Report(runner.RecordEvent{Topic: "t", Disposition: runner.MetadataFault, FaultFields: []string{"essay_a_id"}})
	m.Report(runner.ArtefactWrittenEvent{Duration: time.Millisecond})
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, f := range fams {
		exported[f.GetName()] = true
	}
	name := regexp.MustCompile(`eng5np_[a-z_]+`)
	queried := map[string]bool{}
	for _, p := range dash.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, n := range name.FindAllString(tg.Expr, -1) {
				n = strings.TrimSuffix(n, "_bucket")
				queried[n] = true
				if !exported[n] {
					t.Errorf("panel %q queries %s, which the runner does not export", p.Title, n)
				}
			}
		}
	}
	for n := range exported {
		if !queried[n] {
			t.Errorf("%s is on no panel of the dashboard", n)
		}
	}
}
