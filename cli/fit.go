package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"eng5np/runner"
	"eng5np/scoring"
)

// fitOutput is `eng5np fit`'s JSON.
type fitOutput struct {
	Estimator string         `json:"estimator"`
	Items     []scoring.Item `json:"items"`
	// SSR is null when undefined (ssr_note says why).
	SSR          *float64                 `json:"ssr"`
	SSRNote      string                   `json:"ssr_note,omitempty"`
	SplitHalf    *scoring.SplitHalfResult `json:"split_half"`
	OrderEffect  *scoring.OrderEffect     `json:"order_effect,omitempty"`
	Uncompared   []string                 `json:"uncompared"`
	Excluded     []scoring.Excluded       `json:"excluded,omitempty"`
	Components   [][]string               `json:"components"`
	Judges       []scoring.JudgeFit       `json:"judges,omitempty"`
	Misfits      []string                 `json:"misfits,omitempty"`
	PairDistance float64                  `json:"pair_distance"`
	Adaptive     bool                     `json:"adaptive_pairing"`
	Iterations   int                      `json:"iterations"`
	Converged    bool                     `json:"converged"`
	Alpha        float64                  `json:"alpha"`
	Reference    *string                  `json:"reference"`
	Notes        []string                 `json:"notes,omitempty"`
}

func newFitCmd(e *env) *cobra.Command {
	var file, reference, format, estimator string
	var alpha float64
	var splits int
	var seed uint64
	cmd := &cobra.Command{
		Use:   "fit --comparisons FILE",
		Short: "Fit Bradley–Terry abilities with standard errors, reliability and fit statistics to comparisons",
		Long: `fit estimates each item's Bradley–Terry ability (theta, on the logit scale) with its
standard error, and reports wins, losses, infit and outfit per item, the scale
separation reliability (SSR), the split-half reliability, the order effect, judge
fit and the comparison graph's components (docs/STATISTICS.md explains each).

--comparisons takes a CSV file with the header winner,loser (one row per judged
pair; repeated pairs count every time), or essay_a,essay_b,winner (winner the
winning essay's id: the pair's orientation is known, so the advantage of slot A
is fitted with the abilities), with an optional judge column; or a run directory,
whose artefact's succeeded comparisons are used (oriented, judged by their
provider/model, focused on the anchors' component).

--estimator jeffreys (the default) maximizes the likelihood under Jeffreys'
independence prior: items that won or lost every comparison get finite,
honest abilities, and only the connected component of the anchors (or, for a
file, the largest) is fitted; the rest are listed. --estimator alpha (or
--alpha X) is the production CJ service's estimator (choix's ILSR with alpha X,
every item). --alpha 0 (or --estimator ml) is the plain maximum-likelihood fit,
which does not exist when an item won or lost every comparison: fit then names
those items. Thetas are mean-centred; with --reference ID they are relative to
that item, whose SE is 0, and the ML SEs match R BradleyTerry2's for refcat = ID.

The split halves are seeded by --seed (for a run directory: its batch), so the
same data always gives the same figures.

Exit status: 0 on success, 2 for an unreadable file (naming the line) or data
with no estimate.`,
		Example: `  eng5np fit --comparisons comparisons.csv
  eng5np fit --comparisons comparisons.csv --alpha 0 --reference item000 --format table
  eng5np fit --comparisons runs/sample-later-start-20261125T190929-5b0e6f5c`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return exitf(runner.ExitUsage, "pass --comparisons FILE (CSV with winner,loser or essay_a,essay_b,winner) or a run directory", "no comparisons given")
			}
			if format != "json" && format != "table" {
				return exitf(runner.ExitUsage, "use --format json or --format table", "unknown format %q", format)
			}
			if math.IsNaN(alpha) || math.IsInf(alpha, 0) || alpha < 0 {
				return exitf(runner.ExitUsage, "use --alpha 0 (pure MLE) or a small positive number such as 0.01", "--alpha %v is not a number ≥ 0", alpha)
			}
			opts := scoring.DefaultOptions()
			switch {
			case cmd.Flags().Changed("estimator"):
				opts.Estimator, opts.Alpha = estimator, alpha
			case cmd.Flags().Changed("alpha"):
				opts.Estimator, opts.Alpha = scoring.EstimatorAlpha, alpha
			}
			if !contains(scoring.Estimators, opts.Estimator) {
				return exitf(runner.ExitUsage, "use --estimator "+strings.Join(scoring.Estimators, ", "), "unknown estimator %q", opts.Estimator)
			}
			if opts.Estimator == scoring.EstimatorAlpha && alpha == 0 {
				opts.Estimator = scoring.EstimatorML
			}
			opts.Reference = reference
			in, err := runner.FitData(file)
			if err != nil {
				return err
			}
			if opts.Estimator != scoring.EstimatorML {
				opts.Items = in.Items
			}
			opts.Focus = in.Anchors
			res, err := scoring.Fit(in.Comparisons, opts)
			if err != nil {
				var nm *scoring.NoMLEError
				if errors.As(err, &nm) {
					return err
				}
				return exitf(runner.ExitUsage, "check the comparisons file", "%s: %v", file, err)
			}
			out := toFitOutput(res)
			if !cmd.Flags().Changed("seed") && in.Seed != "" {
				seed = scoring.Seed(in.Seed)
			}
			if sh, err := scoring.SplitHalf(in.Comparisons, opts, splits, seed); err == nil {
				out.SplitHalf = &sh
			} else {
				out.Notes = append(out.Notes, "split-half: "+err.Error())
			}
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
	f.StringVar(&file, "comparisons", "", "CSV file (winner,loser or essay_a,essay_b,winner), or a run directory")
	f.StringVar(&estimator, "estimator", scoring.EstimatorJeffreys, "estimator: "+strings.Join(scoring.Estimators, ", "))
	f.Float64Var(&alpha, "alpha", scoring.DefaultAlpha, "the alpha estimator's regularization (given alone it selects that estimator; 0 = plain maximum likelihood)")
	f.StringVar(&reference, "reference", "", "item whose ability is fixed at 0 (its SE is 0); default: mean-centred thetas")
	f.StringVar(&format, "format", "json", "output format: json or table")
	f.IntVar(&splits, "splits", scoring.DefaultSplits, "random halvings for the split-half reliability")
	f.Uint64Var(&seed, "seed", 1, "seed of the split halves (default for a run directory: its batch)")
	return cmd
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func toFitOutput(res *scoring.Result) fitOutput {
	out := fitOutput{Estimator: res.Estimator, SSR: res.SSR, SSRNote: res.SSRNote, OrderEffect: res.Order, Uncompared: res.Uncompared,
		Excluded: res.Excluded, Components: res.Components, Judges: res.Judges, Misfits: res.Misfits, PairDistance: res.PairDistance,
		Adaptive: res.Adaptive(), Iterations: res.Iterations, Converged: res.Converged, Alpha: res.Alpha, Notes: res.Notes()}
	if out.Uncompared == nil {
		out.Uncompared = []string{}
	}
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
	fmt.Fprintln(tw, "rank\tid\ttheta\tse\twins\tlosses\tcomparisons\tinfit\toutfit\t")
	for i, it := range out.Items {
		fmt.Fprintf(tw, "%d\t%s\t%.4f\t%.4f\t%d\t%d\t%d\t%.2f\t%.2f\t\n", i+1, it.ID, it.Theta, it.SE, it.Wins, it.Losses, it.Comparisons, it.Infit, it.Outfit)
	}
	tw.Flush()
	ref := "mean-centred"
	if out.Reference != nil {
		ref = "reference " + *out.Reference
	}
	ssr := "undefined"
	if out.SSR != nil {
		ssr = fmt.Sprintf("%.4f", *out.SSR)
	}
	fmt.Fprintf(w, "estimator %s   SSR %s   %s   %d iterations, converged %v\n", out.Estimator, ssr, ref, out.Iterations, out.Converged)
	if sh := out.SplitHalf; sh != nil {
		fmt.Fprintf(w, "split-half %.4f (range %.4f–%.4f over %d splits)\n", sh.Estimate, sh.Min, sh.Max, sh.Splits)
	}
	if o := out.OrderEffect; o != nil {
		fmt.Fprintf(w, "order effect (slot A) %+.4f ± %.4f over %d oriented comparisons\n", o.Estimate, o.SE, o.Comparisons)
	}
	for _, j := range out.Judges {
		fmt.Fprintf(w, "judge %s: %d comparisons, infit %.2f, outfit %.2f\n", j.Judge, j.Comparisons, j.Infit, j.Outfit)
	}
	if len(out.Misfits) > 0 {
		fmt.Fprintf(w, "misfitting items (infit above mean + 2 SD): %s\n", strings.Join(out.Misfits, ", "))
	}
}
