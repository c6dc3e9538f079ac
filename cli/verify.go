package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"eng5np/runner"
)

func newVerifyCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "verify RUN_DIR",
		Short: "Re-hash every manifest entry and re-validate the artefact; exit 5 on any mismatch",
		Long: `verify checks a run directory before its artefact is handed on: every file listed
in manifest.json must still have its recorded sha256 and size, no unlisted file may
have appeared, nothing in the directory may be a symlink, a pipe or another
non-regular file, the artefact must validate against the schema and match its own
artefact_checksum, its embedded manifest must equal manifest.json, and every
comparison must carry its essay ids and prompt hash.

Then it checks the meaning: an execute run's journal is folded again, offline, as
rehydrate does, its hash chain checked record by record, and every section the
journal determines (inputs, llm_comparisons, bt_summary, grade_projections, costs,
service_results, the validation statuses) must equal the artefact's. An artefact
edited consistently, with its checksum and manifest recomputed, fails here, naming
the section and the first difference. verify writes nothing.

Exit status: 0 when everything holds, 5 naming every mismatched file otherwise.`,
		Example: `  eng5np verify runs/sample-later-start-20261125T190929-5b0e6f5c`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := runner.Verify(args[0])
			if err != nil {
				return &ExitError{Code: runner.ExitVerify, Err: err, Next: "pass a run directory written by dry-run or execute"}
			}
			for _, w := range rep.Warnings {
				fmt.Fprintf(e.stdout, "warning: %s\n", w)
			}
			if !rep.OK() {
				for _, p := range rep.Problems {
					fmt.Fprintf(e.stderr, "mismatch: %s\n", p)
				}
				return exitf(runner.ExitVerify, "do not hand this artefact on; restore the run directory from its original copy or rerun the batch "+
					"(when only the artefact or manifest was lost or damaged and the journal is intact, `eng5np rehydrate "+args[0]+"` rebuilds them)",
					"%s failed verification: %d problem(s)", args[0], len(rep.Problems))
			}
			fmt.Fprintf(e.stdout, "OK: %s verified (%d manifest entries re-hashed, schema valid, checksum matches)\n", rep.Artefact, rep.Checked)
			return nil
		},
	}
}
