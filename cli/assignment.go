package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"eng5np/config"
	"eng5np/huleedu"
	"eng5np/runner"
)

// serviceHelp is the part of the assignment commands' help that says where
// the services are and how eng5np authenticates.
const serviceHelp = `
They talk to the deployment at --content-service-url and --cj-service-url
(the content URL may end in /v1/content). Every CJ admin request carries a
Bearer token: HULEEDU_SERVICE_ACCOUNT_TOKEN, HULEEDU_ADMIN_TOKEN or
ENG5NP_CJ_ADMIN_TOKEN, in that order, or one minted with ENG5NP_JWT_SECRET_KEY
(the CJ service's JWT_SECRET_KEY; development deployments only). The batch
(--inputs, default examples/sample) gives the assignment id, the grade scale
and the texts.`

func newAssignmentCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "assignment",
		Short: "Show or set up a batch's assignment in the CJ service (instructions, student prompt, judge rubric)",
		Long: `Every batch with an assignment id needs the assignment's assessment instructions
in the CJ service, or the service fails the batch. assignment show reads what the
service holds for the batch's assignment; assignment setup creates or updates it.` + serviceHelp,
		Example: `  eng5np assignment show --content-service-url http://127.0.0.1:8090 --cj-service-url http://127.0.0.1:8090
  eng5np assignment setup --inputs ~/batches/vt26 --rubric --content-service-url http://content:8000/v1/content --cj-service-url http://cj:9095`,
	}
	cmd.AddCommand(newAssignmentShowCmd(e), newAssignmentSetupCmd(e))
	return cmd
}

// serviceCommand loads a command's settings and runs fn with a context that
// a signal cancels.
func (e *env) serviceCommand(cmd *cobra.Command, fn func(ctx context.Context, cfg *config.Config) error) error {
	cfg, err := e.loadConfig(cmd)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return fn(ctx, cfg)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newAssignmentShowCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show what the CJ service holds for the batch's assignment",
		Long: `show prints the assignment's assessment instructions (grade scale, context origin),
its student prompt and judge rubric, and the anchors registered for it: their ids
(the ids the CJ service puts in a batch's anchor ids, ANCHOR_<id>_<hex>), labels and
grades, and which of them are not in this batch (the service adds every
registered anchor to every batch of the assignment). It writes nothing.` + serviceHelp + `

Exit status: 0 when the assignment was read (even when it is not set up: the
output says so), 1 when the service could not be read, 2 for a usage error.`,
		Example: `  eng5np assignment show --content-service-url http://127.0.0.1:8090 --cj-service-url http://127.0.0.1:8090
  eng5np assignment show --json --assignment-id 3c2f9a4e-6b1d-4e8a-9f27-5d0c8b1e7a64 --cj-service-url http://cj:9095 --content-service-url http://content:8000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.serviceCommand(cmd, func(ctx context.Context, cfg *config.Config) error {
				v, err := runner.ShowAssignment(ctx, cfg)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(e.stdout, v)
				}
				printAssignment(e.stdout, v)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	config.AddCommandFlags(cmd.Flags(), config.CmdAssignment)
	return cmd
}

func printAssignment(w io.Writer, v *runner.AssignmentView) {
	fmt.Fprintf(w, "Assignment  %s\n", v.AssignmentID)
	if in := v.Instructions; in != nil {
		fmt.Fprintf(w, "Scale       %s (the batch: %s)\n", in.GradeScale, v.BatchGradeScale)
		fmt.Fprintf(w, "Context     %s\n", in.ContextOrigin)
		fmt.Fprintf(w, "Created     %s (instructions id %d)\n", in.CreatedAt.Format("2006-01-02 15:04:05 MST"), in.ID)
		fmt.Fprintf(w, "\nInstructions\n%s\n", indent(in.InstructionsText))
		fmt.Fprintf(w, "\nStudent prompt\n%s\n", indent(orNone(v.StudentPrompt)))
		fmt.Fprintf(w, "\nJudge rubric\n%s\n", indent(orNone(v.JudgeRubric)))
		fmt.Fprintf(w, "\nAnchors (%d in %s", len(v.Anchors), in.GradeScale)
		for scale, n := range v.AnchorCountByScale {
			if scale != in.GradeScale {
				fmt.Fprintf(w, "; %d in %s", n, scale)
			}
		}
		fmt.Fprintln(w, ")")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  id\tlabel\tgrade\tin this batch\t")
		for _, a := range v.Anchors {
			in := "no"
			switch {
			case a.InBatch && a.BatchGrade == a.Grade:
				in = "yes"
			case a.InBatch:
				in = "yes, as " + a.BatchGrade
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t\n", a.ID, a.Label, a.Grade, in)
		}
		tw.Flush()
	} else {
		fmt.Fprintln(w, "Not set up: the CJ service holds no assessment instructions for it.")
	}
	for _, n := range v.Notes {
		fmt.Fprintf(w, "Note: %s\n", n)
	}
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n")
}

func orNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return "(none)"
	}
	return s
}

func newAssignmentSetupCmd(e *env) *cobra.Command {
	var asJSON, rubric bool
	var origin string
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Create or update the batch's assignment in the CJ service",
		Long: `setup makes the CJ service hold what a batch of the assignment needs:
  - the assessment instructions: the batch's instructions.md, its grade scale, and
    --context-origin (research_experiment unless given; an existing assignment
    keeps its own);
  - instructions.md as the student prompt;
  - with --rubric, prompt.md as the judge rubric.
It writes only what differs and prints what it changed, so running it twice
changes nothing the second time. A grade scale or context origin cannot change
once the instructions exist: setup refuses a batch on another scale before it
writes anything.` + serviceHelp + `

Exit status: 0 when the assignment is set up, 1 when the service refused or
could not be reached, 2 for a usage error (another grade scale, a bad origin).`,
		Example: `  eng5np assignment setup --content-service-url http://127.0.0.1:8090 --cj-service-url http://127.0.0.1:8090
  eng5np assignment setup --inputs ~/batches/vt26 --rubric --context-origin research_experiment \
      --content-service-url http://content:8000 --cj-service-url http://cj:9095`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.serviceCommand(cmd, func(ctx context.Context, cfg *config.Config) error {
				rep, err := runner.SetupAssignment(ctx, cfg, runner.SetupOptions{ContextOrigin: origin, Rubric: rubric})
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(e.stdout, rep)
				}
				fmt.Fprintf(e.stdout, "Assignment %s\n", rep.AssignmentID)
				printChanges(e.stdout, rep.Changes)
				if !rep.Changed() {
					fmt.Fprintln(e.stdout, "Nothing changed: the assignment was already set up.")
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print JSON instead of text")
	f.BoolVar(&rubric, "rubric", false, "also store the batch's prompt.md as the judge rubric")
	f.StringVar(&origin, "context-origin", "", "context origin of new instructions: "+strings.Join(huleedu.ContextOrigins, " or ")+" (default: research_experiment, or the existing one)")
	config.AddCommandFlags(f, config.CmdAssignment)
	return cmd
}

func printChanges(w io.Writer, changes []runner.Change) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range changes {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t\n", c.What, c.Action, c.Detail)
	}
	tw.Flush()
}

func newAnchorsCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "anchors",
		Short: "Register the batch's anchors with the CJ service",
		Long: `Anchors are registered with the CJ service per assignment; the service adds
every registered anchor to every batch of the assignment. execute registers the
batch's missing anchors before it publishes; anchors register does it alone.` + serviceHelp,
		Example: "  eng5np anchors register --content-service-url http://127.0.0.1:8090 --cj-service-url http://127.0.0.1:8090",
	}
	cmd.AddCommand(newAnchorsRegisterCmd(e))
	return cmd
}

func newAnchorsRegisterCmd(e *env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Register the batch's anchors that the CJ service does not hold",
		Long: `register compares the batch's anchors with those registered for the assignment
(by label, which is the anchor id, and grade) and registers the missing ones and
those registered with another grade; the others are left as they are. The CJ
service registers only anchors of at least 100 characters: shorter ones are named
before anything is sent. The assignment must have its instructions (` + "`eng5np assignment setup`" + `).` + serviceHelp + `

Exit status: 0 when every anchor is registered, 1 when the service refused or
could not be reached, 2 for a usage error (a short anchor, a bad batch).`,
		Example: `  eng5np anchors register --content-service-url http://127.0.0.1:8090 --cj-service-url http://127.0.0.1:8090
  eng5np anchors register --json --inputs ~/batches/vt26 --content-service-url http://content:8000 --cj-service-url http://cj:9095`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.serviceCommand(cmd, func(ctx context.Context, cfg *config.Config) error {
				rep, err := runner.RegisterBatchAnchors(ctx, cfg)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(e.stdout, rep)
				}
				fmt.Fprintf(e.stdout, "Assignment %s\n", rep.AssignmentID)
				printChanges(e.stdout, rep.Changes)
				if len(rep.Foreign) > 0 {
					fmt.Fprintf(e.stdout, "Also registered for the assignment, not in this batch (the service adds them to the batch): %s\n", strings.Join(rep.Foreign, ", "))
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	config.AddCommandFlags(cmd.Flags(), config.CmdAssignment)
	return cmd
}
