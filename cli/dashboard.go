package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

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
	out, ok := e.stdout.(*os.File)
	return ok && term.IsTerminal(out.Fd()) && term.IsTerminal(os.Stdin.Fd())
}

// dashboardBackend runs the pre-flight checks, the execute run and in-place
// resumes for the dashboard.
type dashboardBackend struct {
	ctx   context.Context
	cfg   *config.Config
	ep    runner.Endpoints
	hooks runner.Hooks

	mu     sync.Mutex
	pf     *runner.Preflight
	checks []runner.Check
	cancel context.CancelFunc
	done   chan struct{}
	last   runner.Summary
	// resumeDir, when set, makes Start resume that run (shell resume).
	resumeDir string
	timeout   time.Duration
}

func newDashboardBackend(ctx context.Context, cfg *config.Config, ep runner.Endpoints) *dashboardBackend {
	b := &dashboardBackend{ctx: ctx, cfg: cfg, ep: ep}
	b.Reset()
	return b
}

func (b *dashboardBackend) Checks() []runner.Check {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.checks
}

func (b *dashboardBackend) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pf = runner.NewPreflight(b.cfg, b.ep)
	b.checks = b.pf.Checks()
}

func (b *dashboardBackend) RunCheck(ctx context.Context, i int) runner.CheckResult {
	return b.Checks()[i].Run(ctx)
}

// launch runs fn in the background with a context Stop cancels.
func (b *dashboardBackend) launch(rep runner.Reporter, fn func(ctx context.Context) (runner.Summary, error)) {
	ctx, cancel := context.WithCancel(b.ctx)
	done := make(chan struct{})
	b.mu.Lock()
	b.cancel, b.done = cancel, done
	b.mu.Unlock()
	go func() {
		defer close(done)
		defer cancel()
		sum, err := fn(ctx)
		if err != nil {
			// An error before the run directory existed: still end the run
			// on the dashboard with a summary.
			sum = runner.Summary{Outcome: runner.OutcomePreflightFailed, ExitCode: 1, Message: err.Error(),
				Next: "fix the problem named above and run again; nothing was published"}
			var nr *runner.NotResumableError
			if errors.As(err, &nr) {
				sum.ExitCode = ExitUsage
			}
			rep.Report(runner.FinishedEvent{Summary: sum})
		}
		b.mu.Lock()
		b.last = sum
		b.mu.Unlock()
	}()
}

func (b *dashboardBackend) Start(rep runner.Reporter) {
	if b.resumeDir != "" {
		b.Resume(rep)
		return
	}
	b.mu.Lock()
	plan := b.pf.Plan()
	b.mu.Unlock()
	b.launch(rep, func(ctx context.Context) (runner.Summary, error) {
		x := &runner.Execute{Config: b.cfg, Endpoints: b.ep, Plan: plan, Reporter: rep, Hooks: b.hooks}
		return x.Run(ctx)
	})
}

// inPlaceResumeTimeout bounds a resume started from the summary: the run's
// own completion timeout is what just ran out, so a resume waits as long as a
// default run would.
const inPlaceResumeTimeout = 30 * time.Minute

func (b *dashboardBackend) Resume(rep runner.Reporter) {
	b.mu.Lock()
	dir := b.last.RunDir
	if b.resumeDir != "" && dir == "" {
		dir = b.resumeDir
	}
	timeout := b.timeout
	if timeout == 0 && b.last.RunDir != "" {
		timeout = inPlaceResumeTimeout
	}
	b.mu.Unlock()
	ep := b.ep
	b.launch(rep, func(ctx context.Context) (runner.Summary, error) {
		x := &runner.Resume{Dir: dir, Config: b.cfg, Endpoints: &ep, CompletionTimeout: timeout, Reporter: rep, Hooks: b.hooks}
		return x.Run(ctx)
	})
}

func (b *dashboardBackend) Stop() {
	b.mu.Lock()
	cancel := b.cancel
	b.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// wait stops a run that is still going and waits for it to end, so the
// process never exits in the middle of a capture.
func (b *dashboardBackend) wait() runner.Summary {
	b.mu.Lock()
	done := b.done
	b.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		default:
			b.Stop()
			<-done
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// dashboard runs execute (or a resume) with the dashboard.
func (e *env) dashboard(ctx context.Context, cfg *config.Config, st *stackHandle, resumeDir string, timeout time.Duration, hooks runner.Hooks) error {
	b := newDashboardBackend(ctx, cfg, st.endpoints)
	b.resumeDir, b.timeout, b.hooks = resumeDir, timeout, hooks
	info := tui.Info{BatchLabel: cfg.BatchLabel, Stack: cfg.Stack, Inputs: cfg.Inputs}
	if info.BatchLabel == "" {
		if plan, err := runner.BuildPlan(cfg); plan != nil && err == nil {
			info.BatchLabel = plan.Settings.BatchLabel
		}
	}
	if resumeDir != "" {
		info.Inputs = resumeDir
	}
	code, err := tui.Run(ctx, b, tui.Options{Info: info, StartLive: resumeDir != ""})
	sum := b.wait()
	if err != nil {
		return exitf(ExitFailure, "run with --no-tui to use plain output", "the dashboard failed: %v", err)
	}
	if sum.Outcome == "" {
		if code == 0 {
			fmt.Fprintln(e.stdout, "eng5np: quit before starting; nothing was published")
			return nil
		}
		return &ExitError{Code: code, Err: errors.New("interrupted before starting; nothing was published")}
	}
	fmt.Fprintln(e.stdout, summaryText(sum, 0))
	return summaryExit(sum)
}
