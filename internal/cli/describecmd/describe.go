// Package describecmd implements `berth describe KIND NAME`: one object in
// full, as YAML by default.
package describecmd

import (
	"github.com/spf13/cobra"

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/getcmd"
	"berth.dev/berth/internal/cli/kind"
	"berth.dev/berth/internal/client"
)

// New returns the `describe` command.
func New(env cli.Env) *cobra.Command {
	var place kind.Place
	var output string
	cmd := &cobra.Command{
		Use:   "describe KIND NAME",
		Short: "Show one object in full",
		Long:  "Show one object in full. Kinds: " + kind.Names() + ". For quota, NAME may be omitted.",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := kind.Lookup(args[0])
			if err != nil {
				return err
			}
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			place.Default(s.Context.Tenant, s.Context.Project)
			name := ""
			if len(args) == 2 {
				name = args[1]
			}
			if k.Name == "tenants" && name != "" {
				place.Tenant = name
			}
			objs, err := getcmd.Fetch(cmd.Context(), s.Client, k, place, name)
			if err != nil {
				return err
			}
			return kind.Print(env.Stdout, k, output, objs, true)
		},
	}
	place.Flags(cmd.Flags())
	cmd.Flags().StringVarP(&output, "output", "o", "yaml", "output format: yaml, json or table")
	return cmd
}
