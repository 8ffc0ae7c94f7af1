// Package storecmd implements `berth store catalog|search|show|install|
// upgrade|rollback|uninstall|list`: the app store's charts, and a
// project's installs (docs/app-store.md).
package storecmd

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/kind"
	"berth.dev/berth/internal/client"
)

// maxValuesFile bounds a values file read with -f (the server takes 256 KiB).
const maxValuesFile = 256 << 10

// New returns the `store` command.
func New(env cli.Env) *cobra.Command {
	cmd := &cobra.Command{Use: "store", Short: "The app store: charts of the catalogues, installed into a project through Berth's own path"}
	c := cmds{kind.NewProjectCommands(env, cmd)}
	cmd.AddCommand(c.catalog(), c.search(), c.show(), c.install(), c.upgrade(), c.rollback(), c.uninstall(), c.list())
	return cmd
}

// cmds are the subcommands, sharing the project and output flags.
type cmds struct{ *kind.ProjectCommands }

func (c cmds) charts(cmd *cobra.Command) ([]apitypes.StoreChart, error) {
	s, err := client.Open(c.Env.Getenv)
	if err != nil {
		return nil, err
	}
	var out []apitypes.StoreChart
	return out, s.Client.Do(cmd.Context(), "GET", "/store/charts", nil, &out)
}

func (c cmds) printCharts(charts []apitypes.StoreChart) error {
	return c.Print(charts, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "CATALOG\tCHART\tVERSION\tAPP VERSION\tDESCRIPTION")
		for _, e := range charts {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", e.Catalog, e.Name, e.Version, e.AppVersion, e.Description)
		}
	})
}

func (c cmds) catalog() *cobra.Command {
	return &cobra.Command{Use: "catalog", Short: "List every chart of the catalogues", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			charts, err := c.charts(cmd)
			if err != nil {
				return err
			}
			return c.printCharts(charts)
		}}
}

func (c cmds) search() *cobra.Command {
	return &cobra.Command{Use: "search WORD", Short: "List the charts whose name or description holds WORD", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			charts, err := c.charts(cmd)
			if err != nil {
				return err
			}
			word := strings.ToLower(args[0])
			var hits []apitypes.StoreChart
			for _, e := range charts {
				if strings.Contains(strings.ToLower(e.Name+" "+e.Description), word) {
					hits = append(hits, e)
				}
			}
			return c.printCharts(hits)
		}}
}

func (c cmds) show() *cobra.Command {
	return &cobra.Command{Use: "show CHART", Short: "Show a chart's versions in every catalogue", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			charts, err := c.charts(cmd)
			if err != nil {
				return err
			}
			var hits []apitypes.StoreChart
			for _, e := range charts {
				if e.Name == args[0] {
					hits = append(hits, e)
				}
			}
			if len(hits) == 0 {
				return fmt.Errorf("no chart %s in the catalogues", args[0])
			}
			return c.printCharts(hits)
		}}
}

// request holds the flags of install and upgrade.
type request struct {
	req        apitypes.InstallRequest
	valuesFile string
}

func (r *request) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&r.req.Environment, "env", "e", "", "environment (required)")
	f.StringVar(&r.req.Catalog, "catalog", "starter", "catalogue")
	f.StringVar(&r.req.Chart, "chart", "", "chart (required)")
	f.StringVar(&r.req.Version, "version", "", "chart version (required)")
	f.StringVarP(&r.valuesFile, "values", "f", "", "a YAML file of values over the chart's (- reads stdin)")
	f.BoolVar(&r.req.AllowCRDs, "allow-crds", false, "let a chart with CustomResourceDefinitions (crds/) install them (platform admins)")
	for _, name := range []string{"env", "chart", "version"} {
		_ = cmd.MarkFlagRequired(name) // the flag exists: it cannot fail
	}
}

func (r *request) read(in io.Reader) error {
	if r.valuesFile == "" {
		return nil
	}
	var src io.Reader = in
	if r.valuesFile != "-" {
		f, err := os.Open(r.valuesFile)
		if err != nil {
			return err
		}
		defer f.Close()
		src = f
	}
	data, err := io.ReadAll(io.LimitReader(src, maxValuesFile+1))
	if err != nil {
		return err
	}
	if len(data) > maxValuesFile {
		return fmt.Errorf("%s: over %d bytes", r.valuesFile, maxValuesFile)
	}
	r.req.Values = string(data)
	return nil
}

func (c cmds) install() *cobra.Command {
	var r request
	cmd := &cobra.Command{Use: "install NAME -e ENV --chart CHART --version V [-f values.yaml]",
		Short: "Install a chart as the application NAME: rendered for the environment's cluster, checked against the quota, deployed as version r1",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := r.read(c.Env.Stdin); err != nil {
				return err
			}
			r.req.Name = args[0]
			var v struct{ Name string }
			if err := c.Call(cmd, "POST", "/installs", r.req, &v); err != nil {
				return err
			}
			fmt.Fprintf(c.Env.Stdout, "Installed %s %s as %s version %s in %s\n", r.req.Chart, r.req.Version, args[0], v.Name, r.req.Environment)
			return nil
		}}
	r.flags(cmd)
	return cmd
}

func (c cmds) upgrade() *cobra.Command {
	var r request
	cmd := &cobra.Command{Use: "upgrade NAME -e ENV --chart CHART --version V [-f values.yaml] [--version-only]",
		Short: "Render the install's next version and deploy it (--version-only: leave the deploy to a release order)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := r.read(c.Env.Stdin); err != nil {
				return err
			}
			var v struct{ Name string }
			if err := c.Call(cmd, "PUT", "/installs/"+url.PathEscape(args[0]), r.req, &v); err != nil {
				return err
			}
			what := "deployed to " + r.req.Environment
			if r.req.VersionOnly {
				what = "created; release it with a release order"
			}
			fmt.Fprintf(c.Env.Stdout, "Upgraded %s to %s %s: version %s %s\n", args[0], r.req.Chart, r.req.Version, v.Name, what)
			return nil
		}}
	r.flags(cmd)
	cmd.Flags().BoolVar(&r.req.VersionOnly, "version-only", false, "create the version without deploying it")
	return cmd
}

func (c cmds) rollback() *cobra.Command {
	var env, to string
	cmd := &cobra.Command{Use: "rollback NAME -e ENV --to rN", Short: "Deploy an earlier version of an install", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/environments/" + url.PathEscape(env) + "/deployments/" + url.PathEscape(args[0])
			if err := c.Call(cmd, "PUT", path, apitypes.DeployRequest{Version: to}, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.Env.Stdout, "Rolled %s back to %s in %s\n", args[0], to, env)
			return nil
		}}
	cmd.Flags().StringVarP(&env, "env", "e", "", "environment (required)")
	cmd.Flags().StringVar(&to, "to", "", "the version to run, e.g. r1 (required)")
	_ = cmd.MarkFlagRequired("env")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

func (c cmds) uninstall() *cobra.Command {
	var env string
	var deleteCRDs bool
	cmd := &cobra.Command{Use: "uninstall NAME -e ENV [--delete-crds]", Short: "Remove an install and every object it applied from the environment " +
		"(its chart's CustomResourceDefinitions stay unless --delete-crds)",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/environments/" + url.PathEscape(env) + "/installs/" + url.PathEscape(args[0])
			if deleteCRDs {
				path += "?deleteCRDs=true"
			}
			if err := c.Call(cmd, "DELETE", path, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.Env.Stdout, "Uninstalling %s from %s: its objects are being deleted\n", args[0], env)
			if deleteCRDs {
				fmt.Fprintf(c.Env.Stdout, "Its chart's CustomResourceDefinitions are deleted too, with every object of their kinds\n")
			}
			return nil
		}}
	cmd.Flags().StringVarP(&env, "env", "e", "", "environment (required)")
	cmd.Flags().BoolVar(&deleteCRDs, "delete-crds", false, "delete the chart's CustomResourceDefinitions too, and every object of their kinds in the cluster (platform admins)")
	_ = cmd.MarkFlagRequired("env")
	return cmd
}

func (c cmds) list() *cobra.Command {
	return &cobra.Command{Use: "list", Short: "List the project's installs", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list []apitypes.Install
			if err := c.Call(cmd, "GET", "/installs", nil, &list); err != nil {
				return err
			}
			return c.Print(list, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "NAME\tENV\tVERSION\tCHART\tCHART VERSION\tAPPLIED")
				for _, in := range list {
					d := in.Deployment
					applied := "yes"
					switch {
					case d.Deleting:
						applied = "uninstalling"
					case d.Applied.Error != "":
						applied = "error: " + d.Applied.Error
					case d.Applied.Generation != d.Generation:
						applied = "pending"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s/%s\t%s\t%s\n", d.Application, d.Environment, d.Version, in.Chart.Catalog, in.Chart.Name, in.Chart.Version, applied)
				}
			})
		}}
}
