package runner

import (
	"time"

	"eng5np/artefacts"
	"eng5np/hydrator"
)

// Progress is the state of a capture, as the live view and the metrics see
// it: typed counts, never the fold's internals.
type Progress struct {
	BatchLabel string
	BatchUUID  string
	Broker     string
	RunDir     string
	Capture    int // 1 for execute, then one more per resume

	Started     time.Time
	Deadline    time.Time
	Now         time.Time
	PublishedAt time.Time

	Expected          int // the comparison budget
	Comparisons       int
	Succeeded         int
	FailedComparisons int
	CostUSD           float64
	Models            []ModelCost
	DistinctPrompts   int
	Topics            TopicCounts // records read, by what their topic carries
	Records           RecordCounts
	Faults            []Fault
	Completion        Completion

	// Rate is comparisons captured per second over the last seconds, oldest
	// first, for a sparkline.
	Rate []float64
	// Ranking is every essay, best first, from the latest refit.
	Ranking       []Ranked
	ProjectedUSD  float64 // the cost so far scaled to the budget
	BudgetUSD     float64 // 0: none
	LastWrite     time.Time
	Writes        int
	BrokerErrors  int64
	LastBrokerErr string
	// BrokerFailing is how many partitions cannot be read now (an error and
	// no record since): the broker is unreachable while it is above 0.
	BrokerFailing    int
	WaitingForResult bool // completed seen, waiting for the result within the grace
}

// TopicCounts counts the records read, by what their topic carries.
type TopicCounts hydrator.TopicCounts

// RecordCounts counts what folding did with the records read.
type RecordCounts hydrator.DispositionCounts

// ModelCost is one provider/model's running totals.
type ModelCost hydrator.ModelCost

// Completion is what the CJ service said at the end.
type Completion hydrator.Completion

// Ranked is one essay's place on the θ scale.
type Ranked hydrator.Ranked

// Fault is a callback that broke the metadata contract, as the artefact
// records it.
type Fault = artefacts.Fault

// RecentRate is the mean comparisons per second over the last 10 seconds of
// Rate (fewer at the start).
func (p Progress) RecentRate() float64 {
	recent := p.Rate[max(0, len(p.Rate)-10):]
	if len(recent) == 0 {
		return 0
	}
	var sum float64
	for _, v := range recent {
		sum += v
	}
	return sum / float64(len(recent))
}

func modelCosts(ms []hydrator.ModelCost) []ModelCost {
	out := make([]ModelCost, len(ms))
	for i, m := range ms {
		out[i] = ModelCost(m)
	}
	return out
}

func rankedOf(rs []hydrator.Ranked) []Ranked {
	out := make([]Ranked, len(rs))
	for i, r := range rs {
		out[i] = Ranked(r)
	}
	return out
}

// Summary is the end of a run.
type Summary struct {
	Outcome  Outcome
	ExitCode int
	// Message says what happened in one line; Next what to do now.
	Message string
	Next    string
	// Warnings are what the run found questionable without stopping
	// (validation.runner_status.warnings).
	Warnings []string

	RunDir       string
	ArtefactPath string
	ManifestPath string
	BatchUUID    string
	BatchLabel   string

	Comparisons int
	Succeeded   int
	Failed      int
	CostUSD     float64
	Models      []ModelCost
	Faults      []string // one line per metadata fault
	Elapsed     time.Duration

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
