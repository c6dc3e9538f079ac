package runner

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"eng5np/config"
	"eng5np/huleedu"
	"eng5np/inputs"
)

// ServiceEndpoints are the content and CJ services of a deployment, for the
// commands that only talk HTTP (assignment, anchors); both URLs are needed.
func ServiceEndpoints(cfg *config.Config) (Endpoints, error) {
	var missing []string
	if cfg.ContentServiceURL == "" {
		missing = append(missing, "--content-service-url")
	}
	if cfg.CJServiceURL == "" {
		missing = append(missing, "--cj-service-url")
	}
	if len(missing) > 0 {
		return Endpoints{}, Exitf(ExitUsage, "pass "+strings.Join(missing, " and ")+" (the deployment's services; `eng5np stack up` prints them for the dev stack)",
			"this command talks to a deployment's content and CJ services")
	}
	return Endpoints{ContentURL: huleedu.ContentBase(cfg.ContentServiceURL), CJURL: cfg.CJServiceURL, Admin: AdminAuth(cfg), HTTPTimeout: cfg.HTTPTimeout}, nil
}

// batchFor loads the batch an assignment command works with; a batch with
// problems is a usage error.
func batchFor(cfg *config.Config) (*Plan, error) {
	plan, err := BuildPlan(cfg)
	if err != nil {
		return plan, err
	}
	if plan.Settings.AssignmentID == "" {
		return plan, Exitf(ExitUsage, "set assignment_id in batch.yaml or pass --assignment-id", "no assignment id")
	}
	return plan, nil
}

// adminError turns an admin API error into what the user should do.
func adminError(what string, err error) error {
	var nt *huleedu.NoTokenError
	if se, ok := huleedu.AsStatus(err); ok {
		switch {
		case se.Status == http.StatusUnauthorized:
			return Exitf(ExitFailure, "check the token ("+huleedu.TokenOptions+"); `eng5np doctor` explains", "%s: the CJ admin API rejected the token (401)", what)
		case se.Status == http.StatusForbidden:
			return Exitf(ExitFailure, "use a token whose roles include \"admin\"", "%s: the token lacks the admin role (403)", what)
		case se.CatchAll():
			return Exitf(ExitFailure, "run `eng5np doctor` against the deployment: it tells the likely causes apart",
				"%s: the CJ service answered a bare 500 (it answers every admin error so)", what)
		}
	} else if errors.As(err, &nt) {
		return Exitf(ExitFailure, huleedu.TokenOptions, "%s: %v", what, err)
	}
	return Exitf(ExitFailure, "check --cj-service-url and the CJ service's logs", "%s: %v", what, err)
}

// notFound reports whether err is the service's 404.
func notFound(err error) bool { return huleedu.StatusOf(err) == http.StatusNotFound }

// AssignmentView is an assignment as the CJ service holds it.
type AssignmentView struct {
	AssignmentID string                `json:"assignment_id"`
	Instructions *huleedu.Instructions `json:"instructions"`
	// StudentPrompt and JudgeRubric are the stored texts ("" when none).
	StudentPrompt string `json:"student_prompt,omitempty"`
	JudgeRubric   string `json:"judge_rubric,omitempty"`
	// Anchors are those registered in the instructions' scale, by label.
	Anchors            []AnchorView   `json:"anchors"`
	AnchorCountByScale map[string]int `json:"anchor_count_by_scale,omitempty"`
	// BatchGradeScale is the batch's scale; Notes say how the assignment
	// and the batch differ.
	BatchGradeScale string   `json:"batch_grade_scale"`
	Notes           []string `json:"notes,omitempty"`
}

// AnchorView is one registered anchor and its place in the batch.
type AnchorView struct {
	ID         int    `json:"id"`
	Label      string `json:"anchor_label"`
	Grade      string `json:"grade"`
	GradeScale string `json:"grade_scale"`
	// InBatch is set when the batch has an anchor of this label;
	// BatchGrade is its grade there.
	InBatch    bool   `json:"in_batch"`
	BatchGrade string `json:"batch_grade,omitempty"`
}

// ShowAssignment reads an assignment's instructions, student prompt, judge
// rubric and registered anchors, and compares them with the batch.
func ShowAssignment(ctx context.Context, cfg *config.Config) (*AssignmentView, error) {
	plan, err := batchFor(cfg)
	if err != nil {
		return nil, err
	}
	ep, err := ServiceEndpoints(cfg)
	if err != nil {
		return nil, err
	}
	c := ep.client()
	id := plan.Settings.AssignmentID
	v := &AssignmentView{AssignmentID: id, BatchGradeScale: plan.Settings.GradeScale, Anchors: []AnchorView{}}
	in, err := c.Instructions(ctx, id)
	switch {
	case notFound(err):
		v.Notes = append(v.Notes, "no assessment instructions: the CJ service fails every batch of this assignment; "+setupFix)
		return v, nil
	case err != nil:
		return nil, adminError("reading the instructions of assignment "+id, err)
	}
	v.Instructions = in
	if in.GradeScale != v.BatchGradeScale {
		v.Notes = append(v.Notes, fmt.Sprintf("the assignment is on grade scale %s, the batch on %s: run the batch with --grade-scale %s", in.GradeScale, v.BatchGradeScale, in.GradeScale))
	}
	if p, err := c.StudentPrompt(ctx, id); err == nil {
		v.StudentPrompt = p.PromptText
	} else if !notFound(err) {
		return nil, adminError("reading the student prompt", err)
	} else {
		v.Notes = append(v.Notes, "no student prompt stored; "+setupFix)
	}
	if r, err := c.JudgeRubric(ctx, id); err == nil {
		v.JudgeRubric = r.RubricText
	} else if !notFound(err) {
		return nil, adminError("reading the judge rubric", err)
	}
	sum, err := c.AnchorSummary(ctx, id)
	if err != nil {
		return nil, adminError("reading the anchors", err)
	}
	v.AnchorCountByScale = sum.AnchorCountByScale
	batch := anchorGrades(plan.Batch.Anchors)
	for _, a := range sum.Anchors {
		g, in := batch[a.AnchorLabel]
		v.Anchors = append(v.Anchors, AnchorView{ID: a.ID, Label: a.AnchorLabel, Grade: a.Grade, GradeScale: a.GradeScale, InBatch: in, BatchGrade: g})
	}
	sort.Slice(v.Anchors, func(i, j int) bool { return v.Anchors[i].Label < v.Anchors[j].Label })
	d := compareAnchors(batch, sum)
	if len(d.missing) > 0 {
		v.Notes = append(v.Notes, fmt.Sprintf("%d of the batch's anchors are not registered (%s): `eng5np anchors register`", len(d.missing), strings.Join(d.missing, ", ")))
	}
	if len(d.foreign) > 0 {
		v.Notes = append(v.Notes, fmt.Sprintf("%d registered anchors are not in this batch (%s); the CJ service adds them to every batch of the assignment", len(d.foreign), strings.Join(d.foreign, ", ")))
	}
	return v, nil
}

// SetupOptions steer SetupAssignment.
type SetupOptions struct {
	// ContextOrigin is the instructions' context origin; "" keeps an
	// existing assignment's, or makes a new one research_experiment.
	ContextOrigin string
	// Rubric also stores the batch's prompt.md as the judge rubric.
	Rubric bool
}

// Change is one thing SetupAssignment or RegisterBatchAnchors did.
type Change struct {
	What   string `json:"what"`
	Action string `json:"action"` // created, updated, stored, replaced, registered, unchanged
	Detail string `json:"detail,omitempty"`
}

// SetupReport says what setup changed.
type SetupReport struct {
	AssignmentID string   `json:"assignment_id"`
	Changes      []Change `json:"changes"`
}

// Changed reports whether anything was written.
func (r *SetupReport) Changed() bool {
	for _, c := range r.Changes {
		if c.Action != "unchanged" {
			return true
		}
	}
	return false
}

// SetupAssignment makes the CJ service hold the assignment the batch needs:
// its instructions (instructions.md, the batch's grade scale, the context
// origin), instructions.md as the student prompt and, with Rubric,
// prompt.md as the judge rubric. It writes only what differs, so running it
// twice changes nothing the second time. The grade scale and the context
// origin of existing instructions cannot change: a batch on another scale
// is refused before anything is written.
func SetupAssignment(ctx context.Context, cfg *config.Config, opts SetupOptions) (*SetupReport, error) {
	plan, err := batchFor(cfg)
	if err != nil {
		return nil, err
	}
	ep, err := ServiceEndpoints(cfg)
	if err != nil {
		return nil, err
	}
	if opts.ContextOrigin != "" && opts.ContextOrigin != huleedu.ContextResearch && opts.ContextOrigin != huleedu.ContextCanonical {
		return nil, Exitf(ExitUsage, "use "+strings.Join(huleedu.ContextOrigins, " or "), "--context-origin %q is not a context origin", opts.ContextOrigin)
	}
	c := ep.client()
	id, scale := plan.Settings.AssignmentID, plan.Settings.GradeScale
	text := strings.TrimSpace(plan.Batch.Instructions.Text)
	rep := &SetupReport{AssignmentID: id}

	cur, err := c.Instructions(ctx, id)
	switch {
	case notFound(err):
		cur = nil
	case err != nil:
		return nil, adminError("reading the instructions of assignment "+id, err)
	}
	origin := opts.ContextOrigin
	if cur != nil {
		if cur.GradeScale != scale {
			return nil, Exitf(ExitUsage, fmt.Sprintf("run with --grade-scale %s if the batch is graded on it, or use another --assignment-id", cur.GradeScale),
				"assignment %s is on grade scale %s and the batch on %s; a scale cannot change once the instructions exist", id, cur.GradeScale, scale)
		}
		if origin != "" && origin != cur.ContextOrigin {
			return nil, Exitf(ExitUsage, "leave --context-origin out to keep "+cur.ContextOrigin+", or use another --assignment-id",
				"assignment %s has context origin %s; it cannot change to %s", id, cur.ContextOrigin, origin)
		}
		origin = cur.ContextOrigin
	} else if origin == "" {
		origin = huleedu.ContextResearch
	}
	switch {
	case cur == nil:
		if _, err := c.UpsertInstructions(ctx, huleedu.InstructionsUpsert{AssignmentID: id, InstructionsText: text, GradeScale: scale, ContextOrigin: origin}); err != nil {
			return nil, adminError("creating the instructions", err)
		}
		rep.Changes = append(rep.Changes, Change{What: "instructions", Action: "created", Detail: fmt.Sprintf("grade scale %s, context origin %s", scale, origin)})
	case strings.TrimSpace(cur.InstructionsText) != text:
		if _, err := c.UpsertInstructions(ctx, huleedu.InstructionsUpsert{AssignmentID: id, InstructionsText: text, GradeScale: scale, ContextOrigin: origin}); err != nil {
			return nil, adminError("updating the instructions", err)
		}
		rep.Changes = append(rep.Changes, Change{What: "instructions", Action: "updated", Detail: "text from " + plan.Batch.Instructions.SourcePath})
	default:
		rep.Changes = append(rep.Changes, Change{What: "instructions", Action: "unchanged", Detail: fmt.Sprintf("grade scale %s, context origin %s", scale, origin)})
	}

	stored, err := storedPrompt(ctx, c, id)
	if err != nil {
		return nil, err
	}
	ch, err := putText(ctx, "student prompt", stored, text, func() error { _, err := c.UploadStudentPrompt(ctx, id, text); return err })
	if err != nil {
		return nil, err
	}
	rep.Changes = append(rep.Changes, ch)
	if opts.Rubric {
		rubric := strings.TrimSpace(plan.Batch.Prompt.Text)
		stored, err := storedRubric(ctx, c, id)
		if err != nil {
			return nil, err
		}
		ch, err := putText(ctx, "judge rubric", stored, rubric, func() error { _, err := c.UploadJudgeRubric(ctx, id, rubric); return err })
		if err != nil {
			return nil, err
		}
		rep.Changes = append(rep.Changes, ch)
	}
	return rep, nil
}

func storedPrompt(ctx context.Context, c *huleedu.Client, id string) (*string, error) {
	p, err := c.StudentPrompt(ctx, id)
	switch {
	case notFound(err):
		return nil, nil
	case err != nil:
		return nil, adminError("reading the student prompt", err)
	}
	return &p.PromptText, nil
}

func storedRubric(ctx context.Context, c *huleedu.Client, id string) (*string, error) {
	r, err := c.JudgeRubric(ctx, id)
	switch {
	case notFound(err):
		return nil, nil
	case err != nil:
		return nil, adminError("reading the judge rubric", err)
	}
	return &r.RubricText, nil
}

// putText uploads a text unless the stored one (nil: none) is the same.
func putText(_ context.Context, what string, stored *string, text string, upload func() error) (Change, error) {
	if stored != nil && strings.TrimSpace(*stored) == text {
		return Change{What: what, Action: "unchanged"}, nil
	}
	if err := upload(); err != nil {
		return Change{}, adminError("storing the "+what, err)
	}
	if stored == nil {
		return Change{What: what, Action: "stored"}, nil
	}
	return Change{What: what, Action: "replaced"}, nil
}

// RegisterReport says what RegisterBatchAnchors did.
type RegisterReport struct {
	AssignmentID string   `json:"assignment_id"`
	Changes      []Change `json:"changes"`
	// Foreign are anchors registered for the assignment that the batch
	// does not have; the CJ service adds them to the batch anyway.
	Foreign []string `json:"foreign,omitempty"`
}

// RegisterBatchAnchors registers the batch's anchors that the CJ service
// does not hold for the assignment (or holds with another grade). Anchors
// too short for the service are refused first, naming them.
func RegisterBatchAnchors(ctx context.Context, cfg *config.Config) (*RegisterReport, error) {
	plan, err := batchFor(cfg)
	if err != nil {
		return nil, err
	}
	if short := ShortAnchors(plan.Batch.Anchors); len(short) > 0 {
		return nil, Exitf(ExitUsage, fmt.Sprintf("lengthen them: the CJ service registers anchors of at least %d characters", huleedu.MinAnchorText),
			"%d anchor(s) too short to register: %s", len(short), strings.Join(short, ", "))
	}
	ep, err := ServiceEndpoints(cfg)
	if err != nil {
		return nil, err
	}
	c := ep.client()
	id := plan.Settings.AssignmentID
	sum, err := c.AnchorSummary(ctx, id)
	switch {
	case notFound(err):
		return nil, Exitf(ExitFailure, setupFix, "assignment %s has no assessment instructions, so no anchor can be registered for it", id)
	case err != nil:
		return nil, adminError("reading the anchors of assignment "+id, err)
	}
	rep := &RegisterReport{AssignmentID: id}
	have := map[string]string{}
	for _, a := range sum.Anchors {
		have[a.AnchorLabel] = a.Grade
	}
	d := compareAnchors(anchorGrades(plan.Batch.Anchors), sum)
	rep.Foreign = d.foreign
	for _, a := range plan.Batch.Anchors {
		g, ok := have[a.ID]
		if ok && g == a.Grade {
			rep.Changes = append(rep.Changes, Change{What: a.ID, Action: "unchanged", Detail: a.Grade})
			continue
		}
		res, err := c.RegisterAnchor(ctx, huleedu.AnchorRegistration{AssignmentID: id, Grade: a.Grade, AnchorLabel: a.ID, EssayText: a.Text})
		if err != nil {
			return rep, Exitf(ExitFailure, "check the CJ service's logs", "registering anchor %s: %v", a.ID, err)
		}
		action, detail := "registered", fmt.Sprintf("%s, id %d", a.Grade, res.AnchorID)
		if ok {
			action, detail = "updated", fmt.Sprintf("%s (was %s), id %d", a.Grade, g, res.AnchorID)
		}
		rep.Changes = append(rep.Changes, Change{What: a.ID, Action: action, Detail: detail})
	}
	return rep, nil
}

// anchorsToRegister are the batch's anchors the summary lacks (by label and
// grade).
func anchorsToRegister(anchors []inputs.Anchor, sum *huleedu.AnchorSummary) []inputs.Anchor {
	have := map[string]string{}
	for _, a := range sum.Anchors {
		have[a.AnchorLabel] = a.Grade
	}
	var out []inputs.Anchor
	for _, a := range anchors {
		if g, ok := have[a.ID]; !ok || g != a.Grade {
			out = append(out, a)
		}
	}
	return out
}
