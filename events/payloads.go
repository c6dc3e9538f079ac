package events

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"
	"unicode/utf8"
)

// CJRequest is the data of the CJ assessment request the runner publishes.
type CJRequest struct {
	EventName          string              `json:"event_name"`
	EntityID           string              `json:"entity_id"`
	EntityType         string              `json:"entity_type"`
	ParentID           *string             `json:"parent_id"`
	Timestamp          Time                `json:"timestamp"`
	SystemMetadata     SystemMetadata      `json:"system_metadata"`
	EssaysForCJ        []EssayRef          `json:"essays_for_cj"`
	Language           string              `json:"language"`
	CourseCode         string              `json:"course_code"`
	AssignmentID       string              `json:"assignment_id"`
	UserID             string              `json:"user_id"`
	OrgID              *string             `json:"org_id"`
	StudentPromptRef   *StorageReference   `json:"student_prompt_ref"`
	LLMConfigOverrides *LLMConfigOverrides `json:"llm_config_overrides"`
}

// CourseCodes are the course codes the CJ service accepts (case-sensitive);
// it drops a request with any other without publishing a failed event.
var CourseCodes = []string{"ENG5", "ENG6", "ENG7", "SV1", "SV2", "SV3"}

// ValidCourseCode reports whether code is one of CourseCodes.
func ValidCourseCode(code string) bool {
	for _, c := range CourseCodes {
		if c == code {
			return true
		}
	}
	return false
}

// SystemMetadata mirrors the entity fields for the services' bookkeeping;
// on the CJ service's completed and failed events it carries error_info.
type SystemMetadata struct {
	EntityID        string         `json:"entity_id"`
	EntityType      string         `json:"entity_type"`
	ParentID        *string        `json:"parent_id"`
	ProcessingStage string         `json:"processing_stage"`
	Event           string         `json:"event"`
	ErrorInfo       map[string]any `json:"error_info,omitempty"`
}

// EssayRef points the CJ service at one student essay in the content service.
type EssayRef struct {
	EssayID       string `json:"essay_id"`
	TextStorageID string `json:"text_storage_id"`
}

// StorageReference is a set of content service references by kind, in the
// services' StorageReferenceMetadata shape:
// {"references": {"student_prompt_text": {"storage_id": "…", "path": ""}}}.
type StorageReference struct {
	References map[string]StorageRef `json:"references"`
}

// StorageRef is one stored text.
type StorageRef struct {
	StorageID string `json:"storage_id"`
	Path      string `json:"path"`
}

// StudentPromptText is the reference kind of a student prompt.
const StudentPromptText = "student_prompt_text"

// StudentPromptRef refers to a student prompt stored under storageID.
func StudentPromptRef(storageID string) *StorageReference {
	return &StorageReference{References: map[string]StorageRef{StudentPromptText: {StorageID: storageID}}}
}

func (r *CJRequest) validate() *DecodeError {
	switch {
	case !IsUUID(r.EntityID):
		return &DecodeError{Field: "entity_id", Msg: fmt.Sprintf("%q is not a UUID", r.EntityID)}
	case len(r.EssaysForCJ) == 0:
		return &DecodeError{Field: "essays_for_cj", Msg: "required: at least one essay"}
	case !ValidCourseCode(r.CourseCode):
		return &DecodeError{Field: "course_code", Msg: fmt.Sprintf("%q is not one of %v", r.CourseCode, CourseCodes)}
	}
	for i, e := range r.EssaysForCJ {
		if e.EssayID == "" || e.TextStorageID == "" {
			return &DecodeError{Field: fmt.Sprintf("essays_for_cj[%d]", i), Msg: "essay_id and text_storage_id are required"}
		}
	}
	if o := r.LLMConfigOverrides; o != nil {
		if o.TemperatureOverride != nil && (*o.TemperatureOverride < 0 || *o.TemperatureOverride > 2) {
			return &DecodeError{Field: "llm_config_overrides.temperature_override", Msg: "must be from 0 to 2"}
		}
		if o.MaxTokensOverride != nil && *o.MaxTokensOverride <= 0 {
			return &DecodeError{Field: "llm_config_overrides.max_tokens_override", Msg: "must be > 0"}
		}
	}
	return nil
}

// ComparisonResult is the LLM provider's callback for one compared pair.
type ComparisonResult struct {
	RequestID       string         `json:"request_id"`
	CorrelationID   string         `json:"correlation_id"`
	Winner          *string        `json:"winner"`
	Justification   string         `json:"justification,omitempty"`
	Confidence      *float64       `json:"confidence"`
	ErrorDetail     *ErrorDetail   `json:"error_detail"`
	Provider        string         `json:"provider"`
	Model           string         `json:"model"`
	ResponseTimeMS  int64          `json:"response_time_ms"`
	TokenUsage      TokenUsage     `json:"token_usage"`
	CostEstimate    float64        `json:"cost_estimate"`
	RequestedAt     Time           `json:"requested_at"`
	CompletedAt     Time           `json:"completed_at"`
	TraceID         *string        `json:"trace_id"`
	RequestMetadata map[string]any `json:"request_metadata"`
}

// ErrorDetail describes a failed comparison.
type ErrorDetail struct {
	ErrorCode string         `json:"error_code"`
	Message   string         `json:"message"`
	Retryable *bool          `json:"retryable,omitempty"`
	Details   map[string]any `json:"details,omitempty"`
}

// TokenUsage counts a comparison's tokens.
type TokenUsage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
}

// Bounds of a callback's numbers: far beyond any real comparison, so that
// only a broken or hostile producer meets them, and low enough that no sum
// over a batch of any size can overflow or become infinite.
const (
	MaxTokensPerComparison = 10_000_000
	MaxCostPerComparison   = 1_000.0 // USD
	MaxResponseTimeMS      = 24 * 3600 * 1000
	// MaxScore bounds the CJ service's scores (bt_score, normalized and
	// confidence scores) and processing times.
	MaxScore = 1e6
)

// saneTime reports whether a timestamp is unset or within the years a run
// can have happened in.
func saneTime(t Time) bool { return t.IsZero() || (t.Year() >= 2000 && t.Year() <= 2200) }

// finite reports whether x is a number within ±limit.
func finite(x, limit float64) bool { return !math.IsNaN(x) && x >= -limit && x <= limit }

// Keys of a callback's request_metadata.
const (
	MetaEssayA      = "essay_a_id"
	MetaEssayB      = "essay_b_id"
	MetaPromptHash  = "prompt_sha256"
	MetaBatch       = "bos_batch_id"
	MetaBatchAlt    = "batch_id"
	MetaCJBatch     = "cj_batch_id"
	MetaRequestType = "cj_request_type"
	MetaIteration   = "comparison_iteration"
)

func (c *ComparisonResult) validate() *DecodeError {
	switch {
	case c.RequestID == "":
		return &DecodeError{Field: "request_id", Msg: "required (it is the dedup key)"}
	case !IsUUID(c.CorrelationID):
		return &DecodeError{Field: "correlation_id", Msg: fmt.Sprintf("%q is not a UUID", c.CorrelationID)}
	case c.Winner == nil && c.ErrorDetail == nil:
		return &DecodeError{Field: "winner", Msg: "neither winner nor error_detail is set; exactly one must be"}
	case c.Winner != nil && c.ErrorDetail != nil:
		return &DecodeError{Field: "error_detail", Msg: "both winner and error_detail are set; exactly one must be"}
	case c.Winner != nil && *c.Winner != WinnerA && *c.Winner != WinnerB:
		return &DecodeError{Field: "winner", Msg: fmt.Sprintf("%q, want %q or %q", *c.Winner, WinnerA, WinnerB)}
	case c.Confidence != nil && (*c.Confidence < 1 || *c.Confidence > 5 || math.IsNaN(*c.Confidence)):
		return &DecodeError{Field: "confidence", Msg: fmt.Sprintf("%v is outside 1.0–5.0", *c.Confidence)}
	case utf8.RuneCountInString(c.Justification) > MaxJustification:
		return &DecodeError{Field: "justification", Msg: fmt.Sprintf("%d characters, at most %d", utf8.RuneCountInString(c.Justification), MaxJustification)}
	case c.CostEstimate < 0 || !finite(c.CostEstimate, MaxCostPerComparison):
		return &DecodeError{Field: "cost_estimate", Msg: fmt.Sprintf("%v is not a cost from 0 to %v USD", c.CostEstimate, MaxCostPerComparison)}
	case c.TokenUsage.PromptTokens < 0 || c.TokenUsage.PromptTokens > MaxTokensPerComparison:
		return &DecodeError{Field: "token_usage.prompt_tokens", Msg: fmt.Sprintf("%d is not a count from 0 to %d", c.TokenUsage.PromptTokens, MaxTokensPerComparison)}
	case c.TokenUsage.CompletionTokens < 0 || c.TokenUsage.CompletionTokens > MaxTokensPerComparison:
		return &DecodeError{Field: "token_usage.completion_tokens", Msg: fmt.Sprintf("%d is not a count from 0 to %d", c.TokenUsage.CompletionTokens, MaxTokensPerComparison)}
	case c.TokenUsage.TotalTokens < 0 || c.TokenUsage.TotalTokens > 2*MaxTokensPerComparison:
		return &DecodeError{Field: "token_usage.total_tokens", Msg: fmt.Sprintf("%d is not a count from 0 to %d", c.TokenUsage.TotalTokens, 2*MaxTokensPerComparison)}
	case c.ResponseTimeMS < 0 || c.ResponseTimeMS > MaxResponseTimeMS:
		return &DecodeError{Field: "response_time_ms", Msg: fmt.Sprintf("%d is not a duration from 0 to %d ms", c.ResponseTimeMS, MaxResponseTimeMS)}
	case !saneTime(c.RequestedAt):
		return &DecodeError{Field: "requested_at", Msg: fmt.Sprintf("%s is not a time between the years 2000 and 2200", c.RequestedAt.Format(time.RFC3339))}
	case !saneTime(c.CompletedAt):
		return &DecodeError{Field: "completed_at", Msg: fmt.Sprintf("%s is not a time between the years 2000 and 2200", c.CompletedAt.Format(time.RFC3339))}
	case c.ErrorDetail != nil && c.ErrorDetail.ErrorCode == "":
		return &DecodeError{Field: "error_detail.error_code", Msg: "required"}
	}
	return nil
}

// metaString returns a string-valued request_metadata key.
func (c *ComparisonResult) metaString(key string) (string, bool) {
	v, ok := c.RequestMetadata[key]
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	return s, ok && s != ""
}

// EssayAID returns request_metadata.essay_a_id.
func (c *ComparisonResult) EssayAID() string { s, _ := c.metaString(MetaEssayA); return s }

// EssayBID returns request_metadata.essay_b_id.
func (c *ComparisonResult) EssayBID() string { s, _ := c.metaString(MetaEssayB); return s }

// PromptHash returns request_metadata.prompt_sha256.
func (c *ComparisonResult) PromptHash() string { s, _ := c.metaString(MetaPromptHash); return s }

// BatchHint returns the batch the callback belongs to: bos_batch_id, or
// batch_id when that is absent.
func (c *ComparisonResult) BatchHint() (string, bool) {
	if s, ok := c.metaString(MetaBatch); ok {
		return s, true
	}
	return c.metaString(MetaBatchAlt)
}

// Iteration returns request_metadata.comparison_iteration when present.
func (c *ComparisonResult) Iteration() (int, bool) {
	switch v := c.RequestMetadata[MetaIteration].(type) {
	case float64:
		if v >= 0 && v == math.Trunc(v) && v < 1e9 {
			return int(v), true
		}
	case int:
		return v, v >= 0
	}
	return 0, false
}

// MetadataFaults lists the request_metadata fields the runner requires that
// are missing or invalid: essay_a_id, essay_b_id, prompt_sha256 (64
// lower-case hex). Empty when the callback is complete.
func (c *ComparisonResult) MetadataFaults() []string {
	var f []string
	if _, ok := c.metaString(MetaEssayA); !ok {
		f = append(f, MetaEssayA)
	}
	if _, ok := c.metaString(MetaEssayB); !ok {
		f = append(f, MetaEssayB)
	}
	if h, ok := c.metaString(MetaPromptHash); !ok || !ValidPromptSHA256(h) {
		f = append(f, MetaPromptHash)
	}
	sort.Strings(f)
	return f
}

// Succeeded reports whether the callback carries a verdict.
func (c *ComparisonResult) Succeeded() bool { return c.Winner != nil && c.ErrorDetail == nil }

// CJCompleted is the CJ service's completion event. Its status
// failed_critically means the batch failed, though the event arrives on the
// completed topic.
type CJCompleted struct {
	EventName         string            `json:"event_name"`
	EntityID          string            `json:"entity_id"`
	Status            string            `json:"status"`
	SystemMetadata    *SystemMetadata   `json:"system_metadata,omitempty"`
	CJAssessmentJobID string            `json:"cj_assessment_job_id"`
	ProcessingSummary ProcessingSummary `json:"processing_summary"`
}

// FailedCritically reports whether the service ended the batch failed.
func (c *CJCompleted) FailedCritically() bool { return c.Status == StatusFailed }

// Reason is the service's reason for a failed_critically status.
func (c *CJCompleted) Reason() string {
	if c.SystemMetadata != nil && len(c.SystemMetadata.ErrorInfo) > 0 {
		return ErrorInfoText(c.SystemMetadata.ErrorInfo)
	}
	return "the CJ service ended the batch with status " + StatusFailed + " and gave no reason (system_metadata.error_info is empty)"
}

// ProcessingSummary summarizes the CJ job.
type ProcessingSummary struct {
	TotalEssays           int      `json:"total_essays"`
	Successful            int      `json:"successful"`
	Failed                int      `json:"failed"`
	SuccessfulEssayIDs    []string `json:"successful_essay_ids"`
	FailedEssayIDs        []string `json:"failed_essay_ids"`
	ProcessingTimeSeconds float64  `json:"processing_time_seconds"`
}

func (c *CJCompleted) validate() *DecodeError {
	switch {
	case c.EntityID == "":
		return &DecodeError{Field: "entity_id", Msg: "required"}
	case c.Status != StatusCompleted && c.Status != StatusFailed:
		return &DecodeError{Field: "status", Msg: fmt.Sprintf("%q, want %s or %s", c.Status, StatusCompleted, StatusFailed)}
	case !finite(c.ProcessingSummary.ProcessingTimeSeconds, MaxScore):
		return &DecodeError{Field: "processing_summary.processing_time_seconds", Msg: fmt.Sprintf("%v is not a number within ±%g", c.ProcessingSummary.ProcessingTimeSeconds, MaxScore)}
	}
	return nil
}

// AssessmentResult is the CJ service's published result.
type AssessmentResult struct {
	BatchID            string         `json:"batch_id"`
	CJAssessmentJobID  string         `json:"cj_assessment_job_id"`
	AssignmentID       string         `json:"assignment_id"`
	AssessmentMethod   string         `json:"assessment_method"`
	ModelUsed          string         `json:"model_used"`
	ModelProvider      string         `json:"model_provider"`
	EssayResults       []EssayResult  `json:"essay_results"`
	AssessmentMetadata map[string]any `json:"assessment_metadata"`
	AssessedAt         Time           `json:"assessed_at"`
}

// EssayResult is one essay's score from the CJ service.
type EssayResult struct {
	EssayID         string  `json:"essay_id"`
	NormalizedScore float64 `json:"normalized_score"`
	LetterGrade     string  `json:"letter_grade"`
	ConfidenceScore float64 `json:"confidence_score"`
	ConfidenceLabel string  `json:"confidence_label"`
	BTScore         float64 `json:"bt_score"`
	Rank            int     `json:"rank"`
	IsAnchor        bool    `json:"is_anchor"`
	DisplayName     string  `json:"display_name"`
}

func (r *AssessmentResult) validate() *DecodeError {
	if r.BatchID == "" {
		return &DecodeError{Field: "batch_id", Msg: "required"}
	}
	for i, e := range r.EssayResults {
		if e.EssayID == "" {
			return &DecodeError{Field: fmt.Sprintf("essay_results[%d].essay_id", i), Msg: "required"}
		}
		for _, f := range []struct {
			name string
			v    float64
		}{{"bt_score", e.BTScore}, {"normalized_score", e.NormalizedScore}, {"confidence_score", e.ConfidenceScore}} {
			if !finite(f.v, MaxScore) {
				return &DecodeError{Field: fmt.Sprintf("essay_results[%d].%s", i, f.name), Msg: fmt.Sprintf("%v is not a number within ±%g", f.v, MaxScore)}
			}
		}
	}
	return nil
}

// CJFailed is the CJ service's failure event; its reason is in
// system_metadata.error_info (there is no top-level reason).
type CJFailed struct {
	EventName         string          `json:"event_name,omitempty"`
	EntityID          string          `json:"entity_id"`
	Status            string          `json:"status,omitempty"`
	SystemMetadata    *SystemMetadata `json:"system_metadata"`
	CJAssessmentJobID string          `json:"cj_assessment_job_id"`
}

// Reason is the failure's reason as the service gave it.
func (f *CJFailed) Reason() string {
	if f.SystemMetadata != nil && len(f.SystemMetadata.ErrorInfo) > 0 {
		return ErrorInfoText(f.SystemMetadata.ErrorInfo)
	}
	return "the CJ service gave no reason (system_metadata.error_info is empty)"
}

// ErrorInfoText renders a system_metadata.error_info as one line, keeping
// the service's words: "<error_code>: <error_message>" or "<reason>", then
// the remaining keys (details, progress…) as compact JSON. Failure reasons
// are free text: whatever arrives is shown.
func ErrorInfoText(info map[string]any) string {
	rest := map[string]any{}
	for k, v := range info {
		rest[k] = v
	}
	take := func(k string) string {
		v, ok := rest[k]
		if !ok {
			return ""
		}
		delete(rest, k)
		if s, ok := v.(string); ok {
			return s
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	var head string
	code, msg, reason := take("error_code"), take("error_message"), take("reason")
	switch {
	case code != "" && msg != "":
		head = code + ": " + msg
	case msg != "":
		head = msg
	case code != "":
		head = code
	}
	if reason != "" {
		if head != "" {
			head += "; "
		}
		head += reason
	}
	if len(rest) == 0 {
		return head
	}
	b, _ := json.Marshal(rest) // map keys sorted: stable text
	if head == "" {
		return string(b)
	}
	return head + " " + string(b)
}

func (f *CJFailed) validate() *DecodeError {
	if f.EntityID == "" {
		return &DecodeError{Field: "entity_id", Msg: "required"}
	}
	return nil
}

// Attribution is what ties a callback that does not decode to a batch: its
// batch hint and its ids, read as leniently as JSON allows.
type Attribution struct {
	Batch         string
	CorrelationID string
	RequestID     string
}

// AttributeCallback reads a callback message's batch hint
// (request_metadata.bos_batch_id, else batch_id), correlation id and
// request id without validating anything else, so that a callback that
// fails validation can still be told to be this batch's. Values of the
// wrong type read as "".
func AttributeCallback(value []byte) Attribution {
	var w struct {
		Data struct {
			RequestID       any            `json:"request_id"`
			CorrelationID   any            `json:"correlation_id"`
			RequestMetadata map[string]any `json:"request_metadata"`
		} `json:"data"`
	}
	if err := json.Unmarshal(value, &w); err != nil {
		// A wrong type for request_metadata fails the whole decode; try
		// again without it.
		var v struct {
			Data struct {
				RequestID     any `json:"request_id"`
				CorrelationID any `json:"correlation_id"`
			} `json:"data"`
		}
		if json.Unmarshal(value, &v) != nil {
			return Attribution{}
		}
		w.Data.RequestID, w.Data.CorrelationID = v.Data.RequestID, v.Data.CorrelationID
	}
	str := func(v any) string { s, _ := v.(string); return s }
	a := Attribution{CorrelationID: str(w.Data.CorrelationID), RequestID: str(w.Data.RequestID)}
	if a.Batch = str(w.Data.RequestMetadata[MetaBatch]); a.Batch == "" {
		a.Batch = str(w.Data.RequestMetadata[MetaBatchAlt])
	}
	return a
}
