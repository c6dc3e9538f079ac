package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"eng5np/capture"
	"eng5np/config"
	"eng5np/events"
	"eng5np/huleedu"
	"eng5np/inputs"
	"eng5np/schemas"
)

// Status is a check's verdict.
type Status int

// Check verdicts: a failed check blocks the run; a warning does not; a
// skipped check could not run because one it needs failed.
const (
	Pass Status = iota
	Warn
	Fail
	Skip
)

func (s Status) String() string { return [...]string{"pass", "warn", "fail", "skip"}[s] }

// CheckResult is what one check found.
type CheckResult struct {
	Status Status
	Detail string // one line: what was found
	Fix    string // one line: what to do (for warn and fail)
	// Usage marks a failure of the run's own settings, which contradict
	// each other or the deployment (exit 2, not 1).
	Usage    bool
	Duration time.Duration
}

// Check is one pre-flight check.
type Check struct {
	ID    string
	Title string
	run   func(ctx context.Context) CheckResult
}

// Run runs the check and times it.
func (c Check) Run(ctx context.Context) CheckResult {
	start := time.Now()
	r := c.run(ctx)
	r.Duration = time.Since(start)
	return r
}

// Preflight holds what the checks share: the settings, the endpoints and the
// plan the inputs check builds.
type Preflight struct {
	cfg    *config.Config
	ep     Endpoints
	client *huleedu.Client
	plan   *Plan
	// parts are the broker's partition counts by topic, from the broker check.
	parts map[string]int
	// status is each check's verdict once it ran, so that a check whose
	// prerequisite failed is skipped rather than hung or repeated.
	status map[string]Status
	// failures are the failed checks' results, in order.
	failures []CheckResult
	// instructions are the assignment's, once the instructions check read
	// them.
	instructions *huleedu.Instructions
}

// NewPreflight prepares the checks for a run with cfg against ep.
func NewPreflight(cfg *config.Config, ep Endpoints) *Preflight {
	c := ep.client()
	c.Retries = 0 // a check reports what it finds at once; the run's calls retry
	return &Preflight{cfg: cfg, ep: ep, client: c, status: map[string]Status{}}
}

// Plan is the plan built by the inputs check (nil before it ran).
func (p *Preflight) Plan() *Plan { return p.plan }

// BrokerTimeout bounds the broker check.
const BrokerTimeout = 5 * time.Second

// minFreeBytes below which the output directory check fails; warnBytes
// below which it warns.
const (
	minFreeBytes  = 50 << 20
	warnFreeBytes = 500 << 20
)

// Checks returns the checks in the order doctor prints them and the TUI
// runs them (docs/RUNBOOK.md lists the same).
func (p *Preflight) Checks() []Check {
	checks := []Check{
		{ID: "config", Title: "config valid", run: p.checkConfig},
		{ID: "inputs", Title: "inputs complete and readable", run: p.checkInputs},
		{ID: "grades", Title: "grades belong to the scale", run: p.checkGrades},
		{ID: "schema", Title: "schema loads", run: p.checkSchema},
		{ID: "output", Title: "output dir writable", run: p.checkOutput},
		{ID: "broker", Title: "broker reachable", run: p.checkBroker},
		{ID: "topics", Title: "topics present", run: p.checkTopics},
		{ID: "content", Title: "content service reachable", run: p.checkContent},
		{ID: "cj", Title: "CJ service reachable", run: p.checkCJ},
		{ID: "admin", Title: "admin auth", run: p.checkAdmin},
		{ID: "instructions", Title: "assignment instructions", run: p.checkInstructions},
		{ID: "anchors", Title: "anchors registered", run: p.checkAnchors},
		{ID: "pricing", Title: "model priced", run: p.checkPricing},
		{ID: "budget", Title: "cost estimate within budget", run: p.checkBudget},
	}
	for i, c := range checks {
		run, id := c.run, c.ID
		checks[i].run = func(ctx context.Context) CheckResult {
			r := run(ctx)
			p.status[id] = r.Status
			if r.Status == Fail {
				p.failures = append(p.failures, r)
			}
			return r
		}
	}
	return checks
}

// blocked reports whether any of the checks named failed or were skipped:
// a check that needs them is skipped in turn.
func (p *Preflight) blocked(ids ...string) bool {
	for _, id := range ids {
		if s := p.status[id]; s == Fail || s == Skip {
			return true
		}
	}
	return false
}

// UsageFailure is the first failed check when every failed check is a
// failure of the run's settings (CheckResult.Usage): then the run stops
// with exit 2 and that check's words.
func (p *Preflight) UsageFailure() (CheckResult, bool) {
	if len(p.failures) == 0 {
		return CheckResult{}, false
	}
	for _, f := range p.failures {
		if !f.Usage {
			return CheckResult{}, false
		}
	}
	return p.failures[0], true
}

// usageFail is a failed check caused by the run's settings.
func usageFail(err error) CheckResult {
	var ee *ExitError
	if errors.As(err, &ee) {
		return CheckResult{Status: Fail, Detail: ee.Err.Error(), Fix: ee.Next, Usage: true}
	}
	return CheckResult{Status: Fail, Detail: err.Error(), Usage: true}
}

func skip(format string, args ...any) CheckResult {
	return CheckResult{Status: Skip, Detail: "skipped: " + fmt.Sprintf(format, args...)}
}

func pass(format string, args ...any) CheckResult {
	return CheckResult{Status: Pass, Detail: fmt.Sprintf(format, args...)}
}

func warn(fix, format string, args ...any) CheckResult {
	return CheckResult{Status: Warn, Detail: fmt.Sprintf(format, args...), Fix: fix}
}

func fail(fix, format string, args ...any) CheckResult {
	return CheckResult{Status: Fail, Detail: fmt.Sprintf(format, args...), Fix: fix}
}

func (p *Preflight) checkConfig(context.Context) CheckResult {
	src := "defaults"
	if p.cfg.File != "" {
		src = p.cfg.File
	}
	if p.cfg.Stack == "external" {
		if _, err := ExternalEndpoints(p.cfg); err != nil {
			return usageFail(err)
		}
		if err := RequireModel(p.cfg); err != nil {
			return usageFail(err)
		}
	}
	return pass("settings valid (%s; stack %s)", src, p.cfg.Stack)
}

func (p *Preflight) ensurePlan() {
	if p.plan == nil {
		// A batch with problems still yields a plan; its problems are what
		// the inputs and grades checks report.
		p.plan, _ = BuildPlan(p.cfg)
	}
}

func (p *Preflight) checkInputs(context.Context) CheckResult {
	p.ensurePlan()
	var other []inputs.Problem
	for _, pr := range p.plan.Batch.Problems {
		if !pr.Grade {
			other = append(other, pr)
		}
	}
	if len(other) > 0 {
		return fail("run `eng5np plan` to list every problem, fix them, then re-run the checks",
			"%d problem(s): %s", len(other), other[0].String())
	}
	if err := p.plan.Settings.RequireIDs(); err != nil {
		return fail("set assignment_id and course_id in batch.yaml or pass --assignment-id / --course-id", "assignment or course id missing")
	}
	return pass("%s: %d anchors, %d students", p.plan.Batch.Dir, len(p.plan.Batch.Anchors), len(p.plan.Batch.Students))
}

func (p *Preflight) checkGrades(context.Context) CheckResult {
	p.ensurePlan()
	var bad []string
	for _, pr := range p.plan.Batch.Problems {
		if pr.Grade {
			bad = append(bad, pr.Path)
		}
	}
	if len(bad) > 0 {
		return fail("give each anchor a grade of "+p.plan.Batch.Scale.Name+" in anchors.csv, or choose the right --grade-scale",
			"%d anchor(s) without a valid grade: %s", len(bad), strings.Join(bad, ", "))
	}
	distinct := 0
	for _, c := range p.plan.Coverage {
		if c.Anchors > 0 {
			distinct++
		}
	}
	if distinct < 2 {
		return warn("add anchors of at least two grades, or accept no grade projection", "%d anchor grade(s) on %s: no grade projection", distinct, p.plan.Batch.Scale.Name)
	}
	return pass("%d anchors over %d of %d grades of %s", len(p.plan.Batch.Anchors), distinct, len(p.plan.Batch.Scale.Grades), p.plan.Batch.Scale.Name)
}

func (p *Preflight) checkSchema(context.Context) CheckResult {
	if _, err := schemas.AssessmentRun(); err != nil {
		return fail("this binary is broken: rebuild eng5np", "%v", err)
	}
	return pass("assessment_run schema compiled (format assertion on)")
}

func (p *Preflight) checkOutput(context.Context) CheckResult {
	dir := p.cfg.OutputDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail("choose a writable --output-dir", "cannot create %s: %v", dir, errors.Unwrap(err))
	}
	f, err := os.CreateTemp(dir, ".eng5np-write-check-*")
	if err != nil {
		return fail("choose a writable --output-dir", "cannot write in %s: %v", dir, errors.Unwrap(err))
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err == nil {
		free := uint64(st.Bavail) * uint64(st.Bsize)
		abs, _ := filepath.Abs(dir)
		switch {
		case free < minFreeBytes:
			return fail("free disk space or choose another --output-dir", "%s has only %d MiB free", abs, free>>20)
		case free < warnFreeBytes:
			return warn("free disk space for long runs", "%s has %d MiB free", abs, free>>20)
		}
		return pass("%s writable, %.1f GiB free", abs, float64(free)/(1<<30))
	}
	return pass("%s writable", dir)
}

func (p *Preflight) checkBroker(ctx context.Context) CheckResult {
	if p.cfg.NoKafka {
		return warn("", "skipped: --no-kafka publishes nothing")
	}
	if len(p.ep.Kafka.Bootstrap) == 0 {
		return fail("set --kafka-bootstrap (or KAFKA_BOOTSTRAP_SERVERS)", "no Kafka bootstrap address configured")
	}
	parts, err := capture.CheckBroker(ctx, p.ep.Kafka, BrokerTimeout)
	p.parts = parts
	if err != nil {
		return fail(fmt.Sprintf("start the broker at %s or point --kafka-bootstrap at a running one (kcat -L -b %s)", p.ep.Kafka, p.ep.Kafka.Bootstrap[0]),
			"%v", err)
	}
	return pass("%s answered (%d topics)", p.ep.Kafka, len(parts))
}

func (p *Preflight) checkTopics(ctx context.Context) CheckResult {
	if p.cfg.NoKafka {
		return warn("", "skipped: --no-kafka publishes nothing")
	}
	parts := p.parts
	if parts == nil {
		var err error
		if parts, err = capture.CheckBroker(ctx, p.ep.Kafka, BrokerTimeout); err != nil {
			return fail("fix the broker check first", "cannot list topics: %v", err)
		}
	}
	topics := events.NewTopics(p.cfg.Kafka.TopicPrefix)
	if missing := capture.MissingTopics(parts, topics.All()); len(missing) > 0 {
		return fail("create the topics, or set topic_prefix to the cluster's prefix", "missing on %s: %s", p.ep.Kafka, strings.Join(missing, ", "))
	}
	return pass("all 5 topics present (%s: %d partitions)", topics.ComparisonResult(), parts[topics.ComparisonResult()])
}

func (p *Preflight) checkPricing(context.Context) CheckResult {
	p.ensurePlan()
	e := p.plan.Estimate
	if !e.Priced {
		if p.cfg.BudgetUSD > 0 {
			return fail("add "+e.Provider+"/"+e.Model+" to the pricing list in eng5np.yaml", "%s/%s has no price, so --budget-usd cannot be enforced", e.Provider, e.Model)
		}
		return warn("add "+e.Provider+"/"+e.Model+" to the pricing list in eng5np.yaml", "%s/%s has no price: costs are shown as reported by the provider only", e.Provider, e.Model)
	}
	pr, _ := p.cfg.Pricing.Lookup(e.Provider, e.Model)
	return pass("%s/%s: $%g in / $%g out per 1M tokens", e.Provider, e.Model, pr.InputUSDPerMTok, pr.OutputUSDPerMTok)
}

func (p *Preflight) checkBudget(context.Context) CheckResult {
	p.ensurePlan()
	e := p.plan.Estimate
	r := p.budget(e)
	if r.Status == Pass && e.Requested > e.Cap {
		return warn(fmt.Sprintf("lower --max-comparisons to %d, or raise the service's cap (MAX_PAIRWISE_COMPARISONS; --service-max-comparisons tells eng5np)", e.Cap),
			"--max-comparisons %d is above the CJ service's cap: the service will stop at %d; %s", e.Requested, e.Cap, r.Detail)
	}
	return r
}

func (p *Preflight) budget(e Estimate) CheckResult {
	switch {
	case p.cfg.BudgetUSD <= 0:
		if e.Priced {
			return pass("no --budget-usd set; estimate $%.4f for %d comparisons", e.USD, e.Comparisons)
		}
		return pass("no --budget-usd set")
	case !e.Priced:
		return fail("price the model (see the pricing check)", "cannot compare an unpriced model with the $%.2f budget", p.cfg.BudgetUSD)
	case e.USD > p.cfg.BudgetUSD:
		return fail("raise --budget-usd or lower --max-comparisons", "estimate $%.4f for %d comparisons exceeds the budget $%.4f", e.USD, e.Comparisons, p.cfg.BudgetUSD)
	}
	return pass("estimate $%.4f within the budget $%.4f", e.USD, p.cfg.BudgetUSD)
}

// RunAll runs every check in order and reports each result as it finishes.
func (p *Preflight) RunAll(ctx context.Context, done func(Check, CheckResult)) (blocked bool) {
	for _, c := range p.Checks() {
		r := c.Run(ctx)
		if r.Status == Fail {
			blocked = true
		}
		if done != nil {
			done(c, r)
		}
	}
	return blocked
}
