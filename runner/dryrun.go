package runner

import (
	"fmt"
	"time"

	"eng5np/artefacts"
	"eng5np/config"
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
	rec := newRunRecord(cfg, plan, rundir.ModeDryRun, res.BatchUUID, "none", Endpoints{}, now)
	res.Written, err = artefacts.Write(res.Dir, dryRunArtefact(rec, snap, build, now))
	if err != nil {
		return res, fmt.Errorf("dry run in %s: %w", res.Dir, err)
	}
	return res, nil
}
