// Package metricscmd implements `berth metrics`: an application's
// dashboard — request rate, error ratio, p50 and p99 latency per version
// through the gateway, pods ready and restarts — read from Prometheus by
// the server, printed as a table of each version's latest values.
package metricscmd

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/kind"
)

type options struct {
	kind.Environment
	since, start, end, step, output string
}

// New returns the `metrics` command.
func New(env cli.Env) *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:   "metrics APP -e ENV [--since 1h | --start TIME] [--end TIME] [--step 30s] [-o table|json]",
		Short: "Show APP's request rate, error ratio, p50/p99 latency, ready pods and restarts per version",
		Long: "Read APP's dashboard in ENV from the server's Prometheus over a time range (default the last hour) at a step\n" +
			fmt.Sprintf("(default a 120th of the range; at most %d points). The table shows each version's latest values, the\n", apitypes.DashboardMaxPoints) +
			"gray version beside the stable one; -o json prints every point.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, envPath, err := o.Open(env.Getenv)
			if err != nil {
				return err
			}
			var d apitypes.AppDashboard
			if err := s.Client.Do(cmd.Context(), "GET", envPath+"/deployments/"+url.PathEscape(args[0])+"/metrics?"+o.query().Encode(), nil, &d); err != nil {
				return err
			}
			if o.output == "json" {
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(d)
			}
			return printTable(env.Stdout, d)
		},
	}
	o.Flags(cmd.Flags())
	f := cmd.Flags()
	f.StringVar(&o.since, "since", "", "the range starts this long before its end (default 1h)")
	f.StringVar(&o.start, "start", "", "the range starts at this time (RFC 3339)")
	f.StringVar(&o.end, "end", "", "the range ends at this time (RFC 3339; default now)")
	f.StringVar(&o.step, "step", "", "time between points (30s, 1m)")
	f.StringVarP(&o.output, "output", "o", "table", "table or json")
	return cmd
}

func (o options) query() url.Values {
	q := url.Values{}
	for name, v := range map[string]string{"since": o.since, "start": o.start, "end": o.end, "step": o.step} {
		if v != "" {
			q.Set(name, v)
		}
	}
	return q
}

// row is one version's latest values, by panel name.
type row struct {
	version, track string
	latest         map[string]float64
}

// printTable prints one row per version (gateway tracks without a known
// version by their track), stable first, then gray, then by name.
func printTable(w io.Writer, d apitypes.AppDashboard) error {
	rows := map[string]*row{}
	for _, p := range d.Panels {
		for _, s := range p.Series {
			key := s.Version
			if key == "" {
				key = "(" + s.Track + ")"
			}
			r := rows[key]
			if r == nil {
				r = &row{version: key, latest: map[string]float64{}}
				rows[key] = r
			}
			if s.Track != "" {
				r.track = s.Track
			}
			if n := len(s.Points); n > 0 {
				r.latest[p.Name] = s.Points[n-1].Value
			}
		}
	}
	keys := make([]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	rank := map[string]int{"stable": 0, "gray": 1}
	slices.SortFunc(keys, func(a, b string) int {
		ra, oka := rank[rows[a].track]
		rb, okb := rank[rows[b].track]
		switch {
		case oka && okb && ra != rb:
			return ra - rb
		case oka != okb:
			return map[bool]int{true: -1, false: 1}[oka]
		}
		return cmp.Compare(a, b)
	})
	fmt.Fprintf(w, "%s in %s, %s to %s, step %s (latest values)\n", d.Application, d.Environment,
		d.Start.Local().Format(time.DateTime), d.End.Local().Format(time.DateTime), d.Step)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tTRACK\tREQ/S\tERRORS\tP50\tP99\tREADY\tRESTARTS")
	for _, k := range keys {
		r := rows[k]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.version, orDash(r.track),
			r.value("requests", func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }),
			r.value("errorRatio", func(v float64) string { return strconv.FormatFloat(v*100, 'f', 2, 64) + "%" }),
			r.value("p50", seconds), r.value("p99", seconds),
			r.value("podsReady", whole), r.value("restarts", whole))
	}
	return tw.Flush()
}

func (r *row) value(panel string, format func(float64) string) string {
	v, ok := r.latest[panel]
	if !ok {
		return "-"
	}
	return format(v)
}

func seconds(v float64) string {
	return time.Duration(v * float64(time.Second)).Round(100 * time.Microsecond).String()
}

func whole(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
