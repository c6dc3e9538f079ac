package e2e

// Runs against `eng5np stack up` in another process, behaving like the
// HuleEdu services: anchors the service names itself (someone else's
// included), the LLM settings a real deployment needs, requests it would
// drop or fail, and failures with their reasons.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"eng5np/capture"
	"eng5np/events"
	"eng5np/huleedu"
	"eng5np/inputs"
	"eng5np/internal/testkit"
	"eng5np/rundir"
	"eng5np/runner"
)

// requestedEnd is the end offset of the request topic: what was ever
// published to the CJ service.
func requestedEnd(t *testing.T, sp *stackProc) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	topic := events.NewTopics(events.DefaultTopicPrefix).Requested()
	offs, err := capture.EndOffsets(ctx, capture.Conn{Bootstrap: []string{sp.bootstrap}}, []string{topic})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, off := range offs[topic] {
		n += off
	}
	return n
}

// executeAt runs execute --no-tui against the stack process with its
// secret and the mock judge, plus args; it returns the exit code, the
// output and the run directory ("" when none was created).
func executeAt(t *testing.T, sp *stackProc, args ...string) (code int, stdout, stderr, dir string) {
	t.Helper()
	out := t.TempDir()
	base := append([]string{"execute", "--no-tui", "--inputs", testkit.Sample(t), "--output-dir", out, "--completion-timeout", "60s"}, sp.addresses()...)
	code, stdout, stderr = runCLI(t, sp.env(), append(base, args...)...)
	if entries, _ := os.ReadDir(out); len(entries) == 1 {
		dir = rundir.Path(out, entries[0].Name())
	}
	return code, stdout, stderr, dir
}

// lastLine is the last non-empty line of the output.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

const foreignText = "A colleague registered this anchor essay for the assignment before the run; " +
	"it argues for an earlier school start with a clear thesis and two supported reasons."

func TestRunWithAForeignAnchor(t *testing.T) {
	t.Parallel()
	sp := startStackProcess(t)
	batch := testkit.SampleBatch(t)
	body, _ := json.Marshal(huleedu.AnchorRegistration{AssignmentID: batch.Config.AssignmentID, Grade: "B", AnchorLabel: "Colleague anchor #7", EssayText: foreignText})
	resp, err := http.Post(sp.url+huleedu.PathAnchorRegister, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var reg huleedu.AnchorRegistered
	_ = json.NewDecoder(resp.Body).Decode(&reg)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("registering the foreign anchor: %d", resp.StatusCode)
	}

	code, out, errs, dir := executeAt(t, sp)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	run := testkit.LoadRun(t, dir)
	testkit.CheckArtefact(t, run)
	a := run.Artefact

	// The foreign anchor is an input, with its text's checksum.
	sum := sha256.Sum256([]byte(foreignText))
	var ext *struct{ id, grade string }
	for _, an := range a.Inputs.Anchors {
		if an.External {
			if an.CJAnchorID != reg.AnchorID || an.Grade != "B" || an.Checksum != hex.EncodeToString(sum[:]) || an.FileName != "Colleague anchor #7" ||
				!strings.Contains(an.SourcePath, sp.url) || !strings.Contains(an.SourcePath, "anchor id") {
				t.Errorf("external anchor record %+v", an)
			}
			ext = &struct{ id, grade string }{an.AnchorID, an.Grade}
		} else if an.CJAnchorID == 0 {
			t.Errorf("the batch's anchor %s has no CJ id", an.AnchorID)
		}
	}
	if ext == nil || len(a.Inputs.Anchors) != len(batch.Anchors)+1 {
		t.Fatalf("%d anchors in inputs, external %v", len(a.Inputs.Anchors), ext)
	}

	// Every comparison's ids are the artefact's; the foreign anchor took
	// part and is ranked as an anchor with its grade.
	ids := map[string]bool{}
	for _, e := range a.BTSummary {
		ids[e.EssayID] = true
		if e.EssayID == ext.id && (!e.IsAnchor || e.AnchorGrade != "B") {
			t.Errorf("bt_summary row of the foreign anchor %+v", e)
		}
	}
	foreignCompared := false
	for _, c := range a.LLMComparisons {
		if !ids[c.EssayAID] || !ids[c.EssayBID] || strings.HasPrefix(c.EssayAID, "ANCHOR_") || strings.HasPrefix(c.EssayBID, "ANCHOR_") {
			t.Fatalf("comparison %d has unmapped ids %s / %s", c.Sequence, c.EssayAID, c.EssayBID)
		}
		foreignCompared = foreignCompared || c.EssayAID == ext.id || c.EssayBID == ext.id
	}
	if !foreignCompared || !ids[ext.id] {
		t.Errorf("the foreign anchor %s was never compared", ext.id)
	}

	// The service's own results, row for row.
	sr := a.ServiceResults
	if sr == nil || len(sr.Rows) != len(batch.Students)+len(batch.Anchors)+1 || len(sr.UnmatchedIDs) > 0 || sr.GradeAgreement == nil || sr.GradeAgreement.Compared == 0 {
		t.Fatalf("service_results %+v", sr)
	}
	for _, r := range sr.Rows {
		if !ids[r.EssayID] || r.LetterGrade == "" || r.Rank == 0 {
			t.Errorf("service_results row %+v", r)
		}
		if r.EssayID == ext.id && (!r.IsAnchor || !strings.HasPrefix(r.ServiceEssayID, "ANCHOR_")) {
			t.Errorf("service_results row of the foreign anchor %+v", r)
		}
	}

	// The map is in the run directory, so rehydrate needs no service.
	var m inputs.AnchorMap
	if err := rundir.ReadJSON(dir, rundir.CJAnchors, &m); err != nil || m.Validate() != nil || len(m.Anchors) != len(batch.Anchors)+1 {
		t.Fatalf("cj_anchors.json: %v %+v", err, m)
	}
	_ = sp.cmd.Process.Kill()
	_ = sp.cmd.Wait()
	before := testkit.Sections(t, run.Raw)
	if code, out, errs := runCLI(t, nil, "rehydrate", dir); code != 0 {
		t.Fatalf("rehydrate without the stack: exit %d\n%s\n%s", code, out, errs)
	}
	after := testkit.Sections(t, testkit.LoadRun(t, dir).Raw)
	for _, k := range []string{"inputs", "bt_summary", "llm_comparisons", "service_results", "grade_projections"} {
		if !bytes.Equal(before[k], after[k]) {
			t.Errorf("rehydrate changed %s", k)
		}
	}
}

// Requests the service would drop or fail never go out; nothing is
// uploaded either.
func TestRequestsARealDeploymentRefuses(t *testing.T) {
	t.Parallel()
	sp := startStackProcess(t, "--metrics-addr", "127.0.0.1:0")
	noJudge := func(args []string) []string {
		var out []string
		for i := 0; i < len(args); i++ {
			if args[i] == "--llm-provider" || args[i] == "--llm-model" {
				i++
				continue
			}
			out = append(out, args[i])
		}
		return out
	}
	published, uploaded := requestedEnd(t, sp), posts(t, sp)
	nothingSent := func(what string) {
		t.Helper()
		if n := requestedEnd(t, sp); n != published {
			t.Errorf("%s: %d request(s) published", what, n-published)
		}
		if n := posts(t, sp); n != uploaded {
			t.Errorf("%s: %v POST(s) to the services", what, n-uploaded)
		}
	}

	// No provider or model on an external stack.
	for _, c := range []struct {
		name  string
		drop  []string
		wants []string
	}{
		{"neither", nil, []string{"--llm-provider", "--llm-model"}},
		{"no model", []string{"--llm-provider", "openai"}, []string{"--llm-model"}},
	} {
		args := append(noJudge(append([]string{"execute", "--no-tui", "--inputs", testkit.Sample(t), "--output-dir", t.TempDir()}, sp.addresses()...)), c.drop...)
		code, out, errs := runCLI(t, sp.env(), args...)
		if code != runner.ExitUsage {
			t.Errorf("%s: exit %d, want 2\n%s\n%s", c.name, code, out, errs)
		}
		for _, w := range c.wants {
			if !strings.Contains(lastLine(errs), w) {
				t.Errorf("%s: the error does not name %s: %q", c.name, w, lastLine(errs))
			}
		}
		nothingSent(c.name)
	}

	// A course code outside the service's enum.
	code, out, errs, dir := executeAt(t, sp, "--course-code", "eng5")
	if code != runner.ExitUsage || dir != "" || !strings.Contains(errs, "ENG5") || !strings.Contains(errs, "course_code") {
		t.Errorf("--course-code eng5: exit %d, dir %q\n%s\n%s", code, dir, out, errs)
	}
	nothingSent("--course-code eng5")

	// A canonical_national assignment with prompt.md as the rubric.
	const canon = "22222222-3333-4444-8555-666666666666"
	code, out, errs = runCLI(t, sp.env(), "assignment", "setup", "--inputs", testkit.Sample(t), "--assignment-id", canon,
		"--context-origin", "canonical_national", "--content-service-url", sp.url, "--cj-service-url", sp.url)
	if code != 0 {
		t.Fatalf("setup: exit %d\n%s\n%s", code, out, errs)
	}
	published, uploaded = requestedEnd(t, sp), posts(t, sp)
	code, out, errs, dir = executeAt(t, sp, "--assignment-id", canon)
	if code != runner.ExitUsage || dir != "" || !strings.Contains(lastLine(errs), canon) || !strings.Contains(lastLine(errs), "--no-rubric-override") {
		t.Errorf("canonical with a rubric: exit %d, dir %q\n%s\n%s", code, dir, out, errs)
	}
	nothingSent("canonical with a rubric")

	// --no-rubric-override runs it, and records the choice.
	code, out, errs, dir = executeAt(t, sp, "--assignment-id", canon, "--no-rubric-override")
	if code != 0 {
		t.Fatalf("canonical without a rubric: exit %d\n%s\n%s", code, out, errs)
	}
	md := testkit.LoadRun(t, dir).Artefact.Metadata
	if !md.NoRubricOverride || md.ContextOrigin != "canonical_national" || md.LLMConfigOverrides.JudgeRubricOverride != "" {
		t.Errorf("metadata %+v", md)
	}
	req, err := os.ReadFile(rundir.Path(dir, rundir.Request))
	if err != nil || bytes.Contains(req, []byte("judge_rubric_override")) {
		t.Errorf("the request carries a rubric override (%v)", err)
	}
}

// A failed batch ends in exit 6 with the service's reason as the last
// line, whether it comes as a failed event or as failed_critically on the
// completed topic.
func TestFailedBatchesShowTheirReason(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ fault, reason string }{
		{"fail_batch", "stuck_timeout_insufficient_progress"},
		{"fail_critically", "fail_critically"},
	} {
		t.Run(c.fault, func(t *testing.T) {
			t.Parallel()
			sp := startStackProcess(t, "--fault", c.fault+"=1")
			code, out, errs, dir := executeAt(t, sp)
			if code != runner.ExitBatchFailed || !strings.Contains(lastLine(errs), c.reason) {
				t.Fatalf("exit %d, last line %q\n%s", code, lastLine(errs), out)
			}
			a := testkit.LoadRun(t, dir).Artefact
			if st := a.Validation.RunnerStatus; st == nil || !strings.Contains(st.FailureReason, c.reason) || st.Outcome != "failed" {
				t.Errorf("runner_status %+v", st)
			}
		})
	}
}
