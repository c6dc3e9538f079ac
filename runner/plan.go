// Package runner orchestrates eng5np's modes: plan, dry-run, execute, resume
// and rehydrate, and the pre-flight checks shared by doctor and the TUI.
package runner

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/google/uuid"

	"eng5np/config"
	"eng5np/inputs"
)

// Settings are the run's identity after config, batch.yaml and defaults.
type Settings struct {
	AssignmentID string
	CourseID     string
	GradeScale   string
	CourseCode   string
	Language     string
	BatchLabel   string
}

// Estimate is the expected size and cost of a run.
type Estimate struct {
	// Comparisons is what the CJ service will spend on the batch: the
	// requested budget capped at the service's limit (Requested, Cap); once
	// every pair has been compared the service repeats pairs, so it spends
	// the whole of it.
	Comparisons int
	Requested   int
	Cap         int
	Essays      int
	Pairs       int // distinct pairs possible
	Provider    string
	Model       string
	Priced      bool
	// Tokens per comparison, averaged over pairs.
	PromptTokens     int
	CompletionTokens int
	USD              float64 // for all Comparisons
}

// GradeCoverage is how many anchors a grade has.
type GradeCoverage struct {
	Grade   string
	Anchors int
}

// Plan is what `eng5np plan` reports.
type Plan struct {
	Batch    *inputs.Batch
	Settings Settings
	Estimate Estimate
	Coverage []GradeCoverage
	Warnings []string
}

// completionTokensPerComparison is the expected size of a verdict: a winner,
// a confidence and a justification of up to 50 words.
const completionTokensPerComparison = 80

// promptFrameTokens covers the fixed text around the essays in a comparison
// prompt (block headings and response instructions).
const promptFrameTokens = 150

// BuildPlan loads the batch and works out the run's settings, size and cost.
// A batch with problems still yields a plan (for the inventory) together with
// an inputs.ProblemsError.
func BuildPlan(cfg *config.Config) (*Plan, error) {
	batch, loadErr := inputs.Load(cfg.Inputs, inputs.Options{GradeScale: cfg.GradeScale})
	p := &Plan{Batch: batch}
	p.Settings = resolveSettings(cfg, batch)
	for _, g := range batch.Scale.Grades {
		n := 0
		for _, a := range batch.Anchors {
			if a.Grade == g {
				n++
			}
		}
		p.Coverage = append(p.Coverage, GradeCoverage{Grade: g, Anchors: n})
	}
	p.Estimate = estimate(cfg, batch)
	p.Warnings = p.warnings(cfg)
	return p, loadErr
}

func resolveSettings(cfg *config.Config, b *inputs.Batch) Settings {
	pick := func(vals ...string) string {
		for _, v := range vals {
			if v != "" {
				return v
			}
		}
		return ""
	}
	label := pick(cfg.BatchLabel, sanitizeLabel(b.Config.BatchLabel), sanitizeLabel(filepath.Base(filepath.Clean(b.Dir))), "batch")
	return Settings{
		AssignmentID: pick(cfg.AssignmentID, b.Config.AssignmentID),
		CourseID:     pick(cfg.CourseID, b.Config.CourseID),
		GradeScale:   b.Scale.Name,
		CourseCode:   pick(cfg.CourseCode, b.Config.CourseCode, "ENG5"),
		Language:     pick(cfg.Language, b.Config.Language, "en"),
		BatchLabel:   label,
	}
}

// sanitizeLabel keeps a label usable in a directory name.
func sanitizeLabel(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteRune('-')
		}
	}
	out := strings.Trim(b.String(), "-.")
	if len(out) > 64 {
		out = out[:64]
	}
	return out
}

func estimate(cfg *config.Config, b *inputs.Batch) Estimate {
	n := len(b.Anchors) + len(b.Students)
	e := Estimate{Comparisons: cfg.EffectiveComparisons(), Requested: cfg.MaxComparisons, Cap: cfg.ServiceMaxComparisons, Essays: n, Pairs: n * (n - 1) / 2, Provider: cfg.LLM.Provider, Model: cfg.LLM.Model}
	var essayTokens int
	for _, a := range b.Anchors {
		essayTokens += config.EstimateTokens(a.Text)
	}
	for _, s := range b.Students {
		essayTokens += config.EstimateTokens(s.Text)
	}
	if n > 0 {
		e.PromptTokens = promptFrameTokens + config.EstimateTokens(b.Instructions.Text) + config.EstimateTokens(b.Prompt.Text) + 2*essayTokens/n
	}
	e.CompletionTokens = completionTokensPerComparison
	if pr, ok := cfg.Pricing.Lookup(e.Provider, e.Model); ok {
		e.Priced = true
		e.USD = float64(e.Comparisons) * pr.Cost(e.PromptTokens, e.CompletionTokens)
	}
	return e
}

func (p *Plan) warnings(cfg *config.Config) []string {
	var w []string
	var missing []string
	distinct := 0
	for _, c := range p.Coverage {
		if c.Anchors == 0 {
			missing = append(missing, c.Grade)
		} else {
			distinct++
		}
	}
	if distinct < 2 {
		w = append(w, "fewer than 2 anchor grades: no grade projection will be made; add anchors of other grades")
	} else if len(missing) > 0 {
		w = append(w, fmt.Sprintf("no anchors for %s: their bands are interpolated or the scale is cut there; add anchors for better projections", strings.Join(missing, ", ")))
	}
	if e := p.Estimate; e.Requested > e.Cap {
		w = append(w, fmt.Sprintf("--max-comparisons %d is above the CJ service's cap of %d: the service will stop at %d; counts and costs here use %d",
			e.Requested, e.Cap, e.Cap, e.Cap))
	}
	switch {
	case cfg.Stack == "external" && (p.Estimate.Provider == "" || p.Estimate.Model == ""):
		w = append(w, "no --llm-provider/--llm-model: a run with --stack external needs both")
	case !p.Estimate.Priced:
		w = append(w, fmt.Sprintf("model %s/%s has no price in the pricing table: add it to eng5np.yaml to get a cost estimate", p.Estimate.Provider, p.Estimate.Model))
	}
	if cfg.BudgetUSD > 0 && p.Estimate.Priced && p.Estimate.USD > cfg.BudgetUSD {
		w = append(w, fmt.Sprintf("estimated cost $%.4f exceeds --budget-usd $%.4f", p.Estimate.USD, cfg.BudgetUSD))
	}
	if p.Settings.AssignmentID == "" || p.Settings.CourseID == "" {
		w = append(w, "assignment_id and course_id are not set: dry-run and execute need them (batch.yaml, --assignment-id, --course-id)")
	}
	return w
}

// ErrMissingIDs means dry-run or execute lacks the assignment or course id.
var ErrMissingIDs = errors.New("assignment_id and course_id are required: set them in the batch's batch.yaml or pass --assignment-id and --course-id")

// RequireIDs checks the ids a run must record.
func (s Settings) RequireIDs() error {
	if s.AssignmentID == "" || s.CourseID == "" {
		return ErrMissingIDs
	}
	return nil
}

// NewBatchUUID returns a fresh uuid4.
func NewBatchUUID() string { return uuid.NewString() }
