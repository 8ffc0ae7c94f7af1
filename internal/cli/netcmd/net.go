// Package netcmd implements `berth net`: network assets. Port pools and
// the ports granted to tenants and projects (shown as compact ranges
// "30061-30062, 30064"), node ports of exposed applications, bandwidth
// quotas and their use, and the isolation of tenants and projects.
package netcmd

import (
	"context"
	"errors"
	"net/url"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/kind"
	"berth.dev/berth/internal/client"
)

// New returns the `net` command.
func New(env cli.Env) *cobra.Command {
	cmd := &cobra.Command{Use: "net", Short: "Network assets: port pools, node ports, bandwidth quotas, isolation"}
	cmd.AddCommand(portsCmd(env), exposeCmd(env), unexposeCmd(env), bandwidthCmd(env), isolationCmd(env))
	return cmd
}

// scope is a tenant or project given by flags or the context.
type scope struct {
	place kind.Place
	// noDefault skips the context's tenant and project (platform views).
	cluster string
}

func (s *scope) flags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&s.place.Tenant, "tenant", "t", "", "tenant (default: the context's)")
	cmd.Flags().StringVarP(&s.place.Project, "project", "p", "", "project (default: the context's)")
}

// open opens the session and fills tenant and project from the context
// unless platform is set and no tenant was given.
func (s *scope) open(getenv func(string) string, platform bool) (*client.Session, error) {
	sess, err := client.Open(getenv)
	if err != nil {
		return nil, err
	}
	if !platform || s.place.Tenant != "" {
		s.place.Default(sess.Context.Tenant, sess.Context.Project)
	}
	return sess, nil
}

// path is /tenants/T[/projects/P].
func (s *scope) path() (string, error) {
	if s.place.Tenant == "" {
		return "", errors.New("--tenant: set it, or a context with `berth context set -t T -p P`")
	}
	p := "/tenants/" + url.PathEscape(s.place.Tenant)
	if s.place.Project != "" {
		p += "/projects/" + url.PathEscape(s.place.Project)
	}
	return p, nil
}

func get(ctx context.Context, s *client.Session, path string, out any) error {
	return s.Client.Do(ctx, "GET", path, nil, out)
}
