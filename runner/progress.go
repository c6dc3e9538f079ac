package runner

import (
	"fmt"
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
	ThisCapture       int // comparisons applied by this capture (the rest were refolded)
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
	// LastCallback is when this capture last applied a callback of the
	// batch (zero: none yet).
	LastCallback time.Time
	// PriorElapsed is how long the run's earlier captures lasted: the
	// run's elapsed time is PriorElapsed + Now − Started.
	PriorElapsed time.Duration
	// Stopped is set on the last progress of a capture: Now is when it
	// stopped, and clocks stop with it.
	Stopped bool
}

// Outstanding is how many comparisons the budget still expects.
func (p Progress) Outstanding() int { return max(0, p.Expected-p.Comparisons) }

// ElapsedAt is the run's capture time at now, across every capture.
func (p Progress) ElapsedAt(now time.Time) time.Duration { return p.PriorElapsed + now.Sub(p.Started) }

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

// RecentRate is comparisons per second over the last min(10 s, elapsed)
// of this capture: at 4 s in, the four seconds so far.
func (p Progress) RecentRate() float64 {
	window := min(10, len(p.Rate))
	if el := int(p.Now.Sub(p.Started).Seconds()); el < window {
		window = max(1, el)
	}
	recent := p.Rate[max(0, len(p.Rate)-window):]
	if len(recent) == 0 {
		return 0
	}
	var sum float64
	for _, v := range recent {
		sum += v
	}
	return sum / float64(window)
}

// WholeRate is comparisons per second over the whole capture so far
// (counting from publication for the first capture, so the wait for the
// first judgement is in it).
func (p Progress) WholeRate() float64 {
	from := p.Started
	if p.Capture <= 1 && !p.PublishedAt.IsZero() && p.PublishedAt.Before(from) {
		from = p.PublishedAt
	}
	el := p.Now.Sub(from).Seconds()
	if el <= 0 || p.ThisCapture == 0 {
		return 0
	}
	return float64(p.ThisCapture) / el
}

// ETA is the time left at the whole-capture rate, and false when there is
// no rate yet or nothing is outstanding.
func (p Progress) ETA() (time.Duration, bool) {
	r := p.WholeRate()
	if r <= 0 || p.Outstanding() == 0 {
		return 0, false
	}
	return time.Duration(float64(p.Outstanding()) / r * float64(time.Second)), true
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
	// Warnings are what the run set aside or found questionable without
	// stopping: duplicates, malformed, foreign and suspicious records,
	// failed comparisons, the budget, and validation.runner_status.warnings.
	// A completed run with warnings still exits 0.
	Warnings []string
	// Caveats are what a reader of the statistics must know (essays without
	// an ability, adaptive pairing).
	Caveats []string

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
	// Result is what the artefact concluded (nil when none was written).
	Result *Result
}

// Result is the statistics of a finished run, as its artefact has them.
type Result struct {
	// Ranking is every fitted essay, best first, with its projected grade.
	Ranking     []Ranked
	Reliability artefacts.Reliability
	// ServiceGrades are the CJ service's letter grades by essay id (nil
	// when the service sent no result); Agreement compares them with ours.
	ServiceGrades map[string]string
	Agreement     *artefacts.GradeAgreement
	// ProjectionNote says why no grades were projected ("" when they were).
	ProjectionNote string
}

// resultOf is the result in an artefact's journal-derived sections.
func resultOf(sec *hydrator.Sections) *Result {
	r := &Result{Ranking: rankingOf(sec), Reliability: sec.Reliability}
	if !sec.GradeProjectionStatus.Projected {
		r.ProjectionNote = sec.GradeProjectionStatus.SkippedReason
	}
	if sr := sec.ServiceResults; sr != nil {
		r.ServiceGrades = map[string]string{}
		for _, row := range sr.Rows {
			if row.LetterGrade != "" {
				r.ServiceGrades[row.EssayID] = row.LetterGrade
			}
		}
		r.Agreement = sr.GradeAgreement
	}
	return r
}

// Figures are the statistics a reader checks first, one phrase each:
// reliability, the order effect, essays left out, misfits, agreement with
// the CJ service's grades.
func (r *Result) Figures() []string {
	rel := r.Reliability
	var out []string
	if rel.SSR != nil {
		out = append(out, fmt.Sprintf("SSR %.2f", *rel.SSR))
	} else {
		out = append(out, "SSR undefined")
	}
	if sh := rel.SplitHalf; sh != nil {
		out = append(out, fmt.Sprintf("split-half %.2f (%.2f–%.2f over %d splits)", sh.Estimate, sh.Min, sh.Max, sh.Splits))
	}
	if oe := rel.OrderEffect; oe != nil {
		out = append(out, fmt.Sprintf("slot A advantage %+.2f ± %.2f", oe.Estimate, oe.SE))
	}
	if n := len(rel.Uncompared); n > 0 {
		out = append(out, fmt.Sprintf("%d essays uncompared", n))
	}
	if n := len(rel.Misfits); n > 0 {
		out = append(out, fmt.Sprintf("%d misfitting", n))
	}
	if a := r.Agreement; a != nil && a.Compared > 0 {
		out = append(out, fmt.Sprintf("grades = CJ service's %d/%d (±1: %d)", a.Exact, a.Compared, a.WithinOne))
	}
	if r.ProjectionNote != "" {
		out = append(out, "no grades: "+r.ProjectionNote)
	}
	return out
}

// summaryWarnings lists what a run set aside, then what the fold found
// questionable.
func summaryWarnings(sec *hydrator.Sections, st hydrator.Stats, budget float64) []string {
	var out []string
	d := st.Dispositions
	add := func(n int64, one, many string) {
		switch {
		case n == 1:
			out = append(out, one)
		case n > 1:
			out = append(out, fmt.Sprintf(many, n))
		}
	}
	add(int64(st.Failed), "1 comparison failed at the provider (llm_comparisons, status failed)", "%d comparisons failed at the provider (llm_comparisons, status failed)")
	add(d.Duplicate, "1 duplicate callback (a redelivery) was ignored", "%d duplicate callbacks (redeliveries) were ignored")
	add(d.Malformed, "1 record was quarantined as malformed (validation.runner_status.skipped)", "%d records were quarantined as malformed (validation.runner_status.skipped)")
	add(d.ForeignBatch, "1 callback of another batch was ignored", "%d callbacks of another batch were ignored")
	add(d.Suspicious, "1 record looked suspicious (kept; see the log)", "%d records looked suspicious (kept; see the log)")
	if budget > 0 && st.CostUSD > budget {
		out = append(out, fmt.Sprintf("the captured cost $%.4f is over the budget $%.4f", st.CostUSD, budget))
	}
	if sec != nil {
		out = append(out, sec.Warnings...)
	}
	return out
}
