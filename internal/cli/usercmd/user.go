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

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/client"
)

// New returns the `user` command.
func New(env cli.Env) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Create local users and set passwords"}
	var displayName, email string
	var stdin bool
	create := &cobra.Command{
		Use:   "create NAME [--password-stdin]",
		Short: "Create a local user; grant roles with a Member manifest",
		Long: "Create a local user with the password read from standard input, or without --password-stdin\n" +
			"a robot user that cannot log in and acts only through tokens a platform admin issues it\n" +
			"(e.g. `berth token create edge-1 --user gateway --role gateway`).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var password string
			if stdin {
				var err error
				if password, err = readPassword(env, stdin); err != nil {
					return err
				}
			}
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			body := apitypes.UserRequest{User: apitypes.User{Name: args[0], DisplayName: displayName, Email: email}, Password: password}
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
		Short: "Set your password (or, as a platform admin, another user's); revokes the user's other tokens and sessions",
		Long: "Changing your own password reads two lines from standard input: the current password, then the new one.\n" +
			"A platform admin resetting another user's password gives the new one only.\n" +
			"Either way every other API token and console session of the user stops working;\n" +
			"the token you changed your own password with stays valid.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !stdin {
				return errors.New("pass the passwords on standard input with --password-stdin")
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
			in := bufio.NewReader(env.Stdin)
			var body apitypes.PasswordRequest
			if name == s.Context.User {
				if body.CurrentPassword, err = readLine(in, "current password"); err != nil {
					return err
				}
			}
			if body.Password, err = readLine(in, "new password"); err != nil {
				return err
			}
			if err := s.Client.Do(cmd.Context(), "PUT", "/users/"+url.PathEscape(name)+"/password", body, nil); err != nil {
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
	return readLine(bufio.NewReader(env.Stdin), "password")
}

// readLine reads one line of standard input, the what.
func readLine(in *bufio.Reader, what string) (string, error) {
	line, err := in.ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read the %s from standard input: %w", what, err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
