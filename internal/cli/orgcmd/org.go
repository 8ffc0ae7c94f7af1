// Package orgcmd implements `berth org`: import and list a tenant's org
// directory (regions, branches, tellers), so gray plans can pick them by
// name.
package orgcmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/client"
	"berth.dev/berth/internal/gray"
)

// New returns the `org` command.
func New(env cli.Env) *cobra.Command {
	cmd := &cobra.Command{Use: "org", Short: "Manage the tenant's org directory (regions, branches, tellers)"}
	cmd.AddCommand(importCmd(env), listCmd(env))
	return cmd
}

func tenantPath(getenv func(string) string, tenant string) (*client.Session, string, error) {
	s, err := client.Open(getenv)
	if err != nil {
		return nil, "", err
	}
	if tenant == "" {
		tenant = s.Context.Tenant
	}
	if tenant == "" {
		return nil, "", errors.New("--tenant: set it, or a context with `berth context set -t T`")
	}
	return s, "/tenants/" + url.PathEscape(tenant) + "/org", nil
}

func importCmd(env cli.Env) *cobra.Command {
	var tenant string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Replace the org directory with a CSV file: level,code,name,parent (- reads standard input)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r io.Reader = env.Stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			// One byte past the limit, so ParseCSV refuses a longer file
			// rather than reading a truncated one.
			data, err := io.ReadAll(io.LimitReader(r, gray.MaxOrgCSVBytes+1))
			if err != nil {
				return err
			}
			// Parse here too, so errors name the file's lines (or the limit)
			// before anything is sent.
			units, err := gray.ParseCSV(bytes.NewReader(data))
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			s, path, err := tenantPath(env.Getenv, tenant)
			if err != nil {
				return err
			}
			if err := s.Client.Do(cmd.Context(), "PUT", path, apitypes.OrgImportRequest{CSV: string(data)}, nil); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "imported %d org units\n", len(units))
			return nil
		},
	}
	cmd.Flags().StringVarP(&tenant, "tenant", "t", "", "tenant (default: the context's)")
	return cmd
}

func listCmd(env cli.Env) *cobra.Command {
	var tenant, output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the org directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, path, err := tenantPath(env.Getenv, tenant)
			if err != nil {
				return err
			}
			var page apitypes.List[gray.OrgUnit]
			if err := s.Client.Do(cmd.Context(), "GET", path, nil, &page); err != nil {
				return err
			}
			if output == "json" {
				return json.NewEncoder(env.Stdout).Encode(page.Items)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "LEVEL\tCODE\tNAME\tPARENT")
			for _, u := range page.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Level, u.Code, u.Name, u.Parent)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&tenant, "tenant", "t", "", "tenant (default: the context's)")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}
