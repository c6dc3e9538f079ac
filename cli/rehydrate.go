package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"eng5np/journal"
	"eng5np/runner"
)

func newRehydrateCmd(e *env) *cobra.Command {
	var force, salvage bool
	cmd := &cobra.Command{
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

Every journal record carries a running SHA-256 over the record before it: a
journal changed after the run wrote it (a line edited, deleted, inserted or
moved) is refused, naming the line. --force rebuilds anyway and records the
breaks in validation.journal, where verify reports them. A journal damaged in the
middle (unparsable lines, as two processes writing one journal leave) is refused
too; --salvage keeps every record that parses, names the bad lines and marks the
artefact salvaged.

rehydrate re-hashes the files as they are now: it reports what had changed since
the previous manifest. Keep the original run directory when a verify failure is
being investigated.

Exit status: 0 when the rebuilt artefact verifies; 1 when another process holds
the run directory; 2 when RUN_DIR is not an execute run directory; 5 when the
journal was changed or damaged (without --force or --salvage), or the artefact
cannot be written or does not verify.`,
		Example: `  eng5np rehydrate runs/sample-later-start-20261125T190929-5b0e6f5c
  eng5np rehydrate /mnt/archive/vt26-20261125T190929-5b0e6f5c && eng5np verify /mnt/archive/vt26-20261125T190929-5b0e6f5c`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			x := &runner.Rehydrate{Dir: dir, Force: force, Salvage: salvage}
			res, err := x.Run()
			var ee *runner.ExitError
			var ce *journal.ChainError
			var co *journal.CorruptError
			switch {
			case res == nil && errors.As(err, &ee):
				return err
			case errors.As(err, &ce):
				return exitf(runner.ExitVerify, "investigate who changed it (the original run directory, if you have it, tells); `eng5np rehydrate --force "+dir+
					"` rebuilds anyway and records the break in the artefact", "%v; nothing was rewritten", err)
			case errors.As(err, &co):
				return exitf(runner.ExitVerify, "`eng5np rehydrate --salvage "+dir+"` keeps every record that parses and marks the artefact salvaged", "%v; nothing was rewritten", err)
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
			if len(res.Breaks) > 0 {
				fmt.Fprintf(e.stdout, "  forced: journal lines %v were changed after the run wrote them; the artefact records it\n", res.Breaks)
			}
			if len(res.BadLines) > 0 {
				fmt.Fprintf(e.stdout, "  salvaged: journal lines %v could not be read and are left out; the artefact records it\n", res.BadLines)
			}
			if res.Interrupted {
				fmt.Fprintf(e.stdout, "  %s\n", res.Message)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "rebuild even when the journal's hash chain breaks (the artefact records where)")
	cmd.Flags().BoolVar(&salvage, "salvage", false, "skip unparsable journal lines in the middle, keeping every record that parses (the artefact records which)")
	return cmd
}
