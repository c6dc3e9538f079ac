// Package metrics exposes eng5np's Prometheus metrics: the runner's (events,
// faults, comparisons, tokens, cost, capture lag, artefact writes, run state)
// and the HTTP server behind --metrics-addr.
package metrics

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"eng5np/runner"
)

// States of a run, for eng5np_run_state: its phases, then its outcomes.
var States = func() []string {
	var s []string
	for _, p := range runner.Phases {
		s = append(s, phaseState(p))
	}
	for _, o := range runner.Outcomes {
		s = append(s, string(o))
	}
	return s
}()

// phaseState is a phase as a label value ("registering anchors" →
// "registering_anchors").
func phaseState(p runner.Phase) string { return strings.ReplaceAll(string(p), " ", "_") }

// Runner holds the runner's metrics. All are prefixed eng5np_.
type Runner struct {
	events          *prometheus.CounterVec
	faults          *prometheus.CounterVec
	comparisons     *prometheus.CounterVec
	tokens          *prometheus.CounterVec
	usd             *prometheus.CounterVec
	distinctPrompts prometheus.Gauge
	lag             prometheus.Histogram
	writes          *prometheus.CounterVec
	writeDuration   prometheus.Histogram
	state           *prometheus.GaugeVec
	deadline        prometheus.Gauge
	expected        prometheus.Gauge
	brokerErrors    prometheus.Gauge
}

// NewRunner registers the runner's metrics on reg.
func NewRunner(reg prometheus.Registerer) *Runner {
	f := func(c prometheus.Collector) prometheus.Collector { reg.MustRegister(c); return c }
	m := &Runner{
		events: f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eng5np_events_consumed_total",
			Help: "Records consumed from the run's topics, by topic and outcome (" + dispositions() + ")."},
			[]string{"topic", "outcome"})).(*prometheus.CounterVec),
		faults: f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eng5np_metadata_faults_total",
			Help: "Callbacks of this batch without required request_metadata, by field (a hard stop)."}, []string{"field"})).(*prometheus.CounterVec),
		comparisons: f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eng5np_comparisons_total",
			Help: "Comparisons captured into llm_comparisons, by status (succeeded, failed)."}, []string{"status"})).(*prometheus.CounterVec),
		tokens: f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eng5np_tokens_total",
			Help: "Tokens of the captured comparisons, by provider, model and kind (prompt, completion)."}, []string{"provider", "model", "kind"})).(*prometheus.CounterVec),
		usd: f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eng5np_cost_usd_total",
			Help: "Cost in USD of the captured comparisons as the provider reported it, by provider and model."}, []string{"provider", "model"})).(*prometheus.CounterVec),
		distinctPrompts: f(prometheus.NewGauge(prometheus.GaugeOpts{Name: "eng5np_distinct_prompt_hashes",
			Help: "Distinct prompt_sha256 values among the captured comparisons."})).(prometheus.Gauge),
		lag: f(prometheus.NewHistogram(prometheus.HistogramOpts{Name: "eng5np_capture_lag_seconds",
			Help:    "From a callback's completed_at to the moment the runner applied it.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}})).(prometheus.Histogram),
		writes: f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eng5np_artefact_writes_total",
			Help: "Artefact (and manifest) writes, by result (ok, error)."}, []string{"result"})).(*prometheus.CounterVec),
		writeDuration: f(prometheus.NewHistogram(prometheus.HistogramOpts{Name: "eng5np_artefact_write_duration_seconds",
			Help: "Time to assemble, validate and write the artefact and manifest.", Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12)})).(prometheus.Histogram),
		state: f(prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "eng5np_run_state",
			Help: "1 for the run's current state (a phase or, at the end, its outcome), 0 for the others."}, []string{"state"})).(*prometheus.GaugeVec),
		deadline: f(prometheus.NewGauge(prometheus.GaugeOpts{Name: "eng5np_deadline_remaining_seconds",
			Help: "Time left until --completion-timeout ends the capture."})).(prometheus.Gauge),
		expected: f(prometheus.NewGauge(prometheus.GaugeOpts{Name: "eng5np_comparisons_expected",
			Help: "The comparison budget of the batch (max_comparisons)."})).(prometheus.Gauge),
		brokerErrors: f(prometheus.NewGauge(prometheus.GaugeOpts{Name: "eng5np_broker_errors",
			Help: "Connection errors the capture's Kafka readers reported in this capture session (they retry)."})).(prometheus.Gauge),
	}
	for _, s := range States {
		m.state.WithLabelValues(s).Set(0)
	}
	return m
}

// Report follows a run: its phases, capture sessions, every record folded,
// artefact writes, progress and end.
func (m *Runner) Report(e runner.Event) {
	switch e := e.(type) {
	case runner.PhaseEvent:
		m.setState(phaseState(e.Phase))
	case runner.CaptureStartedEvent:
		m.started()
	case runner.RecordEvent:
		m.observe(e)
	case runner.ArtefactWrittenEvent:
		m.written(e.Duration, e.Err)
	case runner.ProgressEvent:
		m.progress(e.Progress)
	case runner.FinishedEvent:
		m.setState(string(e.Summary.Outcome))
	}
}

// started resets the per-run counters: a capture session refolds the whole
// journal, so the counters then equal what the artefact holds.
func (m *Runner) started() {
	m.events.Reset()
	m.faults.Reset()
	m.comparisons.Reset()
	m.tokens.Reset()
	m.usd.Reset()
	m.distinctPrompts.Set(0)
}

func (m *Runner) observe(e runner.RecordEvent) {
	m.events.WithLabelValues(e.Topic, string(e.Disposition)).Inc()
	switch {
	case e.Disposition == runner.MetadataFault:
		for _, f := range e.FaultFields {
			m.faults.WithLabelValues(f).Inc()
		}
	case e.Comparison != nil:
		cb := e.Comparison
		status := "failed"
		if cb.Succeeded {
			status = "succeeded"
		}
		m.comparisons.WithLabelValues(status).Inc()
		m.tokens.WithLabelValues(cb.Provider, cb.Model, "prompt").Add(float64(cb.PromptTokens))
		m.tokens.WithLabelValues(cb.Provider, cb.Model, "completion").Add(float64(cb.CompletionTokens))
		m.usd.WithLabelValues(cb.Provider, cb.Model).Add(cb.CostUSD)
		// Lag only for records read now, not for those refolded from the
		// journal of an earlier session.
		if e.Current && !cb.CompletedAt.IsZero() {
			m.lag.Observe(time.Since(cb.CompletedAt).Seconds())
		}
	}
}

func (m *Runner) written(d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.writes.WithLabelValues(result).Inc()
	m.writeDuration.Observe(d.Seconds())
}

func (m *Runner) setState(s string) {
	for _, x := range States {
		v := 0.0
		if x == s {
			v = 1
		}
		m.state.WithLabelValues(x).Set(v)
	}
}

func (m *Runner) progress(s runner.Progress) {
	m.distinctPrompts.Set(float64(s.DistinctPrompts))
	m.deadline.Set(max(0, s.Deadline.Sub(s.Now).Seconds()))
	m.expected.Set(float64(s.Expected))
	m.brokerErrors.Set(float64(s.BrokerErrors))
}

func dispositions() string {
	var out []string
	for _, d := range runner.Dispositions {
		out = append(out, string(d))
	}
	return strings.Join(out, ", ")
}

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Server serves /metrics.
type Server struct {
	Addr string
	srv  *http.Server
}

// Serve starts serving reg's metrics on addr (HOST:PORT) at /metrics.
func Serve(addr string, reg *prometheus.Registry) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics address %s: %w (choose another with --metrics-addr)", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "eng5np metrics: /metrics")
	})
	s := &Server{Addr: ln.Addr().String(), srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
	// Serve returns http.ErrServerClosed once Close shuts the server down.
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error {
	if s == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}
