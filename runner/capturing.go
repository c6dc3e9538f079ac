package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"eng5np/artefacts"
	"eng5np/capture"
	"eng5np/events"
	"eng5np/hydrator"
	"eng5np/inputs"
	"eng5np/journal"
	"eng5np/rundir"
)

// Throttling of the live artefact writes and ranking refits.
const (
	minWriteInterval = time.Second
	rankInterval     = time.Second
	progressInterval = 250 * time.Millisecond
	rateWindow       = 60 // seconds kept for the rate sparkline
)

// runState is a run being captured (by execute or resume) and finished.
type runState struct {
	dir   string
	rec   *RunRecord
	snap  inputs.Snapshot
	build artefacts.Build

	topics   events.Topics
	conn     capture.Conn
	hyd      *hydrator.Hydrator
	jw       *journal.Writer
	session  *capture.Session
	expected int
	captureN int // this session's capture number

	log   *slog.Logger
	logs  *runLog
	rep   Reporter
	hooks Hooks

	started       time.Time
	deadline      time.Time
	timeout       time.Duration
	grace         time.Duration
	budget        float64
	completedSeen time.Time
	drainTo       capture.Offsets // end offsets taken when the end event was seen
	drainTried    time.Time

	outcome    Outcome
	outcomeMsg string

	dirty        bool
	lastWrite    time.Time
	writeEvery   time.Duration
	writes       int
	lastProgress time.Time
	lastRank     time.Time
	ranking      []hydrator.Ranked
	rate         []rateBucket
}

type rateBucket struct {
	second int64
	count  int
}

func (r *runState) journalPath() string {
	return rundir.Path(r.dir, rundir.Journal)
}

// capture reads from start until the batch ends, faults, times out at
// deadline, or ctx ends, then finishes the run.
func (r *runState) capture(ctx context.Context, start capture.Offsets, deadline time.Time, timeout time.Duration) Summary {
	r.started = time.Now()
	r.deadline, r.timeout = deadline, timeout
	r.grace = time.Duration(r.rec.PostCompletionGrace)
	r.budget = r.rec.BudgetUSD
	r.writeEvery = minWriteInterval
	n := len(r.rec.Captures) + 1
	r.captureN = n
	r.rec.Captures = append(r.rec.Captures, CaptureRecord{N: n, StartedAt: r.started.UTC()})
	if err := rundir.WriteJSON(r.dir, rundir.RunRecord, r.rec); err != nil {
		return r.finish(OutcomeInterrupted, "", err)
	}
	r.rep.Report(PhaseEvent{Phase: PhaseCapturing, Detail: fmt.Sprintf("until %s", deadline.Local().Format("15:04:05")), At: time.Now()})
	r.log.Info("collector_started", "event", "collector_started", "capture", n, "deadline", deadline, "start_offsets", start)
	r.session = &capture.Session{Conn: r.conn, Start: start, Journal: r.jw, Capture: n, Log: r.log,
		Apply: r.apply, Tick: r.tick, TickEvery: progressInterval}
	// Decide before reading: a resumed journal may already hold the end.
	if r.decide(time.Now()) {
		return r.finish(r.outcome, r.outcomeMsg, nil)
	}
	err := r.session.Run(ctx)
	switch {
	case r.outcome != "":
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		r.outcome, r.outcomeMsg = OutcomeInterrupted, "interrupted: the journal is flushed and the artefact written with what was captured"
		err = nil
	case err != nil:
		r.outcome = OutcomeInterrupted
	}
	return r.finish(r.outcome, r.outcomeMsg, err)
}

// apply folds a durable group of records (observe sees each one).
func (r *runState) apply(recs []journal.Record) bool {
	r.hyd.ApplyAll(recs)
	r.dirty = true
	return r.decide(time.Now())
}

// observe logs each record folded in this session and passes it to the
// hooks; records refolded from an earlier session's journal (resume) reach
// the hooks but are neither logged again nor counted in the rate.
func (r *runState) observe(o hydrator.Observation) {
	if r.hooks.Observe != nil {
		r.hooks.Observe(o)
	}
	if o.Record.Capture < r.captureN {
		return
	}
	rec := o.Record
	attrs := []any{"topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset, "seq", rec.Seq}
	if o.Event != nil && o.Event.Callback != nil {
		attrs = append(attrs, "correlation_id", o.Event.Callback.CorrelationID, "request_id", o.Event.Callback.RequestID)
	} else if o.Event != nil && o.Event.Envelope != nil {
		attrs = append(attrs, "correlation_id", o.Event.Envelope.CorrelationID)
	}
	switch o.Outcome {
	case hydrator.Applied:
		name := "event_applied"
		if rec.Topic == r.topics.ComparisonResult() {
			name = "comparison_applied"
			r.countRate(time.Now())
		}
		r.log.Info(name, append(attrs, "event", name)...)
	case hydrator.MetadataFault:
		r.log.Error("metadata_fault", append(attrs, "event", "metadata_fault", "fields", o.FaultFields, "detail", o.FaultDetail)...)
	case hydrator.Duplicate:
		r.log.Info("duplicate_skipped", append(attrs, "event", "duplicate_skipped")...)
	case hydrator.ForeignBatch:
		r.log.Info("foreign_batch_skipped", append(attrs, "event", "foreign_batch_skipped")...)
	case hydrator.Malformed:
		reason := rec.Quarantined
		if reason == "" {
			reason = "not a valid event of its topic"
		}
		r.log.Warn("malformed_quarantined", append(attrs, "event", "malformed_quarantined", "reason", reason)...)
	case hydrator.AfterFault:
		r.log.Info("after_fault_ignored", append(attrs, "event", "after_fault_ignored")...)
	}
}

func (r *runState) countRate(now time.Time) {
	sec := now.Unix()
	if n := len(r.rate); n > 0 && r.rate[n-1].second == sec {
		r.rate[n-1].count++
		return
	}
	r.rate = append(r.rate, rateBucket{second: sec, count: 1})
	if len(r.rate) > rateWindow {
		r.rate = r.rate[len(r.rate)-rateWindow:]
	}
}

// decide sets the outcome when the capture must stop.
func (r *runState) decide(now time.Time) bool {
	if r.outcome != "" {
		return true
	}
	c := r.hyd.Completion()
	st := r.hyd.Stats()
	ended := (c.Failed || c.Completed) && r.drained(now)
	switch {
	case r.hyd.Faulted():
		r.outcome = OutcomeMetadataFault
		r.outcomeMsg = "metadata fault: " + hydrator.Describe(st.Faults) + "; consumption stopped"
	case ended && c.Failed:
		r.outcome = OutcomeFailed
		r.outcomeMsg = "the CJ service reported the batch failed: " + c.FailureReason
	case ended && c.HasResult:
		r.outcome = OutcomeCompleted
		r.outcomeMsg = fmt.Sprintf("completed: %d comparisons captured (%d succeeded, %d failed)", st.Comparisons, st.Succeeded, st.Failed)
	case ended && r.completedSeen.IsZero():
		r.completedSeen = now
		return r.decide(now)
	case ended && now.Sub(r.completedSeen) >= r.grace:
		r.outcome = OutcomeNoResult
		r.outcomeMsg = fmt.Sprintf("completed: %d comparisons captured; the result event did not arrive within --post-completion-grace %s", st.Comparisons, r.grace)
	case r.budget > 0 && st.CostUSD > r.budget:
		r.outcome = OutcomeBudgetExceeded
		r.outcomeMsg = fmt.Sprintf("captured cost $%.4f exceeded --budget-usd $%.4f; capture stopped (the CJ service may still be running the batch)", st.CostUSD, r.budget)
	case !now.Before(r.deadline):
		r.outcome = OutcomeTimeout
		r.outcomeMsg = fmt.Sprintf("timed out after %s with %d of %d comparisons captured", r.timeout, st.Comparisons, r.expected)
	}
	return r.outcome != ""
}

// drained reports whether everything published before the batch's end
// event has been journaled. The CJ service publishes completed (or failed)
// only after every callback, but each partition is read on its own, so the
// end can be journaled before the last callbacks of another partition (or be
// in the journal already when a resume starts). So once the end is seen, the
// end offsets of every consumed partition are taken, and capture goes on
// until each partition has been journaled up to them.
func (r *runState) drained(now time.Time) bool {
	if r.session == nil {
		return true
	}
	if r.drainTo == nil {
		if !r.drainTried.IsZero() && now.Sub(r.drainTried) < time.Second {
			return false
		}
		r.drainTried = now
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		ends, err := capture.EndOffsets(ctx, r.conn, r.topics.Consumed())
		cancel()
		if err != nil {
			r.log.Warn("drain_offsets_failed", "event", "drain_offsets_failed", "error", err)
			return false
		}
		r.drainTo = ends
		r.log.Info("capture_draining", "event", "capture_draining", "end_offsets", ends)
	}
	next := r.session.Next()
	for t, ps := range r.drainTo {
		for p, end := range ps {
			if next[t][p] < end {
				return false
			}
		}
	}
	return true
}

// tick drives deadlines, live artefact writes and progress snapshots.
func (r *runState) tick(now time.Time) bool {
	if r.decide(now) {
		return true
	}
	if r.dirty && now.Sub(r.lastWrite) >= r.writeEvery {
		r.writeLive()
	}
	if now.Sub(r.lastProgress) >= progressInterval {
		r.lastProgress = now
		r.progress(now)
	}
	return false
}

// writeLive writes the artefact while capturing; a write that takes long
// spaces the next ones out, so huge journals do not stall capture.
func (r *runState) writeLive() {
	start := time.Now()
	_, _, err := r.writeArtefact(Outcome("running"), "capturing", false)
	d := time.Since(start)
	r.writeEvery = max(minWriteInterval, 5*d)
	r.dirty = false
	if err != nil {
		r.log.Error("artefact_write_failed", "event", "artefact_write_failed", "error", err)
	}
}

// progress reports a snapshot to the display and the hooks.
func (r *runState) progress(now time.Time) {
	s := r.snapshot(now)
	r.rep.Report(ProgressEvent{Snapshot: s})
}

func (r *runState) snapshot(now time.Time) Snapshot {
	st := r.hyd.Stats()
	if now.Sub(r.lastRank) >= rankInterval {
		r.lastRank = now
		if rk, err := r.hyd.Ranking(); err == nil {
			r.ranking = rk
		}
	}
	s := Snapshot{BatchLabel: r.rec.BatchLabel, BatchUUID: r.rec.BatchUUID, Broker: r.conn.String(), RunDir: r.dir,
		Capture: len(r.rec.Captures), Started: r.started, Deadline: r.deadline, Now: now, PublishedAt: r.rec.PublishedAt,
		Expected: r.expected, Stats: st, Ranking: r.ranking, BudgetUSD: r.budget, LastWrite: r.lastWrite, Writes: r.writes,
		WaitingForDone: !r.completedSeen.IsZero()}
	if r.session != nil {
		s.BrokerErrors, s.LastBrokerErr = r.session.BrokerErrors()
	}
	if st.Comparisons > 0 && r.expected > 0 {
		s.ProjectedUSD = st.CostUSD / float64(st.Comparisons) * float64(max(r.expected, st.Comparisons))
	}
	// Per-second rate over the window, oldest first, with gaps as zeros.
	if len(r.rate) > 0 {
		from := now.Unix() - rateWindow + 1
		s.Rate = make([]float64, rateWindow)
		for _, b := range r.rate {
			if i := b.second - from; i >= 0 && i < rateWindow {
				s.Rate[i] = float64(b.count)
			}
		}
	}
	return s
}

// writeArtefact assembles the artefact with the given outcome and writes it
// with a fresh manifest.
func (r *runState) writeArtefact(outcome Outcome, message string, final bool) (res artefacts.WriteResult, sec *hydrator.Sections, err error) {
	start := time.Now()
	if r.hooks.Written != nil {
		defer func() { r.hooks.Written(time.Since(start), err) }()
	}
	if sec, err = r.hyd.Sections(hydrator.FileSource(r.journalPath())); err != nil {
		return artefacts.WriteResult{}, nil, err
	}
	if r.session != nil {
		_ = rundir.WriteJSON(r.dir, rundir.Offsets, OffsetsRecord{Start: r.session.Start, Next: r.session.Next(), UpdatedAt: time.Now().UTC()})
	}
	st := statusInput{outcome: outcome, message: message, final: final, timeout: r.timeout}
	if n := len(r.rec.Captures); final && n > 0 {
		st.endedAt = r.rec.Captures[n-1].EndedAt
	}
	run := assemble(r.rec, r.snap, r.build, sec, r.hyd.Completion(), st, time.Now())
	if res, err = artefacts.Write(r.dir, run); err != nil {
		return res, sec, err
	}
	r.lastWrite = time.Now()
	r.writes++
	r.log.Info("artefact_written", "event", "artefact_written", "path", res.ArtefactPath, "comparisons", len(sec.LLMComparisons),
		"duration_ms", time.Since(start).Milliseconds(), "final", final)
	return res, sec, nil
}

// statusInput is what the runner, not the journal, knows about a capture.
type statusInput struct {
	outcome Outcome
	message string
	final   bool
	timeout time.Duration
	endedAt time.Time // when the capture ended (final only); completed_at
}

// assemble builds the artefact of an execute run from its record, inputs
// snapshot and journal-derived sections.
func assemble(rec *RunRecord, snap inputs.Snapshot, build artefacts.Build, sec *hydrator.Sections, c hydrator.Completion, st statusInput, now time.Time) *artefacts.AssessmentRun {
	run := &artefacts.AssessmentRun{
		Metadata: artefacts.Metadata{
			AssignmentID: rec.Settings.AssignmentID, CourseID: rec.Settings.CourseID, GradeScale: rec.Settings.GradeScale,
			RunnerVersion: build.RunnerVersion, GitSHA: build.GitSHA, GitDirty: build.Dirty, GeneratedAt: artefacts.Timestamp(now),
			RunnerMode: rundir.ModeExecute, BatchUUID: rec.BatchUUID, BatchLabel: rec.BatchLabel, CourseCode: rec.Settings.CourseCode,
			Language: rec.Settings.Language, MaxComparisons: rec.MaxComparisons, Stack: rec.Stack, LLMConfigOverrides: rec.LLMConfigOverrides,
		},
		Inputs:           artefacts.InputsSection(snap),
		LLMComparisons:   sec.LLMComparisons,
		BTSummary:        sec.BTSummary,
		GradeProjections: sec.GradeProjections,
		Costs:            sec.Costs,
	}
	status := &artefacts.RunnerStatus{
		Outcome: string(st.outcome), PartialData: !st.final || st.outcome.PartialData(), Message: st.message,
		Captures: len(rec.Captures), ExpectedComparisons: rec.MaxComparisons,
		ObservedEvents: sec.ObservedEvents, Skipped: sec.Skipped, CJStatus: c.CJStatus, FailureReason: c.FailureReason,
	}
	if st.final {
		code := st.outcome.ExitCode()
		status.ExitCode = &code
		if c.Completed || c.HasResult {
			at := st.endedAt
			if at.IsZero() {
				at = now
			}
			status.CompletedAt = artefacts.Timestamp(at)
		}
	}
	if st.outcome == OutcomeTimeout {
		secs := st.timeout.Seconds()
		status.TimeoutSeconds = &secs
	}
	if !rec.PublishedAt.IsZero() {
		status.PublishedAt = artefacts.Timestamp(rec.PublishedAt)
	}
	ms := sec.ManifestStatus
	rel := sec.Reliability
	gps := sec.GradeProjectionStatus
	run.Validation = artefacts.Validation{CLIEnvironment: build.Environment(), RunnerStatus: status, ManifestStatus: &ms,
		Reliability: &rel, ServiceComparison: sec.ServiceComparison, GradeProjectionStatus: &gps}
	return run
}

// finish ends the capture: records it in run.json, closes the log, writes the
// final artefact and manifest, verifies them and reports the summary.
func (r *runState) finish(outcome Outcome, message string, runErr error) Summary {
	if runErr != nil {
		message = fmt.Sprintf("capture stopped: %v", runErr)
		outcome = OutcomeInterrupted
	}
	st := r.hyd.Stats()
	if n := len(r.rec.Captures); n > 0 {
		r.rec.Captures[n-1].EndedAt = time.Now().UTC()
		r.rec.Captures[n-1].Outcome = outcome
		r.rec.Captures[n-1].Records = r.hyd.LastSeq()
		r.rec.Captures[n-1].Message = message
		r.rec.Captures[n-1].Timeout = Duration(r.timeout)
	}
	_ = rundir.WriteJSON(r.dir, rundir.RunRecord, r.rec)
	// A last snapshot, so the display shows the final counts (and a fault
	// that ended the capture) before the summary.
	r.progress(time.Now())
	r.rep.Report(PhaseEvent{Phase: PhaseWriting, At: time.Now()})
	r.log.Info("run_finishing", "event", eventName(outcome), "outcome", outcome, "message", message,
		"comparisons", st.Comparisons, "cost_usd", st.CostUSD)
	// Logs are closed before the final manifest (SPEC §6).
	r.logs.Close()

	s := Summary{Outcome: outcome, ExitCode: outcome.ExitCode(), Message: message, RunDir: r.dir, BatchUUID: r.rec.BatchUUID,
		BatchLabel: r.rec.BatchLabel, Comparisons: st.Comparisons, Succeeded: st.Succeeded, Failed: st.Failed, CostUSD: st.CostUSD,
		Models: st.Models, Elapsed: time.Since(r.started), Timeout: r.timeout}
	for _, f := range st.Faults {
		s.Faults = append(s.Faults, hydrator.Describe([]artefacts.Fault{f}))
	}
	res, sec, err := r.writeArtefact(outcome, message, true)
	if err != nil {
		var se *artefacts.SchemaError
		s.ExitCode = 1
		if errors.As(err, &se) {
			s.ExitCode = 5
		}
		s.Message = fmt.Sprintf("%s; but the final artefact could not be written: %v", message, err)
		s.Next = "the journal in " + r.dir + " holds everything captured; report this, then rebuild the artefact with `eng5np rehydrate " + r.dir + "`"
		r.rep.Report(FinishedEvent{Summary: s})
		return s
	}
	s.ArtefactPath, s.ManifestPath = res.ArtefactPath, res.ManifestPath
	if rep, err := artefacts.Verify(r.dir); err == nil {
		s.Verified = rep.OK()
		for _, p := range rep.Problems {
			s.VerifyProblems = append(s.VerifyProblems, p.String())
		}
	}
	s.SlowestModel, s.PriciestModel = modelExtremes(sec, st)
	s.Next, s.Warning, s.Resumable = nextStep(outcome, r.dir, r.rec)
	r.rep.Report(FinishedEvent{Summary: s})
	return s
}

func eventName(o Outcome) string {
	switch o {
	case OutcomeTimeout:
		return "collector_timeout"
	case OutcomeMetadataFault:
		return "collector_fault"
	case OutcomeInterrupted:
		return "collector_interrupted"
	}
	return "collector_completed"
}

// modelExtremes names the provider/model with the highest mean response time
// and the one that cost the most.
func modelExtremes(sec *hydrator.Sections, st hydrator.Stats) (slowest, priciest string) {
	if len(st.Models) == 0 {
		return "", ""
	}
	ms := append([]hydrator.ModelCost(nil), st.Models...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].USD > ms[j].USD })
	priciest = fmt.Sprintf("%s/%s ($%.4f)", ms[0].Provider, ms[0].Model, ms[0].USD)
	sum, n := map[string]int64{}, map[string]int64{}
	for _, c := range sec.LLMComparisons {
		k := c.Provider + "/" + c.Model
		if c.ResponseTimeMS != nil {
			sum[k] += *c.ResponseTimeMS
			n[k]++
		}
	}
	best, bestMean := "", -1.0
	for k := range sum {
		if m := float64(sum[k]) / float64(n[k]); m > bestMean || (m == bestMean && k < best) {
			best, bestMean = k, m
		}
	}
	if best != "" {
		slowest = fmt.Sprintf("%s (mean %.0f ms)", best, bestMean)
	}
	return slowest, priciest
}

// nextStep says what to do after an outcome.
func nextStep(o Outcome, dir string, rec *RunRecord) (next, warning string, resumable bool) {
	switch o {
	case OutcomeCompleted:
		return "eng5np verify " + dir + " before handing the artefact on", "", false
	case OutcomeNoResult:
		return "eng5np verify " + dir, "the result event never arrived: bt_summary has no service_theta", false
	case OutcomeNoKafka:
		return "inspect " + rundir.Request + " in " + dir + "; run without --no-kafka to publish", "", false
	case OutcomeFailed:
		return "read the failure reason above and the CJ service's logs, then run the batch again", "", false
	case OutcomeMetadataFault:
		return "fix the producer of the callbacks named above (the artefact lists them under validation.manifest_status.faults), then run the batch again", "", false
	case OutcomeTimeout, OutcomeInterrupted, OutcomeBudgetExceeded:
		cmd := "eng5np resume " + dir
		if rec.Stack == "embedded" {
			return "resuming needs the stack that served the run, and the embedded stack lives only as long as this process: on the dashboard press r to resume in place; " +
					"for a batch you may need to resume later, start the stack with `eng5np stack up` and execute with --stack external (then `" + cmd + "` works)",
				"", true
		}
		return cmd, "", true
	}
	return "", "", false
}
