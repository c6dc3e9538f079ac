package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"gonum.org/v1/gonum/stat"

	"eng5np/capture"
	"eng5np/events"
	"eng5np/fault"
	"eng5np/huleedu"
	"eng5np/inputs"
)

// A CJ request for the sample batch yields a callback with complete metadata
// for every pair, then completed and result covering students and anchors.
func TestSampleBatchHappyPath(t *testing.T) {
	t.Parallel()
	s, col := runSample(t, Options{Seed: 1, MockLatency: 2 * time.Millisecond}, 120)
	if col.completed == nil || col.result == nil {
		t.Fatalf("no completion: completed=%v result=%v failed=%+v (callbacks %d)", col.completed != nil, col.result != nil, col.failed, len(col.callbacks))
	}
	if len(col.callbacks) != 120 {
		t.Errorf("%d callbacks, want the budget of 120", len(col.callbacks))
	}
	b, _ := loadSample(t)
	pairs := map[string]bool{}
	for _, cb := range col.callbacks {
		if f := cb.MetadataFaults(); len(f) != 0 {
			t.Errorf("callback %s lacks %v", cb.CorrelationID, f)
		}
		if !cb.Succeeded() || cb.CostEstimate <= 0 || cb.TokenUsage.PromptTokens < 500 || cb.Provider != "mock" {
			t.Errorf("callback %+v", cb)
		}
		if cb.RequestMetadata[events.MetaCJBatch] == nil || cb.RequestMetadata[events.MetaRequestType] != "comparison" || cb.RequestMetadata["llm_provider"] != "mock" {
			t.Errorf("metadata %v", cb.RequestMetadata)
		}
		k := keyOf(cb.EssayAID(), cb.EssayBID())
		pairs[k.lo+"|"+k.hi] = true
	}
	if len(pairs) != 120 {
		t.Errorf("%d distinct pairs, want 120 (no repeats while uncompared pairs remain)", len(pairs))
	}
	if c := col.completed; c.Status != events.StatusCompleted || c.ProcessingSummary.TotalEssays != len(b.Students) {
		t.Errorf("completed %+v", c)
	}
	var anchors, students int
	for _, r := range col.result.EssayResults {
		if r.IsAnchor {
			anchors++
			if !strings.HasPrefix(r.EssayID, "ANCHOR_") {
				t.Errorf("anchor id %s", r.EssayID)
			}
		} else {
			students++
		}
		if r.LetterGrade == "" {
			t.Errorf("%s has no letter grade", r.EssayID)
		}
	}
	if anchors != 12 || students != 24 {
		t.Errorf("result covers %d anchors and %d students", anchors, students)
	}
	// The mock's verdicts follow the ground truth: the best essay ranks above
	// the weakest.
	rank := map[string]int{}
	for _, r := range col.result.EssayResults {
		rank[r.EssayID] = r.Rank
	}
	if rank["OSCAR_LUNDQVIST"] >= rank["ASTRID_WALLIN"] {
		t.Errorf("ranks do not follow quality: %v", rank)
	}
	// Anchors too: the judge knows an anchor by the label it was
	// registered with, not by the id the service gives it in the batch.
	byLabel := map[string]int{}
	for id, r := range rank {
		if n, ok := inputs.ParseServiceAnchorID(id); ok {
			label, _ := s.cj.labelOf(n)
			byLabel[label] = r
		}
	}
	if byLabel["a_1"] == 0 || byLabel["a_1"] >= byLabel["cminus"] || byLabel["cminus"] >= byLabel["fplus_1"] {
		t.Errorf("anchor ranks do not follow their grades: %v", byLabel)
	}
}

// Position balance: every essay's |A − B| ≤ 2 and the mean ≤ 0.5, for the
// sample at its default budget and at budgets that end in partial waves.
func TestPositionBalance(t *testing.T) {
	t.Parallel()
	for _, run := range []struct {
		seed   int64
		budget int
	}{{7, 120}, {1, 120}, {2, 100}, {3, 77}, {4, 200}} {
		_, col := runSample(t, Options{Seed: run.seed, MaxComparisons: 200}, run.budget)
		skew := map[string]int{}
		for _, cb := range col.callbacks {
			skew[cb.EssayAID()]++
			skew[cb.EssayBID()]--
		}
		var sum float64
		for id, s := range skew {
			if s > 2 || s < -2 {
				t.Errorf("seed %d budget %d: %s has A−B skew %d", run.seed, run.budget, id, s)
			}
			sum += math.Abs(float64(s))
		}
		if mean := sum / float64(len(skew)); mean > 0.5 || len(col.callbacks) != run.budget {
			t.Errorf("seed %d budget %d: mean |skew| %.3f over %d callbacks", run.seed, run.budget, mean, len(col.callbacks))
		}
	}
}

// The service spends at most its cap, whatever the request asks; the cap
// is a setting of the stack.
func TestComparisonCap(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ cap, asked, want int }{{0, 200, DefaultMaxComparisons}, {150, 200, 150}, {150, 90, 90}} {
		_, col := runSample(t, Options{Seed: 4, MaxComparisons: c.cap}, c.asked)
		if len(col.callbacks) != c.want || col.completed == nil {
			t.Errorf("cap %d, asked %d: %d callbacks (completed %v); want %d", c.cap, c.asked, len(col.callbacks), col.completed != nil, c.want)
		}
	}
}

// The same seed gives the same verdicts; another seed does not.
func TestSameSeedSameVerdicts(t *testing.T) {
	t.Parallel()
	_, a := runSample(t, Options{Seed: 42}, 60)
	_, b := runSample(t, Options{Seed: 42}, 60)
	_, c := runSample(t, Options{Seed: 43}, 60)
	if len(a.verdictSet()) != 60 || !reflect.DeepEqual(a.verdictSet(), b.verdictSet()) {
		t.Errorf("seed 42 twice differs:\n%v\n%v", a.verdictSet(), b.verdictSet())
	}
	if reflect.DeepEqual(a.verdictSet(), c.verdictSet()) {
		t.Error("seeds 42 and 43 gave the same verdicts")
	}
}

// Determinism across batches and stacks: two batches in a row on one stack,
// and one batch on a second stack with other latency and transport faults,
// give the same (essay_a_id, essay_b_id, winner) set.
func TestDeterminismAcrossBatchesAndStacks(t *testing.T) {
	t.Parallel()
	b, _ := loadSample(t)
	s1 := startStack(t, Options{Seed: 5, MockLatency: time.Millisecond})
	c1 := &client{t: t, s: s1, topics: events.NewTopics(events.DefaultTopicPrefix)}
	id, offs := c1.submit(b, 90)
	first := c1.collect(id, offs, 60*time.Second, 0)
	id, offs = c1.submit(b, 90)
	second := c1.collect(id, offs, 60*time.Second, 0)

	s2 := startStack(t, Options{Seed: 5, MockLatency: 15 * time.Millisecond, LateDelay: 30 * time.Millisecond,
		Faults: fault.Set{fault.Duplicate: 0.3, fault.Late: 0.3, fault.Malformed: 0.2, fault.ForeignBatch: 0.2}})
	c2 := &client{t: t, s: s2, topics: events.NewTopics(events.DefaultTopicPrefix)}
	id, offs = c2.submit(b, 90)
	noisy := c2.collect(id, offs, 60*time.Second, 0)

	want := first.verdictSet()
	if len(want) != 90 {
		t.Fatalf("first batch: %d verdicts", len(want))
	}
	if !reflect.DeepEqual(second.verdictSet(), want) {
		t.Error("the second batch on the same stack differs")
	}
	if !reflect.DeepEqual(noisy.verdictSet(), want) {
		t.Error("the batch on a noisy stack differs")
	}
	if len(noisy.callbacks) <= 90 || noisy.malformed == 0 || len(noisy.foreign) == 0 {
		t.Errorf("the noisy stack injected nothing: %d callbacks, %d malformed, %d foreign", len(noisy.callbacks), noisy.malformed, len(noisy.foreign))
	}
	if !reflect.DeepEqual(scores(first), scores(noisy)) {
		t.Error("the service's scores differ under transport faults")
	}
}

func scores(c *collected) map[string]float64 {
	out := map[string]float64{}
	if c.result != nil {
		for _, r := range c.result.EssayResults {
			out[r.EssayID] = r.BTScore
		}
	}
	return out
}

// Each fault appears on the wire as specified.
func TestFaultsOnTheWire(t *testing.T) {
	t.Parallel()
	_, clean := runSample(t, Options{Seed: 3}, 40)

	t.Run("dropped metadata", func(t *testing.T) {
		t.Parallel()
		_, col := runSample(t, Options{Seed: 3, Faults: fault.Set{fault.DropEssayAID: 0.3, fault.DropEssayBID: 0.3, fault.DropPromptSHA256: 0.3}}, 40)
		missing := map[string]int{}
		for _, cb := range col.callbacks {
			for _, f := range cb.MetadataFaults() {
				missing[f]++
			}
		}
		for _, f := range []string{events.MetaEssayA, events.MetaEssayB, events.MetaPromptHash} {
			if missing[f] == 0 {
				t.Errorf("no callback lacks %s", f)
			}
		}
		if col.result == nil || !reflect.DeepEqual(scores(col), scores(clean)) {
			t.Error("dropped metadata changed the service's results")
		}
	})
	t.Run("duplicate", func(t *testing.T) {
		t.Parallel()
		_, col := runSample(t, Options{Seed: 3, Faults: fault.Set{fault.Duplicate: 1}}, 40)
		byReq := map[string]int{}
		for _, cb := range col.callbacks {
			byReq[cb.RequestID]++
		}
		for id, n := range byReq {
			if n != 2 {
				t.Errorf("request %s seen %d times, want 2", id, n)
			}
		}
		if len(byReq) != 40 {
			t.Errorf("%d distinct requests", len(byReq))
		}
	})
	t.Run("malformed", func(t *testing.T) {
		t.Parallel()
		_, col := runSample(t, Options{Seed: 3, Faults: fault.Set{fault.Malformed: 1}}, 40)
		if col.malformed != 40 || len(col.callbacks) != 40 {
			t.Errorf("%d malformed messages and %d callbacks, want 40 and 40", col.malformed, len(col.callbacks))
		}
	})
	t.Run("foreign batch", func(t *testing.T) {
		t.Parallel()
		_, col := runSample(t, Options{Seed: 3, Faults: fault.Set{fault.ForeignBatch: 1}}, 40)
		if len(col.foreign) != 40 {
			t.Errorf("%d foreign callbacks, want 40", len(col.foreign))
		}
		for _, cb := range col.foreign {
			if b, _ := cb.BatchHint(); b != foreignBatchID {
				t.Errorf("foreign callback claims batch %s", b)
			}
		}
	})
	t.Run("provider error", func(t *testing.T) {
		t.Parallel()
		_, col := runSample(t, Options{Seed: 3, Faults: fault.Set{fault.ProviderError: 0.1}}, 40)
		var errs int
		for _, cb := range col.callbacks {
			if cb.ErrorDetail != nil {
				errs++
				if cb.Winner != nil || cb.ErrorDetail.ErrorCode != "PROVIDER_ERROR" || cb.ErrorDetail.Message == "" {
					t.Errorf("error callback %+v", cb)
				}
			}
		}
		if errs == 0 || col.completed == nil {
			t.Errorf("%d error callbacks; completed %v", errs, col.completed != nil)
		}
	})
	t.Run("provider errors fail the batch", func(t *testing.T) {
		t.Parallel()
		_, col := runSample(t, Options{Seed: 3, Faults: fault.Set{fault.ProviderError: 0.6}}, 40)
		if col.failed == nil || col.completed != nil || !strings.HasPrefix(col.failed.Reason(), "low_success_rate {\"details\":") {
			t.Errorf("failed %+v completed %v", col.failed, col.completed != nil)
		}
	})
	t.Run("late", func(t *testing.T) {
		t.Parallel()
		_, onTime := runSample(t, Options{Seed: 3}, 20)
		start := time.Now()
		_, col := runSample(t, Options{Seed: 3, LateDelay: 400 * time.Millisecond, Faults: fault.Set{fault.Late: 1}}, 20)
		if col.completed == nil || time.Since(start) < 400*time.Millisecond {
			t.Errorf("late callbacks not delayed (completed %v after %v)", col.completed != nil, time.Since(start))
		}
		if !reflect.DeepEqual(col.verdictSet(), onTime.verdictSet()) {
			t.Error("late changed the verdicts")
		}
	})
	t.Run("drop completion", func(t *testing.T) {
		t.Parallel()
		_, col := runSample(t, Options{Seed: 3, Faults: fault.Set{fault.DropCompletion: 1}}, 20)
		if col.completed != nil || col.result == nil {
			t.Errorf("completed %v result %v; want no completed, a result", col.completed != nil, col.result != nil)
		}
	})
	t.Run("fail batch", func(t *testing.T) {
		t.Parallel()
		_, col := runSample(t, Options{Seed: 3, Faults: fault.Set{fault.FailBatch: 1}}, 40)
		if col.failed == nil || !strings.HasPrefix(col.failed.Reason(), "stuck_timeout_insufficient_progress {") || len(col.callbacks) != 18 {
			t.Errorf("failed %+v after %d callbacks; want failure after the first wave of 18", col.failed, len(col.callbacks))
		}
	})
}

func TestHTTPServices(t *testing.T) {
	t.Parallel()
	s := startStack(t, Options{Seed: 1})
	c := &client{t: t, s: s}
	id := c.upload("Some text.")
	if id2 := c.upload("Some text."); id2 != id || len(id) != 32 {
		t.Errorf("uploads not deduplicated or not 32 hex: %s %s", id, id2)
	}
	resp, _ := http.Get(s.URL + "/v1/content/" + id)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "Some text." {
		t.Errorf("get content: %d %q", resp.StatusCode, body)
	}
	const assignment = "3c2f9a4e-6b1d-4e8a-9f27-5d0c8b1e7a64" // the sample's, set up by startStack
	essay := strings.Repeat("An anchor essay of known grade. ", 4)
	reg := func(label, grade, text string) []byte {
		b, _ := json.Marshal(map[string]string{"assignment_id": assignment, "grade": grade, "anchor_label": label, "essay_text": text})
		return b
	}
	first := c.post("/api/v1/anchors/register", reg("b_1", "B", essay), 201)
	if first["anchor_id"] == nil || first["grade_scale"] != "eng5_np_legacy_9_step" || first["status"] != "registered" {
		t.Errorf("register: %v", first)
	}
	// An upsert on (assignment, label, scale): the same database id.
	if out := c.post("/api/v1/anchors/register", reg("b_1", "B", essay+" Revised."), 201); out["anchor_id"] != first["anchor_id"] {
		t.Errorf("re-register: %v, want anchor id %v", out, first["anchor_id"])
	}
	c.post("/api/v1/anchors/register", reg("a_1", "A", essay), 201)
	summary := c.adminGet("/admin/v1/anchors/assignment/"+assignment, 200)
	if summary["anchor_count"] != 2.0 || summary["anchor_count_by_scale"].(map[string]any)["eng5_np_legacy_9_step"] != 2.0 || summary["grade_scale"] != "eng5_np_legacy_9_step" {
		t.Errorf("anchors: %v", summary)
	}

	// Bad input gets the service's 4xx with a JSON error body.
	for _, tc := range []struct {
		method, path string
		body         []byte
		status       int
		says         string
	}{
		{"POST", "/api/v1/anchors/register", []byte("{not json"), 400, "Invalid JSON"},
		{"POST", "/api/v1/anchors/register", reg("x", "Z", essay), 400, "Invalid grade 'Z'"},
		{"POST", "/api/v1/anchors/register", reg("x", "B", "too short"), 400, "min 100 chars"},
		{"POST", "/api/v1/anchors/register", []byte(`{"assignment_id":"11111111-2222-4333-8444-555555555555","grade":"B","anchor_label":"x","essay_text":"` + essay + `"}`), 400, "Unknown assignment_id"},
		{"POST", "/v1/content", []byte("   "), 400, "empty"},
		{"POST", "/v1/content", []byte{0xff, 0xfe}, 400, "UTF-8"},
		{"GET", "/v1/content/missing", nil, 404, "no content"},
		{"DELETE", "/v1/content", nil, 405, "not allowed"},
		{"GET", "/nowhere", nil, 404, "no such endpoint"},
	} {
		req, _ := http.NewRequest(tc.method, s.URL+tc.path, bytes.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e map[string]any
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if msg, _ := e["error"].(string); resp.StatusCode != tc.status || err != nil || !strings.Contains(msg, tc.says) {
			t.Errorf("%s %s: %d %v, want %d saying %q", tc.method, tc.path, resp.StatusCode, e, tc.status, tc.says)
		}
	}
}

// The admin API as the CJ service has it: a Bearer JWT with the admin role
// on every route, the instructions prerequisite, immutable scale and context
// origin, prompts and rubrics stored through the content service; and the
// deployed service's bare 500s and switched-off admin API as faults.
func TestAdminAPI(t *testing.T) {
	t.Parallel()
	s := startStack(t, Options{Seed: 1, JWTSecret: "stack-secret"})
	c := &client{t: t, s: s}
	const fresh = "11111111-2222-4333-8444-555555555555"
	// Authentication: none, a bad token, no admin role.
	for _, tc := range []struct {
		name, token string
		status      int
	}{
		{"no token", "", 401},
		{"another secret", mint(t, "other-secret", []string{"admin"}), 401},
		{"no admin role", mint(t, "stack-secret", []string{"teacher"}), 403},
	} {
		if code, _ := c.request("GET", "/admin/v1/assessment-instructions", tc.token, nil); code != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, code, tc.status)
		}
	}
	list := c.adminGet("/admin/v1/assessment-instructions", 200)
	if list["total"] != 1.0 {
		t.Errorf("the sample's assignment is not set up: %v", list)
	}
	// An assignment without instructions: 404 on its summary and
	// instructions; anchors and prompts cannot be registered for it.
	c.adminGet("/admin/v1/anchors/assignment/"+fresh, 404)
	c.adminGet("/admin/v1/assessment-instructions/assignment/"+fresh, 404)
	body, _ := json.Marshal(map[string]string{"assignment_id": fresh, "prompt_text": "Write about a journey."})
	if code, _ := c.request("POST", "/admin/v1/student-prompts", c.token(), body); code != 404 {
		t.Errorf("student prompt without instructions: %d", code)
	}
	// Creating instructions, then the prompt and the rubric.
	up, _ := json.Marshal(map[string]string{"assignment_id": fresh, "instructions_text": "Assess the essays.", "grade_scale": "swedish_8_anchor"})
	if code, out := c.request("POST", "/admin/v1/assessment-instructions", c.token(), up); code != 200 || out["context_origin"] != "research_experiment" {
		t.Errorf("upsert: %d %v", code, out)
	}
	if code, out := c.request("POST", "/admin/v1/student-prompts", c.token(), body); code != 200 || out["student_prompt_storage_id"] == "" {
		t.Errorf("student prompt: %d %v", code, out)
	}
	rb, _ := json.Marshal(map[string]string{"assignment_id": fresh, "rubric_text": "Prefer clear arguments."})
	if code, _ := c.request("POST", "/admin/v1/judge-rubrics", c.token(), rb); code != 200 {
		t.Errorf("judge rubric: %d", code)
	}
	if out := c.adminGet("/admin/v1/student-prompts/assignment/"+fresh, 200); out["prompt_text"] != "Write about a journey." {
		t.Errorf("prompt back: %v", out)
	}
	if out := c.adminGet("/admin/v1/judge-rubrics/assignment/"+fresh, 200); out["rubric_text"] != "Prefer clear arguments." {
		t.Errorf("rubric back: %v", out)
	}
	in := c.adminGet("/admin/v1/assessment-instructions/assignment/"+fresh, 200)
	if in["grade_scale"] != "swedish_8_anchor" || in["student_prompt_storage_id"] == "" || !strings.Contains(in["created_at"].(string), "GMT") {
		t.Errorf("instructions: %v", in)
	}
	// The scale and the context origin cannot change; the text can.
	for _, change := range []map[string]string{
		{"assignment_id": fresh, "instructions_text": "Assess the essays.", "grade_scale": "eng5_np_legacy_9_step"},
		{"assignment_id": fresh, "instructions_text": "Assess the essays.", "grade_scale": "swedish_8_anchor", "context_origin": "canonical_national"},
	} {
		b, _ := json.Marshal(change)
		if code, out := c.request("POST", "/admin/v1/assessment-instructions", c.token(), b); code != 400 || !strings.Contains(out["error"].(string), "immutable") {
			t.Errorf("changing %v: %d %v", change, code, out)
		}
	}

	bare := startStack(t, Options{Seed: 1, JWTSecret: "stack-secret", Faults: fault.Set{fault.Bare500: 1}})
	cb := &client{t: t, s: bare}
	for _, path := range []string{"/admin/v1/assessment-instructions/assignment/" + fresh, "/nowhere"} {
		if code, out := cb.request("GET", path, cb.token(), nil); code != 500 || out["message"] != "An unexpected error occurred" {
			t.Errorf("bare_500 %s: %d %v", path, code, out)
		}
	}
	if code, _ := cb.request("GET", "/admin/v1/assessment-instructions", "", nil); code != 500 {
		t.Errorf("bare_500 without a token: %d", code)
	}
	if code, _ := cb.request("GET", "/admin/v1/assessment-instructions", cb.token(), nil); code != 200 {
		t.Errorf("bare_500 with a good token: %d", code)
	}
	off := startStack(t, Options{Seed: 1, JWTSecret: "stack-secret", Faults: fault.Set{fault.AdminDisabled: 1}})
	co := &client{t: t, s: off}
	if code, _ := co.request("GET", "/admin/v1/assessment-instructions", co.token(), nil); code != 404 {
		t.Errorf("admin_disabled: %d", code)
	}
}

func mint(t *testing.T, secret string, roles []string) string {
	t.Helper()
	tok, err := huleedu.MintToken(secret, "test", huleedu.DefaultIssuer, huleedu.DefaultAudience, roles, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestHeuristicFollowsTheSampleQuality(t *testing.T) {
	t.Parallel()
	b, gt := loadSample(t)
	var truth, heur []float64
	for _, s := range b.Students {
		truth = append(truth, gt[s.ID])
		heur = append(heur, HeuristicQuality(s.Text))
	}
	for _, a := range b.Anchors {
		truth = append(truth, gt[a.ID])
		heur = append(heur, HeuristicQuality(a.Text))
	}
	if rho := spearman(truth, heur); rho < 0.8 {
		t.Errorf("heuristic quality has Spearman %.3f with the ground truth, want ≥ 0.8", rho)
	}
}

func spearman(a, b []float64) float64 {
	rank := func(x []float64) []float64 {
		r := make([]float64, len(x))
		for i := range x {
			for j := range x {
				if x[j] < x[i] {
					r[i]++
				}
			}
		}
		return r
	}
	return stat.Correlation(rank(a), rank(b), nil)
}

// The CJ service handles a request once per entity_id: publishing it again
// starts nothing new.
func TestRequestsAreIdempotent(t *testing.T) {
	t.Parallel()
	s := startStack(t, Options{Seed: 2})
	b, _ := loadSample(t)
	c := &client{t: t, s: s, topics: events.NewTopics(events.DefaultTopicPrefix)}
	id, offs := c.submit(b, 30)
	first := c.collect(id, offs, 30*time.Second, 0)
	// Republish the identical request envelope by reading it back.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{s.Bootstrap}, Topic: events.NewTopics(events.DefaultTopicPrefix).Requested(), Partition: 0, MaxWait: 50 * time.Millisecond})
	defer r.Close()
	m, err := r.ReadMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	offs2, err := capture.EndOffsets(ctx, capture.Conn{Bootstrap: []string{s.Bootstrap}}, events.NewTopics(events.DefaultTopicPrefix).Consumed())
	if err != nil {
		t.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(s.Bootstrap), Topic: events.NewTopics(events.DefaultTopicPrefix).Requested(), BatchTimeout: time.Millisecond}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Key: m.Key, Value: m.Value}); err != nil {
		t.Fatal(err)
	}
	again := c.collect(id, offs2, time.Second, 0)
	if len(first.callbacks) != 30 || len(again.callbacks) != 0 || again.completed != nil {
		t.Errorf("first run %d callbacks; the republished request produced %d callbacks", len(first.callbacks), len(again.callbacks))
	}
}

// kcat, the tool the README tells users to watch topics with, lists the
// topics and can produce and consume (skipped where kcat is not installed).
func TestKcatCanUseTheBroker(t *testing.T) {
	t.Parallel()
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat not installed (apt-get install kcat)")
	}
	s := startStack(t, Options{Seed: 1})
	out, err := exec.Command(kcat, "-L", "-b", s.Bootstrap, "-m", "5").CombinedOutput()
	if err != nil {
		t.Fatalf("kcat -L: %v\n%s", err, out)
	}
	for _, topic := range events.NewTopics(events.DefaultTopicPrefix).All() {
		if !strings.Contains(string(out), `topic "`+topic+`"`) {
			t.Errorf("kcat -L does not list %s:\n%s", topic, out)
		}
	}
	if !strings.Contains(string(out), `topic "`+events.NewTopics(events.DefaultTopicPrefix).ComparisonResult()+`" with 3 partitions`) {
		t.Errorf("comparison-result topic does not have 3 partitions:\n%s", out)
	}
	produce := exec.Command(kcat, "-P", "-b", s.Bootstrap, "-t", events.NewTopics(events.DefaultTopicPrefix).Failed(), "-m", "5")
	produce.Stdin = strings.NewReader("hello from kcat\n")
	if out, err := produce.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	out, err = exec.Command(kcat, "-C", "-b", s.Bootstrap, "-t", events.NewTopics(events.DefaultTopicPrefix).Failed(), "-o", "beginning", "-e", "-q", "-m", "5").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "hello from kcat" {
		t.Errorf("kcat -C: %v %q", err, out)
	}
}
