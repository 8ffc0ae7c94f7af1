package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/gateway"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
	"berth.dev/berth/internal/traffic"
	trafficgw "berth.dev/berth/internal/traffic/gateway"
)

// GatewayConfig keeps the Berth gateway configuration the server streams to
// gateways equal to the deployments and gray plans of every environment
// whose traffic provider is the gateway: it rebuilds and publishes it on
// every change it hears of (Changed) and periodically. An unchanged result
// is a no-op for the publisher and the gateways.
type GatewayConfig struct {
	db      platform.Transactor
	headers gray.Headers
	pub     *gateway.Publisher
	log     *slog.Logger
	kick    chan struct{}
}

// NewGatewayConfig returns the publisher of gateway configuration; h are
// the org headers plans compile against.
func NewGatewayConfig(db platform.Transactor, h gray.Headers, pub *gateway.Publisher, log *slog.Logger) *GatewayConfig {
	return &GatewayConfig{db: db, headers: h, pub: pub, log: log, kick: make(chan struct{}, 1)}
}

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

// Publish builds the configuration once and publishes it.
func (g *GatewayConfig) Publish(ctx context.Context) error {
	routes, err := g.Routes(ctx)
	if err != nil {
		return err
	}
	cfg, err := trafficgw.Config(routes)
	if err != nil {
		return err
	}
	return g.pub.Publish(cfg)
}

// Routes reads every deployment served by the gateway with its latest gray
// plan, in one snapshot, and returns the routes they call for.
func (g *GatewayConfig) Routes(ctx context.Context) ([]traffic.Route, error) {
	var routes []traffic.Route
	err := g.db.View(ctx, func(st platform.Tx) error {
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
		envs := map[[3]string]tenancy.Environment{}
		for _, d := range deps {
			ek := [3]string{d.Tenant, d.Project, d.Environment}
			env, ok := envs[ek]
			if !ok {
				if env, err = st.GetEnvironment(ctx, d.Tenant, d.Project, d.Environment); err != nil {
					return fmt.Errorf("environment of %s: %w", d.Key().Path(), err)
				}
				envs[ek] = env
			}
			if env.Traffic != "" && env.Traffic != tenancy.TrafficGateway {
				continue
			}
			v, err := st.GetVersion(ctx, d.Tenant, d.Project, d.Application, d.Version)
			if errors.Is(err, resource.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if r, ok := gray.Route(gray.Target{Deployment: d, Version: v, Plan: byKey[d.Key()], Namespace: env.Namespace}, g.headers); ok {
				routes = append(routes, r)
			}
		}
		return nil
	})
	return routes, err
}
