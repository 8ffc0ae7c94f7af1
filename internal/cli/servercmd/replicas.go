package servercmd

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"

	"berth.dev/berth/internal/config"
	"berth.dev/berth/internal/engine"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/leader"
	"berth.dev/berth/internal/store"
)

// LeaseName is the lease the replicas of one database run for.
const LeaseName = "berth-controllers"

// replicas returns how this server elects its leader among the replicas
// of its database (cfg.Election) and how it hears their changes: an
// SQLite server is alone and always leads.
func replicas(cfg config.Config, st *store.Store, log *slog.Logger) (leader.Elector, engine.Peers, error) {
	kind, ttl := cfg.Election()
	if kind == "none" {
		return leader.Always{}, nil, nil
	}
	lease, err := st.Lease(LeaseName, holderID(cfg.DataDir))
	if err != nil {
		return nil, nil, err
	}
	log.Info("leader election", "kind", kind, "lease_duration", ttl.String())
	switch kind {
	case "postgres":
		return &leader.LeaseElector{Lock: lease, TTL: ttl, Log: log}, st, nil
	case "kubernetes":
		e, err := kube.NewLeaseElector(kube.LeaseOptions{Kubeconfig: cfg.Kubeconfig, Namespace: cfg.LeaseNamespace,
			Name: LeaseName, Identity: lease.Holder(), TTL: ttl, Fence: lease.Take, Log: log})
		if err != nil {
			return nil, nil, err
		}
		return e, st, nil
	}
	return nil, nil, fmt.Errorf("config leaderElection: unknown %q", kind)
}

// holderID names this replica among those of its database: its host and
// data directory. A replica restarted on the same host and directory (a
// container restarted in its pod, a killed process started again) takes
// its lease back at once instead of waiting for it to expire; the new
// term's epoch fences the old one.
func holderID(dataDir string) string {
	host, _ := os.Hostname()
	if abs, err := filepath.Abs(dataDir); err == nil {
		dataDir = abs
	}
	return host + ":" + dataDir
}

// untilLost returns a context that ends with ctx, when lost is closed or
// when cancel is called, and reports whether lost was closed.
func untilLost(ctx context.Context, lost <-chan struct{}) (_ context.Context, cancel func(), wasLost func() bool) {
	ctx, cancel = context.WithCancel(ctx)
	var was atomic.Bool
	go func() {
		select {
		case <-lost:
			was.Store(true)
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel, was.Load
}
