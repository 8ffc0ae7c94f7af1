package controller

import (
	"context"
	"log/slog"
	"time"

	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// Clusters keeps the registry's connections equal to the clusters
// registered in the database: it connects new ones, reconnects changed
// ones (a new kubeconfig) and disconnects removed ones.
type Clusters struct {
	p        *platform.Platform
	registry *kube.Registry
	log      *slog.Logger
	known    map[string]int64 // cluster → resourceVersion connected
}

// NewClusters returns the cluster connection reconciler.
func NewClusters(p *platform.Platform, registry *kube.Registry, log *slog.Logger) *Clusters {
	return &Clusters{p: p, registry: registry, log: log, known: map[string]int64{}}
}

// Run reconciles every interval until ctx ends.
func (c *Clusters) Run(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if err := c.Reconcile(ctx); err != nil && ctx.Err() == nil {
			c.log.Error("reconcile clusters", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Reconcile connects, reconnects and disconnects once.
func (c *Clusters) Reconcile(ctx context.Context) error {
	var clusters []tenancy.Cluster
	configs := map[string][]byte{}
	err := c.p.DB.View(ctx, func(tx platform.Tx) error {
		o := resource.ListOptions{Limit: resource.MaxLimit}
		for {
			page, err := c.p.Tenancy.ListClusters(ctx, tx, o)
			if err != nil {
				return err
			}
			clusters = append(clusters, page.Items...)
			if page.Continue == "" {
				break
			}
			o.Continue = page.Continue
		}
		for _, cl := range clusters {
			if c.known[cl.Name] == cl.ResourceVersion {
				continue
			}
			kc, err := c.p.Tenancy.Kubeconfig(ctx, tx, cl.Name)
			if err != nil {
				return err
			}
			configs[cl.Name] = kc
		}
		return nil
	})
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, cl := range clusters {
		seen[cl.Name] = true
		kc, changed := configs[cl.Name]
		if !changed {
			continue
		}
		if err := c.registry.Connect(ctx, cl.Name, kc, kube.Rate{QPS: cl.QPS, Burst: cl.Burst}); err != nil {
			c.log.Error("connect cluster", "cluster", cl.Name, "err", err)
			continue
		}
		c.known[cl.Name] = cl.ResourceVersion
		c.log.Info("cluster connected", "cluster", cl.Name)
	}
	for name := range c.known {
		if !seen[name] {
			c.registry.Disconnect(name)
			delete(c.known, name)
			c.log.Info("cluster disconnected", "cluster", name)
		}
	}
	return nil
}
