package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"eng5np/config"
	"eng5np/devstack"
	"eng5np/events"
	"eng5np/fault"
	"eng5np/inputs"
	"eng5np/metrics"
	"eng5np/runner"
)

// The sample batch, whose ground truth and assignment `stack up` uses when
// it is present (run from a checkout).
const (
	sampleBatch        = "examples/sample"
	defaultGroundTruth = sampleBatch + "/ground_truth.csv"
)

func newStackCmd(e *env) *cobra.Command {
	stack := &cobra.Command{
		Use:   "stack",
		Short: "The embedded dev stack: broker, content service, CJ service and mock LLM provider",
		Long: `stack groups the commands of the dev stack that eng5np ships so that batches run on
a machine without any external service. ` + "`eng5np execute`" + ` starts the same stack
in-process by default (--stack embedded); ` + "`eng5np stack up`" + ` runs it standalone so
that other processes (a second eng5np, kcat) can use it.`,
		Example: "  eng5np stack up\n  eng5np stack up --kafka-port 19092 --http-port 18090 --seed 7 --fault duplicate=0.1",
	}
	stack.AddCommand(newStackUpCmd(e))
	return stack
}

func newStackUpCmd(e *env) *cobra.Command {
	var faultsHelp strings.Builder
	for _, n := range fault.Names() {
		fmt.Fprintf(&faultsHelp, "  %-20s %s\n", n, fault.Descriptions[n])
	}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run the dev stack standalone until interrupted",
		Long: `up starts, on 127.0.0.1:
  - a Kafka-protocol broker (kfake) with the five topics created (the
    comparison-result topic with --partitions partitions, the others with one);
  - the content service (/v1/content) and the CJ service's HTTP API on one port:
    anchor registration (/api/v1/anchors/register) and the admin API under
    /admin/v1 (anchor summary, assessment instructions, student prompts, judge
    rubrics), which takes only a Bearer JWT with the admin role signed with the
    stack's secret, as the real service does;
  - the CJ Assessment service: consumes CJ requests (dropping, without a failed
    event, one that fails validation, such as a course code outside ENG5 ENG6
    ENG7 SV1 SV2 SV3), adds every anchor registered for the assignment, naming
    each ANCHOR_{id}_{8 hex}, sends pairs in waves to the LLM provider, refits
    Bradley–Terry after each wave, publishes completed and result (or failed,
    with its reason in system_metadata.error_info); it spends at most
    --service-max-comparisons comparisons on a batch (default 120, the
    service's MAX_PAIRWISE_COMPARISONS) and fails a batch that overrides the
    judge rubric of a canonical_national assignment;
  - the mock LLM provider: a seeded judge whose verdicts follow a logistic model
    over the latent qualities in --ground-truth (default examples/sample's file
    when present; essays it lacks get a text heuristic).

The admin API's secret is ENG5NP_JWT_SECRET_KEY when set, else a fresh random one
that up prints first, as the line ENG5NP_JWT_SECRET_KEY=<secret>: export it in the
shell that runs eng5np against this stack. Like a dev deployment, the stack starts
with the sample batch's assignment set up (its instructions and student prompt);
any other assignment needs ` + "`eng5np assignment setup`" + ` first.

For a given --seed, pairs and verdicts are a pure function of the seed, the essay
ids, the wave and the pair's orientation: the same seed gives the same comparisons,
with or without transport faults, embedded or standalone. Port 0 picks a free port.

Faults (--fault NAME=RATE, repeatable; rates in [0,1]):
` + faultsHelp.String() + `
Ctrl-C (SIGINT) or SIGTERM stops the stack; it exits 0.`,
		Example: `  eng5np stack up
  eng5np stack up --kafka-port 0 --http-port 0 --seed 7
  eng5np stack up --fault drop_prompt_sha256=0.2 --fault duplicate=0.1
  eng5np stack up --data-dir /tmp/eng5np-broker      # the broker's log survives restarts`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := e.loadConfig(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			level := cfg.LogLevel
			if !cfg.Explicit("log_level") {
				level = slog.LevelInfo
			}
			logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
			gt, gtDesc, err := devstack.GroundTruth(cfg.DevStack.GroundTruth, defaultGroundTruth)
			if err != nil {
				return exitf(runner.ExitUsage, "pass an existing id,quality CSV with --ground-truth", "%v", err)
			}
			var reg *prometheus.Registry
			if cfg.MetricsAddr != "" {
				reg = metrics.NewRegistry()
				srv, err := metrics.Serve(cfg.MetricsAddr, reg)
				if err != nil {
					return exitf(runner.ExitUsage, "choose a free --metrics-addr", "%v", err)
				}
				defer srv.Close()
				fmt.Fprintf(e.stdout, "metrics: http://%s/metrics\n", srv.Addr)
			}
			// Seeded like a dev deployment: the sample batch's assignment has
			// its instructions and student prompt; any other starts empty.
			var seed []devstack.Assignment
			if b, err := inputs.Load(sampleBatch, inputs.Options{}); err == nil && b.Config.AssignmentID != "" {
				seed = append(seed, devstack.AssignmentOf(b.Config.AssignmentID, b))
			}
			s, err := devstack.Start(ctx, devstack.Options{
				KafkaPort: cfg.DevStack.KafkaPort, HTTPPort: cfg.DevStack.HTTPPort, Partitions: cfg.DevStack.Partitions,
				TopicPrefix: cfg.Kafka.TopicPrefix, Seed: cfg.DevStack.Seed, MockLatency: cfg.DevStack.MockLatency,
				LateDelay: cfg.DevStack.LateDelay, Faults: cfg.DevStack.Faults, GroundTruth: gt, Pricing: cfg.Pricing,
				DataDir: cfg.DevStack.DataDir, Logger: logger, Metrics: registerer(reg), MaxComparisons: cfg.ServiceMaxComparisons,
				JWTSecret: cfg.Auth.JWTSecretKey.Reveal(), JWTIssuer: cfg.Auth.JWTIssuer, JWTAudience: cfg.Auth.JWTAudience, Assignments: seed,
			})
			if err != nil {
				return exitf(runner.ExitFailure, "free the port or pass another with --kafka-port / --http-port (0 picks a free one)", "%v", err)
			}
			printStackBanner(e.stdout, s, cfg, gtDesc, seed)
			<-ctx.Done()
			fmt.Fprintln(e.stdout, "stopping the dev stack...")
			done := make(chan struct{})
			go func() { s.Close(); close(done) }()
			select {
			case <-done:
				fmt.Fprintln(e.stdout, "dev stack stopped")
			case <-time.After(4 * time.Second):
				fmt.Fprintln(e.stdout, "dev stack did not stop within 4s; exiting anyway")
			}
			return nil
		},
	}
	config.AddCommandFlags(cmd.Flags(), config.CmdStackUp)
	return cmd
}

func printStackBanner(w io.Writer, s *devstack.Stack, cfg *config.Config, gtDesc string, seeded []devstack.Assignment) {
	faults := cfg.DevStack.Faults.String()
	if faults == "" {
		faults = "none"
	}
	tp := events.NewTopics(cfg.Kafka.TopicPrefix)
	// The one secret eng5np ever prints: the one it made for its own dev
	// deployment, so that other shells can authenticate to it.
	if cfg.Auth.JWTSecretKey == "" {
		fmt.Fprintln(w, "The CJ admin API's JWT secret; give it to every eng5np that uses this stack:")
		fmt.Fprintf(w, "ENG5NP_JWT_SECRET_KEY=%s\n", s.JWTSecret)
	} else {
		fmt.Fprintln(w, "The CJ admin API uses the JWT secret of ENG5NP_JWT_SECRET_KEY in this shell.")
	}
	fmt.Fprintf(w, "eng5np dev stack is up (seed %d, faults: %s, mock latency %s)\n", cfg.DevStack.Seed, faults, cfg.DevStack.MockLatency)
	fmt.Fprintf(w, "  Kafka bootstrap    %s\n", s.Bootstrap)
	fmt.Fprintf(w, "  content service    %s/v1/content\n", s.URL)
	fmt.Fprintf(w, "  CJ service         %s (admin API under /admin/v1, Bearer JWT with the admin role)\n", s.URL)
	for _, a := range seeded {
		fmt.Fprintf(w, "  assignment         %s set up (instructions and student prompt, %s)\n", a.ID, a.GradeScale)
	}
	if len(seeded) == 0 {
		fmt.Fprintln(w, "  assignments        none set up: run `eng5np assignment setup` for yours")
	}
	fmt.Fprintf(w, "  topics             %s\n", strings.Join(tp.All(), "\n                     "))
	fmt.Fprintf(w, "  ground truth       %s\n", gtDesc)
	if cfg.DevStack.DataDir != "" {
		fmt.Fprintf(w, "  broker data        %s\n", cfg.DevStack.DataDir)
	}
	fmt.Fprintf(w, "\nRun a batch against it (with ENG5NP_JWT_SECRET_KEY set as above):\n  eng5np execute --stack external --kafka-bootstrap %s --content-service-url %s --cj-service-url %s --llm-provider mock --llm-model mock-judge-small\n", s.Bootstrap, s.URL, s.URL)
	fmt.Fprintf(w, "Watch the callbacks:\n  kcat -C -b %s -t %s -o end\n", s.Bootstrap, tp.ComparisonResult())
	fmt.Fprintln(w, "Ctrl-C stops the stack.")
}

// registerer avoids handing devstack a typed nil.
func registerer(r *prometheus.Registry) prometheus.Registerer {
	if r == nil {
		return nil
	}
	return r
}
