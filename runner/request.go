package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"eng5np/config"
	"eng5np/huleedu"
	"eng5np/inputs"
)

// What a run sends the CJ service beyond the essays, and the checks that
// keep a request the service would drop or fail from going out.

// RequireModel refuses a run on an external deployment without an explicit
// LLM provider and model: the embedded stack's mock defaults must never
// reach a real deployment by accident. An explicit `mock` is fine there (the
// LLM Provider service has a mock provider too).
func RequireModel(cfg *config.Config) error {
	if cfg.Stack != "external" {
		return nil
	}
	var missing []string
	if cfg.LLM.Provider == "" {
		missing = append(missing, "--llm-provider")
	}
	if cfg.LLM.Model == "" {
		missing = append(missing, "--llm-model")
	}
	if len(missing) == 0 {
		return nil
	}
	return Exitf(ExitUsage, "pass "+strings.Join(missing, " and ")+" (e.g. --llm-provider anthropic --llm-model claude-sonnet-4-5), or llm_provider/llm_model in eng5np.yaml",
		"--stack external needs %s: eng5np does not pick a judge for a real deployment", strings.Join(missing, " and "))
}

// RubricAllowed refuses to send prompt.md as the judge rubric override to
// an assignment whose context origin forbids it: the CJ service fails such
// a batch. --no-rubric-override sends none.
func RubricAllowed(cfg *config.Config, assignment string, in *huleedu.Instructions) error {
	if in == nil || in.ContextOrigin != huleedu.ContextCanonical || cfg.NoRubricOverride {
		return nil
	}
	return Exitf(ExitUsage, "pass --no-rubric-override to judge with the assignment's own rubric, or run the batch under a "+huleedu.ContextResearch+" assignment",
		"assignment %s is %s: the CJ service fails a batch that overrides its judge rubric, and eng5np sends prompt.md as one", assignment, huleedu.ContextCanonical)
}

// recordAnchors builds the run's anchor map from the CJ service's anchor
// summary, after the batch's anchors were registered: each registered
// anchor whose label is one of the batch's anchors is that anchor; any
// other is an external anchor, whose text is fetched from the content
// service so that the artefact can name its checksum.
func recordAnchors(ctx context.Context, client *huleedu.Client, snap inputs.Snapshot, scale []string, sum *huleedu.AnchorSummary, now time.Time) (*inputs.AnchorMap, error) {
	m := &inputs.AnchorMap{Version: inputs.AnchorMapVersion, AssignmentID: sum.AssignmentID, GradeScale: sum.GradeScale,
		CJServiceURL: client.CJURL(), RecordedAt: now.UTC(), Anchors: []inputs.RegisteredEssay{}}
	batch := map[string]string{}
	taken := map[string]bool{}
	for _, a := range snap.Anchors {
		batch[a.AnchorID] = a.Grade
	}
	for _, e := range snap.Essays() {
		taken[e.ID] = true
	}
	inScale := map[string]bool{}
	for _, g := range scale {
		inScale[g] = true
	}
	for _, a := range sum.Anchors {
		r := inputs.RegisteredEssay{ID: a.ID, Label: a.AnchorLabel, Grade: a.Grade, GradeScale: a.GradeScale, TextStorageID: a.TextStorageID}
		if g, ok := batch[a.AnchorLabel]; ok {
			if g != a.Grade {
				return nil, fmt.Errorf("anchor %s is registered with grade %s, the batch has %s (registration did not take)", a.AnchorLabel, a.Grade, g)
			}
			r.EssayID = a.AnchorLabel
			m.Anchors = append(m.Anchors, r)
			continue
		}
		if !inScale[a.Grade] {
			return nil, fmt.Errorf("anchor %q (CJ id %d) registered for the assignment has grade %q, which is not on grade scale %s", a.AnchorLabel, a.ID, a.Grade, sum.GradeScale)
		}
		text, err := client.Content(ctx, a.TextStorageID)
		if err != nil {
			return nil, fmt.Errorf("the text of anchor %q (CJ id %d, storage id %s), registered for the assignment outside this batch: %w", a.AnchorLabel, a.ID, a.TextStorageID, err)
		}
		h := sha256.Sum256([]byte(text))
		r.External, r.EssayID = true, inputs.ExternalAnchorID(a.AnchorLabel, a.ID, taken)
		r.Checksum, r.Bytes = hex.EncodeToString(h[:]), int64(len(text))
		r.SourcePath = fmt.Sprintf("%s%s (anchor id %d)", strings.TrimRight(client.CJURL(), "/"), huleedu.PathAdminAnchors+sum.AssignmentID, a.ID)
		taken[r.EssayID] = true
		m.Anchors = append(m.Anchors, r)
	}
	return m, m.Validate()
}
