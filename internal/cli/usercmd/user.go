// Package usercmd implements `berth user create|passwd`: local users and
// their passwords (listing is `berth get users`).
package usercmd

import (
	"bufio"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/client"
)

// New returns the `user` command.
func New(env cli.Env) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Create local users and set passwords"}
	var displayName, email string
	var stdin bool
	create := &cobra.Command{
		Use:   "create NAME --password-stdin",
		Short: "Create a local user; grant roles with a Member manifest",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			password, err := readPassword(env, stdin)
			if err != nil {
				return err
			}
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			body := map[string]string{"name": args[0], "displayName": displayName, "email": email, "password": password}
			if err := s.Client.Do(cmd.Context(), "POST", "/users", body, nil); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "User %s created\n", args[0])
			return nil
		},
	}
	create.Flags().StringVar(&displayName, "display-name", "", "name shown in the console")
	create.Flags().StringVar(&email, "email", "", "email address")
	create.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from standard input")
	passwd := &cobra.Command{
		Use:   "passwd [NAME] --password-stdin",
		Short: "Set your password (or, as a platform admin, another user's)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			password, err := readPassword(env, stdin)
			if err != nil {
				return err
			}
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			name := s.Context.User
			if len(args) == 1 {
				name = args[0]
			}
			if name == "" {
				return errors.New("which user? name one")
			}
			if err := s.Client.Do(cmd.Context(), "PUT", "/users/"+url.PathEscape(name)+"/password", map[string]string{"password": password}, nil); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Password of %s changed\n", name)
			return nil
		},
	}
	passwd.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from standard input")
	cmd.AddCommand(create, passwd)
	return cmd
}

func readPassword(env cli.Env, stdin bool) (string, error) {
	if !stdin {
		return "", errors.New("pass the password on standard input with --password-stdin")
	}
	line, err := bufio.NewReader(env.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
