// Package admincmd implements `berth admin`: maintenance run by the
// platform's operator on the server's host, against its database and key
// files directly, with the server's configuration (--config, BERTH_*,
// flags). `berth admin rotate-seal-key` re-seals every cluster kubeconfig
// under a new seal key.
package admincmd

import (
	"github.com/spf13/cobra"

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/servercmd"
	"berth.dev/berth/internal/config"
)

// New returns the `admin` command.
func New(env cli.Env) *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Maintenance on the server's host: rotate the seal key"}
	cmd.AddCommand(rotateSealKey(env))
	return cmd
}

func rotateSealKey(env cli.Env) *cobra.Command {
	var newKey string
	cmd := &cobra.Command{
		Use:   "rotate-seal-key",
		Short: "Re-seal every cluster kubeconfig under a new seal key, in one audited transaction",
		Long: "Re-seal every cluster kubeconfig under the key in --new-key-file (created with mode 0600 if it\n" +
			"does not exist), in one transaction with a seal.rotate audit record. The current key is the\n" +
			"server's (sealKeyFile). Stop the server first; afterwards set sealKeyFile to the new file and\n" +
			"start it again: it refuses to start with a key that cannot open the sealed data.",
		Args: cobra.NoArgs,
	}
	load := config.Bind(cmd.Flags(), env.Getenv)
	cmd.Flags().StringVar(&newKey, "new-key-file", "", "the new seal key file (mode 0600; created if missing)")
	_ = cmd.MarkFlagRequired("new-key-file")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := load()
		if err != nil {
			return err
		}
		return servercmd.RotateSealKey(cmd.Context(), cfg, newKey, env.Stdout)
	}
	return cmd
}
