package capture

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"eng5np/hydrator"
	"eng5np/internal/benchgen"
	"eng5np/journal"
)

// BenchmarkCaptureJournalHydrate measures the runner's capture path on
// 100,000 pre-produced callbacks of one batch (3 partitions) plus its
// completion: partition readers over TCP, group-committed fsync'd journal
// appends, and the hydrator fold.
func BenchmarkCaptureJournalHydrate(b *testing.B) {
	const n = 100_000
	br, err := benchgen.NewBroker("..", n, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	snap, topics, batchUUID := br.Snapshot, br.Topics, benchgen.BatchUUID
	conn := Conn{Bootstrap: br.Bootstrap()}
	ctx := context.Background()
	start := benchgen.StartOffsets(topics)

	b.SetBytes(br.Bytes)
	var elapsed time.Duration
	for b.Loop() {
		jo, err := journal.Open(filepath.Join(b.TempDir(), "journal.jsonl"), false)
		if err != nil {
			b.Fatal(err)
		}
		h := hydrator.New(hydrator.Batch{Snapshot: snap, BatchUUID: batchUUID, Topics: topics})
		applied := 0
		s := &Session{Conn: conn, From: start, Journal: jo.Writer, Capture: 1}
		t0 := time.Now()
		if err := s.Start(ctx); err != nil {
			b.Fatal(err)
		}
		for recs := range s.Groups() {
			h.ApplyAll(recs)
			applied += len(recs)
			if applied == n+2 {
				break
			}
		}
		if c := h.Completion(); !c.Completed || !c.HasResult || h.Faulted() {
			b.Fatalf("the batch did not complete: %+v, faults %v", c, h.Stats().Faults)
		}
		if _, err := s.Stop(); err != nil {
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
