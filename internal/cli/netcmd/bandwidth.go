package netcmd

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/resource"
)

func bandwidthCmd(env cli.Env) *cobra.Command {
	var s scope
	cmd := &cobra.Command{
		Use:   "bandwidth",
		Short: "Show a tenant's or project's bandwidth: limits, use and (tenant) allotted to projects",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sess, err := s.open(env.Getenv, false)
			if err != nil {
				return err
			}
			base, err := s.path()
			if err != nil {
				return err
			}
			var v apitypes.BandwidthView
			if err := get(cmd.Context(), sess, base+"/network/bandwidth", &v); err != nil {
				return err
			}
			return printBandwidth(env.Stdout, v)
		},
	}
	s.flags(cmd)
	cmd.AddCommand(setBandwidthCmd(env))
	return cmd
}

func setBandwidthCmd(env cli.Env) *cobra.Command {
	var s scope
	var ingress, egress string
	cmd := &cobra.Command{
		Use:   "set",
		Short: "Set a tenant's or project's ingress and egress limits in bits per second (e.g. 1G, 500M; 0 or empty: unlimited)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sess, err := s.open(env.Getenv, false)
			if err != nil {
				return err
			}
			base, err := s.path()
			if err != nil {
				return err
			}
			body := map[string]string{}
			for k, v := range map[string]string{"ingress": ingress, "egress": egress} {
				if v != "" && v != "0" {
					body[k] = v
				}
			}
			var v apitypes.BandwidthView
			if err := sess.Client.Do(cmd.Context(), "PUT", base+"/network/bandwidth", body, &v); err != nil {
				return err
			}
			return printBandwidth(env.Stdout, v)
		},
	}
	s.flags(cmd)
	cmd.Flags().StringVar(&ingress, "ingress", "", "ingress limit, bits per second")
	cmd.Flags().StringVar(&egress, "egress", "", "egress limit, bits per second")
	return cmd
}

func printBandwidth(w io.Writer, v apitypes.BandwidthView) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DIRECTION\tUSED\tLIMIT\tALLOTTED")
	for _, d := range []struct {
		name                  string
		used, limit, allotted resource.Quantity
	}{
		{"ingress", v.Used.Ingress, v.Limit.Ingress, v.Allotted.Ingress},
		{"egress", v.Used.Egress, v.Limit.Egress, v.Allotted.Egress},
	} {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.name, rate(d.used), unlimited(d.limit), rateOrDash(d.allotted))
	}
	return tw.Flush()
}

func unlimited(q resource.Quantity) string {
	if q == 0 {
		return "unlimited"
	}
	return rate(q)
}

// rate writes a bits-per-second quantity with a decimal suffix: "1G",
// "81.92M", whatever binary suffix the API's form has ("78125Ki").
func rate(q resource.Quantity) string {
	v := float64(q.Milli()) / 1000
	for _, u := range []struct {
		suffix string
		div    float64
	}{{"P", 1e15}, {"T", 1e12}, {"G", 1e9}, {"M", 1e6}, {"k", 1e3}} {
		if v >= u.div {
			return strconv.FormatFloat(v/u.div, 'f', -1, 64) + u.suffix
		}
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func rateOrDash(q resource.Quantity) string {
	if q == 0 {
		return "-"
	}
	return rate(q)
}

func dash(s string) string {
	if s == "" || s == "0" {
		return "-"
	}
	return s
}
