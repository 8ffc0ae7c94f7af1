// Package logincmd implements `berth login`: exchange a user name and
// password for an API token stored in a named context of the CLI's config.
package logincmd

import (
	"bufio"
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
	var server, username, contextName string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "login --server URL --username NAME --password-stdin",
		Short: "Log in and store an API token in the CLI's config",
		Long: "Log in to a Berth server. The password is read from standard input; the API token the\n" +
			"server issues is stored in $BERTH_CONFIG or ~/.config/berth/config.yaml under a named context.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if server == "" || username == "" {
				return errors.New("--server and --username are required")
			}
			if !passwordStdin {
				return errors.New("pass the password on standard input with --password-stdin")
			}
			password, err := readPassword(env)
			if err != nil {
				return err
			}
			host, _ := os.Hostname()
			req := apitypes.LoginRequest{Username: username, Password: password, Token: &apitypes.TokenRequest{Name: tokenName(host)}}
			c := client.New(server, "")
			c.Language = client.Language(env.Getenv)
			var resp apitypes.LoginResponse
			if err := c.Do(cmd.Context(), "POST", "/login", req, &resp); err != nil {
				return err
			}
			path, err := client.ConfigPath(env.Getenv)
			if err != nil {
				return err
			}
			cfg, err := client.LoadConfig(path)
			if err != nil {
				return err
			}
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
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "server URL, e.g. http://127.0.0.1:8080")
	cmd.Flags().StringVar(&username, "username", "", "user name")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	cmd.Flags().StringVar(&contextName, "context", "", "name of the context to store (default user@host)")
	return cmd
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
