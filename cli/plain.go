package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"eng5np/runner"
)

// plainProgressEvery is how often the plain output prints a progress line.
const plainProgressEvery = 5 * time.Second

// plainReporter prints a run as plain lines, without escape codes: one line
// per check, per phase and per state change, and a progress line at most
// every plainProgressEvery. It is what CI logs and --no-tui get.
type plainReporter struct {
	mu           sync.Mutex
	w            io.Writer
	lastProgress time.Time
	faults       int
	completed    bool
	brokerErrs   int64
}

func newPlainReporter(w io.Writer) *plainReporter { return &plainReporter{w: w} }

// check prints one pre-flight result.
func (p *plainReporter) check(c runner.Check, r runner.CheckResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := fmt.Sprintf("check %-4s %-30s %6s  %s", r.Status, c.Title, r.Duration.Round(time.Millisecond), r.Detail)
	if r.Fix != "" && r.Status != runner.Pass {
		line += " — fix: " + r.Fix
	}
	fmt.Fprintln(p.w, line)
}

// Report prints run events.
func (p *plainReporter) Report(ev runner.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e := ev.(type) {
	case runner.PhaseEvent:
		if e.Detail != "" {
			fmt.Fprintf(p.w, "%s: %s\n", e.Phase, e.Detail)
		} else {
			fmt.Fprintf(p.w, "%s\n", e.Phase)
		}
	case runner.ProgressEvent:
		p.progress(e.Progress)
	case runner.FinishedEvent:
		p.summary(e.Summary)
	}
}

func (p *plainReporter) progress(s runner.Progress) {
	if n := len(s.Faults); n > p.faults {
		for _, f := range s.Faults[p.faults:] {
			fmt.Fprintf(p.w, "FAULT: %s lacks %s (correlation id %s, %s partition %d offset %d)\n",
				f.Kind, strings.Join(f.Fields, ", "), f.CorrelationID, f.Topic, f.Partition, f.Offset)
		}
		p.faults = n
	}
	if s.Completion.Completed && !p.completed {
		p.completed = true
		if s.Completion.Failed {
			fmt.Fprintln(p.w, "the CJ service ended the batch failed: "+s.Completion.FailureReason)
		} else {
			fmt.Fprintln(p.w, "the CJ service reported completion; waiting for the result event")
		}
	}
	if s.BrokerErrors > p.brokerErrs {
		if p.brokerErrs == 0 {
			fmt.Fprintf(p.w, "broker trouble, retrying: %s\n", s.LastBrokerErr)
		}
		p.brokerErrs = s.BrokerErrors
	}
	if s.Now.Sub(p.lastProgress) < plainProgressEvery {
		return
	}
	p.lastProgress = s.Now
	fmt.Fprintln(p.w, progressLine(s))
}

func progressLine(s runner.Progress) string {
	line := fmt.Sprintf("progress %d/%d comparisons (%d succeeded, %d failed), $%.4f, %.1f/s, duplicates %d, foreign %d, malformed %d",
		s.Comparisons, s.Expected, s.Succeeded, s.FailedComparisons, s.CostUSD, s.RecentRate(),
		s.Records.Duplicate, s.Records.ForeignBatch, s.Records.Malformed)
	switch eta, ok := s.ETA(); {
	case s.Stopped:
		line += ", capture ended"
	case ok:
		line += fmt.Sprintf(", ETA %s, %s to the deadline", eta.Round(time.Second), s.Deadline.Sub(s.Now).Round(time.Second))
	default:
		line += fmt.Sprintf(", %s to the deadline", s.Deadline.Sub(s.Now).Round(time.Second))
	}
	if s.BrokerFailing > 0 {
		line += fmt.Sprintf("; BROKER UNREACHABLE (%d partitions failing, retrying: %s)", s.BrokerFailing, s.LastBrokerErr)
	}
	return line
}

func (p *plainReporter) summary(s runner.Summary) {
	fmt.Fprintln(p.w, summaryText(s))
}

// summaryText renders a run's summary as plain text (the dashboard's summary
// screen shows the same facts).
func summaryText(s runner.Summary) string {
	var b strings.Builder
	status := string(s.Outcome)
	if s.ExitCode == 0 && len(s.Warnings) > 0 {
		status += " with warnings"
	}
	fmt.Fprintf(&b, "Summary: %s (exit %d)\n", status, s.ExitCode)
	fmt.Fprintf(&b, "  %s\n", s.Message)
	if s.ArtefactPath != "" {
		fmt.Fprintf(&b, "  artefact  %s\n", s.ArtefactPath)
		fmt.Fprintf(&b, "  manifest  %s\n", s.ManifestPath)
	} else if s.RunDir != "" {
		fmt.Fprintf(&b, "  run dir   %s\n", s.RunDir)
	}
	fmt.Fprintf(&b, "  %d comparisons (%d succeeded, %d failed), $%.4f\n", s.Comparisons, s.Succeeded, s.Failed, s.CostUSD)
	for _, m := range s.Models {
		fmt.Fprintf(&b, "  %s/%s: %d comparisons, %d prompt + %d completion tokens, $%.4f\n", m.Provider, m.Model, m.Comparisons, m.PromptTokens, m.CompletionTokens, m.USD)
	}
	if s.SlowestModel != "" {
		fmt.Fprintf(&b, "  slowest model %s; most expensive %s\n", s.SlowestModel, s.PriciestModel)
	}
	if s.Result != nil {
		fmt.Fprintf(&b, "  %s\n", strings.Join(s.Result.Figures(), " · "))
	}
	for _, f := range s.Faults {
		fmt.Fprintf(&b, "  fault: %s\n", f)
	}
	switch {
	case s.ArtefactPath == "":
	case s.Verified:
		fmt.Fprintln(&b, "  verify: OK (schema valid, checksum matches, manifest re-hashed)")
	default:
		fmt.Fprintf(&b, "  verify: FAILED: %s\n", strings.Join(s.VerifyProblems, "; "))
	}
	for _, w := range s.Warnings {
		fmt.Fprintf(&b, "  warning: %s\n", w)
	}
	for _, c := range s.Caveats {
		fmt.Fprintf(&b, "  note: %s\n", c)
	}
	if s.Next != "" {
		fmt.Fprintf(&b, "  next: %s", s.Next)
	}
	return strings.TrimRight(b.String(), "\n")
}
