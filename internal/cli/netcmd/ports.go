package netcmd

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/client"
)

func portsCmd(env cli.Env) *cobra.Command {
	var s scope
	cmd := &cobra.Command{
		Use:   "ports",
		Short: "Show ports: a cluster's pool (--cluster alone), or a tenant's or project's ports on each cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sess, err := s.open(env.Getenv, s.cluster != "")
			if err != nil {
				return err
			}
			var views []apitypes.PortView
			if s.place.Tenant == "" {
				var v apitypes.PortView
				if err := get(cmd.Context(), sess, "/clusters/"+url.PathEscape(s.cluster)+"/ports", &v); err != nil {
					return err
				}
				views = []apitypes.PortView{v}
			} else {
				base, err := s.path()
				if err != nil {
					return err
				}
				var page apitypes.List[apitypes.PortView]
				if err := get(cmd.Context(), sess, base+"/network/ports", &page); err != nil {
					return err
				}
				for _, v := range page.Items {
					if s.cluster == "" || v.Cluster == s.cluster {
						views = append(views, v)
					}
				}
			}
			return printPorts(env.Stdout, views)
		},
	}
	s.flags(cmd)
	cmd.Flags().StringVar(&s.cluster, "cluster", "", "cluster")
	cmd.AddCommand(setPortsCmd(env))
	return cmd
}

func setPortsCmd(env cli.Env) *cobra.Command {
	var s scope
	cmd := &cobra.Command{
		Use:   "set RANGES",
		Short: `Set a cluster's pool (no --tenant), a tenant's or a project's ports on --cluster, e.g. "30000-30099, 30200" ("" takes a grant back)`,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if s.cluster == "" {
				return errors.New("--cluster: the cluster is required")
			}
			sess, err := s.open(env.Getenv, true)
			if err != nil {
				return err
			}
			path := "/clusters/" + url.PathEscape(s.cluster) + "/ports"
			view := path
			if s.place.Tenant != "" {
				base, _ := s.path()
				path, view = base+"/network/ports/"+url.PathEscape(s.cluster), base+"/network/ports"
			}
			rv, err := currentRV(cmd, sess, view, s.cluster, s.place.Tenant == "")
			if err != nil {
				return err
			}
			var g apitypes.Grant
			if err := sess.Client.Do(cmd.Context(), "PUT", path, apitypes.PortsRequest{Ports: args[0], ResourceVersion: rv}, &g); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "ports of %s on %s: %s\n", scopeName(s), s.cluster, orNone(g.Ports.String()))
			return nil
		},
	}
	s.flags(cmd)
	cmd.Flags().StringVar(&s.cluster, "cluster", "", "cluster (required)")
	return cmd
}

// currentRV reads the resourceVersion of the grant about to be replaced:
// from the cluster's view (single) or the tenant's or project's list.
func currentRV(cmd *cobra.Command, sess *client.Session, view, cluster string, single bool) (int64, error) {
	if single {
		var v apitypes.PortView
		err := get(cmd.Context(), sess, view, &v)
		return v.ResourceVersion, err
	}
	var page apitypes.List[apitypes.PortView]
	if err := get(cmd.Context(), sess, view, &page); err != nil {
		return 0, err
	}
	for _, v := range page.Items {
		if v.Cluster == cluster {
			return v.ResourceVersion, nil
		}
	}
	return 0, nil
}

func scopeName(s scope) string {
	switch {
	case s.place.Tenant == "":
		return "cluster pool"
	case s.place.Project == "":
		return "tenant " + s.place.Tenant
	}
	return "project " + s.place.Tenant + "/" + s.place.Project
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// printPorts prints each view as the seed's panel: ports, allotted, used
// and free as compact ranges, then the grants below and who uses what.
func printPorts(w io.Writer, views []apitypes.PortView) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, v := range views {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		who := "cluster " + v.Cluster
		if v.Tenant != "" {
			who = v.Tenant
			if v.Project != "" {
				who += "/" + v.Project
			}
			who += " on " + v.Cluster
		}
		fmt.Fprintf(tw, "%s\n", who)
		fmt.Fprintf(tw, "  ports:\t%s\n  allotted:\t%s\n  used:\t%s\n  free:\t%s\n", orNone(v.Ports.String()), orNone(v.Allotted.String()), orNone(v.Used.String()), orNone(v.Free.String()))
		for _, g := range v.Grants {
			name := g.Tenant
			if g.Project != "" {
				name += "/" + g.Project
			}
			fmt.Fprintf(tw, "  granted to %s:\t%s\n", name, g.Ports)
		}
		if len(v.Holders) > 0 {
			fmt.Fprintf(tw, "  NODE PORT\tAPPLICATION\tENVIRONMENT\tPORT\n")
			for _, a := range v.Holders {
				fmt.Fprintf(tw, "  %d\t%s/%s/%s\t%s\t%s\n", a.Port, a.Tenant, a.Project, a.Application, a.Environment, a.PortName)
			}
		}
	}
	return tw.Flush()
}
