// Package applycmd implements `berth apply -f FILE|-`: a multi-document
// berth.dev/v1 YAML manifest applied all or nothing.
package applycmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/client"
	"berth.dev/berth/internal/manifest"
)

// New returns the `apply` command.
func New(env cli.Env) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "apply -f FILE|-",
		Short: "Create or update the objects of a YAML manifest, all or nothing",
		Long: "Create or update the objects of a multi-document YAML manifest (apiVersion berth.dev/v1; kinds\n" +
			"Tenant, Project, Environment, Cluster, Application, ResourceTier, Quota, Member). Either every\n" +
			"document is applied or none is.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return errors.New("-f FILE (or - for standard input) is required")
			}
			data, err := read(env, file)
			if err != nil {
				return err
			}
			// Check locally first: errors name the document and field
			// without a round trip.
			if _, err := manifest.Decode(data); err != nil {
				return err
			}
			s, err := client.Open(env.Getenv)
			if err != nil {
				return err
			}
			var res apitypes.ApplyResult
			if err := s.Client.Do(cmd.Context(), "POST", "/apply", client.Raw{ContentType: "application/yaml", Data: data}, &res); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 3, ' ', 0)
			for _, o := range res.Objects {
				fmt.Fprintf(tw, "%s/%s\t%s\n", o.Kind, o.Name, o.Action)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, o := range res.Objects {
				if o.WebhookSecret != "" {
					fmt.Fprintf(env.Stdout, "%s/%s webhook secret (shown once): %s\n", o.Kind, o.Name, o.WebhookSecret)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", "manifest file, or - for standard input")
	return cmd
}

func read(env cli.Env, file string) ([]byte, error) {
	var r io.Reader = env.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, manifest.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return data, nil
}
