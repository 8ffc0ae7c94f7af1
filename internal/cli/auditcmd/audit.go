// Package auditcmd implements `berth audit list` (filter, export as JSON
// lines, CSV or a table), `berth audit verify` (check the hash chain, and
// with --anchors that it holds every signed checkpoint, naming the first
// bad record), `berth audit anchor` (sign a checkpoint of the head with a
// key kept outside the database) and `berth audit keygen`.
package auditcmd

import (
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/kind"
	"berth.dev/berth/internal/client"
)

// New returns the `audit` command.
func New(env cli.Env) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "List, export and verify the audit trail"}
	cmd.AddCommand(list(env), verify(env), anchor(env), keygen(env))
	return cmd
}

func list(env cli.Env) *cobra.Command {
	var actor, tenant, project, action, since, until, output string
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List audit records (table: newest first; jsonl, csv: every match, oldest first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			filters := []string{"actor", actor, "tenant", tenant, "project", project, "action", action, "since", since, "until", until}
			switch output {
			case "jsonl", "csv":
				return s.Client.Stream(cmd.Context(), "GET", "/audit/export"+client.Query(append(filters, "format", output)...), env.Stdout)
			case "table":
			default:
				return fmt.Errorf("-o %s: want table, jsonl or csv", output)
			}
			var page apitypes.List[map[string]any]
			q := client.Query(append(filters, "limit", strconv.Itoa(limit))...)
			if err := s.Client.Do(cmd.Context(), "GET", "/audit"+q, nil, &page); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tTIME\tACTOR\tACTION\tTARGET\tOUTCOME\tSOURCE\tSUMMARY")
			for _, r := range page.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", kind.Cell(r["seq"]), kind.Cell(r["time"]), kind.Cell(r["actor"]),
					kind.Cell(r["action"]), kind.Cell(r["target"]), kind.Cell(r["outcome"]), kind.Cell(r["sourceIP"]), kind.Cell(r["summary"]))
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&actor, "actor", "", "only records of this user")
	f.StringVar(&tenant, "tenant", "", "only records of this tenant")
	f.StringVar(&project, "project", "", "only records of this project of --tenant")
	f.StringVar(&action, "action", "", `only this action ("tenant.create") or prefix ("tenant.")`)
	f.StringVar(&since, "since", "", "from this time (RFC 3339 or 2006-01-02), inclusive")
	f.StringVar(&until, "until", "", "until this time (RFC 3339 or 2006-01-02), exclusive")
	f.StringVarP(&output, "output", "o", "table", "table, jsonl or csv")
	f.IntVar(&limit, "limit", 50, "records in the table (at most 1000)")
	return cmd
}
