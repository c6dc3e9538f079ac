package devstack

// The CJ service's behaviours that a client must cope with, as
// docs/CONTRACT.md ("Dev stack") and the services' own code describe them.

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"eng5np/events"
	"eng5np/fault"
	"eng5np/huleedu"
	"eng5np/inputs"
)

// A request that fails validation (a course code outside the enum) is
// dropped: no failed event, nothing at all on the consumed topics.
func TestInvalidRequestIsDroppedSilently(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	s := startStack(t, Options{Seed: 1, Metrics: reg})
	b, _ := loadSample(t)
	c := &client{t: t, s: s, topics: events.NewTopics(events.DefaultTopicPrefix)}
	id, offs := c.submitWith(b, 20, func(r *events.CJRequest) { r.CourseCode = "eng5" })
	deadline := time.Now().Add(20 * time.Second)
	for testutil.ToFloat64(s.metrics.rejected) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the request was not rejected within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	col := c.collect(id, offs, time.Second, 0)
	if len(col.callbacks) > 0 || col.failed != nil || col.completed != nil || col.result != nil {
		t.Errorf("a rejected request produced events: %d callbacks, failed %v, completed %v", len(col.callbacks), col.failed != nil, col.completed != nil)
	}
}

// failed_critically arrives on the completed topic, without a result, with
// its reason in system_metadata.error_info.
func TestFailCritically(t *testing.T) {
	t.Parallel()
	_, col := runSample(t, Options{Seed: 3, Faults: fault.Set{fault.FailCritically: 1}}, 40)
	if col.completed == nil || !col.completed.FailedCritically() || col.result != nil || col.failed != nil {
		t.Fatalf("completed %+v, result %v, failed %v", col.completed, col.result != nil, col.failed != nil)
	}
	if r := col.completed.Reason(); !strings.Contains(r, "fail_critically") {
		t.Errorf("reason %q does not name the fault", r)
	}
}

// A judge rubric override on a canonical_national assignment fails the
// batch, naming why; without the override the batch runs.
func TestCanonicalAssignmentRefusesRubricOverride(t *testing.T) {
	t.Parallel()
	b, _ := loadSample(t)
	canon := AssignmentOf(b.Config.AssignmentID, b)
	canon.ContextOrigin = huleedu.ContextCanonical
	s := startStack(t, Options{Seed: 2, Assignments: []Assignment{canon}})
	c := &client{t: t, s: s, topics: events.NewTopics(events.DefaultTopicPrefix)}
	id, offs := c.submit(b, 20)
	col := c.collect(id, offs, 30*time.Second, 0)
	if col.failed == nil || !strings.Contains(col.failed.Reason(), "judge_rubric_override") {
		t.Fatalf("with a rubric override: failed %+v, completed %v", col.failed, col.completed != nil)
	}
	id, offs = c.submitWith(b, 20, func(r *events.CJRequest) { r.LLMConfigOverrides.JudgeRubricOverride = "" })
	if col := c.collect(id, offs, 30*time.Second, 0); col.completed == nil || col.result == nil {
		t.Errorf("without a rubric override: completed %v, result %v, failed %+v", col.completed != nil, col.result != nil, col.failed)
	}
}

// Without instructions for the assignment, the batch fails with the
// service's words.
func TestUnknownAssignmentFails(t *testing.T) {
	t.Parallel()
	s := startStack(t, Options{Seed: 2, Assignments: []Assignment{}})
	b, _ := loadSample(t)
	c := &client{t: t, s: s, topics: events.NewTopics(events.DefaultTopicPrefix)}
	// Registration needs instructions, so publish without registering.
	id, offs := c.publishOnly(b, 20)
	col := c.collect(id, offs, 30*time.Second, 0)
	if col.failed == nil || !strings.Contains(col.failed.Reason(), "missing assessment_instructions") {
		t.Fatalf("failed %+v", col.failed)
	}
}

// Every anchor registered for the assignment joins a batch, someone else's
// included, named ANCHOR_{db id}_{8 hex} with a suffix that depends on the
// seed only.
func TestEveryRegisteredAnchorJoinsTheBatch(t *testing.T) {
	t.Parallel()
	b, _ := loadSample(t)
	s := startStack(t, Options{Seed: 5})
	c := &client{t: t, s: s, topics: events.NewTopics(events.DefaultTopicPrefix)}
	body, _ := json.Marshal(map[string]string{"assignment_id": b.Config.AssignmentID, "grade": "B", "anchor_label": "colleague_extra",
		"essay_text": strings.Repeat("A colleague's anchor essay, registered before this batch. ", 4)})
	out := c.post(huleedu.PathAnchorRegister, body, 201)
	foreign := int(out["anchor_id"].(float64))
	id, offs := c.submit(b, 60)
	col := c.collect(id, offs, 30*time.Second, 0)
	if col.result == nil {
		t.Fatal("no result")
	}
	anchors := map[int]string{}
	for _, r := range col.result.EssayResults {
		if !r.IsAnchor {
			continue
		}
		n, ok := inputs.ParseServiceAnchorID(r.EssayID)
		if !ok {
			t.Errorf("anchor id %q is not ANCHOR_{id}_{hex8}", r.EssayID)
		}
		anchors[n] = r.EssayID
	}
	if len(anchors) != len(b.Anchors)+1 || anchors[foreign] == "" {
		t.Errorf("anchors in the result %v; want the batch's %d and the foreign one (%d)", anchors, len(b.Anchors), foreign)
	}
	if want := inputs.ServiceAnchorID(foreign, anchorSuffix(5, foreign)); anchors[foreign] != want {
		t.Errorf("foreign anchor named %q, want %q", anchors[foreign], want)
	}
	if other := anchorSuffix(6, foreign); other == anchorSuffix(5, foreign) {
		t.Errorf("the suffix does not depend on the seed: %s", other)
	}
}
