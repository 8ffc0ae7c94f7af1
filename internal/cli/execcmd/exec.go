// Package execcmd implements `berth exec` and `berth shell`: commands and
// terminals in an application's pod, through the server's guarded terminal
// (docs/terminal.md). What may run is the server's TerminalPolicy.
package execcmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/kind"
	"berth.dev/berth/internal/client"
)

type target struct {
	kind.Environment
	pod, container string
}

func (t *target) flags(cmd *cobra.Command) {
	t.Flags(cmd.Flags())
	cmd.Flags().StringVar(&t.pod, "pod", "", "pod of the application (default: the first running one)")
	cmd.Flags().StringVarP(&t.container, "container", "c", "", "container of the pod (default: its first)")
}

func (t *target) base(getenv func(string) string, app string) (*client.Session, string, error) {
	s, env, err := t.Open(getenv)
	return s, env + "/deployments/" + url.PathEscape(app), err
}

// Line makes the line the server's policy reads from a command given as
// arguments: one argument is the line itself (pipes and quotes as typed);
// several are words, each quoted so that it stays one word.
func Line(args []string) string {
	if len(args) == 1 {
		return args[0]
	}
	words := make([]string, len(args))
	for i, a := range args {
		words[i] = quote(a)
	}
	return strings.Join(words, " ")
}

func quote(w string) string {
	if w != "" && strings.IndexFunc(w, func(r rune) bool {
		return !(r == '-' || r == '/' || r == '.' || r == '_' || r == ':' || r == ',' || r == '+' || r == '=' ||
			r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'"'"'`) + "'"
}

// NewExec returns the `exec` command.
func NewExec(env cli.Env) *cobra.Command {
	var t target
	cmd := &cobra.Command{
		Use:   "exec APP -e ENV [--pod POD] [-c CONTAINER] -- COMMAND [ARG...]",
		Short: "Run one command in APP's pod in a recorded, audited session; your TerminalPolicy decides what may run",
		Long: "Run one command in a pod of APP. Give the command as one quoted line to use a pipe into a filter\n" +
			"(berth exec web -e prod -- 'tail -n 100 /var/log/app.log | grep ERROR'), or as words.\n" +
			"It runs as argv through exec, never through a shell; the server refuses what your policy does not allow, with the reason.",
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() != 1 {
				return errors.New("give the command after --: berth exec APP -e ENV -- COMMAND")
			}
			s, base, err := t.base(env.Getenv, args[0])
			if err != nil {
				return err
			}
			var res apitypes.TerminalExecResult
			req := apitypes.TerminalExecRequest{Pod: t.pod, Container: t.container, Line: Line(args[1:])}
			if err := s.Client.Do(cmd.Context(), "POST", base+"/exec", req, &res); err != nil {
				return err
			}
			if _, err := io.WriteString(env.Stdout, res.Output); err != nil {
				return err
			}
			switch c := res.Command; {
			case !c.Allowed:
				return fmt.Errorf("refused (%s) by %s; session %s", c.Reason, c.Rule, res.Session)
			case c.ExitCode != 0:
				return fmt.Errorf("command exited with status %d; session %s", c.ExitCode, res.Session)
			}
			return nil
		},
	}
	t.flags(cmd)
	return cmd
}

// NewShell returns the `shell` command.
func NewShell(env cli.Env) *cobra.Command {
	var t target
	var mode string
	cmd := &cobra.Command{
		Use:   "shell APP -e ENV [--pod POD] [-c CONTAINER] [--mode restricted|shell]",
		Short: "Open a recorded, audited terminal session in APP's pod: a line at a time (restricted) or a shell where your policy allows one",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, base, err := t.base(env.Getenv, args[0])
			if err != nil {
				return err
			}
			q := url.Values{"mode": {mode}}
			if t.pod != "" {
				q.Set("pod", t.pod)
			}
			if t.container != "" {
				q.Set("container", t.container)
			}
			return Session(cmd.Context(), s.Client, base+"/terminal?"+q.Encode(), env)
		},
	}
	t.flags(cmd)
	cmd.Flags().StringVar(&mode, "mode", "restricted", "restricted (each line checked by your policy) or shell (roles whose policy allows one)")
	return cmd
}

// Session runs an interactive session over the terminal WebSocket at path
// (under /api/v1): lines (restricted) or keystrokes (shell) from env.Stdin,
// output to env.Stdout, until either side ends it.
func Session(ctx context.Context, c *client.Client, path string, env cli.Env) error {
	u := strings.Replace(c.Server, "http", "ws", 1) + "/api/v1" + path
	hdr := http.Header{}
	if c.Token != "" {
		hdr.Set("Authorization", "Bearer "+c.Token)
	}
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: c.HTTP, HTTPHeader: hdr})
	if err != nil {
		if resp != nil && resp.StatusCode >= 300 {
			return fmt.Errorf("terminal refused: %s", resp.Status)
		}
		return fmt.Errorf("terminal: %w", err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 20)
	shell := strings.Contains(path, "mode=shell")
	ended := make(chan string, 1)
	go func() { ended <- receive(ctx, conn, env.Stdout) }()
	go send(ctx, conn, env.Stdin, shell)
	reason := <-ended
	conn.Close(websocket.StatusNormalClosure, "")
	if reason != "" && reason != "closed" {
		return fmt.Errorf("session ended: %s", reason)
	}
	return nil
}

func receive(ctx context.Context, conn *websocket.Conn, out io.Writer) string {
	for {
		var m apitypes.TerminalMessage
		if err := wsjson.Read(ctx, conn, &m); err != nil {
			return "closed"
		}
		switch m.Type {
		case "opened":
			fmt.Fprintf(out, "berth: %s (session %s)\r\n", m.Message, m.Session)
		case "output":
			io.WriteString(out, m.Data)
		case "ended":
			return m.Reason
		}
	}
}

func send(ctx context.Context, conn *websocket.Conn, in io.Reader, shell bool) {
	if shell {
		buf := make([]byte, 4096)
		for {
			n, err := in.Read(buf)
			if n > 0 && wsjson.Write(ctx, conn, apitypes.TerminalMessage{Type: "input", Data: string(buf[:n])}) != nil {
				return
			}
			if err != nil {
				conn.Close(websocket.StatusNormalClosure, "")
				return
			}
		}
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 4096), 16<<10)
	for sc.Scan() {
		if wsjson.Write(ctx, conn, apitypes.TerminalMessage{Type: "line", Line: sc.Text()}) != nil {
			return
		}
	}
	conn.Close(websocket.StatusNormalClosure, "")
}
