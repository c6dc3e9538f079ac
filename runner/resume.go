package runner

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"eng5np/artefacts"
	"eng5np/config"
	"eng5np/events"
	"eng5np/journal"
	"eng5np/rundir"
)

// Resume continues the capture of an existing run without republishing: it
// folds the journal (discarding a torn last line), continues each partition
// after the last record journaled, merges late events idempotently and
// rewrites the artefact and manifest in place.
type Resume struct {
	Dir    string
	Config *config.Config
	// Endpoints overrides the addresses recorded in run.json (nil: use
	// ResumeEndpoints).
	Endpoints *Endpoints
	// CompletionTimeout, when > 0, replaces the run's for this capture,
	// counted from now.
	CompletionTimeout time.Duration
	Reporter          Reporter
	Stderr            io.Writer
}

// NotResumableError says why a run cannot be resumed.
type NotResumableError struct {
	Dir     string
	Outcome Outcome
	Reason  string
}

func (e *NotResumableError) Error() string { return fmt.Sprintf("%s: %s", e.Dir, e.Reason) }

// Finished reports whether the run already ended well, so that there is
// nothing to resume and nothing wrong either.
func (e *NotResumableError) Finished() bool {
	return e.Outcome == OutcomeCompleted
}

// CheckResumable says why a run cannot be resumed, or nil when it can.
func CheckResumable(rd *RunDir) error {
	rec := &rd.Record
	if rec.NoKafka || rec.PublishedAt.IsZero() {
		return &NotResumableError{Dir: rd.Dir, Outcome: OutcomeNoKafka, Reason: "the CJ request of this run was never published, so there is nothing to capture; run `eng5np execute` again"}
	}
	if n := len(rec.Captures); n > 0 {
		switch last := rec.Captures[n-1].Outcome; last {
		case OutcomeCompleted:
			return &NotResumableError{Dir: rd.Dir, Outcome: last, Reason: "the run already completed; there is nothing to resume (`eng5np verify` checks its artefact)"}
		case OutcomeFailed:
			return &NotResumableError{Dir: rd.Dir, Outcome: last, Reason: "the CJ service failed this batch; resuming cannot change that: run the batch again"}
		case OutcomeMetadataFault:
			return &NotResumableError{Dir: rd.Dir, Outcome: last, Reason: "the run stopped on a metadata fault, which resuming would only hit again; the artefact is final: fix the producer and run the batch again"}
		}
	}
	if len(rd.Offsets.Start) == 0 {
		return &NotResumableError{Dir: rd.Dir, Reason: rundir.Offsets + " is missing, so the capture's start is unknown"}
	}
	return nil
}

// Run resumes the capture.
func (x *Resume) Run(ctx context.Context) (Summary, error) {
	lock, err := lockRun(x.Dir, "eng5np resume")
	if err != nil {
		return Summary{}, err
	}
	defer lock.Release()
	rd, err := OpenRunDir(x.Dir)
	if err != nil {
		return Summary{}, err
	}
	if err := CheckResumable(rd); err != nil {
		return Summary{}, err
	}
	rec := &rd.Record
	build, err := artefacts.CurrentBuild()
	if err != nil {
		return Summary{}, err
	}
	var ep Endpoints
	if x.Endpoints != nil {
		ep = *x.Endpoints
	} else if ep, err = ResumeEndpoints(rd, x.Config); err != nil {
		return Summary{}, err
	}
	level := slog.LevelWarn
	if x.Config != nil {
		level = x.Config.LogLevel
	}
	logs, err := openRunLog(x.Dir, x.Stderr, level, rec.BatchUUID, rec.BatchLabel, rundir.ModeExecute)
	if err != nil {
		return Summary{}, err
	}
	defer logs.Close()

	jo, err := journal.Open(rundir.Path(x.Dir, rundir.Journal), true)
	if err != nil {
		return Summary{}, err
	}
	defer jo.Writer.Close()
	if jo.TornBytes > 0 {
		logs.Logger.Warn("journal_torn_tail_discarded", "event", "journal_torn_tail_discarded", "bytes", jo.TornBytes)
	}
	r := &run{dir: x.Dir, rec: rec, snap: rd.Snapshot, anchors: rd.Anchors, build: build, topics: events.NewTopics(rec.Kafka.TopicPrefix),
		log: logs.Logger, logs: logs, rep: Reporters{x.Reporter}}
	c := newCapturer(r, ep.Kafka, jo.Writer, len(rec.Captures)+1)
	next := rd.Offsets.Start.Clone()
	for t, ps := range rd.Offsets.Next {
		for p, off := range ps {
			if next[t] != nil && off > next[t][p] {
				next[t][p] = off
			}
		}
	}
	for _, rc := range jo.Records {
		c.hyd.Apply(rc)
		if next[rc.Topic] != nil && rc.Offset+1 > next[rc.Topic][rc.Partition] {
			next[rc.Topic][rc.Partition] = rc.Offset + 1
		}
	}
	jo.Records = nil
	logs.Logger.Info("resume_started", "event", "resume_started", "journal_records", c.hyd.LastSeq(), "start_offsets", next)

	timeout := time.Duration(rec.CompletionTimeout)
	if x.CompletionTimeout > 0 {
		timeout = x.CompletionTimeout
	}
	if x.Config != nil && x.Config.Explicit("post_completion_grace") {
		rec.PostCompletionGrace = Duration(x.Config.PostCompletionGrace)
	}
	if x.Config != nil && x.Config.Explicit("budget_usd") {
		rec.BudgetUSD = x.Config.BudgetUSD
	}
	return c.capture(ctx, next, time.Now().Add(timeout), timeout), nil
}
