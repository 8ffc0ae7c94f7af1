package releasecmd

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/kind"
	"berth.dev/berth/internal/client"
)

func listCmd(env cli.Env) *cobra.Command {
	var p kind.Place
	var environment, output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List release orders, newest first: id, ticket, status, progress, start time",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, base, err := session(env, &p)
			if err != nil {
				return err
			}
			var page apitypes.List[apitypes.OrderView]
			if err := s.Client.Do(cmd.Context(), "GET", base+client.Query("environment", environment, "limit", "100"), nil, &page); err != nil {
				return err
			}
			if output == "json" {
				return json.NewEncoder(env.Stdout).Encode(page.Items)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTICKET\tENV\tSTATUS\tPROGRESS\tSTARTED\tTITLE")
			for _, o := range page.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", o.ID, dash(o.Ticket), o.Environment, o.State, progress(o), when(o.StartedAt), o.Title)
			}
			return tw.Flush()
		},
	}
	p.Flags(cmd.Flags())
	cmd.Flags().StringVarP(&environment, "env", "e", "", "only this environment")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

func statusCmd(env cli.Env) *cobra.Command {
	var p kind.Place
	var output string
	var wait bool
	cmd := &cobra.Command{
		Use:   "status ID",
		Short: "Show an order and what happened to each item; --wait follows it to the end",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, base, err := session(env, &p)
			if err != nil {
				return err
			}
			path := base + "/" + url.PathEscape(args[0])
			var o apitypes.OrderView
			last := ""
			for {
				if err := s.Client.Do(cmd.Context(), "GET", path, nil, &o); err != nil {
					return err
				}
				if line := string(o.State) + " " + progress(o); wait && line != last && !final(string(o.State)) {
					fmt.Fprintf(env.Stderr, "%s %s\n", time.Now().Format("15:04:05"), line)
					last = line
				}
				if !wait || final(string(o.State)) {
					break
				}
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(time.Second):
				}
			}
			if output == "json" {
				return json.NewEncoder(env.Stdout).Encode(o)
			}
			if err := printOrder(env.Stdout, o); err != nil {
				return err
			}
			if wait && o.State != "Succeeded" {
				return fmt.Errorf("release order %s ended %s", o.ID, o.State)
			}
			return nil
		},
	}
	p.Flags(cmd.Flags())
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	cmd.Flags().BoolVarP(&wait, "wait", "w", false, "follow the order until it ends; fail unless it succeeded")
	return cmd
}

func final(state string) bool {
	return state == "Succeeded" || state == "RolledBack" || state == "Aborted"
}

func printOrder(w io.Writer, o apitypes.OrderView) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ORDER\t%s\n", o.ID)
	fmt.Fprintf(tw, "TITLE\t%s\n", o.Title)
	fmt.Fprintf(tw, "TICKET\t%s\n", dash(o.Ticket))
	fmt.Fprintf(tw, "ENVIRONMENT\t%s\n", o.Environment)
	fmt.Fprintf(tw, "STATUS\t%s\n", o.State)
	fmt.Fprintf(tw, "PROGRESS\t%s\n", progress(o))
	var approvers []string
	for _, a := range o.Approvals {
		approvers = append(approvers, a.User)
	}
	fmt.Fprintf(tw, "APPROVALS\t%d of %d %s\n", len(o.Approvals), o.RequiredApprovals, strings.Join(approvers, ", "))
	fmt.Fprintf(tw, "CREATED BY\t%s\n", o.CreatedBy)
	fmt.Fprintf(tw, "STARTED\t%s\n", when(o.StartedAt))
	fmt.Fprintf(tw, "FINISHED\t%s\n", when(o.FinishedAt))
	if o.RollbackOf != "" {
		fmt.Fprintf(tw, "ROLLS BACK\t%s\n", o.RollbackOf)
	}
	if o.RolledBackBy != "" {
		fmt.Fprintf(tw, "ROLLED BACK BY\t%s\n", o.RolledBackBy)
	}
	if f := o.Failure; f != nil {
		fmt.Fprintf(tw, "FAILURE\t%s %s: %s (pod %s)\n", dash(f.Item), f.Reason, f.Message, dash(f.Pod))
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "APPLICATION\tVERSION\tBEFORE\tDEPENDS ON\tSTATE\tSTARTED\tMESSAGE")
	for _, it := range o.Items {
		before := "-"
		if b := it.Before; b != nil {
			before = b.Version
			if b.Absent {
				before = "(none)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", it.Application, it.Version, before, dash(strings.Join(it.DependsOn, ",")),
			it.State, when(it.StartedAt), dash(it.Message))
	}
	return tw.Flush()
}

// progress is the seed's "done N / deploying N / failed N".
func progress(o apitypes.OrderView) string {
	p := o.Progress
	s := fmt.Sprintf("done %d / deploying %d / failed %d", p.Done, p.Deploying, p.Failed)
	if p.RolledBack+p.Cancelled > 0 {
		s += fmt.Sprintf(" (rolled back %d, cancelled %d)", p.RolledBack, p.Cancelled)
	}
	return s
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
