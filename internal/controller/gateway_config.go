package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/gateway"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
	"berth.dev/berth/internal/traffic"
	trafficgw "berth.dev/berth/internal/traffic/gateway"
	"berth.dev/berth/internal/traffic/providers"
)

// GatewayConfig keeps the Berth gateway configuration the server streams to
// gateways equal to the deployments and gray plans of every environment
// whose traffic provider is the gateway. It reads everything at start and
// at every resync (Publish); between them, a change it hears of re-reads
// only the deployments that changed (PublishFor), and the environments
// they are in are built again from what was read before and the new
// routes. An unchanged result is a no-op for the publisher and the
// gateways.
//
// Each environment's part (its apps and routes, every name carrying the
// cluster) is built and validated on its own. A part that is invalid, or
// whose names collide with an environment published before it, is
// rejected: the environment keeps the part last published for it (or none)
// while every other environment's change is published. Rejections are
// logged with the environment, counted in the metric
// berth_gateway_config_rejected_environments and listed by Rejected.
type GatewayConfig struct {
	db      platform.Transactor
	headers gray.Headers
	pub     *gateway.Publisher
	log     *slog.Logger
	kick    chan struct{}
	metric  prometheus.Gauge

	mu       sync.Mutex         // one build and publish at a time, in order
	read     map[string]envPart // by environment path: what its deployments call for, as last read
	good     map[string]part    // by environment path: the part last published
	rejected map[string]string  // by environment path: why its part was rejected

	pendingMu sync.Mutex
	pending   map[deploy.Key]bool // deployments changed since they were last read
	all       bool                // everything is to be read again (ChangedAll)
}

// part is one environment's share of the configuration: a unit (an app
// and its routes) per deployment it routes. Units are built once per read
// of their deployment, so the publisher sees the same pointer while a
// deployment is unchanged and encodes only what changed.
type part struct {
	units  map[deploy.Key]*gateway.Unit
	routes map[deploy.Key]traffic.Route
}

// NewGatewayConfig returns the publisher of gateway configuration; h are
// the org headers plans compile against.
func NewGatewayConfig(db platform.Transactor, h gray.Headers, pub *gateway.Publisher, log *slog.Logger) *GatewayConfig {
	return &GatewayConfig{db: db, headers: h, pub: pub, log: log, kick: make(chan struct{}, 1),
		metric: prometheus.NewGauge(prometheus.GaugeOpts{Name: "berth_gateway_config_rejected_environments",
			Help: "Environments whose part of the published gateway configuration was rejected at the last build (they keep their last good part)."}),
		read: map[string]envPart{}, good: map[string]part{}, rejected: map[string]string{},
		pending: map[deploy.Key]bool{}}
}

// Collector is the metric to register with the server's registry.
func (g *GatewayConfig) Collector() prometheus.Collector { return g.metric }

// Subscribe has the configuration rebuilt when deployments change on b,
// and published before b's publisher goes on when a gray plan changes: an
// API answer to a gray change waits until the gateways are offered the new
// routes (after an abort: none to gray). Call it before Run, before the
// gray plan controller subscribes.
func (g *GatewayConfig) Subscribe(b *change.Bus) {
	b.Subscribe(func(c change.Changed) { g.Changed(deploy.KeyOf(c)) }, change.Deployment)
	b.Subscribe(func(c change.Changed) {
		ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
		defer cancel()
		if err := g.PublishFor(ctx, deploy.KeyOf(c)); err != nil {
			g.log.Error("publish gateway configuration", "err", err)
		}
	}, change.GrayPlan)
}

// publishTimeout bounds the publication after a gray plan change, which
// the API's answer waits for.
const publishTimeout = 10 * time.Second

// Changed asks for the deployments ks to be read again and the
// configuration rebuilt; it never blocks, and changes heard during a
// rebuild cause one more.
func (g *GatewayConfig) Changed(ks ...deploy.Key) {
	g.pendingMu.Lock()
	for _, k := range ks {
		g.pending[k] = true
	}
	g.pendingMu.Unlock()
	g.wake()
}

// ChangedAll asks for every deployment to be read again, for changes that
// may have been missed (another replica's, while the relay was down); it
// never blocks.
func (g *GatewayConfig) ChangedAll() {
	g.pendingMu.Lock()
	g.all = true
	g.pendingMu.Unlock()
	g.wake()
}

func (g *GatewayConfig) wake() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// Run reads everything and publishes at once and at every resync, and
// publishes what changed on every change, until ctx ends.
func (g *GatewayConfig) Run(ctx context.Context, resync time.Duration) {
	tick := time.NewTicker(resync)
	defer tick.Stop()
	publish := g.Publish
	for {
		if err := publish(ctx); err != nil && ctx.Err() == nil {
			g.log.Error("publish gateway configuration", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-g.kick:
			publish = func(ctx context.Context) error { return g.PublishFor(ctx) }
		case <-tick.C:
			publish = g.Publish
		}
	}
}

// Rejected returns, by environment path, why each environment's part was
// rejected at the last build. The caller owns the map.
func (g *GatewayConfig) Rejected() map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return maps.Clone(g.rejected)
}

// Delivered reports whether every connected gateway that reports what it
// applies has the last published configuration in force (or the
// publisher's AckWait has passed: see gateway.Publisher.Delivered).
func (g *GatewayConfig) Delivered() bool { return g.pub.Delivered() }

// Publishes reports whether the configuration last published realises r
// for deployment k: the gray plan controller removes a version's pods only
// once the gateway no longer routes to them.
func (g *GatewayConfig) Publishes(k deploy.Key, r traffic.Route) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	got, ok := g.good[envPath(k)].routes[k]
	return ok && reflect.DeepEqual(got, r)
}

// Publish reads every deployment, builds the configuration and publishes
// it.
func (g *GatewayConfig) Publish(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	pending, _ := g.takePending() // read below
	return g.publishAll(ctx, pending)
}

// publishAll reads every deployment and publishes the configuration built
// from them; pending, taken from the changes, is read again with the rest.
func (g *GatewayConfig) publishAll(ctx context.Context, pending map[deploy.Key]bool) error {
	envs, err := g.environments(ctx)
	if err != nil {
		g.ChangedAll() // to be read at the next build
		g.Changed(slices.Collect(maps.Keys(pending))...)
		return err
	}
	g.read = envs
	return g.publish()
}

// PublishFor reads deployments ks and those changed since they were last
// read (Changed) again, builds the configuration from them and what was
// read before, and publishes it.
func (g *GatewayConfig) PublishFor(ctx context.Context, ks ...deploy.Key) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	pending, all := g.takePending()
	if all {
		return g.publishAll(ctx, pending)
	}
	for _, k := range ks {
		pending[k] = true
	}
	if len(pending) == 0 {
		return nil
	}
	envs, err := g.reread(ctx, pending)
	if err != nil {
		g.Changed(slices.Collect(maps.Keys(pending))...) // to be read at the next build
		return err
	}
	maps.Copy(g.read, envs)
	for path, e := range envs {
		if e.err == nil && len(e.failed) == 0 && len(e.routes) == 0 {
			delete(g.read, path)
		}
	}
	return g.publish()
}

// takePending empties the set of deployments changed since they were last
// read and returns it, and whether everything was to be read again.
func (g *GatewayConfig) takePending() (map[deploy.Key]bool, bool) {
	g.pendingMu.Lock()
	defer g.pendingMu.Unlock()
	p, all := g.pending, g.all
	g.pending, g.all = map[deploy.Key]bool{}, false
	return p, all
}

// publish merges the environments last read and publishes the result.
func (g *GatewayConfig) publish() error {
	envs := make([]envPart, 0, len(g.read))
	for _, p := range slices.Sorted(maps.Keys(g.read)) {
		envs = append(envs, g.read[p])
	}
	units, accepted, rejected := merge(envs, g.good)
	if err := g.pub.Set(units); err != nil {
		return fmt.Errorf("gateway configuration: %w", err)
	}
	g.good = accepted
	for env, why := range rejected {
		if g.rejected[env] != why {
			g.log.Error("gateway configuration of an environment rejected; it keeps its last good routes",
				"environment", env, "err", why)
		}
	}
	g.rejected = rejected
	g.metric.Set(float64(len(rejected)))
	return nil
}

// envPart is what one environment calls for, or why it could not be read:
// the environment itself (err), or some of its deployments (failed, which
// holds too the routes that make no valid unit). built is its part, made
// by build once it is read.
type envPart struct {
	path   string
	routes map[deploy.Key]traffic.Route
	units  map[deploy.Key]*gateway.Unit
	err    error
	failed map[deploy.Key]error
	built  part
	bad    error
}

// merge puts the parts of envs, in path order, together: an invalid
// part, or one whose names collide with a part already in, is replaced by
// the environment's previous good part when that still fits, else left
// out. It returns the units of the configuration, the parts it holds and
// why each rejected environment was rejected. It keeps none of envs and
// does not change prev.
func merge(envs []envPart, prev map[string]part) ([]*gateway.Unit, map[string]part, map[string]string) {
	var units []*gateway.Unit
	accepted, rejected := map[string]part{}, map[string]string{}
	apps, routes := map[string]bool{}, map[string]bool{}
	for _, e := range envs {
		p, err := e.built, e.bad
		if err == nil {
			err = fits(p, apps, routes)
		}
		if err != nil {
			rejected[e.path] = err.Error()
			var ok bool
			if p, ok = prev[e.path]; !ok || fits(p, apps, routes) != nil {
				continue
			}
		}
		accepted[e.path] = p
		for _, u := range p.units {
			apps[u.App.Name] = true
			for _, r := range u.Routes {
				routes[r.Name] = true
			}
			units = append(units, u)
		}
	}
	// Environments gone since the last build are gone from the
	// configuration too; kept parts of rejected ones stay.
	return units, accepted, rejected
}

// fits reports the first of p's units, in deployment order, whose app or
// route names are already in apps or routes.
func fits(p part, apps, routes map[string]bool) error {
	var clash []deploy.Key
	for k, u := range p.units {
		if apps[u.App.Name] || slices.ContainsFunc(u.Routes, func(r gateway.Route) bool { return routes[r.Name] }) {
			clash = append(clash, k)
		}
	}
	if len(clash) == 0 {
		return nil
	}
	u := p.units[slices.MinFunc(clash, compareKeys)]
	if apps[u.App.Name] {
		return fmt.Errorf("app %q is another environment's too", u.App.Name)
	}
	for _, r := range u.Routes {
		if routes[r.Name] {
			return fmt.Errorf("route %q is another environment's too", r.Name)
		}
	}
	return nil
}

// build makes e's part from its units, or records why it has none.
func (e *envPart) build() {
	e.built, e.bad = part{}, e.err
	if e.bad != nil {
		return
	}
	for _, k := range slices.SortedFunc(maps.Keys(e.failed), compareKeys) {
		e.bad = e.failed[k]
		return
	}
	e.built = part{units: e.units, routes: e.routes}
}

func compareKeys(a, b deploy.Key) int {
	return strings.Compare(a.Application, b.Application)
}

// environments reads every deployment served by the gateway with its
// gray plan, in one snapshot, and returns what they call for by
// environment path. An environment that cannot be read is returned with
// its error; only a failure to read the lists fails.
func (g *GatewayConfig) environments(ctx context.Context) (map[string]envPart, error) {
	byPath := map[string]*envPart{}
	err := view(ctx, g.db, func(st gatewayReads) error {
		deps, err := st.ListDeployments(ctx, deploy.Filter{}, "", 0)
		if err != nil {
			return err
		}
		plans, err := st.ListPlans(ctx, deploy.Filter{})
		if err != nil {
			return err
		}
		byKey := map[deploy.Key]*gray.Plan{}
		for i := range plans {
			byKey[plans[i].Key()] = &plans[i]
		}
		envs := map[string]tenancy.Environment{}
		for _, d := range deps {
			path := envPath(d.Key())
			e, ok := byPath[path]
			if !ok {
				e = newEnvPart(path)
				byPath[path] = e
				env, err := st.GetEnvironment(ctx, d.Tenant, d.Project, d.Environment)
				if err != nil {
					e.err = fmt.Errorf("read environment: %w", err)
					continue
				}
				envs[path] = env
			}
			if env, ok := envs[path]; ok {
				g.readInto(ctx, st, e, d, env, byKey[d.Key()])
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return built(byPath), nil
}

// reread reads deployments ks again, with their gray plans, in one
// snapshot, and returns the environments they are in as last read with the
// new routes of ks. It changes nothing of g.
func (g *GatewayConfig) reread(ctx context.Context, ks map[deploy.Key]bool) (map[string]envPart, error) {
	byPath := map[string]*envPart{}
	err := view(ctx, g.db, func(st gatewayReads) error {
		for _, k := range slices.SortedFunc(maps.Keys(ks), compareKeys) {
			path := envPath(k)
			e, ok := byPath[path]
			if !ok {
				e = g.read[path].clone(path)
				byPath[path] = e
			}
			delete(e.routes, k)
			delete(e.units, k)
			delete(e.failed, k)
			if e.err != nil {
				continue // the environment's own failure stands until the next full read
			}
			d, err := st.GetDeployment(ctx, k)
			if errors.Is(err, resource.ErrNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("read deployment %s: %w", k.Application, err)
			}
			env, err := st.GetEnvironment(ctx, k.Tenant, k.Project, k.Environment)
			if err != nil {
				e.failed[k] = fmt.Errorf("read environment: %w", err)
				continue
			}
			plan, err := st.GetPlan(ctx, k)
			if err != nil && !errors.Is(err, resource.ErrNotFound) {
				return fmt.Errorf("read the gray plan of %s: %w", k.Application, err)
			}
			var p *gray.Plan
			if err == nil {
				p = &plan
			}
			g.readInto(ctx, st, e, d, env, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return built(byPath), nil
}

// readInto puts the route deployment d in env calls for under plan p
// (nil: none) into e, or why it could not be read.
func (g *GatewayConfig) readInto(ctx context.Context, st gatewayReads, e *envPart, d deploy.Deployment, env tenancy.Environment, p *gray.Plan) {
	if prov, err := providers.Lookup(env.Traffic); err != nil || !prov.Published {
		return
	}
	r, ok, err := g.route(ctx, st, d, env, p)
	switch {
	case err != nil:
		e.failed[d.Key()] = err
	case ok:
		e.put(d.Key(), r)
	}
}

// put records that deployment k calls for route r, with its unit, or
// why r makes no valid unit.
func (e *envPart) put(k deploy.Key, r traffic.Route) {
	u, err := trafficgw.Unit(r)
	if err != nil {
		e.failed[k] = err
		return
	}
	e.routes[k], e.units[k] = r, u
}

func newEnvPart(path string) *envPart {
	return &envPart{path: path, routes: map[deploy.Key]traffic.Route{}, units: map[deploy.Key]*gateway.Unit{}, failed: map[deploy.Key]error{}}
}

// clone returns a copy of e that can be changed without changing e; a zero
// e is an environment with nothing read yet, at path.
func (e envPart) clone(path string) *envPart {
	c := newEnvPart(path)
	c.err = e.err
	maps.Copy(c.routes, e.routes)
	maps.Copy(c.units, e.units)
	maps.Copy(c.failed, e.failed)
	return c
}

// built builds each environment of byPath and returns those that call for
// something or failed.
func built(byPath map[string]*envPart) map[string]envPart {
	out := make(map[string]envPart, len(byPath))
	for path, e := range byPath {
		e.build()
		out[path] = *e
	}
	return out
}

// route is the gateway route of deployment d in env under plan p (nil:
// none), or false when it serves none.
func (g *GatewayConfig) route(ctx context.Context, st gatewayReads, d deploy.Deployment, env tenancy.Environment, p *gray.Plan) (traffic.Route, bool, error) {
	v, err := st.GetVersion(ctx, d.Tenant, d.Project, d.Application, d.Version)
	if errors.Is(err, resource.ErrNotFound) {
		return traffic.Route{}, false, nil
	}
	if err != nil {
		return traffic.Route{}, false, fmt.Errorf("version %s of %s: %w", d.Version, d.Application, err)
	}
	r, ok := gray.Route(gatewayTarget(d, v, p, env), g.headers)
	return r, ok, nil
}

// gatewayTarget is deployment d as the Berth gateway provider sees it; the
// gray plan controller builds the same to ask Publishes.
func gatewayTarget(d deploy.Deployment, v apps.Version, p *gray.Plan, env tenancy.Environment) gray.Target {
	return gray.Target{Deployment: d, Version: v, Plan: p, Namespace: env.Namespace, Cluster: env.Cluster}
}

// envPath names the environment of k, as the API does.
func envPath(k deploy.Key) string {
	return "tenants/" + k.Tenant + "/projects/" + k.Project + "/environments/" + k.Environment
}
