package devstack

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"eng5np/fault"
	"eng5np/huleedu"
	"eng5np/scoring"
)

// maxContentBytes caps one uploaded text.
const maxContentBytes = 16 << 20

func respondJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// respondError answers a content-service error, or an anchor registration
// error (those the CJ service returns itself, not through its error
// handler).
func respondError(w http.ResponseWriter, status int, format string, args ...any) {
	respondJSON(w, status, huleedu.ErrorBody{Error: fmt.Sprintf(format, args...), Status: status})
}

// cjError answers an error the CJ service raises: with its intended status
// (what a deployment with the HuleEdu error handlers answers) or, under the
// bare_500 fault, with the catch-all 500 the deployed service gives for
// every raised error and unknown route.
func (s *Stack) cjError(w http.ResponseWriter, status int, format string, args ...any) {
	if s.opts.Faults.Rate(fault.Bare500) > 0 {
		respondJSON(w, http.StatusInternalServerError, huleedu.CatchAll)
		return
	}
	respondError(w, status, format, args...)
}

// statusRecorder remembers the status a handler wrote, for the metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// handler serves the content service and the CJ service on one port.
func (s *Stack) handler() http.Handler {
	mux := http.NewServeMux()
	route := func(path string, byMethod map[string]http.HandlerFunc) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			h, ok := byMethod[r.Method]
			if !ok && r.Method == http.MethodHead {
				h, ok = byMethod[http.MethodGet]
			}
			if !ok {
				respondError(w, http.StatusMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path)
				return
			}
			h(w, r)
		})
	}
	get, post := http.MethodGet, http.MethodPost
	route(huleedu.PathHealth, map[string]http.HandlerFunc{get: func(w http.ResponseWriter, r *http.Request) {
		respondJSON(w, http.StatusOK, map[string]any{"status": "ok", "services": []string{"content", "cj_assessment"}})
	}})
	route(huleedu.PathContent, map[string]http.HandlerFunc{post: s.storeContent})
	route(huleedu.PathContent+"/{id}", map[string]http.HandlerFunc{get: s.fetchContent})
	route(huleedu.PathAnchorRegister, map[string]http.HandlerFunc{post: s.registerAnchor})

	route(huleedu.PathAdminAnchors+"{id}", map[string]http.HandlerFunc{get: s.admin(s.anchorSummary)})
	route(huleedu.PathAdminInstructions, map[string]http.HandlerFunc{get: s.admin(s.listInstructions), post: s.admin(s.upsertInstructions)})
	route(huleedu.PathAdminInstructionsFor+"{id}", map[string]http.HandlerFunc{get: s.admin(s.getInstructions)})
	route(huleedu.PathAdminStudentPrompts, map[string]http.HandlerFunc{post: s.admin(s.uploadStudentPrompt)})
	route(huleedu.PathAdminStudentPromptFor+"{id}", map[string]http.HandlerFunc{get: s.admin(s.getStudentPrompt)})
	route(huleedu.PathAdminJudgeRubrics, map[string]http.HandlerFunc{post: s.admin(s.uploadJudgeRubric)})
	route(huleedu.PathAdminJudgeRubricFor+"{id}", map[string]http.HandlerFunc{get: s.admin(s.getJudgeRubric)})

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.cjError(w, http.StatusNotFound, "no such endpoint %s %s", r.Method, r.URL.Path)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		_, pattern := mux.Handler(r)
		mux.ServeHTTP(rec, r)
		s.metrics.httpRequest(r.Method, pattern, rec.status)
	})
}

func (s *Stack) storeContent(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxContentBytes+1))
	switch {
	case err != nil:
		respondError(w, http.StatusBadRequest, "cannot read the body: %v", err)
	case len(body) > maxContentBytes:
		respondError(w, http.StatusRequestEntityTooLarge, "content larger than %d bytes", maxContentBytes)
	case len(strings.TrimSpace(string(body))) == 0:
		respondError(w, http.StatusBadRequest, "empty content")
	case !utf8.Valid(body):
		respondError(w, http.StatusBadRequest, "content is not UTF-8 text")
	default:
		respondJSON(w, http.StatusCreated, huleedu.ContentStored{StorageID: s.content.put(body)})
	}
}

func (s *Stack) fetchContent(w http.ResponseWriter, r *http.Request) {
	b, ok := s.content.get(r.PathValue("id"))
	if !ok {
		respondError(w, http.StatusNotFound, "no content with storage id %q", r.PathValue("id"))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(b)
}

// registerAnchor is POST /api/v1/anchors/register, checked in the
// service's order: the body, the essay's length, the assignment's
// instructions, the grade on their scale.
func (s *Stack) registerAnchor(w http.ResponseWriter, r *http.Request) {
	var req huleedu.AnchorRegistration
	if err := json.NewDecoder(io.LimitReader(r.Body, maxContentBytes)).Decode(&req); err != nil {
		respondError(w, http.StatusBadRequest, "Invalid JSON body")
		return
	}
	switch {
	case strings.TrimSpace(req.AssignmentID) == "" || strings.TrimSpace(req.Grade) == "":
		respondError(w, http.StatusBadRequest, "Value cannot be empty")
		return
	case utf8.RuneCountInString(req.EssayText) < huleedu.MinAnchorText:
		respondError(w, http.StatusBadRequest, "Essay text too short (min %d chars)", huleedu.MinAnchorText)
		return
	}
	in, ok := s.cj.getInstructions(req.AssignmentID)
	if !ok {
		respondError(w, http.StatusBadRequest, "Unknown assignment_id '%s'", req.AssignmentID)
		return
	}
	scale, err := scoring.LookupScale(in.gradeScale)
	if err != nil {
		respondError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if !contains(scale.Grades, req.Grade) {
		respondError(w, http.StatusBadRequest, "Invalid grade '%s' for scale '%s'", req.Grade, scale.Name)
		return
	}
	label := req.AnchorLabel
	if label == "" {
		label = req.Grade
	}
	a := s.cj.registerAnchor(req.AssignmentID, registeredAnchor{Label: label, Grade: req.Grade,
		GradeScale: scale.Name, Text: req.EssayText, StorageID: s.content.put([]byte(req.EssayText))})
	respondJSON(w, http.StatusCreated, huleedu.AnchorRegistered{AnchorID: a.ID, StorageID: a.StorageID, GradeScale: a.GradeScale, Status: "registered"})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// admin wraps an admin route in the CJ service's admin authentication: a
// Bearer JWT of the stack's secret, issuer and audience, with the admin
// role (401 without or with a bad token, 403 without the role). The
// admin_disabled fault answers every admin route 404, as a production
// deployment with the admin API switched off does.
func (s *Stack) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Faults.Rate(fault.AdminDisabled) > 0 {
			s.cjError(w, http.StatusNotFound, "no such endpoint %s %s", r.Method, r.URL.Path)
			return
		}
		_, err := huleedu.VerifyAdmin(r.Header.Get("Authorization"), s.JWTSecret, s.opts.JWTIssuer, s.opts.JWTAudience, time.Now())
		switch {
		case errors.Is(err, huleedu.ErrNotAdmin):
			s.cjError(w, http.StatusForbidden, "Admin role required")
		case err != nil:
			s.cjError(w, http.StatusUnauthorized, "%v", err)
		default:
			h(w, r)
		}
	}
}

func (s *Stack) anchorSummary(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	in, ok := s.cj.getInstructions(id)
	if !ok {
		s.cjError(w, http.StatusNotFound, "assessment_instruction %s not found", id)
		return
	}
	out := huleedu.AnchorSummary{AssignmentID: id, GradeScale: in.gradeScale, Anchors: []huleedu.Anchor{}, AnchorCountByScale: map[string]int{}}
	for _, a := range s.cj.anchorsOf(id, "") {
		out.AnchorCountByScale[a.GradeScale]++
		out.AnchorCountTotal++
		if a.GradeScale != in.gradeScale {
			continue
		}
		out.Anchors = append(out.Anchors, huleedu.Anchor{ID: a.ID, AssignmentID: id, AnchorLabel: a.Label, Grade: a.Grade, GradeScale: a.GradeScale,
			TextStorageID: a.StorageID, CreatedAt: huleedu.HTTPTime{Time: a.Created}})
	}
	out.AnchorCount = len(out.Anchors)
	respondJSON(w, http.StatusOK, out)
}

func (s *Stack) listInstructions(w http.ResponseWriter, r *http.Request) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	size, _ := strconv.Atoi(r.URL.Query().Get("page_size"))
	page, size = max(page, 1), min(max(size, 1), 200)
	if r.URL.Query().Get("page_size") == "" {
		size = 50
	}
	all := s.cj.listInstructions()
	out := huleedu.InstructionsList{Items: []huleedu.Instructions{}, Total: len(all), Page: page, PageSize: size}
	for i := (page - 1) * size; i < len(all) && i < page*size; i++ {
		out.Items = append(out.Items, all[i].response())
	}
	respondJSON(w, http.StatusOK, out)
}

func (s *Stack) upsertInstructions(w http.ResponseWriter, r *http.Request) {
	var req huleedu.InstructionsUpsert
	if err := json.NewDecoder(io.LimitReader(r.Body, maxContentBytes)).Decode(&req); err != nil {
		s.cjError(w, http.StatusBadRequest, "JSON body required")
		return
	}
	req.InstructionsText = strings.TrimSpace(req.InstructionsText)
	if err := req.Validate(); err != nil {
		s.cjError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if req.CourseID != "" {
		s.cjError(w, http.StatusBadRequest, "the dev stack keeps instructions per assignment only")
		return
	}
	if _, err := scoring.LookupScale(req.GradeScale); err != nil {
		s.cjError(w, http.StatusBadRequest, "%v", err)
		return
	}
	in, err := s.cj.upsertInstructions(req.AssignmentID, req.InstructionsText, req.GradeScale, req.ContextOrigin, req.StudentPromptStorageID, "")
	if err != nil {
		s.cjError(w, http.StatusBadRequest, "%v", err)
		return
	}
	respondJSON(w, http.StatusOK, in.response())
}

func (s *Stack) getInstructions(w http.ResponseWriter, r *http.Request) {
	in, ok := s.cj.getInstructions(r.PathValue("id"))
	if !ok {
		s.cjError(w, http.StatusNotFound, "assessment_instruction %s not found", r.PathValue("id"))
		return
	}
	respondJSON(w, http.StatusOK, in.response())
}

// promptUpload stores a prompt or rubric text for an assignment that has
// instructions, and returns the updated instructions.
func (s *Stack) promptUpload(w http.ResponseWriter, r *http.Request, rubric bool) (instructions, string, bool) {
	var body struct {
		AssignmentID string `json:"assignment_id"`
		PromptText   string `json:"prompt_text"`
		RubricText   string `json:"rubric_text"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxContentBytes)).Decode(&body); err != nil {
		s.cjError(w, http.StatusBadRequest, "JSON body required")
		return instructions{}, "", false
	}
	text := strings.TrimSpace(body.PromptText)
	if rubric {
		text = strings.TrimSpace(body.RubricText)
	}
	if body.AssignmentID == "" || utf8.RuneCountInString(text) < 10 {
		s.cjError(w, http.StatusBadRequest, "assignment_id and a text of at least 10 characters are required")
		return instructions{}, "", false
	}
	in, ok := s.cj.getInstructions(body.AssignmentID)
	if !ok {
		s.cjError(w, http.StatusNotFound, "AssessmentInstruction %s not found", body.AssignmentID)
		return instructions{}, "", false
	}
	id := s.content.put([]byte(text))
	prompt, rub := id, ""
	if rubric {
		prompt, rub = "", id
	}
	in, err := s.cj.upsertInstructions(in.assignmentID, in.text, in.gradeScale, in.contextOrigin, prompt, rub)
	if err != nil {
		s.cjError(w, http.StatusInternalServerError, "%v", err)
		return instructions{}, "", false
	}
	return in, text, true
}

func (s *Stack) uploadStudentPrompt(w http.ResponseWriter, r *http.Request) {
	if in, text, ok := s.promptUpload(w, r, false); ok {
		respondJSON(w, http.StatusOK, huleedu.StudentPrompt{AssignmentID: in.assignmentID, StudentPromptStorageID: in.studentPromptStorage,
			PromptText: text, InstructionsText: in.text, GradeScale: in.gradeScale, CreatedAt: huleedu.HTTPTime{Time: in.created}})
	}
}

func (s *Stack) uploadJudgeRubric(w http.ResponseWriter, r *http.Request) {
	if in, text, ok := s.promptUpload(w, r, true); ok {
		respondJSON(w, http.StatusOK, huleedu.JudgeRubric{AssignmentID: in.assignmentID, JudgeRubricStorageID: in.judgeRubricStorage,
			RubricText: text, InstructionsText: in.text, GradeScale: in.gradeScale, CreatedAt: huleedu.HTTPTime{Time: in.created}})
	}
}

// storedText returns an assignment's prompt or rubric text.
func (s *Stack) storedText(w http.ResponseWriter, r *http.Request, rubric bool) (instructions, string, bool) {
	in, ok := s.cj.getInstructions(r.PathValue("id"))
	if !ok {
		s.cjError(w, http.StatusNotFound, "AssessmentInstruction %s not found", r.PathValue("id"))
		return instructions{}, "", false
	}
	id, what := in.studentPromptStorage, "prompt"
	if rubric {
		id, what = in.judgeRubricStorage, "judge rubric"
	}
	text, ok := s.content.get(id)
	if id == "" || !ok {
		s.cjError(w, http.StatusNotFound, "No %s configured for assignment", what)
		return instructions{}, "", false
	}
	return in, string(text), true
}

func (s *Stack) getStudentPrompt(w http.ResponseWriter, r *http.Request) {
	if in, text, ok := s.storedText(w, r, false); ok {
		respondJSON(w, http.StatusOK, huleedu.StudentPrompt{AssignmentID: in.assignmentID, StudentPromptStorageID: in.studentPromptStorage,
			PromptText: text, InstructionsText: in.text, GradeScale: in.gradeScale, CreatedAt: huleedu.HTTPTime{Time: in.created}})
	}
}

func (s *Stack) getJudgeRubric(w http.ResponseWriter, r *http.Request) {
	if in, text, ok := s.storedText(w, r, true); ok {
		respondJSON(w, http.StatusOK, huleedu.JudgeRubric{AssignmentID: in.assignmentID, JudgeRubricStorageID: in.judgeRubricStorage,
			RubricText: text, InstructionsText: in.text, GradeScale: in.gradeScale, CreatedAt: huleedu.HTTPTime{Time: in.created}})
	}
}

// seed creates the assignments a dev deployment was set up with.
func (s *Stack) seed(as []Assignment) error {
	for _, a := range as {
		if _, err := scoring.LookupScale(a.GradeScale); err != nil {
			return fmt.Errorf("seed assignment %s: %w", a.ID, err)
		}
		var prompt, rubric string
		if strings.TrimSpace(a.StudentPrompt) != "" {
			prompt = s.content.put([]byte(a.StudentPrompt))
		}
		if strings.TrimSpace(a.JudgeRubric) != "" {
			rubric = s.content.put([]byte(a.JudgeRubric))
		}
		if _, err := s.cj.upsertInstructions(a.ID, a.Instructions, a.GradeScale, a.ContextOrigin, prompt, rubric); err != nil {
			return fmt.Errorf("seed assignment %s: %w", a.ID, err)
		}
	}
	return nil
}
