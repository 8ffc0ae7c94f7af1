// Package auditcmd implements `berth audit list` (filter, export as JSON
// lines, CSV or a table) and `berth audit verify` (check the hash chain
// and name the first bad record).
package auditcmd

import (
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/kind"
	"berth.dev/berth/internal/client"
)

// New returns the `audit` command.
func New(env cli.Env) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "List, export and verify the audit trail"}
	cmd.AddCommand(list(env), verify(env))
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
			var page struct {
				Items []map[string]any `json:"items"`
			}
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

// report is the API's verification report.
type report struct {
	OK       bool   `json:"ok"`
	Checked  int64  `json:"checked"`
	From     int64  `json:"from"`
	To       int64  `json:"to"`
	HeadHash string `json:"headHash"`
	Broken   *struct {
		Seq     int64  `json:"seq"`
		Problem string `json:"problem"`
		Detail  string `json:"detail"`
	} `json:"broken"`
}

func verify(env cli.Env) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Verify the audit hash chain; fails naming the first altered, deleted or reordered record",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			var rep report
			if err := s.Client.Do(cmd.Context(), "POST", "/audit/verify", nil, &rep); err != nil {
				return err
			}
			if b := rep.Broken; b != nil {
				fmt.Fprintf(env.Stdout, "BROKEN: record %d %s: %s\n", b.Seq, b.Problem, b.Detail)
				return fmt.Errorf("audit chain broken at record %d (%s)", b.Seq, b.Problem)
			}
			fmt.Fprintf(env.Stdout, "OK: %d records verified (seq %d to %d), head hash %s\n", rep.Checked, rep.From, rep.To, rep.HeadHash)
			return nil
		},
	}
}
