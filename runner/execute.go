package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"eng5np/artefacts"
	"eng5np/capture"
	"eng5np/config"
	"eng5np/events"
	"eng5np/hydrator"
	"eng5np/journal"
	"eng5np/rundir"
)

// Execute is one `eng5np execute`: it uploads the essays, registers the
// anchors, publishes the CJ request and captures the event stream into the
// journal and the artefact.
type Execute struct {
	Config    *config.Config
	Endpoints Endpoints
	// Plan is the plan the pre-flight checks built; nil builds it again.
	Plan     *Plan
	Reporter Reporter
	// Stderr, when set, receives log lines at the configured level.
	Stderr io.Writer
	// Hooks lets observers (metrics) see each folded record.
	Hooks Hooks
}

// Hooks observe a run (metrics use them).
type Hooks struct {
	// Started is called when a capture session begins, before the journal
	// is (re)folded; capture is the session's number.
	Started func(capture int)
	// Observe is called for every record folded, in journal order.
	Observe func(hydrator.Observation)
	// Written is called after every artefact write with its duration.
	Written func(d time.Duration, err error)
	// Events receives every event the Reporter does (phases, progress, the
	// end), before any display coalesces them.
	Events Reporter
}

// Run executes the batch. The error is for failures before a run directory
// exists (a bad plan, missing ids); everything after ends in a Summary with
// an outcome and the artefact written.
func (x *Execute) Run(ctx context.Context) (Summary, error) {
	cfg := x.Config
	rep := fanOut{x.Reporter, x.Hooks.Events}
	plan := x.Plan
	if plan == nil {
		var err error
		if plan, err = BuildPlan(cfg); err != nil {
			return Summary{}, err
		}
	}
	if err := plan.Settings.RequireIDs(); err != nil {
		return Summary{}, err
	}
	build, err := artefacts.CurrentBuild()
	if err != nil {
		return Summary{}, err
	}
	rep.Report(PhaseEvent{Phase: PhasePreparing, At: time.Now()})

	started := time.Now().UTC()
	batchUUID := NewBatchUUID()
	dir, err := rundir.Create(cfg.OutputDir, plan.Settings.BatchLabel, batchUUID, started)
	if err != nil {
		return Summary{}, err
	}
	logs, err := openRunLog(dir, x.Stderr, cfg.LogLevel, batchUUID, plan.Settings.BatchLabel, rundir.ModeExecute)
	if err != nil {
		return Summary{}, err
	}
	defer logs.Close()
	log := logs.Logger
	log.Info("run_started", "event", "run_started", "run_dir", dir, "stack", cfg.Stack, "inputs", cfg.Inputs,
		"anchors", len(plan.Batch.Anchors), "students", len(plan.Batch.Students), "max_comparisons", cfg.MaxComparisons)

	snap := plan.Batch.Snapshot()
	if err := rundir.WriteJSON(dir, rundir.Inputs, snap); err != nil {
		return Summary{}, err
	}
	rec := &RunRecord{Version: 1, BatchUUID: batchUUID, BatchLabel: plan.Settings.BatchLabel, RunnerMode: rundir.ModeExecute,
		CreatedAt: started, CorrelationID: uuid.NewString(), Settings: plan.Settings, Stack: cfg.Stack,
		ContentServiceURL: x.Endpoints.ContentURL, CJServiceURL: x.Endpoints.CJURL, MaxComparisons: cfg.MaxComparisons,
		CompletionTimeout: Duration(cfg.CompletionTimeout), PostCompletionGrace: Duration(cfg.PostCompletionGrace),
		BudgetUSD: cfg.BudgetUSD, LLMConfigOverrides: overrides(cfg, plan.Batch.Prompt.Text), NoKafka: cfg.NoKafka, Captures: []CaptureRecord{}}
	rec.Kafka.Bootstrap = x.Endpoints.Kafka.Bootstrap
	rec.Kafka.ClientID = cfg.Kafka.ClientID
	rec.Kafka.TopicPrefix = cfg.Kafka.TopicPrefix
	rec.Kafka.SASLMechanism = cfg.Kafka.SASLMechanism
	rec.Kafka.SASLUsername = cfg.Kafka.SASLUsername
	rec.Kafka.TLS = x.Endpoints.Kafka.TLS != nil
	if err := rundir.WriteJSON(dir, rundir.RunRecord, rec); err != nil {
		return Summary{}, err
	}

	fail := func(stage string, err error) (Summary, error) {
		log.Error("run_failed", "event", "run_failed", "stage", stage, "error", err)
		s := Summary{Outcome: OutcomePreflightFailed, ExitCode: 1, RunDir: dir, BatchUUID: batchUUID, BatchLabel: rec.BatchLabel,
			Message: fmt.Sprintf("%s failed: %v", stage, err), Next: "check the service named above, then run `eng5np execute` again (nothing was published)"}
		rep.Report(FinishedEvent{Summary: s})
		return s, nil
	}

	svc := newServices(x.Endpoints)
	rep.Report(PhaseEvent{Phase: PhaseUploading, Detail: fmt.Sprintf("%d essays and the instructions", len(plan.Batch.Students)), At: time.Now()})
	cache := map[string]string{}
	upload := func(text string) (string, error) {
		h := sha256.Sum256([]byte(text))
		key := hex.EncodeToString(h[:])
		if id, ok := cache[key]; ok {
			return id, nil
		}
		id, err := svc.upload(ctx, text)
		if err == nil {
			cache[key] = id
		}
		return id, err
	}
	promptRef, err := upload(plan.Batch.Instructions.Text)
	if err != nil {
		return fail("uploading the instructions", err)
	}
	essays := make([]events.EssayRef, 0, len(plan.Batch.Students))
	for _, st := range plan.Batch.Students {
		id, err := upload(st.Text)
		if err != nil {
			return fail("uploading "+st.SourcePath, err)
		}
		essays = append(essays, events.EssayRef{EssayID: st.WireID, TextStorageID: id})
	}
	if err := rundir.WriteJSON(dir, rundir.UploadCache, map[string]any{"content_service_url": x.Endpoints.ContentURL, "by_sha256": cache}); err != nil {
		return Summary{}, err
	}
	log.Info("essays_uploaded", "event", "essays_uploaded", "essays", len(essays), "distinct_texts", len(cache))

	rep.Report(PhaseEvent{Phase: PhaseRegister, Detail: fmt.Sprintf("%d anchors", len(plan.Batch.Anchors)), At: time.Now()})
	for _, a := range plan.Batch.Anchors {
		if err := svc.registerAnchor(ctx, plan.Settings.AssignmentID, a.ID, a.Grade, a.Text); err != nil {
			return fail("registering anchor "+a.ID, err)
		}
	}
	log.Info("anchors_registered", "event", "anchors_registered", "anchors", len(plan.Batch.Anchors), "assignment_id", plan.Settings.AssignmentID)

	topics := events.NewTopics(cfg.Kafka.TopicPrefix)
	value, err := requestEnvelope(rec, plan, essays, promptRef, topics, cfg)
	if err != nil {
		return Summary{}, err
	}
	if err := rundir.WriteFile(dir, rundir.Request, value); err != nil {
		return Summary{}, err
	}

	run := &runState{dir: dir, rec: rec, snap: snap, topics: topics, build: build, log: log, logs: logs, rep: rep, hooks: x.Hooks,
		conn: x.Endpoints.Kafka, expected: cfg.MaxComparisons, captureN: 1}
	run.hyd = hydrator.New(hydrator.Config{Snapshot: snap, BatchUUID: batchUUID, Topics: topics, Observe: run.observe})
	if x.Hooks.Started != nil {
		x.Hooks.Started(1)
	}

	if cfg.NoKafka {
		log.Info("request_written", "event", "request_written", "path", rundir.Request, "published", false)
		return run.finish(OutcomeNoKafka, "--no-kafka: the request was written to "+rundir.Request+" and not published", nil), nil
	}

	// The consumer is ready before the request goes out: the end of every
	// consumed partition is recorded first and capture starts there.
	start, err := capture.EndOffsets(ctx, x.Endpoints.Kafka, topics.Consumed())
	if err != nil {
		return fail("reading the topics' end offsets", err)
	}
	if err := rundir.WriteJSON(dir, rundir.Offsets, OffsetsRecord{Start: start, Next: start, UpdatedAt: time.Now().UTC()}); err != nil {
		return Summary{}, err
	}
	jo, err := journal.Open(rundir.Path(dir, rundir.Journal), false)
	if err != nil {
		return Summary{}, err
	}
	run.jw = jo.Writer
	defer run.jw.Close()

	rep.Report(PhaseEvent{Phase: PhasePublishing, Detail: topics.Requested(), At: time.Now()})
	published, err := capture.Publish(ctx, x.Endpoints.Kafka, topics.Requested(), []byte(batchUUID), value)
	if err != nil {
		return fail("publishing the CJ request", err)
	}
	rec.PublishedAt = published
	log.Info("request_published", "event", "request_published", "topic", topics.Requested(), "published_at", published, "correlation_id", rec.CorrelationID)

	return run.capture(ctx, start, published.Add(cfg.CompletionTimeout), cfg.CompletionTimeout), nil
}

func requestEnvelope(rec *RunRecord, plan *Plan, essays []events.EssayRef, promptRef string, topics events.Topics, cfg *config.Config) ([]byte, error) {
	assignment := plan.Settings.AssignmentID
	now := events.Now()
	req := events.CJRequest{
		EventName: events.RequestEventName, EntityID: rec.BatchUUID, EntityType: "batch", ParentID: &assignment, Timestamp: now,
		SystemMetadata: events.SystemMetadata{EntityID: rec.BatchUUID, EntityType: "batch", ParentID: &assignment, ProcessingStage: "pending", Event: events.RequestEventName},
		EssaysForCJ:    essays, Language: plan.Settings.Language, CourseCode: plan.Settings.CourseCode, AssignmentID: assignment,
		UserID: cfg.Kafka.ClientID, StudentPromptRef: &events.PromptRef{TextStorageID: promptRef}, LLMConfigOverrides: rec.LLMConfigOverrides,
	}
	meta := map[string]any{"runner_mode": rundir.ModeExecute, "batch_label": rec.BatchLabel, "max_comparisons": cfg.MaxComparisons}
	env, err := events.NewEnvelope(topics.Requested(), events.RunnerSourceService, rec.CorrelationID, req, meta, now.Time)
	if err != nil {
		return nil, err
	}
	return env.Encode()
}
