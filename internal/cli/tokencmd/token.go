// Package tokencmd implements `berth token create|list|revoke`: the
// caller's API tokens, and for a platform admin any user's, including
// gateway tokens that carry only the gateway role.
package tokencmd

import (
	"fmt"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/getcmd"
	"berth.dev/berth/internal/cli/kind"
	"berth.dev/berth/internal/client"
)

// base is the collection of the tokens of user, or the caller's when empty.
func base(user string) string {
	if user == "" {
		return "/tokens"
	}
	return "/users/" + url.PathEscape(user) + "/tokens"
}

// New returns the `token` command.
func New(env cli.Env) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Create, list and revoke API tokens: yours, or as a platform admin anyone's"}
	var ttl, role, user string
	create := &cobra.Command{
		Use:   "create NAME [--user USER] [--role gateway]",
		Short: "Create an API token; its secret is printed once",
		Long: "Create an API token for yourself or, as a platform admin, for --user.\n" +
			"--role gateway makes a token that can only read the gateway configuration stream\n" +
			"(for `berth gateway`); only a platform admin issues one. A token created with a\n" +
			"token never outlives it.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			var out apitypes.TokenCreated
			body := apitypes.TokenRequest{Name: args[0], TTL: ttl, Role: apitypes.Role(role)}
			if err := s.Client.Do(cmd.Context(), "POST", base(user), body, &out); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Token %s (id %s) expires %s:\n%s\n(shown only now)\n", args[0], out.ID, out.ExpiresAt.Format(time.RFC3339Nano), out.Secret)
			return nil
		},
	}
	create.Flags().StringVar(&ttl, "ttl", "", "lifetime, e.g. 720h (default: the server's)")
	create.Flags().StringVar(&role, "role", "", "the only role the token carries: gateway")
	create.Flags().StringVar(&user, "user", "", "the user the token is for (platform admins; default: you)")
	var output, listUser string
	list := &cobra.Command{
		Use:   "list [--user USER]",
		Short: "List your API tokens, or as a platform admin a user's",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			k, _ := kind.Lookup("tokens")
			var objs []map[string]any
			if listUser == "" {
				objs, err = getcmd.Fetch(cmd.Context(), s.Client, k, kind.Place{}, "")
			} else {
				objs, err = client.List[map[string]any](cmd.Context(), s.Client, base(listUser))
			}
			if err != nil {
				return err
			}
			return kind.Print(env.Stdout, k, output, objs, false)
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "table", "table, json or yaml")
	list.Flags().StringVar(&listUser, "user", "", "whose tokens (platform admins; default: yours)")
	var revokeUser string
	revoke := &cobra.Command{
		Use:   "revoke ID [--user USER]",
		Short: "Revoke one of your API tokens, or as a platform admin a user's",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			if err := s.Client.Do(cmd.Context(), "DELETE", base(revokeUser)+"/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Token %s revoked\n", args[0])
			return nil
		},
	}
	revoke.Flags().StringVar(&revokeUser, "user", "", "whose token (platform admins; default: yours)")
	cmd.AddCommand(create, list, revoke)
	return cmd
}
