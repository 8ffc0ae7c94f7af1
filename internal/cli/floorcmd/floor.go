// Package floorcmd implements `berth approval-floor show|set|approve|withdraw`:
// the least approvals release orders need, by environment class, for the
// platform or a tenant. A lowering waits for a second admin's approval.
package floorcmd

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/client"
)

// New returns the `approval-floor` command.
func New(env cli.Env) *cobra.Command {
	cmd := &cobra.Command{Use: "approval-floor", Short: "Show and set the least approvals release orders need, by environment class"}
	var tenant string
	cmd.PersistentFlags().StringVarP(&tenant, "tenant", "t", "", "the tenant (default: the platform's floor)")
	path := func() string {
		if tenant == "" {
			return "/approval-floor"
		}
		return "/tenants/" + url.PathEscape(tenant) + "/approval-floor"
	}
	call := func(cmd *cobra.Command, method, p string, body any) error {
		s, err := client.Open(env.Getenv)
		if err != nil {
			return err
		}
		var f apitypes.ApprovalFloor
		if err := s.Client.Do(cmd.Context(), method, p, body, &f); err != nil {
			return err
		}
		printFloor(env, f)
		return nil
	}
	show := &cobra.Command{Use: "show", Short: "Show the floor and any pending change", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return call(cmd, "GET", path(), nil) }}
	var def int
	var classes []string
	set := &cobra.Command{
		Use:   "set [--default N] [--env prod=2]...",
		Short: "Set the floor; a change that lowers any class waits for another admin's approval",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := apitypes.ApprovalFloor{Default: def, Environments: map[string]int{}}
			for _, kv := range classes {
				k, v, ok := strings.Cut(kv, "=")
				n, err := strconv.Atoi(v)
				if !ok || err != nil {
					return fmt.Errorf("--env %q: want CLASS=N, such as prod=2", kv)
				}
				f.Environments[k] = n
			}
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			var cur apitypes.ApprovalFloor
			if err := s.Client.Do(cmd.Context(), "GET", path(), nil, &cur); err != nil {
				return err
			}
			f.ResourceVersion = cur.ResourceVersion
			return call(cmd, "PUT", path(), f)
		},
	}
	set.Flags().IntVar(&def, "default", 0, "the floor of environment classes not listed")
	set.Flags().StringSliceVar(&classes, "env", nil, "the floor of a class, CLASS=N (repeatable)")
	approve := &cobra.Command{Use: "approve", Short: "Approve another admin's pending change", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return call(cmd, "POST", path()+"/approve", nil) }}
	withdraw := &cobra.Command{Use: "withdraw", Short: "Withdraw the pending change", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return call(cmd, "POST", path()+"/withdraw", nil) }}
	cmd.AddCommand(show, set, approve, withdraw)
	return cmd
}

func printFloor(env cli.Env, f apitypes.ApprovalFloor) {
	fmt.Fprintf(env.Stdout, "Floor: %s\n", describe(f.Default, f.Environments))
	if p := f.Pending; p != nil {
		fmt.Fprintf(env.Stdout, "Pending (proposed by %s, needs another admin's approval): %s\n", p.ProposedBy, describe(p.Default, p.Environments))
	}
}

// describe reads a floor's default and its environment classes' floors.
func describe(def int, envs map[string]int) string {
	parts := []string{fmt.Sprintf("default %d", def)}
	for _, k := range slices.Sorted(maps.Keys(envs)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, envs[k]))
	}
	return strings.Join(parts, ", ")
}
