// Package grantcmd implements `berth grant set|list|revoke`: the
// namespaces of a cluster a platform admin grants a tenant's environments
// (those Berth did not create for them).
package grantcmd

import (
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/client"
)

// New returns the `grant` command.
func New(env cli.Env) *cobra.Command {
	cmd := &cobra.Command{Use: "grant", Short: "Grant tenants namespaces of a cluster that Berth did not create (platform admins)"}
	var cluster, tenant, prefix string
	var namespaces []string
	set := &cobra.Command{
		Use:   "set --cluster C --tenant T [--prefix P] [--namespace N]...",
		Short: "Grant (or replace the grant of) a tenant namespaces of a cluster, by prefix and/or by name",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			var out apitypes.NamespaceGrant
			path := "/clusters/" + url.PathEscape(cluster) + "/namespace-grants/" + url.PathEscape(tenant)
			if err := s.Client.Do(cmd.Context(), "PUT", path, apitypes.NamespaceGrant{Prefix: prefix, Namespaces: namespaces}, &out); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Tenant %s may use on cluster %s: %s\n", out.Tenant, out.Cluster, describe(out))
			return nil
		},
	}
	set.Flags().StringVar(&prefix, "prefix", "", "namespaces starting with this, e.g. acme-")
	set.Flags().StringSliceVar(&namespaces, "namespace", nil, "a namespace by name (repeatable)")
	list := &cobra.Command{
		Use:   "list (--cluster C | --tenant T)",
		Short: "List the namespace grants on a cluster or of a tenant",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			path := "/tenants/" + url.PathEscape(tenant) + "/namespace-grants"
			if cluster != "" {
				path = "/clusters/" + url.PathEscape(cluster) + "/namespace-grants"
			}
			var out apitypes.List[apitypes.NamespaceGrant]
			if err := s.Client.Do(cmd.Context(), "GET", path, nil, &out); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "CLUSTER\tTENANT\tGRANTED")
			for _, g := range out.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", g.Cluster, g.Tenant, describe(g))
			}
			return tw.Flush()
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke --cluster C --tenant T",
		Short: "Take a grant back (environments already bound keep their namespaces)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			path := "/clusters/" + url.PathEscape(cluster) + "/namespace-grants/" + url.PathEscape(tenant)
			if err := s.Client.Do(cmd.Context(), "DELETE", path, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Namespace grant of tenant %s on cluster %s revoked\n", tenant, cluster)
			return nil
		},
	}
	for _, c := range []*cobra.Command{set, list, revoke} {
		c.Flags().StringVar(&cluster, "cluster", "", "the cluster")
		c.Flags().StringVarP(&tenant, "tenant", "t", "", "the tenant")
	}
	cmd.AddCommand(set, list, revoke)
	return cmd
}

func describe(g apitypes.NamespaceGrant) string {
	var parts []string
	if g.Prefix != "" {
		parts = append(parts, g.Prefix+"*")
	}
	return strings.Join(append(parts, g.Namespaces...), ", ")
}
