// Package alertcmd implements `berth alert rule|receiver|silence|list`: a
// project's alert rules (templates or custom PromQL), where its alerts go
// (WeCom, DingTalk, webhook, email), silences, and the alerts firing now.
package alertcmd

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/kind"
)

// New returns the `alert` command.
func New(env cli.Env) *cobra.Command {
	cmd := &cobra.Command{Use: "alert", Short: "Alert rules, receivers and silences of a project, and its alerts firing now"}
	c := cmds{kind.NewProjectCommands(env, cmd)}
	cmd.AddCommand(c.rule(), c.receiver(), c.silence(), c.list(), c.ack())
	return cmd
}

// cmds are the subcommands, sharing the project and output flags.
type cmds struct{ *kind.ProjectCommands }

func (c cmds) rule() *cobra.Command {
	cmd := &cobra.Command{Use: "rule", Short: "Alert rules: set, list, delete"}
	var r apitypes.AlertRule
	var labels []string
	set := &cobra.Command{
		Use:   "set NAME -e ENV (--template T --app APP --threshold X | --expr PROMQL) [--for 5m] [--severity critical]",
		Short: "Create or replace an alert rule; Prometheus checks it before it is saved",
		Long: "Templates: error-rate (threshold a percentage, \"5%\"), latency-p99 (a duration, \"300ms\"), restarts and\n" +
			"not-ready (a count). --window is the range they look at (default 5m). A custom --expr fires while it returns series.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if r.Labels, err = keyValues(labels); err != nil {
				return err
			}
			var out apitypes.AlertRule
			if err := c.Call(cmd, "PUT", "/alert-rules/"+url.PathEscape(args[0]), r, &out); err != nil {
				return err
			}
			fmt.Fprintf(c.Env.Stdout, "Alert rule %s set (version %d)\n", out.Name, out.ResourceVersion)
			return nil
		},
	}
	f := set.Flags()
	f.StringVarP(&r.Environment, "env", "e", "", "environment (required)")
	f.StringVar(&r.Application, "app", "", "application the rule watches")
	f.StringVar(&r.Template, "template", "", "error-rate, latency-p99, restarts or not-ready")
	f.StringVar(&r.Threshold, "threshold", "", "the template's threshold, with its unit")
	f.StringVar(&r.Window, "window", "", "the range the template looks at (default 5m)")
	f.StringVar(&r.Expr, "expr", "", "a custom PromQL expression (platform admins)")
	f.StringVar(&r.For, "for", "", "how long the condition holds before the alert fires")
	f.StringVar(&r.Severity, "severity", "", "critical, warning (default) or info")
	f.StringVar(&r.Summary, "summary", "", "the alert's line for people")
	f.StringSliceVar(&labels, "label", nil, "an extra label, NAME=VALUE (repeatable)")
	list := &cobra.Command{Use: "list", Short: "List the project's alert rules", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var rules []apitypes.AlertRule
			if err := c.Call(cmd, "GET", "/alert-rules", nil, &rules); err != nil {
				return err
			}
			return c.Print(rules, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "NAME\tENV\tAPP\tCONDITION\tFOR\tSEVERITY")
				for _, r := range rules {
					cond := r.Expr
					if r.Template != "" {
						cond = r.Template + " > " + r.Threshold
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Environment, dash(r.Application), cond, dash(r.For), dash(r.Severity))
				}
			})
		}}
	del := &cobra.Command{Use: "delete NAME", Short: "Delete an alert rule", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.Call(cmd, "DELETE", "/alert-rules/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.Env.Stdout, "Alert rule %s deleted\n", args[0])
			return nil
		}}
	cmd.AddCommand(set, list, del)
	return cmd
}

func (c cmds) receiver() *cobra.Command {
	cmd := &cobra.Command{Use: "receiver", Short: "Where the project's alerts go: set, list, delete"}
	var rc apitypes.AlertReceiver
	var mail apitypes.AlertEmail
	var passwordFile string
	set := &cobra.Command{
		Use: "set NAME --kind wecom|dingtalk|webhook --url URL [--severity critical]...\n" +
			"  set NAME --kind email --smtp-host HOST [--smtp-port 587] --from ADDR --to ADDR... [--smtp-username U --smtp-password-file F|-]",
		Short: "Create or replace an alert receiver: a WeCom or DingTalk group robot, a webhook, or email over SMTP",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if rc.Kind == "email" {
				if passwordFile != "" {
					pw, err := c.readSecret(passwordFile)
					if err != nil {
						return err
					}
					mail.Password = pw
				}
				rc.Email = &mail
			}
			var out apitypes.AlertReceiver
			if err := c.Call(cmd, "PUT", "/alert-receivers/"+url.PathEscape(args[0]), rc, &out); err != nil {
				return err
			}
			fmt.Fprintf(c.Env.Stdout, "Alert receiver %s set: %s %s\n", out.Name, out.Kind, destination(out))
			return nil
		},
	}
	set.Flags().StringVar(&rc.Kind, "kind", "", "wecom, dingtalk, webhook or email")
	set.Flags().StringVar(&rc.URL, "url", "", "the robot's webhook URL (with its key)")
	set.Flags().StringSliceVar(&rc.Severities, "severity", nil, "only alerts of these severities (default: all)")
	set.Flags().StringVar(&mail.Host, "smtp-host", "", "email: the SMTP server's host")
	set.Flags().IntVar(&mail.Port, "smtp-port", 0, "email: the SMTP server's port (default 587)")
	set.Flags().StringVar(&mail.From, "from", "", "email: the sender's address")
	set.Flags().StringSliceVar(&mail.To, "to", nil, "email: the recipients' addresses")
	set.Flags().StringVar(&mail.Username, "smtp-username", "", "email: sign in as this user (needs STARTTLS)")
	set.Flags().StringVar(&passwordFile, "smtp-password-file", "", "email: read the password from this file (- for stdin); kept sealed")
	set.Flags().BoolVar(&mail.Plaintext, "plaintext", false, "email: allow a server without STARTTLS (no sign-in then)")
	set.Flags().StringVar(&mail.Language, "language", "", "email: zh-CN (default) or en")
	list := &cobra.Command{Use: "list", Short: "List the project's alert receivers (URLs redacted)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var rs []apitypes.AlertReceiver
			if err := c.Call(cmd, "GET", "/alert-receivers", nil, &rs); err != nil {
				return err
			}
			return c.Print(rs, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "NAME\tKIND\tURL\tSEVERITIES")
				for _, r := range rs {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.Name, r.Kind, destination(r), dash(strings.Join(r.Severities, ",")))
				}
			})
		}}
	del := &cobra.Command{Use: "delete NAME", Short: "Delete an alert receiver", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.Call(cmd, "DELETE", "/alert-receivers/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.Env.Stdout, "Alert receiver %s deleted\n", args[0])
			return nil
		}}
	cmd.AddCommand(set, list, del)
	return cmd
}

// destination is where a receiver sends: its (redacted) URL, or the SMTP
// server and recipients of an email receiver.
func destination(r apitypes.AlertReceiver) string {
	if r.Email != nil {
		return fmt.Sprintf("smtp://%s:%d → %s", r.Email.Host, r.Email.SMTPPort(), strings.Join(r.Email.To, ","))
	}
	return r.URL
}

// readSecret reads a secret from file, or stdin for "-", without its
// trailing newline.
func (c cmds) readSecret(file string) (string, error) {
	var b []byte
	var err error
	if file == "-" {
		b, err = io.ReadAll(io.LimitReader(c.Env.Stdin, 4096))
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return "", fmt.Errorf("--smtp-password-file: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func (c cmds) silence() *cobra.Command {
	cmd := &cobra.Command{Use: "silence", Short: "Silence the project's alerts: create, list, expire"}
	var q apitypes.SilenceRequest
	create := &cobra.Command{
		Use:   "create --duration 2h --comment WHY [-e ENV] [--app APP] [--rule RULE]",
		Short: "Silence the project's alerts (all, or an environment's, an application's or a rule's)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var s apitypes.Silence
			if err := c.Call(cmd, "POST", "/silences", q, &s); err != nil {
				return err
			}
			fmt.Fprintf(c.Env.Stdout, "Silence %s until %s\n", s.ID, s.EndsAt.Local().Format(time.DateTime))
			return nil
		},
	}
	f := create.Flags()
	f.StringVarP(&q.Environment, "env", "e", "", "only this environment's alerts")
	f.StringVar(&q.Application, "app", "", "only this application's alerts")
	f.StringVar(&q.Rule, "rule", "", "only this rule's alerts")
	f.StringVar(&q.Duration, "duration", "", "how long, such as 2h (required)")
	f.StringVar(&q.Comment, "comment", "", "why (required)")
	list := &cobra.Command{Use: "list", Short: "List the project's silences, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ss []apitypes.Silence
			if err := c.Call(cmd, "GET", "/silences", nil, &ss); err != nil {
				return err
			}
			return c.Print(ss, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tSTATE\tMATCHES\tENDS\tBY\tCOMMENT")
				for _, s := range ss {
					var ms []string
					for _, m := range s.Matchers {
						ms = append(ms, m.Name+"="+m.Value)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.State, strings.Join(ms, ","), s.EndsAt.Local().Format(time.DateTime), s.CreatedBy, s.Comment)
				}
			})
		}}
	expire := &cobra.Command{Use: "expire ID", Short: "End a silence now", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.Call(cmd, "DELETE", "/silences/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.Env.Stdout, "Silence %s expired\n", args[0])
			return nil
		}}
	cmd.AddCommand(create, list, expire)
	return cmd
}

func (c cmds) list() *cobra.Command {
	var history bool
	var limit int
	cmd := &cobra.Command{Use: "list [--history [--limit N]]", Short: "List the project's alerts firing now (active or silenced), or its alert history",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if history {
				return c.history(cmd, limit)
			}
			var as []apitypes.Alert
			if err := c.Call(cmd, "GET", "/alerts", nil, &as); err != nil {
				return err
			}
			return c.Print(as, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "NAME\tSTATE\tENV\tAPP\tSEVERITY\tSINCE\tSUMMARY")
				for _, a := range as {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, a.State, dash(a.Labels["environment"]), dash(a.Labels["app"]),
						dash(a.Labels["severity"]), a.StartsAt.Local().Format(time.DateTime), a.Annotations["summary"])
				}
			})
		}}
	cmd.Flags().BoolVar(&history, "history", false, "the alerts Berth received, firing and resolved, newest first, with acknowledgements")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most N alerts of the history (default 100, at most 1000)")
	return cmd
}

// history prints the project's alert history.
func (c cmds) history(cmd *cobra.Command, limit int) error {
	suffix := "/alert-history"
	if limit != 0 {
		suffix += "?limit=" + strconv.Itoa(limit)
	}
	var es []apitypes.AlertEvent
	if err := c.Call(cmd, "GET", suffix, nil, &es); err != nil {
		return err
	}
	return c.Print(es, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "ID\tNAME\tSTATUS\tENV\tAPP\tSEVERITY\tSTARTED\tENDED\tACKNOWLEDGED")
		for _, e := range es {
			ended, ack := "-", "-"
			if e.EndsAt != nil {
				ended = e.EndsAt.Local().Format(time.DateTime)
			}
			if e.Ack != nil {
				ack = fmt.Sprintf("%s %s: %s", e.Ack.By, e.Ack.At.Local().Format(time.DateTime), e.Ack.Reason)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Name, e.Status, dash(e.Labels["environment"]), dash(e.Labels["app"]),
				dash(e.Labels["severity"]), e.StartsAt.Local().Format(time.DateTime), ended, ack)
		}
	})
}

func (c cmds) ack() *cobra.Command {
	var reason string
	cmd := &cobra.Command{Use: "ack ID --reason TEXT", Short: "Acknowledge an alert of the history (its ID from `alert list --history`): you are on it, and why",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var e apitypes.AlertEvent
			if err := c.Call(cmd, "POST", "/alert-history/"+url.PathEscape(args[0])+"/acknowledge", apitypes.AckRequest{Reason: reason}, &e); err != nil {
				return err
			}
			fmt.Fprintf(c.Env.Stdout, "Alert %s (%s) acknowledged by %s\n", e.ID, e.Name, e.Ack.By)
			return nil
		}}
	cmd.Flags().StringVar(&reason, "reason", "", "what is being done about it (required)")
	return cmd
}

func keyValues(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--label %q: want NAME=VALUE", kv)
		}
		out[k] = v
	}
	return out, nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
