package gateway

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"berth.dev/berth/internal/traffic"
)

// Options are a Gateway's collaborators. Only Log is required.
type Options struct {
	Log *slog.Logger
	// AccessLog receives one JSON record per request; nil turns it off.
	AccessLog *slog.Logger
	// Registerer receives the gateway's metrics; nil uses a private registry.
	Registerer prometheus.Registerer
	// Resolver follows Kubernetes Services; nil rejects service upstreams.
	Resolver Resolver
	// Transport talks to upstreams; nil uses NewTransport(), the gateway's
	// own HTTP/1.1 client.
	Transport http.RoundTripper
	// JWKSClient fetches JWKS documents; nil uses a client with a 5s timeout.
	JWKSClient *http.Client
	// Now and Rand are the clock and the random source of weighted choice;
	// nil uses time.Now and math/rand/v2.
	Now  func() time.Time
	Rand traffic.Rand
}

// Gateway is the proxy. It serves the table of the last configuration
// loaded successfully; before the first, every request gets 503.
type Gateway struct {
	opts      Options
	log       *slog.Logger
	table     atomic.Pointer[table]
	loadMu    sync.Mutex
	streamed  *streamed // the units of the table in force when streamed by units; guarded by loadMu
	endpoints endpoints
	metrics   *metrics
	proxy     *httputil.ReverseProxy
	upstream  http.RoundTripper
	unrouted  *versionMetrics // requests matching no route
}

type globalRand struct{}

func (globalRand) IntN(n int) int { return rand.IntN(n) }

// New returns a gateway with no configuration.
func New(opts Options) *Gateway {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = globalRand{}
	}
	if opts.Transport == nil {
		opts.Transport = NewTransport()
	}
	if opts.JWKSClient == nil {
		opts.JWKSClient = &http.Client{Timeout: 5 * time.Second}
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	g := &Gateway{opts: opts, log: opts.Log, upstream: opts.Transport}
	g.metrics = newMetrics(opts.Registerer)
	g.unrouted = g.metrics.version("", "none")
	g.proxy = &httputil.ReverseProxy{
		Rewrite:      g.rewrite,
		Transport:    retryTransport{g},
		BufferPool:   newBufferPool(),
		ErrorHandler: g.proxyError,
		ErrorLog:     slog.NewLogLogger(opts.Log.Handler(), slog.LevelDebug),
	}
	return g
}

// Load validates cfg, builds it and swaps it in atomically. It reports
// whether anything changed: an identical configuration is a no-op. On error
// the running configuration stays; the error is a *ValidationError naming
// the bad fields whenever the problem is in cfg. Requests in flight finish
// on the table they started with.
func (g *Gateway) Load(cfg Config) (bool, error) {
	if err := cfg.Validate(); err != nil {
		g.metrics.reloads.WithLabelValues("rejected").Inc()
		return false, err
	}
	g.loadMu.Lock()
	defer g.loadMu.Unlock()
	prev := g.table.Load()
	if prev != nil && prev.hash == hashConfig(cfg) {
		g.metrics.reloads.WithLabelValues("unchanged").Inc()
		return false, nil
	}
	t, err := g.build(cfg, prev)
	if err != nil {
		g.metrics.reloads.WithLabelValues("rejected").Inc()
		return false, err
	}
	g.table.Store(t)
	g.streamed = nil
	g.metrics.reloads.WithLabelValues("applied").Inc()
	g.log.Info("gateway configuration applied", "routes", len(cfg.Routes), "apps", len(cfg.Apps))
	return true, nil
}

// Ready reports whether a configuration has been loaded.
func (g *Gateway) Ready() bool { return g.table.Load() != nil }

// ErrNoConfig is reported to clients (503) before the first configuration.
var ErrNoConfig = errors.New("no configuration loaded yet")

// bufferPool lends the 32 KiB buffers ReverseProxy copies bodies with.
// Buffers are kept as array pointers so that Put does not allocate.
type bufferPool struct{ p sync.Pool }

const copyBufferSize = 32 << 10

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { return new([copyBufferSize]byte) }}}
}

func (b *bufferPool) Get() []byte { return b.p.Get().(*[copyBufferSize]byte)[:] }

func (b *bufferPool) Put(v []byte) {
	if len(v) == copyBufferSize {
		b.p.Put((*[copyBufferSize]byte)(v))
	}
}
