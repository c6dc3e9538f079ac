package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"eng5np/artefacts"
	"eng5np/capture"
	"eng5np/config"
	"eng5np/devstack"
	"eng5np/huleedu"
	"eng5np/inputs"
	"eng5np/metrics"
	"eng5np/runner"
)

// stackHandle is the services a command uses; close stops an embedded stack.
type stackHandle struct {
	endpoints runner.Endpoints
	embedded  *devstack.Stack
}

func (s *stackHandle) close() {
	if s.embedded != nil {
		s.embedded.Close()
	}
}

// openStack returns the endpoints of the configured stack, starting the
// embedded one when --stack embedded. Everything after this sees addresses
// only.
func openStack(ctx context.Context, cfg *config.Config, logger *slog.Logger, reg prometheus.Registerer) (*stackHandle, error) {
	if cfg.Stack == "external" {
		ep, err := runner.ExternalEndpoints(cfg)
		if err != nil {
			return nil, err
		}
		return &stackHandle{endpoints: ep}, nil
	}
	gt, _, err := devstack.GroundTruth(cfg.DevStack.GroundTruth, filepath.Join(cfg.Inputs, inputs.GroundTruthName))
	if err != nil {
		return nil, exitf(runner.ExitUsage, "pass an existing id,quality CSV with --ground-truth", "%v", err)
	}
	// The embedded stack is a dev deployment set up for this batch: its
	// assignment has instructions and a student prompt, so a first run needs
	// nothing. (A batch with problems is reported by the pre-flight.)
	var seed []devstack.Assignment
	if plan, err := runner.BuildPlan(cfg); err == nil && plan.Settings.AssignmentID != "" {
		seed = append(seed, devstack.AssignmentOf(plan.Settings.AssignmentID, plan.Batch))
	}
	s, err := devstack.Start(ctx, devstack.Options{Partitions: cfg.DevStack.Partitions, TopicPrefix: cfg.Kafka.TopicPrefix, Seed: cfg.DevStack.Seed,
		MockLatency: cfg.DevStack.MockLatency, LateDelay: cfg.DevStack.LateDelay, Faults: cfg.DevStack.Faults, GroundTruth: gt,
		Pricing: cfg.Pricing, Logger: logger, Metrics: reg, Assignments: seed, MaxComparisons: cfg.ServiceMaxComparisons})
	if err != nil {
		return nil, exitf(runner.ExitFailure, "check that loopback networking works on this machine", "cannot start the embedded stack: %v", err)
	}
	// The embedded broker speaks plaintext whatever the Kafka settings say.
	conn, err := capture.Settings{Bootstrap: []string{s.Bootstrap}, ClientID: cfg.Kafka.ClientID}.Conn()
	if err != nil {
		s.Close()
		return nil, err
	}
	// Its admin API is authenticated with the stack's own secret, whatever
	// tokens the environment holds for other deployments.
	admin := huleedu.NewAdminAuth(huleedu.AuthSettings{JWTSecretKey: s.JWTSecret, Subject: "eng5np:" + runner.UserID(cfg)})
	return &stackHandle{endpoints: runner.Endpoints{Kafka: conn, ContentURL: s.URL, CJURL: s.URL, Admin: admin, HTTPTimeout: cfg.HTTPTimeout}, embedded: s}, nil
}

func newExecuteCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "execute",
		Short: "Run the batch: pre-flight, upload, register anchors, publish, capture, write the artefact",
		Long: `execute runs the pre-flight checks, then uploads the student essays to the content
service, registers the anchors with the CJ service, writes the request to
requests/, records the end of every consumed topic (so no callback can be missed),
publishes the CJ request with acks=all and captures every event into the journal
until the batch completes, fails, faults or times out. It writes
assessment_run.execute.json and manifest.json (atomically, about once a second and
at the end) and prints a summary.

By default it starts the embedded dev stack in-process (--stack embedded), so it
runs on a fresh checkout with no external service; --seed, --mock-latency,
--fault and --late-delay configure that stack (see ` + "`eng5np stack up --help`" + `).
With --stack external it talks to the services at --kafka-bootstrap,
--content-service-url and --cj-service-url.

In an interactive terminal it shows the dashboard; with --no-tui or when stdout is
not a terminal it prints one line per state change and a progress line every few
seconds.

Exit status: 0 complete; 1 a blocking pre-flight failure or runtime failure; 2 a
usage, config or input error; 3 a callback without its metadata (hard stop, the
artefact is still written); 4 timed out with partial data (resume it); 5 the
artefact failed verification; 6 the CJ service failed the batch; 130 interrupted.`,
		Example: `  eng5np execute
  eng5np execute --no-tui --fault duplicate=0.2 --fault malformed=0.1
  eng5np execute --completion-timeout 5s --fault late=0.5 --late-delay 20s
  eng5np execute --stack external --kafka-bootstrap 127.0.0.1:9092 \
      --content-service-url http://127.0.0.1:8090 --cj-service-url http://127.0.0.1:8090`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := e.loadConfig(cmd)
			if err != nil {
				return err
			}
			if err := runner.RequireModel(cfg); err != nil {
				return err
			}
			// Refuse before the checks if no artefact could name its commit.
			if _, err := artefacts.CurrentBuild(); err != nil {
				return err
			}
			obs, err := startMetrics(cfg)
			if err != nil {
				return err
			}
			defer obs.close()
			if e.useTUI(cfg) {
				// The dashboard handles SIGINT and SIGTERM itself (a clean stop).
				st, err := openStack(context.Background(), cfg, slog.New(slog.DiscardHandler), obs.registry())
				if err != nil {
					return err
				}
				defer st.close()
				return e.dashboard(runner.NewController(context.Background(), cfg, st.endpoints, obs.reporter()), cfg, "")
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return e.execute(ctx, cfg, obs)
		},
	}
	config.AddCommandFlags(cmd.Flags(), config.CmdExecute)
	return cmd
}

// execute runs execute without the dashboard.
func (e *env) execute(ctx context.Context, cfg *config.Config, obs *observability) error {
	stackLog := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := openStack(ctx, cfg, stackLog, obs.registry())
	if err != nil {
		return err
	}
	defer st.close()
	out := newPlainReporter(e.stdout)
	fmt.Fprintf(e.stdout, "eng5np execute: %s, stack %s (Kafka %s)\n", cfg.Inputs, cfg.Stack, st.endpoints.Kafka)
	pf := runner.NewPreflight(cfg, st.endpoints)
	blocked := pf.RunAll(ctx, out.check)
	if u, ok := pf.UsageFailure(); ok {
		return exitf(runner.ExitUsage, u.Fix, "%s; nothing was published", u.Detail)
	}
	if blocked {
		return exitf(runner.ExitFailure, "fix the failed checks above (each names its fix), then run again; `eng5np doctor` re-runs the checks alone",
			"a blocking pre-flight check failed; nothing was published")
	}
	if obs.server != nil {
		fmt.Fprintf(e.stdout, "metrics: http://%s/metrics\n", obs.server.Addr)
	}
	x := &runner.Execute{Config: cfg, Endpoints: st.endpoints, Plan: pf.Plan(), Reporter: runner.Reporters{out, obs.reporter()}, Stderr: e.stderr}
	sum, err := x.Run(ctx)
	if err != nil {
		return err
	}
	obs.linger(ctx, e.stdout, cfg.MetricsLinger)
	return summaryExit(sum)
}

// summaryExit turns a run's summary into the process's exit.
func summaryExit(s runner.Summary) error {
	if s.ExitCode == 0 {
		return nil
	}
	return &ExitError{Code: s.ExitCode, Err: errors.New(s.Message), Next: s.Next}
}

func newDoctorCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Run the pre-flight checks only and print them",
		Long: `doctor runs the checks execute runs before it publishes anything, in the same
order, and prints each with pass/warn/fail (or skip, after a failed check it
needs), its duration and a one-line fix:

  config valid, inputs complete and readable, grades belong to the scale, schema
  loads, output dir writable, broker reachable (within 5 s), topics present,
  content service reachable, CJ service reachable, admin auth (a token the CJ
  admin API accepts), assignment instructions (on the batch's grade scale, with a
  student prompt), anchors registered (compared, not registered), model priced,
  cost estimate within budget.

doctor writes nothing to any service: it only reads. Every HTTP request is
bounded by --http-timeout. With the default --stack embedded it starts the
embedded stack to check it; with --stack external it checks the services at the
given addresses, authenticating to the CJ admin API with HULEEDU_SERVICE_ACCOUNT_TOKEN,
HULEEDU_ADMIN_TOKEN, ENG5NP_CJ_ADMIN_TOKEN or a token minted with
ENG5NP_JWT_SECRET_KEY (docs/RUNBOOK.md, "A real deployment").

Exit status: 0 when no check failed (warnings allowed), 1 when one did.`,
		Example: `  eng5np doctor
  eng5np doctor --stack external --kafka-bootstrap kafka.internal:9092 \
      --content-service-url http://content:8000 --cj-service-url http://cj:9095`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := e.loadConfig(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			st, err := openStack(ctx, cfg, slog.New(slog.DiscardHandler), nil)
			if err != nil {
				return err
			}
			defer st.close()
			out := newPlainReporter(e.stdout)
			if runner.NewPreflight(cfg, st.endpoints).RunAll(ctx, out.check) {
				return exitf(runner.ExitFailure, "fix the failed checks (each names its fix) and run `eng5np doctor` again", "a blocking check failed")
			}
			fmt.Fprintln(e.stdout, "all blocking checks passed")
			return nil
		},
	}
	config.AddCommandFlags(cmd.Flags(), config.CmdDoctor)
	return cmd
}

func newResumeCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "resume RUN_DIR",
		Short: "Continue capturing a run after a timeout, a crash or Ctrl-C, without republishing",
		Long: `resume continues the capture of an existing run directory: it reads the
journal (discarding a torn last line), continues every partition after the last
record journaled, merges late events idempotently (duplicates change nothing) and
rewrites assessment_run.execute.json and manifest.json in place. It publishes
nothing.

It needs the stack that served the run to be running: the addresses recorded in
run.json are used unless --kafka-bootstrap, --content-service-url or
--cj-service-url override them. A run on the embedded stack can only be resumed
in place from the dashboard's summary (press r), because that stack lives as long
as the process that started it.

--completion-timeout counts from the start of the resume; without it the resume
waits as long as the run's own timeout (recorded in run.json). The dashboard's
in-place resume follows the same rule. After a second timeout, pass a longer one.

Exit status: as execute's; 2 when the run cannot be resumed (it completed, failed
or stopped on a metadata fault).`,
		Example: `  eng5np resume runs/sample-later-start-20261125T190929-5b0e6f5c
  eng5np resume --completion-timeout 10m runs/sample-later-start-20261125T190929-5b0e6f5c`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := e.loadConfig(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return e.resume(ctx, cfg, args[0])
		},
	}
	config.AddCommandFlags(cmd.Flags(), config.CmdResume)
	if f := cmd.Flags().Lookup("completion-timeout"); f != nil {
		// Not the execute default: a resume waits as long as the run did.
		f.DefValue = ""
		f.Usage = "stop this capture this long after the resume starts (default: the run's own completion timeout, from run.json; exit 4, resumable)"
	}
	return cmd
}

func (e *env) resume(ctx context.Context, cfg *config.Config, dir string) error {
	rd, err := runner.OpenRunDir(dir)
	if err != nil {
		return exitf(runner.ExitUsage, "pass a run directory written by `eng5np execute`", "%v", err)
	}
	if err := runner.CheckResumable(rd); err != nil {
		var nr *runner.NotResumableError
		if errors.As(err, &nr) && nr.Finished() {
			fmt.Fprintf(e.stdout, "%s\n", nr.Reason)
			return nil
		}
		return exitf(runner.ExitUsage, "", "cannot resume %v", err)
	}
	ep, err := runner.ResumeEndpoints(rd, cfg)
	if err != nil {
		return err
	}
	if _, err := capture.CheckBroker(ctx, ep.Kafka, runner.BrokerTimeout); err != nil {
		next := "start the stack that served the run again, or pass --kafka-bootstrap"
		if rd.Record.Stack == "embedded" {
			next = "this run used the embedded stack, which stopped with its process; a run on the embedded stack resumes in place from the dashboard (press r on the summary)"
		}
		return exitf(runner.ExitFailure, next, "cannot resume %s: %v", dir, err)
	}
	var timeout time.Duration
	if cfg.Explicit("completion_timeout") {
		timeout = cfg.CompletionTimeout
	}
	obs, err := startMetrics(cfg)
	if err != nil {
		return err
	}
	defer obs.close()
	if e.useTUI(cfg) {
		return e.dashboard(runner.NewResumeController(context.Background(), cfg, ep, obs.reporter(), dir, timeout), cfg, dir)
	}
	out := newPlainReporter(e.stdout)
	fmt.Fprintf(e.stdout, "eng5np resume: %s (batch %s, Kafka %s)\n", dir, rd.Record.BatchUUID, ep.Kafka)
	if obs.server != nil {
		fmt.Fprintf(e.stdout, "metrics: http://%s/metrics\n", obs.server.Addr)
	}
	x := &runner.Resume{Dir: dir, Config: cfg, Endpoints: &ep, CompletionTimeout: timeout, Reporter: runner.Reporters{out, obs.reporter()}, Stderr: e.stderr}
	sum, err := x.Run(ctx)
	if err != nil {
		return err
	}
	obs.linger(ctx, e.stdout, cfg.MetricsLinger)
	return summaryExit(sum)
}

// observability is the metrics of one command: a registry, the runner's
// metrics on it, and the server behind --metrics-addr. Without
// --metrics-addr it is empty and costs nothing.
type observability struct {
	reg    *prometheus.Registry
	runner *metrics.Runner
	server *metrics.Server
}

func startMetrics(cfg *config.Config) (*observability, error) {
	if cfg.MetricsAddr == "" {
		return &observability{}, nil
	}
	reg := metrics.NewRegistry()
	o := &observability{reg: reg, runner: metrics.NewRunner(reg)}
	srv, err := metrics.Serve(cfg.MetricsAddr, reg)
	if err != nil {
		return nil, exitf(runner.ExitUsage, "choose a free --metrics-addr", "%v", err)
	}
	o.server = srv
	return o, nil
}

// reporter is where the runner's events reach the metrics (nil: nowhere).
func (o *observability) reporter() runner.Reporter {
	if o == nil || o.runner == nil {
		return nil
	}
	return o.runner
}

// registry is where the embedded stack puts its metrics (nil: nowhere).
func (o *observability) registry() prometheus.Registerer {
	if o == nil || o.reg == nil {
		return nil
	}
	return o.reg
}

// linger keeps /metrics up for d after a headless run so that a scraper
// sees the final values; a signal (ctx) cuts it short.
func (o *observability) linger(ctx context.Context, w io.Writer, d time.Duration) {
	if o == nil || o.server == nil || d <= 0 || ctx.Err() != nil {
		return
	}
	fmt.Fprintf(w, "metrics: serving the final values at http://%s/metrics for %s (Ctrl-C stops)\n", o.server.Addr, d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (o *observability) close() {
	if o != nil {
		_ = o.server.Close()
	}
}
