// Package servercmd implements `berth server`: the platform's API, console,
// health and metrics endpoints.
package servercmd

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/config"
	"berth.dev/berth/internal/server"
	"berth.dev/berth/internal/version"
)

// New returns the `server` command.
func New(env cli.Env) *cobra.Command {
	var configPath string
	flagValues := map[string]*string{}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the Berth platform server",
		Long: "Run the Berth platform server. Settings come from defaults, then the --config YAML file,\n" +
			"then BERTH_* environment variables, then flags.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(configPath, env.Getenv)
			if err != nil {
				return err
			}
			for _, f := range config.Fields() {
				if cmd.Flags().Changed(f.Flag) {
					*f.Ptr(&cfg) = *flagValues[f.Flag]
				}
			}
			if err := cfg.Validate(); err != nil {
				return fmt.Errorf("invalid configuration:\n%w", err)
			}
			log, err := newLogger(cfg, env.Stderr)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", cfg.Listen)
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			srv := server.New(log, nil)
			log.Info("berth server listening", "addr", ln.Addr().String(), "version", version.Get().Version)
			fmt.Fprintf(env.Stdout, "Berth server on http://%s (health /healthz, metrics /metrics)\n", ln.Addr())
			return srv.Serve(cmd.Context(), ln, 15*time.Second)
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "YAML configuration file")
	defaults := config.Default()
	for _, f := range config.Fields() {
		v := new(string)
		flagValues[f.Flag] = v
		cmd.Flags().StringVar(v, f.Flag, *f.Ptr(&defaults), f.Usage+" (env "+f.Env+")")
	}
	return cmd
}

func newLogger(cfg config.Config, w io.Writer) (*slog.Logger, error) {
	level, err := cfg.SlogLevel()
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
