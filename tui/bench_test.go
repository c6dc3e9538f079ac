package tui

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"eng5np/capture"
	"eng5np/events"
	"eng5np/hydrator"
	"eng5np/inputs"
	"eng5np/internal/benchgen"
	"eng5np/journal"
	"eng5np/runner"
)

// BenchmarkCaptureWithDashboard compares capture throughput with the live
// dashboard attached against headless: 100,000 pre-produced callbacks are
// captured (journal, fold, a progress snapshot with a ranking refit every
// 250 ms) and the snapshots go either nowhere or through the bridge to a
// running Bubble Tea program drawing the live view at 120×40.
func BenchmarkCaptureWithDashboard(b *testing.B) {
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
	stream, err := benchgen.Generate(topics, batchUUID, wires, n, 3)
	if err != nil {
		b.Fatal(err)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topics.ComparisonResult()), kfake.SeedTopics(1, topics.Completed(), topics.Result(), topics.Failed()))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	conn := capture.Conn{Bootstrap: c.ListenAddrs()}
	ctx := context.Background()
	start, err := capture.EndOffsets(ctx, conn, topics.Consumed())
	if err != nil {
		b.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(conn.Bootstrap...), Balancer: &kafka.RoundRobin{}, BatchSize: 1000, BatchTimeout: time.Millisecond}
	var msgs []kafka.Message
	for _, v := range stream.Callbacks {
		msgs = append(msgs, kafka.Message{Topic: topics.ComparisonResult(), Value: v})
	}
	msgs = append(msgs, kafka.Message{Topic: topics.Completed(), Value: stream.Completed}, kafka.Message{Topic: topics.Result(), Value: stream.Result})
	for i := 0; i < len(msgs); i += 5000 {
		if err := w.WriteMessages(ctx, msgs[i:min(i+5000, len(msgs))]...); err != nil {
			b.Fatal(err)
		}
	}
	w.Close()

	capture1 := func(b *testing.B, rep runner.Reporter) time.Duration {
		jo, err := journal.Open(filepath.Join(b.TempDir(), "journal.jsonl"), false)
		if err != nil {
			b.Fatal(err)
		}
		defer jo.Writer.Close()
		h := hydrator.New(hydrator.Config{Snapshot: snap, BatchUUID: batchUUID, Topics: topics})
		applied := 0
		var ranking []hydrator.Ranked
		var lastRank time.Time
		t0 := time.Now()
		s := &capture.Session{Conn: conn, Start: start, Journal: jo.Writer, Capture: 1, TickEvery: 250 * time.Millisecond,
			Apply: func(recs []journal.Record) bool {
				h.ApplyAll(recs)
				applied += len(recs)
				return applied == n+2
			},
			Tick: func(now time.Time) bool {
				if now.Sub(lastRank) >= time.Second {
					ranking, _ = h.Ranking()
					lastRank = now
				}
				rep.Report(runner.ProgressEvent{Snapshot: runner.Snapshot{BatchLabel: "bench", BatchUUID: batchUUID, Broker: conn.String(),
					Started: t0, Deadline: t0.Add(time.Hour), Now: now, Expected: n, Stats: h.Stats(), Ranking: ranking}})
				return false
			}}
		if err := s.Run(ctx); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}

	var headless, attached time.Duration
	for b.Loop() {
		headless += capture1(b, runner.ReporterFunc(func(runner.Event) {}))

		m, br := NewModel(ctx, newFake(passAll()...), Options{Info: Info{BatchLabel: "bench"}})
		m.screen, m.started, m.width, m.height = screenLive, true, 120, 40
		p := tea.NewProgram(m, tea.WithInput(nil), tea.WithOutput(io.Discard), tea.WithWindowSize(120, 40))
		br.Start(p.Send)
		go func() { _, _ = p.Run() }()
		attached += capture1(b, br.b)
		p.Quit()
		p.Wait()
		br.Close()
	}
	hl := float64(n*b.N) / headless.Seconds()
	at := float64(n*b.N) / attached.Seconds()
	b.ReportMetric(hl, "headless_events/s")
	b.ReportMetric(at, "dashboard_events/s")
	b.ReportMetric(100*at/hl, "dashboard_%_of_headless")
}
