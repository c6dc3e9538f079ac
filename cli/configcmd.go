package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"eng5np/config"
)

func newConfigCmd(e *env) *cobra.Command {
	var showKeys bool
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show every setting's effective value and where it came from",
		Long: `config resolves the settings exactly as execute would — flags, then ENG5NP_*
environment variables (and KAFKA_BOOTSTRAP_SERVERS), then eng5np.yaml or
--config FILE, then defaults — and prints each key's value and source. Secrets are
shown as [redacted]. With --keys it lists every key, its environment variable and
the values it accepts.`,
		Example: `  eng5np config
  ENG5NP_MAX_COMPARISONS=300 eng5np config --config eng5np.yaml
  eng5np config --keys`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if showKeys {
				tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "KEY\tENVIRONMENT\tACCEPTS")
				for _, k := range config.Describe() {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", k.Name, k.Env, k.Accepts)
				}
				return tw.Flush()
			}
			cfg, err := e.loadConfig(cmd)
			if err != nil {
				return err
			}
			if cfg.File != "" {
				fmt.Fprintf(e.stdout, "config file: %s\n\n", cfg.File)
			} else {
				fmt.Fprintf(e.stdout, "config file: none (eng5np.yaml not found; --config or ENG5NP_CONFIG name one)\n\n")
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tVALUE\tSOURCE")
			for _, s := range cfg.Settings() {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Key, s.Value, s.Source)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&showKeys, "keys", false, "list every key with its environment variable and accepted values")
	config.AddCommandFlags(cmd.Flags(), config.CmdConfig)
	return cmd
}
