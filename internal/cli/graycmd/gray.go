// Package graycmd implements `berth gray`: start a gray plan for an
// application in an environment, widen it step by step (tellers, branches,
// regions, weights), change it, promote it (keeping the old version for an
// instant switch back, or not), abort it, end it, and show its status.
// With --order every verb acts on the gray group of a release order: one
// plan per item of the order, all moved together.
package graycmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/kind"
	"berth.dev/berth/internal/client"
	"berth.dev/berth/internal/resource"
)

type target struct {
	place kind.Place
	env   string
	// order names a release order: act on its gray group, every plan of
	// it at once.
	order string
}

func (t *target) flags(cmd *cobra.Command) {
	t.place.Flags(cmd.Flags())
	cmd.Flags().StringVarP(&t.env, "env", "e", "", "environment (required without --order)")
	cmd.Flags().StringVar(&t.order, "order", "", "a release order: act on the gray plans of all its items at once (its environment is the order's)")
}

// args checks a command's arguments: n without --order, none with it.
func (t *target) args(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if t.order != "" {
			if len(args) != 0 {
				return fmt.Errorf("--order %s acts on every item of the order; give no application or version", t.order)
			}
			return nil
		}
		return cobra.ExactArgs(n)(cmd, args)
	}
}

// groupBase opens the session and returns the order's gray group path.
func (t *target) groupBase(getenv func(string) string) (*client.Session, string, error) {
	s, project, err := kind.OpenProject(getenv, &t.place)
	if err != nil {
		return nil, "", err
	}
	return s, project + "/releases/" + url.PathEscape(t.order) + "/gray", nil
}

// base opens the session and returns the environment's grayplans path.
func (t *target) base(getenv func(string) string) (*client.Session, string, error) {
	if t.env == "" {
		return nil, "", errors.New("--env: the environment is required")
	}
	s, project, err := kind.OpenProject(getenv, &t.place)
	if err != nil {
		return nil, "", err
	}
	return s, project + "/environments/" + url.PathEscape(t.env) + "/grayplans", nil
}

// New returns the `gray` command.
func New(env cli.Env) *cobra.Command {
	cmd := &cobra.Command{Use: "gray", Short: "Release a new version to chosen tellers, branches and regions first (gray plans)",
		Long: "Gray plans run a new version beside the stable one and send it the requests of chosen tellers,\n" +
			"branches and regions (by the organisation headers), widening step by step, with an optional\n" +
			"percentage of everyone else; or switch everyone at once (blue-green). See docs/gray-release.md."}
	cmd.AddCommand(startCmd(env), stepCmd(env), setCmd(env), promoteCmd(env), abortCmd(env), endCmd(env), statusCmd(env))
	return cmd
}

// ParseStep reads one step: semicolon-separated key=value pairs, keys
// tellers, branches, regions (comma-separated codes or names, which may
// hold spaces) and weight (a percentage), e.g. "branches=0101,0102;weight=10".
func ParseStep(s string) (apitypes.GrayStep, error) {
	var st apitypes.GrayStep
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ';' })
	if len(fields) == 0 {
		return st, fmt.Errorf("--step %q: want tellers=, branches=, regions= or weight=", s)
	}
	for _, f := range fields {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok || v == "" {
			return st, fmt.Errorf("--step %q: %q is not key=value", s, f)
		}
		switch k {
		case "tellers":
			st.Tellers = append(st.Tellers, strings.Split(v, ",")...)
		case "branches":
			st.Branches = append(st.Branches, strings.Split(v, ",")...)
		case "regions":
			st.Regions = append(st.Regions, strings.Split(v, ",")...)
		case "weight":
			n, err := strconv.Atoi(strings.TrimSuffix(v, "%"))
			if err != nil {
				return st, fmt.Errorf("--step %q: weight: want a percentage, got %q", s, v)
			}
			st.Weight = n
		default:
			return st, fmt.Errorf("--step %q: unknown key %q; want tellers, branches, regions or weight", s, k)
		}
	}
	return st, nil
}

func parseSteps(specs []string) ([]apitypes.GrayStep, error) {
	var out []apitypes.GrayStep
	for _, s := range specs {
		st, err := ParseStep(s)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func startCmd(env cli.Env) *cobra.Command {
	var t target
	var steps []string
	var blueGreen bool
	var replicas int32
	cmd := &cobra.Command{
		Use:   "start APP VERSION",
		Short: "Run VERSION of APP beside the stable one for the first step's cohort",
		Example: "  berth gray start pay v2 -e prod --step tellers=T900,T901 --step branches=0101 --step 'regions=north;weight=10'\n" +
			"  berth gray start pay v2 -e prod --blue-green\n" +
			"  berth gray start --order ro-20261122-k3f9q2 --step tellers=T900 --step branches=0101   # every item of an approved order",
		Args: t.args(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var req apitypes.GrayGroupStartRequest
			if blueGreen {
				req.Strategy, req.Side = apitypes.GrayBlueGreen, "gray"
			} else {
				st, err := parseSteps(steps)
				if err != nil {
					return err
				}
				req.Steps = st
			}
			if replicas > 0 {
				req.GrayReplicas = &replicas
			}
			if t.order != "" {
				return sendGroup(cmd.Context(), env, &t, "", req, "gray release started")
			}
			one := apitypes.GrayStartRequest{Application: args[0], GrayVersion: args[1], Strategy: req.Strategy,
				GrayReplicas: req.GrayReplicas, Steps: req.Steps, Side: req.Side}
			return send(cmd.Context(), env, &t, "POST", "", one, fmt.Sprintf("%s: gray plan started, %s beside the stable version", args[0], args[1]))
		},
	}
	t.flags(cmd)
	cmd.Flags().StringArrayVar(&steps, "step", nil, "a step: tellers=, branches=, regions= (codes or names) and weight=N; repeat in order")
	cmd.Flags().BoolVar(&blueGreen, "blue-green", false, "switch everyone to the new version at once instead of by steps")
	cmd.Flags().Int32Var(&replicas, "gray-replicas", 0, "replicas of the new version (default: the version's)")
	return cmd
}

func stepCmd(env cli.Env) *cobra.Command {
	var t target
	var to int
	cmd := &cobra.Command{
		Use:   "step APP | --order ID",
		Short: "Widen APP's plan (or every plan of the order's group) to its next step (or --to N, counted from 1)",
		Args:  t.args(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var body apitypes.GrayStepRequest
			if to > 0 {
				body.To = new(to - 1)
			}
			return op(cmd.Context(), env, &t, args, "step", body, "plan moved")
		},
	}
	t.flags(cmd)
	cmd.Flags().IntVar(&to, "to", 0, "the step to move to, counted from 1 (default: the next)")
	return cmd
}

func setCmd(env cli.Env) *cobra.Command {
	var t target
	var steps []string
	var at, replicas int
	var side string
	cmd := &cobra.Command{
		Use:   "set APP | --order ID",
		Short: "Change APP's running plan (or the order's group): its steps (--step, all of them), current step (--at), blue-green side, gray replicas",
		Args:  t.args(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var body apitypes.GrayChange
			if len(steps) > 0 {
				st, err := parseSteps(steps)
				if err != nil {
					return err
				}
				body.Steps = &st
			}
			if at > 0 {
				body.Step = new(at - 1)
			}
			if side != "" {
				body.Side = &side
			}
			if replicas > 0 {
				body.GrayReplicas = new(int32(replicas))
			}
			if body == (apitypes.GrayChange{}) {
				return errors.New("nothing to change: give --step, --at, --side or --gray-replicas")
			}
			return op(cmd.Context(), env, &t, args, "set", body, "plan changed")
		},
	}
	t.flags(cmd)
	cmd.Flags().StringArrayVar(&steps, "step", nil, "the plan's steps, replacing all of them (as for start)")
	cmd.Flags().IntVar(&at, "at", 0, "the current step, counted from 1")
	cmd.Flags().StringVar(&side, "side", "", "blue-green: stable or gray")
	cmd.Flags().IntVar(&replicas, "gray-replicas", 0, "replicas of the new version")
	return cmd
}

func promoteCmd(env cli.Env) *cobra.Command {
	var t target
	var keep time.Duration
	cmd := &cobra.Command{
		Use:   "promote APP | --order ID",
		Short: "Make the new version stable (with --order: of every item, and the order succeeds); --keep-old keeps the old one running for an instant switch back (abort)",
		Args:  t.args(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return op(cmd.Context(), env, &t, args, "promote", apitypes.GrayPromoteRequest{KeepOld: keep.String()}, "promoted")
		},
	}
	t.flags(cmd)
	cmd.Flags().DurationVar(&keep, "keep-old", 0, "how long to keep the old version (e.g. 2h); 0 removes it now")
	return cmd
}

func abortCmd(env cli.Env) *cobra.Command {
	var t target
	var reason string
	cmd := &cobra.Command{
		Use:   "abort APP | --order ID",
		Short: "Send everyone back to the old version and remove the new one (after promote: switch back); with --order, every item",
		Args:  t.args(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return op(cmd.Context(), env, &t, args, "abort", apitypes.GrayAbortRequest{Reason: reason}, "aborted")
		},
	}
	t.flags(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit trail")
	return cmd
}

func endCmd(env cli.Env) *cobra.Command {
	var t target
	cmd := &cobra.Command{
		Use:   "end APP | --order ID",
		Short: "Stop keeping the old version of a promoted plan (or of every plan of the order's group) now",
		Args:  t.args(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return op(cmd.Context(), env, &t, args, "end", nil, "ended")
		},
	}
	t.flags(cmd)
	return cmd
}

func statusCmd(env cli.Env) *cobra.Command {
	var t target
	var output string
	cmd := &cobra.Command{
		Use:   "status [APP] | --order ID",
		Short: "Show the environment's gray plans, APP's, or those of an order's gray group: phase, versions, step and the rules traffic follows",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if t.order != "" {
				s, base, err := t.groupBase(env.Getenv)
				if err != nil {
					return err
				}
				var g apitypes.GrayGroupView
				if err := s.Client.Do(cmd.Context(), "GET", base, nil, &g); err != nil {
					return err
				}
				if output == "json" {
					return json.NewEncoder(env.Stdout).Encode(g)
				}
				fmt.Fprintf(env.Stdout, "release order %s: %s\n", g.Order.ID, g.Order.State)
				return printViews(env.Stdout, g.Plans)
			}
			s, base, err := t.base(env.Getenv)
			if err != nil {
				return err
			}
			var views []apitypes.GrayPlanView
			if len(args) == 1 {
				var v apitypes.GrayPlanView
				if err := s.Client.Do(cmd.Context(), "GET", base+"/"+url.PathEscape(args[0]), nil, &v); err != nil {
					return err
				}
				views = append(views, v)
			} else {
				var page apitypes.List[apitypes.GrayPlanView]
				if err := s.Client.Do(cmd.Context(), "GET", base, nil, &page); err != nil {
					return err
				}
				views = page.Items
			}
			if output == "json" {
				return json.NewEncoder(env.Stdout).Encode(views)
			}
			return printViews(env.Stdout, views)
		},
	}
	t.flags(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

func printViews(w io.Writer, views []apitypes.GrayPlanView) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APP\tPHASE\tSTABLE\tGRAY\tSTEP\tROUTING\tAPPLIED")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Application, phaseOf(v.Plan), v.StableVersion, v.GrayVersion,
			stepOf(v.Plan), v.Rules.String(), appliedOf(v.Plan))
	}
	return tw.Flush()
}

func phaseOf(p apitypes.GrayPlan) string {
	if p.Phase == apitypes.GrayPromoted && p.KeepOldUntil != nil {
		return fmt.Sprintf("Promoted (old kept until %s)", p.KeepOldUntil.Local().Format("2006-01-02 15:04"))
	}
	return string(p.Phase)
}

func stepOf(p apitypes.GrayPlan) string {
	if p.Strategy == apitypes.GrayBlueGreen {
		return "blue-green: " + p.Side
	}
	return fmt.Sprintf("%d/%d", p.Step+1, len(p.Steps))
}

func appliedOf(p apitypes.GrayPlan) string {
	switch {
	case p.Applied.Error != "":
		if c, ok := resource.FindCondition(p.Applied.Conditions, resource.ConditionReady); ok && c.Reason != "" {
			return "error (" + c.Reason + "): " + p.Applied.Error
		}
		return "error: " + p.Applied.Error
	case p.Applied.Generation < p.Generation:
		return "applying"
	}
	return "serving " + strings.Join(p.Applied.Serving, ",")
}

// op sends a change of one plan (args[0]) or, with --order, of the order's
// gray group.
func op(ctx context.Context, env cli.Env, t *target, args []string, verb string, body any, done string) error {
	if t.order != "" {
		return sendGroup(ctx, env, t, "/"+verb, body, done)
	}
	return send(ctx, env, t, "POST", "/"+url.PathEscape(args[0])+"/"+verb, body, args[0]+": "+done)
}

func sendGroup(ctx context.Context, env cli.Env, t *target, suffix string, body any, done string) error {
	s, base, err := t.groupBase(env.Getenv)
	if err != nil {
		return err
	}
	var g apitypes.GrayGroupView
	if err := s.Client.Do(ctx, "POST", base+suffix, body, &g); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "release order %s: %s (%s)\n", g.Order.ID, done, g.Order.State)
	for _, v := range g.Plans {
		fmt.Fprintf(env.Stdout, "  %s: %s beside %s (%s, step %s; routing: %s)\n", v.Application, v.GrayVersion, v.StableVersion,
			phaseOf(v.Plan), stepOf(v.Plan), v.Rules.String())
	}
	return nil
}

func send(ctx context.Context, env cli.Env, t *target, method, suffix string, body any, done string) error {
	s, base, err := t.base(env.Getenv)
	if err != nil {
		return err
	}
	var v apitypes.GrayPlanView
	if err := s.Client.Do(ctx, method, base+suffix, body, &v); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s (%s, step %s; routing: %s)\n", done, phaseOf(v.Plan), stepOf(v.Plan), v.Rules.String())
	return nil
}
