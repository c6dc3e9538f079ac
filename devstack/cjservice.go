package devstack

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"

	"eng5np/config"
	"eng5np/events"
	"eng5np/fault"
	"eng5np/huleedu"
	"eng5np/inputs"
	"eng5np/scoring"
)

// CJSource is the source_service of the CJ service's events.
const CJSource = "cj_assessment_service"

// DefaultMaxComparisons is the CJ service's cap on a batch's comparisons
// (MAX_PAIRWISE_COMPARISONS), and the budget of a request that names none.
const DefaultMaxComparisons = 120

// Finalization rules of docs/CONTRACT.md, "Dev stack".
const (
	minStableCallbacks  = 12
	stableThetaChange   = 0.025
	minSuccessRate      = 0.8
	cjRequestType       = "comparison"
	confidenceHighSE    = 0.5
	confidenceMediumSE  = 1.0
	maxEssaysPerRequest = 5000
)

// cjService is the embedded CJ Assessment service. All batch state lives in
// run's goroutine; Kafka readers and the provider only talk to it through
// channels and the topic.
type cjService struct {
	seed    int64
	faults  fault.Set
	topics  events.Topics
	content *contentStore
	store   *cjStore
	// maxComparisons caps every batch's budget (MAX_PAIRWISE_COMPARISONS).
	maxComparisons int
	provider       *provider
	out            *kafka.Writer
	log            *slog.Logger
	metrics        *stackMetrics

	requests  chan kafka.Message
	callbacks chan kafka.Message

	batches       map[string]*cjBatch
	byCorrelation map[string]*cjBatch
}

// cjBatch is one CJ job.
type cjBatch struct {
	id            string // batch_uuid (entity_id)
	jobID         string
	correlationID string // the request envelope's
	assignmentID  string
	started       time.Time
	instructions  string
	rubric        string
	provider      string
	model         string
	texts         map[string]string // wire id → text
	anchors       map[string]string // wire id → grade
	gradeScale    string            // of the assignment's instructions
	courseCode    string
	students      []string
	budget        int
	sent          int
	wave          int
	pending       map[string]pair // correlation id → pair of the current wave
	pairs         *pairingState
	tail          map[string]bool // essays of the first half of a split final wave
	results       []waveResult
	succeeded     int
	failed        int
	theta         map[string]float64
	done          bool
}

type waveResult struct {
	wave      int
	pair      pair
	succeeded bool
	aWins     bool
}

func (s *cjService) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-s.requests:
			s.handleRequest(ctx, m)
		case m := <-s.callbacks:
			s.handleCallback(ctx, m)
		}
	}
}

func (s *cjService) handleRequest(ctx context.Context, m kafka.Message) {
	ev, err := s.topics.Decode(m.Topic, m.Value)
	if err != nil {
		// As the CJ service: a request that fails validation (an unknown
		// course code among them) is dropped, and no failed event tells
		// anyone.
		s.log.Warn("ignoring a CJ request that fails validation", "error", err, "partition", m.Partition, "offset", m.Offset)
		s.metrics.requestRejected()
		return
	}
	req := ev.Request
	if _, seen := s.batches[req.EntityID]; seen {
		s.log.Info("duplicate CJ request ignored", "batch_uuid", req.EntityID)
		return
	}
	b := &cjBatch{
		id:            req.EntityID,
		jobID:         "cj-job-" + strings.ReplaceAll(req.EntityID, "-", "")[:12],
		correlationID: ev.Envelope.CorrelationID,
		assignmentID:  req.AssignmentID,
		started:       time.Now(),
		texts:         map[string]string{},
		anchors:       map[string]string{},
		pending:       map[string]pair{},
		budget:        s.maxComparisons,
		provider:      config.MockProvider,
		model:         config.MockModel,
	}
	s.batches[b.id] = b
	s.metrics.batchStarted()
	// The budget travels in the envelope's metadata; the service caps it
	// without saying so.
	if v, ok := ev.Envelope.Metadata["max_comparisons"].(float64); ok && v >= 1 && v == math.Trunc(v) {
		b.budget = min(int(v), s.maxComparisons)
	}
	in, ok := s.store.getInstructions(req.AssignmentID)
	if !ok {
		s.fail(ctx, b, map[string]any{"error_code": "VALIDATION_ERROR",
			"error_message": fmt.Sprintf("Unknown assignment_id %s: missing assessment_instructions", req.AssignmentID)})
		return
	}
	b.gradeScale, b.courseCode = in.gradeScale, req.CourseCode
	if o := req.LLMConfigOverrides; o != nil {
		if o.ProviderOverride != "" {
			b.provider = o.ProviderOverride
		}
		if o.ModelOverride != "" {
			b.model = o.ModelOverride
		}
		if o.JudgeRubricOverride != "" && in.contextOrigin == huleedu.ContextCanonical {
			s.fail(ctx, b, map[string]any{"error_code": "VALIDATION_ERROR",
				"error_message": fmt.Sprintf("judge_rubric_override is not allowed: assignment %s is %s (its rubric is locked)", req.AssignmentID, huleedu.ContextCanonical)})
			return
		}
		b.rubric = o.JudgeRubricOverride
	}
	// With an assignment, the service uses the assignment's stored student
	// prompt and ignores the request's reference.
	if text, ok := s.content.get(in.studentPromptStorage); ok {
		b.instructions = string(text)
	} else {
		b.instructions = in.text
	}
	if b.rubric == "" {
		if text, ok := s.content.get(in.judgeRubricStorage); ok {
			b.rubric = string(text)
		}
	}
	if len(req.EssaysForCJ) > maxEssaysPerRequest {
		s.fail(ctx, b, map[string]any{"error_code": "VALIDATION_ERROR",
			"error_message": fmt.Sprintf("%d essays; the embedded service takes at most %d", len(req.EssaysForCJ), maxEssaysPerRequest)})
		return
	}
	for _, e := range req.EssaysForCJ {
		text, ok := s.content.get(e.TextStorageID)
		if !ok {
			s.fail(ctx, b, map[string]any{"error_code": "CONTENT_SERVICE_ERROR",
				"error_message": fmt.Sprintf("essay %s: text_storage_id %s is not in the content service", e.EssayID, e.TextStorageID)})
			return
		}
		if _, dup := b.texts[e.EssayID]; !dup {
			b.students = append(b.students, e.EssayID)
		}
		b.texts[e.EssayID] = string(text)
	}
	// Every anchor registered for the assignment in its scale joins the
	// batch, named by the service: ANCHOR_{db id}_{8 hex}. The real service
	// draws the suffix at random per batch; here it comes from the seed, so
	// that the same seed gives the same comparisons.
	for _, a := range s.store.anchorsOf(req.AssignmentID, in.gradeScale) {
		id := inputs.ServiceAnchorID(a.ID, anchorSuffix(s.seed, a.ID))
		b.texts[id] = a.Text
		b.anchors[id] = a.Grade
	}
	ids := make([]string, 0, len(b.texts))
	for id := range b.texts {
		ids = append(ids, id)
	}
	b.pairs = newPairingState(ids)
	s.log.Info("CJ batch started", "batch_uuid", b.id, "students", len(b.students), "anchors", len(b.anchors), "budget", b.budget)
	s.nextWave(ctx, b)
}

// nextWave sends the next wave of pairs, or finalizes when none is left.
//
// An essay's A−B skew has the parity of its comparison count, so near the
// end of the budget the service spends what is left where it keeps counts
// even. When counts are even and less than two full waves remain, the rest
// is split into two half waves over the same essays (each gets two more
// comparisons rather than one). When counts are odd and less than a full
// wave remains, odd essays are paired among themselves (each becomes even).
// A restricted wave that finds no pair falls back to an ordinary one.
func (s *cjService) nextWave(ctx context.Context, b *cjBatch) {
	b.wave++
	full, left := len(b.pairs.essays)/2, b.budget-b.sent
	limit, only := min(full, left), b.tail
	b.tail = nil
	split := false
	if only == nil {
		odd := map[string]bool{}
		for _, id := range b.pairs.essays {
			if b.pairs.count[id]%2 == 1 {
				odd[id] = true
			}
		}
		switch {
		case len(odd) >= 2 && left < full:
			only, limit = odd, min(left, len(odd)/2)
		case len(odd) < 2 && left < 2*full && left >= 2:
			limit, split = (left+1)/2, true
		}
	}
	pairs := b.pairs.nextWave(s.seed, b.wave, limit, only)
	if len(pairs) == 0 && (only != nil || split) {
		split = false
		pairs = b.pairs.nextWave(s.seed, b.wave, min(full, left), nil)
	}
	if split {
		b.tail = map[string]bool{}
		for _, p := range pairs {
			b.tail[p.A], b.tail[p.B] = true, true
		}
	}
	if len(pairs) == 0 {
		s.finish(ctx, b)
		return
	}
	for _, p := range pairs {
		corr := uuid.NewString()
		b.pending[corr] = p
		s.byCorrelation[corr] = b
		b.sent++
		s.provider.submit(comparisonJob{
			CorrelationID: corr,
			Wave:          b.wave,
			A:             p.A,
			B:             p.B,
			TextA:         b.texts[p.A],
			TextB:         b.texts[p.B],
			Instructions:  b.instructions,
			Rubric:        b.rubric,
			Provider:      b.provider,
			Model:         b.model,
			Metadata: map[string]any{
				events.MetaEssayA:      p.A,
				events.MetaEssayB:      p.B,
				events.MetaBatch:       b.id,
				events.MetaCJBatch:     b.jobID,
				events.MetaRequestType: cjRequestType,
				events.MetaIteration:   b.wave,
			},
		})
	}
	s.metrics.waveSent(len(pairs))
}

func (s *cjService) handleCallback(ctx context.Context, m kafka.Message) {
	ev, err := s.topics.Decode(m.Topic, m.Value)
	if err != nil {
		return // malformed: nothing to match
	}
	cb := ev.Callback
	b, ok := s.byCorrelation[cb.CorrelationID]
	if !ok {
		return // another batch's, or a duplicate after the wave moved on
	}
	p, pending := b.pending[cb.CorrelationID]
	if !pending {
		return // duplicate
	}
	delete(b.pending, cb.CorrelationID)
	delete(s.byCorrelation, cb.CorrelationID)
	// The pair comes from our own record, not from the callback's metadata,
	// so dropped metadata does not change what the service learns.
	r := waveResult{wave: b.wave, pair: p, succeeded: cb.Succeeded()}
	if r.succeeded {
		r.aWins = *cb.Winner == events.WinnerA
		b.succeeded++
	} else {
		b.failed++
	}
	b.results = append(b.results, r)
	if len(b.pending) == 0 && !b.done {
		s.waveAnswered(ctx, b)
	}
}

// waveAnswered refits, then finalizes, fails or sends another wave.
func (s *cjService) waveAnswered(ctx context.Context, b *cjBatch) {
	prev := b.theta
	b.theta = thetas(b, s.fit(b))
	b.pairs.theta = b.theta
	answered := b.succeeded + b.failed
	rate := float64(b.succeeded) / float64(max(answered, 1))
	if b.wave == 1 && s.faults.Rate(fault.FailBatch) > 0 && unit(s.seed, "fault", fault.FailBatch, strings.Join(b.pairs.essays, ",")) < s.faults.Rate(fault.FailBatch) {
		// The reason the service gives a batch it gave up on.
		pct := math.Round(float64(answered)/float64(max(b.budget, 1))*1000) / 10
		s.fail(ctx, b, map[string]any{"reason": "stuck_timeout_insufficient_progress", "details": map[string]any{
			"progress_pct": pct, "batch_state": "WAITING_CALLBACKS", "injected_by": fault.FailBatch}})
		return
	}
	if prev != nil && answered >= minStableCallbacks && rate >= minSuccessRate && maxChange(prev, b.theta) <= stableThetaChange {
		s.log.Info("CJ batch stable", "batch_uuid", b.id, "comparisons", answered)
		s.finish(ctx, b)
		return
	}
	if b.sent >= b.budget {
		s.finish(ctx, b)
		return
	}
	s.nextWave(ctx, b)
}

func maxChange(a, b map[string]float64) float64 {
	var m float64
	for id, t := range b {
		m = math.Max(m, math.Abs(t-a[id]))
	}
	return m
}

// fit fits Bradley–Terry to the succeeded comparisons, in a canonical order
// so the result does not depend on the order callbacks arrived in. It is nil
// when nothing can be fitted yet.
func (s *cjService) fit(b *cjBatch) *scoring.Result {
	var cs []scoring.Comparison
	for _, r := range b.results {
		if !r.succeeded {
			continue
		}
		w, l := r.pair.A, r.pair.B
		if !r.aWins {
			w, l = l, w
		}
		cs = append(cs, scoring.Comparison{Winner: w, Loser: l})
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].Winner != cs[j].Winner {
			return cs[i].Winner < cs[j].Winner
		}
		return cs[i].Loser < cs[j].Loser
	})
	// The service's own estimator: choix's ILSR with alpha 0.01.
	opts := scoring.ServiceOptions()
	opts.Items = b.pairs.essays
	res, err := scoring.Fit(cs, opts)
	if err != nil {
		return nil
	}
	return res
}

// thetas maps each essay to its ability (0 before anything was fitted).
func thetas(b *cjBatch, res *scoring.Result) map[string]float64 {
	theta := make(map[string]float64, len(b.pairs.essays))
	for _, id := range b.pairs.essays {
		theta[id] = 0
	}
	if res != nil {
		for _, it := range res.Items {
			theta[it.ID] = it.Theta
		}
	}
	return theta
}

// finish completes the batch when enough comparisons succeeded, else fails it.
func (s *cjService) finish(ctx context.Context, b *cjBatch) {
	answered := b.succeeded + b.failed
	rate := float64(b.succeeded) / float64(max(answered, 1))
	if answered == 0 || rate < minSuccessRate {
		s.fail(ctx, b, map[string]any{"reason": "low_success_rate", "details": map[string]any{
			"success_rate": math.Round(rate*1000) / 1000, "required": minSuccessRate, "comparisons": answered, "failed": b.failed}})
		return
	}
	b.done = true
	fit := s.fit(b)
	compared := map[string]bool{}
	for _, r := range b.results {
		if r.succeeded {
			compared[r.pair.A], compared[r.pair.B] = true, true
		}
	}
	summary := events.ProcessingSummary{TotalEssays: len(b.students), SuccessfulEssayIDs: []string{}, FailedEssayIDs: []string{}, ProcessingTimeSeconds: math.Round(time.Since(b.started).Seconds()*1000) / 1000}
	for _, id := range b.students {
		if compared[id] {
			summary.SuccessfulEssayIDs = append(summary.SuccessfulEssayIDs, id)
		} else {
			summary.FailedEssayIDs = append(summary.FailedEssayIDs, id)
		}
	}
	summary.Successful, summary.Failed = len(summary.SuccessfulEssayIDs), len(summary.FailedEssayIDs)
	completed := events.CJCompleted{EventName: events.CompletedEventName, EntityID: b.id, Status: events.StatusCompleted, CJAssessmentJobID: b.jobID,
		ProcessingSummary: summary, SystemMetadata: s.systemMetadata(b, "completed", events.CompletedEventName, nil)}
	if s.faults.Rate(fault.FailCritically) > 0 && unit(s.seed, "fault", fault.FailCritically, strings.Join(b.pairs.essays, ",")) < s.faults.Rate(fault.FailCritically) {
		// A failed batch reported on the completed topic, with no result.
		completed.Status = events.StatusFailed
		completed.SystemMetadata = s.systemMetadata(b, "failed", events.CompletedEventName, map[string]any{"reason": "critical_failure",
			"details": map[string]any{"fault": fault.FailCritically, "comparisons": answered}})
		s.metrics.fault(fault.FailCritically)
		s.publish(ctx, []kafka.Message{s.message(s.topics.Completed(), b, completed)})
		s.metrics.batchFinished("failed")
		return
	}
	result := s.result(b, fit)
	var msgs []kafka.Message
	if s.faults.Rate(fault.DropCompletion) > 0 && unit(s.seed, "fault", fault.DropCompletion, strings.Join(b.pairs.essays, ",")) < s.faults.Rate(fault.DropCompletion) {
		s.log.Info("completed event dropped (drop_completion fault)", "batch_uuid", b.id)
		s.metrics.fault(fault.DropCompletion)
	} else {
		msgs = append(msgs, s.message(s.topics.Completed(), b, completed))
	}
	msgs = append(msgs, s.message(s.topics.Result(), b, result))
	s.publish(ctx, msgs)
	s.metrics.batchFinished("completed")
	s.log.Info("CJ batch completed", "batch_uuid", b.id, "comparisons", answered, "waves", b.wave)
}

// result builds the published assessment result for students and anchors.
func (s *cjService) result(b *cjBatch, fit *scoring.Result) events.AssessmentResult {
	byGrade := map[string]int{}
	for _, g := range b.anchors {
		byGrade[g]++
	}
	n := len(b.pairs.essays)
	r := events.AssessmentResult{
		BatchID: b.id, CJAssessmentJobID: b.jobID, AssignmentID: b.assignmentID, AssessmentMethod: "cj_assessment",
		ModelUsed: b.model, ModelProvider: b.provider, EssayResults: []events.EssayResult{},
		// As the service's: comparison_count is an estimate, n(n−1)/2 of
		// the ranked essays, not the comparisons made.
		AssessmentMetadata: map[string]any{"anchor_essays_used": len(b.anchors), "calibration_method": "anchor", "anchor_grade_distribution": byGrade,
			"comparison_count": n * (n - 1) / 2, "processing_duration_seconds": math.Round(time.Since(b.started).Seconds()*10) / 10,
			"assignment_id": b.assignmentID, "course_code": b.courseCode},
		AssessedAt: events.Now(),
	}
	if fit == nil {
		return r
	}
	items := append([]scoring.Item(nil), fit.Items...)
	scoring.SortByTheta(items)
	lo, hi := items[len(items)-1].Theta, items[0].Theta
	grades := map[string]string{}
	if scale, err := scoring.LookupScale(b.gradeScale); err == nil && len(b.anchors) > 0 {
		if proj, err := scoring.ProjectGrades(scale, items, b.anchors, scoring.ProjectOptions{Draws: -1}); err == nil {
			for _, p := range proj.Projections {
				grades[p.EssayID] = p.Grade
			}
		}
	}
	for rank, it := range items {
		norm := 0.5
		if hi > lo {
			norm = math.Round((it.Theta-lo)/(hi-lo)*1000) / 1000
		}
		label := "LOW"
		switch {
		case it.SE < confidenceHighSE:
			label = "HIGH"
		case it.SE < confidenceMediumSE:
			label = "MID"
		}
		grade, isAnchor := b.anchors[it.ID]
		display := ""
		if isAnchor {
			display = "ANCHOR GRADE " + grade
		}
		r.EssayResults = append(r.EssayResults, events.EssayResult{
			EssayID: it.ID, NormalizedScore: norm, LetterGrade: grades[it.ID], ConfidenceScore: math.Round(1/(1+it.SE)*1000) / 1000,
			ConfidenceLabel: label, BTScore: it.Theta, Rank: rank + 1, IsAnchor: isAnchor, DisplayName: display,
		})
	}
	return r
}

// fail publishes cj_assessment.failed with its reason in
// system_metadata.error_info, as the service does: {error_code,
// error_message, …} when the request could not be processed, {reason,
// details} when the batch could not finish.
func (s *cjService) fail(ctx context.Context, b *cjBatch, info map[string]any) {
	b.done = true
	for corr := range b.pending {
		delete(s.byCorrelation, corr)
	}
	failed := events.CJFailed{EventName: "cj_assessment.failed", EntityID: b.id, Status: events.StatusFailed, CJAssessmentJobID: b.jobID,
		SystemMetadata: s.systemMetadata(b, "failed", "cj_assessment.failed", info)}
	s.publish(ctx, []kafka.Message{s.message(s.topics.Failed(), b, failed)})
	s.metrics.batchFinished("failed")
	s.log.Info("CJ batch failed", "batch_uuid", b.id, "reason", events.ErrorInfoText(info))
}

// systemMetadata is the service's bookkeeping on its end events.
func (s *cjService) systemMetadata(b *cjBatch, stage, event string, info map[string]any) *events.SystemMetadata {
	if info == nil {
		info = map[string]any{}
	}
	return &events.SystemMetadata{EntityID: b.id, EntityType: "batch", ProcessingStage: stage, Event: event, ErrorInfo: info}
}

// anchorSuffix is the 8 hex the service appends to an anchor's id in a
// batch: random there, seeded here.
func anchorSuffix(seed int64, id int) string {
	return fmt.Sprintf("%08x", uint32(unit(seed, "anchor-suffix", itoa(id))*(1<<32)))
}

func (s *cjService) message(topic string, b *cjBatch, data any) kafka.Message {
	corr := b.correlationID
	if !events.IsUUID(corr) {
		corr = uuid.NewString()
	}
	env, _ := events.NewEnvelope(topic, CJSource, corr, data, nil, time.Now())
	value, _ := env.Encode()
	return kafka.Message{Topic: topic, Key: []byte(b.id), Value: value}
}

// publish retries until the broker acknowledges or the stack stops.
func (s *cjService) publish(ctx context.Context, msgs []kafka.Message) {
	for attempt := 0; ; attempt++ {
		err := s.out.WriteMessages(ctx, msgs...)
		if err == nil || ctx.Err() != nil {
			return
		}
		s.log.Warn("publish CJ event failed; retrying", "error", err, "attempt", attempt+1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(min(attempt+1, 10)) * 100 * time.Millisecond):
		}
	}
}
