package capture

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"eng5np/events"
	"eng5np/hydrator"
	"eng5np/inputs"
	"eng5np/internal/benchgen"
	"eng5np/journal"
)

// BenchmarkCaptureJournalHydrate measures the runner's capture path on
// 100,000 pre-produced callbacks of one batch (3 partitions) plus its
// completion: partition readers over TCP, group-committed fsync'd journal
// appends, and the hydrator fold.
func BenchmarkCaptureJournalHydrate(b *testing.B) {
	const n = 100_000
	batch, err := inputs.Load("../examples/sample", inputs.Options{})
	if err != nil {
		b.Fatal(err)
	}
	snap := batch.Snapshot()
	var wires []string
	for _, e := range snap.Essays() {
		wires = append(wires, e.WireID)
	}
	topics := events.NewTopics(events.DefaultTopicPrefix)
	const batchUUID = "5b0e6f5c-9a43-4b3e-8d2a-1c7f0e9b8a66"
	stream, err := benchgen.Generate(topics, batchUUID, wires, n, 1)
	if err != nil {
		b.Fatal(err)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topics.ComparisonResult()),
		kfake.SeedTopics(1, topics.Completed(), topics.Result(), topics.Failed()))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	conn := Conn{Bootstrap: c.ListenAddrs()}
	ctx := context.Background()
	start, err := EndOffsets(ctx, conn, topics.Consumed())
	if err != nil {
		b.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(conn.Bootstrap...), Balancer: &kafka.RoundRobin{}, BatchSize: 1000, BatchTimeout: time.Millisecond}
	msgs := make([]kafka.Message, 0, n)
	var bytes int64
	for _, v := range stream.Callbacks {
		msgs = append(msgs, kafka.Message{Topic: topics.ComparisonResult(), Value: v})
		bytes += int64(len(v))
	}
	msgs = append(msgs, kafka.Message{Topic: topics.Completed(), Value: stream.Completed}, kafka.Message{Topic: topics.Result(), Value: stream.Result})
	for i := 0; i < len(msgs); i += 5000 {
		if err := w.WriteMessages(ctx, msgs[i:min(i+5000, len(msgs))]...); err != nil {
			b.Fatal(err)
		}
	}
	w.Close()

	b.SetBytes(bytes)
	var elapsed time.Duration
	for b.Loop() {
		jo, err := journal.Open(filepath.Join(b.TempDir(), "journal.jsonl"), false)
		if err != nil {
			b.Fatal(err)
		}
		h := hydrator.New(hydrator.Config{Snapshot: snap, BatchUUID: batchUUID, Topics: topics})
		applied := 0
		s := &Session{Conn: conn, Start: start, Journal: jo.Writer, Capture: 1, TickEvery: time.Second,
			Apply: func(recs []journal.Record) bool {
				h.ApplyAll(recs)
				applied += len(recs)
				c := h.Completion()
				return applied == n+2 && c.Completed && c.HasResult
			}}
		t0 := time.Now()
		if err := s.Run(ctx); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(t0)
		if st := h.Stats(); st.Comparisons != n {
			b.Fatalf("%d comparisons applied, want %d", st.Comparisons, n)
		}
		jo.Writer.Close()
	}
	b.ReportMetric(float64((n+2)*b.N)/elapsed.Seconds(), "events/s")
}
