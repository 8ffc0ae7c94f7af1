// Package getcmd implements `berth get KIND [NAME] -o table|json|yaml`.
package getcmd

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/kind"
	"berth.dev/berth/internal/client"
)

// New returns the `get` command.
func New(env cli.Env) *cobra.Command {
	var place kind.Place
	var output string
	cmd := &cobra.Command{
		Use:   "get KIND [NAME]",
		Short: "List objects of a kind, or show one",
		Long:  "List objects of a kind, or show one. Kinds: " + kind.Names() + ".",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(kind.Formats, output) {
				return fmt.Errorf("-o %s: want one of %s", output, strings.Join(kind.Formats, ", "))
			}
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
			objs, err := Fetch(cmd.Context(), s.Client, k, place, name)
			if err != nil {
				return err
			}
			return kind.Print(env.Stdout, k, output, objs, name != "" || k.Single)
		},
	}
	place.Flags(cmd.Flags())
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or yaml")
	return cmd
}

// Fetch returns the object named name, or every object of k at place
// (following every page) when name is empty.
func Fetch(ctx context.Context, c *client.Client, k kind.Kind, place kind.Place, name string) ([]map[string]any, error) {
	if name != "" || k.Single {
		path, err := k.Item(place, name)
		if err != nil {
			return nil, err
		}
		var obj map[string]any
		if err := c.Do(ctx, "GET", path, nil, &obj); err != nil {
			return nil, err
		}
		return []map[string]any{obj}, nil
	}
	path, err := k.Collection(place)
	if err != nil {
		return nil, err
	}
	return client.List[map[string]any](ctx, c, path)
}
