// Package servercmd implements `berth server`: the platform's API, console,
// health and metrics endpoints.
package servercmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"berth.dev/berth/internal/alert"
	"berth.dev/berth/internal/alert/prom"
	"berth.dev/berth/internal/api"
	"berth.dev/berth/internal/appstore"
	"berth.dev/berth/internal/appstore/repo"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/config"
	"berth.dev/berth/internal/console"
	"berth.dev/berth/internal/engine"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/live"
	"berth.dev/berth/internal/notify/webhook"
	"berth.dev/berth/internal/pipeline"
	"berth.dev/berth/internal/pipeline/local"
	"berth.dev/berth/internal/pipeline/tekton"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/server"
	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/tenancy"
	"berth.dev/berth/internal/version"
	"berth.dev/berth/web"
)

// New returns the `server` command.
func New(env cli.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the Berth platform server",
		Long: "Run the Berth platform server. Settings come from defaults, then the --config YAML file,\n" +
			"then BERTH_* environment variables, then flags.",
		Args: cobra.NoArgs,
	}
	load := config.Bind(cmd.Flags(), env.Getenv)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := load()
		if err != nil {
			return err
		}
		log, err := newLogger(cfg, env.Stderr)
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		return Serve(cmd.Context(), cfg, env, log, ln)
	}
	return cmd
}

// Serve runs the platform server on ln until ctx is done: it opens the
// store (SQLite under cfg.DataDir, or PostgreSQL at cfg.Database) and
// migrates it, creates the admin user on first start (password from
// BERTH_ADMIN_PASSWORD, or a generated one printed once to env.Stdout),
// registers cfg.Kubeconfig as cluster "local", runs the engine as
// internal/engine assembles it, and mounts the API.
func Serve(ctx context.Context, cfg config.Config, env cli.Env, log *slog.Logger, ln net.Listener) error {
	defer ln.Close()
	st, err := store.Open(ctx, cfg.DataDir, cfg.Database)
	if err != nil {
		return err
	}
	defer st.Close()
	sealer, createdKey, err := OpenSealer(cfg)
	if err != nil {
		return err
	}
	targets, err := webhook.ParseTargets(cfg.NotifyWebhooks)
	if err != nil {
		return fmt.Errorf("config notifyWebhooks: %w", err)
	}
	sessionTTL, tokenTTL, retention := cfg.Durations()
	orgHeaders, err := gray.ParseHeaders(env.Getenv("BERTH_ORG_HEADERS"))
	if err != nil {
		return err
	}
	signOn, err := LoadSSO(cfg.SSOConfig)
	if err != nil {
		return err
	}
	elector, peers, err := replicas(cfg, st, log)
	if err != nil {
		return err
	}
	alerting, err := alertingOptions(cfg)
	if err != nil {
		return err
	}
	builds, err := pipelineExecutor(cfg)
	if err != nil {
		return err
	}
	repos, _ := cfg.Repos()        // validated
	chartAllow, _ := cfg.Allowed() // validated
	var catalogs []appstore.Catalog
	for name, u := range repos {
		catalogs = append(catalogs, &repo.Catalog{Catalog: name, URL: u})
	}
	eng, err := engine.New(st, engine.Options{Log: log, Catalogs: catalogs, ChartAllow: chartAllow, Sealer: sealer, AuditRetention: retention, Alerting: alerting, Promtool: cfg.Promtool,
		Identity: identity.Options{SessionTTL: sessionTTL, TokenTTL: tokenTTL}, OrgHeaders: orgHeaders, Webhooks: targets,
		Live: live.Options{MaxStreams: cfg.Streams()}, ClusterQPS: cfg.QPS(), SSO: signOn.Infos, Directories: signOn.Directories,
		TerminalRecordings: filepath.Join(cfg.DataDir, "recordings"), Elector: elector, Peers: peers, GatewayLedger: gatewayLedger(st, peers),
		PipelineDir: filepath.Join(cfg.DataDir, "pipelines"), PipelineExecutor: builds})
	if err != nil {
		return err
	}
	p := eng.Platform
	if err := CheckSealed(ctx, p, cfg.SealKeyPath(), sealer.KeyID(), createdKey); err != nil {
		return err
	}
	log.Info("seal key loaded", "key_id", sealer.KeyID(), "created", createdKey)
	proxies, _ := cfg.Proxies() // validated
	generated, created, err := p.Bootstrap(ctx, env.Getenv("BERTH_ADMIN_PASSWORD"))
	if err != nil {
		return err
	}
	if created && generated != "" {
		fmt.Fprintf(env.Stdout, "Created user admin with password %s\n(shown only this once; change it after logging in)\n", generated)
	}
	if cfg.Kubeconfig != "" {
		if err := registerLocal(ctx, p, cfg.Kubeconfig); err != nil {
			return err
		}
	}
	// A replica whose term of leadership is lost stops serving and exits,
	// to be started again as a follower (docs/adr/0016-high-availability.md).
	ctx, cancel, lost := untilLost(ctx, eng.Lost(), st.Ping, log)
	defer cancel()
	defer eng.Run(ctx)()

	srv := server.New(log, []server.Check{{Name: "database", Func: databaseReady(st, log)}})
	srv.SetRole(eng.Leadership.Role)
	srv.Registry().MustRegister(eng.Collectors()...)
	apiHandler := api.New(api.Options{Log: log, Platform: p, Live: eng.Clusters, Gateway: gatewayStream{eng.Gateway}, Events: eng.Live,
		TrustedProxies: proxies, OIDC: signOn.OIDC, ConfigWatch: eng.ConfigWatch, Changes: eng.Changes})
	defer func() { // after the server drained: the aggregated audit records of refused logins
		if err := apiHandler.Close(); err != nil {
			log.Error("audit refused logins at shutdown", "err", err)
		}
	}()
	srv.Handle(api.Prefix+"/", apiHandler)
	// The config center speaks Nacos: its HTTP API under /nacos, 2.x gRPC
	// on its own port (docs/config-center.md).
	srv.Handle(api.NacosPrefix+"/", apiHandler.Nacos())
	if addr := cfg.NacosGRPCAddr(); addr != "" {
		stop, err := serveNacosGRPC(log, apiHandler, addr, cfg.TLSCert, cfg.TLSKey)
		switch {
		case err != nil && cfg.NacosGRPC != "":
			return err
		case err != nil: // the derived port (listen + 1000) is taken: serve HTTP anyway
			log.Warn("nacos grpc not served: set nacosGrpc to a free address", "addr", addr, "err", err)
		default:
			defer stop()
		}
	}
	// The console answers every path no other pattern takes (client-side
	// routes); /healthz, /readyz, /metrics, /version and the API win.
	dist, err := fs.Sub(web.Dist, "dist")
	if err != nil {
		return fmt.Errorf("embedded console: %w", err)
	}
	srv.Handle("/", console.Handler(dist))
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	log.Info("berth server listening", "addr", ln.Addr().String(), "scheme", scheme, "version", version.Get().Version, "database", st.Dialect())
	fmt.Fprintf(env.Stdout, "Berth server on %s://%s (console /, API /api/v1, health /healthz, metrics /metrics)\n", scheme, ln.Addr())
	if cfg.TLSCert != "" {
		err = srv.ServeTLS(ctx, ln, 15*time.Second, cfg.TLSCert, cfg.TLSKey)
	} else {
		err = srv.Serve(ctx, ln, 15*time.Second)
	}
	if err == nil && lost() {
		return errors.New("leadership lost: this server stopped so that it can be started again as a follower")
	}
	return err
}

// LocalCluster is the name the start-up kubeconfig is registered under.
const LocalCluster = "local"

func registerLocal(ctx context.Context, p *platform.Platform, path string) error {
	kc, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read kubeconfig: %w", err)
	}
	ev := audit.Event{Action: "cluster.register", Target: "clusters/" + LocalCluster}
	return p.Do(ctx, audit.System, ev, func(tx platform.Tx) error {
		c, err := p.Tenancy.GetCluster(ctx, tx, LocalCluster)
		if errors.Is(err, resource.ErrNotFound) {
			_, err = p.Tenancy.RegisterCluster(ctx, tx, audit.System, tenancy.Cluster{Name: LocalCluster, DisplayName: "Local cluster"}, kc)
			return err
		}
		if err != nil {
			return err
		}
		// A restarted local cluster may listen elsewhere: keep its kubeconfig current.
		stored, err := p.Tenancy.Kubeconfig(ctx, tx, LocalCluster)
		if err != nil || bytes.Equal(stored, kc) {
			return err
		}
		_, err = p.Tenancy.UpdateCluster(ctx, tx, audit.System, c, kc)
		return err
	})
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

// serveNacosGRPC serves the config center's Nacos gRPC protocol on addr
// (over TLS with the server's certificate when it has one) until the
// returned stop is called.
func serveNacosGRPC(log *slog.Logger, a *api.API, addr, cert, key string) (stop func(), err error) {
	var opts []grpc.ServerOption
	if cert != "" {
		creds, err := credentials.NewServerTLSFromFile(cert, key)
		if err != nil {
			return nil, fmt.Errorf("config tlsCert for nacosGrpc: %w", err)
		}
		opts = append(opts, grpc.Creds(creds))
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("config nacosGrpc: %w", err)
	}
	g := api.NewNacosGRPC(a, opts...)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := g.Serve(ln); err != nil {
			log.Error("nacos grpc server stopped", "err", err)
		}
	}()
	log.Info("nacos grpc listening", "addr", ln.Addr().String())
	return func() { g.Stop(); <-done }, nil
}

// alertingOptions are the engine's alerting settings, nil when no
// Alertmanager is configured (cfg is validated).
func alertingOptions(cfg config.Config) (*prom.Options, error) {
	if cfg.AlertmanagerURL == "" {
		return nil, nil
	}
	t, err := cfg.AlertTimings()
	if err != nil {
		return nil, fmt.Errorf("config alertTiming: %w", err)
	}
	return &prom.Options{RulesDir: cfg.PrometheusRules, PrometheusURL: cfg.PrometheusURL, AlertmanagerConfig: cfg.AlertmanagerConfig,
		AlertmanagerURL: cfg.AlertmanagerURL, HookBase: cfg.HookURL(),
		Timing: alert.Timing{GroupWait: t[0], GroupInterval: t[1], RepeatInterval: t[2]}}, nil
}

// pipelineExecutor is where pipelines build: Tekton on the cluster of
// cfg.PipelineKubeconfig, or else this machine (ADR 0017).
func pipelineExecutor(cfg config.Config) (pipeline.Executor, error) {
	if cfg.PipelineKubeconfig == "" {
		return &local.Executor{}, nil
	}
	e, err := tekton.FromKubeconfig(cfg.PipelineKubeconfig)
	if err != nil {
		return nil, fmt.Errorf("config pipelineKubeconfig: %w", err)
	}
	e.Namespace = cfg.PipelineNamespace
	return e, nil
}
