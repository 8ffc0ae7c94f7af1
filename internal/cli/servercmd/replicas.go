package servercmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/config"
	"berth.dev/berth/internal/engine"
	"berth.dev/berth/internal/gateway"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/leader"
	"berth.dev/berth/internal/resource"
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

var _ gateway.Ledger = (*store.Store)(nil)

// gatewayLedger is where this replica records its gateways'
// acknowledgements: the database when it has peers, none when it is alone
// (they stay in memory, and an acknowledgement writes nothing).
func gatewayLedger(st *store.Store, peers engine.Peers) gateway.Ledger {
	if peers == nil {
		return nil
	}
	return st
}

// gatewayStream is the engine's gateway publisher as the API serves it.
type gatewayStream struct{ *gateway.Publisher }

// Deliveries is the publisher's Deliveries in the API's terms.
func (g gatewayStream) Deliveries(ctx context.Context) (apitypes.GatewayDeliveries, error) {
	d, err := g.Publisher.Deliveries(ctx)
	if err != nil {
		return apitypes.GatewayDeliveries{}, err
	}
	out := apitypes.GatewayDeliveries{Replica: d.Replica, Config: d.Config, Delivered: d.Delivered,
		Gateways: make([]apitypes.GatewayDelivery, 0, len(d.Gateways))}
	for _, gw := range d.Gateways {
		out.Gateways = append(out.Gateways, apitypes.GatewayDelivery{Replica: gw.Replica, Local: gw.Local,
			Subscriber: gw.Subscriber, Applied: gw.Applied, Current: gw.Current})
	}
	return out, nil
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
// when cancel is called, and reports whether lost was closed. A term lost
// while the database does not answer (answers fails) does not end the
// context until it answers again: meanwhile the replica goes on serving,
// the API answering 503 and /readyz saying why, rather than exiting into a
// supervisor that would start it against a database that is still down
// (docs/adr/0021-database-outage.md).
func untilLost(ctx context.Context, lost <-chan struct{}, answers func(context.Context) error, log *slog.Logger) (_ context.Context, cancel func(), wasLost func() bool) {
	ctx, cancel = context.WithCancel(ctx)
	var was atomic.Bool
	go func() {
		select {
		case <-lost:
			was.Store(true)
		case <-ctx.Done():
			return
		}
		if waitForDatabase(ctx, answers, log) {
			cancel()
		}
	}()
	return ctx, cancel, was.Load
}

// DatabasePoll is how often a replica whose term was lost asks whether
// the database answers again.
var DatabasePoll = time.Second

// waitForDatabase returns true once answers succeeds, false when ctx ends
// first.
func waitForDatabase(ctx context.Context, answers func(context.Context) error, log *slog.Logger) bool {
	t := time.NewTicker(DatabasePoll)
	defer t.Stop()
	for said := false; ; said = true {
		pctx, cancel := context.WithTimeout(ctx, DatabasePoll)
		err := answers(pctx)
		cancel()
		if err == nil {
			return true
		}
		if !said {
			log.Warn("leadership lost while the database does not answer: serving until it answers, then stopping to start again", "err", err)
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// databaseReady is /readyz's database check: a reason a person can act on,
// without the driver's text (host names, ports) on an unauthenticated
// endpoint; the cause is logged.
func databaseReady(st *store.Store, log *slog.Logger) func(context.Context) error {
	return func(ctx context.Context) error {
		err := st.Ping(ctx)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, resource.ErrUnavailable):
			err = errors.New("the database does not answer (connection refused or lost): the API answers 503 until it does")
		case errors.Is(err, context.DeadlineExceeded):
			err = errors.New("the database did not answer in time: the API answers 503 until it does")
		default:
			log.Warn("readiness: the database answered with an error", "err", err)
			return errors.New("the database answered with an error (see the server's log)")
		}
		return err
	}
}
