// Package gatewaycmd implements `berth gateway`: the traffic gateway, fed
// from a configuration file (standalone) or from the Berth server's
// configuration stream.
package gatewaycmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/gateway"
	"berth.dev/berth/internal/kube"
)

var _ gateway.Resolver = (*kube.EndpointWatcher)(nil)

// flags are the command's settings.
type flags struct {
	config, server, listen, admin, accessLog, logLevel string
	tlsCert, tlsKey, kubeconfig, frontEnd, tokenFile   string
	kubernetes, pprof                                  bool
	filePoll                                           time.Duration
	maxHeaderBytes                                     int
}

// New returns the `gateway` command.
func New(env cli.Env) *cobra.Command {
	var f flags
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "Run the Berth traffic gateway",
		Long: "Run the Berth traffic gateway: routes by host and path prefix, stable or gray per request,\n" +
			"rate limits, circuit breakers and JWT per route. Configuration comes from --config FILE\n" +
			"(re-read when it changes) or from --server URL (the Berth server's configuration stream;\n" +
			"the last good configuration keeps serving while the server is away). See docs/gateway.md.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd.Context(), env, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "gateway configuration file (YAML or JSON)")
	fl.StringVar(&f.server, "server", "", "URL of the Berth server's gateway configuration stream")
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8000", "address to serve traffic on (HTTP/1.1 and h2c, or TLS with --tls-cert)")
	fl.StringVar(&f.admin, "admin-listen", "127.0.0.1:9901", "address of /metrics, /healthz and /readyz (empty: off)")
	fl.StringVar(&f.accessLog, "access-log", "stdout", "JSON access log: stdout, stderr, off or a file path")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate file (enables HTTPS and HTTP/2 by ALPN)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "TLS key file")
	fl.BoolVar(&f.kubernetes, "kubernetes", false, "resolve service upstreams from EndpointSlices (automatic in a pod)")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig for service upstreams outside a cluster (implies --kubernetes)")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the API token --server requires (default: env BERTH_GATEWAY_TOKEN)")
	fl.BoolVar(&f.pprof, "pprof", false, "serve /debug/pprof/ on the admin listener")
	fl.DurationVar(&f.filePoll, "config-poll", 2*time.Second, "how often --config is checked for changes")
	fl.IntVar(&f.maxHeaderBytes, "max-header-bytes", 32<<10, "largest request head accepted (431 beyond)")
	fl.StringVar(&f.frontEnd, "http1-front-end", string(gateway.FrontEndFast),
		"who reads cleartext HTTP/1.1: fast (the gateway's own loop, handing unusual requests and h2c to net/http) or net/http")
	return cmd
}

func run(ctx context.Context, env cli.Env, f flags) error {
	if (f.config == "") == (f.server == "") {
		return errors.New("want exactly one of --config FILE or --server URL")
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	log, err := newLogger(f.logLevel, env.Stderr)
	if err != nil {
		return err
	}
	frontEnd, err := gateway.ParseFrontEnd(f.frontEnd)
	if err != nil {
		return fmt.Errorf("--http1-front-end: %w", err)
	}
	access, closeAccess, err := accessLogger(f.accessLog, env)
	if err != nil {
		return err
	}
	defer closeAccess()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	opts := gateway.Options{Log: log, AccessLog: access, Registerer: reg}
	g, ctx := errgroup.WithContext(ctx)
	if f.kubernetes || f.kubeconfig != "" || env.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		w, err := kube.NewEndpointWatcherForKubeconfig(f.kubeconfig, log)
		if err != nil {
			return err
		}
		if err := w.Start(ctx); err != nil {
			return err
		}
		opts.Resolver = w
	}
	gw := gateway.New(opts)
	if f.config != "" {
		if err := loadFile(gw, f.config); err != nil {
			return err
		}
		g.Go(func() error { watchFile(ctx, gw, f.config, f.filePoll, log); return nil })
	} else {
		token, err := serverToken(env, f.tokenFile)
		if err != nil {
			return err
		}
		client := &http.Client{Transport: bearer{token: token, next: http.DefaultTransport}}
		sub := &gateway.Subscriber{URL: f.server, Client: client, Gateway: gw, Log: log}
		g.Go(func() error { return sub.Run(ctx) })
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Fprintf(env.Stdout, "Berth gateway on %s\n", ln.Addr())
	log.Info("berth gateway listening", "addr", ln.Addr().String())
	g.Go(func() error {
		return gateway.Serve(ctx, ln, gw, log, gateway.ServerOptions{
			MaxHeaderBytes: f.maxHeaderBytes, CertFile: f.tlsCert, KeyFile: f.tlsKey, FrontEnd: frontEnd,
		})
	})
	if f.admin != "" {
		g.Go(func() error { return serveAdmin(ctx, f.admin, f.pprof, gw, reg, log) })
	}
	return g.Wait()
}

// serverToken reads the API token for the configuration stream: from file,
// else from BERTH_GATEWAY_TOKEN; "" sends none.
func serverToken(env cli.Env, file string) (string, error) {
	if file == "" {
		return env.Getenv("BERTH_GATEWAY_TOKEN"), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// bearer adds the API token to every request of the stream.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	if b.token == "" {
		return b.next.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

func loadFile(gw *gateway.Gateway, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read gateway configuration: %w", err)
	}
	cfg, err := gateway.Decode(data)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	_, err = gw.Load(cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// watchFile re-reads path every poll; identical content is a no-op in
// Load, a bad one is logged and the running configuration stays.
func watchFile(ctx context.Context, gw *gateway.Gateway, path string, poll time.Duration, log *slog.Logger) {
	t := time.NewTicker(poll)
	defer t.Stop()
	var last time.Time
	if st, err := os.Stat(path); err == nil {
		last = st.ModTime()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := os.Stat(path)
		if err != nil || st.ModTime().Equal(last) {
			continue
		}
		last = st.ModTime()
		if err := loadFile(gw, path); err != nil {
			log.Error("gateway configuration rejected, keeping the running one", "err", err.Error())
		}
	}
}

func serveAdmin(ctx context.Context, addr string, profiling bool, gw *gateway.Gateway, reg *prometheus.Registry, log *slog.Logger) error {
	mux := http.NewServeMux()
	if profiling {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !gw.Ready() {
			http.Error(w, "no configuration yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("admin listen: %w", err)
	}
	log.Info("gateway admin listening", "addr", ln.Addr().String())
	return gateway.Serve(ctx, ln, mux, log, gateway.ServerOptions{ShutdownGrace: time.Second})
}

func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: want debug, info, warn or error, got %q", level)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}

func accessLogger(dest string, env cli.Env) (*slog.Logger, func(), error) {
	var w io.Writer
	closeFn := func() {}
	switch dest {
	case "off", "":
		return nil, closeFn, nil
	case "stdout":
		w = env.Stdout
	case "stderr":
		w = env.Stderr
	default:
		f, err := os.OpenFile(dest, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return nil, nil, fmt.Errorf("access log: %w", err)
		}
		w, closeFn = f, func() { _ = f.Close() }
	}
	return slog.New(slog.NewJSONHandler(w, nil)), closeFn, nil
}
