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

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/client"
)

type change struct {
	Default      int            `json:"default"`
	Environments map[string]int `json:"environments,omitempty"`
	ProposedBy   string         `json:"proposedBy,omitempty"`
}

type floor struct {
	change
	Pending         *change `json:"pending,omitempty"`
	ResourceVersion int64   `json:"resourceVersion"`
	UpdatedBy       string  `json:"updatedBy,omitempty"`
}

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
		var f floor
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
			c := change{Default: def, Environments: map[string]int{}}
			for _, kv := range classes {
				k, v, ok := strings.Cut(kv, "=")
				n, err := strconv.Atoi(v)
				if !ok || err != nil {
					return fmt.Errorf("--env %q: want CLASS=N, such as prod=2", kv)
				}
				c.Environments[k] = n
			}
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			var cur floor
			if err := s.Client.Do(cmd.Context(), "GET", path(), nil, &cur); err != nil {
				return err
			}
			body := struct {
				change
				ResourceVersion int64 `json:"resourceVersion"`
			}{c, cur.ResourceVersion}
			return call(cmd, "PUT", path(), body)
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

func printFloor(env cli.Env, f floor) {
	fmt.Fprintf(env.Stdout, "Floor: %s\n", describe(f.change))
	if f.Pending != nil {
		fmt.Fprintf(env.Stdout, "Pending (proposed by %s, needs another admin's approval): %s\n", f.Pending.ProposedBy, describe(*f.Pending))
	}
}

func describe(c change) string {
	parts := []string{fmt.Sprintf("default %d", c.Default)}
	for _, k := range slices.Sorted(maps.Keys(c.Environments)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, c.Environments[k]))
	}
	return strings.Join(parts, ", ")
}
