// Package logscmd implements `berth logs`: search the logs of an
// application's pods on the server (substring or regular expression, time,
// version, pod), or follow them.
package logscmd

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/kind"
)

type options struct {
	kind.Environment
	version, pod, since, until, grep string
	regexp, ignoreCase, follow       bool
	tail, limit                      int
}

// New returns the `logs` command.
func New(env cli.Env) *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:   "logs APP -e ENV [--version V] [--pod P] [--since 15m|TIME] [--until TIME] [--grep TEXT [--regexp] [-i]] [--tail N] [--follow]",
		Short: "Search the logs of APP's pods on the server, or follow them; every search is audited",
		Long: "Search the logs of every pod of APP in ENV (or of one version, or one pod), newest lines last, each with its pod.\n" +
			"--grep keeps the lines containing a text (a regular expression with --regexp; -i ignores case); --since and --until\n" +
			"take an RFC 3339 time or a duration before now (15m). --follow sends matching lines as they are written.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, envPath, err := o.Open(env.Getenv)
			if err != nil {
				return err
			}
			path := envPath + "/deployments/" + url.PathEscape(args[0]) + "/logs?" + o.query().Encode()
			if o.follow {
				pr, pw := io.Pipe()
				go func() { pw.CloseWithError(s.Client.Stream(cmd.Context(), "GET", path, pw)) }()
				return printEvents(pr, env.Stdout)
			}
			var res apitypes.LogSearchResult
			if err := s.Client.Do(cmd.Context(), "GET", path, nil, &res); err != nil {
				return err
			}
			for _, l := range res.Lines {
				if err := printLine(env.Stdout, l); err != nil {
					return err
				}
			}
			if res.Truncated {
				fmt.Fprintf(env.Stderr, "older matching lines left out: raise --limit (at most %d) or narrow the search\n", apitypes.LogMaxLimit)
			}
			return nil
		},
	}
	o.Flags(cmd.Flags())
	f := cmd.Flags()
	f.StringVar(&o.version, "version", "", "only the pods of this version")
	f.StringVar(&o.pod, "pod", "", "only this pod")
	f.StringVar(&o.since, "since", "", "lines from this time (RFC 3339) or this long ago (15m)")
	f.StringVar(&o.until, "until", "", "lines up to this time (RFC 3339) or this long ago")
	f.StringVar(&o.grep, "grep", "", "only lines containing this text")
	f.BoolVar(&o.regexp, "regexp", false, "--grep is a regular expression (RE2)")
	f.BoolVarP(&o.ignoreCase, "ignore-case", "i", false, "--grep ignores case")
	f.IntVar(&o.tail, "tail", 0, "only the last N lines of each pod")
	f.IntVar(&o.limit, "limit", 0, fmt.Sprintf("at most N lines, the newest (default %d, at most %d)", apitypes.LogDefaultLimit, apitypes.LogMaxLimit))
	f.BoolVarP(&o.follow, "follow", "f", false, "keep sending matching lines as they are written")
	return cmd
}

func (o options) query() url.Values {
	q := url.Values{}
	for name, v := range map[string]string{"version": o.version, "pod": o.pod, "since": o.since, "until": o.until, "grep": o.grep} {
		if v != "" {
			q.Set(name, v)
		}
	}
	for name, v := range map[string]bool{"regexp": o.regexp, "ignoreCase": o.ignoreCase, "follow": o.follow} {
		if v {
			q.Set(name, "true")
		}
	}
	for name, v := range map[string]int{"tail": o.tail, "limit": o.limit} {
		if v != 0 {
			q.Set(name, strconv.Itoa(v))
		}
	}
	return q
}

// printEvents prints the lines of a followed search's event stream.
func printEvents(r io.Reader, w io.Writer) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var l apitypes.LogLine
		if err := json.Unmarshal([]byte(data), &l); err != nil {
			return fmt.Errorf("read the log stream: %w", err)
		}
		if err := printLine(w, l); err != nil {
			return err
		}
	}
	return sc.Err()
}

func printLine(w io.Writer, l apitypes.LogLine) error {
	_, err := fmt.Fprintf(w, "%s %s %s\n", l.Time.Format(time.RFC3339Nano), l.Pod, l.Text)
	return err
}
