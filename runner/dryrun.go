package runner

import (
	"fmt"
	"time"

	"eng5np/artefacts"
	"eng5np/config"
	"eng5np/events"
	"eng5np/rundir"
)

// DryRunResult says where a dry run wrote.
type DryRunResult struct {
	Plan      *Plan
	BatchUUID string
	Dir       string
	Written   artefacts.WriteResult
}

// DryRun does everything plan does, then writes a fresh run directory with
// inputs.json, a schema-valid stub artefact assessment_run.dry-run.json and
// manifest.json. It touches no network.
func DryRun(cfg *config.Config, now time.Time) (*DryRunResult, error) {
	plan, err := BuildPlan(cfg)
	if err != nil {
		return &DryRunResult{Plan: plan}, err
	}
	if err := plan.Settings.RequireIDs(); err != nil {
		return &DryRunResult{Plan: plan}, err
	}
	build, err := artefacts.CurrentBuild()
	if err != nil {
		return &DryRunResult{Plan: plan}, err
	}
	res := &DryRunResult{Plan: plan, BatchUUID: NewBatchUUID()}
	res.Dir, err = rundir.Create(cfg.OutputDir, plan.Settings.BatchLabel, res.BatchUUID, now)
	if err != nil {
		return res, err
	}
	snap := plan.Batch.Snapshot()
	if err := rundir.WriteJSON(res.Dir, rundir.Inputs, snap); err != nil {
		return res, err
	}
	run := &artefacts.AssessmentRun{
		Metadata: newMetadata(plan.Settings, build, rundir.ModeDryRun, res.BatchUUID, now, cfg, overrides(cfg, snap.PromptReference.Content)),
		Inputs:   artefacts.InputsSection(snap),
		Validation: artefacts.Validation{
			CLIEnvironment: build.Environment(),
			RunnerStatus: &artefacts.RunnerStatus{
				Outcome:             "dry_run",
				ExitCode:            new(int),
				Message:             "dry run: nothing was published",
				ExpectedComparisons: plan.Estimate.Comparisons,
			},
			ManifestStatus: &artefacts.ManifestStatus{Complete: true},
		},
	}
	res.Written, err = artefacts.Write(res.Dir, run)
	if err != nil {
		return res, fmt.Errorf("dry run in %s: %w", res.Dir, err)
	}
	return res, nil
}

func newMetadata(s Settings, b artefacts.Build, mode, batchUUID string, now time.Time, cfg *config.Config, ov *events.LLMConfigOverrides) artefacts.Metadata {
	stack := cfg.Stack
	if mode == rundir.ModeDryRun {
		stack = "none"
	}
	return artefacts.Metadata{
		AssignmentID:       s.AssignmentID,
		CourseID:           s.CourseID,
		GradeScale:         s.GradeScale,
		RunnerVersion:      b.RunnerVersion,
		GitSHA:             b.GitSHA,
		GitDirty:           b.Dirty,
		GeneratedAt:        artefacts.Timestamp(now),
		RunnerMode:         mode,
		BatchUUID:          batchUUID,
		BatchLabel:         s.BatchLabel,
		CourseCode:         s.CourseCode,
		Language:           s.Language,
		MaxComparisons:     cfg.MaxComparisons,
		Stack:              stack,
		LLMConfigOverrides: ov,
	}
}

// overrides are the LLM settings the run sends with its request: the
// configured provider and model, optional temperature and token limit, and
// the batch's prompt.md as the judge rubric.
func overrides(cfg *config.Config, rubric string) *events.LLMConfigOverrides {
	return &events.LLMConfigOverrides{
		ProviderOverride:    cfg.LLM.Provider,
		ModelOverride:       cfg.LLM.Model,
		TemperatureOverride: cfg.LLM.Temperature,
		MaxTokensOverride:   cfg.LLM.MaxTokens,
		JudgeRubricOverride: rubric,
	}
}
