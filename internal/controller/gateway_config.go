package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
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
// whose traffic provider is the gateway: it rebuilds and publishes it on
// every change it hears of (Changed, or Publish directly) and periodically.
// An unchanged result is a no-op for the publisher and the gateways.
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

	mu       sync.Mutex                   // one build and publish at a time, in order
	good     map[string]part              // by environment path: the part last published
	routes   map[deploy.Key]traffic.Route // the route published for each deployment
	rejected map[string]string            // by environment path: why its part was rejected
}

// part is one environment's share of the configuration.
type part struct {
	cfg    gateway.Config
	routes map[deploy.Key]traffic.Route
}

// NewGatewayConfig returns the publisher of gateway configuration; h are
// the org headers plans compile against.
func NewGatewayConfig(db platform.Transactor, h gray.Headers, pub *gateway.Publisher, log *slog.Logger) *GatewayConfig {
	return &GatewayConfig{db: db, headers: h, pub: pub, log: log, kick: make(chan struct{}, 1),
		metric: prometheus.NewGauge(prometheus.GaugeOpts{Name: "berth_gateway_config_rejected_environments",
			Help: "Environments whose part of the published gateway configuration was rejected at the last build (they keep their last good part)."}),
		good: map[string]part{}, routes: map[deploy.Key]traffic.Route{}, rejected: map[string]string{}}
}

// Collector is the metric to register with the server's registry.
func (g *GatewayConfig) Collector() prometheus.Collector { return g.metric }

// Subscribe has the configuration rebuilt when deployments change on b,
// and published before b's publisher goes on when a gray plan changes: an
// API answer to a gray change waits until the gateways are offered the new
// routes (after an abort: none to gray). Call it before Run, before the
// gray plan controller subscribes.
func (g *GatewayConfig) Subscribe(b *change.Bus) {
	b.Subscribe(func(change.Changed) { g.Changed() }, change.Deployment)
	b.Subscribe(func(change.Changed) {
		ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
		defer cancel()
		if err := g.Publish(ctx); err != nil {
			g.log.Error("publish gateway configuration", "err", err)
		}
	}, change.GrayPlan)
}

// publishTimeout bounds the publication after a gray plan change, which
// the API's answer waits for.
const publishTimeout = 10 * time.Second

// Changed asks for a rebuild; it never blocks, and changes heard during a
// rebuild cause one more.
func (g *GatewayConfig) Changed() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// Run publishes at once, then on every change and every resync, until ctx
// ends.
func (g *GatewayConfig) Run(ctx context.Context, resync time.Duration) {
	tick := time.NewTicker(resync)
	defer tick.Stop()
	for {
		if err := g.Publish(ctx); err != nil && ctx.Err() == nil {
			g.log.Error("publish gateway configuration", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-g.kick:
		case <-tick.C:
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
	got, ok := g.routes[k]
	return ok && reflect.DeepEqual(got, r)
}

// Publish builds the configuration once and publishes it.
func (g *GatewayConfig) Publish(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	envs, err := g.environments(ctx)
	if err != nil {
		return err
	}
	cfg, accepted, rejected := merge(envs, g.good)
	if err := g.pub.Publish(cfg); err != nil {
		return fmt.Errorf("gateway configuration: %w", err)
	}
	g.good = accepted
	g.routes = map[deploy.Key]traffic.Route{}
	for _, p := range accepted {
		maps.Copy(g.routes, p.routes)
	}
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

// envPart is what one environment calls for, or why it could not be read.
type envPart struct {
	path   string
	routes map[deploy.Key]traffic.Route
	err    error
}

// merge builds each environment's part and puts the valid ones together
// in path order; an invalid part, or one whose names collide with a part
// already in, is replaced by the environment's previous good part when
// that still fits, else left out. It returns the configuration, the parts
// it holds and why each rejected environment was rejected. It keeps none
// of envs and does not change prev.
func merge(envs []envPart, prev map[string]part) (gateway.Config, map[string]part, map[string]string) {
	cfg := gateway.Config{Routes: []gateway.Route{}, Apps: []gateway.App{}}
	accepted, rejected := map[string]part{}, map[string]string{}
	apps, routes := map[string]bool{}, map[string]bool{}
	fits := func(p part) error {
		for _, a := range p.cfg.Apps {
			if apps[a.Name] {
				return fmt.Errorf("app %q is another environment's too", a.Name)
			}
		}
		for _, r := range p.cfg.Routes {
			if routes[r.Name] {
				return fmt.Errorf("route %q is another environment's too", r.Name)
			}
		}
		return nil
	}
	for _, e := range envs {
		p, err := e.part()
		if err == nil {
			err = fits(p)
		}
		if err != nil {
			rejected[e.path] = err.Error()
			var ok bool
			if p, ok = prev[e.path]; !ok || fits(p) != nil {
				continue
			}
		}
		accepted[e.path] = p
		for _, a := range p.cfg.Apps {
			apps[a.Name] = true
		}
		for _, r := range p.cfg.Routes {
			routes[r.Name] = true
		}
		cfg.Apps = append(cfg.Apps, p.cfg.Apps...)
		cfg.Routes = append(cfg.Routes, p.cfg.Routes...)
	}
	// Environments gone since the last build are gone from the
	// configuration too; kept parts of rejected ones stay.
	return cfg, accepted, rejected
}

func (e envPart) part() (part, error) {
	if e.err != nil {
		return part{}, e.err
	}
	cfg, err := trafficgw.Config(slices.Collect(maps.Values(e.routes)))
	if err != nil {
		return part{}, err
	}
	return part{cfg: cfg, routes: e.routes}, nil
}

// environments reads every deployment served by the gateway with its
// latest gray plan, in one snapshot, and returns the routes they call for
// by environment, in path order. An environment that cannot be read is
// returned with its error; only a failure to read the lists fails.
func (g *GatewayConfig) environments(ctx context.Context) ([]envPart, error) {
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
				e = &envPart{path: path, routes: map[deploy.Key]traffic.Route{}}
				byPath[path] = e
				env, err := st.GetEnvironment(ctx, d.Tenant, d.Project, d.Environment)
				if err != nil {
					e.err = fmt.Errorf("read environment: %w", err)
					continue
				}
				envs[path] = env
			}
			env, ok := envs[path]
			if !ok {
				continue
			}
			if p, err := providers.Lookup(env.Traffic); err != nil || !p.Published {
				continue
			}
			r, ok, err := g.route(ctx, st, d, env, byKey[d.Key()])
			if err != nil {
				e.err = err
				continue
			}
			if ok {
				e.routes[d.Key()] = r
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]envPart, 0, len(byPath))
	for _, p := range slices.Sorted(maps.Keys(byPath)) {
		if e := byPath[p]; e.err != nil || len(e.routes) > 0 {
			out = append(out, *e)
		}
	}
	return out, nil
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
