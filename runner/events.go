package runner

import (
	"time"

	"eng5np/artefacts"
	"eng5np/hydrator"
)

// Event is what a run reports while it works. Displays (the dashboard, the
// plain lines) and metrics all receive the same events through one
// Reporter; each takes what it needs and ignores the rest.
type Event interface{ event() }

// Reporter receives a run's events. Report must not block for long: the
// capture loop calls it.
type Reporter interface{ Report(Event) }

// ReporterFunc adapts a function.
type ReporterFunc func(Event)

// Report calls f.
func (f ReporterFunc) Report(e Event) { f(e) }

// Reporters reports every event to each of its non-nil reporters, in order.
type Reporters []Reporter

// Report passes e on.
func (rs Reporters) Report(e Event) {
	for _, r := range rs {
		if r != nil {
			r.Report(e)
		}
	}
}

// Phase is a step of execute or resume.
type Phase string

// The phases, in order.
const (
	PhasePreparing  Phase = "preparing"
	PhaseUploading  Phase = "uploading"
	PhaseRegister   Phase = "registering anchors"
	PhasePublishing Phase = "publishing"
	PhaseCapturing  Phase = "capturing"
	PhaseWriting    Phase = "writing artefact"
)

// Phases lists the phases in order.
var Phases = []Phase{PhasePreparing, PhaseUploading, PhaseRegister, PhasePublishing, PhaseCapturing, PhaseWriting}

// PhaseEvent marks the start of a phase.
type PhaseEvent struct {
	Phase  Phase
	Detail string
	At     time.Time
}

// ProgressEvent is the state of a capture in progress. Displays may
// coalesce or drop them under load; every other event must be delivered.
type ProgressEvent struct{ Progress Progress }

// FinishedEvent ends a run; it is always the last event.
type FinishedEvent struct{ Summary Summary }

// CaptureStartedEvent opens a capture session (1 for execute, then one more
// per resume). The session then refolds the whole journal, so every
// RecordEvent of the run follows, the earlier sessions' with Current false.
type CaptureStartedEvent struct{ Capture int }

// Disposition is what folding did with a record.
type Disposition string

// The dispositions.
const (
	Applied       Disposition = "applied"
	Duplicate     Disposition = "duplicate"
	ForeignBatch  Disposition = "foreign_batch"
	Malformed     Disposition = "malformed"
	MetadataFault Disposition = "metadata_fault"
	AfterFault    Disposition = "after_fault"
	Suspicious    Disposition = "suspicious"
)

// Dispositions lists them all.
var Dispositions = []Disposition{Applied, Duplicate, ForeignBatch, Malformed, MetadataFault, AfterFault, Suspicious}

// RecordEvent reports one journal record folded, in journal order.
type RecordEvent struct {
	Topic       string
	Disposition Disposition
	// Current is true for a record read by this capture session, false for
	// one refolded from the journal of an earlier session.
	Current bool
	// FaultFields names the fields of a metadata fault.
	FaultFields []string
	// Comparison describes an applied callback.
	Comparison *ComparisonRecord
	// Source is where the record was read; Seq its journal line.
	Source artefacts.RecordSource
	Seq    int64
	// CorrelationID is the record's (the callback's, or the envelope's).
	CorrelationID string
	// Reason says why the record was quarantined, found suspicious or
	// faulted.
	Reason string
	// Record is the artefact's record of an applied callback (essays,
	// winner, confidence, justification, tokens, cost, prompt hash,
	// timings), for displays that inspect comparisons. The capture loop
	// leaves it nil; Details builds it, on the display's goroutine.
	Record *artefacts.Comparison
	obs    *hydrator.Observation // what Details builds from (applied callbacks)
}

// Details returns Record, building it first when the event was reported
// without it.
func (e *RecordEvent) Details() *artefacts.Comparison {
	if e.Record == nil && e.obs != nil {
		e.Record = e.obs.Comparison()
	}
	return e.Record
}

// NewRecordEvent is the event for one folded record; current says whether
// this capture read it (not a refold of an earlier one).
func NewRecordEvent(o hydrator.Observation, current bool) RecordEvent {
	rec := o.Record
	ev := RecordEvent{Topic: rec.Topic, Disposition: Disposition(o.Disposition.String()), Current: current, FaultFields: o.FaultFields,
		Source: artefacts.RecordSource{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset}, Seq: rec.Seq,
		Reason: o.Reason}
	if o.FaultDetail != "" {
		ev.Reason = o.FaultDetail
	}
	if o.Event != nil {
		switch {
		case o.Event.Callback != nil:
			ev.CorrelationID = o.Event.Callback.CorrelationID
		case o.Event.Envelope != nil:
			ev.CorrelationID = o.Event.Envelope.CorrelationID
		}
	}
	if o.Disposition == hydrator.Applied && o.Event != nil && o.Event.Callback != nil {
		ev.obs = &o
		cb := o.Event.Callback
		ev.Comparison = &ComparisonRecord{Succeeded: cb.Succeeded(), Provider: cb.Provider, Model: cb.Model,
			PromptTokens: int64(cb.TokenUsage.PromptTokens), CompletionTokens: int64(cb.TokenUsage.CompletionTokens),
			CostUSD: cb.CostEstimate, CompletedAt: cb.CompletedAt.Time}
	}
	return ev
}

// ComparisonRecord is what an applied callback added to the run.
type ComparisonRecord struct {
	Succeeded        bool
	Provider         string
	Model            string
	PromptTokens     int64
	CompletionTokens int64
	CostUSD          float64
	CompletedAt      time.Time // zero when the callback did not say
}

// ArtefactWrittenEvent reports one artefact write (live or final).
type ArtefactWrittenEvent struct {
	Duration time.Duration
	Err      error
}

func (PhaseEvent) event()           {}
func (ProgressEvent) event()        {}
func (FinishedEvent) event()        {}
func (CaptureStartedEvent) event()  {}
func (RecordEvent) event()          {}
func (ArtefactWrittenEvent) event() {}
