package runner

import "fmt"

// Exit codes of every eng5np command (docs/CONTRACT.md, "Exit codes"): the
// one table the CLI, the dashboard and the run outcomes use.
const (
	ExitOK          = 0   // complete
	ExitFailure     = 1   // runtime failure, including a blocking pre-flight check
	ExitUsage       = 2   // usage, config or input error found before any work started
	ExitFault       = 3   // metadata fault: a hard stop
	ExitTimeout     = 4   // timed out with partial data (resumable)
	ExitVerify      = 5   // the artefact failed schema or manifest verification
	ExitBatchFailed = 6   // the CJ service reported the batch failed
	ExitInterrupted = 130 // interrupted (Ctrl-C, SIGTERM)
)

// Outcome is how a run ended.
type Outcome string

// The outcomes, with their exit codes in ExitCode.
const (
	OutcomeCompleted       Outcome = "completed"
	OutcomeNoResult        Outcome = "completed_without_result"
	OutcomeFailed          Outcome = "failed"
	OutcomeTimeout         Outcome = "timeout"
	OutcomeMetadataFault   Outcome = "metadata_fault"
	OutcomeInterrupted     Outcome = "interrupted"
	OutcomeBudgetExceeded  Outcome = "budget_exceeded"
	OutcomeNoKafka         Outcome = "no_kafka"
	OutcomePreflightFailed Outcome = "preflight_failed"
)

// Outcomes lists every outcome.
var Outcomes = []Outcome{OutcomeCompleted, OutcomeNoResult, OutcomeFailed, OutcomeTimeout, OutcomeMetadataFault,
	OutcomeInterrupted, OutcomeBudgetExceeded, OutcomeNoKafka, OutcomePreflightFailed}

// ExitCode is the process exit code for an outcome.
func (o Outcome) ExitCode() int {
	switch o {
	case OutcomeCompleted, OutcomeNoKafka:
		return ExitOK
	case OutcomeMetadataFault:
		return ExitFault
	case OutcomeTimeout, OutcomeNoResult:
		return ExitTimeout
	case OutcomeFailed:
		return ExitBatchFailed
	case OutcomeInterrupted:
		return ExitInterrupted
	}
	return ExitFailure
}

// PartialData reports whether the capture stopped before the batch ended.
func (o Outcome) PartialData() bool {
	switch o {
	case OutcomeTimeout, OutcomeNoResult, OutcomeInterrupted, OutcomeBudgetExceeded, OutcomeMetadataFault:
		return true
	}
	return false
}

// ExitError is an error with the exit code it ends the process with and the
// one actionable line printed after it.
type ExitError struct {
	Code int
	Err  error
	// Next says what to do now; printed after the error.
	Next string
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Exitf makes an ExitError.
func Exitf(code int, next string, format string, args ...any) *ExitError {
	return &ExitError{Code: code, Err: fmt.Errorf(format, args...), Next: next}
}
