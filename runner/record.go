package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"eng5np/capture"
	"eng5np/events"
	"eng5np/inputs"
	"eng5np/rundir"
)

// RunRecord is run.json: what resume and rehydrate need to know about the
// run besides the journal and the inputs snapshot. It never holds a secret.
type RunRecord struct {
	Version     int       `json:"version"`
	BatchUUID   string    `json:"batch_uuid"`
	BatchLabel  string    `json:"batch_label"`
	RunnerMode  string    `json:"runner_mode"`
	CreatedAt   time.Time `json:"created_at"`
	PublishedAt time.Time `json:"published_at,omitempty"`
	// CorrelationID is the request envelope's.
	CorrelationID     string      `json:"correlation_id"`
	Settings          Settings    `json:"settings"`
	Stack             string      `json:"stack"`
	Kafka             KafkaRecord `json:"kafka"`
	ContentServiceURL string      `json:"content_service_url"`
	CJServiceURL      string      `json:"cj_service_url"`
	MaxComparisons    int         `json:"max_comparisons"`
	// EffectiveMax is what the CJ service spends: MaxComparisons capped at
	// its limit (0 in runs recorded before the cap was known).
	EffectiveMax int `json:"effective_max_comparisons,omitempty"`
	// UserID and OrgID are who the request bills the LLM usage to.
	UserID string `json:"user_id,omitempty"`
	OrgID  string `json:"org_id,omitempty"`
	// ContextOrigin is the assignment's, as the CJ service held it when the
	// run started; NoRubricOverride records that prompt.md was not sent as
	// the judge rubric.
	ContextOrigin       string                     `json:"context_origin,omitempty"`
	NoRubricOverride    bool                       `json:"no_rubric_override,omitempty"`
	CompletionTimeout   Duration                   `json:"completion_timeout"`
	PostCompletionGrace Duration                   `json:"post_completion_grace"`
	BudgetUSD           float64                    `json:"budget_usd,omitempty"`
	LLMConfigOverrides  *events.LLMConfigOverrides `json:"llm_config_overrides,omitempty"`
	NoKafka             bool                       `json:"no_kafka,omitempty"`
	Captures            []CaptureRecord            `json:"captures"`
}

// Expected is the number of comparisons the CJ service will make.
func (r *RunRecord) Expected() int {
	if r.EffectiveMax > 0 {
		return r.EffectiveMax
	}
	return r.MaxComparisons
}

// KafkaRecord is how the run reached Kafka, without secrets.
type KafkaRecord struct {
	Bootstrap     []string `json:"bootstrap"`
	ClientID      string   `json:"client_id"`
	TopicPrefix   string   `json:"topic_prefix"`
	SASLMechanism string   `json:"sasl_mechanism,omitempty"`
	SASLUsername  string   `json:"sasl_username,omitempty"`
	TLS           bool     `json:"tls,omitempty"`
}

// CaptureRecord is one capture session (execute, then each resume).
type CaptureRecord struct {
	N         int       `json:"n"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at,omitempty"`
	Outcome   Outcome   `json:"outcome,omitempty"`
	// Message and Timeout are what the session's final runner_status says,
	// so that rehydrate reproduces it.
	Message string   `json:"message,omitempty"`
	Timeout Duration `json:"timeout,omitempty"`
	Records int64    `json:"records"`
}

// PriorElapsed is how long the captures before capture n lasted, in total
// (a capture that never recorded its end, because its process was killed,
// counts as nothing: its length is unknown).
func (r *RunRecord) PriorElapsed(n int) time.Duration {
	var d time.Duration
	for _, c := range r.Captures {
		if c.N < n && !c.EndedAt.IsZero() {
			d += c.EndedAt.Sub(c.StartedAt)
		}
	}
	return d
}

// Duration is a time.Duration written as text ("30m0s").
type Duration time.Duration

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration written as text.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// OffsetsRecord is events/offsets.json: where capture started and how far it
// has journaled, per topic and partition.
type OffsetsRecord struct {
	Start     capture.Offsets `json:"start"`
	Next      capture.Offsets `json:"next"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// RunDir is a run directory read back from disk.
type RunDir struct {
	Dir      string
	Record   RunRecord
	Snapshot inputs.Snapshot
	Offsets  OffsetsRecord
	// Anchors are the CJ service's anchors recorded before publishing (nil
	// for a run without them: --no-kafka, or recorded by an older eng5np).
	Anchors *inputs.AnchorMap
}

// lockRun takes the run directory's lock for command ("eng5np resume"): one
// process per run directory. A directory held by another process is exit 1
// naming the holder.
func lockRun(dir, command string) (*rundir.Lock, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%s is not a run directory", dir)
	}
	l, err := rundir.Acquire(dir, command)
	var le *rundir.LockedError
	if errors.As(err, &le) {
		return nil, &ExitError{Code: ExitFailure, Err: le, Next: le.Next()}
	}
	return l, err
}

// OpenRunDir reads run.json, inputs.json and events/offsets.json.
func OpenRunDir(dir string) (*RunDir, error) {
	rd := &RunDir{Dir: dir}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%s is not a run directory", dir)
	}
	if err := rundir.ReadJSON(dir, rundir.RunRecord, &rd.Record); err != nil {
		return nil, fmt.Errorf("%s: cannot read run.json (%v); is this a run directory written by execute?", dir, err)
	}
	if err := rundir.ReadJSON(dir, rundir.Inputs, &rd.Snapshot); err != nil {
		return nil, fmt.Errorf("%s: cannot read inputs.json: %v", dir, err)
	}
	if err := rd.Snapshot.Validate(); err != nil {
		return nil, err
	}
	if err := rundir.ReadJSON(dir, rundir.Offsets, &rd.Offsets); err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("%s: %v", dir, err)
	}
	a, err := readAnchorMap(dir)
	if err != nil {
		return nil, err
	}
	rd.Anchors = a
	return rd, nil
}

// readAnchorMap reads the CJ service's anchors recorded in dir (nil when
// execute has not recorded them, or the run predates them).
func readAnchorMap(dir string) (*inputs.AnchorMap, error) {
	var m inputs.AnchorMap
	switch err := rundir.ReadJSON(dir, rundir.CJAnchors, &m); {
	case os.IsNotExist(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("%s: cannot read %s: %v", dir, rundir.CJAnchors, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %v", dir, err)
	}
	return &m, nil
}
