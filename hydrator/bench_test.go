package hydrator

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"eng5np/inputs"
	"eng5np/internal/benchgen"
)

// BenchmarkSections measures what the artefact's journal-derived sections
// cost at the end of a large run: llm_comparisons read back from the
// journal, the default fit with every standard error, the split-half
// reliability, the grade projection's bootstrap, fit statistics and costs.
// Each size is n students plus 12 anchors, m callbacks over random pairs
// (one in twenty a provider error).
func BenchmarkSections(b *testing.B) {
	for _, size := range []struct{ n, m int }{{1000, 20000}, {5000, 100000}} {
		b.Run(fmt.Sprintf("n=%d/m=%d", size.n, size.m), func(b *testing.B) {
			snap := benchSnapshot(b, size.n)
			var wires []string
			for _, e := range snap.Essays() {
				wires = append(wires, e.WireID)
			}
			s, err := benchgen.Generate(topics, batch, wires, 0, size.m, 1)
			if err != nil {
				b.Fatal(err)
			}
			var r recorder
			for _, v := range s.Callbacks {
				r.add(topics.ComparisonResult(), v)
			}
			h := New(Batch{Snapshot: snap, BatchUUID: batch, Topics: topics})
			h.ApplyAll(r.recs)
			if h.Faulted() {
				b.Fatalf("faults: %v", h.Stats().Faults)
			}
			for b.Loop() {
				sec, err := h.Sections(SliceSource(r.recs))
				if err != nil {
					b.Fatal(err)
				}
				if len(sec.BTSummary) == 0 || sec.Reliability.SplitHalf == nil {
					b.Fatalf("no statistics: %d bt entries, split-half %v", len(sec.BTSummary), sec.Reliability.SplitHalf)
				}
			}
		})
	}
}

// benchSnapshot writes a batch of n one-line students and 12 graded
// anchors and inventories it.
func benchSnapshot(b *testing.B, n int) inputs.Snapshot {
	b.Helper()
	dir := b.TempDir()
	mk := func(rel, text string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	mk("instructions.md", "Write an argumentative text.\n")
	mk("prompt.md", "Pick the better essay.\n")
	for i, g := range strings.Fields("F+ E- E+ D- D+ C- C+ B A A B F+") {
		mk(fmt.Sprintf("anchors/anchor_%02d_%s.txt", i, g), fmt.Sprintf("Anchor essay %d graded %s.\n", i, g))
	}
	for i := 0; i < n; i++ {
		mk(fmt.Sprintf("students/Student %05d.txt", i), fmt.Sprintf("Student essay number %d.\n", i))
	}
	start := time.Now()
	bt, err := inputs.Load(dir, inputs.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("inventoried %d essays in %v", n+12, time.Since(start))
	return bt.Snapshot()
}

// BenchmarkFoldObserved measures the fold of 20,000 callbacks with and
// without an observer (the capture loop always has one: it reports every
// record, with the artefact's record of each comparison, to the displays).
func BenchmarkFoldObserved(b *testing.B) {
	snap := benchSnapshot(b, 1000)
	var wires []string
	for _, e := range snap.Essays() {
		wires = append(wires, e.WireID)
	}
	s, err := benchgen.Generate(topics, batch, wires, 0, 20000, 1)
	if err != nil {
		b.Fatal(err)
	}
	var r recorder
	for _, v := range s.Callbacks {
		r.add(topics.ComparisonResult(), v)
	}
	for _, observed := range []bool{false, true} {
		b.Run(fmt.Sprintf("observed=%v", observed), func(b *testing.B) {
			for b.Loop() {
				cfg := Batch{Snapshot: snap, BatchUUID: batch, Topics: topics}
				if observed {
					n := 0
					cfg.Observe = func(o Observation) {
						if o.Event != nil && o.Event.Callback != nil {
							n++
						}
					}
				}
				New(cfg).ApplyAll(r.recs)
			}
			b.ReportMetric(float64(len(r.recs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
