package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"eng5np/config"
	"eng5np/runner"
)

func newPlanCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Inventory the batch and print counts, expected comparisons and a cost estimate",
		Long: `plan reads the batch directory (--inputs, default examples/sample) and prints every
file with its status, the counts of anchors and students, how many anchors each
grade of the scale has, the expected number of comparisons (--max-comparisons)
and a cost estimate from the pricing table. Every problem is reported, not only
the first. plan writes nothing and uses no network.

Exit status: 0 when the batch is usable, 2 when it has problems or a setting is
invalid.`,
		Example: `  eng5np plan
  eng5np plan --inputs ~/batches/vt26 --grade-scale eng5_np_national_9_step
  eng5np plan --max-comparisons 300 --llm-provider anthropic --llm-model claude-haiku`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := e.loadConfig(cmd)
			if err != nil {
				return err
			}
			plan, err := runner.BuildPlan(cfg)
			printPlan(e.stdout, cfg, plan)
			return err
		},
	}
	config.AddCommandFlags(cmd.Flags(), config.CmdPlan)
	return cmd
}

func printPlan(w io.Writer, cfg *config.Config, p *runner.Plan) {
	s := p.Settings
	fmt.Fprintf(w, "Batch        %s (label %s)\n", p.Batch.Dir, s.BatchLabel)
	fmt.Fprintf(w, "Scale        %s\n", s.GradeScale)
	fmt.Fprintf(w, "Assignment   %s\n", orNotSet(s.AssignmentID))
	fmt.Fprintf(w, "Course       %s (%s, %s)\n", orNotSet(s.CourseID), s.CourseCode, s.Language)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Inventory")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range p.Batch.Files {
		sum := ""
		if len(f.Checksum) >= 12 {
			sum = "sha256:" + f.Checksum[:12]
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", f.Status, f.Path, f.Role, sum, f.Detail)
	}
	tw.Flush()
	fmt.Fprintln(w)

	est := p.Estimate
	fmt.Fprintf(w, "Counts       %d anchors, %d students, %d essays (%d possible pairs)\n", len(p.Batch.Anchors), len(p.Batch.Students), est.Essays, est.Pairs)
	var cov []string
	for _, c := range p.Coverage {
		cov = append(cov, fmt.Sprintf("%s:%d", c.Grade, c.Anchors))
	}
	fmt.Fprintf(w, "Grades       %s\n", strings.Join(cov, "  "))
	perEssay := 0.0
	if est.Essays > 0 {
		perEssay = 2 * float64(est.Comparisons) / float64(est.Essays)
	}
	capped := "--max-comparisons"
	if est.Requested > est.Cap {
		capped = fmt.Sprintf("--max-comparisons %d, capped by the CJ service", est.Requested)
	}
	fmt.Fprintf(w, "Comparisons  %d expected (%s), about %.1f per essay\n", est.Comparisons, capped, perEssay)
	if est.Priced {
		fmt.Fprintf(w, "Cost         $%.4f estimated for %s/%s (about %d prompt + %d completion tokens per comparison)\n",
			est.USD, est.Provider, est.Model, est.PromptTokens, est.CompletionTokens)
	} else {
		fmt.Fprintf(w, "Cost         unknown: %s/%s is not in the pricing table\n", est.Provider, est.Model)
	}
	if cfg.BudgetUSD > 0 {
		fmt.Fprintf(w, "Budget       $%.4f\n", cfg.BudgetUSD)
	}
	for _, warn := range p.Warnings {
		fmt.Fprintf(w, "Warning      %s\n", warn)
	}
	if n := len(p.Batch.Problems); n > 0 {
		fmt.Fprintf(w, "\n%d problem(s) found; the batch cannot be run until they are fixed.\n", n)
	}
}

func orNotSet(s string) string {
	if s == "" {
		return "(not set)"
	}
	return s
}

func newDryRunCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dry-run",
		Short: "Plan, then write a stub artefact, inputs snapshot and manifest into a fresh run directory",
		Long: `dry-run does everything plan does, then creates a fresh run directory
<output-dir>/<label>-<UTC yyyymmddThhmmss>-<8 hex of batch_uuid> holding
inputs.json (the inputs snapshot), a schema-valid assessment_run.dry-run.json and
manifest.json. It publishes nothing and uses no network. Check the result with
` + "`eng5np verify RUN_DIR`" + `.`,
		Example: `  eng5np dry-run
  eng5np dry-run --output-dir /tmp/runs --batch-label rehearsal`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := e.loadConfig(cmd)
			if err != nil {
				return err
			}
			res, err := runner.DryRun(cfg, time.Now())
			if res != nil && res.Plan != nil {
				printPlan(e.stdout, cfg, res.Plan)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "\nDry run written to %s\n", res.Dir)
			fmt.Fprintf(e.stdout, "  artefact   %s\n  manifest   %s\n  batch_uuid %s\n", res.Written.ArtefactPath, res.Written.ManifestPath, res.BatchUUID)
			fmt.Fprintf(e.stdout, "Next: eng5np verify %s\n", res.Dir)
			return nil
		},
	}
	config.AddCommandFlags(cmd.Flags(), config.CmdDryRun)
	return cmd
}
