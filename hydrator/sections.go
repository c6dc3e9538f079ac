package hydrator

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"eng5np/artefacts"
	"eng5np/events"
	"eng5np/journal"
	"eng5np/scoring"
)

// TopicCounts counts the records read, by what their topic carries.
type TopicCounts struct {
	Callbacks int64 // comparison results
	Completed int64
	Results   int64
	Failed    int64
	Other     int64 // a request, or a topic of no known kind
}

// DispositionCounts counts what folding did with the records.
type DispositionCounts struct {
	Applied       int64
	Duplicate     int64
	ForeignBatch  int64
	Malformed     int64
	MetadataFault int64
	AfterFault    int64
	Suspicious    int64
}

// Stats is a cheap summary of the fold for progress displays and metrics.
type Stats struct {
	Comparisons     int
	Succeeded       int
	Failed          int
	CostUSD         float64
	Models          []ModelCost
	DistinctPrompts int
	Topics          TopicCounts
	Dispositions    DispositionCounts
	Faults          []artefacts.Fault
	Completion      Completion
}

// Stats summarizes the fold so far without touching the journal.
func (h *Hydrator) Stats() Stats {
	return Stats{
		Comparisons: h.entries.len(), Succeeded: h.succeeded, Failed: h.failed, CostUSD: round6(h.costTotal),
		Models: append([]ModelCost(nil), h.models...), DistinctPrompts: len(h.prompts),
		Topics: TopicCounts{Callbacks: h.observed[events.KindCallback.String()], Completed: h.observed[events.KindCompleted.String()],
			Results: h.observed[events.KindResult.String()], Failed: h.observed[events.KindFailed.String()],
			Other: h.observed[events.KindRequest.String()] + h.observed[events.KindUnknown.String()]},
		Dispositions: DispositionCounts{Applied: h.outcomes[Applied], Duplicate: h.outcomes[Duplicate], ForeignBatch: h.outcomes[ForeignBatch],
			Malformed: h.outcomes[Malformed], MetadataFault: h.outcomes[MetadataFault], AfterFault: h.outcomes[AfterFault],
			Suspicious: h.outcomes[Suspicious]},
		Faults: h.artefactFaults(), Completion: h.completion,
	}
}

func (h *Hydrator) artefactFaults() []artefacts.Fault {
	out := make([]artefacts.Fault, 0, len(h.faults))
	for _, f := range h.faults {
		out = append(out, artefacts.Fault{Kind: f.kind, Fields: f.fields, CorrelationID: f.correlationID, RequestID: f.requestID,
			Topic: f.topic, Partition: f.partition, Offset: f.offset, Detail: f.detail})
	}
	return out
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// comparisons are the succeeded comparisons, oriented (the winner's slot)
// and with their judge (provider/model).
func (h *Hydrator) comparisons() []scoring.Comparison {
	cs := make([]scoring.Comparison, 0, h.succeeded)
	h.entries.each(func(e entry) {
		m := h.models[e.pm]
		judge := m.Provider + "/" + m.Model
		switch e.win {
		case 1:
			cs = append(cs, scoring.Comparison{Winner: h.essays[e.a].id, Loser: h.essays[e.b].id, Slot: scoring.SlotA, Judge: judge})
		case 0:
			cs = append(cs, scoring.Comparison{Winner: h.essays[e.b].id, Loser: h.essays[e.a].id, Slot: scoring.SlotB, Judge: judge})
		}
	})
	return cs
}

// fitOptions are the batch's fit: the default estimator with the order
// effect, every essay listed, the anchors' component focused.
func (h *Hydrator) fitOptions() scoring.Options {
	opts := scoring.DefaultOptions()
	opts.Items = make([]string, len(h.essays))
	for i, e := range h.essays {
		opts.Items[i] = e.id
		if e.isAnchor {
			opts.Focus = append(opts.Focus, e.id)
		}
	}
	return opts
}

// Fit refits Bradley–Terry to the succeeded comparisons (docs/STATISTICS.md):
// the essays of the anchors' connected component get abilities; essays never
// compared, or not linked to the anchors, are listed as excluded. With no
// comparison yet it returns scoring.ErrNoComparisons.
func (h *Hydrator) Fit() (*scoring.Result, error) {
	return scoring.Fit(h.comparisons(), h.fitOptions())
}

// seed is the batch's seed for every random step of the statistics
// (split halves, the projection's bootstrap): the same journal always folds
// to the same bytes.
func (h *Hydrator) seed() uint64 { return scoring.Seed(h.cfg.BatchUUID) }

// Ranked is one essay's place on the theta scale, for live displays.
type Ranked struct {
	ID       string
	Theta    float64
	SE       float64
	IsAnchor bool
	Grade    string // anchors: the registered grade
	Compared int
	Wins     int
	// Projected is the most probable grade and Probability its
	// probability, from a refit with standard errors ("" without one).
	Projected   string
	Probability float64
}

// liveDraws is the projection's bootstrap size for a live ranking: enough
// for the most probable grade, a fraction of the artefact's cost.
const liveDraws = 100

// Ranking refits and returns every fitted essay, best first. Without
// withSE it refits the abilities only (SE 0), cheap enough for a live
// display of a large batch.
func (h *Hydrator) Ranking(withSE bool) ([]Ranked, error) {
	return h.RankingJob(withSE)()
}

// RankingJob copies what the ranking needs from the fold now and returns
// the refit, which may run on any goroutine while the fold goes on: a
// large batch's refit takes a while, and capture must not wait for it.
func (h *Hydrator) RankingJob(withSE bool) func() ([]Ranked, error) {
	cs := h.comparisons()
	opts := h.fitOptions()
	opts.SkipSE = !withSE
	type about struct {
		isAnchor bool
		grade    string
	}
	essays := make(map[string]about, len(h.essays))
	anchors := map[string]string{}
	for _, e := range h.essays {
		essays[e.id] = about{e.isAnchor, e.grade}
		if e.isAnchor {
			anchors[e.id] = e.grade
		}
	}
	scale, scaleErr := scoring.LookupScale(h.cfg.Snapshot.GradeScale)
	seed := h.seed()
	return func() ([]Ranked, error) {
		res, err := scoring.Fit(cs, opts)
		if err != nil {
			return nil, err
		}
		proj := map[string]scoring.Projection{}
		if withSE && scaleErr == nil {
			items, cov := res.ForProjection()
			if pr, err := scoring.ProjectGrades(scale, items, anchors, scoring.ProjectOptions{Cov: cov, Seed: seed, Draws: liveDraws}); err == nil {
				for _, p := range pr.Projections {
					proj[p.EssayID] = p
				}
			}
		}
		out := make([]Ranked, 0, len(res.Items))
		for _, it := range res.Items {
			e := essays[it.ID]
			r := Ranked{ID: it.ID, Theta: it.Theta, SE: it.SE, IsAnchor: e.isAnchor, Grade: e.grade, Compared: it.Comparisons, Wins: it.Wins}
			if p, ok := proj[it.ID]; ok {
				r.Projected, r.Probability = p.Grade, p.Probabilities[p.Grade]
			}
			out = append(out, r)
		}
		sortRanked(out)
		return out, nil
	}
}

func sortRanked(r []Ranked) {
	sort.SliceStable(r, func(i, j int) bool {
		if r[i].Theta != r[j].Theta {
			return r[i].Theta > r[j].Theta
		}
		return r[i].ID < r[j].ID
	})
}

func (h *Hydrator) indexOfID(id string) int { return int(h.byID[id]) }

// Source streams journal records in order to fn (journal.Scan over the run's
// journal, or a slice in tests).
type Source func(fn func(journal.Record) error) error

// SliceSource streams records held in memory.
func SliceSource(recs []journal.Record) Source {
	return func(fn func(journal.Record) error) error {
		for _, r := range recs {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
}

// FileSource streams the journal at path, read with opts (the options the
// fold read it with, so that the same records come back).
func FileSource(path string, opts journal.Options) Source {
	return func(fn func(journal.Record) error) error {
		_, err := journal.ScanWith(path, opts, fn)
		return err
	}
}

// Sections is everything in the artefact that comes from the journal.
type Sections struct {
	LLMComparisons        []artefacts.Comparison
	BTSummary             []artefacts.BTEntry
	GradeProjections      []artefacts.GradeProjection
	Costs                 artefacts.Costs
	ObservedEvents        map[string]int64
	Skipped               map[string]int64
	ManifestStatus        artefacts.ManifestStatus
	Reliability           artefacts.Reliability
	ServiceComparison     *artefacts.ServiceComparison
	ServiceResults        *artefacts.ServiceResults
	GradeProjectionStatus artefacts.GradeProjectionStatus
	Warnings              []string
}

var errAllFound = errors.New("all comparisons materialized")

// Sections builds the artefact's journal-derived sections. src must stream
// the same journal the fold consumed; the accepted callbacks are read back
// from it to materialize llm_comparisons.
func (h *Hydrator) Sections(src Source) (*Sections, error) {
	s := &Sections{ObservedEvents: map[string]int64{}, Skipped: map[string]int64{}}
	var err error
	if s.LLMComparisons, err = h.materialize(src); err != nil {
		return nil, err
	}
	for k, v := range h.observed {
		s.ObservedEvents[k] = v
	}
	for o, v := range h.outcomes {
		if o != Applied {
			s.Skipped[o.String()] = v
		}
	}
	s.ObservedEvents["applied"] = h.outcomes[Applied]
	s.Costs = h.costs()
	s.ManifestStatus = artefacts.ManifestStatus{Complete: len(h.faults) == 0, Faults: h.artefactFaults()}

	fit, err := h.Fit()
	switch {
	case errors.Is(err, scoring.ErrNoComparisons):
		// Nothing to fit yet: no ability, no projection.
		s.BTSummary, s.GradeProjections = []artefacts.BTEntry{}, []artefacts.GradeProjection{}
		s.GradeProjectionStatus = artefacts.GradeProjectionStatus{SkippedReason: "no succeeded comparison yet"}
		s.Reliability = h.reliability(nil)
	case err != nil:
		return nil, fmt.Errorf("refit: %w", err)
	default:
		s.BTSummary, s.GradeProjections, s.GradeProjectionStatus, err = h.summary(fit)
		if err != nil {
			return nil, err
		}
		s.Reliability = h.reliability(fit)
		s.ServiceComparison = h.serviceComparison(fit)
	}
	projected := map[string]string{}
	for _, g := range s.GradeProjections {
		projected[g.EssayID] = g.Grade
	}
	s.ServiceResults = h.serviceResults(projected)
	s.Warnings = h.Warnings()
	return s, nil
}

func (h *Hydrator) costs() artefacts.Costs {
	c := artefacts.Costs{TotalUSD: round6(h.costTotal), TokenCounts: []artefacts.CostBreakdown{}}
	for _, m := range h.models {
		c.TokenCounts = append(c.TokenCounts, artefacts.CostBreakdown{Provider: m.Provider, Model: m.Model,
			PromptTokens: int(m.PromptTokens), CompletionTokens: int(m.CompletionTokens), USD: round6(m.USD), Comparisons: m.Comparisons})
	}
	sort.Slice(c.TokenCounts, func(i, j int) bool {
		a, b := c.TokenCounts[i], c.TokenCounts[j]
		if a.Provider != b.Provider {
			return a.Provider < b.Provider
		}
		return a.Model < b.Model
	})
	return c
}

// materialize decodes every accepted callback again, in journal order.
func (h *Hydrator) materialize(src Source) ([]artefacts.Comparison, error) {
	total := h.entries.len()
	out := make([]artefacts.Comparison, 0, total)
	if total == 0 {
		return out, nil
	}
	next := 0
	err := src(func(rec journal.Record) error {
		e := h.entries.at(next)
		if rec.Seq != e.seq {
			return nil
		}
		ev, err := h.cfg.Topics.Decode(rec.Topic, rec.Bytes())
		if err != nil || ev.Callback == nil {
			return fmt.Errorf("journal record %d no longer decodes as the callback it was: %v", rec.Seq, err)
		}
		out = append(out, h.comparison(len(out)+1, e, rec, ev))
		next++
		if next == total {
			return errAllFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, errAllFound) {
		return nil, err
	}
	if next != total {
		return nil, fmt.Errorf("the journal holds %d of the %d accepted comparisons: it was changed since it was folded", next, total)
	}
	return out, nil
}

func (h *Hydrator) comparison(seq int, e entry, rec journal.Record, ev *events.Event) artefacts.Comparison {
	cb := ev.Callback
	a, b := h.essays[e.a].id, h.essays[e.b].id
	c := artefacts.Comparison{
		Sequence: seq, RequestID: cb.RequestID, CorrelationID: cb.CorrelationID, EssayAID: a, EssayBID: b,
		PromptHash: cb.PromptHash(), Provider: cb.Provider, Model: cb.Model,
		TokensPrompt: cb.TokenUsage.PromptTokens, TokensCompletion: cb.TokenUsage.CompletionTokens, CostUSD: cb.CostEstimate,
		StartedAt: stamp(cb.RequestedAt, ev, rec), CompletedAt: stamp(cb.CompletedAt, ev, rec),
		Confidence: cb.Confidence, Justification: cb.Justification,
		Source: &artefacts.RecordSource{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset},
	}
	rt := cb.ResponseTimeMS
	c.ResponseTimeMS = &rt
	if it, ok := cb.Iteration(); ok {
		c.ComparisonIteration = &it
	}
	switch e.win {
	case 1:
		c.WinnerID, c.LoserID, c.Status = a, b, artefacts.StatusSucceeded
	case 0:
		c.WinnerID, c.LoserID, c.Status = b, a, artefacts.StatusSucceeded
	default:
		c.Status = artefacts.StatusFailed
		if cb.ErrorDetail != nil {
			c.ErrorCode, c.FailureReason = cb.ErrorDetail.ErrorCode, cb.ErrorDetail.Message
		}
		if c.FailureReason == "" {
			c.FailureReason = "the provider reported no reason"
		}
	}
	return c
}

// stamp renders a callback timestamp, falling back to the envelope's and then
// the broker's when the callback lacks it.
func stamp(t events.Time, ev *events.Event, rec journal.Record) string {
	switch {
	case !t.IsZero():
		return artefacts.Timestamp(t.Time)
	case !ev.Envelope.EventTimestamp.IsZero():
		return artefacts.Timestamp(ev.Envelope.EventTimestamp.Time)
	}
	return artefacts.Timestamp(rec.Timestamp)
}

func (h *Hydrator) summary(fit *scoring.Result) ([]artefacts.BTEntry, []artefacts.GradeProjection, artefacts.GradeProjectionStatus, error) {
	scale, err := scoring.LookupScale(h.cfg.Snapshot.GradeScale)
	if err != nil {
		return nil, nil, artefacts.GradeProjectionStatus{}, err
	}
	anchors := map[string]string{}
	for _, e := range h.essays {
		if e.isAnchor {
			anchors[e.id] = e.grade
		}
	}
	pitems, pcov := fit.ForProjection()
	proj, err := scoring.ProjectGrades(scale, pitems, anchors, scoring.ProjectOptions{Cov: pcov, Seed: h.seed()})
	if err != nil {
		return nil, nil, artefacts.GradeProjectionStatus{}, err
	}
	byID := map[string]scoring.Projection{}
	for _, p := range proj.Projections {
		byID[p.EssayID] = p
	}
	items := append([]scoring.Item(nil), fit.Items...)
	scoring.SortByTheta(items)
	var bt []artefacts.BTEntry
	var gp []artefacts.GradeProjection
	for rank, it := range items {
		idx := h.indexOfID(it.ID)
		e := h.essays[idx]
		entry := artefacts.BTEntry{EssayID: it.ID, Theta: it.Theta, StandardError: it.SE, Rank: rank + 1,
			ComparisonCount: it.Comparisons, Wins: it.Wins, Losses: it.Losses, IsAnchor: e.isAnchor, Infit: it.Infit, Outfit: it.Outfit}
		if e.isAnchor {
			entry.AnchorGrade = e.grade
		}
		if st, ok := h.service[int32(idx)]; ok {
			v := st
			entry.ServiceTheta = &v
		}
		if p, ok := byID[it.ID]; ok {
			entry.GradeProjection = p.Grade
			g := artefacts.GradeProjection{EssayID: it.ID, GradeScale: scale.Name, Grade: p.Grade, Probabilities: p.Probabilities,
				PrimaryAnchorID: p.PrimaryAnchorID, AnchorAlignment: p.Alignment, IsAnchor: p.IsAnchor, Set80: p.Set80, Set95: p.Set95,
				LOOGrade: p.LOOGrade}
			if p.IsAnchor {
				g.AnchorGrade = p.AnchorGrade
			}
			gp = append(gp, g)
		}
		bt = append(bt, entry)
	}
	status := artefacts.GradeProjectionStatus{Projected: proj.Model != nil, SkippedReason: proj.Skipped}
	if proj.Model != nil {
		m := proj.Model
		status.Intercept, status.Slope, status.ResidualSD, status.BootstrapDraws = m.Intercept, m.Slope, m.ResidualSD, m.Draws
		status.AnchorAlignment = &artefacts.AlignmentCounts{Aligned: proj.Aligned, Above: proj.Above, Below: proj.Below}
		for _, b := range proj.Model.Bands {
			band := artefacts.Band{Grade: b.Grade, Anchors: b.Anchors}
			if !math.IsInf(b.Lower, 0) {
				v := b.Lower
				band.Lower = &v
			}
			if !math.IsInf(b.Upper, 0) {
				v := b.Upper
				band.Upper = &v
			}
			if !math.IsNaN(b.Mean) {
				v := b.Mean
				band.Mean = &v
			}
			status.Bands = append(status.Bands, band)
		}
	}
	return bt, gp, status, nil
}

// splitsFor is how many random halvings the split-half estimate takes: the
// default for batches up to 20,000 comparisons, fewer above.
func splitsFor(comparisons int) int {
	if comparisons > 20000 {
		return 6
	}
	return scoring.DefaultSplits
}

// reliability is the artefact's validation.reliability (fit nil: nothing
// fitted yet).
func (h *Hydrator) reliability(fit *scoring.Result) artefacts.Reliability {
	r := artefacts.Reliability{Estimator: scoring.EstimatorJeffreys, DistinctPromptHashes: len(h.prompts)}
	if fit == nil {
		r.SSRNote = "undefined: no succeeded comparison yet"
		for _, e := range h.essays {
			r.Excluded = append(r.Excluded, artefacts.Excluded{EssayID: e.id, Reason: "never compared"})
		}
		sort.Slice(r.Excluded, func(a, b int) bool { return r.Excluded[a].EssayID < r.Excluded[b].EssayID })
	} else {
		r.Estimator, r.SSR, r.SSRNote, r.Alpha, r.Converged, r.Iterations = fit.Estimator, fit.SSR, fit.SSRNote, fit.Alpha, fit.Converged, fit.Iterations
		r.Components, r.Undefeated, r.Winless, r.Uncompared, r.Misfits = len(fit.Components), fit.Undefeated, fit.Winless, fit.Uncompared, fit.Misfits
		for _, c := range fit.Components {
			r.ComponentSizes = append(r.ComponentSizes, len(c))
		}
		for _, e := range fit.Excluded {
			r.Excluded = append(r.Excluded, artefacts.Excluded{EssayID: e.ID, Reason: e.Reason})
		}
		for _, j := range fit.Judges {
			r.Judges = append(r.Judges, artefacts.JudgeFit{Judge: j.Judge, Comparisons: j.Comparisons, Infit: j.Infit, Outfit: j.Outfit})
		}
		if o := fit.Order; o != nil {
			r.OrderEffect = &artefacts.OrderEffect{Estimate: o.Estimate, SE: o.SE, Comparisons: o.Comparisons}
		}
		r.PairDistance, r.AdaptivePairing = fit.PairDistance, fit.Adaptive()
		if r.AdaptivePairing {
			r.Caveats = append(r.Caveats, fmt.Sprintf("the pairing was adaptive (compared pairs were %.0f%% as far apart in ability as random pairs): "+
				"SSR overstates reliability under adaptive pairing (Bramley 2015; Bramley & Vitello 2019); rely on the split-half estimate", 100*fit.PairDistance))
		}
		if sh, err := scoring.SplitHalf(h.comparisons(), h.fitOptions(), splitsFor(h.succeeded), h.seed()); err == nil {
			r.SplitHalf = &artefacts.SplitHalf{Estimate: sh.Estimate, Min: sh.Min, Max: sh.Max, Splits: sh.Splits, LengthFactor: sh.Factor}
		}
		if len(r.Excluded) > 0 {
			what := fmt.Sprintf("%d essays have", len(r.Excluded))
			if len(r.Excluded) == 1 {
				what = "1 essay has"
			}
			r.Caveats = append(r.Caveats, what+" no ability and no grade projection (listed under excluded with the reason)")
		}
	}
	if h.entries.len() > 0 {
		maxAbs, sum := 0, 0
		for i := range h.essays {
			d := int(h.slotA[i] - h.slotB[i])
			if d < 0 {
				d = -d
			}
			maxAbs = max(maxAbs, d)
			sum += d
		}
		r.PositionSkew = &artefacts.PositionSkew{MaxAbs: maxAbs, MeanAbs: float64(sum) / float64(len(h.essays))}
	}
	if h.succeeded > 0 {
		rate := float64(h.aWins) / float64(h.succeeded)
		r.EssayAWinRate = &rate
	}
	return r
}

func (h *Hydrator) serviceComparison(fit *scoring.Result) *artefacts.ServiceComparison {
	if len(h.service) == 0 {
		return nil
	}
	sc := &artefacts.ServiceComparison{}
	var best float64
	for _, it := range fit.Items {
		st, ok := h.service[int32(h.indexOfID(it.ID))]
		if !ok {
			continue
		}
		sc.Compared++
		if d := math.Abs(st - it.Theta); d > best || sc.MaxDiffEssayID == "" {
			best, sc.MaxDiffEssayID = d, it.ID
		}
	}
	if sc.Compared > 0 {
		sc.MaxAbsThetaDiff = &best
	}
	return sc
}

// serviceResults are the CJ service's own results, keyed by the artefact's
// essay ids, with how its letter grades agree with the projected grades.
func (h *Hydrator) serviceResults(projected map[string]string) *artefacts.ServiceResults {
	r := h.result
	if r == nil {
		return nil
	}
	out := &artefacts.ServiceResults{CJAssessmentJobID: r.CJAssessmentJobID, ModelUsed: r.ModelUsed, ModelProvider: r.ModelProvider,
		Rows: []artefacts.ServiceResultRow{}, AssessmentMetadata: r.AssessmentMetadata}
	if !r.AssessedAt.IsZero() {
		out.AssessedAt = artefacts.Timestamp(r.AssessedAt.Time)
	}
	scale, scaleErr := scoring.LookupScale(h.cfg.Snapshot.GradeScale)
	agree := artefacts.GradeAgreement{}
	for _, e := range r.EssayResults {
		i, ok := h.essayOf(e.EssayID)
		if !ok {
			out.UnmatchedIDs = append(out.UnmatchedIDs, e.EssayID)
			continue
		}
		es := h.essays[i]
		row := artefacts.ServiceResultRow{EssayID: es.id, LetterGrade: e.LetterGrade, NormalizedScore: e.NormalizedScore,
			ConfidenceScore: e.ConfidenceScore, ConfidenceLabel: e.ConfidenceLabel, BTScore: e.BTScore, Rank: e.Rank, IsAnchor: e.IsAnchor,
			ProjectedGrade: projected[es.id]}
		if e.EssayID != es.id {
			row.ServiceEssayID = e.EssayID
		}
		out.Rows = append(out.Rows, row)
		if scaleErr != nil || row.ProjectedGrade == "" || row.LetterGrade == "" {
			continue
		}
		pi, pok := scale.Index(row.ProjectedGrade)
		si, sok := scale.Index(row.LetterGrade)
		if !pok || !sok {
			continue
		}
		agree.Compared++
		if pi == si {
			agree.Exact++
		}
		if pi-si <= 1 && si-pi <= 1 {
			agree.WithinOne++
		}
	}
	sort.Slice(out.Rows, func(i, j int) bool {
		if out.Rows[i].Rank != out.Rows[j].Rank {
			return out.Rows[i].Rank < out.Rows[j].Rank
		}
		return out.Rows[i].EssayID < out.Rows[j].EssayID
	})
	out.GradeAgreement = &agree
	return out
}

// FoldFile folds every record of the journal at path, read with opts.
func FoldFile(cfg Batch, path string, opts journal.Options) (*Hydrator, journal.ScanResult, error) {
	h := New(cfg)
	res, err := journal.ScanWith(path, opts, func(r journal.Record) error {
		h.Apply(r)
		return nil
	})
	return h, res, err
}

// Describe renders faults for a one-line message: what is wrong, the
// callback's correlation id and where it was read.
func Describe(faults []artefacts.Fault) string {
	var parts []string
	for _, f := range faults {
		parts = append(parts, fmt.Sprintf("%s (field %s, correlation id %s, %s partition %d offset %d)",
			f.Detail, strings.Join(f.Fields, ", "), f.CorrelationID, f.Topic, f.Partition, f.Offset))
	}
	return strings.Join(parts, "; ")
}
