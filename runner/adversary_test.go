package runner_test

// Hand-crafted events on the topics of a running batch, as an adversary or
// a broken producer would publish them: none can end a run green with data
// missing, and none can make its artefact unwritable.

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"

	"eng5np/artefacts"
	"eng5np/config"
	"eng5np/devstack"
	"eng5np/events"
	"eng5np/fault"
	"eng5np/internal/testkit"
	"eng5np/rundir"
	"eng5np/runner"
)

// inject publishes value to topic on the stack's broker.
func inject(t *testing.T, st *devstack.Stack, topic string, value []byte) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(st.Bootstrap), Topic: topic, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, kafka.Message{Value: value}); err != nil {
		t.Fatal(err)
	}
}

// runUnder is the run being captured under out once its journal has n
// lines: its directory and record.
func runUnder(t *testing.T, out string, n int, exited <-chan struct{}) *runner.RunDir {
	t.Helper()
	testkit.WaitJournal(t, out, n, exited)
	rd, err := runner.OpenRunDir(testkit.OnlyRunDir(t, out))
	if err != nil {
		t.Fatal(err)
	}
	return rd
}

func topicsOf(rd *runner.RunDir) events.Topics { return events.NewTopics(rd.Record.Kafka.TopicPrefix) }

func envelopeOf(t *testing.T, eventType string, data any) []byte {
	t.Helper()
	env, err := events.NewEnvelope(eventType, devstack.CJSource, uuid.NewString(), data, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	v, err := env.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// completedFor is a completed event for the run's batch whose
// processing_summary agrees with the batch (all students), or not.
func completedFor(t *testing.T, rd *runner.RunDir, agree bool) []byte {
	var ids []string
	for _, s := range rd.Snapshot.Students {
		ids = append(ids, s.WireID)
	}
	if !agree {
		ids = ids[:3]
	}
	c := events.CJCompleted{EventName: events.CompletedEventName, EntityID: rd.Record.BatchUUID, Status: events.StatusCompleted,
		ProcessingSummary: events.ProcessingSummary{TotalEssays: len(ids), Successful: len(ids), SuccessfulEssayIDs: ids, FailedEssayIDs: []string{}}}
	return envelopeOf(t, "huleedu.cj_assessment.completed.v1", c)
}

// A stray completed event, right after publish and agreeing with the
// batch, is not a complete run: without its result it is partial data
// (exit 4) once the batch goes quiet for the grace (here between two
// waves), and resume captures the rest, to the clean set.
func TestStrayCompletedIsPartialData(t *testing.T) {
	t.Parallel()
	clean := cleanSet(t)
	st := testkit.Stack(t, devstack.Options{Seed: relSeed, MockLatency: time.Second})
	out := t.TempDir()
	b := &background{exited: make(chan struct{})}
	go func() {
		defer close(b.exited)
		b.out = executeAt(t, addresses(st), "--output-dir", out, "--completion-timeout", "60s", "--post-completion-grace", "300ms")
	}()
	rd := runUnder(t, out, 5, b.exited)
	inject(t, st, topicsOf(rd).Completed(), completedFor(t, rd, true))
	<-b.exited
	if b.out.sum.ExitCode != runner.ExitTimeout || !b.out.sum.Resumable {
		t.Fatalf("exit %d (resumable %v): %s", b.out.sum.ExitCode, b.out.sum.Resumable, b.out.sum.Message)
	}
	r := b.out.mustArtefact(t)
	if rs := r.Artefact.Validation.RunnerStatus; !rs.PartialData || rs.Outcome != "completed_without_result" || len(r.Artefact.LLMComparisons) >= 120 ||
		r.Artefact.Validation.ManifestStatus.Complete {
		t.Fatalf("%d comparisons, runner status %+v, manifest %+v", len(r.Artefact.LLMComparisons), rs, r.Artefact.Validation.ManifestStatus)
	}
	sum, err := resume(t, r.Dir, "--completion-timeout", "60s", "--post-completion-grace", "5s")
	if err != nil || sum.ExitCode != 0 {
		t.Fatalf("resume: %v %+v", err, sum)
	}
	after := testkit.LoadRun(t, r.Dir)
	testkit.CheckArtefact(t, after)
	if got := after.ComparisonSet(); !reflect.DeepEqual(got, clean) {
		t.Errorf("after resume: %d comparisons differ from the clean run's %d", len(got), len(clean))
	}
}

// A completed event that disagrees with the batch is journaled, counted
// and reported, and capture goes on to the real end.
func TestCompletedThatDisagreesIsIgnored(t *testing.T) {
	t.Parallel()
	clean := cleanSet(t)
	st := testkit.Stack(t, devstack.Options{Seed: relSeed, MockLatency: 60 * time.Millisecond})
	out := t.TempDir()
	b := executeInBackground(t, st, out, "60s")
	rd := runUnder(t, out, 5, b.exited)
	inject(t, st, topicsOf(rd).Completed(), completedFor(t, rd, false))
	<-b.exited
	if b.out.sum.ExitCode != 0 {
		t.Fatalf("exit %d: %s", b.out.sum.ExitCode, b.out.sum.Message)
	}
	r := b.out.mustArtefact(t)
	rs := r.Artefact.Validation.RunnerStatus
	if rs.Skipped["suspicious"] != 1 || len(rs.Warnings) != 1 || !strings.Contains(rs.Warnings[0], "total_essays is 3") {
		t.Errorf("skipped %v, warnings %q", rs.Skipped, rs.Warnings)
	}
	if !strings.Contains(strings.Join(b.out.sum.Warnings, "\n"), "total_essays is 3") {
		t.Errorf("the summary does not show the warning: %q", b.out.sum.Warnings)
	}
	if got := r.ComparisonSet(); !reflect.DeepEqual(got, clean) {
		t.Errorf("%d comparisons differ from the clean run's %d", len(got), len(clean))
	}
}

// A result for this batch that names other essays is a fault, not a
// completed run.
func TestResultNamingOtherEssaysIsAFault(t *testing.T) {
	t.Parallel()
	st := testkit.Stack(t, devstack.Options{Seed: relSeed, MockLatency: 60 * time.Millisecond})
	out := t.TempDir()
	b := executeInBackground(t, st, out, "60s")
	rd := runUnder(t, out, 5, b.exited)
	res := events.AssessmentResult{BatchID: rd.Record.BatchUUID, EssayResults: []events.EssayResult{{EssayID: "SOMEONE_ELSE", LetterGrade: "A"}}}
	inject(t, st, topicsOf(rd).Result(), envelopeOf(t, "huleedu.assessment.result.published.v1", res))
	<-b.exited
	if b.out.sum.ExitCode != runner.ExitFault || !strings.Contains(b.out.sum.Message, "SOMEONE_ELSE") {
		t.Fatalf("exit %d: %s", b.out.sum.ExitCode, b.out.sum.Message)
	}
	r := b.out.mustArtefact(t)
	if f := r.Artefact.Validation.ManifestStatus.Faults; len(f) != 1 || f[0].Kind != "result_mismatch" {
		t.Errorf("faults %+v", f)
	}
}

// A callback of this batch that fails validation is a hard fault naming
// the field, exactly like a missing essay id; absurd numbers are such
// faults too, and never make the artefact unwritable. A broken callback
// that cannot be attributed stays quarantined noise.
func TestInvalidCallbacksOfThisBatchAreFaults(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		edit  func(data map[string]any, batch, seenCorrelation string)
		field string // "" for noise: the run completes
	}{
		{"confidence 0", func(d map[string]any, _, _ string) { d["confidence"] = 0 }, "confidence"},
		{"justification 501", func(d map[string]any, _, _ string) { d["justification"] = strings.Repeat("x", 501) }, "justification"},
		{"wrong type", func(d map[string]any, _, _ string) { d["winner"] = 5 }, "winner"},
		{"prompt tokens overflow", func(d map[string]any, _, _ string) {
			d["token_usage"] = map[string]any{"prompt_tokens": 3_000_000_000, "completion_tokens": 10, "total_tokens": 3_000_000_010}
		}, "token_usage.prompt_tokens"},
		{"absurd cost", func(d map[string]any, _, _ string) { d["cost_estimate"] = 1e308 }, "cost_estimate"},
		{"null metadata, seen correlation", func(d map[string]any, _, seen string) {
			d["request_metadata"] = nil
			d["correlation_id"] = seen
		}, "request_metadata"},
		{"unattributable", func(d map[string]any, _, _ string) {
			d["request_metadata"] = nil
			d["correlation_id"] = uuid.NewString()
			d["confidence"] = 0
		}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			st := testkit.Stack(t, devstack.Options{Seed: relSeed, MockLatency: 60 * time.Millisecond})
			out := t.TempDir()
			b := executeInBackground(t, st, out, "60s")
			rd := runUnder(t, out, 5, b.exited)
			template, seen := aCallback(t, rd)
			var env map[string]any
			_ = json.Unmarshal(template, &env)
			data := env["data"].(map[string]any)
			data["request_id"] = uuid.NewString()
			c.edit(data, rd.Record.BatchUUID, seen)
			value, _ := json.Marshal(env)
			inject(t, st, topicsOf(rd).ComparisonResult(), value)
			<-b.exited
			r := b.out.mustArtefact(t)
			if c.field == "" {
				if b.out.sum.ExitCode != 0 || r.Artefact.Validation.RunnerStatus.Skipped["malformed"] != 1 {
					t.Fatalf("noise: exit %d, skipped %v: %s", b.out.sum.ExitCode, r.Artefact.Validation.RunnerStatus.Skipped, b.out.sum.Message)
				}
				log, _ := os.ReadFile(rundir.Path(r.Dir, rundir.Log))
				if !bytes.Contains(log, []byte(`"event":"malformed_quarantined"`)) || !bytes.Contains(log, []byte("confidence")) {
					t.Errorf("the quarantine log line does not name the field")
				}
				return
			}
			if b.out.sum.ExitCode != runner.ExitFault {
				t.Fatalf("exit %d, want 3: %s", b.out.sum.ExitCode, b.out.sum.Message)
			}
			f := r.Artefact.Validation.ManifestStatus.Faults
			if len(f) != 1 || len(f[0].Fields) != 1 || f[0].Fields[0] != c.field || !strings.Contains(b.out.sum.Message, c.field) {
				t.Errorf("faults %+v, message %s", f, b.out.sum.Message)
			}
			if rep, err := runner.Verify(r.Dir); err != nil || !rep.OK() {
				t.Errorf("verify: %v %+v", err, rep)
			}
			if res, err := (&runner.Rehydrate{Dir: r.Dir}).Run(); err != nil || !res.Verified {
				t.Errorf("rehydrate: %v %+v", err, res)
			}
		})
	}
}

// aCallback is the value of a callback of the run already journaled, and
// its correlation id.
func aCallback(t *testing.T, rd *runner.RunDir) ([]byte, string) {
	t.Helper()
	data, err := os.ReadFile(rundir.Path(rd.Dir, rundir.Journal))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		var rec struct {
			Topic string          `json:"topic"`
			Value json.RawMessage `json:"value_json"`
		}
		if json.Unmarshal(line, &rec) != nil || !strings.HasSuffix(rec.Topic, "comparison_result.v1") || len(rec.Value) == 0 {
			continue
		}
		var env struct {
			Data events.ComparisonResult `json:"data"`
		}
		if json.Unmarshal(rec.Value, &env) == nil && env.Data.Winner != nil {
			return rec.Value, env.Data.CorrelationID
		}
	}
	t.Fatal("no callback journaled yet")
	return nil, ""
}

// A partition added to a consumed topic during the run is read too: the
// drain at the end covers it, so its records are journaled and counted.
func TestPartitionAddedMidRunIsRead(t *testing.T) {
	t.Parallel()
	clean := cleanSet(t)
	st := testkit.Stack(t, devstack.Options{Seed: relSeed, MockLatency: 60 * time.Millisecond})
	out := t.TempDir()
	b := executeInBackground(t, st, out, "60s")
	rd := runUnder(t, out, 5, b.exited)
	topic := topicsOf(rd).ComparisonResult()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl := &kafka.Client{Addr: kafka.TCP(st.Bootstrap)}
	if _, err := cl.CreatePartitions(ctx, &kafka.CreatePartitionsRequest{Topics: []kafka.TopicPartitionsConfig{{Name: topic, Count: 4}}}); err != nil {
		t.Fatal(err)
	}
	template, _ := aCallback(t, rd)
	var env map[string]any
	_ = json.Unmarshal(template, &env)
	data := env["data"].(map[string]any)
	data["request_id"], data["correlation_id"] = uuid.NewString(), uuid.NewString()
	data["request_metadata"].(map[string]any)[events.MetaBatch] = uuid.NewString() // another batch's
	value, _ := json.Marshal(env)
	conn, err := kafka.DialLeader(ctx, "tcp", st.Bootstrap, topic, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.WriteMessages(kafka.Message{Value: value}); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	<-b.exited
	if b.out.sum.ExitCode != 0 {
		t.Fatalf("exit %d: %s", b.out.sum.ExitCode, b.out.sum.Message)
	}
	r := b.out.mustArtefact(t)
	if r.Artefact.Validation.RunnerStatus.Skipped["foreign_batch"] < 1 {
		t.Errorf("the record in the new partition was not read: skipped %v", r.Artefact.Validation.RunnerStatus.Skipped)
	}
	journal, _ := os.ReadFile(rundir.Path(r.Dir, rundir.Journal))
	if !bytes.Contains(journal, []byte(`"partition":3,`)) {
		t.Error("nothing from partition 3 in the journal")
	}
	if got := r.ComparisonSet(); !reflect.DeepEqual(got, clean) {
		t.Errorf("%d comparisons differ from the clean run's %d", len(got), len(clean))
	}
}

// Ctrl-C while the essays upload (a slow content service) is an
// interruption, exit 130, not a service failure; nothing is published.
func TestInterruptDuringUpload(t *testing.T) {
	t.Parallel()
	st := testkit.Stack(t, devstack.Options{Seed: relSeed})
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
			return
		}
		w.WriteHeader(http.StatusOK) // health
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(hang) }) // runs first: the handler returns, then the server closes
	where := append([]string{"--stack", "external", "--kafka-bootstrap", st.Bootstrap, "--content-service-url", slow.URL, "--cj-service-url", st.URL}, testkit.MockJudge...)
	cfg := testkit.Config(t, config.CmdExecute, testkit.StackEnv, append([]string{"--inputs", testkit.Sample(t), "--output-dir", t.TempDir(), "--http-timeout", "60s"}, where...)...)
	ep, err := runner.ExternalEndpoints(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	sum, err := (&runner.Execute{Config: cfg, Endpoints: ep}).Run(ctx)
	if err != nil || sum.ExitCode != runner.ExitInterrupted || !strings.Contains(sum.Message, "interrupted while uploading") {
		t.Fatalf("%v %+v", err, sum)
	}
	if _, err := os.Stat(rundir.Path(sum.RunDir, rundir.Request)); !os.IsNotExist(err) {
		t.Error("a request was written after the interruption")
	}
}

// After a metadata fault, execute, resume and verify give the same advice.
func TestFaultAdviceIsTheSameEverywhere(t *testing.T) {
	t.Parallel()
	o := execute(t, devstack.Options{Seed: 3, Faults: fault.Set{fault.DropEssayAID: 0.3}})
	if o.sum.ExitCode != runner.ExitFault || o.sum.Next != artefacts.FaultAdvice {
		t.Fatalf("execute: exit %d, next %q", o.sum.ExitCode, o.sum.Next)
	}
	_, err := resume(t, o.sum.RunDir)
	if err == nil || !strings.Contains(err.Error(), artefacts.FaultAdvice) {
		t.Errorf("resume: %v", err)
	}
	rep, err := runner.Verify(o.sum.RunDir)
	if err != nil || !rep.OK() || !strings.Contains(strings.Join(rep.Warnings, "\n"), artefacts.FaultAdvice) {
		t.Errorf("verify: %v %+v", err, rep)
	}
}
