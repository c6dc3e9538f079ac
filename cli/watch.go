package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"eng5np/config"
	"eng5np/runner"
	"eng5np/tui"
)

func newWatchCmd(e *env) *cobra.Command {
	var poll time.Duration
	cmd := &cobra.Command{
		Use:   "watch RUN_DIR",
		Short: "Follow a run another process is capturing (or has finished), read-only",
		Long: `watch shows the dashboard of a run directory that another eng5np process is
capturing — from any terminal, on the same machine or a shared file system —
by following its event journal as it grows: the live view with progress, rate
and ETA, problems, cost, the ranking and the log, then the summary with the
result once the run's final artefact is written. It reads only: it never takes
the run's lock and writes nothing, so any number of watchers can follow one run,
and quitting a watcher leaves the run alone. A finished run shows its final
state and summary at once.

Without a terminal (or with --no-tui or TERM=dumb) it prints progress lines
and the summary instead.

Exit status: the run's exit code once it finished (0 completed, 3 metadata
fault, 4 timeout, …); 0 when you quit before; 2 when RUN_DIR is not an execute
run directory; 130 on Ctrl-C in plain mode.`,
		Example: `  eng5np watch runs/sample-later-start-20261125T190929-5b0e6f5c
  eng5np watch --no-tui runs/sample-later-start-20261125T190929-5b0e6f5c | tee watch.log`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := e.loadConfig(cmd)
			if err != nil {
				return err
			}
			return e.watch(cfg, args[0], poll)
		},
	}
	config.AddCommandFlags(cmd.Flags(), config.CmdWatch)
	cmd.Flags().DurationVar(&poll, "poll", 500*time.Millisecond, "how often the journal and run.json are read")
	return cmd
}

func (e *env) watch(cfg *config.Config, dir string, poll time.Duration) error {
	if poll < 50*time.Millisecond {
		return exitf(runner.ExitUsage, "pass --poll 50ms or more", "--poll %s is too short", poll)
	}
	if _, err := runner.OpenRunDir(dir); err != nil {
		if _, statErr := os.Stat(dir); statErr != nil {
			return exitf(runner.ExitUsage, "pass a run directory written by `eng5np execute`", "%v", err)
		}
		// A run directory being created: watch waits for its files.
	}
	if e.useTUI(cfg) {
		return e.watchDashboard(dir, poll)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out := newPlainReporter(e.stdout)
	fmt.Fprintf(e.stdout, "eng5np watch: %s (read-only; the run is not touched)\n", dir)
	w := &runner.Watch{Dir: dir, Reporter: out, Poll: poll}
	sum, err := w.Run(ctx)
	if errors.Is(err, context.Canceled) {
		return &ExitError{Code: runner.ExitInterrupted, Err: errors.New("stopped watching; the run goes on")}
	}
	if err != nil {
		return exitf(runner.ExitUsage, "pass a run directory written by `eng5np execute`", "%v", err)
	}
	return summaryExit(sum)
}

// watchBackend runs a Watch for the dashboard: no checks, no stop, no
// resume.
type watchBackend struct {
	w      *runner.Watch
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func (b *watchBackend) Checks() []runner.Check { return nil }
func (b *watchBackend) Reset()                 {}
func (b *watchBackend) RunCheck(context.Context, int) runner.CheckResult {
	return runner.CheckResult{Status: runner.Skip}
}
func (b *watchBackend) Resume(runner.Reporter) {}
func (b *watchBackend) Stop()                  { b.cancel() }
func (b *watchBackend) Start(rep runner.Reporter) {
	b.w.Reporter = rep
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	go func() {
		defer close(b.done)
		_, b.err = b.w.Run(ctx)
		if b.err != nil && !errors.Is(b.err, context.Canceled) {
			// Show why on the dashboard rather than a view that never fills.
			rep.Report(runner.FinishedEvent{Summary: runner.Summary{Outcome: "watch_failed", ExitCode: runner.ExitUsage, RunDir: b.w.Dir,
				Message: b.err.Error(), Next: "pass a run directory written by `eng5np execute`"}})
		}
	}()
}

func (e *env) watchDashboard(dir string, poll time.Duration) error {
	b := &watchBackend{w: &runner.Watch{Dir: dir, Poll: poll}, cancel: func() {}, done: make(chan struct{})}
	code, err := tui.Run(context.Background(), b, tui.Options{Info: tui.Info{BatchLabel: dir, Inputs: dir}, Watch: true})
	b.cancel()
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
	}
	if err != nil {
		return exitf(runner.ExitFailure, "run with --no-tui to use plain output", "the dashboard failed: %v", err)
	}
	if b.err != nil && !errors.Is(b.err, context.Canceled) {
		return exitf(runner.ExitUsage, "pass a run directory written by `eng5np execute`", "%v", b.err)
	}
	if code != 0 {
		return &ExitError{Code: code, Err: fmt.Errorf("the watched run ended with exit %d", code)}
	}
	return nil
}
