// Package benchgen generates realistic event streams for the capture
// benchmarks: many valid, distinct comparison callbacks of one batch, then
// its completion and result.
package benchgen

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"eng5np/events"
)

// Stream is a generated batch of events.
type Stream struct {
	Callbacks [][]byte
	Completed []byte
	Result    []byte
}

// Generate returns n callbacks of batch over the essays (wire ids), numbered
// from first (request ids and correlation ids are distinct across calls with
// disjoint ranges): random pairs, realistic sizes (about 1 KB each), one in
// twenty a provider error, then the completed and result events.
func Generate(topics events.Topics, batch string, essays []string, first, n int, seed uint64) (*Stream, error) {
	r := rand.New(rand.NewPCG(seed, 1))
	s := &Stream{Callbacks: make([][]byte, 0, n)}
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i := first; i < first+n; i++ {
		a := essays[r.IntN(len(essays))]
		b := essays[r.IntN(len(essays))]
		for b == a {
			b = essays[r.IntN(len(essays))]
		}
		corr := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, r.Uint64()&0xffffffffffff)
		cb := events.ComparisonResult{
			RequestID: fmt.Sprintf("req-%09d", i), CorrelationID: corr, Provider: "mock", Model: "mock-judge-small",
			ResponseTimeMS: int64(20 + r.IntN(40)),
			TokenUsage:     events.TokenUsage{PromptTokens: int64(1200 + r.IntN(200)), CompletionTokens: int64(40 + r.IntN(20))},
			RequestedAt:    events.Time{Time: at}, CompletedAt: events.Time{Time: at.Add(30 * time.Millisecond)},
			RequestMetadata: map[string]any{events.MetaEssayA: a, events.MetaEssayB: b, events.MetaBatch: batch,
				events.MetaCJBatch: "cj-job", events.MetaRequestType: "comparison", events.MetaIteration: i / 18,
				events.MetaPromptHash: fmt.Sprintf("%016x%016x%016x%016x", r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64())},
		}
		cb.TokenUsage.TotalTokens = cb.TokenUsage.PromptTokens + cb.TokenUsage.CompletionTokens
		cb.CostEstimate = float64(cb.TokenUsage.PromptTokens)*0.8e-6 + float64(cb.TokenUsage.CompletionTokens)*4e-6
		if i%20 == 19 {
			cb.ErrorDetail = &events.ErrorDetail{ErrorCode: "PROVIDER_ERROR", Message: "upstream overloaded"}
		} else {
			w, c := events.WinnerA, 3.2
			if r.IntN(2) == 0 {
				w = events.WinnerB
			}
			cb.Winner, cb.Confidence = &w, &c
			cb.Justification = "Essay " + w[len(w)-1:] + " develops its argument more fully and uses a wider and more precise vocabulary. Overall a clear difference."
		}
		env, err := events.NewEnvelope(events.CallbackEventType, "llm_provider_service", corr, cb, nil, at)
		if err != nil {
			return nil, err
		}
		v, err := env.Encode()
		if err != nil {
			return nil, err
		}
		s.Callbacks = append(s.Callbacks, v)
	}
	completed, _ := events.NewEnvelope(topics.Completed(), "cj", "4f1e2d3c-5b6a-4798-8a7b-6c5d4e3f2a1b",
		events.CJCompleted{EventName: events.CompletedEventName, EntityID: batch, Status: events.StatusCompleted}, nil, at)
	// The result names every essay, as the CJ service's does (the runner
	// checks it against the batch).
	rows := make([]events.EssayResult, 0, len(essays))
	for i, id := range essays {
		rows = append(rows, events.EssayResult{EssayID: id, Rank: i + 1, IsAnchor: strings.HasPrefix(id, "ANCHOR_")})
	}
	result, _ := events.NewEnvelope(topics.Result(), "cj", "4f1e2d3c-5b6a-4798-8a7b-6c5d4e3f2a1b",
		events.AssessmentResult{BatchID: batch, EssayResults: rows}, nil, at)
	var err error
	if s.Completed, err = json.Marshal(completed); err != nil {
		return nil, err
	}
	if s.Result, err = json.Marshal(result); err != nil {
		return nil, err
	}
	return s, nil
}
