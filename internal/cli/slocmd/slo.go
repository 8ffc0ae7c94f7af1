// Package slocmd implements `berth slo set|list|show|delete`: a project's
// service level objectives and their error budgets. `berth apply` takes
// them as manifests of kind SLO.
package slocmd

import (
	"fmt"
	"net/url"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/kind"
)

// New returns the `slo` command.
func New(env cli.Env) *cobra.Command {
	cmd := &cobra.Command{Use: "slo", Short: "Service level objectives of a project's applications and their error budgets"}
	c := cmds{kind.NewProjectCommands(env, cmd)}
	cmd.AddCommand(c.set(), c.list(), c.show(), c.del())
	return cmd
}

// cmds are the subcommands, sharing the project and output flags.
type cmds struct{ *kind.ProjectCommands }

func (c cmds) set() *cobra.Command {
	var s apitypes.SLO
	cmd := &cobra.Command{
		Use:   "set NAME -e ENV --app APP --kind availability|latency --objective 99.9 [--threshold 250ms] [--window 30d]",
		Short: "Create or replace an SLO; its burn-rate alerts go to the project's alert receivers",
		Long: "availability: the percentage of requests through the Berth gateway not answered 5xx. latency: the percentage\n" +
			"answered within --threshold, one of the gateway's latency buckets. --window is the rolling period (1d to 90d,\n" +
			"default 30d). Berth pages (critical) when the budget burns 14.4x over 1h and 5m or 6x over 6h and 30m, and\n" +
			"opens a ticket (warning) at 3x over 1d and 2h or 1x over 3d and 6h, those windows scaled to the SLO's.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out apitypes.SLO
			if err := c.Call(cmd, "PUT", "/slos/"+url.PathEscape(args[0]), s, &out); err != nil {
				return err
			}
			fmt.Fprintf(c.Env.Stdout, "SLO %s set (version %d)\n", out.Name, out.ResourceVersion)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&s.Environment, "env", "e", "", "environment (required)")
	f.StringVar(&s.Application, "app", "", "application (required)")
	f.StringVar(&s.Kind, "kind", "availability", "availability or latency")
	f.Float64Var(&s.Objective, "objective", 0, "percentage of good requests, such as 99.9 (required)")
	f.StringVar(&s.Threshold, "threshold", "", "latency a good request is answered within (kind latency)")
	f.StringVar(&s.Window, "window", "", "rolling period, such as 30d or 168h (default 30d)")
	return cmd
}

func (c cmds) list() *cobra.Command {
	return &cobra.Command{Use: "list", Short: "List the project's SLOs", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var slos []apitypes.SLO
			if err := c.Call(cmd, "GET", "/slos", nil, &slos); err != nil {
				return err
			}
			return c.Print(slos, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "NAME\tENV\tAPP\tOBJECTIVE\tWINDOW")
				for _, s := range slos {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.Environment, s.Application, objective(s), window(s.Window))
				}
			})
		}}
}

func (c cmds) show() *cobra.Command {
	return &cobra.Command{Use: "show NAME", Short: "Show an SLO's error ratio over its window and the error budget left (from Prometheus)",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var s apitypes.SLO
			if err := c.Call(cmd, "GET", "/slos/"+url.PathEscape(args[0]), nil, &s); err != nil {
				return err
			}
			var b apitypes.SLOBudget
			if err := c.Call(cmd, "GET", "/slos/"+url.PathEscape(args[0])+"/budget", nil, &b); err != nil {
				return err
			}
			return c.Print(b, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "SLO:\t%s (%s in %s)\n", s.Name, s.Application, s.Environment)
				fmt.Fprintf(w, "Objective:\t%s over %s\n", objective(s), window(s.Window))
				if b.ErrorRatio == nil {
					fmt.Fprintf(w, "Error ratio:\tno requests in the window\n")
					return
				}
				fmt.Fprintf(w, "Error ratio:\t%s%%\n", percent(*b.ErrorRatio))
				fmt.Fprintf(w, "Budget left:\t%s%%\n", percent(*b.Remaining))
			})
		}}
}

func (c cmds) del() *cobra.Command {
	return &cobra.Command{Use: "delete NAME", Short: "Delete an SLO and its alerts", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.Call(cmd, "DELETE", "/slos/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.Env.Stdout, "SLO %s deleted\n", args[0])
			return nil
		}}
}

// objective is s's objective in words: "99.9% available", "99% within 250ms".
func objective(s apitypes.SLO) string {
	o := strconv.FormatFloat(s.Objective, 'f', -1, 64) + "%"
	if s.Threshold != "" {
		return o + " within " + s.Threshold
	}
	return o + " available"
}

func window(w string) string {
	if w == "" {
		return "30d"
	}
	return w
}

func percent(f float64) string { return strconv.FormatFloat(f*100, 'f', 2, 64) }
