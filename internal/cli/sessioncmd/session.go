// Package sessioncmd implements `berth session`: list terminal sessions,
// show one with its commands, replay its recording.
package sessioncmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/client"
)

// New returns the `session` command.
func New(env cli.Env) *cobra.Command {
	cmd := &cobra.Command{Use: "session", Short: "Terminal sessions: list, show their commands, replay their recordings"}
	cmd.AddCommand(listCmd(env), showCmd(env), replayCmd(env))
	return cmd
}

func listCmd(env cli.Env) *cobra.Command {
	var tenant, before string
	var limit int
	cmd := &cobra.Command{
		Use: "list", Short: "List terminal sessions, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			q := url.Values{}
			for k, v := range map[string]string{"tenant": tenant, "before": before} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if limit > 0 {
				q.Set("limit", fmt.Sprint(limit))
			}
			var page apitypes.List[json.RawMessage]
			if err := s.Client.Do(cmd.Context(), "GET", "/terminal-sessions?"+q.Encode(), nil, &page); err != nil {
				return err
			}
			w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tUSER\tTARGET\tPOLICY\tSTARTED\tENDED\tLINES\tREFUSED")
			for _, raw := range page.Items {
				var v apitypes.TerminalSessionView
				if err := json.Unmarshal(raw, &v.Session); err != nil {
					return err
				}
				ss := v.Session
				ended := ss.EndReason
				if ended == "" {
					ended = "open"
				}
				fmt.Fprintf(w, "%s\t%s\t%s/%s/%s/%s %s\t%s\t%s\t%s\t%d\t%d\n", ss.ID, ss.User, ss.Target.Tenant, ss.Target.Project,
					ss.Target.Environment, ss.Target.Application, ss.Target.Pod, ss.Policy, ss.StartedAt.Format("2006-01-02 15:04:05"), ended, ss.Commands, ss.Refused)
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVarP(&tenant, "tenant", "t", "", "only this tenant's sessions (every tenant: platform roles only)")
	cmd.Flags().StringVar(&before, "before", "", "sessions older than this session ID (the next page)")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many")
	return cmd
}

func showCmd(env cli.Env) *cobra.Command {
	return &cobra.Command{
		Use: "show ID", Short: "Show a session and every line submitted in it, with the decision", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			var v apitypes.TerminalSessionView
			if err := s.Client.Do(cmd.Context(), "GET", "/terminal-sessions/"+url.PathEscape(args[0]), nil, &v); err != nil {
				return err
			}
			ss := v.Session
			fmt.Fprintf(env.Stdout, "session %s by %s in %s/%s pod %s container %s, policy %s (%s)\nrecording %s sha256 %s\n",
				ss.ID, ss.User, ss.Target.Namespace, ss.Target.Application, ss.Target.Pod, ss.Target.Container, ss.Policy, ss.Mode, ss.Recording, ss.RecordingSHA256)
			w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "SEQ\tDECISION\tRULE\tEXIT\tMS\tLINE")
			for _, c := range v.Commands {
				d := "allowed"
				if !c.Allowed {
					d = "refused"
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%d\t%s\n", c.Seq, d, c.Rule, c.ExitCode, c.DurationMS, strings.ReplaceAll(c.Line, "\t", " "))
			}
			return w.Flush()
		},
	}
}

func replayCmd(env cli.Env) *cobra.Command {
	var cast bool
	cmd := &cobra.Command{
		Use: "replay ID", Short: "Print what the session's terminal showed (the server checks the recording's SHA-256 first)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			var rec bytes.Buffer
			if err := s.Client.Stream(cmd.Context(), "GET", "/terminal-sessions/"+url.PathEscape(args[0])+"/recording", &rec); err != nil {
				return err
			}
			if cast {
				_, err := io.Copy(env.Stdout, &rec)
				return err
			}
			return replay(&rec, env.Stdout)
		},
	}
	cmd.Flags().BoolVar(&cast, "cast", false, "write the asciicast v2 recording itself (for asciinema play)")
	return cmd
}

// replay writes the output events of an asciicast v2 recording to w.
func replay(r io.Reader, w io.Writer) error {
	d := json.NewDecoder(r)
	var header map[string]any
	if err := d.Decode(&header); err != nil {
		return fmt.Errorf("recording header: %w", err)
	}
	for d.More() {
		var ev []json.RawMessage
		if err := d.Decode(&ev); err != nil || len(ev) != 3 {
			return fmt.Errorf("recording event: %v", err)
		}
		var kind, data string
		if json.Unmarshal(ev[1], &kind) != nil || json.Unmarshal(ev[2], &data) != nil {
			return fmt.Errorf("recording event: not [time, kind, data]")
		}
		if kind == "o" {
			if _, err := io.WriteString(w, data); err != nil {
				return err
			}
		}
	}
	return nil
}
