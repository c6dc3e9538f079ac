// Package hydrator folds journal records into the artefact model
// (docs/CONTRACT.md, "Capture" and "Artefacts"). It is pure: the same records
// give the same artefact sections, byte for byte, whether they are folded live
// during capture, after a resume, or by `rehydrate` from the run directory
// alone.
//
// Folding keeps only compact state (about 50 bytes per accepted comparison
// plus aggregates) so a capture of a million callbacks stays small; the full
// llm_comparisons are materialized by streaming the journal again when the
// artefact is written.
package hydrator

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"runtime"
	"sort"
	"strings"
	"sync"

	"eng5np/artefacts"
	"eng5np/events"
	"eng5np/inputs"
	"eng5np/journal"
)

// Disposition is what folding a record did with it.
type Disposition int

// The dispositions.
const (
	Applied       Disposition = iota
	Duplicate                 // same request_id, or the same topic/partition/offset
	ForeignBatch              // another batch's record, skipped
	Malformed                 // not a valid event of its topic: quarantined
	MetadataFault             // a callback of this batch without its required metadata: hard stop
	AfterFault                // read after a hard fault: journaled, never applied
	Suspicious                // this batch's completed event that disagrees with the batch: journaled, counted, not taken as completion
)

func (o Disposition) String() string {
	return [...]string{"applied", "duplicate", "foreign_batch", "malformed", "metadata_fault", "after_fault", "suspicious"}[o]
}

// Batch identifies the batch whose journal is folded: its inputs, its
// batch_uuid and the topics it was captured from.
type Batch struct {
	Snapshot  inputs.Snapshot
	BatchUUID string
	Topics    events.Topics
	// Anchors are the CJ service's anchors for the assignment, recorded
	// before the request was published: an anchor id in a callback or the
	// result, ANCHOR_{id}_{hex8}, is resolved through them. Nil for a run
	// recorded before the service named anchors itself; the snapshot's
	// ANCHOR_<anchor_id> wire ids are used then.
	Anchors *inputs.AnchorMap
	// Expected is the number of comparisons the CJ service will make (0:
	// unknown); more successful ones are a warning.
	Expected int
	// Observe, when set, is told about every record folded, in order.
	Observe func(Observation)
}

type essay struct {
	id       string
	wire     string
	isAnchor bool
	grade    string
	external bool // an anchor the batch did not bring
}

// essayOf resolves an essay id as the services send it: a student's wire id,
// or an anchor's ANCHOR_{id}_{hex8} through the recorded anchor map.
func (h *Hydrator) essayOf(wire string) (int32, bool) {
	if i, ok := h.byWire[wire]; ok {
		return i, true
	}
	if h.cfg.Anchors != nil {
		if id, ok := inputs.ParseServiceAnchorID(wire); ok {
			i, ok := h.byDBID[id]
			return i, ok
		}
	}
	return 0, false
}

// unknownEssay says why an essay id of a callback is not one of this batch.
func (h *Hydrator) unknownEssay(field, wire string) string {
	if id, ok := inputs.ParseServiceAnchorID(wire); ok && h.cfg.Anchors != nil {
		return fmt.Sprintf("%s %q names CJ anchor %d, which the CJ service did not list for assignment %s when the run started",
			field, wire, id, h.cfg.Anchors.AssignmentID)
	}
	return fmt.Sprintf("%s %q is not an essay of this batch", field, wire)
}

// entry is one accepted comparison, compactly: 40 bytes, so a million of
// them fit in 40 MB.
type entry struct {
	seq  int64
	a, b int32
	win  int8 // 1: A won, 0: B won, -1: failed
	pm   int16
	tokP int32
	tokC int32
	cost float64
}

// entryChunk is how many entries one chunk of the log holds.
const entryChunk = 4096

// entryLog stores entries in fixed-size chunks, so that growing it never
// copies (and never briefly doubles) what it holds.
type entryLog struct {
	chunks [][]entry
	n      int
}

func (l *entryLog) add(e entry) {
	if l.n%entryChunk == 0 {
		l.chunks = append(l.chunks, make([]entry, 0, entryChunk))
	}
	c := &l.chunks[len(l.chunks)-1]
	*c = append(*c, e)
	l.n++
}

func (l *entryLog) len() int { return l.n }

func (l *entryLog) at(i int) entry { return l.chunks[i/entryChunk][i%entryChunk] }

func (l *entryLog) each(fn func(entry)) {
	for _, c := range l.chunks {
		for _, e := range c {
			fn(e)
		}
	}
}

type topicPartition struct {
	topic     string
	partition int
}

// ModelCost is one provider/model's running total.
type ModelCost struct {
	Provider         string
	Model            string
	PromptTokens     int64
	CompletionTokens int64
	USD              float64
	Comparisons      int
}

// Completion is what the CJ service said at the end.
type Completion struct {
	Completed     bool
	CJStatus      string
	HasResult     bool
	Failed        bool
	FailureReason string
}

// Hydrator is the fold's state.
type Hydrator struct {
	cfg    Batch
	essays []essay
	byWire map[string]int32 // students' wire ids (and anchors' in a run without an anchor map)
	byID   map[string]int32 // artefact ids
	byDBID map[int]int32    // the CJ service's anchor ids

	entries  entryLog
	requests map[[16]byte]struct{}
	prompts  map[uint64]struct{}
	maxOff   map[topicPartition]int64

	observed map[string]int64 // by topic kind
	outcomes map[Disposition]int64
	faults   []fault
	stopped  bool

	models     []ModelCost
	modelIdx   map[[2]string]int16
	costTotal  float64
	succeeded  int
	failed     int
	aWins      int
	slotA      []int32
	slotB      []int32
	completion Completion
	service    map[int32]float64
	result     *events.AssessmentResult // the service's own results, once they arrived
	// correlations are the correlation ids of this batch's applied
	// callbacks: a later callback carrying one is this batch's even when
	// its metadata is broken.
	correlations map[[16]byte]struct{}
	// warnings are the questionable things found, in journal order.
	warnings []string
	reason   string // the last Malformed or Suspicious record's reason

	lastSeq int64
}

type fault struct {
	kind          string
	fields        []string
	correlationID string
	requestID     string
	topic         string
	partition     int
	offset        int64
	detail        string
}

// New starts a fold for a run.
func New(cfg Batch) *Hydrator {
	h := &Hydrator{
		cfg: cfg, byWire: map[string]int32{}, byID: map[string]int32{}, requests: map[[16]byte]struct{}{}, prompts: map[uint64]struct{}{},
		maxOff: map[topicPartition]int64{}, observed: map[string]int64{}, outcomes: map[Disposition]int64{},
		modelIdx: map[[2]string]int16{}, service: map[int32]float64{}, correlations: map[[16]byte]struct{}{},
	}
	h.byDBID = map[int]int32{}
	for _, e := range cfg.Snapshot.Essays() {
		if cfg.Anchors == nil || !e.IsAnchor {
			h.byWire[e.WireID] = int32(len(h.essays))
		}
		h.byID[e.ID] = int32(len(h.essays))
		h.essays = append(h.essays, essay{id: e.ID, wire: e.WireID, isAnchor: e.IsAnchor, grade: e.Grade})
	}
	if cfg.Anchors != nil {
		for _, a := range cfg.Anchors.Anchors {
			i, ok := h.byID[a.EssayID]
			if !ok {
				// An anchor someone else registered: the service adds it to
				// the batch like the batch's own.
				i = int32(len(h.essays))
				h.byID[a.EssayID] = i
				h.essays = append(h.essays, essay{id: a.EssayID, isAnchor: true, grade: a.Grade, external: true})
			}
			h.byDBID[a.ID] = i
		}
	}
	h.slotA = make([]int32, len(h.essays))
	h.slotB = make([]int32, len(h.essays))
	return h
}

// requestSeeds key the request-id hash. It only lives in memory, so a seed
// per process is fine; 128 bits make a collision (which would drop a
// distinct callback as a duplicate) practically impossible.
var requestSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

func hash16(s string) [16]byte {
	var out [16]byte
	binary.LittleEndian.PutUint64(out[:8], maphash.String(requestSeeds[0], s))
	binary.LittleEndian.PutUint64(out[8:], maphash.String(requestSeeds[1], s))
	return out
}

// Apply folds one journal record and says what it did with it. Records must come in
// journal order.
func (h *Hydrator) Apply(rec journal.Record) Disposition {
	return h.applyDecoded(rec, nil)
}

// decoded is a record's decoding, done ahead of its fold (ApplyAll) or
// during it.
type decoded struct {
	ev   *events.Event
	err  error
	done bool
}

// Observation is what the fold reports about each record to an observer
// (metrics and logs): the record, what folding did, its decoded event (nil
// when it did not decode) and, for a metadata fault, the faulty fields.
type Observation struct {
	Record      journal.Record
	Disposition Disposition
	Event       *events.Event
	FaultFields []string
	FaultDetail string
	// Reason says why a record was quarantined (Malformed) or found
	// suspicious, naming the field that failed.
	Reason string
	// What Comparison builds from (h nil: not an applied callback).
	h   *Hydrator
	ent entry
	n   int
}

// Comparison is the artefact's record of an applied callback, numbered as
// in llm_comparisons (nil for any other record), for displays. It is built
// on demand, on any goroutine, so that the fold does not pay for it when
// nobody looks.
func (o Observation) Comparison() *artefacts.Comparison {
	if o.h == nil || o.Event == nil || o.Event.Callback == nil {
		return nil
	}
	c := o.h.comparison(o.n, o.ent, o.Record, o.Event)
	return &c
}

// parallelMin is the group size from which ApplyAll decodes in parallel.
const parallelMin = 64

// ApplyAll folds a group of records in journal order and returns each
// one's disposition. Decoding is pure, so the group is decoded on every core first and
// folded after: the fold itself stays sequential and deterministic.
func (h *Hydrator) ApplyAll(recs []journal.Record) []Disposition {
	out := make([]Disposition, len(recs))
	if len(recs) < parallelMin || runtime.GOMAXPROCS(0) < 2 {
		for i, r := range recs {
			out[i] = h.applyDecoded(r, nil)
		}
		return out
	}
	dec := make([]decoded, len(recs))
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	chunk := (len(recs) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(recs))
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				if recs[i].Quarantined == "" {
					dec[i].ev, dec[i].err = h.cfg.Topics.Decode(recs[i].Topic, recs[i].Bytes())
					dec[i].done = true
				}
			}
		}()
	}
	wg.Wait()
	for i, r := range recs {
		out[i] = h.applyDecoded(r, &dec[i])
	}
	return out
}

func (h *Hydrator) applyDecoded(rec journal.Record, d *decoded) Disposition {
	if d == nil {
		d = &decoded{}
	}
	faults := len(h.faults)
	h.reason = ""
	o := h.apply(rec, d)
	h.outcomes[o]++
	h.lastSeq = rec.Seq
	if h.cfg.Observe != nil {
		obs := Observation{Record: rec, Disposition: o, Event: d.ev, Reason: h.reason}
		if len(h.faults) > faults {
			f := h.faults[len(h.faults)-1]
			obs.FaultFields, obs.FaultDetail = f.fields, f.detail
		}
		if o == Applied && d.ev != nil && d.ev.Callback != nil && h.entries.len() > 0 {
			obs.n = h.entries.len()
			obs.h, obs.ent = h, h.entries.at(obs.n-1)
		}
		h.cfg.Observe(obs)
	}
	return o
}

func (h *Hydrator) apply(rec journal.Record, d *decoded) Disposition {
	kind := h.cfg.Topics.Kind(rec.Topic)
	h.observed[kind.String()]++
	if h.stopped {
		return AfterFault
	}
	tp := topicPartition{rec.Topic, rec.Partition}
	if last, ok := h.maxOff[tp]; ok && rec.Offset <= last {
		return Duplicate
	}
	h.maxOff[tp] = rec.Offset
	if rec.Quarantined != "" {
		h.reason = rec.Quarantined
		return Malformed
	}
	if !d.done {
		d.ev, d.err = h.cfg.Topics.Decode(rec.Topic, rec.Bytes())
		d.done = true
	}
	ev, err := d.ev, d.err
	if err != nil {
		h.reason = err.Error()
		if kind == events.KindCallback {
			return h.invalidCallback(rec, err)
		}
		return Malformed
	}
	switch {
	case ev.Callback != nil:
		return h.applyCallback(rec, ev.Callback)
	case ev.Completed != nil:
		if ev.Completed.EntityID != h.cfg.BatchUUID {
			return ForeignBatch
		}
		if h.completion.Completed {
			return Duplicate
		}
		if why := h.checkSummary(&ev.Completed.ProcessingSummary); why != "" && !ev.Completed.FailedCritically() {
			h.reason = why
			h.warnings = append(h.warnings, fmt.Sprintf("a completed event for this batch (%s partition %d offset %d) was not taken as the end: %s",
				rec.Topic, rec.Partition, rec.Offset, why))
			return Suspicious
		}
		h.completion.Completed, h.completion.CJStatus = true, ev.Completed.Status
		if ev.Completed.FailedCritically() {
			// A failed batch, though it arrives on the completed topic.
			h.completion.Failed, h.completion.FailureReason = true, ev.Completed.Reason()
		}
	case ev.Result != nil:
		if ev.Result.BatchID != h.cfg.BatchUUID {
			return ForeignBatch
		}
		if h.completion.HasResult {
			return Duplicate
		}
		if why := h.checkResult(ev.Result); why != "" {
			h.faults = append(h.faults, fault{kind: "result_mismatch", fields: []string{"essay_results"}, topic: rec.Topic, partition: rec.Partition,
				offset: rec.Offset, detail: why})
			h.stopped = true
			return MetadataFault
		}
		h.completion.HasResult = true
		h.result = ev.Result
		for _, r := range ev.Result.EssayResults {
			if i, ok := h.essayOf(r.EssayID); ok {
				h.service[i] = r.BTScore
			}
		}
	case ev.Failed != nil:
		if ev.Failed.EntityID != h.cfg.BatchUUID {
			return ForeignBatch
		}
		if h.completion.Failed {
			return Duplicate
		}
		h.completion.Failed, h.completion.FailureReason = true, ev.Failed.Reason()
	default:
		return Malformed // a request on a consumed topic: not ours to apply
	}
	return Applied
}

func (h *Hydrator) applyCallback(rec journal.Record, cb *events.ComparisonResult) Disposition {
	hint, ok := cb.BatchHint()
	if !ok {
		// Without bos_batch_id (or batch_id) the callback is this batch's
		// only when it carries an id this batch's callbacks had; otherwise
		// it cannot be attributed and is quarantined, not guessed at.
		if h.seen(cb.CorrelationID, cb.RequestID) {
			detail := "request_metadata lacks bos_batch_id"
			if len(cb.RequestMetadata) == 0 {
				detail = "request_metadata is empty"
			}
			h.faults = append(h.faults, fault{kind: "missing_metadata", fields: []string{"request_metadata"}, correlationID: cb.CorrelationID, requestID: cb.RequestID,
				topic: rec.Topic, partition: rec.Partition, offset: rec.Offset, detail: detail + ", on a callback whose correlation or request id this batch's callbacks had"})
			h.stopped = true
			return MetadataFault
		}
		h.reason = "request_metadata has no bos_batch_id: the callback cannot be attributed to a batch"
		return Malformed
	}
	if hint != h.cfg.BatchUUID {
		return ForeignBatch
	}
	rid := hash16(cb.RequestID)
	if _, dup := h.requests[rid]; dup {
		return Duplicate
	}
	fields := cb.MetadataFaults()
	detail := ""
	a, aok := h.essayOf(cb.EssayAID())
	b, bok := h.essayOf(cb.EssayBID())
	if cb.EssayAID() != "" && !aok {
		fields = appendField(fields, events.MetaEssayA)
		detail = h.unknownEssay("essay_a_id", cb.EssayAID())
	}
	if cb.EssayBID() != "" && !bok {
		fields = appendField(fields, events.MetaEssayB)
		detail = joinDetail(detail, h.unknownEssay("essay_b_id", cb.EssayBID()))
	}
	if aok && bok && a == b {
		fields = appendField(fields, events.MetaEssayB)
		detail = joinDetail(detail, "essay_a_id and essay_b_id are the same essay")
	}
	if len(fields) > 0 {
		if detail == "" {
			detail = "request_metadata lacks " + joinFields(fields)
			if h := cb.PromptHash(); h != "" && !events.ValidPromptSHA256(h) {
				detail = fmt.Sprintf("request_metadata has an invalid prompt_sha256 %q", h)
			}
		}
		h.faults = append(h.faults, fault{kind: "missing_metadata", fields: fields, correlationID: cb.CorrelationID, requestID: cb.RequestID,
			topic: rec.Topic, partition: rec.Partition, offset: rec.Offset, detail: detail})
		h.stopped = true
		return MetadataFault
	}
	h.requests[rid] = struct{}{}
	h.correlations[hash16(cb.CorrelationID)] = struct{}{}
	// Distinct prompts are counted by the hash's first 64 bits: among a
	// million prompts a collision is about one in 30 million.
	if ph, err := hex.DecodeString(cb.PromptHash()[:16]); err == nil {
		h.prompts[binary.BigEndian.Uint64(ph)] = struct{}{}
	}
	key := [2]string{cb.Provider, cb.Model}
	pm, ok := h.modelIdx[key]
	if !ok {
		pm = int16(len(h.models))
		h.modelIdx[key] = pm
		h.models = append(h.models, ModelCost{Provider: cb.Provider, Model: cb.Model})
	}
	e := entry{seq: rec.Seq, a: a, b: b, win: -1, pm: pm,
		tokP: int32(cb.TokenUsage.PromptTokens), tokC: int32(cb.TokenUsage.CompletionTokens), cost: cb.CostEstimate}
	if cb.Succeeded() {
		e.win = 0
		if *cb.Winner == events.WinnerA {
			e.win = 1
			h.aWins++
		}
		h.succeeded++
	} else {
		h.failed++
	}
	m := &h.models[pm]
	m.PromptTokens += int64(e.tokP)
	m.CompletionTokens += int64(e.tokC)
	m.USD += e.cost
	m.Comparisons++
	h.costTotal += e.cost
	h.slotA[a]++
	h.slotB[b]++
	h.entries.add(e)
	return Applied
}

// seen reports whether a callback of this batch had this correlation or
// request id.
func (h *Hydrator) seen(correlationID, requestID string) bool {
	if correlationID != "" {
		if _, ok := h.correlations[hash16(correlationID)]; ok {
			return true
		}
	}
	if requestID != "" {
		if _, ok := h.requests[hash16(requestID)]; ok {
			return true
		}
	}
	return false
}

// invalidCallback folds a callback message that does not decode: when it
// is attributable to this batch (its batch hint, or an id this batch's
// callbacks had) it is a hard fault naming the field that failed, like a
// missing essay id; otherwise it is quarantined.
func (h *Hydrator) invalidCallback(rec journal.Record, err error) Disposition {
	at := events.AttributeCallback(rec.Bytes())
	if at.Batch != "" && at.Batch != h.cfg.BatchUUID {
		return ForeignBatch
	}
	if at.Batch != h.cfg.BatchUUID && !h.seen(at.CorrelationID, at.RequestID) {
		return Malformed
	}
	field := "data"
	var de *events.DecodeError
	if errors.As(err, &de) && de.Field != "" {
		field = strings.TrimPrefix(de.Field, "data.")
	}
	h.faults = append(h.faults, fault{kind: "invalid_callback", fields: []string{field}, correlationID: at.CorrelationID, requestID: at.RequestID,
		topic: rec.Topic, partition: rec.Partition, offset: rec.Offset, detail: "this batch's callback fails validation: " + err.Error()})
	h.stopped = true
	return MetadataFault
}

// checkSummary says how a completed event's processing_summary disagrees
// with the batch ("" when it agrees or says nothing): its total must be the
// number of students, its ids the students', its counts its lists'.
func (h *Hydrator) checkSummary(ps *events.ProcessingSummary) string {
	if ps.TotalEssays == 0 && ps.Successful == 0 && ps.Failed == 0 && len(ps.SuccessfulEssayIDs) == 0 && len(ps.FailedEssayIDs) == 0 {
		return "" // no summary
	}
	students := len(h.cfg.Snapshot.Students)
	if ps.TotalEssays != students {
		return fmt.Sprintf("processing_summary.total_essays is %d, the batch has %d students", ps.TotalEssays, students)
	}
	seen := map[string]bool{}
	for _, list := range [][]string{ps.SuccessfulEssayIDs, ps.FailedEssayIDs} {
		for _, id := range list {
			i, ok := h.byWire[id]
			if !ok || h.essays[i].isAnchor {
				return fmt.Sprintf("processing_summary names %q, which is not a student of this batch", id)
			}
			if seen[id] {
				return fmt.Sprintf("processing_summary names %q twice", id)
			}
			seen[id] = true
		}
	}
	if len(ps.SuccessfulEssayIDs)+len(ps.FailedEssayIDs) > 0 {
		if ps.Successful != len(ps.SuccessfulEssayIDs) || ps.Failed != len(ps.FailedEssayIDs) {
			return fmt.Sprintf("processing_summary counts %d successful and %d failed but lists %d and %d", ps.Successful, ps.Failed,
				len(ps.SuccessfulEssayIDs), len(ps.FailedEssayIDs))
		}
		if len(seen) != students {
			return fmt.Sprintf("processing_summary lists %d of the batch's %d students", len(seen), students)
		}
	}
	return ""
}

// checkResult says how a result event disagrees with the batch ("" when
// it agrees): it must name every student of the batch, and nothing but the
// batch's students and the anchors the CJ service listed for the
// assignment.
func (h *Hydrator) checkResult(r *events.AssessmentResult) string {
	got := map[int32]bool{}
	var unknown []string
	for _, e := range r.EssayResults {
		i, ok := h.essayOf(e.EssayID)
		if !ok {
			unknown = append(unknown, e.EssayID)
			continue
		}
		got[i] = true
	}
	if len(unknown) > 0 {
		if len(unknown) > 3 {
			unknown = append(unknown[:3], fmt.Sprintf("and %d more", len(unknown)-3))
		}
		return fmt.Sprintf("the result for this batch names essays that are not in it: %s", strings.Join(unknown, ", "))
	}
	var missing []string
	for i, e := range h.essays {
		if !e.isAnchor && !got[int32(i)] {
			missing = append(missing, e.wire)
		}
	}
	if len(missing) > 0 {
		n := len(missing)
		if n > 3 {
			missing = append(missing[:3], fmt.Sprintf("and %d more", n-3))
		}
		return fmt.Sprintf("the result for this batch lacks %d of its students: %s", n, strings.Join(missing, ", "))
	}
	return ""
}

func appendField(fields []string, f string) []string {
	for _, x := range fields {
		if x == f {
			return fields
		}
	}
	fields = append(fields, f)
	sort.Strings(fields)
	return fields
}

func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func joinFields(fields []string) string {
	out := ""
	for i, f := range fields {
		if i > 0 {
			out += ", "
		}
		out += f
	}
	return out
}

// Warnings are what the fold found questionable without stopping: completed
// events that disagree with the batch, more successful comparisons than the
// CJ service's budget.
func (h *Hydrator) Warnings() []string {
	out := append([]string(nil), h.warnings...)
	if e := h.cfg.Expected; e > 0 && h.succeeded > e {
		out = append(out, fmt.Sprintf("%d successful comparisons, more than the %d the CJ service was to make: check the service's budget and the callbacks' origin", h.succeeded, e))
	}
	return out
}

// Completion reports the CJ service's completion events seen so far.
func (h *Hydrator) Completion() Completion { return h.completion }

// Faulted reports whether a hard metadata fault stopped the fold.
func (h *Hydrator) Faulted() bool { return h.stopped }

// LastSeq is the journal sequence number of the last record folded.
func (h *Hydrator) LastSeq() int64 { return h.lastSeq }
