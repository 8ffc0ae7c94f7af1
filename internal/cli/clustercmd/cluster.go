// Package clustercmd implements `berth cluster up|down|status`: a real
// Kubernetes control plane on this machine.
package clustercmd

import (
	"github.com/spf13/cobra"

	"berth.dev/berth/internal/cli"
)

// New returns the `cluster` command.
func New(env cli.Env) *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Run a local Kubernetes control plane"}
	_ = env
	return cmd
}
