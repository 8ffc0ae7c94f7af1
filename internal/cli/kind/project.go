package kind

import (
	"encoding/json"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/cli"
)

// ProjectCommands is what a group of commands acting in one project shares
// (`berth alert`, `berth slo`, `berth store`): the project named by
// --tenant/--project or the context, and -o table|json.
type ProjectCommands struct {
	Env    cli.Env
	Place  Place
	Output string
}

// NewProjectCommands returns the group for the parent command cmd and
// registers --tenant, --project and --output on it for every subcommand.
func NewProjectCommands(env cli.Env, cmd *cobra.Command) *ProjectCommands {
	p := &ProjectCommands{Env: env}
	fs := cmd.PersistentFlags()
	fs.StringVarP(&p.Place.Tenant, "tenant", "t", "", "tenant (default: the context's)")
	fs.StringVarP(&p.Place.Project, "project", "p", "", "project (default: the context's)")
	fs.StringVarP(&p.Output, "output", "o", "table", "table or json")
	return p
}

// Call opens the session and calls the project's API path + suffix.
func (p *ProjectCommands) Call(cmd *cobra.Command, method, suffix string, body, out any) error {
	s, project, err := OpenProject(p.Env.Getenv, &p.Place)
	if err != nil {
		return err
	}
	return s.Client.Do(cmd.Context(), method, project+suffix, body, out)
}

// Print writes v as indented JSON with -o json, else a table through table.
func (p *ProjectCommands) Print(v any, table func(w *tabwriter.Writer)) error {
	if p.Output == "json" {
		enc := json.NewEncoder(p.Env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	w := tabwriter.NewWriter(p.Env.Stdout, 0, 4, 2, ' ', 0)
	table(w)
	return w.Flush()
}
