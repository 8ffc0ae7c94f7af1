// Package tokencmd implements `berth token create|list|revoke`: the
// caller's API tokens.
package tokencmd

import (
	"fmt"
	"net/url"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/getcmd"
	"berth.dev/berth/internal/cli/kind"
	"berth.dev/berth/internal/client"
)

// New returns the `token` command.
func New(env cli.Env) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Create, list and revoke your API tokens"}
	var ttl string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an API token; its secret is printed once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			var out struct {
				ID        string `json:"id"`
				ExpiresAt string `json:"expiresAt"`
				Secret    string `json:"secret"`
			}
			if err := s.Client.Do(cmd.Context(), "POST", "/tokens", map[string]string{"name": args[0], "ttl": ttl}, &out); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Token %s (id %s) expires %s:\n%s\n(shown only now)\n", args[0], out.ID, out.ExpiresAt, out.Secret)
			return nil
		},
	}
	create.Flags().StringVar(&ttl, "ttl", "", "lifetime, e.g. 720h (default: the server's)")
	var output string
	list := &cobra.Command{
		Use:   "list",
		Short: "List your API tokens",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			k, _ := kind.Lookup("tokens")
			objs, err := getcmd.Fetch(cmd.Context(), s.Client, k, kind.Place{}, "")
			if err != nil {
				return err
			}
			return kind.Print(env.Stdout, k, output, objs, false)
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "table", "table, json or yaml")
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke one of your API tokens",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			if err := s.Client.Do(cmd.Context(), "DELETE", "/tokens/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Token %s revoked\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}
