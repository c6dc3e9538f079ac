// Package artefacts owns the run directory's files: the artefact model of
// docs/CONTRACT.md, "Artefacts", and its serialization, schema validation
// before every write, atomic writes, the artefact checksum, the manifest, and
// verification.
package artefacts

import (
	"eng5np/events"
	"eng5np/inputs"
)

// SchemaVersion is written to every artefact; it stays 1.0.x while the
// schema is a compatible evolution of the reference.
const SchemaVersion = "1.0.4"

// AssessmentRun is assessment_run.<mode>.json.
type AssessmentRun struct {
	SchemaVersion    string            `json:"schema_version"`
	Metadata         Metadata          `json:"metadata"`
	Inputs           Inputs            `json:"inputs"`
	LLMComparisons   []Comparison      `json:"llm_comparisons"`
	BTSummary        []BTEntry         `json:"bt_summary"`
	GradeProjections []GradeProjection `json:"grade_projections"`
	Costs            Costs             `json:"costs"`
	Validation       Validation        `json:"validation"`
	ServiceResults   *ServiceResults   `json:"service_results,omitempty"`
}

// Metadata identifies the run.
type Metadata struct {
	AssignmentID       string                     `json:"assignment_id"`
	CourseID           string                     `json:"course_id"`
	GradeScale         string                     `json:"grade_scale"`
	RunnerVersion      string                     `json:"runner_version"`
	GitSHA             string                     `json:"git_sha"`
	GitDirty           *bool                      `json:"git_dirty,omitempty"`
	GeneratedAt        string                     `json:"generated_at"`
	RunnerMode         string                     `json:"runner_mode"`
	BatchUUID          string                     `json:"batch_uuid,omitempty"`
	BatchLabel         string                     `json:"batch_label,omitempty"`
	CourseCode         string                     `json:"course_code,omitempty"`
	Language           string                     `json:"language,omitempty"`
	MaxComparisons     int                        `json:"max_comparisons,omitempty"`
	EffectiveMax       int                        `json:"effective_max_comparisons,omitempty"`
	UserID             string                     `json:"user_id,omitempty"`
	OrgID              string                     `json:"org_id,omitempty"`
	ContextOrigin      string                     `json:"context_origin,omitempty"`
	NoRubricOverride   bool                       `json:"no_rubric_override,omitempty"`
	Stack              string                     `json:"stack,omitempty"`
	LLMConfigOverrides *events.LLMConfigOverrides `json:"llm_config_overrides,omitempty"`
}

// Inputs lists what the run was given.
type Inputs struct {
	Instructions    Document        `json:"instructions"`
	PromptReference Document        `json:"prompt_reference"`
	Anchors         []AnchorRecord  `json:"anchors"`
	Students        []StudentRecord `json:"students"`
}

// Document is a text input kept whole.
type Document struct {
	SourcePath string `json:"source_path"`
	Checksum   string `json:"checksum"`
	Content    string `json:"content"`
}

// AnchorRecord is one anchor.
type AnchorRecord struct {
	AnchorID   string `json:"anchor_id"`
	WireID     string `json:"wire_id,omitempty"`
	FileName   string `json:"file_name"`
	Grade      string `json:"grade"`
	SourcePath string `json:"source_path"`
	Checksum   string `json:"checksum"`
	CJAnchorID int    `json:"cj_anchor_id,omitempty"`
	External   bool   `json:"external,omitempty"`
}

// StudentRecord is one student essay.
type StudentRecord struct {
	EssayID    string `json:"essay_id"`
	WireID     string `json:"wire_id,omitempty"`
	FileName   string `json:"file_name"`
	SourcePath string `json:"source_path"`
	Checksum   string `json:"checksum"`
}

// Comparison is one accepted LLM comparison callback.
type Comparison struct {
	Sequence            int           `json:"sequence"`
	RequestID           string        `json:"request_id,omitempty"`
	CorrelationID       string        `json:"correlation_id"`
	EssayAID            string        `json:"essay_a_id,omitempty"`
	EssayBID            string        `json:"essay_b_id,omitempty"`
	WinnerID            string        `json:"winner_id"`
	LoserID             string        `json:"loser_id"`
	PromptHash          string        `json:"prompt_hash"`
	Provider            string        `json:"provider"`
	Model               string        `json:"model"`
	TokensPrompt        int64         `json:"tokens_prompt"`
	TokensCompletion    int64         `json:"tokens_completion"`
	CostUSD             float64       `json:"cost_usd"`
	StartedAt           string        `json:"started_at"`
	CompletedAt         string        `json:"completed_at"`
	Status              string        `json:"status,omitempty"`
	Confidence          *float64      `json:"confidence,omitempty"`
	Justification       string        `json:"justification,omitempty"`
	FailureReason       string        `json:"failure_reason,omitempty"`
	ErrorCode           string        `json:"error_code,omitempty"`
	ResponseTimeMS      *int64        `json:"response_time_ms,omitempty"`
	ComparisonIteration *int          `json:"comparison_iteration,omitempty"`
	Source              *RecordSource `json:"source,omitempty"`
}

// Comparison statuses.
const (
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// RecordSource is where a record was read from.
type RecordSource struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	Offset    int64  `json:"offset"`
}

// BTEntry is one essay's ability from the runner's refit.
type BTEntry struct {
	EssayID         string   `json:"essay_id"`
	Theta           float64  `json:"theta"`
	StandardError   float64  `json:"standard_error"`
	Rank            int      `json:"rank"`
	ComparisonCount int      `json:"comparison_count"`
	Wins            int      `json:"wins"`
	Losses          int      `json:"losses"`
	IsAnchor        bool     `json:"is_anchor"`
	AnchorGrade     string   `json:"anchor_grade,omitempty"`
	GradeProjection string   `json:"grade_projection,omitempty"`
	ServiceTheta    *float64 `json:"service_theta,omitempty"`
	// Infit and Outfit are the essay's mean-square fit statistics.
	Infit  float64 `json:"infit"`
	Outfit float64 `json:"outfit"`
}

// GradeProjection is one essay's projected grade.
type GradeProjection struct {
	EssayID         string             `json:"essay_id"`
	GradeScale      string             `json:"grade_scale"`
	Grade           string             `json:"grade"`
	Probabilities   map[string]float64 `json:"probabilities"`
	PrimaryAnchorID string             `json:"primary_anchor_id,omitempty"`
	AnchorAlignment string             `json:"anchor_alignment,omitempty"`
	IsAnchor        bool               `json:"is_anchor"`
	AnchorGrade     string             `json:"anchor_grade,omitempty"`
	// Set80 and Set95 are the smallest sets of grades, most probable
	// first, holding at least 80% and 95% of the probability.
	Set80 []string `json:"grade_set_80"`
	Set95 []string `json:"grade_set_95"`
	// LOOGrade is an anchor's grade by the model fitted without it (its
	// anchor_alignment compares it with the registered grade).
	LOOGrade string `json:"loo_grade,omitempty"`
}

// Costs sums what the comparisons cost.
type Costs struct {
	TotalUSD    float64         `json:"total_usd"`
	TokenCounts []CostBreakdown `json:"token_counts"`
}

// CostBreakdown is one provider/model's share.
type CostBreakdown struct {
	Provider         string  `json:"provider"`
	Model            string  `json:"model"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	USD              float64 `json:"usd"`
	Comparisons      int     `json:"comparisons"`
}

// Validation holds the integrity and status sections.
type Validation struct {
	ArtefactChecksum      string                 `json:"artefact_checksum"`
	Manifest              []ManifestEntry        `json:"manifest"`
	CLIEnvironment        CLIEnvironment         `json:"cli_environment"`
	RunnerStatus          *RunnerStatus          `json:"runner_status,omitempty"`
	ManifestStatus        *ManifestStatus        `json:"manifest_status,omitempty"`
	Reliability           *Reliability           `json:"reliability,omitempty"`
	ServiceComparison     *ServiceComparison     `json:"service_comparison,omitempty"`
	GradeProjectionStatus *GradeProjectionStatus `json:"grade_projection_status,omitempty"`
	Journal               *JournalIntegrity      `json:"journal,omitempty"`
}

// Journal chain states (JournalIntegrity.Chain).
const (
	ChainVerified = "verified"
	ChainLegacy   = "legacy"
	ChainForced   = "forced"
	ChainSalvaged = "salvaged"
)

// JournalIntegrity is the journal an artefact was folded from: how many
// records, and whether its hash chain holds (verified, legacy for a journal
// written before records carried one, or forced/salvaged by rehydrate over
// the breaks and bad lines listed).
type JournalIntegrity struct {
	Records  int64   `json:"records"`
	Chain    string  `json:"chain"`
	Head     string  `json:"head,omitempty"`
	Breaks   []int64 `json:"breaks,omitempty"`
	BadLines []int64 `json:"bad_lines,omitempty"`
}

// ManifestEntry is one file of the run directory.
type ManifestEntry struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// CLIEnvironment describes the runner that wrote the artefact.
type CLIEnvironment struct {
	RunnerVersion string `json:"runner_version"`
	GoVersion     string `json:"go_version"`
	OS            string `json:"os"`
	Arch          string `json:"arch"`
	KafkaClient   string `json:"kafka_client"`
}

// RunnerStatus says how the capture ended.
type RunnerStatus struct {
	Outcome             string           `json:"outcome,omitempty"`
	ExitCode            *int             `json:"exit_code,omitempty"`
	PartialData         bool             `json:"partial_data"`
	TimeoutSeconds      *float64         `json:"timeout_seconds,omitempty"`
	Message             string           `json:"message,omitempty"`
	PublishedAt         string           `json:"published_at,omitempty"`
	CompletedAt         string           `json:"completed_at,omitempty"`
	Captures            int              `json:"captures,omitempty"`
	ExpectedComparisons int              `json:"expected_comparisons,omitempty"`
	ObservedEvents      map[string]int64 `json:"observed_events"`
	Skipped             map[string]int64 `json:"skipped"`
	CJStatus            string           `json:"cj_status,omitempty"`
	FailureReason       string           `json:"failure_reason,omitempty"`
	Warnings            []string         `json:"warnings,omitempty"`
}

// ManifestStatus reports metadata faults.
type ManifestStatus struct {
	Complete bool    `json:"complete"`
	Faults   []Fault `json:"faults"`
}

// Fault is a callback that broke the metadata contract.
type Fault struct {
	Kind          string   `json:"kind"`
	Fields        []string `json:"fields,omitempty"`
	CorrelationID string   `json:"correlation_id,omitempty"`
	RequestID     string   `json:"request_id,omitempty"`
	Topic         string   `json:"topic"`
	Partition     int      `json:"partition"`
	Offset        int64    `json:"offset"`
	Detail        string   `json:"detail,omitempty"`
}

// Reliability summarizes the fit and the comparison design.
type Reliability struct {
	// Estimator names the fit (docs/STATISTICS.md).
	Estimator string `json:"estimator"`
	// SSR is nil when undefined; SSRNote says why, or that it was clamped.
	SSR        *float64   `json:"ssr"`
	SSRNote    string     `json:"ssr_note,omitempty"`
	SplitHalf  *SplitHalf `json:"split_half,omitempty"`
	Alpha      float64    `json:"alpha"`
	Converged  bool       `json:"converged"`
	Iterations int        `json:"iterations"`
	Components int        `json:"components"`
	// ComponentSizes are the components' sizes, largest first.
	ComponentSizes []int         `json:"component_sizes,omitempty"`
	Excluded       []Excluded    `json:"excluded,omitempty"`
	Undefeated     []string      `json:"undefeated,omitempty"`
	Winless        []string      `json:"winless,omitempty"`
	Uncompared     []string      `json:"uncompared,omitempty"`
	OrderEffect    *OrderEffect  `json:"order_effect,omitempty"`
	PositionSkew   *PositionSkew `json:"position_skew,omitempty"`
	EssayAWinRate  *float64      `json:"essay_a_win_rate,omitempty"`
	// PairDistance is the compared pairs' mean ability difference over all
	// pairs'; AdaptivePairing is set when it is below 0.8, and Caveats say
	// what that and the rest mean for the figures above.
	PairDistance         float64    `json:"pair_distance,omitempty"`
	AdaptivePairing      bool       `json:"adaptive_pairing"`
	Caveats              []string   `json:"caveats,omitempty"`
	Judges               []JudgeFit `json:"judges,omitempty"`
	Misfits              []string   `json:"misfits,omitempty"`
	DistinctPromptHashes int        `json:"distinct_prompt_hashes"`
}

// SplitHalf is the split-half reliability (median over random splits).
type SplitHalf struct {
	Estimate     float64 `json:"estimate"`
	Min          float64 `json:"min"`
	Max          float64 `json:"max"`
	Splits       int     `json:"splits"`
	LengthFactor float64 `json:"length_factor"`
}

// OrderEffect is the advantage of slot A in logits, with its SE.
type OrderEffect struct {
	Estimate    float64 `json:"estimate"`
	SE          float64 `json:"se"`
	Comparisons int     `json:"comparisons"`
}

// Excluded is an essay without an ability, and why.
type Excluded struct {
	EssayID string `json:"essay_id"`
	Reason  string `json:"reason"`
}

// JudgeFit is one judge's (provider/model) fit statistics.
type JudgeFit struct {
	Judge       string  `json:"judge"`
	Comparisons int     `json:"comparisons"`
	Infit       float64 `json:"infit"`
	Outfit      float64 `json:"outfit"`
}

// PositionSkew is (times in slot A − times in slot B) over essays.
type PositionSkew struct {
	MaxAbs  int     `json:"max_abs"`
	MeanAbs float64 `json:"mean_abs"`
}

// ServiceComparison compares the runner's thetas with the CJ service's.
type ServiceComparison struct {
	Compared        int      `json:"compared"`
	MaxAbsThetaDiff *float64 `json:"max_abs_theta_diff,omitempty"`
	MaxDiffEssayID  string   `json:"max_diff_essay_id,omitempty"`
}

// GradeProjectionStatus tells whether grades were projected and with which
// bands.
type GradeProjectionStatus struct {
	Projected     bool   `json:"projected"`
	SkippedReason string `json:"skipped_reason,omitempty"`
	// The grade line: grade k of the scale at Intercept + Slope·k.
	Intercept  float64 `json:"intercept,omitempty"`
	Slope      float64 `json:"slope,omitempty"`
	ResidualSD float64 `json:"residual_sd,omitempty"`
	// BootstrapDraws carried the anchors' uncertainty into the
	// probabilities.
	BootstrapDraws int    `json:"bootstrap_draws,omitempty"`
	Bands          []Band `json:"bands,omitempty"`
	// AnchorAlignment counts the anchors by leave-one-out projection.
	AnchorAlignment *AlignmentCounts `json:"anchor_alignment,omitempty"`
}

// AlignmentCounts counts anchors projected (each without itself) to their
// own grade, above it or below it.
type AlignmentCounts struct {
	Aligned int `json:"aligned"`
	Above   int `json:"above"`
	Below   int `json:"below"`
}

// Band is one grade's interval; open ends are omitted.
type Band struct {
	Grade   string   `json:"grade"`
	Lower   *float64 `json:"lower,omitempty"`
	Upper   *float64 `json:"upper,omitempty"`
	Mean    *float64 `json:"mean,omitempty"`
	Anchors int      `json:"anchors"`
}

// ServiceResults are the CJ service's own results for the batch.
type ServiceResults struct {
	CJAssessmentJobID  string             `json:"cj_assessment_job_id,omitempty"`
	ModelUsed          string             `json:"model_used,omitempty"`
	ModelProvider      string             `json:"model_provider,omitempty"`
	AssessedAt         string             `json:"assessed_at,omitempty"`
	Rows               []ServiceResultRow `json:"rows"`
	UnmatchedIDs       []string           `json:"unmatched_ids,omitempty"`
	AssessmentMetadata map[string]any     `json:"assessment_metadata,omitempty"`
	GradeAgreement     *GradeAgreement    `json:"grade_agreement,omitempty"`
}

// ServiceResultRow is one essay's result from the CJ service.
type ServiceResultRow struct {
	EssayID         string  `json:"essay_id"`
	ServiceEssayID  string  `json:"service_essay_id,omitempty"`
	LetterGrade     string  `json:"letter_grade,omitempty"`
	NormalizedScore float64 `json:"normalized_score"`
	ConfidenceScore float64 `json:"confidence_score"`
	ConfidenceLabel string  `json:"confidence_label,omitempty"`
	BTScore         float64 `json:"bt_score"`
	Rank            int     `json:"rank"`
	IsAnchor        bool    `json:"is_anchor"`
	ProjectedGrade  string  `json:"projected_grade,omitempty"`
}

// GradeAgreement compares the service's letter grades with eng5np's
// projected grades.
type GradeAgreement struct {
	Compared  int `json:"compared"`
	Exact     int `json:"exact"`
	WithinOne int `json:"within_one"`
}

// InputsSection builds the artefact's inputs from the run's snapshot and,
// when the run recorded the CJ service's anchors, the anchors someone else
// registered for the assignment (external ones), after the batch's own.
func InputsSection(s inputs.Snapshot, cj *inputs.AnchorMap) Inputs {
	in := Inputs{
		Instructions:    Document{SourcePath: s.Instructions.SourcePath, Checksum: s.Instructions.Checksum, Content: s.Instructions.Content},
		PromptReference: Document{SourcePath: s.PromptReference.SourcePath, Checksum: s.PromptReference.Checksum, Content: s.PromptReference.Content},
		Anchors:         make([]AnchorRecord, 0, len(s.Anchors)),
		Students:        make([]StudentRecord, 0, len(s.Students)),
	}
	dbIDs := map[string]int{}
	if cj != nil {
		for _, a := range cj.Anchors {
			if !a.External {
				dbIDs[a.EssayID] = a.ID
			}
		}
	}
	for _, a := range s.Anchors {
		rec := AnchorRecord{AnchorID: a.AnchorID, FileName: a.FileName, Grade: a.Grade, SourcePath: a.SourcePath, Checksum: a.Checksum, CJAnchorID: dbIDs[a.AnchorID]}
		if cj == nil {
			rec.WireID = a.WireID // runs from before the service named anchors itself
		}
		in.Anchors = append(in.Anchors, rec)
	}
	if cj != nil {
		for _, a := range cj.Anchors {
			if a.External {
				in.Anchors = append(in.Anchors, AnchorRecord{AnchorID: a.EssayID, FileName: a.Label, Grade: a.Grade, SourcePath: a.SourcePath,
					Checksum: a.Checksum, CJAnchorID: a.ID, External: true})
			}
		}
	}
	for _, st := range s.Students {
		in.Students = append(in.Students, StudentRecord{EssayID: st.EssayID, WireID: st.WireID, FileName: st.FileName, SourcePath: st.SourcePath, Checksum: st.Checksum})
	}
	return in
}

// Normalize makes absent lists render as [] rather than null (Write does
// it before writing).
func (r *AssessmentRun) Normalize() {
	if r.LLMComparisons == nil {
		r.LLMComparisons = []Comparison{}
	}
	if r.BTSummary == nil {
		r.BTSummary = []BTEntry{}
	}
	if r.GradeProjections == nil {
		r.GradeProjections = []GradeProjection{}
	}
	if r.Costs.TokenCounts == nil {
		r.Costs.TokenCounts = []CostBreakdown{}
	}
	if r.Validation.Manifest == nil {
		r.Validation.Manifest = []ManifestEntry{}
	}
	if rs := r.Validation.RunnerStatus; rs != nil {
		if rs.ObservedEvents == nil {
			rs.ObservedEvents = map[string]int64{}
		}
		if rs.Skipped == nil {
			rs.Skipped = map[string]int64{}
		}
	}
	if ms := r.Validation.ManifestStatus; ms != nil && ms.Faults == nil {
		ms.Faults = []Fault{}
	}
}
