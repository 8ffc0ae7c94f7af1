package servercmd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
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
	lease, err := st.Lease(LeaseName, holderID())
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

// holderID names this process among the replicas: its host, its process
// ID and a random part (a restarted process is a new holder).
func holderID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
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
