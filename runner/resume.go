package runner

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"eng5np/artefacts"
	"eng5np/capture"
	"eng5np/config"
	"eng5np/events"
	"eng5np/hydrator"
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
	// Endpoints overrides the addresses recorded in run.json (nil: use them;
	// the SASL password always comes from the settings).
	Endpoints *Endpoints
	// CompletionTimeout, when > 0, replaces the run's for this capture,
	// counted from now.
	CompletionTimeout time.Duration
	Reporter          Reporter
	Stderr            io.Writer
	Hooks             Hooks
}

// NotResumableError says why a run cannot be resumed.
type NotResumableError struct {
	Dir     string
	Outcome Outcome
	Reason  string
}

func (e *NotResumableError) Error() string { return fmt.Sprintf("%s: %s", e.Dir, e.Reason) }

// ResumeEndpoints returns the endpoints recorded in a run directory, with the
// connection settings (SASL, TLS) of cfg.
func ResumeEndpoints(rd *RunDir, cfg *config.Config) (Endpoints, error) {
	conn, err := capture.ConnFromConfig(cfg, rd.Record.Kafka.Bootstrap)
	if err != nil {
		return Endpoints{}, err
	}
	return Endpoints{Kafka: conn, ContentURL: rd.Record.ContentServiceURL, CJURL: rd.Record.CJServiceURL}, nil
}

// Run resumes the capture.
func (x *Resume) Run(ctx context.Context) (Summary, error) {
	rd, err := OpenRunDir(x.Dir)
	if err != nil {
		return Summary{}, err
	}
	rec := &rd.Record
	if rec.NoKafka || rec.PublishedAt.IsZero() {
		return Summary{}, &NotResumableError{Dir: x.Dir, Outcome: OutcomeNoKafka, Reason: "the CJ request of this run was never published, so there is nothing to capture; run `eng5np execute` again"}
	}
	if n := len(rec.Captures); n > 0 {
		switch last := rec.Captures[n-1].Outcome; last {
		case OutcomeCompleted, OutcomeNoResult:
			return Summary{}, &NotResumableError{Dir: x.Dir, Outcome: last, Reason: "the run already completed; there is nothing to resume (`eng5np verify` checks its artefact)"}
		case OutcomeFailed:
			return Summary{}, &NotResumableError{Dir: x.Dir, Outcome: last, Reason: "the CJ service failed this batch; resuming cannot change that: run the batch again"}
		case OutcomeMetadataFault:
			return Summary{}, &NotResumableError{Dir: x.Dir, Outcome: last, Reason: "the run stopped on a metadata fault, which resuming would only hit again; the artefact is final: fix the producer and run the batch again"}
		}
	}
	if len(rd.Offsets.Start) == 0 {
		return Summary{}, &NotResumableError{Dir: x.Dir, Reason: "events/offsets.json is missing, so the capture's start is unknown"}
	}
	build, err := artefacts.CurrentBuild()
	if err != nil {
		return Summary{}, err
	}
	ep := Endpoints{}
	if x.Endpoints != nil {
		ep = *x.Endpoints
	} else if ep, err = ResumeEndpoints(rd, x.Config); err != nil {
		return Summary{}, err
	}
	rep := fanOut{x.Reporter, x.Hooks.Events}
	level := slog.LevelWarn
	if x.Config != nil {
		level = x.Config.LogLevel
	}
	logs, err := openRunLog(x.Dir, x.Stderr, level, rec.BatchUUID, rec.BatchLabel, rundir.ModeExecute)
	if err != nil {
		return Summary{}, err
	}
	defer logs.Close()

	topics := events.NewTopics(rec.Kafka.TopicPrefix)
	jo, err := journal.Open(rundir.Path(x.Dir, rundir.Journal), true)
	if err != nil {
		return Summary{}, err
	}
	defer jo.Writer.Close()
	if jo.TornBytes > 0 {
		logs.Logger.Warn("journal_torn_tail_discarded", "event", "journal_torn_tail_discarded", "bytes", jo.TornBytes)
	}
	capture := len(rec.Captures) + 1
	if x.Hooks.Started != nil {
		x.Hooks.Started(capture)
	}
	run := &runState{dir: x.Dir, rec: rec, snap: rd.Snapshot, topics: topics, build: build, log: logs.Logger, logs: logs, rep: rep,
		hooks: x.Hooks, conn: ep.Kafka, expected: rec.MaxComparisons, jw: jo.Writer, captureN: capture}
	hyd := hydrator.New(hydrator.Config{Snapshot: rd.Snapshot, BatchUUID: rec.BatchUUID, Topics: topics, Observe: run.observe})
	run.hyd = hyd
	next := rd.Offsets.Start.Clone()
	for t, ps := range rd.Offsets.Next {
		for p, off := range ps {
			if next[t] != nil && off > next[t][p] {
				next[t][p] = off
			}
		}
	}
	for _, r := range jo.Records {
		hyd.Apply(r)
		if next[r.Topic] != nil && r.Offset+1 > next[r.Topic][r.Partition] {
			next[r.Topic][r.Partition] = r.Offset + 1
		}
	}
	jo.Records = nil
	logs.Logger.Info("resume_started", "event", "resume_started", "journal_records", hyd.LastSeq(), "start_offsets", next)

	timeout := time.Duration(rec.CompletionTimeout)
	if x.CompletionTimeout > 0 {
		timeout = x.CompletionTimeout
	}
	if x.Config != nil && x.Config.Source("post_completion_grace") != "default" {
		rec.PostCompletionGrace = Duration(x.Config.PostCompletionGrace)
	}
	if x.Config != nil && x.Config.Source("budget_usd") != "default" {
		rec.BudgetUSD = x.Config.BudgetUSD
	}
	return run.capture(ctx, next, time.Now().Add(timeout), timeout), nil
}
