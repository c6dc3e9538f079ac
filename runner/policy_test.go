package runner

import (
	"strings"
	"testing"
	"time"

	"eng5np/capture"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	base := StopState{Deadline: now.Add(time.Minute), Timeout: 30 * time.Minute, Grace: 10 * time.Second,
		Comparisons: 60, Succeeded: 58, FailedComparisons: 2, Expected: 120}
	with := func(f func(*StopState)) StopState { s := base; f(&s); return s }
	for _, tc := range []struct {
		name     string
		state    StopState
		stop     Outcome
		take     bool
		grace    bool
		contains string
	}{
		{name: "nothing yet", state: base},
		{name: "a hard fault stops at once, whatever else", state: with(func(s *StopState) {
			s.Faulted, s.FaultDetail, s.Completed, s.HasResult, s.EndOffsetsTaken, s.Drained = true, "essay_a_id missing", true, true, true, true
		}), stop: OutcomeMetadataFault, contains: "essay_a_id missing"},
		{name: "completed: take the end offsets first", state: with(func(s *StopState) { s.Completed, s.HasResult = true, true }), take: true},
		{name: "completed, offsets taken, not drained: keep reading", state: with(func(s *StopState) {
			s.Completed, s.HasResult, s.EndOffsetsTaken = true, true, true
		})},
		{name: "completed with its result, drained", state: with(func(s *StopState) {
			s.Completed, s.HasResult, s.EndOffsetsTaken, s.Drained = true, true, true, true
		}), stop: OutcomeCompleted, contains: "60 comparisons captured (58 succeeded, 2 failed)"},
		{name: "failed, drained: the service's reason", state: with(func(s *StopState) {
			s.Failed, s.FailureReason, s.EndOffsetsTaken, s.Drained = true, "low_success_rate", true, true
		}), stop: OutcomeFailed, contains: "low_success_rate"},
		{name: "failed: take the end offsets first", state: with(func(s *StopState) { s.Failed = true }), take: true},
		{name: "completed without result: the grace starts", state: with(func(s *StopState) {
			s.Completed, s.EndOffsetsTaken, s.Drained = true, true, true
		}), grace: true},
		{name: "completed without result, no grace: done at once", state: with(func(s *StopState) {
			s.Completed, s.EndOffsetsTaken, s.Drained, s.Grace = true, true, true, 0
		}), stop: OutcomeNoResult, contains: "did not arrive"},
		{name: "completed without result, grace running", state: with(func(s *StopState) {
			s.Completed, s.EndOffsetsTaken, s.Drained, s.GraceFrom = true, true, true, now.Add(-5*time.Second)
		})},
		{name: "completed without result, grace over", state: with(func(s *StopState) {
			s.Completed, s.EndOffsetsTaken, s.Drained, s.GraceFrom = true, true, true, now.Add(-10*time.Second)
		}), stop: OutcomeNoResult, contains: "--post-completion-grace 10s"},
		{name: "completed without result, grace over but callbacks still arriving", state: with(func(s *StopState) {
			s.Completed, s.EndOffsetsTaken, s.Drained, s.GraceFrom, s.LastActivity = true, true, true, now.Add(-30*time.Second), now.Add(-2*time.Second)
		})},
		{name: "completed without result, quiet for the grace since the last callback", state: with(func(s *StopState) {
			s.Completed, s.EndOffsetsTaken, s.Drained, s.GraceFrom, s.LastActivity = true, true, true, now.Add(-30*time.Second), now.Add(-11*time.Second)
		}), stop: OutcomeNoResult, contains: "partial data"},
		{name: "over budget", state: with(func(s *StopState) { s.BudgetUSD, s.CostUSD = 0.10, 0.1001 }), stop: OutcomeBudgetExceeded, contains: "$0.1001"},
		{name: "at budget is fine", state: with(func(s *StopState) { s.BudgetUSD, s.CostUSD = 0.10, 0.10 })},
		{name: "deadline", state: with(func(s *StopState) { s.Deadline = now }), stop: OutcomeTimeout, contains: "60 of 120 comparisons"},
		{name: "deadline while waiting to drain", state: with(func(s *StopState) {
			s.Completed, s.HasResult, s.Deadline = true, true, now.Add(-time.Second)
		}), stop: OutcomeTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.state, now)
			if d.Stop != tc.stop || d.TakeEndOffsets != tc.take || d.StartGrace != tc.grace {
				t.Errorf("Decide = %+v, want stop %q take %v grace %v", d, tc.stop, tc.take, tc.grace)
			}
			if !strings.Contains(d.Message, tc.contains) {
				t.Errorf("message %q lacks %q", d.Message, tc.contains)
			}
		})
	}
}

func TestReached(t *testing.T) {
	target := capture.Offsets{"a": {0: 10, 1: 5}, "b": {0: 0}}
	for _, tc := range []struct {
		next capture.Offsets
		want bool
	}{
		{capture.Offsets{"a": {0: 10, 1: 5}, "b": {0: 0}}, true},
		{capture.Offsets{"a": {0: 11, 1: 7}, "b": {0: 3}}, true},
		{capture.Offsets{"a": {0: 9, 1: 5}, "b": {0: 0}}, false},
		{capture.Offsets{"a": {0: 10}, "b": {0: 0}}, false}, // partition 1 unknown
		{capture.Offsets{}, false},
	} {
		if got := Reached(tc.next, target); got != tc.want {
			t.Errorf("Reached(%v) = %v, want %v", tc.next, got, tc.want)
		}
	}
	if !Reached(nil, capture.Offsets{}) {
		t.Error("an empty target is reached")
	}
}
