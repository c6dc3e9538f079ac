package devstack

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"eng5np/events"
)

// stackMetrics are the dev stack's metrics. Names follow the production
// services' (llm_provider_*, cj_assessment_*) so that dashboards built for
// them work on the stack too. A nil *stackMetrics records nothing.
type stackMetrics struct {
	callbacks *prometheus.CounterVec
	queueWait prometheus.Histogram
	batches   *prometheus.CounterVec
	requested prometheus.Counter
	waves     prometheus.Counter
	faults    *prometheus.CounterVec
	http      *prometheus.CounterVec
	rejected  prometheus.Counter
}

func newStackMetrics(reg prometheus.Registerer) *stackMetrics {
	if reg == nil {
		return nil
	}
	m := &stackMetrics{
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "llm_provider_comparison_callbacks_total",
			Help: "Comparison callbacks the LLM provider published, by provider, model and status (success, error)."}, []string{"provider", "model", "status"}),
		queueWait: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "llm_provider_queue_wait_seconds",
			Help: "From a comparison request reaching the provider to its callback being published.", Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 14)}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cj_assessment_batches_total",
			Help: "CJ batches, by status (started, completed, failed)."}, []string{"status"}),
		requested: prometheus.NewCounter(prometheus.CounterOpts{Name: "cj_assessment_comparisons_requested_total",
			Help: "Comparison requests the CJ service sent to the LLM provider."}),
		waves: prometheus.NewCounter(prometheus.CounterOpts{Name: "cj_assessment_waves_total", Help: "Waves of comparisons the CJ service sent."}),
		faults: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eng5np_devstack_faults_injected_total",
			Help: "Faults the dev stack injected, by fault."}, []string{"fault"}),
	}
	m.http = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eng5np_devstack_http_requests_total",
		Help: "HTTP requests the dev stack's content and CJ services answered, by method, route and status."}, []string{"method", "route", "status"})
	m.rejected = prometheus.NewCounter(prometheus.CounterOpts{Name: "cj_assessment_requests_rejected_total",
		Help: "CJ requests dropped because they failed validation (no failed event is published for them)."})
	reg.MustRegister(m.callbacks, m.queueWait, m.batches, m.requested, m.waves, m.faults, m.http, m.rejected)
	return m
}

func (m *stackMetrics) fault(name string) {
	if m != nil {
		m.faults.WithLabelValues(name).Inc()
	}
}

func (m *stackMetrics) callbackPublished(cb *events.ComparisonResult, d time.Duration) {
	if m == nil {
		return
	}
	status := "success"
	if !cb.Succeeded() {
		status = "error"
	}
	m.callbacks.WithLabelValues(cb.Provider, cb.Model, status).Inc()
	m.queueWait.Observe(d.Seconds())
}

func (m *stackMetrics) batchStarted() {
	if m != nil {
		m.batches.WithLabelValues("started").Inc()
	}
}

func (m *stackMetrics) waveSent(pairs int) {
	if m != nil {
		m.waves.Inc()
		m.requested.Add(float64(pairs))
	}
}

func (m *stackMetrics) batchFinished(status string) {
	if m != nil {
		m.batches.WithLabelValues(status).Inc()
	}
}

func (m *stackMetrics) httpRequest(method, route string, status int) {
	if m != nil {
		m.http.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	}
}

func (m *stackMetrics) requestRejected() {
	if m != nil {
		m.rejected.Inc()
	}
}
