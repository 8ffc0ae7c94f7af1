package netcmd

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
)

// exposure is an application port in an environment.
type exposure struct {
	scope
	env, port string
}

func (e *exposure) flags(cmd *cobra.Command) {
	e.scope.flags(cmd)
	cmd.Flags().StringVarP(&e.env, "env", "e", "", "environment (required)")
	cmd.Flags().StringVar(&e.port, "port", "", "the application's port name (required)")
}

func (e *exposure) path(app string) (string, error) {
	if e.env == "" || e.port == "" {
		return "", errors.New("--env and --port: the environment and the application's port name are required")
	}
	if e.place.Project == "" {
		return "", errors.New("--project: set it, or a context with `berth context set -t T -p P`")
	}
	base, err := e.scope.path()
	if err != nil {
		return "", err
	}
	return base + "/environments/" + url.PathEscape(e.env) + "/deployments/" + url.PathEscape(app) + "/ports/" + url.PathEscape(e.port), nil
}

func exposeCmd(env cli.Env) *cobra.Command {
	var e exposure
	var nodePort int
	cmd := &cobra.Command{
		Use:   "expose APP",
		Short: "Give an application's port a node port from its project's ports (the next free one, or --node-port)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sess, err := e.open(env.Getenv, false)
			if err != nil {
				return err
			}
			path, err := e.path(args[0])
			if err != nil {
				return err
			}
			var al apitypes.Allocation
			if err := sess.Client.Do(cmd.Context(), "PUT", path, apitypes.ExposeRequest{NodePort: nodePort}, &al); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "%s port %s in %s exposed on node port %d of cluster %s\n", args[0], e.port, e.env, al.Port, al.Cluster)
			return nil
		},
	}
	e.flags(cmd)
	cmd.Flags().IntVar(&nodePort, "node-port", 0, "the node port wanted (default: the next free one)")
	return cmd
}

func unexposeCmd(env cli.Env) *cobra.Command {
	var e exposure
	cmd := &cobra.Command{
		Use:   "unexpose APP",
		Short: "Stop exposing an application's port; its node port returns to the project's pool",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sess, err := e.open(env.Getenv, false)
			if err != nil {
				return err
			}
			path, err := e.path(args[0])
			if err != nil {
				return err
			}
			if err := sess.Client.Do(cmd.Context(), "DELETE", path, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "%s port %s in %s no longer exposed\n", args[0], e.port, e.env)
			return nil
		},
	}
	e.flags(cmd)
	return cmd
}
