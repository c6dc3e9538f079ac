package runner

import (
	"strings"
	"testing"
	"time"
)

// The rate divides by the seconds captured so far, up to ten: at 4 s in,
// 84 comparisons are 21/s, not 8.4/s.
func TestRecentRateUsesTheElapsedWindow(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	p := Progress{Started: t0, Now: t0.Add(4 * time.Second), Rate: make([]float64, 60)}
	copy(p.Rate[56:], []float64{20, 22, 21, 21})
	if got := p.RecentRate(); got != 21 {
		t.Errorf("rate at 4 s: %v, want 21", got)
	}
	p.Now = t0.Add(time.Minute)
	copy(p.Rate[50:], []float64{10, 10, 10, 10, 10, 10, 10, 10, 10, 10})
	if got := p.RecentRate(); got != 10 {
		t.Errorf("rate at 60 s: %v, want 10 (the last ten seconds)", got)
	}
}

// ETA comes from the whole capture's rate; none before the first callback
// or once nothing is outstanding.
func TestETA(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	p := Progress{Capture: 1, Started: t0, PublishedAt: t0, Now: t0.Add(40 * time.Second), Expected: 120, Comparisons: 80, ThisCapture: 80}
	if eta, ok := p.ETA(); !ok || eta != 20*time.Second {
		t.Errorf("ETA %v %v, want 20s", eta, ok)
	}
	p.Comparisons, p.ThisCapture = 0, 0
	if _, ok := p.ETA(); ok {
		t.Error("an ETA before any comparison")
	}
	p.Comparisons, p.ThisCapture = 120, 120
	if _, ok := p.ETA(); ok {
		t.Error("an ETA with nothing outstanding")
	}
	// A resume counts only what it captured itself.
	p = Progress{Capture: 2, Started: t0, Now: t0.Add(10 * time.Second), Expected: 120, Comparisons: 100, ThisCapture: 10}
	if eta, ok := p.ETA(); !ok || eta != 20*time.Second {
		t.Errorf("resume ETA %v %v, want 20s (1/s for 20 outstanding)", eta, ok)
	}
}

// The run's elapsed time adds up every capture that recorded its end.
func TestPriorElapsed(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	rec := RunRecord{Captures: []CaptureRecord{
		{N: 1, StartedAt: t0, EndedAt: t0.Add(8 * time.Second)},
		{N: 2, StartedAt: t0.Add(time.Minute), EndedAt: t0.Add(time.Minute + 6*time.Second)},
		{N: 3, StartedAt: t0.Add(2 * time.Minute)},
	}}
	if got := rec.PriorElapsed(3); got != 14*time.Second {
		t.Errorf("before capture 3: %v, want 14s", got)
	}
	if got := rec.PriorElapsed(1); got != 0 {
		t.Errorf("before capture 1: %v", got)
	}
}

// After a second timeout the advice names --completion-timeout; piped
// output never mentions a key.
func TestNextStepAfterTimeouts(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, stack := range []string{"external", "embedded"} {
		rec := &RunRecord{Stack: stack, CompletionTimeout: Duration(6 * time.Second), Captures: []CaptureRecord{{N: 1, StartedAt: t0}}}
		first, resumable := nextStep(OutcomeTimeout, "runs/x", rec)
		if !resumable || strings.Contains(first, "press") {
			t.Errorf("%s, first timeout: %q", stack, first)
		}
		rec.Captures = append(rec.Captures, CaptureRecord{N: 2, StartedAt: t0.Add(time.Minute)})
		again, _ := nextStep(OutcomeTimeout, "runs/x", rec)
		if !strings.Contains(again, "--completion-timeout") || !strings.Contains(again, "6s") || strings.Contains(again, "press") {
			t.Errorf("%s, second timeout: %q", stack, again)
		}
	}
}
