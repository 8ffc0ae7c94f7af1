// Package releasecmd implements `berth release`: release orders that ship
// many applications of one environment as one transaction (create, submit,
// approve, start, status, list, abort, rollback).
package releasecmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/kind"
	"berth.dev/berth/internal/client"
	"berth.dev/berth/internal/manifest"
)

// New returns the `release` command.
func New(env cli.Env) *cobra.Command {
	cmd := &cobra.Command{Use: "release", Short: "Release many applications of an environment as one order that rolls back on a fault"}
	cmd.AddCommand(createCmd(env), listCmd(env), statusCmd(env), rollbackCmd(env),
		actionCmd(env, "submit", "Submit a draft order for approval", ""),
		actionCmd(env, "approve", "Approve an order (never your own: four eyes)", "comment"),
		actionCmd(env, "start", "Start an approved order", ""),
		actionCmd(env, "abort", "Abort an order; a running one rolls every started item back", "reason"))
	return cmd
}

// session opens the CLI session and returns the project's releases path.
func session(env cli.Env, p *kind.Place) (*client.Session, string, error) {
	s, project, err := kind.OpenProject(env.Getenv, p)
	if err != nil {
		return nil, "", err
	}
	return s, project + "/releases", nil
}

func createCmd(env cli.Env) *cobra.Command {
	var p kind.Place
	var file, environment, title, ticket, deadline string
	var stages []string
	var parallelism int
	var draft bool
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a release order from a ReleaseOrder file (-f) or from --stage flags",
		Example: `  berth release create -f order.yaml
  berth release create --env prod --title "fee rounding" --ticket CHG-1182 \
      --stage blue-ledger=v2.3.1 --stage red-auth=v1.8.0,green-gw=v4.0.2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := request(file, environment, title, ticket, deadline, stages, parallelism, &p)
			if err != nil {
				return err
			}
			req["draft"] = draft
			s, base, err := session(env, &p)
			if err != nil {
				return err
			}
			var o apitypes.OrderView
			if err := s.Client.Do(cmd.Context(), "POST", base, req, &o); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "release order %s created: %s", o.ID, o.State)
			if o.State == "PendingApproval" {
				fmt.Fprintf(env.Stdout, " (needs %d approval(s) by someone other than %s)", o.RequiredApprovals, o.CreatedBy)
			}
			fmt.Fprintln(env.Stdout)
			return nil
		},
	}
	p.Flags(cmd.Flags())
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "a ReleaseOrder manifest (- for stdin)")
	f.StringVarP(&environment, "env", "e", "", "environment")
	f.StringVar(&title, "title", "", "what the release is")
	f.StringVar(&ticket, "ticket", "", "related change ticket")
	f.StringVar(&deadline, "deadline", "", "each item's time to become ready, e.g. 5m (default 5m)")
	f.StringArrayVar(&stages, "stage", nil, "a stage: APP=VERSION,APP=VERSION (repeat; stages run in order, a stage's items in parallel)")
	f.IntVar(&parallelism, "parallelism", 0, "items deploying at once (default 10)")
	f.BoolVar(&draft, "draft", false, "keep the order as a draft, to submit later")
	return cmd
}

// request builds the API request from a manifest file or from flags.
func request(file, environment, title, ticket, deadline string, stages []string, parallelism int, p *kind.Place) (map[string]any, error) {
	if file != "" {
		if len(stages) > 0 || environment != "" || title != "" {
			return nil, errors.New("-f: give the order in the file or with flags, not both")
		}
		return fromFile(file, p)
	}
	if environment == "" || title == "" || len(stages) == 0 {
		return nil, errors.New("--env, --title and at least one --stage are required without -f")
	}
	var out [][]map[string]string
	for i, st := range stages {
		var stage []map[string]string
		for _, pair := range strings.Split(st, ",") {
			app, version, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if !ok || app == "" || version == "" {
				return nil, fmt.Errorf("--stage %d: want APP=VERSION[,APP=VERSION...], got %q", i+1, st)
			}
			stage = append(stage, map[string]string{"application": app, "version": version})
		}
		out = append(out, stage)
	}
	req := map[string]any{"environment": environment, "title": title, "ticket": ticket, "stages": out, "parallelism": parallelism}
	if deadline != "" {
		req["deadline"] = deadline
	}
	return req, nil
}

func fromFile(file string, p *kind.Place) (map[string]any, error) {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(io.LimitReader(os.Stdin, manifest.MaxSize+1))
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, err
	}
	objs, err := manifest.Decode(data)
	if err != nil {
		return nil, err
	}
	if len(objs) != 1 || objs[0].Kind != manifest.KindReleaseOrder {
		return nil, fmt.Errorf("%s: want exactly one ReleaseOrder document", file)
	}
	md := objs[0].Metadata
	if p.Tenant == "" {
		p.Tenant = md.Tenant
	}
	if p.Project == "" {
		p.Project = md.Project
	}
	js, err := json.Marshal(objs[0].Spec)
	if err != nil {
		return nil, err
	}
	var req map[string]any
	return req, json.Unmarshal(js, &req)
}

func actionCmd(env cli.Env, action, short, textFlag string) *cobra.Command {
	var p kind.Place
	var text string
	cmd := &cobra.Command{
		Use:   action + " ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, base, err := session(env, &p)
			if err != nil {
				return err
			}
			var body any
			switch {
			case text == "":
			case action == "approve":
				body = apitypes.ApproveRequest{Comment: text}
			case action == "abort":
				body = apitypes.AbortRequest{Reason: text}
			}
			var o apitypes.OrderView
			if err := s.Client.Do(cmd.Context(), "POST", base+"/"+url.PathEscape(args[0])+"/"+action, body, &o); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "release order %s: %s\n", o.ID, o.State)
			return nil
		},
	}
	p.Flags(cmd.Flags())
	if textFlag != "" {
		cmd.Flags().StringVar(&text, textFlag, "", textFlag+" recorded in the audit trail")
	}
	return cmd
}

func rollbackCmd(env cli.Env) *cobra.Command {
	var p kind.Place
	var items, to []string
	var reason string
	cmd := &cobra.Command{
		Use:   "rollback ID",
		Short: "Roll back a succeeded order, or chosen items of it, after a business fault",
		Example: `  berth release rollback ro-20261122-k3f9q2 --reason "wrong fee rounding"
  berth release rollback ro-20261122-k3f9q2 --items red-auth,green-gw --to red-auth=v1.7.9`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, base, err := session(env, &p)
			if err != nil {
				return err
			}
			target := map[string]string{}
			for _, pair := range to {
				app, v, ok := strings.Cut(pair, "=")
				if !ok {
					return fmt.Errorf("--to: want APP=VERSION, got %q", pair)
				}
				target[app] = v
			}
			var o apitypes.OrderView
			body := apitypes.RollbackRequest{Items: items, To: target, Reason: reason}
			if err := s.Client.Do(cmd.Context(), "POST", base+"/"+url.PathEscape(args[0])+"/rollback", body, &o); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "rollback order %s started for %s (%d items)\n", o.ID, args[0], len(o.Items))
			return nil
		},
	}
	p.Flags(cmd.Flags())
	cmd.Flags().StringSliceVar(&items, "items", nil, "applications to roll back (default: all)")
	cmd.Flags().StringArrayVar(&to, "to", nil, "APP=VERSION to return to instead of the version before the order (repeat)")
	cmd.Flags().StringVar(&reason, "reason", "", "the business fault found")
	return cmd
}
