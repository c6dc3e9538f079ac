package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"eng5np/runner"
)

func newRehydrateCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "rehydrate RUN_DIR",
		Short: "Rebuild an execute run's artefact and manifest from its journal, offline",
		Long: `rehydrate rebuilds assessment_run.execute.json and manifest.json in place from
the run directory alone: run.json, inputs.json and events/journal.jsonl. It needs no
network and none of the original input files, so it works on a copy of the run
directory anywhere. llm_comparisons, bt_summary, grade_projections, costs and
inputs come out byte for byte as the run wrote them; metadata.generated_at and the
build that did the rebuilding are the only differences.

Use it when the artefact or the manifest was lost or damaged, or after the runner
was killed (the last capture then shows as interrupted; ` + "`eng5np resume`" + ` continues it).
A torn last journal line from a crash is skipped. It writes no log.

rehydrate re-hashes the files as they are now: it reports what had changed since
the previous manifest, but it cannot tell a crash from tampering. Keep the
original run directory when a verify failure is being investigated.

Exit status: 0 when the rebuilt artefact verifies; 2 when RUN_DIR is not an
execute run directory; 5 when the artefact cannot be written or does not verify.`,
		Example: `  eng5np rehydrate runs/sample-later-start-20261125T190929-5b0e6f5c
  eng5np rehydrate /mnt/archive/vt26-20261125T190929-5b0e6f5c && eng5np verify /mnt/archive/vt26-20261125T190929-5b0e6f5c`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			x := &runner.Rehydrate{Dir: dir}
			res, err := x.Run()
			var ee *runner.ExitError
			if res == nil && errors.As(err, &ee) {
				return err
			}
			if res == nil && err != nil {
				return exitf(runner.ExitUsage, "pass a run directory written by `eng5np execute`", "%v", err)
			}
			for _, b := range res.Before {
				fmt.Fprintf(e.stdout, "changed since the last manifest: %s\n", b)
			}
			if len(res.Before) > 0 && !res.Interrupted {
				fmt.Fprintln(e.stdout, "warning: files changed after a run that ended cleanly; if that was not you, investigate before handing the artefact on")
			}
			if res.TornBytes > 0 {
				fmt.Fprintf(e.stdout, "journal: skipped an incomplete last line (%d bytes) left by a crash\n", res.TornBytes)
			}
			if err != nil {
				return exitf(runner.ExitVerify, "the journal in "+dir+" is untouched; report this with the message above", "cannot write the artefact: %v", err)
			}
			fmt.Fprintf(e.stdout, "rehydrated %s from %d journal records: %s, %d comparisons, $%.4f\n", dir, res.Records, res.Outcome, res.Comparisons, res.CostUSD)
			fmt.Fprintf(e.stdout, "  artefact  %s\n  manifest  %s\n", res.Written.ArtefactPath, res.Written.ManifestPath)
			if !res.Verified {
				for _, p := range res.Problems {
					fmt.Fprintf(e.stderr, "mismatch: %s\n", p)
				}
				return exitf(runner.ExitVerify, "report this; the journal is untouched", "the rebuilt artefact does not verify")
			}
			fmt.Fprintln(e.stdout, "  verify: OK")
			if res.Interrupted {
				fmt.Fprintf(e.stdout, "  %s\n", res.Message)
			}
			return nil
		},
	}
}
