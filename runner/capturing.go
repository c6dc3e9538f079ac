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

// Cadences of the capture loop.
const (
	minWriteInterval = time.Second            // live artefact writes at most this often
	rankInterval     = time.Second            // live ranking refits
	seInterval       = 10 * time.Second       // live ranking's standard errors
	progressInterval = 250 * time.Millisecond // progress events
	rateWindow       = 60                     // seconds kept for the rate sparkline
	endOffsetsRetry  = time.Second            // wait before asking again for the drain target
	endOffsetsLimit  = 3 * time.Second        // bound of one ask
)

// run is what an execute or resume works on: the run directory, its record
// and inputs, and where it reports.
type run struct {
	dir  string
	rec  *RunRecord
	snap inputs.Snapshot
	// anchors are the CJ service's anchors for the assignment (nil when the
	// run recorded none).
	anchors *inputs.AnchorMap
	build   artefacts.Build
	topics  events.Topics
	log     *slog.Logger
	logs    *runLog
	rep     Reporter
}

// capturer is one capture session of a run: it reads into the journal,
// folds, decides when to stop, writes the artefact live and reports
// progress.
type capturer struct {
	*run
	conn    capture.Conn
	jw      *journal.Writer
	session *capture.Session
	hyd     *hydrator.Hydrator
	n       int // this session's capture number

	// Stopping.
	started   time.Time
	deadline  time.Time
	timeout   time.Duration
	graceFrom time.Time
	// lastActivity is when a callback of this batch was last applied in
	// this session.
	lastActivity time.Time
	// folded and head are the journal records folded so far and the chain
	// after the last of them.
	folded  int64
	head    string
	drainTo capture.Offsets // end offsets taken after the end event
	outcome Outcome
	message string

	// Live output.
	dirty        bool
	lastWrite    time.Time
	writeEvery   time.Duration
	writes       int
	lastProgress time.Time
	lastRank     time.Time
	lastSE       time.Time
	ranking      []Ranked
	// The live ranking is refitted off the loop, one refit at a time;
	// ranked delivers it.
	rankBusy bool
	ranked   chan rankedFit
	// stoppedAt is when the capture ended (zero while it runs): the
	// display's clocks stop there.
	stoppedAt time.Time
	// thisCapture counts the callbacks this capture applied.
	thisCapture int
	rate        rateCounter
}

// rankedFit is a finished live-ranking refit.
type rankedFit struct {
	ranking []hydrator.Ranked
	withSE  bool
	err     error
}

type rateBucket struct {
	second int64
	count  int
}

// newCapturer prepares session n of a run over the journal writer jw.
func newCapturer(r *run, conn capture.Conn, jw *journal.Writer, n int) *capturer {
	c := &capturer{run: r, conn: conn, jw: jw, n: n, writeEvery: minWriteInterval, started: time.Now(), ranked: make(chan rankedFit, 1)}
	c.hyd = hydrator.New(hydrator.Batch{Snapshot: r.snap, Anchors: r.anchors, BatchUUID: r.rec.BatchUUID, Topics: r.topics, Expected: r.rec.Expected(), Observe: c.observe})
	r.rep.Report(CaptureStartedEvent{Capture: n})
	return c
}

// capture reads from start until the batch ends, faults, times out at
// deadline, or ctx ends, then finishes the run.
func (c *capturer) capture(ctx context.Context, start capture.Offsets, deadline time.Time, timeout time.Duration) Summary {
	c.started = time.Now()
	c.deadline, c.timeout = deadline, timeout
	c.rec.Captures = append(c.rec.Captures, CaptureRecord{N: c.n, StartedAt: c.started.UTC(), Timeout: Duration(timeout)})
	if err := rundir.WriteJSON(c.dir, rundir.RunRecord, c.rec); err != nil {
		return c.finish(OutcomeInterrupted, "", err)
	}
	c.rep.Report(PhaseEvent{Phase: PhaseCapturing, Detail: fmt.Sprintf("until %s", deadline.Local().Format("15:04:05")), At: time.Now()})
	// The expected count and the deadline are known before any record.
	c.rep.Report(ProgressEvent{Progress: c.progress(time.Now())})
	c.log.Info("collector_started", "event", "collector_started", "capture", c.n, "deadline", deadline, "start_offsets", start)
	c.session = &capture.Session{Conn: c.conn, From: start, Journal: c.jw, Capture: c.n, Log: c.log}
	if err := c.session.Start(ctx); err != nil {
		return c.finish(OutcomeInterrupted, "", err)
	}
	err := c.loop(ctx)
	rest, stopErr := c.session.Stop()
	// Every group the session journaled is folded, whatever ended it, so the
	// journal and the fold never disagree.
	for _, g := range rest {
		c.hyd.ApplyAll(g)
	}
	switch {
	case c.outcome != "":
	case ctx.Err() != nil:
		c.outcome, c.message = OutcomeInterrupted, "interrupted: the journal is flushed and the artefact written with what was captured"
	case err == nil:
		err = stopErr
	}
	return c.finish(c.outcome, c.message, err)
}

// endOffsets is the answer to one ask for the drain target.
type endOffsets struct {
	offsets capture.Offsets
	err     error
}

// loop folds journaled groups and decides, until a decision stops it, ctx
// ends, or the session fails.
func (c *capturer) loop(ctx context.Context) error {
	tick := time.NewTicker(progressInterval)
	defer tick.Stop()
	var (
		asked     bool // an ask for the end offsets is in flight
		lastAsk   time.Time
		endsReady = make(chan endOffsets, 1)
	)
	for {
		now := time.Now()
		d := Decide(c.stopState(), now)
		if d.StartGrace {
			c.graceFrom = now
		}
		if d.Stop != "" {
			c.outcome, c.message = d.Stop, d.Message
			return nil
		}
		if d.TakeEndOffsets && !asked && now.Sub(lastAsk) >= endOffsetsRetry {
			asked, lastAsk = true, now
			go func() {
				actx, cancel := context.WithTimeout(ctx, endOffsetsLimit)
				defer cancel()
				offs, err := capture.EndOffsets(actx, c.conn, c.topics.Consumed())
				endsReady <- endOffsets{offs, err}
			}()
		}
		select {
		case <-ctx.Done():
			return nil
		case g, ok := <-c.session.Groups():
			if !ok {
				return c.session.Err()
			}
			c.hyd.ApplyAll(g)
			c.dirty = true
			c.tick(time.Now())
		case res := <-endsReady:
			asked = false
			if res.err != nil {
				c.log.Warn("drain_offsets_failed", "event", "drain_offsets_failed", "error", res.err)
				continue
			}
			c.drainTo = res.offsets
			c.log.Info("capture_draining", "event", "capture_draining", "end_offsets", res.offsets)
			// A partition created during the run must be read to its end
			// too; it holds only records written since, from offset 0.
			fresh := capture.Offsets{}
			for t, ps := range res.offsets {
				fresh[t] = map[int]int64{}
				for p := range ps {
					fresh[t][p] = 0
				}
			}
			if _, err := c.session.AddPartitions(fresh); err != nil {
				c.log.Warn("partition_add_failed", "event", "partition_add_failed", "error", err)
			}
		case f := <-c.ranked:
			c.rankBusy = false
			if f.err == nil {
				if !f.withSE {
					keepSE(f.ranking, c.ranking)
				}
				c.ranking = rankedOf(f.ranking)
			}
		case now := <-tick.C:
			c.tick(now)
		}
	}
}

// tick writes the artefact and reports progress when they are due.
func (c *capturer) tick(now time.Time) {
	if c.dirty && now.Sub(c.lastWrite) >= c.writeEvery {
		c.writeLive()
	}
	if now.Sub(c.lastProgress) >= progressInterval {
		c.lastProgress = now
		c.rep.Report(ProgressEvent{Progress: c.progress(now)})
	}
}

// stopState gathers what Decide looks at.
func (c *capturer) stopState() StopState {
	st := c.hyd.Stats()
	comp := c.hyd.Completion()
	s := StopState{
		Faulted: c.hyd.Faulted(), Completed: comp.Completed, HasResult: comp.HasResult, Failed: comp.Failed, FailureReason: comp.FailureReason,
		EndOffsetsTaken: c.drainTo != nil, GraceFrom: c.graceFrom, Grace: time.Duration(c.rec.PostCompletionGrace), LastActivity: c.lastActivity,
		BudgetUSD: c.rec.BudgetUSD, CostUSD: st.CostUSD, Deadline: c.deadline, Timeout: c.timeout,
		Comparisons: st.Comparisons, Succeeded: st.Succeeded, FailedComparisons: st.Failed, Expected: c.rec.Expected(),
	}
	if s.Faulted {
		s.FaultDetail = hydrator.Describe(st.Faults)
	}
	if c.drainTo != nil && c.session != nil {
		s.Drained = Reached(c.session.Next(), c.drainTo)
	}
	return s
}

// observe logs each record folded in this session and reports it; records
// refolded from an earlier session's journal (resume) are reported (not
// Current) but neither logged again nor counted in the rate.
func (c *capturer) observe(o hydrator.Observation) {
	rec := o.Record
	c.folded, c.head = rec.Seq, rec.Chain
	current := rec.Capture >= c.n
	c.rep.Report(NewRecordEvent(o, current))
	if !current {
		return
	}
	attrs := []any{"topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset, "seq", rec.Seq}
	if o.Event != nil && o.Event.Callback != nil {
		attrs = append(attrs, "correlation_id", o.Event.Callback.CorrelationID, "request_id", o.Event.Callback.RequestID)
	} else if o.Event != nil && o.Event.Envelope != nil {
		attrs = append(attrs, "correlation_id", o.Event.Envelope.CorrelationID)
	}
	switch o.Disposition {
	case hydrator.Applied:
		name := "event_applied"
		if rec.Topic == c.topics.ComparisonResult() {
			name = "comparison_applied"
			c.thisCapture++
			c.rate.add(time.Now())
			c.lastActivity = time.Now()
		}
		c.log.Info(name, append(attrs, "event", name)...)
	case hydrator.MetadataFault:
		c.log.Error("metadata_fault", append(attrs, "event", "metadata_fault", "fields", o.FaultFields, "detail", o.FaultDetail)...)
	case hydrator.Duplicate:
		c.log.Info("duplicate_skipped", append(attrs, "event", "duplicate_skipped")...)
	case hydrator.ForeignBatch:
		c.log.Info("foreign_batch_skipped", append(attrs, "event", "foreign_batch_skipped")...)
	case hydrator.Malformed:
		reason := o.Reason
		if reason == "" {
			reason = "not a valid event of its topic"
		}
		c.log.Warn("malformed_quarantined", append(attrs, "event", "malformed_quarantined", "reason", reason)...)
	case hydrator.AfterFault:
		c.log.Info("after_fault_ignored", append(attrs, "event", "after_fault_ignored")...)
	case hydrator.Suspicious:
		c.log.Warn("suspicious_event", append(attrs, "event", "suspicious_event", "reason", o.Reason)...)
	}
}

// rateCounter counts events per second over the last rateWindow seconds.
type rateCounter []rateBucket

func (r *rateCounter) add(t time.Time) {
	sec := t.Unix()
	if n := len(*r); n > 0 && (*r)[n-1].second == sec {
		(*r)[n-1].count++
		return
	}
	*r = append(*r, rateBucket{second: sec, count: 1})
	if len(*r) > rateWindow {
		*r = (*r)[len(*r)-rateWindow:]
	}
}

// series is the per-second counts of the window ending at now, oldest
// first, gaps as zeros (nil before the first event).
func (r rateCounter) series(now time.Time) []float64 {
	if len(r) == 0 {
		return nil
	}
	from := now.Unix() - rateWindow + 1
	out := make([]float64, rateWindow)
	for _, b := range r {
		if i := b.second - from; i >= 0 && i < rateWindow {
			out[i] = float64(b.count)
		}
	}
	return out
}

// writeLive writes the artefact while capturing; a write that takes long
// spaces the next ones out, so huge journals do not stall capture.
func (c *capturer) writeLive() {
	start := time.Now()
	_, _, err := c.writeArtefact(Outcome("running"), "capturing", false)
	c.writeEvery = max(minWriteInterval, 5*time.Since(start))
	c.dirty = false
	if err != nil {
		c.log.Error("artefact_write_failed", "event", "artefact_write_failed", "error", err)
	}
}

// progress is the live view's state now.
func (c *capturer) progress(now time.Time) Progress {
	if now.Sub(c.lastRank) >= rankInterval && !c.rankBusy {
		c.lastRank = now
		// Abilities every refresh; standard errors at a slower cadence
		// (a large batch's SEs take a while), the last ones shown between.
		// The refit runs off the loop, so capture never waits for it.
		withSE := now.Sub(c.lastSE) >= seInterval
		if withSE {
			c.lastSE = now
		}
		job := c.hyd.RankingJob(withSE)
		c.rankBusy = true
		go func() {
			rk, err := job()
			c.ranked <- rankedFit{ranking: rk, withSE: withSE, err: err}
		}()
	}
	p := foldProgress(c.rec, c.dir, c.hyd)
	p.Broker, p.Started, p.Deadline, p.Now = c.conn.String(), c.started, c.deadline, now
	p.Ranking, p.LastWrite, p.Writes = c.ranking, c.lastWrite, c.writes
	p.ThisCapture, p.LastCallback, p.PriorElapsed, p.Stopped = c.thisCapture, c.lastActivity, c.rec.PriorElapsed(c.n), !c.stoppedAt.IsZero()
	if c.session != nil {
		p.BrokerErrors, p.LastBrokerErr = c.session.BrokerErrors()
		p.BrokerFailing = c.session.Failing()
	}
	p.Rate = c.rate.series(now)
	return p
}

// foldProgress is the part of a progress report the fold and the run
// record give: counts, cost, problems and the completion.
func foldProgress(rec *RunRecord, dir string, hyd *hydrator.Hydrator) Progress {
	st := hyd.Stats()
	comp := hyd.Completion()
	p := Progress{BatchLabel: rec.BatchLabel, BatchUUID: rec.BatchUUID, RunDir: dir,
		Capture: len(rec.Captures), PublishedAt: rec.PublishedAt,
		Expected: rec.Expected(), Comparisons: st.Comparisons, Succeeded: st.Succeeded, FailedComparisons: st.Failed,
		CostUSD: st.CostUSD, Models: modelCosts(st.Models), DistinctPrompts: st.DistinctPrompts,
		Topics: TopicCounts(st.Topics), Records: RecordCounts(st.Dispositions), Faults: st.Faults, Completion: Completion(comp),
		BudgetUSD: rec.BudgetUSD, WaitingForResult: comp.Completed && !comp.HasResult && !comp.Failed}
	if exp := rec.Expected(); st.Comparisons > 0 && exp > 0 {
		p.ProjectedUSD = st.CostUSD / float64(st.Comparisons) * float64(max(exp, st.Comparisons))
	}
	return p
}

// writeArtefact assembles the artefact with the given outcome and writes it
// with a fresh manifest, and the offset record beside it.
func (c *capturer) writeArtefact(outcome Outcome, message string, final bool) (res artefacts.WriteResult, sec *hydrator.Sections, err error) {
	start := time.Now()
	defer func() { c.rep.Report(ArtefactWrittenEvent{Duration: time.Since(start), Err: err}) }()
	// This process wrote the journal: its chain needs no checking here.
	if sec, err = c.hyd.Sections(hydrator.FileSource(rundir.Path(c.dir, rundir.Journal), journal.Options{Trust: true})); err != nil {
		return artefacts.WriteResult{}, nil, err
	}
	if c.session != nil {
		if err = rundir.WriteJSON(c.dir, rundir.Offsets, OffsetsRecord{Start: c.session.From, Next: c.session.Next(), UpdatedAt: time.Now().UTC()}); err != nil {
			return artefacts.WriteResult{}, sec, err
		}
	}
	st := statusInput{outcome: outcome, message: message, final: final, timeout: c.timeout}
	if n := len(c.rec.Captures); final && n > 0 {
		st.endedAt = c.rec.Captures[n-1].EndedAt
	}
	a := executeArtefact(c.rec, artefacts.InputsSection(c.snap, c.anchors), c.build, sec, c.hyd.Completion(), st, time.Now())
	if c.jw != nil {
		// The journal as far as the fold has read it (the writer, owned by
		// the session, may be ahead).
		a.Validation.Journal = &artefacts.JournalIntegrity{Records: c.folded, Chain: artefacts.ChainVerified, Head: c.head}
		if c.head == "" && c.folded > 0 {
			a.Validation.Journal.Chain = artefacts.ChainLegacy
		}
	}
	if res, err = artefacts.Write(c.dir, a); err != nil {
		return res, sec, err
	}
	c.lastWrite = time.Now()
	c.writes++
	c.log.Info("artefact_written", "event", "artefact_written", "path", res.ArtefactPath, "comparisons", len(sec.LLMComparisons),
		"duration_ms", time.Since(start).Milliseconds(), "final", final)
	return res, sec, nil
}

// finish ends the capture: records it in run.json, closes the log, writes the
// final artefact and manifest, verifies them and reports the summary.
func (c *capturer) finish(outcome Outcome, message string, runErr error) Summary {
	if runErr != nil {
		message = fmt.Sprintf("capture stopped: %v", runErr)
		outcome = OutcomeInterrupted
	}
	st := c.hyd.Stats()
	if n := len(c.rec.Captures); n > 0 {
		last := &c.rec.Captures[n-1]
		last.EndedAt, last.Outcome, last.Records, last.Message, last.Timeout = time.Now().UTC(), outcome, c.hyd.LastSeq(), message, Duration(c.timeout)
	}
	recErr := rundir.WriteJSON(c.dir, rundir.RunRecord, c.rec)
	c.stoppedAt = time.Now()
	// A last progress event, so the display shows the final counts (and a
	// fault that ended the capture) and abilities before the summary.
	// Capture is over: the refit may run here.
	if rk, err := c.hyd.Ranking(false); err == nil {
		keepSE(rk, c.ranking)
		c.ranking = rankedOf(rk)
	}
	c.lastRank = time.Now()
	c.rep.Report(ProgressEvent{Progress: c.progress(c.stoppedAt)})
	c.rep.Report(PhaseEvent{Phase: PhaseWriting, At: time.Now()})
	c.log.Info("run_finishing", "event", eventName(outcome), "outcome", outcome, "message", message,
		"comparisons", st.Comparisons, "cost_usd", st.CostUSD)
	// Logs are closed before the final manifest, which does not list them.
	c.logs.Close()

	s := Summary{Outcome: outcome, ExitCode: outcome.ExitCode(), Message: message, RunDir: c.dir, BatchUUID: c.rec.BatchUUID,
		BatchLabel: c.rec.BatchLabel, Comparisons: st.Comparisons, Succeeded: st.Succeeded, Failed: st.Failed, CostUSD: st.CostUSD,
		Models: modelCosts(st.Models), Elapsed: c.rec.PriorElapsed(c.n) + c.stoppedAt.Sub(c.started)}
	for _, f := range st.Faults {
		s.Faults = append(s.Faults, hydrator.Describe([]artefacts.Fault{f}))
	}
	res, sec, err := c.writeArtefact(outcome, message, true)
	if err == nil && recErr != nil {
		err = fmt.Errorf("%s: %w", rundir.RunRecord, recErr)
	}
	if err != nil {
		var se *artefacts.SchemaError
		s.ExitCode = ExitFailure
		if errors.As(err, &se) {
			s.ExitCode = ExitVerify
		}
		s.Message = fmt.Sprintf("%s; but the final artefact could not be written: %v", message, err)
		s.Next = "the journal in " + c.dir + " holds everything captured; report this, then rebuild the artefact with `eng5np rehydrate " + c.dir + "`"
		c.rep.Report(FinishedEvent{Summary: s})
		return s
	}
	s.ArtefactPath, s.ManifestPath = res.ArtefactPath, res.ManifestPath
	if rep, err := artefacts.Verify(c.dir); err == nil {
		s.Verified = rep.OK()
		for _, p := range rep.Problems {
			s.VerifyProblems = append(s.VerifyProblems, p.String())
		}
	}
	s.SlowestModel, s.PriciestModel = modelExtremes(sec, st)
	s.Next, s.Resumable = nextStep(outcome, c.dir, c.rec)
	// What the run found questionable, then what the statistics' reader
	// must know (essays without an ability, adaptive pairing).
	s.Warnings = summaryWarnings(sec, st, c.rec.BudgetUSD)
	s.Caveats = sec.Reliability.Caveats
	c.ranking = rankingOf(sec)
	c.lastRank = time.Now() // no refit: this is the final ranking
	c.rep.Report(ProgressEvent{Progress: c.progress(c.stoppedAt)})
	s.Result = resultOf(sec)
	c.rep.Report(FinishedEvent{Summary: s})
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
func nextStep(o Outcome, dir string, rec *RunRecord) (next string, resumable bool) {
	switch o {
	case OutcomeCompleted:
		return "eng5np verify " + dir + " before handing the artefact on", false
	case OutcomeNoKafka:
		return "inspect " + rundir.Request + " in " + dir + "; run without --no-kafka to publish", false
	case OutcomeFailed:
		return "read the failure reason above and the CJ service's logs, then run the batch again", false
	case OutcomeMetadataFault:
		return artefacts.FaultAdvice, false
	case OutcomeTimeout, OutcomeInterrupted, OutcomeBudgetExceeded, OutcomeNoResult:
		cmd := "eng5np resume " + dir
		again := o == OutcomeTimeout && len(rec.Captures) >= 2
		if rec.Stack == "embedded" {
			next := "resuming needs the stack that served the run, and the embedded stack lives only as long as this process, so only its dashboard can resume in place; " +
				"for a batch you may need to resume later, start the stack with `eng5np stack up` and execute with --stack external (then `" + cmd + "` works)"
			if again {
				next = "the batch timed out again with the run's " + time.Duration(rec.CompletionTimeout).String() + " completion timeout; an in-place resume waits that long once more, " +
					"or run the batch again with a longer --completion-timeout (a resume on the embedded stack cannot change it)"
			}
			return next, true
		}
		if again {
			return "the batch timed out again: `" + cmd + " --completion-timeout 30m` waits longer (the run's own is " + time.Duration(rec.CompletionTimeout).String() + ")", true
		}
		return cmd, true
	}
	return "", false
}

// keepSE gives a θ-only ranking the standard errors and projected grades
// of the last full one.
func keepSE(rk []hydrator.Ranked, last []Ranked) {
	prev := make(map[string]Ranked, len(last))
	for _, r := range last {
		prev[r.ID] = r
	}
	for i := range rk {
		p := prev[rk[i].ID]
		rk[i].SE, rk[i].Projected, rk[i].Probability = p.SE, p.Projected, p.Probability
	}
}

// rankingOf is the final ranking from the artefact's sections: exact SEs
// and the artefact's projected grades.
func rankingOf(sec *hydrator.Sections) []Ranked {
	proj := make(map[string]artefacts.GradeProjection, len(sec.GradeProjections))
	for _, g := range sec.GradeProjections {
		proj[g.EssayID] = g
	}
	out := make([]Ranked, 0, len(sec.BTSummary))
	for _, e := range sec.BTSummary {
		r := Ranked{ID: e.EssayID, Theta: e.Theta, SE: e.StandardError, IsAnchor: e.IsAnchor, Grade: e.AnchorGrade, Compared: e.ComparisonCount, Wins: e.Wins}
		if g, ok := proj[e.EssayID]; ok {
			r.Projected, r.Probability = g.Grade, g.Probabilities[g.Grade]
		}
		out = append(out, r)
	}
	return out
}
