package runner_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"eng5np/devstack"
	"eng5np/events"
	"eng5np/rundir"
	"eng5np/runner"
)

// What a run sends is what the services read: the student prompt reference
// in their shape, the billing ids, every override; the artefact and
// run.json record all of it, and a budget above the service's cap is
// counted as the cap everywhere.
func TestRequestCarriesEveryOverride(t *testing.T) {
	t.Parallel()
	system := filepath.Join(t.TempDir(), "system.md")
	if err := os.WriteFile(system, []byte("You are a careful examiner.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := execute(t, devstack.Options{Seed: 4}, "--max-comparisons", "300", "--user-id", "ada", "--org-id", "school-7",
		"--llm-reasoning-effort", "low", "--llm-output-verbosity", "medium", "--system-prompt", system, "--llm-temperature", "0.3", "--llm-max-tokens", "400")
	if o.sum.ExitCode != 0 {
		t.Fatalf("exit %d: %s", o.sum.ExitCode, o.sum.Message)
	}
	if c := o.checks["budget"]; c.Status != runner.Warn || !strings.Contains(c.Detail, "will stop at 120") {
		t.Errorf("budget check %+v, want a warning about the cap", c)
	}
	r := o.mustArtefact(t)

	raw, err := os.ReadFile(rundir.Path(r.Dir, rundir.Request))
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Data     events.CJRequest `json:"data"`
		Metadata map[string]any   `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	req := env.Data
	ref := req.StudentPromptRef
	if ref == nil || ref.References[events.StudentPromptText].StorageID == "" {
		t.Errorf("student_prompt_ref %+v", ref)
	}
	if req.UserID != "ada" || req.OrgID == nil || *req.OrgID != "school-7" || env.Metadata["max_comparisons"] != float64(300) {
		t.Errorf("user %q org %v budget %v", req.UserID, req.OrgID, env.Metadata["max_comparisons"])
	}
	ov := req.LLMConfigOverrides
	if ov.ReasoningEffort != "low" || ov.OutputVerbosity != "medium" || ov.SystemPromptOverride != "You are a careful examiner." ||
		ov.TemperatureOverride == nil || *ov.TemperatureOverride != 0.3 || ov.MaxTokensOverride == nil || *ov.MaxTokensOverride != 400 || ov.JudgeRubricOverride == "" {
		t.Errorf("overrides %+v", ov)
	}

	md := r.Artefact.Metadata
	if md.MaxComparisons != 300 || md.EffectiveMax != 120 || md.UserID != "ada" || md.OrgID != "school-7" || md.ContextOrigin != "research_experiment" ||
		!reflect.DeepEqual(md.LLMConfigOverrides, ov) {
		t.Errorf("metadata %+v", md)
	}
	if st := r.Artefact.Validation.RunnerStatus; st.ExpectedComparisons != 120 || len(r.Artefact.LLMComparisons) != 120 {
		t.Errorf("expected %d, captured %d; want 120 each", st.ExpectedComparisons, len(r.Artefact.LLMComparisons))
	}
	rd, err := runner.OpenRunDir(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if rec := rd.Record; rec.EffectiveMax != 120 || rec.UserID != "ada" || rec.LLMConfigOverrides.ReasoningEffort != "low" || rd.Anchors == nil {
		t.Errorf("run.json %+v", rec)
	}
}
