// Package contextcmd implements `berth context list|use`: the named
// contexts (server, user, token, default tenant and project) of the CLI.
package contextcmd

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/client"
)

// New returns the `context` command.
func New(env cli.Env) *cobra.Command {
	cmd := &cobra.Command{Use: "context", Short: "List, switch and configure the CLI's contexts"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List contexts; * marks the current one",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, cfg, err := load(env)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "CURRENT\tNAME\tSERVER\tUSER\tTENANT\tPROJECT")
			for _, x := range cfg.Contexts {
				mark := ""
				if x.Name == cfg.Current {
					mark = "*"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", mark, x.Name, x.Server, x.User, x.Tenant, x.Project)
			}
			return tw.Flush()
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "use NAME",
		Short: "Make NAME the current context",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			path, cfg, err := load(env)
			if err != nil {
				return err
			}
			if _, ok := cfg.Get(args[0]); !ok {
				return fmt.Errorf("no context %q; see berth context list", args[0])
			}
			cfg.Current = args[0]
			if err := cfg.Save(path); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Switched to context %q\n", args[0])
			return nil
		},
	})
	var tenant, project string
	set := &cobra.Command{
		Use:   "set --tenant T [--project P]",
		Short: "Set the current context's default tenant and project",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			path, cfg, err := load(env)
			if err != nil {
				return err
			}
			x, err := cfg.CurrentContext()
			if err != nil {
				return err
			}
			x.Tenant, x.Project = tenant, project
			cfg.Put(x)
			if err := cfg.Save(path); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Context %q now defaults to tenant %q, project %q\n", x.Name, tenant, project)
			return nil
		},
	}
	set.Flags().StringVarP(&tenant, "tenant", "t", "", "default tenant")
	set.Flags().StringVarP(&project, "project", "p", "", "default project")
	cmd.AddCommand(set)
	return cmd
}

func load(env cli.Env) (string, client.Config, error) {
	path, err := client.ConfigPath(env.Getenv)
	if err != nil {
		return "", client.Config{}, err
	}
	cfg, err := client.LoadConfig(path)
	return path, cfg, err
}
