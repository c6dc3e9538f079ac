package tui

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"eng5np/capture"
	"eng5np/hydrator"
	"eng5np/internal/benchgen"
	"eng5np/journal"
	"eng5np/runner"
)

// BenchmarkCaptureWithDashboard compares capture throughput with the live
// dashboard attached against headless: 100,000 pre-produced callbacks are
// captured (journal, fold, every record reported, a progress snapshot with
// a ranking refit every 250 ms) and the events go either nowhere or through
// the bridge to a running Bubble Tea program drawing the live view at
// 120×40 (with its log of every comparison).
func BenchmarkCaptureWithDashboard(b *testing.B) {
	const n = 100_000
	br, err := benchgen.NewBroker("..", n, 3)
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	snap, topics, batchUUID := br.Snapshot, br.Topics, benchgen.BatchUUID
	conn := capture.Conn{Bootstrap: br.Bootstrap()}
	ctx := context.Background()
	start := benchgen.StartOffsets(topics)

	capture1 := func(b *testing.B, rep runner.Reporter) time.Duration {
		jo, err := journal.Open(filepath.Join(b.TempDir(), "journal.jsonl"), false)
		if err != nil {
			b.Fatal(err)
		}
		defer jo.Writer.Close()
		// Every record is reported, as the capture loop does (the
		// dashboard keeps comparisons and problems for its log).
		h := hydrator.New(hydrator.Batch{Snapshot: snap, BatchUUID: batchUUID, Topics: topics,
			Observe: func(o hydrator.Observation) { rep.Report(runner.NewRecordEvent(o, true)) }})
		applied := 0
		var ranking []runner.Ranked
		var lastRank time.Time
		t0 := time.Now()
		s := &capture.Session{Conn: conn, From: start, Journal: jo.Writer, Capture: 1}
		if err := s.Start(ctx); err != nil {
			b.Fatal(err)
		}
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for applied < n+2 {
			select {
			case recs := <-s.Groups():
				h.ApplyAll(recs)
				applied += len(recs)
			case now := <-tick.C:
				if now.Sub(lastRank) >= time.Second {
					rk, _ := h.Ranking(false)
					ranking = ranking[:0]
					for _, r := range rk {
						ranking = append(ranking, runner.Ranked(r))
					}
					lastRank = now
				}
				st := h.Stats()
				rep.Report(runner.ProgressEvent{Progress: runner.Progress{BatchLabel: "bench", BatchUUID: batchUUID, Broker: conn.String(),
					Started: t0, Deadline: t0.Add(time.Hour), Now: now, Expected: n, Comparisons: st.Comparisons, Succeeded: st.Succeeded,
					CostUSD: st.CostUSD, Topics: runner.TopicCounts(st.Topics), Records: runner.RecordCounts(st.Dispositions), Ranking: ranking}})
			}
		}
		if _, err := s.Stop(); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}

	var headless, attached time.Duration
	for b.Loop() {
		headless += capture1(b, runner.ReporterFunc(func(runner.Event) {}))

		m, br := NewModel(ctx, newFake(passAll()...), Options{Info: Info{BatchLabel: "bench"}})
		m.screen, m.pre.started = screenLive, true
		m.setSize(120, 40)
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
