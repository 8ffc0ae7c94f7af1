// Package deletecmd implements `berth delete KIND NAME`.
package deletecmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/kind"
	"berth.dev/berth/internal/client"
)

// New returns the `delete` command.
func New(env cli.Env) *cobra.Command {
	var place kind.Place
	var resourceVersion string
	cmd := &cobra.Command{
		Use:   "delete KIND NAME",
		Short: "Delete an object",
		Long:  "Delete an object. Kinds: " + kind.Names() + ". Members are named user:role.",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := kind.Lookup(args[0])
			if err != nil {
				return err
			}
			if k.Single {
				return fmt.Errorf("%s cannot be deleted", k.Name)
			}
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			place.Default(s.Context.Tenant, s.Context.Project)
			path, err := k.Item(place, args[1])
			if err != nil {
				return err
			}
			if err := s.Client.Do(cmd.Context(), "DELETE", path+client.Query("resourceVersion", resourceVersion), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "%s %s deleted\n", k.Name, args[1])
			return nil
		},
	}
	place.Flags(cmd.Flags())
	cmd.Flags().StringVar(&resourceVersion, "resource-version", "", "delete only if the object is still at this version")
	return cmd
}
