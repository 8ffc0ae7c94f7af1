// Package engine runs the Berth engine inside a benchmark process, built
// and run by internal/engine exactly as `berth server` builds and runs it
// (the same controllers, workers, resyncs and change wiring), over a SQLite
// store, with tenant bank, project channels and one environment on a local
// cluster.
package engine

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/engine"
	"berth.dev/berth/internal/localcluster"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/tenancy"
)

// Admin is the actor of every change a benchmark makes.
var Admin = audit.Actor{User: "bench", Roles: []string{"platform-admin"}}

// Engine is Berth in this process.
type Engine struct {
	*engine.Engine
	st   *store.Store
	stop func()
}

// Start opens a store under dir, assembles the engine with engine.New,
// registers lc as cluster "local" with environment env bound to namespace
// ns, creates tier "small", and runs the engine until Close. before, if not
// nil, is called once the engine is assembled and before it runs: a
// benchmark sets the controllers' hooks there.
func Start(ctx context.Context, dir string, lc *localcluster.Cluster, env, ns string, before func(*engine.Engine)) (*Engine, error) {
	st, err := store.Open(ctx, filepath.Join(dir, "data"), "")
	if err != nil {
		return nil, err
	}
	e, err := start(ctx, st, lc, env, ns, before)
	if err != nil {
		st.Close()
		return nil, err
	}
	return e, nil
}

func start(ctx context.Context, st *store.Store, lc *localcluster.Cluster, env, ns string, before func(*engine.Engine)) (*Engine, error) {
	sealer, err := seal.New(make([]byte, seal.KeySize))
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	eng, err := engine.New(st, engine.Options{Log: log, Sealer: sealer})
	if err != nil {
		return nil, err
	}
	if err := setup(ctx, eng.Platform, lc, env, ns); err != nil {
		return nil, err
	}
	if before != nil {
		before(eng)
	}
	e := &Engine{Engine: eng, st: st, stop: eng.Run(ctx)}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		_, err := eng.Clusters.Ready("local")
		return err == nil, nil
	})
	if err != nil {
		e.stop()
		return nil, err
	}
	return e, nil
}

// setup creates what every benchmark starts from, as an administrator
// would through the API before the server's engine runs.
func setup(ctx context.Context, p *platform.Platform, lc *localcluster.Cluster, env, ns string) error {
	kubeconfig, err := os.ReadFile(lc.Kubeconfig())
	if err != nil {
		return err
	}
	return p.Do(ctx, Admin, audit.Event{Action: "bench.setup"}, func(tx platform.Tx) error {
		if _, err := p.Tenancy.CreateTenant(ctx, tx, Admin, tenancy.Tenant{Name: "bank"}); err != nil {
			return err
		}
		if _, err := p.Tenancy.CreateProject(ctx, tx, Admin, tenancy.Project{Tenant: "bank", Name: "channels"}); err != nil {
			return err
		}
		if _, err := p.Tenancy.RegisterCluster(ctx, tx, Admin, tenancy.Cluster{Name: "local"}, kubeconfig); err != nil {
			return err
		}
		if _, err := p.Tenancy.CreateEnvironment(ctx, tx, Admin, tenancy.Environment{Tenant: "bank", Project: "channels", Name: env,
			Cluster: "local", Namespace: ns}); err != nil {
			return err
		}
		_, err := p.Apps.CreateTier(ctx, tx, Admin, apps.Tier{Name: "small", Resources: apps.Resources{
			Requests: resource.List{resource.CPU: resource.MilliUnits(10), resource.Memory: resource.Units(16 << 20)}}})
		return err
	})
}

// Close stops the engine and closes the store.
func (e *Engine) Close() {
	e.stop()
	e.st.Close()
}
