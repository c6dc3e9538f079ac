package runner

import (
	"context"
	"errors"
	"sync"
	"time"

	"eng5np/config"
)

// Controller drives a run for an interactive display: the pre-flight
// checks one at a time, then an execute (or a resume) in the background,
// in-place resumes after a timeout, and a stop. Every method returns at
// once; the run reports to the reporter it is given.
type Controller struct {
	ctx context.Context
	cfg *config.Config
	ep  Endpoints
	// Observer receives every event as well (metrics).
	observer Reporter
	// resumeDir, when set, makes Start resume that run (shell resume);
	// timeout is the resume's --completion-timeout (0: the run's).
	resumeDir string
	timeout   time.Duration

	mu     sync.Mutex
	pf     *Preflight
	checks []Check
	cancel context.CancelFunc
	done   chan struct{}
	last   Summary
}

// NewController prepares a controller for an execute with cfg against ep.
// observer, when set, hears every event too.
func NewController(ctx context.Context, cfg *config.Config, ep Endpoints, observer Reporter) *Controller {
	c := &Controller{ctx: ctx, cfg: cfg, ep: ep, observer: observer}
	c.Reset()
	return c
}

// NewResumeController prepares a controller that resumes the run in dir,
// with timeout as --completion-timeout (0: the run's own).
func NewResumeController(ctx context.Context, cfg *config.Config, ep Endpoints, observer Reporter, dir string, timeout time.Duration) *Controller {
	c := NewController(ctx, cfg, ep, observer)
	c.resumeDir, c.timeout = dir, timeout
	return c
}

// Checks lists the pre-flight checks in order; a new list after Reset.
func (c *Controller) Checks() []Check {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checks
}

// Reset prepares a fresh set of checks.
func (c *Controller) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pf = NewPreflight(c.cfg, c.ep)
	c.checks = c.pf.Checks()
}

// RunCheck runs check i and returns its result.
func (c *Controller) RunCheck(ctx context.Context, i int) CheckResult {
	return c.Checks()[i].Run(ctx)
}

// launch runs fn in the background with a context Stop cancels.
func (c *Controller) launch(rep Reporter, fn func(ctx context.Context, rep Reporter) (Summary, error)) {
	ctx, cancel := context.WithCancel(c.ctx)
	done := make(chan struct{})
	c.mu.Lock()
	c.cancel, c.done = cancel, done
	c.mu.Unlock()
	all := Reporters{rep, c.observer}
	go func() {
		defer close(done)
		defer cancel()
		sum, err := fn(ctx, all)
		if err != nil {
			// An error before the run directory existed: still end the run
			// with a summary.
			sum = Summary{Outcome: OutcomePreflightFailed, ExitCode: ExitFailure, Message: err.Error(),
				Next: "fix the problem named above and run again; nothing was published"}
			var nr *NotResumableError
			switch {
			case ctx.Err() != nil:
				// Stopped (Ctrl-C) before anything was published.
				sum.Outcome, sum.ExitCode = OutcomeInterrupted, ExitInterrupted
				sum.Message, sum.Next = "interrupted before anything was published", "run it again when ready"
			case errors.As(err, &nr):
				sum.ExitCode = ExitUsage
			}
			all.Report(FinishedEvent{Summary: sum})
		}
		c.mu.Lock()
		c.last = sum
		c.mu.Unlock()
	}()
}

// Start launches the run (or, for a resume controller, the resume).
func (c *Controller) Start(rep Reporter) {
	if c.resumeDir != "" {
		c.Resume(rep)
		return
	}
	c.mu.Lock()
	plan := c.pf.Plan()
	c.mu.Unlock()
	c.launch(rep, func(ctx context.Context, all Reporter) (Summary, error) {
		x := &Execute{Config: c.cfg, Endpoints: c.ep, Plan: plan, Reporter: all}
		return x.Run(ctx)
	})
}

// Resume resumes the last run's capture in place, in the background.
func (c *Controller) Resume(rep Reporter) {
	c.mu.Lock()
	dir := c.last.RunDir
	if c.resumeDir != "" && dir == "" {
		dir = c.resumeDir
	}
	// The same rule as `eng5np resume`: the timeout given on the command
	// line, else the run's own (0 tells Resume to read it from run.json).
	timeout := c.timeout
	c.mu.Unlock()
	ep := c.ep
	c.launch(rep, func(ctx context.Context, all Reporter) (Summary, error) {
		x := &Resume{Dir: dir, Config: c.cfg, Endpoints: &ep, CompletionTimeout: timeout, Reporter: all}
		return x.Run(ctx)
	})
}

// Stop interrupts the running capture; it still finishes and reports.
func (c *Controller) Stop() {
	c.mu.Lock()
	cancel := c.cancel
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// Wait stops a run that is still going and waits for it to end, so the
// process never exits in the middle of a capture, and returns the last
// run's summary (zero when nothing ran).
func (c *Controller) Wait() Summary {
	c.mu.Lock()
	done := c.done
	c.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		default:
			c.Stop()
			<-done
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}
