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
	"eng5np/huleedu"
	"eng5np/inputs"
	"eng5np/journal"
	"eng5np/rundir"
)

// stagePublishing names the publish in messages.
const stagePublishing = "publishing the CJ request"

// Execute is one `eng5np execute`: it uploads the essays, registers the
// anchors, publishes the CJ request and captures the event stream into the
// journal and the artefact.
type Execute struct {
	Config    *config.Config
	Endpoints Endpoints
	// Plan is the plan the pre-flight checks built; nil builds it again.
	Plan *Plan
	// Reporter receives every event of the run (displays and metrics).
	Reporter Reporter
	// Stderr, when set, receives log lines at the configured level.
	Stderr io.Writer
}

// newRunRecord is run.json of a fresh run of the plan.
func newRunRecord(cfg *config.Config, plan *Plan, mode, batchUUID, stack string, ep Endpoints, started time.Time) *RunRecord {
	rec := &RunRecord{Version: 1, BatchUUID: batchUUID, BatchLabel: plan.Settings.BatchLabel, RunnerMode: mode, CreatedAt: started,
		CorrelationID: uuid.NewString(), Settings: plan.Settings, Stack: stack, ContentServiceURL: huleedu.Redact(ep.ContentURL), CJServiceURL: huleedu.Redact(ep.CJURL),
		MaxComparisons: cfg.MaxComparisons, EffectiveMax: cfg.EffectiveComparisons(), UserID: UserID(cfg), OrgID: cfg.OrgID,
		NoRubricOverride: cfg.NoRubricOverride, CompletionTimeout: Duration(cfg.CompletionTimeout), PostCompletionGrace: Duration(cfg.PostCompletionGrace),
		BudgetUSD: cfg.BudgetUSD, LLMConfigOverrides: overrides(cfg, plan.Batch.Prompt.Text), NoKafka: cfg.NoKafka, Captures: []CaptureRecord{},
		Kafka: KafkaRecord{Bootstrap: ep.Kafka.Bootstrap, ClientID: cfg.Kafka.ClientID, TopicPrefix: cfg.Kafka.TopicPrefix,
			SASLMechanism: cfg.Kafka.SASLMechanism, SASLUsername: cfg.Kafka.SASLUsername, TLS: ep.Kafka.TLS != nil}}
	return rec
}

// overrides are the LLM settings the run sends with its request: the
// configured provider and model, the optional temperature, token limit,
// reasoning and verbosity hints and system prompt, and the batch's
// prompt.md as the judge rubric unless --no-rubric-override.
func overrides(cfg *config.Config, rubric string) *events.LLMConfigOverrides {
	o := &events.LLMConfigOverrides{
		ProviderOverride:     cfg.LLM.Provider,
		ModelOverride:        cfg.LLM.Model,
		TemperatureOverride:  cfg.LLM.Temperature,
		MaxTokensOverride:    cfg.LLM.MaxTokens,
		SystemPromptOverride: cfg.LLM.SystemPrompt,
		ReasoningEffort:      cfg.LLM.ReasoningEffort,
		OutputVerbosity:      cfg.LLM.OutputVerbosity,
	}
	if !cfg.NoRubricOverride {
		o.JudgeRubricOverride = rubric
	}
	return o
}

// Run executes the batch. The error is for failures before a run directory
// exists (a bad plan, missing ids); everything after ends in a Summary with
// an outcome and the artefact written.
func (x *Execute) Run(ctx context.Context) (Summary, error) {
	cfg := x.Config
	rep := Reporters{x.Reporter}
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
	if err := RequireModel(cfg); err != nil {
		return Summary{}, err
	}
	build, err := artefacts.CurrentBuild()
	if err != nil {
		return Summary{}, err
	}
	rep.Report(PhaseEvent{Phase: PhasePreparing, At: time.Now()})
	client := x.Endpoints.client()
	assignment := plan.Settings.AssignmentID
	instructions, err := client.Instructions(ctx, assignment)
	switch {
	case notFound(err):
		return Summary{}, Exitf(ExitFailure, setupFix, "assignment %s has no assessment instructions in the CJ service: it would fail the batch", assignment)
	case err != nil:
		return Summary{}, adminError("reading the instructions of assignment "+assignment, err)
	}
	if err := RubricAllowed(cfg, assignment, instructions); err != nil {
		return Summary{}, err
	}

	started := time.Now().UTC()
	batchUUID := NewBatchUUID()
	dir, err := rundir.Create(cfg.OutputDir, plan.Settings.BatchLabel, batchUUID, started)
	if err != nil {
		return Summary{}, err
	}
	lock, err := rundir.Acquire(dir, "eng5np execute")
	if err != nil {
		return Summary{}, err
	}
	defer lock.Release()
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
	rec := newRunRecord(cfg, plan, rundir.ModeExecute, batchUUID, cfg.Stack, x.Endpoints, started)
	rec.ContextOrigin = instructions.ContextOrigin
	if err := rundir.WriteJSON(dir, rundir.RunRecord, rec); err != nil {
		return Summary{}, err
	}
	r := &run{dir: dir, rec: rec, snap: snap, build: build, topics: events.NewTopics(cfg.Kafka.TopicPrefix), log: log, logs: logs, rep: rep}

	fail := func(stage string, err error) (Summary, error) {
		if ctx.Err() != nil {
			// Ctrl-C or SIGTERM, not a service failure.
			log.Warn("run_interrupted", "event", "run_interrupted", "stage", stage)
			msg := "interrupted while " + stage + "; nothing was published"
			if stage == stagePublishing {
				msg = "interrupted while publishing the CJ request: the broker may or may not have taken it, and nothing is capturing its events"
			}
			s := Summary{Outcome: OutcomeInterrupted, ExitCode: ExitInterrupted, RunDir: dir, BatchUUID: batchUUID, BatchLabel: rec.BatchLabel,
				Message: msg, Next: "run `eng5np execute` again when ready"}
			rep.Report(FinishedEvent{Summary: s})
			return s, nil
		}
		log.Error("run_failed", "event", "run_failed", "stage", stage, "error", err)
		s := Summary{Outcome: OutcomePreflightFailed, ExitCode: ExitFailure, RunDir: dir, BatchUUID: batchUUID, BatchLabel: rec.BatchLabel,
			Message: fmt.Sprintf("%s failed: %v", stage, err), Next: "check the service named above, then run `eng5np execute` again (nothing was published)"}
		rep.Report(FinishedEvent{Summary: s})
		return s, nil
	}

	rep.Report(PhaseEvent{Phase: PhaseUploading, Detail: fmt.Sprintf("%d essays and the instructions", len(plan.Batch.Students)), At: time.Now()})
	promptRef, essays, cache, err := upload(ctx, client, plan.Batch)
	if err != nil {
		return fail("uploading", err)
	}
	if err := rundir.WriteJSON(dir, rundir.UploadCache, map[string]any{"content_service_url": huleedu.Redact(x.Endpoints.ContentURL), "by_sha256": cache}); err != nil {
		return Summary{}, err
	}
	log.Info("essays_uploaded", "event", "essays_uploaded", "essays", len(essays), "distinct_texts", len(cache))

	rep.Report(PhaseEvent{Phase: PhaseRegister, Detail: fmt.Sprintf("%d anchors", len(plan.Batch.Anchors)), At: time.Now()})
	summary, err := client.AnchorSummary(ctx, assignment)
	if err != nil {
		return fail("reading the assignment's registered anchors", err)
	}
	missing := anchorsToRegister(plan.Batch.Anchors, summary)
	if err := registerAnchors(ctx, client, assignment, missing); err != nil {
		return fail("registering anchors", err)
	}
	if len(missing) > 0 {
		// The service's ids of the anchors just registered.
		if summary, err = client.AnchorSummary(ctx, assignment); err != nil {
			return fail("reading the assignment's registered anchors", err)
		}
	}
	// The map from the ids the service will give anchors back to the
	// batch's anchors and any others registered for the assignment: it is
	// recorded before publishing, so that rehydrate needs no network.
	anchorMap, err := recordAnchors(ctx, client, snap, plan.Batch.Scale.Grades, summary, time.Now())
	if err != nil {
		return fail("recording the assignment's anchors", err)
	}
	if err := rundir.WriteJSON(dir, rundir.CJAnchors, anchorMap); err != nil {
		return Summary{}, err
	}
	r.anchors = anchorMap
	external := 0
	for _, a := range anchorMap.Anchors {
		if a.External {
			external++
			log.Warn("external_anchor", "event", "external_anchor", "anchor_label", a.Label, "cj_anchor_id", a.ID, "grade", a.Grade, "essay_id", a.EssayID)
		}
	}
	log.Info("anchors_registered", "event", "anchors_registered", "anchors", len(plan.Batch.Anchors), "newly", len(missing),
		"external", external, "assignment_id", assignment)

	value, err := requestEnvelope(rec, plan, essays, promptRef, r.topics, cfg)
	if err != nil {
		return Summary{}, err
	}
	if err := rundir.WriteFile(dir, rundir.Request, value); err != nil {
		return Summary{}, err
	}

	if cfg.NoKafka {
		c := newCapturer(r, x.Endpoints.Kafka, nil, 1)
		log.Info("request_written", "event", "request_written", "path", rundir.Request, "published", false)
		return c.finish(OutcomeNoKafka, "--no-kafka: the request was written to "+rundir.Request+" and not published", nil), nil
	}

	// The consumer is ready before the request goes out: the end of every
	// consumed partition is recorded first and capture starts there.
	start, err := capture.EndOffsets(ctx, x.Endpoints.Kafka, r.topics.Consumed())
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
	defer jo.Writer.Close()
	c := newCapturer(r, x.Endpoints.Kafka, jo.Writer, 1)

	rep.Report(PhaseEvent{Phase: PhasePublishing, Detail: r.topics.Requested(), At: time.Now()})
	published, err := capture.Publish(ctx, x.Endpoints.Kafka, r.topics.Requested(), []byte(batchUUID), value)
	if err != nil {
		return fail(stagePublishing, err)
	}
	rec.PublishedAt = published
	log.Info("request_published", "event", "request_published", "topic", r.topics.Requested(), "published_at", published, "correlation_id", rec.CorrelationID)

	return c.capture(ctx, start, published.Add(cfg.CompletionTimeout), cfg.CompletionTimeout), nil
}

// upload stores the instructions and every student essay in the content
// service, each distinct text once, and returns the instructions' storage
// id, the essays to request and the storage ids by sha256.
func upload(ctx context.Context, client *huleedu.Client, b *inputs.Batch) (string, []events.EssayRef, map[string]string, error) {
	cache := map[string]string{}
	put := func(text string) (string, error) {
		h := sha256.Sum256([]byte(text))
		key := hex.EncodeToString(h[:])
		if id, ok := cache[key]; ok {
			return id, nil
		}
		id, err := client.Upload(ctx, text)
		if err == nil {
			cache[key] = id
		}
		return id, err
	}
	promptRef, err := put(b.Instructions.Text)
	if err != nil {
		return "", nil, nil, fmt.Errorf("the instructions: %w", err)
	}
	essays := make([]events.EssayRef, 0, len(b.Students))
	for _, st := range b.Students {
		id, err := put(st.Text)
		if err != nil {
			return "", nil, nil, fmt.Errorf("%s: %w", st.SourcePath, err)
		}
		essays = append(essays, events.EssayRef{EssayID: st.WireID, TextStorageID: id})
	}
	return promptRef, essays, cache, nil
}

// registerAnchors registers anchors with the CJ service for the assignment
// (the label is the anchor's id).
func registerAnchors(ctx context.Context, client *huleedu.Client, assignment string, anchors []inputs.Anchor) error {
	for _, a := range anchors {
		if _, err := client.RegisterAnchor(ctx, huleedu.AnchorRegistration{AssignmentID: assignment, Grade: a.Grade, AnchorLabel: a.ID, EssayText: a.Text}); err != nil {
			return fmt.Errorf("anchor %s: %w", a.ID, err)
		}
	}
	return nil
}

func requestEnvelope(rec *RunRecord, plan *Plan, essays []events.EssayRef, promptRef string, topics events.Topics, cfg *config.Config) ([]byte, error) {
	assignment := plan.Settings.AssignmentID
	now := events.Now()
	req := events.CJRequest{
		EventName: events.RequestEventName, EntityID: rec.BatchUUID, EntityType: "batch", ParentID: &assignment, Timestamp: now,
		SystemMetadata: events.SystemMetadata{EntityID: rec.BatchUUID, EntityType: "batch", ParentID: &assignment, ProcessingStage: "pending", Event: events.RequestEventName},
		EssaysForCJ:    essays, Language: plan.Settings.Language, CourseCode: plan.Settings.CourseCode, AssignmentID: assignment,
		UserID: rec.UserID, StudentPromptRef: events.StudentPromptRef(promptRef), LLMConfigOverrides: rec.LLMConfigOverrides,
	}
	if rec.OrgID != "" {
		org := rec.OrgID
		req.OrgID = &org
	}
	meta := map[string]any{"runner_mode": rundir.ModeExecute, "batch_label": rec.BatchLabel, "max_comparisons": cfg.MaxComparisons}
	env, err := events.NewEnvelope(topics.Requested(), events.RunnerSourceService, rec.CorrelationID, req, meta, now.Time)
	if err != nil {
		return nil, err
	}
	return env.Encode()
}
