// Package server is the berth server's HTTP frame: health and readiness
// probes, Prometheus metrics, the version endpoint, request logging and
// graceful shutdown, over HTTP or TLS with HTTP/2. The API and console
// mount onto it.
package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"berth.dev/berth/internal/version"
)

// Check reports whether one dependency is ready; nil means ready.
type Check struct {
	Name string
	Func func(context.Context) error
}

// Server serves Berth's HTTP endpoints.
type Server struct {
	log      *slog.Logger
	mux      *http.ServeMux
	registry *prometheus.Registry
	checks   []Check
	role     func() string
	draining atomic.Bool

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// New returns a Server with /healthz, /readyz, /metrics and /version mounted.
// The checks decide /readyz; New keeps the slice.
func New(log *slog.Logger, checks []Check) *Server {
	s := &Server{
		log:      log,
		mux:      http.NewServeMux(),
		registry: prometheus.NewRegistry(),
		checks:   checks,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_http_requests_total",
			Help: "HTTP requests served, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "berth_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and method.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route", "method"}),
	}
	s.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		s.requests, s.duration,
	)
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry}))
	s.mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, version.Get()) })
	return s
}

// SetRole has /readyz report role() as this replica's role ("leader" or
// "follower"): both are ready, only the leader runs the controllers. Call
// it before serving.
func (s *Server) SetRole(role func() string) { s.role = role }

// Registry is where other packages register their berth_* metrics.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Handle mounts h at pattern (net/http ServeMux syntax).
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Handler returns the server's root handler with metrics and logging.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		s.mux.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		s.requests.WithLabelValues(route, r.Method, strconv.Itoa(rec.code)).Inc()
		s.duration.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
		s.log.Debug("http request", "method", r.Method, "path", r.URL.Path, "code", rec.code, "duration", time.Since(start))
	})
}

// Serve serves plain HTTP on ln until ctx is done, then drains: /readyz
// turns 503 at once, and in-flight requests get up to grace to finish.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	return s.serve(ctx, ln, grace, nil)
}

// ServeTLS is Serve over TLS (1.2 and later) with the PEM certificate
// chain and key in certFile and keyFile; HTTP/2 is offered by ALPN.
func (s *Server) ServeTLS(ctx context.Context, ln net.Listener, grace time.Duration, certFile, keyFile string) error {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("load TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	return s.serve(ctx, ln, grace, &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}})
}

func (s *Server) serve(ctx context.Context, ln net.Listener, grace time.Duration, tlsConfig *tls.Config) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		TLSConfig:         tlsConfig,
	}
	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			errc <- srv.ServeTLS(ln, "", "") // the certificate is in TLSConfig; ServeTLS adds h2
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

type checkResult struct {
	Name  string `json:"name"`
	Ready bool   `json:"ready"`
	Error string `json:"error,omitempty"`
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	code := http.StatusOK
	results := make([]checkResult, 0, len(s.checks)+1)
	if s.draining.Load() {
		code = http.StatusServiceUnavailable
		results = append(results, checkResult{Name: "server", Error: "shutting down"})
	}
	for _, c := range s.checks {
		res := checkResult{Name: c.Name, Ready: true}
		if err := c.Func(ctx); err != nil {
			res.Ready, res.Error, code = false, err.Error(), http.StatusServiceUnavailable
		}
		results = append(results, res)
	}
	status := "ready"
	if code != http.StatusOK {
		status = "not ready"
	}
	body := map[string]any{"status": status, "checks": results}
	if s.role != nil {
		body["role"] = s.role()
	}
	writeJSON(w, code, body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer (flush for SSE).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
