// Package engine runs the Berth engine inside a benchmark process, wired as
// `berth server` wires it: a SQLite store, the platform, the cluster
// registry and the deployment, release and gray plan controllers, with tenant bank,
// project channels and one environment on a local cluster.
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
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/controller"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/tenancy"
)

// Admin is the actor of every change a benchmark makes.
var Admin = audit.Actor{User: "bench", Roles: []string{"platform-admin"}}

// Engine is Berth in this process.
type Engine struct {
	P        *platform.Platform
	Reg      *kube.Registry
	Deploys  *controller.Deployments
	Releases *controller.Releases
	Gray     *controller.GrayPlans
	st       *store.Store
	cancel   context.CancelFunc
}

// Start opens a store under dir, registers lc as cluster "local" with
// environment env bound to namespace ns, creates tier "small", and runs the
// controllers. onChange, if not nil, also hears every cluster change.
func Start(ctx context.Context, dir string, lc *localcluster.Cluster, env, ns string, onChange func(cluster string, k kube.AppKey)) (*Engine, error) {
	st, err := store.Open(ctx, filepath.Join(dir, "data"), "")
	if err != nil {
		return nil, err
	}
	sealer, err := seal.New(make([]byte, seal.KeySize))
	if err != nil {
		return nil, err
	}
	e := &Engine{st: st}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e.P, err = platform.New(st, platform.Options{Clock: clock.Real{}, Sealer: sealer,
		OnDeploymentChange: func(k deploy.Key) { e.Deploys.Enqueue(k); e.Gray.Enqueue(k) },
		OnGrayPlanChange:   func(k deploy.Key) { e.Gray.Enqueue(k) },
		OnReleaseChange:    func(k release.Key) { e.Releases.Enqueue(k) }})
	if err != nil {
		return nil, err
	}
	e.Reg = kube.NewRegistry(log, func(cluster string, k kube.AppKey) {
		e.Deploys.ClusterChanged(cluster, k)
		if onChange != nil {
			onChange(cluster, k)
		}
	})
	e.Deploys = controller.NewDeployments(st, e.P.Deploy, e.Reg, log, time.Hour)
	e.Releases = controller.NewReleases(st, e.P.Release, e.Reg, log, 0)
	e.Gray = controller.NewGrayPlans(st, e.P.Gray, e.Reg, e.P.Clock, log, time.Minute)
	e.Deploys.OnApplied = e.Releases.DeploymentApplied
	runCtx, cancel := context.WithCancel(ctx)
	e.cancel = cancel
	go e.Deploys.Run(runCtx, 16) // as berth server runs it
	go e.Releases.Run(runCtx, 2)
	go e.Gray.Run(runCtx, 2)
	kubeconfig, err := os.ReadFile(lc.Kubeconfig())
	if err != nil {
		return nil, err
	}
	err = e.P.Do(ctx, Admin, audit.Event{Action: "bench.setup"}, func(tx platform.Tx) error {
		if _, err := e.P.Tenancy.CreateTenant(ctx, tx, Admin, tenancy.Tenant{Name: "bank"}); err != nil {
			return err
		}
		if _, err := e.P.Tenancy.CreateProject(ctx, tx, Admin, tenancy.Project{Tenant: "bank", Name: "channels"}); err != nil {
			return err
		}
		if _, err := e.P.Tenancy.RegisterCluster(ctx, tx, Admin, tenancy.Cluster{Name: "local"}, kubeconfig); err != nil {
			return err
		}
		if _, err := e.P.Tenancy.CreateEnvironment(ctx, tx, Admin, tenancy.Environment{Tenant: "bank", Project: "channels", Name: env,
			Cluster: "local", Namespace: ns}); err != nil {
			return err
		}
		_, err := e.P.Apps.CreateTier(ctx, tx, Admin, apps.Tier{Name: "small", Resources: apps.Resources{
			Requests: resource.List{resource.CPU: resource.MilliUnits(10), resource.Memory: resource.Units(16 << 20)}}})
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := controller.NewClusters(e.P, e.Reg, log).Reconcile(ctx); err != nil {
		return nil, err
	}
	return e, wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		_, err := e.Reg.Ready("local")
		return err == nil, nil
	})
}

// Close stops the controllers and closes the store.
func (e *Engine) Close() {
	e.cancel()
	e.Reg.Close()
	e.st.Close()
}
