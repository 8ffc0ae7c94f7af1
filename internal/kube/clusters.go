package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ErrUnknownCluster is returned for a cluster name that is not connected.
var ErrUnknownCluster = errors.New("cluster not registered")

// ErrUnreachable is returned, wrapped with the cause, for operations on a
// cluster that does not answer.
var ErrUnreachable = errors.New("cluster unreachable")

// Health check cadence: a cluster is unreachable after failing
// unhealthyAfter consecutive probes, each bounded by probeTimeout, so an
// outage shows within about unhealthyAfter × (probeEvery + probeTimeout).
const (
	probeEvery     = 2 * time.Second
	probeTimeout   = 2 * time.Second
	unhealthyAfter = 2
	requestTimeout = 30 * time.Second
)

// Conn is a connection to one registered cluster.
type Conn struct {
	Name    string
	Client  kubernetes.Interface
	Applier *Applier
	Watcher *Watcher

	cfg    *rest.Config
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	failures int
	lastErr  error
	synced   bool
}

// Ready returns nil when the cluster answers, else ErrUnreachable with why.
func (c *Conn) Ready() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failures >= unhealthyAfter || !c.synced {
		cause := c.lastErr
		if cause == nil {
			cause = errors.New("not connected yet")
		}
		return fmt.Errorf("%w: %s: %v", ErrUnreachable, c.Name, cause)
	}
	return nil
}

// Connecting reports whether Berth has not yet finished its first look at
// the cluster (informers not synced) without having seen it fail: the
// cluster's state is not known yet, which is not the cluster's fault.
func (c *Conn) Connecting() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.synced && c.failures < unhealthyAfter
}

// Status is the live status of an application on this cluster; Unknown,
// with the reason, while the cluster is unreachable.
func (c *Conn) Status(key AppKey) Status {
	if err := c.Ready(); err != nil {
		return Status{Phase: PhaseUnknown, Reason: "ClusterUnreachable", Message: err.Error(), Pods: []PodStatus{}}
	}
	return c.Watcher.Status(key)
}

// Registry holds a connection to every registered cluster.
type Registry struct {
	log      *slog.Logger
	onChange func(cluster string, key AppKey)

	mu    sync.Mutex
	conns map[string]*Conn
	subs  map[chan Change]struct{}
	qps   int // SetQPS
}

// Change says that an application's live state in a cluster changed; an
// empty App means every application of the cluster (reachability changed).
type Change struct {
	Cluster string
	App     AppKey
}

// DefaultQPS is the request rate to each cluster's API server unless
// SetQPS or the cluster's own Rate says otherwise (bursts of twice as
// many): sized for a few thousand applications per cluster, each
// reconcile of one a few requests, so that a resync of all of them takes
// tens of seconds of the budget rather than minutes, and well within what
// one API server serves (client-go's own default is 5).
const DefaultQPS = 200

// SetQPS sets the request rate to the API server of each cluster connected
// from now on (bursts of twice as many); call it before connecting any.
func (r *Registry) SetQPS(qps int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.qps = qps
}

// NewRegistry returns an empty Registry. onChange (may be nil, must not
// block) hears of every application whose live state changed, and of every
// application of a cluster whose reachability changed (with an empty key).
func NewRegistry(log *slog.Logger, onChange func(cluster string, key AppKey)) *Registry {
	return &Registry{log: log, onChange: onChange, conns: map[string]*Conn{}, subs: map[chan Change]struct{}{}}
}

// RESTConfigFromKubeconfig parses a kubeconfig's current context.
func RESTConfigFromKubeconfig(kubeconfig []byte) (*rest.Config, error) {
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return cfg, nil
}

// Rate is the rate of requests to one cluster's API server: QPS per
// second, Burst at once. A zero QPS is the Registry's (SetQPS); a zero
// Burst is twice the rate.
type Rate struct{ QPS, Burst int }

// Connect registers (or replaces) the cluster name reached with kubeconfig
// at rate. It returns at once; the connection becomes Ready once its
// watches have synced, in the background, until ctx ends or Disconnect.
func (r *Registry) Connect(ctx context.Context, name string, kubeconfig []byte, rate Rate) error {
	cfg, err := RESTConfigFromKubeconfig(kubeconfig)
	if err != nil {
		return err
	}
	return r.connect(ctx, name, cfg, rate)
}

// ConnectConfig is Connect with a parsed configuration, which it copies,
// at the Registry's rate.
func (r *Registry) ConnectConfig(ctx context.Context, name string, cfg *rest.Config) error {
	return r.connect(ctx, name, cfg, Rate{})
}

// rate fills in want's zeros.
func (r *Registry) rate(want Rate) Rate {
	if want.QPS <= 0 {
		r.mu.Lock()
		want.QPS = r.qps
		r.mu.Unlock()
	}
	if want.QPS <= 0 {
		want.QPS = DefaultQPS
	}
	if want.Burst <= 0 {
		want.Burst = 2 * want.QPS
	}
	return want
}

func (r *Registry) connect(ctx context.Context, name string, cfg *rest.Config, rate Rate) error {
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = requestTimeout
	rate = r.rate(rate)
	cfg.QPS, cfg.Burst = float32(rate.QPS), rate.Burst
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	applier, err := NewApplier(cfg)
	if err != nil {
		return err
	}
	c := &Conn{Name: name, Client: client, Applier: applier, cfg: cfg, done: make(chan struct{})}
	c.Watcher, err = NewWatcher(client, func(k AppKey) { r.notify(name, k) })
	if err != nil {
		return err
	}
	connCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
	r.mu.Lock()
	old := r.conns[name]
	r.conns[name] = c
	r.mu.Unlock()
	if old != nil {
		old.close()
	}
	go c.run(connCtx, r)
	return nil
}

func (r *Registry) notify(cluster string, k AppKey) {
	if r.onChange != nil {
		r.onChange(cluster, k)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for ch := range r.subs {
		select {
		case ch <- Change{Cluster: cluster, App: k}:
		default: // a slow subscriber misses changes; it resyncs from Status
		}
	}
}

// Subscribe returns a channel of changes until ctx ends. A subscriber that
// falls behind by more than the buffer misses changes, so it should also
// re-read statuses now and then.
func (r *Registry) Subscribe(ctx context.Context) <-chan Change {
	ch := make(chan Change, 256)
	r.mu.Lock()
	r.subs[ch] = struct{}{}
	r.mu.Unlock()
	go func() {
		<-ctx.Done()
		r.mu.Lock()
		delete(r.subs, ch)
		r.mu.Unlock()
		close(ch)
	}()
	return ch
}

// Status is the live status of key in cluster; Unknown when the cluster is
// not registered or not reachable.
func (r *Registry) Status(cluster string, key AppKey) Status {
	c, err := r.Get(cluster)
	if err != nil {
		return Status{Phase: PhaseUnknown, Reason: "ClusterNotConnected", Message: err.Error(), Pods: []PodStatus{}}
	}
	return c.Status(key)
}

// run syncs the watches, then probes the API server until ctx ends.
func (c *Conn) run(ctx context.Context, r *Registry) {
	defer close(c.done)
	go func() {
		if err := c.Watcher.Start(ctx, 24*time.Hour); err == nil {
			c.mu.Lock()
			c.synced = true
			c.mu.Unlock()
			r.notify(c.Name, AppKey{})
		}
	}()
	tick := time.NewTicker(probeEvery)
	defer tick.Stop()
	for {
		c.probe(ctx, r)
		select {
		case <-ctx.Done():
			c.Watcher.Stop()
			return
		case <-tick.C:
		}
	}
}

func (c *Conn) probe(ctx context.Context, r *Registry) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	err := c.Client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error()
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	c.mu.Lock()
	wasReady := c.failures < unhealthyAfter
	if err != nil {
		c.failures++
		c.lastErr = err
	} else {
		c.failures, c.lastErr = 0, nil
	}
	isReady := c.failures < unhealthyAfter
	c.mu.Unlock()
	if wasReady != isReady {
		if isReady {
			r.log.Info("cluster reachable again", "cluster", c.Name)
		} else {
			r.log.Warn("cluster unreachable", "cluster", c.Name, "err", err)
		}
		r.notify(c.Name, AppKey{})
	}
}

func (c *Conn) close() {
	c.cancel()
	<-c.done
}

// Get returns the connection to cluster name.
func (r *Registry) Get(name string) (*Conn, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.conns[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownCluster, name)
	}
	return c, nil
}

// Ready returns the connection to cluster name if it answers, else an
// error naming the cluster and why, without waiting on it.
func (r *Registry) Ready(name string) (*Conn, error) {
	c, err := r.Get(name)
	if err != nil {
		return nil, err
	}
	return c, c.Ready()
}

// AwaitReady is Ready, except that while Berth is still making its first
// connection to the cluster (just after start) it waits for that, up to
// limit: a change sent right after the server started is not refused for
// Berth's own sake.
func (r *Registry) AwaitReady(ctx context.Context, name string, limit time.Duration) (*Conn, error) {
	deadline := time.Now().Add(limit)
	for {
		c, err := r.Get(name)
		if err == nil {
			if err = c.Ready(); err == nil || !c.Connecting() {
				return c, err
			}
		}
		if time.Now().After(deadline) {
			return c, err
		}
		select {
		case <-ctx.Done():
			return c, err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Disconnect forgets cluster name and stops its watches.
func (r *Registry) Disconnect(name string) {
	r.mu.Lock()
	c := r.conns[name]
	delete(r.conns, name)
	r.mu.Unlock()
	if c != nil {
		c.close()
	}
}

// Close disconnects every cluster.
func (r *Registry) Close() {
	r.mu.Lock()
	names := make([]string, 0, len(r.conns))
	for n := range r.conns {
		names = append(names, n)
	}
	r.mu.Unlock()
	for _, n := range names {
		r.Disconnect(n)
	}
}
