package devstack

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"eng5np/events"
	"eng5np/inputs"
)

// BenchmarkCallbackThroughput measures how many callbacks per second the
// stack produces with zero mock latency: a 200-essay batch with a budget of
// 2,000 comparisons runs end to end (20 waves of 100 pairs, a Bradley–Terry
// refit after each), read back by a client over TCP.
func BenchmarkCallbackThroughput(b *testing.B) {
	batch := &inputs.Batch{Config: inputs.BatchFile{AssignmentID: "3c2f9a4e-6b1d-4e8a-9f27-5d0c8b1e7a64"}}
	batch.Instructions.Text = "Write an argumentative text."
	batch.Prompt.Text = "Pick the better essay."
	for i := 0; i < 200; i++ {
		text := fmt.Sprintf("Essay %d. %s", i, strings.Repeat("A later start would help students sleep and learn. ", 10+i%40))
		batch.Students = append(batch.Students, inputs.Student{ID: fmt.Sprintf("s%03d", i), WireID: fmt.Sprintf("S%03d", i), Document: inputs.Document{Text: text}})
	}
	const budget = 2000
	var total int
	var elapsed time.Duration
	for b.Loop() {
		s := startStack(b, Options{Seed: 1, GroundTruth: map[string]float64{}})
		c := &client{t: b, s: s, topics: events.NewTopics(events.DefaultTopicPrefix)}
		start := time.Now()
		id, offs := c.submit(batch, budget)
		col := c.collect(id, offs, 5*time.Minute, 0)
		elapsed += time.Since(start)
		if len(col.callbacks) != budget || col.result == nil {
			b.Fatalf("%d callbacks, result %v", len(col.callbacks), col.result != nil)
		}
		total += len(col.callbacks)
		s.Close()
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "callbacks/s")
}
