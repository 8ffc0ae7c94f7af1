// Package versioncmd implements `berth version`.
package versioncmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/version"
)

// New returns the `version` command.
func New(env cli.Env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of this berth binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version.Get()
			_, err := fmt.Fprintf(env.Stdout, "berth %s (%s, %s)\n", v.Version, v.GoVersion, v.Platform)
			return err
		},
	}
}
