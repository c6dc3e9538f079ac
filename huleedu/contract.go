// Package huleedu is the HTTP contract of the HuleEdu services eng5np talks
// to: the content service and the CJ Assessment service (its anchor
// registration and its admin API). It holds the routes, the request and
// response bodies as the services' own models define them, how their answers
// are read (including the bare 500s a deployed CJ service gives for every
// error), and the client the runner uses. The dev stack serves the same
// routes with the same types, so both sides of a test speak one contract.
//
// docs/CONTRACT.md describes the contract and where each fact comes from.
package huleedu

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Routes. Paths ending in "/" take an assignment id.
const (
	PathHealth         = "/healthz"
	PathContent        = "/v1/content" // POST stores; GET PathContent/{id} reads
	PathAnchorRegister = "/api/v1/anchors/register"

	PathAdmin                   = "/admin/v1"
	PathAdminAnchors            = "/admin/v1/anchors/assignment/"
	PathAdminInstructions       = "/admin/v1/assessment-instructions"
	PathAdminInstructionsFor    = "/admin/v1/assessment-instructions/assignment/"
	PathAdminStudentPrompts     = "/admin/v1/student-prompts"
	PathAdminStudentPromptFor   = "/admin/v1/student-prompts/assignment/"
	PathAdminJudgeRubrics       = "/admin/v1/judge-rubrics"
	PathAdminJudgeRubricFor     = "/admin/v1/judge-rubrics/assignment/"
	minInstructionsText         = 10
	minPromptText               = 10
	MinAnchorText               = 100 // characters of essay_text the CJ service requires of an anchor
	ServiceCJ                   = "cj_assessment_service"
	defaultInstructionsPageSize = 50
)

// Context origins of an assignment's instructions.
const (
	ContextResearch  = "research_experiment" // the default: prompts and rubrics may be overridden
	ContextCanonical = "canonical_national"  // signed off: a judge_rubric_override fails the batch
)

// ContextOrigins lists the accepted context origins.
var ContextOrigins = []string{ContextResearch, ContextCanonical}

// ContentStored is the content service's answer to a stored text (201).
type ContentStored struct {
	StorageID     string `json:"storage_id"`
	CorrelationID string `json:"correlation_id,omitempty"`
}

// AnchorRegistration is the body of POST /api/v1/anchors/register: an
// upsert on (assignment, label, the assignment's grade scale).
type AnchorRegistration struct {
	AssignmentID string `json:"assignment_id"`
	Grade        string `json:"grade"`
	AnchorLabel  string `json:"anchor_label"`
	EssayText    string `json:"essay_text"`
}

// AnchorRegistered is the answer to a registration (201).
type AnchorRegistered struct {
	AnchorID   int    `json:"anchor_id"`
	StorageID  string `json:"storage_id"`
	GradeScale string `json:"grade_scale"`
	Status     string `json:"status"`
}

// Anchor is one registered anchor in the admin anchor summary. Its ID is
// the database id the CJ service puts in the ids it gives anchors in a
// batch: ANCHOR_{ID}_{8 hex}.
type Anchor struct {
	ID            int      `json:"id"`
	AssignmentID  string   `json:"assignment_id,omitempty"`
	AnchorLabel   string   `json:"anchor_label"`
	Grade         string   `json:"grade"`
	GradeScale    string   `json:"grade_scale"`
	TextStorageID string   `json:"text_storage_id"`
	CreatedAt     HTTPTime `json:"created_at"`
}

// AnchorSummary is GET /admin/v1/anchors/assignment/{id}: the assignment's
// anchors in its instructions' grade scale, and counts over every scale.
type AnchorSummary struct {
	AssignmentID       string         `json:"assignment_id"`
	GradeScale         string         `json:"grade_scale"`
	AnchorCount        int            `json:"anchor_count"`
	Anchors            []Anchor       `json:"anchors"`
	AnchorCountTotal   int            `json:"anchor_count_total"`
	AnchorCountByScale map[string]int `json:"anchor_count_by_scale"`
}

// Instructions is an assignment's assessment instructions row, the
// prerequisite of every batch with an assignment id.
type Instructions struct {
	ID                     int      `json:"id"`
	AssignmentID           string   `json:"assignment_id,omitempty"`
	CourseID               string   `json:"course_id,omitempty"`
	InstructionsText       string   `json:"instructions_text"`
	GradeScale             string   `json:"grade_scale"`
	ContextOrigin          string   `json:"context_origin"`
	StudentPromptStorageID string   `json:"student_prompt_storage_id,omitempty"`
	CreatedAt              HTTPTime `json:"created_at"`
}

// InstructionsUpsert is the body of POST /admin/v1/assessment-instructions
// (assignment_id xor course_id).
type InstructionsUpsert struct {
	AssignmentID           string `json:"assignment_id,omitempty"`
	CourseID               string `json:"course_id,omitempty"`
	InstructionsText       string `json:"instructions_text"`
	GradeScale             string `json:"grade_scale"`
	ContextOrigin          string `json:"context_origin,omitempty"`
	StudentPromptStorageID string `json:"student_prompt_storage_id,omitempty"`
}

// Validate applies the service's own checks, so a bad request is refused
// before it is sent.
func (u InstructionsUpsert) Validate() error {
	switch {
	case (u.AssignmentID == "") == (u.CourseID == ""):
		return fmt.Errorf("give exactly one of assignment_id or course_id")
	case len([]rune(strings.TrimSpace(u.InstructionsText))) < minInstructionsText:
		return fmt.Errorf("instructions_text must have at least %d characters", minInstructionsText)
	case u.GradeScale == "":
		return fmt.Errorf("grade_scale is required")
	case u.ContextOrigin != "" && u.ContextOrigin != ContextResearch && u.ContextOrigin != ContextCanonical:
		return fmt.Errorf("context_origin %q is not one of %s", u.ContextOrigin, strings.Join(ContextOrigins, ", "))
	}
	return nil
}

// InstructionsList is GET /admin/v1/assessment-instructions.
type InstructionsList struct {
	Items    []Instructions `json:"items"`
	Total    int            `json:"total"`
	Page     int            `json:"page"`
	PageSize int            `json:"page_size"`
}

// StudentPromptUpload is the body of POST /admin/v1/student-prompts.
type StudentPromptUpload struct {
	AssignmentID string `json:"assignment_id"`
	PromptText   string `json:"prompt_text"`
}

// StudentPrompt is an assignment's student prompt with its instructions.
type StudentPrompt struct {
	AssignmentID           string   `json:"assignment_id"`
	StudentPromptStorageID string   `json:"student_prompt_storage_id"`
	PromptText             string   `json:"prompt_text"`
	InstructionsText       string   `json:"instructions_text"`
	GradeScale             string   `json:"grade_scale"`
	CreatedAt              HTTPTime `json:"created_at"`
}

// JudgeRubricUpload is the body of POST /admin/v1/judge-rubrics.
type JudgeRubricUpload struct {
	AssignmentID string `json:"assignment_id"`
	RubricText   string `json:"rubric_text"`
}

// JudgeRubric is an assignment's judge rubric with its instructions.
type JudgeRubric struct {
	AssignmentID         string   `json:"assignment_id"`
	JudgeRubricStorageID string   `json:"judge_rubric_storage_id"`
	RubricText           string   `json:"rubric_text"`
	InstructionsText     string   `json:"instructions_text"`
	GradeScale           string   `json:"grade_scale"`
	CreatedAt            HTTPTime `json:"created_at"`
}

// ErrorBody is how the services describe an error. A deployed CJ service
// answers every admin error with the catch-all
// {"error": "Internal server error", "message": "An unexpected error
// occurred", "service": "cj_assessment_service"} and HTTP 500.
type ErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message,omitempty"`
	Service string `json:"service,omitempty"`
	Status  int    `json:"status,omitempty"`
}

// CatchAll is the deployed CJ service's answer to any error.
var CatchAll = ErrorBody{Error: "Internal server error", Message: "An unexpected error occurred", Service: ServiceCJ}

// HTTPTime is a timestamp as the services' JSON provider writes datetimes
// (an HTTP date, "Mon, 03 Nov 2025 09:14:07 GMT"); RFC 3339 is read too.
type HTTPTime struct{ time.Time }

// MarshalJSON writes an HTTP date.
func (t HTTPTime) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + t.UTC().Format(http.TimeFormat) + `"`), nil
}

// UnmarshalJSON reads an HTTP date or an RFC 3339 timestamp.
func (t *HTTPTime) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		t.Time = time.Time{}
		return nil
	}
	for _, layout := range []string{http.TimeFormat, time.RFC1123Z, time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("%q is neither an HTTP date nor an RFC 3339 timestamp", s)
}
