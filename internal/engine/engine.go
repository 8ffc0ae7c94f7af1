// Package engine assembles Berth's engine: the platform over one database,
// the cluster registry, and every controller, wired to the changes that wake
// them. `berth server`, the benchmarks and the end-to-end tests build it with
// New and run it with Run, so what is measured is what runs.
package engine

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"berth.dev/berth/internal/alert/prom"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/configcenter"
	"berth.dev/berth/internal/controller"
	"berth.dev/berth/internal/gateway"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/live"
	"berth.dev/berth/internal/notify/webhook"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/sso"
	"berth.dev/berth/internal/tenancy"
)

// The engine's cadences: how often each controller looks at everything
// again regardless of events.
const (
	DeploymentResync   = 5 * time.Minute
	IsolationResync    = 5 * time.Minute
	GrayPlanResync     = time.Minute
	ClusterResync      = 10 * time.Second
	GatewayConfigEvery = 30 * time.Second
	// AlertingResync is how often the alert rules and routes are written
	// again (a no-op when unchanged; a failed reload is retried).
	AlertingResync  = 30 * time.Second
	AuditPruneEvery = time.Hour
	// StatusEvery bounds how often one deployment's live status change is
	// announced (change.Status) while its pods churn.
	StatusEvery = 250 * time.Millisecond
	// DirectoryRefreshEvery is how often the users a directory provisioned
	// are read again, so leaving a group takes effect without a login.
	DirectoryRefreshEvery = 15 * time.Minute

	deploymentWorkers = 16 // I/O bound: API calls and short transactions
	releaseWorkers    = 2
	grayPlanWorkers   = 2
)

// Options are what the engine needs from its process's configuration.
type Options struct {
	Log    *slog.Logger   // required
	Sealer tenancy.Sealer // required: seals cluster kubeconfigs
	Clock  clock.Clock    // default: the wall clock
	// Identity, AuditRetention and OrgHeaders are passed to platform.New.
	Identity       identity.Options
	AuditRetention time.Duration
	OrgHeaders     gray.Headers
	// Webhooks are where notifications are sent (none: the outbox is
	// drained without sending).
	Webhooks []webhook.Target
	// Live bounds the console's live event hub (zero: its defaults).
	Live live.Options
	// SSO and Directories are passed to platform.New: the configured
	// single sign-on providers and the LDAP directories among them.
	SSO         []sso.ProviderInfo
	Directories []sso.PasswordDirectory
	// TerminalRecordings is the directory of terminal session recordings
	// (created 0700); empty: no terminal sessions (docs/terminal.md).
	TerminalRecordings string
	// ClusterQPS is the request rate to each cluster's API server (zero:
	// kube.DefaultQPS).
	ClusterQPS int
	// Alerting says where Prometheus and Alertmanager are
	// (docs/observability.md); nil: no alerting beyond keeping rules.
	// Promtool checks rules when Alerting is set (default: on PATH).
	Alerting *prom.Options
	Promtool string
}

// Engine is the platform and the controllers that act on its changes. The
// controllers are exported so a caller can read them (the API reads live
// status from Clusters) and set their hooks before Run.
type Engine struct {
	Platform      *platform.Platform
	Clusters      *kube.Registry
	Deployments   *controller.Deployments
	Releases      *controller.Releases
	Isolation     *controller.Isolation
	GrayPlans     *controller.GrayPlans
	GatewayConfig *controller.GatewayConfig
	// Gateway publishes the gateway configuration to `berth gateway`.
	Gateway  *gateway.Publisher
	Notifier *webhook.Sender
	// Alerting writes rules and routes into Prometheus and Alertmanager
	// (nil without Options.Alerting).
	Alerting *prom.Publisher
	// Changes carries every committed change to the controllers above; a
	// live view may subscribe to it too (before Run; handlers must not
	// block).
	Changes *change.Bus
	// Live numbers every change for the console's live event stream
	// (GET /api/v1/events); the API serves its streams.
	Live *live.Hub
	// ConfigWatch wakes the config center's Nacos listeners (long-polls
	// and gRPC connections) when an item changes; the API serves them.
	ConfigWatch *configcenter.Watch

	log     *slog.Logger
	status  *live.Coalescer     // live status changes, at most one per deployment per StatusEvery
	metrics *controller.Metrics // the controllers' queues and reconciles
}

// New assembles the engine over db. Every change the platform commits
// wakes the controllers that act on it; nothing runs until Run.
func New(db platform.Transactor, o Options) (*Engine, error) {
	e := &Engine{log: o.Log}
	changes := change.NewBus()
	po := platform.Options{Clock: o.Clock, Sealer: o.Sealer, AuditRetention: o.AuditRetention,
		Identity: o.Identity, OrgHeaders: o.OrgHeaders, Changes: changes, SSO: o.SSO, Directories: o.Directories,
		// Environments' namespaces are checked on their clusters.
		Namespaces: kube.NamespaceInspector{}}
	if o.Alerting != nil {
		po.AlertChecker = prom.Promtool{Path: o.Promtool}
		po.AlertManager = &prom.Alertmanager{URL: o.Alerting.AlertmanagerURL}
	}
	p, err := platform.New(db, po)
	if err != nil {
		return nil, err
	}
	log := o.Log
	e.Platform = p
	// p.DB announces the audit records its transactions append; everything
	// below writes through it.
	db = p.DB
	e.status = live.NewCoalescer(change.Status, changes.Publish)
	e.Clusters = kube.NewRegistry(log, func(cluster string, k kube.AppKey) {
		e.Deployments.ClusterChanged(cluster, k)
		e.statusChanged(cluster, k)
	})
	e.Clusters.SetQPS(o.ClusterQPS)
	if o.TerminalRecordings != "" {
		if err := os.MkdirAll(o.TerminalRecordings, 0o700); err != nil {
			return nil, fmt.Errorf("terminal recordings: %w", err)
		}
		p.Terminal = platform.TerminalOptions{Cluster: kube.Terminal{Registry: e.Clusters}, RecordingDir: o.TerminalRecordings}
	}
	p.Logs = kube.PodLogs{Registry: e.Clusters}
	e.Deployments = controller.NewDeployments(db, p.Deploy, p.Config, e.Clusters, log, DeploymentResync)
	e.Releases = controller.NewReleases(db, p.Release, e.Clusters, log, 0)
	e.Isolation = controller.NewIsolation(db, p.Network, e.Clusters, log, IsolationResync)
	e.GrayPlans = controller.NewGrayPlans(db, p.Gray, p.Config, e.Clusters, p.Clock, log, GrayPlanResync)
	e.Gateway = gateway.NewPublisher()
	e.GatewayConfig = controller.NewGatewayConfig(db, p.Gray.Headers(), e.Gateway, log)
	e.GrayPlans.RouteThrough(e.GatewayConfig)
	e.metrics = controller.NewMetrics()
	e.Deployments.Measure(e.metrics)
	e.Releases.Measure(e.metrics)
	e.GrayPlans.Measure(e.metrics)
	// Every controller says which changes wake it, before anything can
	// change. The gateway configuration comes first: a gray plan's new
	// routes are published before its controller acts on it.
	e.GatewayConfig.Subscribe(changes)
	e.Deployments.Subscribe(changes)
	e.Releases.Subscribe(changes)
	e.Isolation.Subscribe(changes)
	e.GrayPlans.Subscribe(changes)
	// Nacos listeners hear of configuration changes.
	e.ConfigWatch = configcenter.NewWatch()
	e.ConfigWatch.Subscribe(changes)
	// The live hub hears everything, after the controllers.
	e.Live = live.NewHub(o.Live)
	e.Live.Subscribe(changes)
	e.Changes = changes
	e.Notifier = webhook.NewSender(db, o.Webhooks, log, 0)
	if o.Alerting != nil {
		e.Alerting = prom.NewPublisher(db, *o.Alerting, log)
		e.Alerting.Subscribe(changes)
	}
	return e, nil
}

// Run connects the registered clusters and runs every controller, the
// notification sender, the hourly audit pruning and the coalescing of live
// status changes until ctx ends or the returned function is called, which
// stops them, waits for them and closes the cluster connections. When ctx
// ends the live hub's streams end too, so they do not hold the server's
// drain.
func (e *Engine) Run(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	clusters := controller.NewClusters(e.Platform, e.Clusters, e.log)
	if err := clusters.Reconcile(ctx); err != nil {
		e.log.Error("connect clusters", "err", err)
	}
	var wg sync.WaitGroup
	for _, run := range []func(){
		func() { pruneAudit(ctx, e.Platform, e.log) },
		func() { refreshDirectoryUsers(ctx, e.Platform, e.log) },
		func() { clusters.Run(ctx, ClusterResync) },
		func() { e.Deployments.Run(ctx, deploymentWorkers) },
		func() { e.Releases.Run(ctx, releaseWorkers) },
		func() { e.Notifier.Run(ctx) },
		func() { e.Isolation.Run(ctx) },
		func() { e.GrayPlans.Run(ctx, grayPlanWorkers) },
		func() { e.GatewayConfig.Run(ctx, GatewayConfigEvery) },
		func() { e.status.Run(ctx, StatusEvery) },
		func() { <-ctx.Done(); e.Live.Close() }, // streams must not hold the server's drain
		func() {
			if e.Alerting != nil {
				e.Alerting.Run(ctx, AlertingResync)
			}
		},
	} {
		wg.Add(1)
		go func() { defer wg.Done(); run() }()
	}
	return func() {
		cancel()
		wg.Wait()
		e.Clusters.Close()
	}
}

// statusChanged notes that the live state of app in cluster changed (every
// application there when app is empty), for the deployments placed there.
func (e *Engine) statusChanged(cluster string, app kube.AppKey) {
	for _, k := range e.Deployments.Placed(cluster, app) {
		e.status.Add(k.Change(change.Status).Key)
	}
}

// pruneAudit drops audit records past their retention at start and then
// every AuditPruneEvery, until ctx is done.
func pruneAudit(ctx context.Context, p *platform.Platform, log *slog.Logger) {
	t := time.NewTicker(AuditPruneEvery)
	defer t.Stop()
	for {
		var n int64
		err := p.DB.InTx(ctx, func(tx platform.Tx) error {
			var err error
			n, err = p.Audit.Prune(ctx, tx, audit.System)
			return err
		})
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("prune audit records", "err", err)
		case n > 0:
			log.Info("audit records pruned", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// refreshDirectoryUsers reads the users directories provisioned again,
// every DirectoryRefreshEvery, while there are directories.
func refreshDirectoryUsers(ctx context.Context, p *platform.Platform, log *slog.Logger) {
	if len(p.Directories) == 0 {
		return
	}
	t := time.NewTicker(DirectoryRefreshEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := p.RefreshDirectoryUsers(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("refresh directory users", "err", err)
		case n > 0:
			log.Info("directory users refreshed", "count", n)
		}
	}
}

// Collectors are the engine's metrics for /metrics: the gateway
// configuration's, the controllers' queue depths and reconcile durations,
// and the pods of every registered cluster, per application and version
// (kube.PodCollector).
func (e *Engine) Collectors() []prometheus.Collector {
	return []prometheus.Collector{e.GatewayConfig.Collector(), e.metrics, kube.PodCollector{Registry: e.Clusters}}
}
