// Package appcmd implements `berth app`: run application versions in an
// environment and operate them by name (list, deploy, scale, stop, start,
// restart, status, undeploy, watch) — never by pod.
package appcmd

import (
	"bufio"
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
)

type target struct{ kind.Environment }

func (t *target) flags(cmd *cobra.Command) { t.Flags(cmd.Flags()) }

// base opens the session and returns the environment's deployments path.
func (t *target) base(getenv func(string) string) (*client.Session, string, error) {
	s, env, err := t.Open(getenv)
	return s, env + "/deployments", err
}

// New returns the `app` command.
func New(env cli.Env) *cobra.Command {
	cmd := &cobra.Command{Use: "app", Short: "Run and operate applications in an environment"}
	cmd.AddCommand(listCmd(env), deployCmd(env), scaleCmd(env), statusCmd(env), watchCmd(env), undeployCmd(env))
	for _, op := range []string{"stop", "start", "restart"} {
		cmd.AddCommand(opCmd(env, op))
	}
	return cmd
}

func listCmd(env cli.Env) *cobra.Command {
	var t target
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the applications of an environment: version, status, addresses, created time",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, base, err := t.base(env.Getenv)
			if err != nil {
				return err
			}
			all, err := client.List[apitypes.DeploymentView](cmd.Context(), s.Client, base)
			if err != nil {
				return err
			}
			if output == "json" {
				return json.NewEncoder(env.Stdout).Encode(all)
			}
			return printList(env.Stdout, all)
		},
	}
	t.flags(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

func printList(w io.Writer, ds []apitypes.DeploymentView) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tSTATUS\tREADY\tEXTERNAL ADDRESS\tINTERNAL ADDRESS\tCREATED")
	for _, d := range ds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", d.Application, d.Version, phase(d), d.Status.Ready, d.Status.Desired,
			dash(d.ExternalAddress), dash(d.InternalAddress), d.CreatedAt.Local().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

func phase(d apitypes.DeploymentView) string {
	p := string(d.Status.Phase)
	if d.Deleting {
		p = "Deleting"
	}
	if d.Status.Reason != "" {
		p += " (" + d.Status.Reason + ")"
	}
	return p
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// appCommand builds a command acting on one application: use and short
// describe it, and act turns the arguments into the request to send and
// what to say once it is accepted.
func appCommand(env cli.Env, use, short string, nargs int,
	act func(args []string, t *target) (method, suffix string, body any, done string, err error)) *cobra.Command {
	var t target
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(nargs),
		RunE: func(cmd *cobra.Command, args []string) error {
			method, suffix, body, done, err := act(args, &t)
			if err != nil {
				return err
			}
			return change(cmd.Context(), env, &t, method, args[0], suffix, body, done)
		},
	}
	t.flags(cmd)
	return cmd
}

func deployCmd(env cli.Env) *cobra.Command {
	return appCommand(env, "deploy APP VERSION", "Run VERSION of APP in the environment", 2,
		func(args []string, t *target) (string, string, any, string, error) {
			return "PUT", "", apitypes.DeployRequest{Version: args[1]}, fmt.Sprintf("%s: deploying version %s to %s", args[0], args[1], t.Name), nil
		})
}

func scaleCmd(env cli.Env) *cobra.Command {
	return appCommand(env, "scale APP REPLICAS", "Set the replica count of APP", 2,
		func(args []string, t *target) (string, string, any, string, error) {
			n, err := strconv.ParseInt(args[1], 10, 32)
			if err != nil {
				return "", "", nil, "", fmt.Errorf("REPLICAS: want a whole number, got %q", args[1])
			}
			return "POST", "/scale", apitypes.ScaleRequest{Replicas: int32(n)}, fmt.Sprintf("%s: scaling to %d replicas in %s", args[0], n, t.Name), nil
		})
}

var opDone = map[string]string{"stop": "stopping", "start": "starting", "restart": "restarting (rolling)"}

func opCmd(env cli.Env, op string) *cobra.Command {
	return appCommand(env, op+" APP", strings.ToUpper(op[:1])+op[1:]+" APP in the environment", 1,
		func(args []string, t *target) (string, string, any, string, error) {
			return "POST", "/" + op, nil, fmt.Sprintf("%s: %s in %s", args[0], opDone[op], t.Name), nil
		})
}

func undeployCmd(env cli.Env) *cobra.Command {
	return appCommand(env, "undeploy APP", "Remove APP and its objects from the environment", 1,
		func(args []string, t *target) (string, string, any, string, error) {
			return "DELETE", "", nil, fmt.Sprintf("%s: removing from %s", args[0], t.Name), nil
		})
}

func change(ctx context.Context, env cli.Env, t *target, method, app, suffix string, body any, done string) error {
	s, base, err := t.base(env.Getenv)
	if err != nil {
		return err
	}
	var d apitypes.DeploymentView
	if err := s.Client.Do(ctx, method, base+"/"+url.PathEscape(app)+suffix, body, &d); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s (now %s, %d/%d ready; follow with `berth app status %s --env %s`)\n",
		done, phase(d), d.Status.Ready, d.Status.Desired, app, t.Name)
	return nil
}

func statusCmd(env cli.Env) *cobra.Command {
	var t target
	var output string
	cmd := &cobra.Command{
		Use:   "status APP",
		Short: "Show APP's live status: replicas, pods with node, zone, IP and restarts, recent events",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, base, err := t.base(env.Getenv)
			if err != nil {
				return err
			}
			var d apitypes.DeploymentView
			if err := s.Client.Do(cmd.Context(), "GET", base+"/"+url.PathEscape(args[0]), nil, &d); err != nil {
				return err
			}
			if output == "json" {
				return json.NewEncoder(env.Stdout).Encode(d)
			}
			return printStatus(env.Stdout, d)
		},
	}
	t.flags(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

func printStatus(w io.Writer, d apitypes.DeploymentView) error {
	fmt.Fprintf(w, "%s in %s: version %s, %s, %d/%d ready\n", d.Application, d.Environment, d.Version, phase(d), d.Status.Ready, d.Status.Desired)
	if d.Status.Message != "" {
		fmt.Fprintf(w, "  %s\n", d.Status.Message)
	}
	fmt.Fprintf(w, "  internal address: %s\n  external address: %s\n\n", dash(d.InternalAddress), dash(d.ExternalAddress))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POD\tVERSION\tREADY\tRESTARTS\tNODE\tZONE\tIP\tREASON")
	for _, p := range d.Status.Pods {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%d\t%s\t%s\t%s\t%s\n", p.Name, p.Version, p.Ready, p.Restarts, dash(p.Node), dash(p.Zone), dash(p.IP), dash(p.Reason))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(d.Events) > 0 {
		fmt.Fprintln(w, "\nRecent events:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, e := range d.Events {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t(x%d)\n", e.Last.Local().Format("15:04:05"), e.Type, e.Reason, e.Object+": "+e.Message, e.Count)
		}
		return tw.Flush()
	}
	return nil
}

func watchCmd(env cli.Env) *cobra.Command {
	var t target
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Stream status changes of the environment's applications until interrupted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, base, err := t.base(env.Getenv)
			if err != nil {
				return err
			}
			pr, pw := io.Pipe()
			errc := make(chan error, 1)
			go func() {
				err := s.Client.Stream(cmd.Context(), "GET", base+"?watch=true", pw)
				pw.CloseWithError(err)
				errc <- err
			}()
			if err := printEvents(env.Stdout, pr); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			if err := <-errc; err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		},
	}
	t.flags(cmd)
	return cmd
}

// printEvents prints one line per status event of a server-sent event stream.
func printEvents(w io.Writer, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var d apitypes.DeploymentView
		if err := json.Unmarshal([]byte(data), &d); err != nil {
			return fmt.Errorf("decode event: %w", err)
		}
		fmt.Fprintf(w, "%s %-20s %-12s %-28s %d/%d\n", time.Now().Format("15:04:05"), d.Application, d.Version, phase(d), d.Status.Ready, d.Status.Desired)
	}
	return sc.Err()
}
