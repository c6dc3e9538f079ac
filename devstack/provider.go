package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/segmentio/kafka-go"

	"eng5np/config"
	"eng5np/events"
	"eng5np/fault"
)

// ProviderSource is the source_service of the provider's callbacks.
const ProviderSource = "llm_provider_service"

// comparisonJob is one pair sent by the CJ service to the LLM provider.
type comparisonJob struct {
	CorrelationID string
	Wave          int
	A, B          string // wire ids, A shown first
	TextA, TextB  string
	Instructions  string
	Rubric        string
	Provider      string
	Model         string
	// Metadata is the caller's request metadata, echoed in the callback.
	Metadata map[string]any
}

// provider is the mock LLM provider: it formats the prompt, asks the judge,
// and publishes exactly one callback per job (plus whatever the transport
// faults add) after a seeded latency.
type provider struct {
	seed      int64
	latency   time.Duration
	lateDelay time.Duration
	faults    fault.Set
	pricing   config.Pricing
	judge     *judge
	topic     string
	out       *kafka.Writer
	log       *slog.Logger
	metrics   *stackMetrics

	ctx context.Context
	wg  sync.WaitGroup
}

// responseInstructions close every prompt.
const responseInstructions = `Compare the two essays against the assignment and rubric above.
Respond with JSON only: {"winner": "Essay A" or "Essay B", "confidence": a number from 1 (a toss-up) to 5 (an obvious difference), "justification": at most 50 words}.`

// formatPrompt builds the provider-formatted prompt from its blocks; its
// sha256 is the callback's prompt_sha256.
func formatPrompt(job comparisonJob) string {
	var b strings.Builder
	b.WriteString("## Assignment and rubric\n\n")
	b.WriteString(strings.TrimSpace(job.Instructions))
	b.WriteString("\n\n")
	b.WriteString(strings.TrimSpace(job.Rubric))
	b.WriteString("\n\n## Essay A\n\n")
	b.WriteString(strings.TrimSpace(job.TextA))
	b.WriteString("\n\n## Essay B\n\n")
	b.WriteString(strings.TrimSpace(job.TextB))
	b.WriteString("\n\n## Response instructions\n\n")
	b.WriteString(responseInstructions)
	b.WriteString("\n")
	return b.String()
}

func (p *provider) hit(name string, job comparisonJob) bool {
	r := p.faults.Rate(name)
	return r > 0 && unit(p.seed, "fault", name, itoa(job.Wave), job.A, job.B) < r
}

// submit answers a job in the background; all jobs of a wave run at once.
func (p *provider) submit(job comparisonJob) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.answer(job)
	}()
}

func (p *provider) wait() { p.wg.Wait() }

func (p *provider) sleep(d time.Duration) bool {
	if d <= 0 {
		return p.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.ctx.Done():
		return false
	}
}

func (p *provider) answer(job comparisonJob) {
	requested := time.Now().UTC()
	prompt := formatPrompt(job)
	// Jitter is up to half the latency, from its own seeded stream.
	jitter := time.Duration(unit(p.seed, "jitter", itoa(job.Wave), job.A, job.B) * float64(p.latency) / 2)
	if !p.sleep(p.latency + jitter) {
		return
	}
	cb := p.callback(job, prompt, requested)
	env, err := events.NewEnvelope(events.CallbackEventType, ProviderSource, job.CorrelationID, cb, nil, time.Now())
	if err != nil {
		p.log.Error("encode callback", "error", err)
		return
	}
	value, _ := env.Encode()
	msgs := []kafka.Message{{Key: []byte(job.CorrelationID), Value: value}}
	if p.hit(fault.Duplicate, job) {
		msgs = append(msgs, msgs[0])
		p.metrics.fault(fault.Duplicate)
	}
	if p.hit(fault.Malformed, job) {
		msgs = append(msgs, kafka.Message{Key: []byte(job.CorrelationID), Value: []byte(`{"event_type": "LLMComparisonResultV1", "data": {"request_id": ` + "\x00 truncated")})
		p.metrics.fault(fault.Malformed)
	}
	if p.hit(fault.ForeignBatch, job) {
		msgs = append(msgs, p.foreign(job, prompt, requested))
		p.metrics.fault(fault.ForeignBatch)
	}
	if p.hit(fault.Late, job) {
		p.metrics.fault(fault.Late)
		if !p.sleep(p.lateDelay) {
			return
		}
	}
	for i := range msgs {
		msgs[i].Topic = p.topic
	}
	p.publish(msgs)
	p.metrics.callbackPublished(cb, time.Since(requested))
}

// publish retries until the broker takes the messages or the stack stops, so
// that a broker restart delays callbacks instead of losing them.
func (p *provider) publish(msgs []kafka.Message) {
	for attempt := 0; ; attempt++ {
		err := p.out.WriteMessages(p.ctx, msgs...)
		if err == nil || p.ctx.Err() != nil {
			return
		}
		p.log.Warn("publish callback failed; retrying", "error", err, "attempt", attempt+1)
		if !p.sleep(time.Duration(min(attempt+1, 10)) * 100 * time.Millisecond) {
			return
		}
	}
}

func (p *provider) callback(job comparisonJob, prompt string, requested time.Time) *events.ComparisonResult {
	requestID := uuid.NewString()
	meta := make(map[string]any, len(job.Metadata)+3)
	for k, v := range job.Metadata {
		meta[k] = v
	}
	// The provider adds its own keys and never overwrites the caller's.
	own := map[string]any{events.MetaPromptHash: events.PromptSHA256(prompt), "provider_request_id": requestID, "llm_provider": config.MockProvider}
	for k, v := range own {
		if _, taken := meta[k]; !taken {
			meta[k] = v
		}
	}
	for _, f := range []struct{ name, key string }{
		{fault.DropEssayAID, events.MetaEssayA}, {fault.DropEssayBID, events.MetaEssayB}, {fault.DropPromptSHA256, events.MetaPromptHash},
	} {
		if p.hit(f.name, job) {
			delete(meta, f.key)
			p.metrics.fault(f.name)
		}
	}
	cb := &events.ComparisonResult{
		RequestID:       requestID,
		CorrelationID:   job.CorrelationID,
		Provider:        job.Provider,
		Model:           job.Model,
		RequestedAt:     events.Time{Time: requested},
		RequestMetadata: meta,
	}
	promptTokens := config.EstimateTokens(prompt)
	price, priced := p.pricing.Lookup(job.Provider, job.Model)
	switch {
	case job.Provider != config.MockProvider:
		cb.ErrorDetail = &events.ErrorDetail{ErrorCode: "PROVIDER_UNAVAILABLE",
			Message: fmt.Sprintf("provider %q is not available in the embedded stack, which serves only %q; set llm_provider: mock", job.Provider, config.MockProvider)}
	case p.hit(fault.ProviderError, job):
		// The provider read the prompt, then failed: the input tokens are billed.
		retry := true
		cb.ErrorDetail = &events.ErrorDetail{ErrorCode: "PROVIDER_ERROR", Message: "the model endpoint returned 529 overloaded (injected by the provider_error fault)", Retryable: &retry}
		cb.TokenUsage = events.TokenUsage{PromptTokens: int64(promptTokens), TotalTokens: int64(promptTokens)}
		p.metrics.fault(fault.ProviderError)
	default:
		qa, _ := p.judge.quality(job.A, job.TextA)
		qb, _ := p.judge.quality(job.B, job.TextB)
		v := p.judge.decide(job.Wave, job.A, job.B, qa, qb)
		winner := events.WinnerB
		if v.aWins {
			winner = events.WinnerA
		}
		cb.Winner = &winner
		conf := v.confidence
		cb.Confidence = &conf
		cb.Justification = justification(v, job.TextA, job.TextB)
		answer, _ := json.Marshal(map[string]any{"winner": winner, "confidence": conf, "justification": cb.Justification})
		completion := config.EstimateTokens(string(answer))
		cb.TokenUsage = events.TokenUsage{PromptTokens: int64(promptTokens), CompletionTokens: int64(completion), TotalTokens: int64(promptTokens + completion)}
	}
	if priced {
		cb.CostEstimate = math.Round(price.Cost(int(cb.TokenUsage.PromptTokens), int(cb.TokenUsage.CompletionTokens))*1e9) / 1e9
	}
	now := time.Now().UTC()
	cb.CompletedAt = events.Time{Time: now}
	cb.ResponseTimeMS = now.Sub(requested).Milliseconds()
	return cb
}

// foreign builds the extra callback of the foreign_batch fault: a valid
// callback that belongs to another batch.
func (p *provider) foreign(job comparisonJob, prompt string, requested time.Time) kafka.Message {
	other := job
	other.CorrelationID = uuid.NewString()
	other.Metadata = map[string]any{}
	for k, v := range job.Metadata {
		other.Metadata[k] = v
	}
	other.Metadata[events.MetaBatch] = foreignBatchID
	other.Metadata[events.MetaEssayA] = "FOREIGN_ESSAY_A"
	other.Metadata[events.MetaEssayB] = "FOREIGN_ESSAY_B"
	cb := p.callback(other, prompt, requested)
	env, _ := events.NewEnvelope(events.CallbackEventType, ProviderSource, other.CorrelationID, cb, nil, time.Now())
	value, _ := env.Encode()
	return kafka.Message{Key: []byte(other.CorrelationID), Value: value}
}

// foreignBatchID is the batch the foreign_batch fault's callbacks claim.
const foreignBatchID = "00000000-0000-4000-8000-0000000f0e19"
