package hydrator

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"eng5np/artefacts"
	"eng5np/events"
	"eng5np/inputs"
	"eng5np/journal"
)

const batch = "5b0e6f5c-9a43-4b3e-8d2a-1c7f0e9b8a66"

var topics = events.NewTopics(events.DefaultTopicPrefix)

func snapshot(t *testing.T) inputs.Snapshot {
	t.Helper()
	b, err := inputs.Load("../inputs/testdata/good", inputs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b.Snapshot()
}

// recorder builds journal records the way capture does.
type recorder struct {
	recs []journal.Record
	off  map[string]int64
}

func (r *recorder) add(topic string, value []byte) journal.Record {
	if r.off == nil {
		r.off = map[string]int64{}
	}
	rec := journal.NewRecord(topic, 0, r.off[topic], nil, value, time.Unix(1_800_000_000, 0), time.Unix(1_800_000_001, 0), 1)
	r.off[topic]++
	rec.Seq = int64(len(r.recs) + 1)
	rec.Pos = int64(len(r.recs) * 1000)
	r.recs = append(r.recs, rec)
	return rec
}

type cbOpts struct {
	a, b, winner, batch, requestID string
	cost                           float64
	drop                           []string
	errorCode                      string
}

func callback(t *testing.T, o cbOpts) []byte {
	t.Helper()
	meta := map[string]any{events.MetaEssayA: o.a, events.MetaEssayB: o.b, events.MetaBatch: o.batch,
		events.MetaPromptHash: events.PromptSHA256(o.a + o.b), events.MetaIteration: 1}
	if o.batch == "" {
		delete(meta, events.MetaBatch)
	}
	for _, d := range o.drop {
		delete(meta, d)
	}
	if o.requestID == "" {
		o.requestID = uuid.NewString()
	}
	cb := events.ComparisonResult{RequestID: o.requestID, CorrelationID: uuid.NewString(), Provider: "mock", Model: "m",
		TokenUsage: events.TokenUsage{PromptTokens: 1000, CompletionTokens: 50, TotalTokens: 1050}, CostEstimate: o.cost,
		RequestedAt: events.Time{Time: time.Unix(1_800_000_000, 0)}, CompletedAt: events.Time{Time: time.Unix(1_800_000_002, 0)}, RequestMetadata: meta}
	if o.errorCode != "" {
		cb.ErrorDetail = &events.ErrorDetail{ErrorCode: o.errorCode, Message: "boom"}
	} else {
		w := o.winner
		conf := 3.5
		cb.Winner, cb.Confidence, cb.Justification = &w, &conf, "because"
	}
	env, err := events.NewEnvelope(events.CallbackEventType, "llm", cb.CorrelationID, cb, nil, time.Unix(1_800_000_002, 0))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := env.Encode()
	return v
}

func envelope(t *testing.T, topic string, data any) []byte {
	env, err := events.NewEnvelope(topic, "cj", uuid.NewString(), data, nil, time.Unix(1_800_000_100, 0))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := env.Encode()
	return v
}

// everyStudent is a result row for every student of the snapshot, the one
// named with bt, the others 0.
func everyStudent(snap inputs.Snapshot, id string, bt float64) []events.EssayResult {
	var out []events.EssayResult
	for _, s := range snap.Students {
		r := events.EssayResult{EssayID: s.WireID}
		if s.WireID == id {
			r.BTScore = bt
		}
		out = append(out, r)
	}
	return out
}

func TestFoldOutcomes(t *testing.T) {
	snap := snapshot(t)
	h := New(Batch{Snapshot: snap, BatchUUID: batch, Topics: topics})
	r := &recorder{}
	cbt := topics.ComparisonResult()
	dupID := uuid.NewString()
	steps := []struct {
		rec  journal.Record
		want Disposition
	}{
		{r.add(cbt, callback(t, cbOpts{a: "ASA_OBERG", b: "ANCHOR_strong_a", winner: events.WinnerB, batch: batch, requestID: dupID, cost: 0.0011111117})), Applied},
		{r.add(cbt, callback(t, cbOpts{a: "ESSAY_WORD", b: "ASA_OBERG", winner: events.WinnerA, batch: batch, cost: 0.0022222224})), Applied},
		{r.add(cbt, callback(t, cbOpts{a: "ESSAY_WORD", b: "ANCHOR_weak-e", batch: batch, errorCode: "PROVIDER_ERROR", cost: 0.0005})), Applied},
		{r.add(cbt, callback(t, cbOpts{a: "ASA_OBERG", b: "ANCHOR_strong_a", winner: events.WinnerB, batch: batch, requestID: dupID, cost: 9})), Duplicate},
		{r.add(cbt, callback(t, cbOpts{a: "X", b: "Y", winner: events.WinnerA, batch: "11111111-2222-4333-8444-555555555555", cost: 9})), ForeignBatch},
		{r.add(cbt, callback(t, cbOpts{a: "ASA_OBERG", b: "ESSAY_WORD", winner: events.WinnerA, cost: 9})), Malformed},
		{r.add(cbt, []byte("{not json")), Malformed},
		{r.add(topics.Completed(), envelope(t, topics.Completed(), events.CJCompleted{EntityID: batch, Status: events.StatusCompleted})), Applied},
		{r.add(topics.Completed(), envelope(t, topics.Completed(), events.CJCompleted{EntityID: batch, Status: events.StatusCompleted})), Duplicate},
		{r.add(topics.Result(), envelope(t, topics.Result(), events.AssessmentResult{BatchID: batch, EssayResults: everyStudent(snap, "ASA_OBERG", -0.3)})), Applied},
	}
	for i, s := range steps {
		if got := h.Apply(s.rec); got != s.want {
			t.Errorf("step %d: %v, want %v", i+1, got, s.want)
		}
	}
	// The same topic/partition/offset read again is a duplicate.
	if got := h.Apply(steps[0].rec); got != Duplicate {
		t.Errorf("re-read offset: %v", got)
	}
	st := h.Stats()
	if st.Comparisons != 3 || st.Succeeded != 2 || st.Failed != 1 || st.Dispositions.Duplicate != 3 || st.Dispositions.ForeignBatch != 1 || st.Dispositions.Malformed != 2 {
		t.Errorf("stats %+v", st)
	}
	if c := h.Completion(); !c.Completed || !c.HasResult || c.Failed {
		t.Errorf("completion %+v", c)
	}

	sec, err := h.Sections(SliceSource(r.recs))
	if err != nil {
		t.Fatal(err)
	}
	cs := sec.LLMComparisons
	if len(cs) != 3 || cs[0].Sequence != 1 || cs[2].Sequence != 3 {
		t.Fatalf("comparisons %+v", cs)
	}
	if cs[0].WinnerID != "strong_a" || cs[0].LoserID != "asa_oberg" || cs[0].EssayAID != "asa_oberg" || cs[0].Status != "succeeded" {
		t.Errorf("first comparison %+v", cs[0])
	}
	if cs[2].WinnerID != "" || cs[2].LoserID != "" || cs[2].Status != "failed" || cs[2].ErrorCode != "PROVIDER_ERROR" || cs[2].FailureReason != "boom" {
		t.Errorf("failed comparison %+v", cs[2])
	}
	// Costs: round6 of the sum over the accepted records (duplicates and
	// foreign callbacks excluded).
	if sec.Costs.TotalUSD != 0.003833 || sec.Costs.TokenCounts[0].USD != 0.003833 || sec.Costs.TokenCounts[0].PromptTokens != 3000 {
		t.Errorf("costs %+v", sec.Costs)
	}
	// The essays never compared have no ability: they are listed, with
	// the reason, instead.
	if len(sec.BTSummary)+len(sec.Reliability.Excluded) != len(snap.Essays()) || len(sec.BTSummary) != 3 {
		t.Errorf("bt_summary covers %d of %d essays, %d excluded", len(sec.BTSummary), len(snap.Essays()), len(sec.Reliability.Excluded))
	}
	for _, x := range sec.Reliability.Excluded {
		if x.Reason != "never compared" {
			t.Errorf("excluded %+v", x)
		}
	}
	for _, e := range sec.BTSummary {
		if e.StandardError <= 0 || math.IsNaN(e.Theta) {
			t.Errorf("%s: theta %v se %v", e.EssayID, e.Theta, e.StandardError)
		}
		if e.EssayID == "asa_oberg" && (e.ServiceTheta == nil || *e.ServiceTheta != -0.3 || e.ComparisonCount != 2) {
			t.Errorf("asa_oberg: %+v", e)
		}
		if e.EssayID == "b-"+shortHashOf("b") && e.ComparisonCount != 0 {
			t.Errorf("uncompared essay has %d comparisons", e.ComparisonCount)
		}
	}
	for _, g := range sec.GradeProjections {
		var sum float64
		for _, p := range g.Probabilities {
			sum += p
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Errorf("%s: probabilities sum to %v", g.EssayID, sum)
		}
	}
	if sec.ServiceComparison == nil || sec.ServiceComparison.Compared != 2 {
		t.Errorf("service comparison %+v", sec.ServiceComparison)
	}
	if !sec.ManifestStatus.Complete || sec.Skipped["duplicate"] != 3 || sec.ObservedEvents["comparison_result"] != 8 {
		t.Errorf("status %+v %+v %+v", sec.ManifestStatus, sec.Skipped, sec.ObservedEvents)
	}
}

func shortHashOf(s string) string { return inputs.EssayID(s)[2:] }

func TestMetadataFaultStopsTheFold(t *testing.T) {
	h := New(Batch{Snapshot: snapshot(t), BatchUUID: batch, Topics: topics})
	r := &recorder{}
	cbt := topics.ComparisonResult()
	h.Apply(r.add(cbt, callback(t, cbOpts{a: "ASA_OBERG", b: "ESSAY_WORD", winner: events.WinnerA, batch: batch})))
	faulty := r.add(cbt, callback(t, cbOpts{a: "ASA_OBERG", b: "ESSAY_WORD", winner: events.WinnerA, batch: batch, drop: []string{events.MetaPromptHash, events.MetaEssayB}}))
	if got := h.Apply(faulty); got != MetadataFault {
		t.Fatalf("faulty callback: %v", got)
	}
	if got := h.Apply(r.add(cbt, callback(t, cbOpts{a: "ASA_OBERG", b: "ESSAY_WORD", winner: events.WinnerA, batch: batch}))); got != AfterFault {
		t.Errorf("after the fault: %v", got)
	}
	if !h.Faulted() {
		t.Fatal("not faulted")
	}
	sec, err := h.Sections(SliceSource(r.recs))
	if err != nil {
		t.Fatal(err)
	}
	if len(sec.LLMComparisons) != 1 || sec.ManifestStatus.Complete || len(sec.ManifestStatus.Faults) != 1 {
		t.Fatalf("sections %+v", sec.ManifestStatus)
	}
	f := sec.ManifestStatus.Faults[0]
	if strings.Join(f.Fields, ",") != "essay_b_id,prompt_sha256" || f.Offset != faulty.Offset || f.Topic != cbt || f.CorrelationID == "" {
		t.Errorf("fault %+v", f)
	}
	if !strings.Contains(Describe(sec.ManifestStatus.Faults), f.CorrelationID) {
		t.Errorf("describe: %s", Describe(sec.ManifestStatus.Faults))
	}
	if fs := h.Stats().Faults; len(fs) != 1 || !slices.Contains(fs[0].Fields, "prompt_sha256") || slices.Contains(fs[0].Fields, "essay_a_id") {
		t.Errorf("faults by field %v", fs)
	}

	// An essay id that is not in the batch is a fault too.
	h2 := New(Batch{Snapshot: snapshot(t), BatchUUID: batch, Topics: topics})
	if got := h2.Apply(r.add(cbt, callback(t, cbOpts{a: "STRANGER", b: "ESSAY_WORD", winner: events.WinnerA, batch: batch}))); got != MetadataFault {
		t.Errorf("unknown essay: %v", got)
	}
	if d := h2.Stats().Faults[0].Detail; !strings.Contains(d, `"STRANGER" is not an essay of this batch`) {
		t.Errorf("detail %q", d)
	}
}

// Folding the same records twice gives byte-identical sections.
func TestSectionsAreDeterministic(t *testing.T) {
	snap := snapshot(t)
	r := &recorder{}
	ids := []string{"ASA_OBERG", "ESSAY_WORD", "ANCHOR_strong_a", "ANCHOR_weak-e", "ANCHOR_middle_c_2"}
	for i := 0; i < 30; i++ {
		a, b := ids[i%5], ids[(i+1+i/5)%5]
		if a == b {
			continue
		}
		w := events.WinnerA
		if i%3 == 0 {
			w = events.WinnerB
		}
		r.add(topics.ComparisonResult(), callback(t, cbOpts{a: a, b: b, winner: w, batch: batch, cost: 0.001}))
	}
	render := func() []byte {
		h := New(Batch{Snapshot: snap, BatchUUID: batch, Topics: topics})
		for _, rec := range r.recs {
			h.Apply(rec)
		}
		sec, err := h.Sections(SliceSource(r.recs))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(sec)
		return b
	}
	if a, b := render(), render(); string(a) != string(b) {
		t.Error("two folds of the same records differ")
	}
}

func TestMaterializeDetectsAChangedJournal(t *testing.T) {
	h := New(Batch{Snapshot: snapshot(t), BatchUUID: batch, Topics: topics})
	r := &recorder{}
	h.Apply(r.add(topics.ComparisonResult(), callback(t, cbOpts{a: "ASA_OBERG", b: "ESSAY_WORD", winner: events.WinnerA, batch: batch})))
	if _, err := h.Sections(SliceSource(nil)); err == nil {
		t.Error("no error when the journal lost an accepted record")
	}
	_ = artefacts.StatusFailed
}

// ApplyAll (parallel decoding) folds exactly as Apply does, record by record.
func TestApplyAllMatchesApply(t *testing.T) {
	snap := snapshot(t)
	r := &recorder{}
	ids := []string{"ASA_OBERG", "ESSAY_WORD", "ANCHOR_strong_a", "ANCHOR_weak-e", "ANCHOR_middle_c_2"}
	dup := uuid.NewString()
	for i := 0; i < 300; i++ {
		a, b := ids[i%5], ids[(i+2)%5]
		switch {
		case i%17 == 0:
			r.add(topics.ComparisonResult(), []byte("garbage"))
		case i%23 == 0:
			r.add(topics.ComparisonResult(), callback(t, cbOpts{a: a, b: b, winner: events.WinnerA, batch: batch, requestID: dup}))
		default:
			r.add(topics.ComparisonResult(), callback(t, cbOpts{a: a, b: b, winner: events.WinnerB, batch: batch, cost: 0.001}))
		}
	}
	one := New(Batch{Snapshot: snap, BatchUUID: batch, Topics: topics})
	var want []Disposition
	for _, rec := range r.recs {
		want = append(want, one.Apply(rec))
	}
	all := New(Batch{Snapshot: snap, BatchUUID: batch, Topics: topics})
	got := all.ApplyAll(r.recs)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("record %d: ApplyAll %v, Apply %v", i+1, got[i], want[i])
		}
	}
	a, _ := json.Marshal(one.Stats())
	b, _ := json.Marshal(all.Stats())
	if string(a) != string(b) {
		t.Error("stats differ")
	}
}
