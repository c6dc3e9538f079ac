package runner

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"eng5np/huleedu"
	"eng5np/inputs"
)

// The pre-flight checks of the HuleEdu services. None of them writes to a
// service: doctor only reads (docs/CONTRACT.md, "HTTP").

const setupFix = "run `eng5np assignment setup` (it creates them from the batch's instructions.md and grade scale)"

func (p *Preflight) checkContent(ctx context.Context) CheckResult {
	if err := p.client.ContentHealth(ctx); err != nil {
		return fail("start the content service or fix --content-service-url", "content service at %s: %v", huleedu.Redact(p.ep.ContentURL), err)
	}
	return pass("%s answered", huleedu.Redact(p.ep.ContentURL))
}

func (p *Preflight) checkCJ(ctx context.Context) CheckResult {
	if err := p.client.CJHealth(ctx); err != nil {
		return fail("start the CJ service or fix --cj-service-url", "CJ service at %s: %v", huleedu.Redact(p.ep.CJURL), err)
	}
	return pass("%s answered", huleedu.Redact(p.ep.CJURL))
}

// checkAdmin checks that a token is available and that the CJ admin API
// accepts it, by listing the assessment instructions: the one admin route
// that names no assignment, so its answer is about the token and the API,
// not about this batch's assignment.
func (p *Preflight) checkAdmin(ctx context.Context) CheckResult {
	if p.blocked("cj") {
		return skip("the CJ service did not answer")
	}
	a := p.ep.Admin
	if a == nil {
		a = huleedu.NewAdminAuth(huleedu.AuthSettings{})
	}
	if err := a.Ready(); err != nil {
		if a.Source() == "" {
			return fail(huleedu.TokenOptions, "no admin token is set, and none can be minted")
		}
		return fail("set HULEEDU_SERVICE_ACCOUNT_TOKEN (or HULEEDU_ADMIN_TOKEN) for this deployment", "%v", err)
	}
	_, err := p.client.ListInstructions(ctx)
	if err == nil {
		return pass("the CJ admin API accepted the token (%s)", a.Source())
	}
	se, ok := huleedu.AsStatus(err)
	if !ok {
		return fail("check --cj-service-url and the network", "the CJ admin API did not answer: %v", err)
	}
	switch {
	case se.Status == http.StatusUnauthorized:
		return fail(rejectedFix(a), "token rejected (401) for the token %s%s", a.Source(), claimProblems(a))
	case se.Status == http.StatusForbidden:
		return fail("use a token whose roles include \"admin\"", "the token (%s) lacks the admin role (403)%s", a.Source(), claimProblems(a))
	case se.Status == http.StatusNotFound:
		return fail("ask the deployment's operators for the admin API, or run against a deployment that has it on",
			"admin API disabled on this deployment: GET %s answers 404", huleedu.PathAdminInstructions)
	case se.CatchAll():
		return fail("tell the causes apart in the CJ service's log (it logs every admin error with its reason), or check the token's claims: "+
			"roles must include admin, iss "+huleedu.DefaultIssuer+", aud "+huleedu.DefaultAudience+", not expired",
			"the CJ admin API answered a bare 500 (the deployed service answers every admin error so); /healthz answered, so the service is up: likely %s",
			likelyCauses(a))
	}
	return fail("check the CJ service's logs", "the CJ admin API: %v", err)
}

// rejectedFix says how to get a token the service accepts.
func rejectedFix(a *huleedu.AdminAuth) string {
	if a.Minting() {
		return "jwt_secret_key must be the CJ service's JWT_SECRET_KEY (and jwt_issuer/jwt_audience its JWT_ISSUER/JWT_AUDIENCE)"
	}
	return "get a fresh admin token for this deployment (" + a.Source() + ")"
}

// claimProblems explains from a given token's own claims why it may be
// refused.
func claimProblems(a *huleedu.AdminAuth) string {
	c, ok := a.Inspect()
	if !ok {
		return ""
	}
	if probs := c.Problems(time.Now()); len(probs) > 0 {
		return ": " + strings.Join(probs, "; ")
	}
	return ""
}

// likelyCauses lists what a bare 500 from an admin route can mean, given
// what eng5np knows about its token.
func likelyCauses(a *huleedu.AdminAuth) string {
	if c, ok := a.Inspect(); ok {
		if probs := c.Problems(time.Now()); len(probs) > 0 {
			return "the token (" + a.Source() + ") is refused: " + strings.Join(probs, "; ")
		}
		return "the token (" + a.Source() + ") is signed with another key than this deployment's, or the admin API is switched off"
	}
	if a.Minting() {
		return "the minted token is refused: jwt_secret_key is not the CJ service's JWT_SECRET_KEY (or jwt_issuer/jwt_audience differ from its settings), or the admin API is switched off"
	}
	return "the token (" + a.Source() + ") is refused (another deployment's, expired or without the admin role), or the admin API is switched off"
}

// checkInstructions checks the prerequisite of a batch with an assignment:
// its assessment instructions, on the batch's grade scale, with a student
// prompt.
func (p *Preflight) checkInstructions(ctx context.Context) CheckResult {
	p.ensurePlan()
	if p.blocked("admin") {
		return skip("the admin API check did not pass")
	}
	assignment := p.plan.Settings.AssignmentID
	if assignment == "" {
		return fail("set assignment_id in batch.yaml or pass --assignment-id", "no assignment id")
	}
	in, err := p.client.Instructions(ctx, assignment)
	if err != nil {
		se, ok := huleedu.AsStatus(err)
		switch {
		case ok && se.Status == http.StatusNotFound:
			return fail(setupFix, "assignment %s has no assessment instructions in the CJ service: the batch would fail", assignment)
		case ok && se.CatchAll():
			return fail(setupFix, "the CJ service answered a bare 500 for the instructions of assignment %s; it accepted the token above, so the likely cause is that the assignment has no assessment instructions", assignment)
		}
		return fail("check the CJ service's logs", "the instructions of assignment %s: %v", assignment, err)
	}
	p.instructions = in
	scale := p.plan.Settings.GradeScale
	if in.GradeScale != scale {
		return fail(fmt.Sprintf("run with --grade-scale %s, or use an assignment whose instructions use %s (a scale cannot change once set)", in.GradeScale, scale),
			"assignment %s is on grade scale %s, the batch on %s", assignment, in.GradeScale, scale)
	}
	if err := RubricAllowed(p.cfg, assignment, in); err != nil {
		return usageFail(err)
	}
	if in.StudentPromptStorageID == "" {
		return warn(setupFix+"; it stores instructions.md as the student prompt",
			"instructions present (scale %s, context origin %s) but no student prompt is stored", in.GradeScale, in.ContextOrigin)
	}
	return pass("instructions present: scale %s, context origin %s, student prompt stored", in.GradeScale, in.ContextOrigin)
}

// Instructions are the assignment's instructions as the instructions check
// read them (nil before, or when it could not).
func (p *Preflight) Instructions() *huleedu.Instructions { return p.instructions }

// checkAnchors compares the batch's anchors with those the CJ service has
// registered for the assignment, by label and grade. It registers nothing:
// execute (or `eng5np anchors register`) does.
func (p *Preflight) checkAnchors(ctx context.Context) CheckResult {
	p.ensurePlan()
	if short := ShortAnchors(p.plan.Batch.Anchors); len(short) > 0 {
		return fail(fmt.Sprintf("lengthen them: the CJ service registers anchors of at least %d characters", huleedu.MinAnchorText),
			"%d anchor(s) too short to register: %s", len(short), strings.Join(short, ", "))
	}
	if p.blocked("instructions") {
		return skip("the assignment's instructions are not in place")
	}
	assignment := p.plan.Settings.AssignmentID
	sum, err := p.client.AnchorSummary(ctx, assignment)
	if err != nil {
		return fail("check the CJ service's logs", "cannot read the anchors of assignment %s: %v", assignment, err)
	}
	d := compareAnchors(anchorGrades(p.plan.Batch.Anchors), sum)
	others := ""
	if n := len(d.foreign); n > 0 {
		others = fmt.Sprintf("; %d more registered for the assignment join the batch as external anchors (%s)", n, strings.Join(d.foreign, ", "))
	}
	if len(d.missing)+len(d.differing) > 0 {
		var parts []string
		if len(d.missing) > 0 {
			parts = append(parts, fmt.Sprintf("%d not registered (%s)", len(d.missing), strings.Join(d.missing, ", ")))
		}
		if len(d.differing) > 0 {
			parts = append(parts, fmt.Sprintf("%d registered with another grade (%s)", len(d.differing), strings.Join(d.differing, ", ")))
		}
		return warn("`eng5np execute` registers them before publishing, or run `eng5np anchors register`",
			"of the batch's %d anchors, %s%s", len(p.plan.Batch.Anchors), strings.Join(parts, "; "), others)
	}
	return pass("the batch's %d anchors are registered for assignment %s%s", len(p.plan.Batch.Anchors), assignment, others)
}

// anchorDiff is how the batch's anchors compare with the registered ones.
type anchorDiff struct {
	missing   []string // the batch's, not registered
	differing []string // registered under the label with another grade
	foreign   []string // registered, not the batch's
}

// anchorGrades maps the batch's anchor ids to their grades.
func anchorGrades(anchors []inputs.Anchor) map[string]string {
	m := make(map[string]string, len(anchors))
	for _, a := range anchors {
		m[a.ID] = a.Grade
	}
	return m
}

// compareAnchors compares anchors by label (the batch's anchor id) and
// grade with the assignment's summary.
func compareAnchors(batch map[string]string, sum *huleedu.AnchorSummary) anchorDiff {
	var d anchorDiff
	reg := map[string]string{}
	for _, a := range sum.Anchors {
		reg[a.AnchorLabel] = a.Grade
		if _, ok := batch[a.AnchorLabel]; !ok {
			d.foreign = append(d.foreign, a.AnchorLabel)
		}
	}
	for id, g := range batch {
		switch rg, ok := reg[id]; {
		case !ok:
			d.missing = append(d.missing, id)
		case rg != g:
			d.differing = append(d.differing, fmt.Sprintf("%s is %s there, %s here", id, rg, g))
		}
	}
	sort.Strings(d.missing)
	sort.Strings(d.differing)
	sort.Strings(d.foreign)
	return d
}

// ShortAnchors names the anchors too short for the CJ service to register,
// with their length.
func ShortAnchors(anchors []inputs.Anchor) []string {
	var out []string
	for _, a := range anchors {
		if n := utf8.RuneCountInString(a.Text); n < huleedu.MinAnchorText {
			out = append(out, fmt.Sprintf("%s (%d characters)", a.ID, n))
		}
	}
	return out
}
