// Package pipelinecmd implements `berth pipeline`: apply a Pipeline
// manifest (printing its webhook URL, and its secret once), list and show
// pipelines and runs, run one, follow its logs, approve or reject a
// waiting stage, cancel or retry a run. See docs/pipelines.md.
package pipelinecmd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/kind"
	"berth.dev/berth/internal/client"
)

// maxManifest bounds a manifest file.
const maxManifest = 1 << 20

// New returns the `pipeline` command.
func New(env cli.Env) *cobra.Command {
	p := &kind.Place{}
	cmd := &cobra.Command{Use: "pipeline", Aliases: []string{"pipelines", "pl"},
		Short: "Accountable pipelines: from a Git push to an image pinned by digest in an application version, each stage owned and approved"}
	p.Flags(cmd.PersistentFlags())
	cmd.AddCommand(applyCmd(env, p), listCmd(env, p), showCmd(env, p), runCmd(env, p), logsCmd(env, p),
		decideCmd(env, p, "approve"), decideCmd(env, p, "reject"), decideCmd(env, p, "cancel"), decideCmd(env, p, "retry"))
	return cmd
}

// open returns the session and the project's pipelines path.
func open(env cli.Env, p *kind.Place) (*client.Session, string, error) {
	s, project, err := kind.OpenProject(env.Getenv, p)
	return s, project + "/pipelines", err
}

// document is a Pipeline manifest.
type document struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name    string `json:"name"`
		Tenant  string `json:"tenant,omitempty"`
		Project string `json:"project,omitempty"`
	} `json:"metadata"`
	Spec apitypes.PipelineSpec `json:"spec"`
}

func readManifest(env cli.Env, file string) (document, error) {
	var r io.Reader = env.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return document{}, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxManifest+1))
	if err != nil {
		return document{}, err
	}
	if len(data) > maxManifest {
		return document{}, fmt.Errorf("%s: larger than %d bytes", file, maxManifest)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return document{}, fmt.Errorf("%s: %w", file, err)
	}
	var d document
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return document{}, fmt.Errorf("%s: %w", file, err)
	}
	if d.APIVersion != "berth.dev/v1" || d.Kind != "Pipeline" {
		return document{}, fmt.Errorf("%s: want apiVersion berth.dev/v1 and kind Pipeline, got %s %s", file, d.APIVersion, d.Kind)
	}
	if d.Metadata.Name == "" {
		return document{}, fmt.Errorf("%s: metadata.name: the pipeline's name is required", file)
	}
	return d, nil
}

func applyCmd(env cli.Env, p *kind.Place) *cobra.Command {
	var file string
	var rotate bool
	cmd := &cobra.Command{Use: "apply -f FILE", Short: "Create or change a pipeline from a Pipeline manifest (- for standard input)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := readManifest(env, file)
			if err != nil {
				return err
			}
			if d.Metadata.Tenant != "" {
				p.Tenant = d.Metadata.Tenant
			}
			if d.Metadata.Project != "" {
				p.Project = d.Metadata.Project
			}
			s, base, err := open(env, p)
			if err != nil {
				return err
			}
			path := base + "/" + url.PathEscape(d.Metadata.Name)
			if rotate {
				path += "?rotateSecret=true"
			}
			var res apitypes.PipelineApplied
			if err := s.Client.Do(cmd.Context(), "PUT", path, d.Spec, &res); err != nil {
				return err
			}
			verb := "changed"
			if res.Created {
				verb = "created"
			}
			fmt.Fprintf(env.Stdout, "Pipeline/%s %s (revision %d)\n", res.Pipeline.Name, verb, res.Pipeline.Revision)
			fmt.Fprintf(env.Stdout, "Webhook: %s/api/v1%s (%s)\n", strings.TrimSuffix(s.Context.Server, "/"), res.Pipeline.WebhookPath, res.Pipeline.Spec.Webhook.Provider)
			if res.WebhookSecret != "" {
				fmt.Fprintf(env.Stdout, "Webhook secret (shown once): %s\n", res.WebhookSecret)
			}
			return nil
		}}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the Pipeline manifest (- for standard input)")
	cmd.Flags().BoolVar(&rotate, "rotate-secret", false, "make a new webhook secret (the old one stops working)")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func listCmd(env cli.Env, p *kind.Place) *cobra.Command {
	return &cobra.Command{Use: "list", Short: "List the project's pipelines", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, base, err := open(env, p)
			if err != nil {
				return err
			}
			var page struct{ Items []apitypes.PipelineView }
			if err := s.Client.Do(cmd.Context(), "GET", base, nil, &page); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "NAME\tAPPLICATION\tBUILD\tREPOSITORY\tREVISION\tUPDATED BY")
			for _, pl := range page.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", pl.Name, pl.Spec.Application, pl.Spec.Build.Type, pl.Spec.Source.Repository, pl.Revision, pl.UpdatedBy)
			}
			return tw.Flush()
		}}
}

func showCmd(env cli.Env, p *kind.Place) *cobra.Command {
	var output string
	cmd := &cobra.Command{Use: "show PIPELINE [RUN]", Short: "Show a pipeline's runs, or one run: its steps, decisions, image and version", Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, base, err := open(env, p)
			if err != nil {
				return err
			}
			path := base + "/" + url.PathEscape(args[0]) + "/runs"
			if len(args) == 1 {
				var page struct{ Items []apitypes.PipelineRun }
				if err := s.Client.Do(cmd.Context(), "GET", path, nil, &page); err != nil {
					return err
				}
				tw := tabwriter.NewWriter(env.Stdout, 0, 4, 3, ' ', 0)
				fmt.Fprintln(tw, "RUN\tSTATE\tTRIGGER\tREF\tCOMMIT\tVERSION\tCREATED")
				for _, r := range page.Items {
					fmt.Fprintf(tw, "%d\t%s\t%s %s\t%s\t%s\t%s\t%s\n", r.Number, r.State, r.Trigger.Kind, r.Trigger.User, r.Ref, short(r.Commit), r.Version, r.CreatedAt.Format(time.RFC3339))
				}
				return tw.Flush()
			}
			var r apitypes.PipelineRun
			if err := s.Client.Do(cmd.Context(), "GET", path+"/"+url.PathEscape(args[1]), nil, &r); err != nil {
				return err
			}
			if output == "json" {
				return json.NewEncoder(env.Stdout).Encode(r)
			}
			return printRun(env.Stdout, r)
		}}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

func short(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

func printRun(w io.Writer, r apitypes.PipelineRun) error {
	fmt.Fprintf(w, "Run %d of %s: %s\n", r.Number, r.Name, r.State)
	if r.Message != "" {
		fmt.Fprintf(w, "Message: %s\n", r.Message)
	}
	fmt.Fprintf(w, "Trigger: %s by %s\nSource: %s %s %s\n", r.Trigger.Kind, r.Trigger.User, r.Spec.Source.Repository, r.Ref, r.Commit)
	if r.Digest != "" {
		fmt.Fprintf(w, "Image: %s@%s\n", r.Image, r.Digest)
	}
	if r.Version != "" {
		fmt.Fprintf(w, "Version: %s\n", r.Version)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tSTEP\tOWNER\tSTATE\tMESSAGE")
	for _, st := range r.Steps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", st.Stage, st.Name, st.Owner, st.State, st.Message)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, d := range r.Decisions {
		fmt.Fprintf(w, "Decision: %s %s by %s at %s: %s\n", d.Stage, d.Verdict, d.By, d.At.Format(time.RFC3339), d.Reason)
	}
	for _, st := range r.Steps {
		if st.State == apitypes.RunFailed && st.LogTail != "" {
			fmt.Fprintf(w, "--- end of the log of step %s ---\n%s\n", st.Name, st.LogTail)
		}
	}
	return nil
}

func runCmd(env cli.Env, p *kind.Place) *cobra.Command {
	var branch, commit string
	var follow bool
	cmd := &cobra.Command{Use: "run PIPELINE [--branch main] [--commit SHA] [-f]", Short: "Run a pipeline now, triggered by you", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, base, err := open(env, p)
			if err != nil {
				return err
			}
			path := base + "/" + url.PathEscape(args[0]) + "/runs"
			var r apitypes.PipelineRun
			if err := s.Client.Do(cmd.Context(), "POST", path, apitypes.RunRequest{Ref: "refs/heads/" + branch, Commit: commit}, &r); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Run %d of %s queued\n", r.Number, r.Name)
			if !follow {
				return nil
			}
			return followLog(cmd, env, s, path+"/"+strconv.FormatInt(r.Number, 10), "")
		}}
	cmd.Flags().StringVar(&branch, "branch", "main", "the branch to build")
	cmd.Flags().StringVar(&commit, "commit", "", "the commit to build (default: the branch's head)")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "follow the run's logs until it ends")
	return cmd
}

func logsCmd(env cli.Env, p *kind.Place) *cobra.Command {
	var step string
	var follow bool
	cmd := &cobra.Command{Use: "logs PIPELINE RUN [--step S] [-f]", Short: "Print a run's step logs; --follow until the run ends", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, base, err := open(env, p)
			if err != nil {
				return err
			}
			path := base + "/" + url.PathEscape(args[0]) + "/runs/" + url.PathEscape(args[1])
			if follow {
				return followLog(cmd, env, s, path, step)
			}
			var res apitypes.RunLog
			if err := s.Client.Do(cmd.Context(), "GET", path+"/log"+client.Query("step", step), nil, &res); err != nil {
				return err
			}
			for _, l := range res.Steps {
				fmt.Fprintf(env.Stdout, "=== %s (%s)\n%s", l.Step, l.State, l.Text)
			}
			return nil
		}}
	cmd.Flags().StringVar(&step, "step", "", "only this step (clone, build, push, version, or a stage)")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing as the run goes on, until it ends")
	return cmd
}

// followLog prints the run's log event stream until the run ends, then
// fails unless the run succeeded or waits for an approval.
func followLog(cmd *cobra.Command, env cli.Env, s *client.Session, runPath, step string) error {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(s.Client.Stream(cmd.Context(), "GET", runPath+"/log"+client.Query("step", step, "follow", "true"), pw))
	}()
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	event := ""
	var end *apitypes.PipelineRun
	for sc.Scan() {
		line := sc.Text()
		if e, ok := strings.CutPrefix(line, "event: "); ok {
			event = e
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		switch event {
		case "log":
			var l apitypes.StepLog
			if err := json.Unmarshal([]byte(data), &l); err != nil {
				return fmt.Errorf("read the log stream: %w", err)
			}
			fmt.Fprint(env.Stdout, l.Text)
		case "step":
			var l apitypes.StepLog
			if err := json.Unmarshal([]byte(data), &l); err == nil {
				fmt.Fprintf(env.Stdout, "=== step %s %s\n", l.Step, l.State)
			}
		case "end":
			end = &apitypes.PipelineRun{}
			if err := json.Unmarshal([]byte(data), end); err != nil {
				return fmt.Errorf("read the log stream: %w", err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if end == nil {
		return errors.New("the log stream ended before the run")
	}
	fmt.Fprintf(env.Stdout, "Run %d %s: %s\n", end.Number, end.State, end.Message)
	if end.State != apitypes.RunSucceeded && end.State != apitypes.RunWaiting {
		return fmt.Errorf("run %d %s", end.Number, end.State)
	}
	return nil
}

func decideCmd(env cli.Env, p *kind.Place, verb string) *cobra.Command {
	var reason, step string
	use, short, nargs := verb+" PIPELINE RUN STAGE [--reason R]", "Approve a waiting stage (never your own run's, nor of a pipeline you last changed)", 3
	switch verb {
	case "reject":
		short = "Reject a waiting stage; the run fails (a reason is required)"
	case "cancel":
		use, short, nargs = "cancel PIPELINE RUN [--reason R]", "Cancel a run", 2
	case "retry":
		use, short, nargs = "retry PIPELINE RUN [--step STEP] [--reason R]", "Retry a failed run from its failed step (or an earlier one)", 2
	}
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(nargs),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, base, err := open(env, p)
			if err != nil {
				return err
			}
			path := base + "/" + url.PathEscape(args[0]) + "/runs/" + url.PathEscape(args[1])
			switch verb {
			case "cancel":
				path += "/cancel"
			case "retry":
				path += "/retry"
				if step != "" {
					path += "?step=" + url.QueryEscape(step)
				}
			default:
				path += "/stages/" + url.PathEscape(args[2]) + "/" + verb
			}
			var r apitypes.PipelineRun
			if err := s.Client.Do(cmd.Context(), "POST", path, apitypes.DecisionRequest{Reason: reason}, &r); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Run %d of %s: %s\n", r.Number, r.Name, r.State)
			return nil
		}}
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded in the run and the audit trail)")
	if verb == "retry" {
		cmd.Flags().StringVar(&step, "step", "", "the step to run again from (default: the failed one); clone, build and push run again together")
	}
	return cmd
}
