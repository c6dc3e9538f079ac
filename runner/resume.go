package runner

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"eng5np/artefacts"
	"eng5np/capture"
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
			return &NotResumableError{Dir: rd.Dir, Outcome: last, Reason: "the run stopped on a metadata fault; the artefact is final: " + artefacts.FaultAdvice}
		}
	}
	if len(rd.Offsets.Start) == 0 {
		return &NotResumableError{Dir: rd.Dir, Reason: rundir.Offsets + " is missing, so the capture's start is unknown"}
	}
	return nil
}

// checkBrokerKeeps refuses a resume the broker can no longer serve: a
// partition whose log now ends before what the run already journaled (the
// broker lost its data: a dev stack restarted without --data-dir, a topic
// recreated; the CJ service there no longer knows the batch either), or
// whose retention deleted records the run never read. A broker that does
// not answer is left to the capture, which retries until the deadline.
func checkBrokerKeeps(ctx context.Context, c capture.Conn, next capture.Offsets, dir string) error {
	topics := make([]string, 0, len(next))
	for t := range next {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	end, err := capture.EndOffsets(actx, c, topics)
	if err != nil {
		if strings.Contains(err.Error(), "does not exist") {
			return Exitf(ExitFailure, "the run's events are gone with the topic; run the batch again with `eng5np execute`",
				"cannot resume %s: %v (the broker no longer has the run's topics)", dir, err)
		}
		return nil
	}
	first, err := capture.StartOffsets(actx, c, topics)
	if err != nil {
		return nil
	}
	for _, t := range topics {
		parts := make([]int, 0, len(next[t]))
		for p := range next[t] {
			parts = append(parts, p)
		}
		sort.Ints(parts)
		for _, p := range parts {
			want := next[t][p]
			e, ok := end[t][p]
			switch {
			case !ok:
				return Exitf(ExitFailure, "the run's events are gone; run the batch again with `eng5np execute`",
					"cannot resume %s: partition %s/%d, which the run read, no longer exists on %s (the topic was recreated)", dir, t, p, c)
			case e < want:
				return Exitf(ExitFailure, "the CJ service behind this broker cannot know the batch either; run the batch again with `eng5np execute`",
					"cannot resume %s: %s/%d on %s ends at offset %d, but the run already journaled up to %d: the broker lost its data "+
						"(a dev stack restarted without --data-dir, or a recreated topic)", dir, t, p, c, e, want)
			case first[t][p] > want:
				return Exitf(ExitFailure, "raise the topics' retention for long batches; run the batch again with `eng5np execute`",
					"cannot resume %s: %s/%d on %s now starts at offset %d, after %d where the run stopped reading: retention deleted %d records the run never captured",
					dir, t, p, c, first[t][p], want, first[t][p]-want)
			}
		}
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
	// Where to continue: after the last record journaled on every
	// partition, those found during the run included.
	next := rd.Offsets.Start.Clone()
	raise := func(t string, p int, off int64) {
		if next[t] == nil {
			return // not a consumed topic
		}
		if cur, ok := next[t][p]; !ok || off > cur {
			next[t][p] = off
		}
	}
	for t, ps := range rd.Offsets.Next {
		for p, off := range ps {
			raise(t, p, off)
		}
	}
	for _, rc := range jo.Records {
		c.hyd.Apply(rc)
		raise(rc.Topic, rc.Partition, rc.Offset+1)
	}
	jo.Records = nil
	if err := checkBrokerKeeps(ctx, ep.Kafka, next, x.Dir); err != nil {
		logs.Logger.Error("resume_refused", "event", "resume_refused", "error", err)
		return Summary{}, err
	}
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
