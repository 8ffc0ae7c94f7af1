// Package logincmd implements `berth login`: exchange a user name and
// password for an API token stored in a named context of the CLI's config.
package logincmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/client"
)

// New returns the `login` command.
func New(env cli.Env) *cobra.Command {
	var server, username, contextName, provider string
	var passwordStdin, noBrowser bool
	cmd := &cobra.Command{
		Use:   "login --server URL (--username NAME --password-stdin | --sso PROVIDER)",
		Short: "Log in and store an API token in the CLI's config",
		Long: "Log in to a Berth server. The password is read from standard input; or, with --sso, you sign in\n" +
			"through the OIDC provider in your browser and the server hands the CLI a token through a one-time\n" +
			"code sent to this machine's loopback address. The API token the server issues is stored in\n" +
			"$BERTH_CONFIG or ~/.config/berth/config.yaml under a named context.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if server == "" {
				return errors.New("--server is required")
			}
			host, _ := os.Hostname()
			c := client.New(server, "")
			c.Language = client.Language(env.Getenv)
			var resp apitypes.LoginResponse
			var err error
			switch {
			case provider != "" && (username != "" || passwordStdin):
				return errors.New("--sso signs in through a provider: leave out --username and --password-stdin")
			case provider != "":
				resp, err = ssoLogin(cmd.Context(), env, c, provider, tokenName(host), noBrowser)
			case username == "":
				return errors.New("--username is required (or --sso PROVIDER)")
			case !passwordStdin:
				return errors.New("pass the password on standard input with --password-stdin")
			default:
				resp, err = passwordLogin(cmd.Context(), env, c, username, tokenName(host))
			}
			if err != nil {
				return err
			}
			return save(env, c, contextName, resp)
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "server URL, e.g. http://127.0.0.1:8080")
	cmd.Flags().StringVar(&username, "username", "", "user name")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	cmd.Flags().StringVar(&provider, "sso", "", "sign in through this OIDC provider in the browser (see GET /api/v1/sso/providers)")
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "with --sso: print the sign-in URL instead of opening a browser")
	cmd.Flags().StringVar(&contextName, "context", "", "name of the context to store (default user@host)")
	return cmd
}

func passwordLogin(ctx context.Context, env cli.Env, c *client.Client, username, token string) (apitypes.LoginResponse, error) {
	password, err := readPassword(env)
	if err != nil {
		return apitypes.LoginResponse{}, err
	}
	req := apitypes.LoginRequest{Username: username, Password: password, Token: &apitypes.TokenRequest{Name: token}}
	var resp apitypes.LoginResponse
	return resp, c.Do(ctx, "POST", "/login", req, &resp)
}

// save stores the token of resp in the CLI's config as the current
// context.
func save(env cli.Env, c *client.Client, contextName string, resp apitypes.LoginResponse) error {
	path, err := client.ConfigPath(env.Getenv)
	if err != nil {
		return err
	}
	cfg, err := client.LoadConfig(path)
	if err != nil {
		return err
	}
	username := resp.User.Name
	if contextName == "" {
		contextName = username + "@" + strings.TrimPrefix(strings.TrimPrefix(c.Server, "https://"), "http://")
	}
	x, _ := cfg.Get(contextName)
	x.Name, x.Server, x.User, x.Token = contextName, c.Server, username, resp.Token
	cfg.Put(x)
	cfg.Current = contextName
	if err := cfg.Save(path); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Logged in to %s as %s (context %q, token expires %s)\n", c.Server, username, contextName, resp.ExpiresAt.Format(time.RFC3339Nano))
	return nil
}

func readPassword(env cli.Env) (string, error) {
	line, err := bufio.NewReader(env.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// tokenName names the token after the machine it was issued to, as a
// DNS-1123 label.
func tokenName(host string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(host) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	name := strings.Trim("cli-"+b.String(), "-")
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-")
	}
	return name
}
