package runner

import (
	"time"

	"eng5np/hydrator"
)

// Event is what a run reports while it works: a PhaseEvent, a ProgressEvent
// (may be coalesced or dropped under load), or a FinishedEvent (always
// delivered, last).
type Event interface{ event() }

// Reporter receives a run's events. Report must not block for long: the
// capture loop calls it.
type Reporter interface{ Report(Event) }

// fanOut reports every event to each of its non-nil reporters.
type fanOut []Reporter

func (f fanOut) Report(e Event) {
	for _, r := range f {
		if r != nil {
			r.Report(e)
		}
	}
}

// ReporterFunc adapts a function.
type ReporterFunc func(Event)

// Report calls f.
func (f ReporterFunc) Report(e Event) { f(e) }

// Phase is a step of execute or resume.
type Phase string

// The phases, in order.
const (
	PhasePreparing  Phase = "preparing"
	PhaseUploading  Phase = "uploading"
	PhaseRegister   Phase = "registering anchors"
	PhasePublishing Phase = "publishing"
	PhaseCapturing  Phase = "capturing"
	PhaseWriting    Phase = "writing artefact"
)

// Phases lists the phases in order.
var Phases = []Phase{PhasePreparing, PhaseUploading, PhaseRegister, PhasePublishing, PhaseCapturing, PhaseWriting}

// PhaseEvent marks the start of a phase.
type PhaseEvent struct {
	Phase  Phase
	Detail string
	At     time.Time
}

// ProgressEvent is a snapshot of a capture in progress.
type ProgressEvent struct{ Snapshot Snapshot }

// FinishedEvent ends a run.
type FinishedEvent struct{ Summary Summary }

func (PhaseEvent) event()    {}
func (ProgressEvent) event() {}
func (FinishedEvent) event() {}

// Snapshot is everything the live view shows.
type Snapshot struct {
	BatchLabel string
	BatchUUID  string
	Broker     string
	RunDir     string
	Capture    int // 1 for execute, then one more per resume

	Started     time.Time
	Deadline    time.Time
	Now         time.Time
	PublishedAt time.Time

	Expected int // the comparison budget
	Stats    hydrator.Stats
	// Rate is comparisons captured per second over the last seconds, oldest
	// first, for a sparkline.
	Rate []float64

	Ranking        []hydrator.Ranked
	ProjectedUSD   float64 // the cost so far scaled to the budget
	BudgetUSD      float64 // 0: none
	LastWrite      time.Time
	Writes         int
	BrokerErrors   int64
	LastBrokerErr  string
	WaitingForDone bool // completed seen, waiting for the result within the grace
}

// RecentRate is the mean comparisons per second over the last 10 seconds of
// Rate (fewer at the start).
func (s Snapshot) RecentRate() float64 {
	recent := s.Rate[max(0, len(s.Rate)-10):]
	if len(recent) == 0 {
		return 0
	}
	var sum float64
	for _, v := range recent {
		sum += v
	}
	return sum / float64(len(recent))
}

// Outcome is how a run ended.
type Outcome string

// The outcomes, with their exit codes in ExitCode.
const (
	OutcomeCompleted       Outcome = "completed"
	OutcomeNoResult        Outcome = "completed_without_result"
	OutcomeFailed          Outcome = "failed"
	OutcomeTimeout         Outcome = "timeout"
	OutcomeMetadataFault   Outcome = "metadata_fault"
	OutcomeInterrupted     Outcome = "interrupted"
	OutcomeBudgetExceeded  Outcome = "budget_exceeded"
	OutcomeNoKafka         Outcome = "no_kafka"
	OutcomePreflightFailed Outcome = "preflight_failed"
)

// Outcomes lists every outcome.
var Outcomes = []Outcome{OutcomeCompleted, OutcomeNoResult, OutcomeFailed, OutcomeTimeout, OutcomeMetadataFault,
	OutcomeInterrupted, OutcomeBudgetExceeded, OutcomeNoKafka, OutcomePreflightFailed}

// ExitCode is the process exit code of SPEC §1 for an outcome.
func (o Outcome) ExitCode() int {
	switch o {
	case OutcomeCompleted, OutcomeNoResult, OutcomeNoKafka:
		return 0
	case OutcomeMetadataFault:
		return 3
	case OutcomeTimeout:
		return 4
	case OutcomeFailed:
		return 6
	case OutcomeInterrupted:
		return 130
	}
	return 1
}

// PartialData reports whether the capture stopped before the batch ended.
func (o Outcome) PartialData() bool {
	switch o {
	case OutcomeTimeout, OutcomeInterrupted, OutcomeBudgetExceeded, OutcomeMetadataFault:
		return true
	}
	return false
}

// Summary is the end of a run.
type Summary struct {
	Outcome  Outcome
	ExitCode int
	// Message says what happened in one line; Next what to do now.
	Message string
	Next    string
	Warning string

	RunDir       string
	ArtefactPath string
	ManifestPath string
	BatchUUID    string
	BatchLabel   string

	Comparisons int
	Succeeded   int
	Failed      int
	CostUSD     float64
	Models      []hydrator.ModelCost
	Faults      []string // one line per metadata fault
	Elapsed     time.Duration
	Timeout     time.Duration

	// Verified reports the post-write verification (schema, checksum,
	// manifest); VerifyProblems lists what failed.
	Verified       bool
	VerifyProblems []string
	// SlowestModel and PriciestModel name the provider/model with the
	// highest mean response time and the highest cost.
	SlowestModel  string
	PriciestModel string
	// Resumable is true when resume can continue this capture.
	Resumable bool
}
