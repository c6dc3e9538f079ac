package runner

import (
	"time"

	"eng5np/artefacts"
	"eng5np/hydrator"
	"eng5np/inputs"
	"eng5np/rundir"
)

// statusInput is what the runner, not the journal, knows about a capture.
type statusInput struct {
	outcome Outcome
	message string
	final   bool
	timeout time.Duration
	endedAt time.Time // when the capture ended (final only); completed_at
}

// metadata is the artefact's metadata section of a run: every mode builds
// it here, from the run's record.
func metadata(rec *RunRecord, build artefacts.Build, now time.Time) artefacts.Metadata {
	return artefacts.Metadata{
		AssignmentID: rec.Settings.AssignmentID, CourseID: rec.Settings.CourseID, GradeScale: rec.Settings.GradeScale,
		RunnerVersion: build.RunnerVersion, GitSHA: build.GitSHA, GitDirty: build.Dirty, GeneratedAt: artefacts.Timestamp(now),
		RunnerMode: modeOf(rec), BatchUUID: rec.BatchUUID, BatchLabel: rec.BatchLabel, CourseCode: rec.Settings.CourseCode,
		Language: rec.Settings.Language, MaxComparisons: rec.MaxComparisons, EffectiveMax: rec.EffectiveMax, UserID: rec.UserID, OrgID: rec.OrgID,
		ContextOrigin: rec.ContextOrigin, NoRubricOverride: rec.NoRubricOverride, Stack: rec.Stack, LLMConfigOverrides: rec.LLMConfigOverrides,
	}
}

// assemble builds the artefact of a run: metadata from the record, the
// inputs section (artefacts.InputsSection); the journal-derived sections from sec
// (nil for a dry run, which captured nothing); the validation section from
// the run's status.
func assemble(rec *RunRecord, in artefacts.Inputs, build artefacts.Build, sec *hydrator.Sections, status *artefacts.RunnerStatus, now time.Time) *artefacts.AssessmentRun {
	a := &artefacts.AssessmentRun{
		Metadata: metadata(rec, build, now),
		Inputs:   in,
		Validation: artefacts.Validation{
			CLIEnvironment: build.Environment(),
			RunnerStatus:   status,
			ManifestStatus: &artefacts.ManifestStatus{Complete: true},
		},
	}
	if sec == nil {
		return a
	}
	a.LLMComparisons, a.BTSummary, a.GradeProjections, a.Costs = sec.LLMComparisons, sec.BTSummary, sec.GradeProjections, sec.Costs
	ms, rel, gps := sec.ManifestStatus, sec.Reliability, sec.GradeProjectionStatus
	a.Validation.ManifestStatus, a.Validation.Reliability, a.Validation.GradeProjectionStatus = &ms, &rel, &gps
	a.Validation.ServiceComparison = sec.ServiceComparison
	a.ServiceResults = sec.ServiceResults
	return a
}

// executeArtefact is the artefact of an execute run at a point of its
// capture (or after it, for rehydrate).
func executeArtefact(rec *RunRecord, in artefacts.Inputs, build artefacts.Build, sec *hydrator.Sections, c hydrator.Completion, st statusInput, now time.Time) *artefacts.AssessmentRun {
	status := &artefacts.RunnerStatus{
		Outcome: string(st.outcome), PartialData: !st.final || st.outcome.PartialData(), Message: st.message,
		Captures: len(rec.Captures), ExpectedComparisons: rec.Expected(),
		ObservedEvents: sec.ObservedEvents, Skipped: sec.Skipped, CJStatus: c.CJStatus, FailureReason: c.FailureReason, Warnings: sec.Warnings,
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
	a := assemble(rec, in, build, sec, status, now)
	if status.PartialData && a.Validation.ManifestStatus != nil {
		// Partial data is never a complete manifest.
		a.Validation.ManifestStatus.Complete = false
	}
	return a
}

// dryRunArtefact is the stub artefact of a dry run: nothing published.
func dryRunArtefact(rec *RunRecord, snap inputs.Snapshot, build artefacts.Build, now time.Time) *artefacts.AssessmentRun {
	code := ExitOK
	status := &artefacts.RunnerStatus{Outcome: "dry_run", ExitCode: &code, Message: "dry run: nothing was published",
		ExpectedComparisons: rec.Expected()}
	return assemble(rec, artefacts.InputsSection(snap, nil), build, nil, status, now)
}

// modeOf is a run record's mode, execute when unset (records written
// before the field existed).
func modeOf(rec *RunRecord) string {
	if rec.RunnerMode == "" {
		return rundir.ModeExecute
	}
	return rec.RunnerMode
}
