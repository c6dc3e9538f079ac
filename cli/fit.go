package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"eng5np/runner"
	"eng5np/scoring"
)

type fitOutput struct {
	Items      []scoring.Item `json:"items"`
	SSR        float64        `json:"ssr"`
	Iterations int            `json:"iterations"`
	Converged  bool           `json:"converged"`
	Alpha      float64        `json:"alpha"`
	Reference  *string        `json:"reference"`
	Notes      []string       `json:"notes,omitempty"`
}

func newFitCmd(e *env) *cobra.Command {
	var file, reference, format string
	var alpha float64
	cmd := &cobra.Command{
		Use:   "fit --comparisons FILE",
		Short: "Fit Bradley–Terry abilities with standard errors to a comparisons CSV or a run directory",
		Long: `fit estimates each item's Bradley–Terry ability (theta, on the logit scale) and its
standard error from the observed Fisher information, and reports wins, losses,
the scale separation reliability (SSR) and convergence.

--comparisons takes a CSV file with the header winner,loser (one row per judged
pair; repeated pairs count every time) or a run directory, whose artefact's
succeeded comparisons are used.

--alpha regularizes the fit as the production CJ service does (choix's ILSR with
the same alpha); 0 gives the pure maximum-likelihood estimate, which does not
exist when an item won or lost every comparison: fit then names those items.
Thetas are mean-centred; with --reference ID they are relative to that item, whose
SE is 0, and the SEs match R BradleyTerry2's for refcat = ID.

Exit status: 0 on success, 2 for an unreadable file (naming the line) or data
with no estimate.`,
		Example: `  eng5np fit --comparisons comparisons.csv
  eng5np fit --comparisons comparisons.csv --alpha 0 --reference item000 --format table
  eng5np fit --comparisons runs/sample-later-start-20261125T190929-5b0e6f5c`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return exitf(runner.ExitUsage, "pass --comparisons FILE (CSV with winner,loser) or a run directory", "no comparisons given")
			}
			if format != "json" && format != "table" {
				return exitf(runner.ExitUsage, "use --format json or --format table", "unknown format %q", format)
			}
			if math.IsNaN(alpha) || math.IsInf(alpha, 0) || alpha < 0 {
				return exitf(runner.ExitUsage, "use --alpha 0 (pure MLE) or a small positive number such as 0.01", "--alpha %v is not a number ≥ 0", alpha)
			}
			cs, items, err := runner.FitData(file)
			if err != nil {
				return err
			}
			opts := scoring.DefaultOptions()
			opts.Alpha = alpha
			opts.Reference = reference
			if alpha > 0 {
				opts.Items = items
			}
			res, err := scoring.Fit(cs, opts)
			if err != nil {
				var nm *scoring.NoMLEError
				if errors.As(err, &nm) {
					return err
				}
				return exitf(runner.ExitUsage, "check the comparisons file", "%s: %v", file, err)
			}
			out := toFitOutput(res)
			if format == "table" {
				printFitTable(e.stdout, out)
			} else {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					return err
				}
			}
			for _, n := range out.Notes {
				fmt.Fprintf(e.stderr, "note: %s\n", n)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&file, "comparisons", "", "CSV file with the header winner,loser, or a run directory")
	f.Float64Var(&alpha, "alpha", scoring.DefaultAlpha, "regularization (0 = pure maximum likelihood)")
	f.StringVar(&reference, "reference", "", "item whose ability is fixed at 0 (its SE is 0); default: mean-centred thetas")
	f.StringVar(&format, "format", "json", "output format: json or table")
	return cmd
}

func toFitOutput(res *scoring.Result) fitOutput {
	out := fitOutput{SSR: res.SSR, Iterations: res.Iterations, Converged: res.Converged, Alpha: res.Alpha, Notes: res.Notes()}
	if res.Reference != "" {
		ref := res.Reference
		out.Reference = &ref
	}
	out.Items = append([]scoring.Item(nil), res.Items...)
	scoring.SortByTheta(out.Items)
	return out
}

func printFitTable(w io.Writer, out fitOutput) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rank\tid\ttheta\tse\twins\tlosses\tcomparisons\t")
	for i, it := range out.Items {
		fmt.Fprintf(tw, "%d\t%s\t%.4f\t%.4f\t%d\t%d\t%d\t\n", i+1, it.ID, it.Theta, it.SE, it.Wins, it.Losses, it.Comparisons)
	}
	tw.Flush()
	ref := "mean-centred"
	if out.Reference != nil {
		ref = "reference " + *out.Reference
	}
	fmt.Fprintf(w, "SSR %.4f   alpha %g   %s   %d iterations, converged %v\n", out.SSR, out.Alpha, ref, out.Iterations, out.Converged)
}
