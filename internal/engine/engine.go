// Package engine assembles Berth's engine: the platform over one database,
// the cluster registry, and every controller, wired to the changes that wake
// them. `berth server`, the benchmarks and the end-to-end tests build it with
// New and run it with Run, so what is measured is what runs.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"berth.dev/berth/catalog"
	"berth.dev/berth/internal/alert/prom"
	analysisprom "berth.dev/berth/internal/analysis/prom"
	"berth.dev/berth/internal/appstore"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/configcenter"
	"berth.dev/berth/internal/controller"
	"berth.dev/berth/internal/gateway"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/leader"
	"berth.dev/berth/internal/live"
	"berth.dev/berth/internal/notify/email"
	"berth.dev/berth/internal/notify/webhook"
	"berth.dev/berth/internal/pipeline"
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
	// Elector decides whether this replica runs the controllers (nil:
	// leader.Always, a replica alone on its database).
	Elector leader.Elector
	// Peers carries committed changes to and from the other replicas on
	// the database (nil: none).
	Peers Peers
	// GatewayLedger is where the replicas on the database record what
	// their gateways have put in force, so that the leader waits for
	// every replica's gateways (nil: this replica's only;
	// gateway.Publisher.Share).
	GatewayLedger gateway.Ledger
	// PipelineDir holds the pipelines' step logs, work and build caches
	// (created 0700); empty: no runner (runs stay queued).
	// PipelineExecutor builds their images (internal/pipeline/local).
	PipelineDir      string
	PipelineExecutor pipeline.Executor
	// Alerting says where Prometheus and Alertmanager are
	// (docs/observability.md); nil: no alerting beyond keeping rules.
	// Promtool checks rules when Alerting is set (default: on PATH).
	Alerting *prom.Options
	Promtool string
	// Catalogs are the app store's catalogues besides the built-in
	// starter one; ChartAllow, when not nil, narrows each catalogue (by
	// name) to the charts it lists ("chart" or "chart@version"; a
	// catalogue it does not name offers nothing).
	Catalogs   []appstore.Catalog
	ChartAllow map[string][]string
}

// catalogs are the app store's catalogues: the built-in starter one and
// o.Catalogs, each narrowed by o.ChartAllow.
func catalogs(o Options) []appstore.Catalog {
	all := append([]appstore.Catalog{appstore.DirCatalog{Catalog: catalog.Name, FS: catalog.Charts}}, o.Catalogs...)
	if o.ChartAllow == nil {
		return all
	}
	out := make([]appstore.Catalog, 0, len(all))
	for _, c := range all {
		if allow := o.ChartAllow[c.Name()]; len(allow) > 0 {
			out = append(out, appstore.Curated{Catalog: c, Allow: allow})
		}
	}
	return out
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
	// Pipelines runs pipeline runs (nil without Options.PipelineDir).
	Pipelines *controller.PipelineRunner

	// Leadership is whether this replica leads, for /readyz and /metrics.
	Leadership *leader.State

	log     *slog.Logger
	status  *live.Coalescer     // live status changes, at most one per deployment per StatusEvery
	metrics *controller.Metrics // the controllers' queues and reconciles
	elector leader.Elector
	fence   *fenced       // the singletons' transactions, checked against the term
	relay   *change.Relay // nil without Peers
	peers   Peers
	lost    chan struct{} // closed when this replica's term is lost
}

// New assembles the engine over db. Every change the platform commits
// wakes the controllers that act on it; nothing runs until Run.
func New(db platform.Transactor, o Options) (*Engine, error) {
	e := &Engine{log: o.Log, elector: o.Elector, peers: o.Peers, Leadership: &leader.State{}, lost: make(chan struct{})}
	if e.elector == nil {
		e.elector = leader.Always{}
	}
	changes := change.NewBus()
	po := platform.Options{Clock: o.Clock, Sealer: o.Sealer, AuditRetention: o.AuditRetention,
		Identity: o.Identity, OrgHeaders: o.OrgHeaders, Changes: changes, SSO: o.SSO, Directories: o.Directories,
		// Environments' namespaces are checked on their clusters.
		Namespaces: kube.NamespaceInspector{},
		// The app store renders charts for their clusters; the starter
		// catalogue is built in.
		Store: platform.StoreOptions{Renderer: kube.ChartRenderer{}, Catalogs: catalogs(o)}}
	if o.Alerting != nil {
		po.AlertChecker = prom.Promtool{Path: o.Promtool}
		po.AlertManager = &prom.Alertmanager{URL: o.Alerting.AlertmanagerURL}
		q, err := prom.NewQuerier(o.Alerting.PrometheusURL)
		if err != nil {
			return nil, err
		}
		po.SLOQuerier, po.Metrics = q, q
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
	// The singletons write through the fence; every replica reads and
	// serves through db.
	e.fence = &fenced{Transactor: db}
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
	e.Deployments = controller.NewDeployments(e.fence, p.Deploy, p.Config, e.Clusters, log, DeploymentResync)
	e.Releases = controller.NewReleases(e.fence, p.Release, e.Clusters, log, 0)
	e.Isolation = controller.NewIsolation(e.fence, p.Network, e.Clusters, log, IsolationResync)
	e.GrayPlans = controller.NewGrayPlans(e.fence, p.Gray, p.Config, e.Clusters, p.Clock, log, GrayPlanResync)
	e.Gateway = gateway.NewPublisher()
	if o.GatewayLedger != nil {
		e.Gateway.Share(o.GatewayLedger)
	}
	e.GatewayConfig = controller.NewGatewayConfig(db, p.Gray.Headers(), e.Gateway, log)
	e.GrayPlans.RouteThrough(e.GatewayConfig)
	if o.Alerting != nil {
		// Release orders' and gray plans' metric checks ask the Prometheus
		// the alert rules are published to (ADR 0020).
		an, err := analysisprom.New(o.Alerting.PrometheusURL)
		if err != nil {
			return nil, err
		}
		p.Release.SetAnalysis(an, po.AlertChecker)
		p.Gray.SetAnalysis(an, po.AlertChecker)
		e.GrayPlans.AnalyseWith(p.GrayGroups)
	}
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
	if o.PipelineDir != "" && o.PipelineExecutor != nil {
		logs, err := pipeline.NewLogs(filepath.Join(o.PipelineDir, "logs"))
		if err != nil {
			return nil, err
		}
		p.PipelineLogs = logs
		e.Pipelines = controller.NewPipelineRunner(e.fence, p, o.PipelineExecutor, logs, o.PipelineDir, log)
		e.Pipelines.Subscribe(changes)
	}
	// The live hub hears everything, after the controllers.
	e.Live = live.NewHub(o.Live)
	e.Live.Subscribe(changes)
	e.Changes = changes
	e.Notifier = webhook.NewSender(e.fence, o.Webhooks, log, 0)
	e.Notifier.SetMailer(email.NewMailer(o.Sealer, nil))
	if o.Alerting != nil {
		e.Alerting = prom.NewPublisher(db, *o.Alerting, log)
		e.Alerting.Subscribe(changes)
	}
	if o.Peers != nil {
		e.relay = change.NewRelay(changes, o.Peers.Notify, e.resync, log)
	}
	return e, nil
}

// Run connects the registered clusters and runs, on every replica, the
// cluster connections, the gateway configuration and its gateways'
// acknowledgements, the coalescing of live
// status changes and the relay of changes between replicas; and, while
// this replica leads (Options.Elector), the singletons: every controller
// that acts on clusters, the notification sender, the hourly audit pruning,
// the refresh of directory users and the pipeline runner. It runs until ctx ends or the
// returned function is called, which stops everything, waits for it and
// closes the cluster connections. When ctx ends the live hub's streams end
// too, so they do not hold the server's drain. When the term is lost the
// singletons stop and Lost is closed: the replica should exit.
func (e *Engine) Run(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	clusters := controller.NewClusters(e.Platform, e.Clusters, e.log)
	if err := clusters.Reconcile(ctx); err != nil {
		e.log.Error("connect clusters", "err", err)
	}
	var wg sync.WaitGroup
	for _, run := range []func(){
		func() { clusters.Run(ctx, ClusterResync) },
		func() { e.GatewayConfig.Run(ctx, GatewayConfigEvery) },
		func() { e.Gateway.RunLedger(ctx, e.log) },
		func() { e.status.Run(ctx, StatusEvery) },
		func() { e.sendChanges(ctx) },
		func() { e.hearChanges(ctx) },
		func() { e.campaign(ctx) },
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

// Lost is closed when this replica's term of leadership was lost (not
// ended by Run's context): its singletons have stopped, and it should
// exit to be started again as a follower.
func (e *Engine) Lost() <-chan struct{} { return e.lost }

// campaign runs for leadership and, while leading, the singletons.
func (e *Engine) campaign(ctx context.Context) {
	err := e.elector.Run(ctx, e.lead)
	switch {
	case errors.Is(err, leader.ErrLost):
		close(e.lost)
	case err != nil && ctx.Err() == nil:
		e.log.Error("leader election", "err", err)
		close(e.lost)
	}
}

// lead runs the singletons in term t until ctx ends (the term ends).
func (e *Engine) lead(ctx context.Context, t leader.Term) {
	e.fence.term.Store(&t)
	defer e.fence.term.Store(nil)
	e.Leadership.Set(true, t)
	defer e.Leadership.Set(false, t)
	var wg sync.WaitGroup
	for _, run := range []func(){
		func() { pruneAudit(ctx, e.fence, e.Platform, e.log) },
		func() { refreshDirectoryUsers(ctx, e.Platform, e.log) },
		func() { e.Deployments.Run(ctx, deploymentWorkers) },
		func() { e.Releases.Run(ctx, releaseWorkers) },
		func() { e.Notifier.Run(ctx) },
		func() { e.Isolation.Run(ctx) },
		func() { e.GrayPlans.Run(ctx, grayPlanWorkers) },
		func() {
			if e.Pipelines != nil { // on the leader only: it ends the runs a stopped leader left running
				e.Pipelines.Run(ctx)
			}
		},
	} {
		wg.Add(1)
		go func() { defer wg.Done(); run() }()
	}
	wg.Wait()
}

// sendChanges sends this replica's changes to the others until ctx ends;
// without peers it does nothing.
func (e *Engine) sendChanges(ctx context.Context) {
	if e.relay != nil {
		e.relay.Run(ctx)
	}
}

// hearChanges delivers the other replicas' changes until ctx ends;
// without peers it does nothing.
func (e *Engine) hearChanges(ctx context.Context) {
	if e.relay == nil {
		return
	}
	e.peers.Listen(ctx, e.relay.Receive, e.relay.Resync, func(err error) {
		e.log.Warn("listen to the other replicas", "err", err)
	})
}

// resync wakes everything that serves or acts on changes this replica
// may have missed from the others: the gateway configuration, the Nacos
// listeners, the live streams and, on the leader, the deployments and
// network isolation. Release orders resync on their own every few
// seconds, gray plans every GrayPlanResync.
func (e *Engine) resync() {
	e.GatewayConfig.ChangedAll()
	e.ConfigWatch.ChangedAll()
	e.Live.Reset()
	if e.Leadership.Leading() {
		e.Deployments.Resync()
		e.Isolation.Trigger()
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
func pruneAudit(ctx context.Context, db platform.Transactor, p *platform.Platform, log *slog.Logger) {
	t := time.NewTicker(AuditPruneEvery)
	defer t.Stop()
	for {
		var n int64
		err := db.InTx(ctx, func(tx platform.Tx) error {
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
	return append([]prometheus.Collector{e.GatewayConfig.Collector(), e.metrics, kube.PodCollector{Registry: e.Clusters}},
		leadershipMetrics(e.Leadership)...)
}
