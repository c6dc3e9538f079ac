package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/charmbracelet/x/term"

	"eng5np/config"
	"eng5np/runner"
	"eng5np/tui"
)

// useTUI reports whether to show the dashboard: an interactive terminal on
// both ends and no --no-tui.
func (e *env) useTUI(cfg *config.Config) bool {
	if cfg.NoTUI {
		return false
	}
	if os.Getenv("TERM") == "dumb" {
		return false // a terminal that cannot draw a dashboard: plain lines
	}
	out, ok := e.stdout.(*os.File)
	return ok && term.IsTerminal(out.Fd()) && term.IsTerminal(os.Stdin.Fd())
}

// dashboard shows the run the controller drives (an execute, or the resume
// of resumeDir) until the user leaves, then prints the summary.
func (e *env) dashboard(ctl *runner.Controller, cfg *config.Config, resumeDir string) error {
	info := tui.Info{BatchLabel: cfg.BatchLabel, Stack: cfg.Stack, Inputs: cfg.Inputs}
	if info.BatchLabel == "" {
		if plan, err := runner.BuildPlan(cfg); plan != nil && err == nil {
			info.BatchLabel = plan.Settings.BatchLabel
		}
	}
	if resumeDir != "" {
		info.Inputs = resumeDir
	}
	code, err := tui.Run(context.Background(), ctl, tui.Options{Info: info, StartLive: resumeDir != ""})
	sum := ctl.Wait()
	if err != nil {
		return exitf(runner.ExitFailure, "run with --no-tui to use plain output", "the dashboard failed: %v", err)
	}
	if sum.Outcome == "" {
		switch code {
		case runner.ExitOK:
			fmt.Fprintln(e.stdout, "eng5np: quit before starting; nothing was published")
			return nil
		case runner.ExitFailure:
			return &ExitError{Code: code, Err: errors.New("quit with a blocking pre-flight check failed; nothing was published (`eng5np doctor` lists the checks and their fixes)")}
		}
		return &ExitError{Code: code, Err: errors.New("interrupted before starting; nothing was published")}
	}
	fmt.Fprintln(e.stdout, summaryText(sum))
	return summaryExit(sum)
}
