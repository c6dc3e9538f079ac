// Package cli is eng5np's command tree: it parses flags and settings, wires
// them to the runner, prints the results and turns them into exit codes
// (docs/CONTRACT.md).
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"eng5np/artefacts"
	"eng5np/config"
	"eng5np/inputs"
	"eng5np/runner"
	"eng5np/scoring"
)

// ExitError is an error with its exit code and the actionable line printed
// after it; the codes are runner's (runner/exit.go).
type ExitError = runner.ExitError

var exitf = runner.Exitf

// env is what commands read settings from and write to.
type env struct {
	environ []string // KEY=VALUE, as os.Environ
	stdout  io.Writer
	stderr  io.Writer
}

// Main runs eng5np with args in the process's environment and returns the
// process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	return Run(args, os.Environ(), stdout, stderr)
}

// Run runs eng5np with args and the environment environ (KEY=VALUE strings)
// and returns the exit code.
func Run(args, environ []string, stdout, stderr io.Writer) int {
	e := &env{environ: environ, stdout: stdout, stderr: stderr}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteC()
	if err == nil {
		return runner.ExitOK
	}
	return e.report(cmd, err)
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "eng5np",
		Short: "Run comparative-judgement essay batches through Kafka into verified artefacts",
		Long: `eng5np runs an LLM comparative-judgement (CJ) assessment batch of essays through
the CJ Assessment and LLM Provider services over Kafka, captures every event into a
journal, and writes a schema-valid, hash-verified artefact.

Start with the bundled sample batch:
  eng5np plan                 inventory, expected comparisons and cost
  eng5np doctor               the pre-flight checks, on the embedded stack
  eng5np execute              run it: embedded stack, dashboard, verified artefact in runs/
  eng5np verify RUN_DIR       check an artefact before handing it on

docs/RUNBOOK.md walks through a run on real services; docs/RELIABILITY.md says
what survives a crash (resume, rehydrate).

Settings come from flags, then ENG5NP_* environment variables, then eng5np.yaml
(or --config FILE), then defaults; see ` + "`eng5np config --keys`" + `.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(),
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &ExitError{Code: runner.ExitUsage, Err: err, Next: fmt.Sprintf("see `%s --help`", c.CommandPath())}
	})
	root.AddCommand(newPlanCmd(e), newDryRunCmd(e), newExecuteCmd(e), newResumeCmd(e), newDoctorCmd(e), newVerifyCmd(e), newRehydrateCmd(e), newFitCmd(e), newWatchCmd(e),
		newConfigCmd(e), newStackCmd(e), newAssignmentCmd(e), newAnchorsCmd(e))
	return root
}

// versionString is --version: the version and the commit the artefacts
// will name, from the binary's own build information.
func versionString() string {
	b, err := artefacts.CurrentBuild()
	if err != nil {
		return fmt.Sprintf("%s (commit unknown, %s): %v", b.RunnerVersion, b.GoVersion, err)
	}
	dirty := ""
	if b.Dirty != nil && *b.Dirty {
		dirty = ", with uncommitted changes"
	}
	return fmt.Sprintf("%s (commit %s%s from the %s, %s)", b.RunnerVersion, b.GitSHA, dirty, b.CommitSource, b.GoVersion)
}

// report prints err and its actionable line, and returns the exit code.
func (e *env) report(cmd *cobra.Command, err error) int {
	name := "eng5np"
	if cmd != nil {
		name = cmd.CommandPath()
	}
	code, next := classify(cmd, err)
	var ee *ExitError
	if errors.As(err, &ee) && ee.Next != "" {
		next = ee.Next
	}
	msg := err.Error()
	var problems inputs.ProblemsError
	if errors.As(err, &problems) {
		fmt.Fprintln(e.stderr, msg)
		msg = fmt.Sprintf("the batch has %d problem(s)", len(problems))
		if next == "" {
			next = "fix them and run `eng5np plan` again"
		}
	}
	if next != "" {
		fmt.Fprintf(e.stderr, "%s: %s; %s\n", name, msg, next)
	} else {
		fmt.Fprintf(e.stderr, "%s: %s\n", name, msg)
	}
	return code
}

// classify maps an error to its exit code and a default next step.
func classify(cmd *cobra.Command, err error) (int, string) {
	var ee *ExitError
	var ce *config.Error
	var pe inputs.ProblemsError
	var se *artefacts.SchemaError
	var nm *scoring.NoMLEError
	var le *inputs.LineError
	switch {
	case errors.As(err, &ee):
		return ee.Code, ""
	case errors.As(err, &ce):
		return runner.ExitUsage, "fix the setting (`eng5np config --keys` lists every key and what it accepts)"
	case errors.As(err, &pe), errors.As(err, &le), errors.As(err, &nm), errors.Is(err, runner.ErrMissingIDs):
		return runner.ExitUsage, ""
	case errors.As(err, &se):
		return runner.ExitVerify, "this is a bug in eng5np: report it with the run directory"
	case isUsageError(err):
		path := "eng5np"
		if cmd != nil {
			path = cmd.CommandPath()
		}
		return runner.ExitUsage, fmt.Sprintf("see `%s --help`", path)
	}
	return runner.ExitFailure, ""
}

func isUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "requires at most", "invalid argument", "flag needs an argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// loadConfig loads the command's settings.
func (e *env) loadConfig(cmd *cobra.Command) (*config.Config, error) {
	return config.LoadEnv(cmd.Flags(), e.environ)
}
