package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"eng5np/artefacts"
	"eng5np/events"
	"eng5np/hydrator"
	"eng5np/journal"
	"eng5np/rundir"
)

// Watch follows a run directory that another process captures (or has
// finished): it folds the journal as it grows, exactly as the capture
// does, and reports the same events — records, progress, and at the end
// the summary with the result. It reads only: it takes no lock and writes
// nothing, so any number of watchers can follow one run.
type Watch struct {
	Dir      string
	Reporter Reporter
	// Poll is how often the journal and run.json are read (default 500ms).
	Poll time.Duration
	// Settle bounds the wait for the final artefact after the capture
	// recorded its end (default 30s): the summary then reports what
	// verification found.
	Settle time.Duration
}

// watchState is what the watcher folded so far.
type watchState struct {
	rd       *RunDir
	hyd      *hydrator.Hydrator
	tail     *journal.Tail
	rate     rateCounter
	ranking  []Ranked
	lastRank time.Time
	lastSE   time.Time
	// thisCapture and lastCallback are about the newest capture.
	thisCapture  int
	lastCallback time.Time
	captures     int
	rep          Reporter
}

// Run follows the run until its capture ends and its final artefact is on
// disk, then reports and returns the summary. ctx ends the watch early
// (with ctx's error); the run itself is not touched.
func (w *Watch) Run(ctx context.Context) (Summary, error) {
	poll := w.Poll
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	settle := w.Settle
	if settle <= 0 {
		settle = 30 * time.Second
	}
	if w.Reporter == nil {
		w.Reporter = Reporters{}
	}
	rep := w.Reporter
	st, err := w.open(ctx, poll)
	if err != nil {
		return Summary{}, err
	}
	var endedSince time.Time
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		if err := w.step(st); err != nil {
			return Summary{}, err
		}
		rec := &st.rd.Record
		if sum, gone := w.abandoned(st); gone {
			rep.Report(FinishedEvent{Summary: sum})
			return sum, nil
		}
		if ended, at := captureEnded(rec); ended {
			if endedSince.IsZero() {
				endedSince = time.Now()
			}
			if sum, ok := w.finished(st, at, time.Since(endedSince) >= settle); ok {
				st.lastRank = time.Now() // the final ranking, from the sections
				rep.Report(ProgressEvent{Progress: st.progress(time.Now())})
				rep.Report(FinishedEvent{Summary: sum})
				return sum, nil
			}
		} else {
			endedSince = time.Time{}
		}
		select {
		case <-ctx.Done():
			return Summary{}, ctx.Err()
		case <-tick.C:
		}
	}
}

// open waits for the run directory to hold what the fold needs: run.json,
// inputs.json and, once execute got that far, the anchors it read.
func (w *Watch) open(ctx context.Context, poll time.Duration) (*watchState, error) {
	for {
		rd, err := OpenRunDir(w.Dir)
		switch {
		case err == nil && rd.Record.RunnerMode != "" && rd.Record.RunnerMode != rundir.ModeExecute:
			return nil, fmt.Errorf("%s: runner mode %q; watch follows execute runs", w.Dir, rd.Record.RunnerMode)
		case err == nil && (len(rd.Record.Captures) > 0 || rd.Record.NoKafka):
			st := &watchState{rd: rd, rep: w.Reporter, captures: len(rd.Record.Captures)}
			st.newFold()
			return st, nil
		case err != nil:
			if _, statErr := os.Stat(w.Dir); statErr != nil {
				return nil, fmt.Errorf("%s is not a run directory: %v", w.Dir, statErr)
			}
		}
		// The run is still preparing (or its files are being written).
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// newFold starts the fold over from the journal's first record.
func (st *watchState) newFold() {
	rec := &st.rd.Record
	cfg := hydrator.Batch{Snapshot: st.rd.Snapshot, Anchors: st.rd.Anchors, BatchUUID: rec.BatchUUID,
		Topics: events.NewTopics(rec.Kafka.TopicPrefix), Expected: rec.Expected(),
		Observe: func(o hydrator.Observation) { st.rep.Report(NewRecordEvent(o, o.Record.Capture >= st.captures)) }}
	st.hyd = hydrator.New(cfg)
	st.tail = journal.NewTail(rundir.Path(st.rd.Dir, rundir.Journal))
	st.rate, st.ranking, st.thisCapture, st.lastCallback = nil, nil, 0, time.Time{}
}

// step reads run.json and the new journal records, folds them and reports
// them and the progress.
func (w *Watch) step(st *watchState) error {
	rep := st.rep
	var rec RunRecord
	if err := rundir.ReadJSON(w.Dir, rundir.RunRecord, &rec); err == nil {
		st.rd.Record = rec
	}
	if st.rd.Anchors == nil {
		// Read once execute has fetched them; the fold needs them to map
		// the service's anchor ids, so it starts over with them.
		if a, err := readAnchorMap(w.Dir); err == nil && a != nil {
			st.rd.Anchors = a
			st.newFold()
			rep.Report(CaptureStartedEvent{Capture: len(st.rd.Record.Captures)})
		}
	}
	n := len(st.rd.Record.Captures)
	if n != st.captures {
		st.captures = n
		st.thisCapture, st.lastCallback = 0, time.Time{}
	}
	topics := events.NewTopics(st.rd.Record.Kafka.TopicPrefix)
	var recs []journal.Record
	_, err := st.tail.Read(func(r journal.Record) error { recs = append(recs, r); return nil })
	if errors.Is(err, journal.ErrTruncated) {
		st.newFold()
		rep.Report(CaptureStartedEvent{Capture: n})
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", rundir.Journal, err)
	}
	for _, r := range recs {
		d := st.hyd.Apply(r) // reports the record through the fold's observer
		if d == hydrator.Applied && r.Topic == topics.ComparisonResult() && r.Capture >= n {
			st.thisCapture++
			st.rate.add(r.ReceivedAt)
			st.lastCallback = r.ReceivedAt
		}
	}
	rep.Report(ProgressEvent{Progress: st.progress(time.Now())})
	return nil
}

// progress is the watched run's state now.
func (st *watchState) progress(now time.Time) Progress {
	rec := &st.rd.Record
	wall := now
	p := foldProgress(rec, st.rd.Dir, st.hyd)
	p.Broker = fmt.Sprint(rec.Kafka.Bootstrap)
	if len(rec.Kafka.Bootstrap) == 1 {
		p.Broker = rec.Kafka.Bootstrap[0]
	}
	n := len(rec.Captures)
	if n > 0 {
		last := rec.Captures[n-1]
		timeout := time.Duration(last.Timeout)
		if timeout <= 0 {
			timeout = time.Duration(rec.CompletionTimeout)
		}
		p.Started, p.Deadline = last.StartedAt, last.StartedAt.Add(timeout)
		p.PriorElapsed = rec.PriorElapsed(last.N)
		if !last.EndedAt.IsZero() {
			p.Stopped, now = true, last.EndedAt
		}
	}
	p.Now = now
	if fi, err := os.Stat(rundir.Path(st.rd.Dir, rundir.Artefact(rundir.ModeExecute))); err == nil {
		p.LastWrite = fi.ModTime()
	}
	p.ThisCapture, p.LastCallback = st.thisCapture, st.lastCallback
	p.Rate = st.rate.series(now)
	// The ranking at the live view's cadence; the watcher's own loop may
	// wait for it (it captures nothing).
	if wall.Sub(st.lastRank) >= rankInterval && p.Comparisons > 0 {
		st.lastRank = wall
		withSE := wall.Sub(st.lastSE) >= seInterval
		if withSE {
			st.lastSE = wall
		}
		if rk, err := st.hyd.Ranking(withSE); err == nil {
			if !withSE {
				keepSE(rk, st.ranking)
			}
			st.ranking = rankedOf(rk)
		}
	}
	p.Ranking = st.ranking
	return p
}

// captureEnded reports whether the run's last capture recorded its end,
// and when.
func captureEnded(rec *RunRecord) (bool, time.Time) {
	if rec.NoKafka && len(rec.Captures) == 0 {
		return true, rec.CreatedAt
	}
	n := len(rec.Captures)
	if n == 0 {
		return false, time.Time{}
	}
	last := rec.Captures[n-1]
	return !last.EndedAt.IsZero() && last.Outcome != "", last.EndedAt
}

// finished builds the summary once the final artefact and manifest are on
// disk and verify (or, with force, whatever verification says).
func (w *Watch) finished(st *watchState, endedAt time.Time, force bool) (Summary, bool) {
	rd := st.rd
	artefact := rundir.Path(w.Dir, rundir.Artefact(rundir.ModeExecute))
	manifest := rundir.Path(w.Dir, rundir.Manifest)
	fa, errA := os.Stat(artefact)
	fm, errM := os.Stat(manifest)
	written := errA == nil && errM == nil && !fa.ModTime().Before(endedAt) && !fm.ModTime().Before(endedAt)
	if !written && !force {
		return Summary{}, false
	}
	rep, verr := artefacts.Verify(w.Dir)
	if (verr != nil || !rep.OK()) && !force {
		return Summary{}, false // the writer may be between the artefact and the manifest
	}
	rec := &rd.Record
	last := CaptureRecord{}
	if n := len(rec.Captures); n > 0 {
		last = rec.Captures[n-1]
	}
	outcome := last.Outcome
	if rec.NoKafka && len(rec.Captures) == 0 {
		outcome = OutcomeNoKafka
	}
	stats := st.hyd.Stats()
	s := Summary{Outcome: outcome, ExitCode: outcome.ExitCode(), Message: last.Message, RunDir: w.Dir, BatchUUID: rec.BatchUUID,
		BatchLabel: rec.BatchLabel, Comparisons: stats.Comparisons, Succeeded: stats.Succeeded, Failed: stats.Failed, CostUSD: stats.CostUSD,
		Models: modelCosts(stats.Models), Elapsed: rec.PriorElapsed(last.N) + last.EndedAt.Sub(last.StartedAt)}
	for _, f := range stats.Faults {
		s.Faults = append(s.Faults, hydrator.Describe([]artefacts.Fault{f}))
	}
	if written {
		s.ArtefactPath, s.ManifestPath = artefact, manifest
	}
	if verr == nil {
		s.Verified = rep.OK()
		for _, p := range rep.Problems {
			s.VerifyProblems = append(s.VerifyProblems, p.String())
		}
	} else {
		s.VerifyProblems = []string{verr.Error()}
	}
	// The same sections the artefact has: the fold is the capture's.
	if sec, err := st.hyd.Sections(hydrator.FileSource(rundir.Path(w.Dir, rundir.Journal), journal.Options{Trust: true})); err == nil {
		s.SlowestModel, s.PriciestModel = modelExtremes(sec, stats)
		s.Warnings = summaryWarnings(sec, stats, rec.BudgetUSD)
		s.Caveats = sec.Reliability.Caveats
		s.Result = resultOf(sec)
		st.ranking = rankingOf(sec)
	}
	s.Next, s.Resumable = nextStep(outcome, w.Dir, rec)
	return s, true
}

// abandoned reports a capture whose process ended without recording the
// end of it (killed, or its machine went down): the watcher would wait for
// ever. It can tell only for a process of this machine; the journal and
// the last live artefact are what that capture left, and resume continues
// it.
func (w *Watch) abandoned(st *watchState) (Summary, bool) {
	rec := &st.rd.Record
	n := len(rec.Captures)
	if n == 0 {
		return Summary{}, false
	}
	last := rec.Captures[n-1]
	if !last.EndedAt.IsZero() {
		return Summary{}, false
	}
	h, ok := rundir.LastHolder(w.Dir)
	if !ok || !h.Gone() {
		return Summary{}, false
	}
	stats := st.hyd.Stats()
	s := Summary{Outcome: OutcomeInterrupted, ExitCode: ExitInterrupted, RunDir: w.Dir, BatchUUID: rec.BatchUUID, BatchLabel: rec.BatchLabel,
		Comparisons: stats.Comparisons, Succeeded: stats.Succeeded, Failed: stats.Failed, CostUSD: stats.CostUSD, Models: modelCosts(stats.Models),
		Elapsed: rec.PriorElapsed(last.N) + time.Since(last.StartedAt),
		Message: fmt.Sprintf("the capturing process (pid %d, %s) ended without recording the end of capture %d: it was killed or crashed; "+
			"the journal holds everything it captured", h.PID, h.Command, last.N)}
	if rec.Stack == "embedded" {
		s.Next = "the embedded stack ended with that process, so the capture cannot continue: `eng5np rehydrate " + w.Dir +
			"` turns the journal into a final artefact, and the batch can be run again"
	} else {
		s.Next, s.Resumable = "`eng5np resume "+w.Dir+"` continues the capture (and `eng5np rehydrate "+w.Dir+"` rebuilds the artefact from the journal)", true
	}
	return s, true
}
