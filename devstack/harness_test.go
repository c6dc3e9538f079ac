package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"

	"eng5np/capture"
	"eng5np/events"
	"eng5np/fault"
	"eng5np/huleedu"
	"eng5np/inputs"
)

// sampleBatch is loaded once: the bundled sample and its ground truth.
var (
	sampleOnce  sync.Once
	sample      *inputs.Batch
	sampleTruth map[string]float64
)

func loadSample(t testing.TB) (*inputs.Batch, map[string]float64) {
	t.Helper()
	sampleOnce.Do(func() {
		b, err := inputs.Load("../examples/sample", inputs.Options{})
		if err != nil {
			panic(err)
		}
		gt, err := inputs.LoadGroundTruth("../examples/sample/ground_truth.csv")
		if err != nil {
			panic(err)
		}
		sample, sampleTruth = b, gt
	})
	return sample, sampleTruth
}

func startStack(t testing.TB, opts Options) *Stack {
	t.Helper()
	b, gt := loadSample(t)
	if opts.Assignments == nil {
		opts.Assignments = []Assignment{AssignmentOf(b.Config.AssignmentID, b)}
	}
	if opts.GroundTruth == nil {
		opts.GroundTruth = gt
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// collected is everything a client saw on the consumed topics for a batch.
type collected struct {
	callbacks []*events.ComparisonResult // this batch's, duplicates included
	foreign   []*events.ComparisonResult // other batches'
	malformed int
	completed *events.CJCompleted
	result    *events.AssessmentResult
	failed    *events.CJFailed
}

// client plays the runner's part: upload, register anchors, publish, read.
type client struct {
	t      testing.TB
	s      *Stack
	topics events.Topics
	// noRegister makes submit skip the anchors' registration.
	noRegister bool
}

// publishOnly is submit without registering the anchors.
func (c *client) publishOnly(b *inputs.Batch, budget int) (string, map[string]map[int]int64) {
	c.t.Helper()
	c.noRegister = true
	defer func() { c.noRegister = false }()
	return c.submit(b, budget)
}

func (c *client) post(path string, body []byte, want int) map[string]any {
	c.t.Helper()
	resp, err := http.Post(c.s.URL+path, "application/json", bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != want {
		c.t.Fatalf("POST %s: %d %v, want %d", path, resp.StatusCode, out, want)
	}
	return out
}

// token is an admin token of the stack.
func (c *client) token() string {
	tok, err := huleedu.MintAdminToken(c.s.JWTSecret, "test", huleedu.DefaultIssuer, huleedu.DefaultAudience, time.Now(), time.Hour)
	if err != nil {
		c.t.Fatal(err)
	}
	return tok
}

// request sends one request with a bearer token (none when "") and returns
// the status and the decoded JSON answer.
func (c *client) request(method, path, token string, body []byte) (int, map[string]any) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.s.URL+path, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// adminGet reads an admin route with an admin token and wants status.
func (c *client) adminGet(path string, want int) map[string]any {
	c.t.Helper()
	code, out := c.request("GET", path, c.token(), nil)
	if code != want {
		c.t.Fatalf("GET %s: %d %v, want %d", path, code, out, want)
	}
	return out
}

func (c *client) upload(text string) string {
	c.t.Helper()
	resp, err := http.Post(c.s.URL+"/v1/content", "text/plain", bytes.NewReader([]byte(text)))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusCreated || out["storage_id"] == "" {
		c.t.Fatalf("upload: %d %v", resp.StatusCode, out)
	}
	return out["storage_id"]
}

// submit registers the batch's anchors, uploads its students and publishes a
// CJ request. It returns the batch uuid and the end offsets it recorded
// before publishing.
func (c *client) submit(b *inputs.Batch, budget int) (string, map[string]map[int]int64) {
	c.t.Helper()
	return c.submitWith(b, budget, nil)
}

// submitWith is submit with the request changed by edit before it is
// published.
func (c *client) submitWith(b *inputs.Batch, budget int, edit func(*events.CJRequest)) (string, map[string]map[int]int64) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	assignment := b.Config.AssignmentID
	for _, a := range b.Anchors {
		if c.noRegister {
			break
		}
		body, _ := json.Marshal(map[string]string{"assignment_id": assignment, "grade": a.Grade, "anchor_label": a.ID, "essay_text": a.Text})
		resp, err := http.Post(c.s.URL+"/api/v1/anchors/register", "application/json", bytes.NewReader(body))
		if err != nil {
			c.t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			c.t.Fatalf("register %s: %d", a.ID, resp.StatusCode)
		}
	}
	var essays []events.EssayRef
	for _, st := range b.Students {
		essays = append(essays, events.EssayRef{EssayID: st.WireID, TextStorageID: c.upload(st.Text)})
	}
	offsets, err := capture.EndOffsets(ctx, capture.Conn{Bootstrap: []string{c.s.Bootstrap}}, c.topics.Consumed())
	if err != nil {
		c.t.Fatal(err)
	}
	batchID := uuid.NewString()
	req := events.CJRequest{
		EventName: events.RequestEventName, EntityID: batchID, EntityType: "batch", ParentID: &assignment, Timestamp: events.Now(),
		SystemMetadata: events.SystemMetadata{EntityID: batchID, EntityType: "batch", ParentID: &assignment, ProcessingStage: "pending", Event: events.RequestEventName},
		EssaysForCJ:    essays, Language: "en", CourseCode: "ENG5", AssignmentID: assignment, UserID: "test",
		StudentPromptRef:   events.StudentPromptRef(c.upload(b.Instructions.Text)),
		LLMConfigOverrides: &events.LLMConfigOverrides{ProviderOverride: "mock", ModelOverride: "mock-judge-small", JudgeRubricOverride: b.Prompt.Text},
	}
	if edit != nil {
		edit(&req)
	}
	env, err := events.NewEnvelope(c.topics.Requested(), events.RunnerSourceService, uuid.NewString(), req, map[string]any{"runner_mode": "execute", "batch_label": "test", "max_comparisons": budget}, time.Now())
	if err != nil {
		c.t.Fatal(err)
	}
	value, _ := env.Encode()
	w := &kafka.Writer{Addr: kafka.TCP(c.s.Bootstrap), Topic: c.topics.Requested(), RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte(batchID), Value: value}); err != nil {
		c.t.Fatal(err)
	}
	return batchID, offsets
}

// collect reads the consumed topics from the recorded offsets until the batch
// completed and its result arrived, or it failed, or the timeout. A result
// without a completed event ends the reading one second later (the
// completed event may have been dropped). With linger it keeps reading that
// long after the end, to catch late extras.
func (c *client) collect(batchID string, offsets map[string]map[int]int64, timeout, linger time.Duration) *collected {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	type rec struct {
		topic string
		value []byte
	}
	ch := make(chan rec, 1024)
	var wg sync.WaitGroup
	for topic, parts := range offsets {
		for p, off := range parts {
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{c.s.Bootstrap}, Topic: topic, Partition: p, MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 50 * time.Millisecond})
			_ = r.SetOffset(off)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer r.Close()
				for {
					m, err := r.ReadMessage(ctx)
					if err != nil {
						return
					}
					select {
					case ch <- rec{topic, m.Value}:
					case <-ctx.Done():
						return
					}
				}
			}()
		}
	}
	defer func() { cancel(); wg.Wait() }()
	out := &collected{}
	var lingerC <-chan time.Time
	// Topics are read independently, so the event that ends a batch can
	// arrive before the callbacks published ahead of it on other partitions:
	// once done, keep reading until the topics have been quiet for a while.
	const quiet = 300 * time.Millisecond
	var quietT *time.Timer
	var quietC <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return out
		case <-lingerC:
			return out
		case <-quietC:
			return out
		case r := <-ch:
			if quietT != nil {
				quietT.Reset(quiet)
			}
			ev, err := c.topics.Decode(r.topic, r.value)
			if err != nil {
				out.malformed++
				continue
			}
			if batchOf(ev) != batchID {
				if ev.Callback != nil {
					out.foreign = append(out.foreign, ev.Callback)
				}
				continue
			}
			switch {
			case ev.Callback != nil:
				out.callbacks = append(out.callbacks, ev.Callback)
			case ev.Completed != nil:
				out.completed = ev.Completed
			case ev.Result != nil:
				out.result = ev.Result
			case ev.Failed != nil:
				out.failed = ev.Failed
			}
			done := out.failed != nil || (out.completed != nil && (out.result != nil || out.completed.FailedCritically()))
			switch {
			case done && linger == 0 && quietT == nil:
				quietT = time.NewTimer(quiet)
				quietC = quietT.C
			case done && linger == 0:
			case done && lingerC == nil:
				lingerC = time.After(linger)
			case out.result != nil && out.completed == nil && lingerC == nil:
				lingerC = time.After(time.Second + linger)
			}
		}
	}
}

// verdictSet renders the distinct successful comparisons as sorted
// "A|B|winner" lines (one per request id).
func (col *collected) verdictSet() []string {
	seen := map[string]bool{}
	var out []string
	for _, cb := range col.callbacks {
		if seen[cb.RequestID] {
			continue
		}
		seen[cb.RequestID] = true
		w := "error"
		if cb.Winner != nil {
			w = *cb.Winner
		}
		out = append(out, fmt.Sprintf("%v|%v|%s", cb.RequestMetadata[events.MetaEssayA], cb.RequestMetadata[events.MetaEssayB], w))
	}
	sort.Strings(out)
	return out
}

func runSample(t testing.TB, opts Options, budget int) (*Stack, *collected) {
	t.Helper()
	s := startStack(t, opts)
	b, _ := loadSample(t)
	c := &client{t: t, s: s, topics: events.NewTopics(events.DefaultTopicPrefix)}
	id, offs := c.submit(b, budget)
	return s, c.collect(id, offs, 60*time.Second, 0)
}

var noFaults = fault.Set{}

// batchOf returns the batch an event belongs to.
func batchOf(e *events.Event) string {
	switch {
	case e.Request != nil:
		return e.Request.EntityID
	case e.Completed != nil:
		return e.Completed.EntityID
	case e.Result != nil:
		return e.Result.BatchID
	case e.Failed != nil:
		return e.Failed.EntityID
	case e.Callback != nil:
		id, _ := e.Callback.BatchHint()
		return id
	}
	return ""
}
