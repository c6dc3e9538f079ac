package runner

import (
	"fmt"
	"time"

	"eng5np/capture"
)

// StopState is everything the decision to stop a capture looks at. The
// capture loop fills it from the fold and the clock; Decide does no I/O.
type StopState struct {
	// Faulted is set by a hard metadata fault; FaultDetail describes it.
	Faulted     bool
	FaultDetail string

	// What the CJ service said: completed, result, failed (with a reason).
	Completed     bool
	HasResult     bool
	Failed        bool
	FailureReason string

	// EndOffsetsTaken is set once the end offsets of every consumed
	// partition were read after the end event; Drained once every partition
	// was journaled up to them. See Decide.
	EndOffsetsTaken bool
	Drained         bool
	// GraceFrom is when the batch was first seen ended (and drained)
	// without a result; zero before.
	GraceFrom time.Time
	Grace     time.Duration
	// LastActivity is when this batch's last callback was applied: a
	// batch still sending callbacks has not ended, whatever a completed
	// event said, so the grace counts from the later of the two.
	LastActivity time.Time

	BudgetUSD float64 // 0: no budget
	CostUSD   float64

	Deadline time.Time
	Timeout  time.Duration

	Comparisons, Succeeded, FailedComparisons, Expected int
}

// Decision is what the capture loop does next.
type Decision struct {
	// Stop, when set, ends the capture with this outcome and Message.
	Stop    Outcome
	Message string
	// TakeEndOffsets asks for the end offsets of every consumed partition:
	// the batch's end event is in and the drain target is not known yet.
	TakeEndOffsets bool
	// StartGrace asks to remember now as StopState.GraceFrom.
	StartGrace bool
}

// Decide says whether a capture must stop, and why. In order: a hard fault
// stops at once; the batch's end (completed or failed) counts only once
// every partition has been journaled up to its end offsets taken after the
// end event was seen — the CJ service publishes its end only after every
// callback, but each partition is read on its own, so the end can be read
// before the last callbacks of another partition (or already be in the
// journal when a resume starts); a failed batch then stops with the
// service's reason, a completed one with its result, or after the grace
// without one; otherwise a captured cost above the budget stops, and so does
// the deadline.
func Decide(s StopState, now time.Time) Decision {
	var d Decision
	if s.Faulted {
		return Decision{Stop: OutcomeMetadataFault, Message: "metadata fault: " + s.FaultDetail + "; consumption stopped"}
	}
	endSeen := s.Completed || s.Failed
	if endSeen && !s.EndOffsetsTaken {
		d.TakeEndOffsets = true
	}
	if ended := endSeen && s.EndOffsetsTaken && s.Drained; ended {
		switch {
		case s.Failed:
			return Decision{Stop: OutcomeFailed, Message: "the CJ service reported the batch failed: " + s.FailureReason}
		case s.HasResult:
			return Decision{Stop: OutcomeCompleted, Message: fmt.Sprintf("completed: %d comparisons captured (%d succeeded, %d failed)",
				s.Comparisons, s.Succeeded, s.FailedComparisons)}
		}
		from := s.GraceFrom
		if from.IsZero() {
			from, d.StartGrace = now, true
		}
		if s.LastActivity.After(from) {
			from = s.LastActivity
		}
		if now.Sub(from) >= s.Grace {
			return Decision{Stop: OutcomeNoResult, Message: fmt.Sprintf("the CJ service reported completion but its result did not arrive within --post-completion-grace %s "+
				"of the last activity: partial data (%d comparisons captured); a completion is not trusted without its result",
				s.Grace, s.Comparisons)}
		}
	}
	switch {
	case s.BudgetUSD > 0 && s.CostUSD > s.BudgetUSD:
		return Decision{Stop: OutcomeBudgetExceeded, Message: fmt.Sprintf("captured cost $%.4f exceeded --budget-usd $%.4f; capture stopped (the CJ service may still be running the batch)",
			s.CostUSD, s.BudgetUSD)}
	case !now.Before(s.Deadline):
		return Decision{Stop: OutcomeTimeout, Message: fmt.Sprintf("timed out after %s with %d of %d comparisons captured", s.Timeout, s.Comparisons, s.Expected)}
	}
	return d
}

// Reached reports whether every partition of target has been journaled up
// to its offset: next (the offset after the last journaled record) is at or
// past it. A partition next does not know counts as not reached.
func Reached(next, target capture.Offsets) bool {
	for t, ps := range target {
		for p, end := range ps {
			n, ok := next[t][p]
			if !ok || n < end {
				return false
			}
		}
	}
	return true
}
