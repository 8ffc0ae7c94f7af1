package netcmd

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
)

func isolationCmd(env cli.Env) *cobra.Command {
	var s scope
	cmd := &cobra.Command{
		Use:   "isolation",
		Short: "Show the isolation of every tenant and project you may see: the one view it is switched from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sess, err := s.open(env.Getenv, true)
			if err != nil {
				return err
			}
			var page apitypes.List[apitypes.Isolation]
			if err := get(cmd.Context(), sess, "/network/isolation", &page); err != nil {
				return err
			}
			return printIsolation(env.Stdout, page.Items)
		},
	}
	cmd.AddCommand(setIsolationCmd(env))
	return cmd
}

func setIsolationCmd(env cli.Env) *cobra.Command {
	var s scope
	var level string
	var allows []string
	cmd := &cobra.Command{
		Use:   "set",
		Short: "Switch a tenant's or project's isolation: --level tenant|project|application|none, --allow FROM->TO (repeatable)",
		Long: `Pods of an isolated unit accept connections only from inside the unit, from the gateway, on exposed
node ports and from the peers of allow rules. FROM is tenant[/project[/app]]; TO is, for a tenant,
project[/app] and, for a project, app (empty: every pod of the scope). Example:
  berth net isolation set -t bank --level project --allow 'ops/monitor->pay/red-auth'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sess, err := s.open(env.Getenv, false)
			if err != nil {
				return err
			}
			base, err := s.path()
			if err != nil {
				return err
			}
			i := apitypes.Isolation{Level: apitypes.Level(level)}
			if level == "none" {
				i.Level = ""
			}
			for _, a := range allows {
				r, err := parseAllow(a, s.place.Project != "")
				if err != nil {
					return err
				}
				i.Allow = append(i.Allow, r)
			}
			var cur apitypes.Isolation
			if err := get(cmd.Context(), sess, base+"/network/isolation", &cur); err != nil {
				return err
			}
			i.ResourceVersion = cur.ResourceVersion
			var out apitypes.Isolation
			if err := sess.Client.Do(cmd.Context(), "PUT", base+"/network/isolation", i, &out); err != nil {
				return err
			}
			return printIsolation(env.Stdout, []apitypes.Isolation{out})
		},
	}
	s.flags(cmd)
	cmd.Flags().StringVar(&level, "level", "", "tenant, project, application or none (required)")
	cmd.Flags().StringArrayVar(&allows, "allow", nil, "allow rule FROM->TO, e.g. 'ops/monitor->pay/red-auth'")
	_ = cmd.MarkFlagRequired("level")
	return cmd
}

// parseAllow reads "tenant[/project[/app]]->[project/]app".
func parseAllow(s string, inProject bool) (apitypes.Allow, error) {
	from, to, ok := strings.Cut(s, "->")
	if !ok {
		return apitypes.Allow{}, fmt.Errorf("--allow %q: want FROM->TO", s)
	}
	f := strings.Split(strings.TrimSpace(from), "/")
	if len(f) > 3 || f[0] == "" {
		return apitypes.Allow{}, fmt.Errorf("--allow %q: FROM is tenant[/project[/app]]", s)
	}
	r := apitypes.Allow{From: apitypes.Peer{Tenant: f[0]}}
	if len(f) > 1 {
		r.From.Project = f[1]
	}
	if len(f) > 2 {
		r.From.Application = f[2]
	}
	to = strings.TrimSpace(to)
	switch t := strings.Split(to, "/"); {
	case to == "":
	case inProject && len(t) == 1:
		r.To.Application = t[0]
	case !inProject && len(t) <= 2:
		r.To.Project = t[0]
		if len(t) == 2 {
			r.To.Application = t[1]
		}
	default:
		return apitypes.Allow{}, fmt.Errorf("--allow %q: TO is project[/app] for a tenant, app for a project", s)
	}
	return r, nil
}

func printIsolation(w io.Writer, items []apitypes.Isolation) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TENANT\tPROJECT\tLEVEL\tALLOW")
	for _, i := range items {
		level := string(i.Level)
		if level == "" {
			level = "none"
		}
		var rules []string
		for _, r := range i.Allow {
			rules = append(rules, r.From.String()+"->"+r.To.String())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", i.Tenant, dash(i.Project), level, dash(strings.Join(rules, ", ")))
	}
	return tw.Flush()
}
