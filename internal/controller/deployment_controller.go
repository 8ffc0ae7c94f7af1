package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/workqueue"

	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/configcenter"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// Deployments reconciles deployments: for each, it renders the version,
// applies it to the environment's cluster, prunes what is no longer
// rendered, and records the result. It wakes on changes to the desired
// state (Enqueue), on foreign edits of the objects it applied (drift), and
// on a periodic resync that re-applies everything.
type Deployments struct {
	db       platform.Transactor
	svc      *deploy.Service
	clusters *kube.Registry
	log      *slog.Logger
	resync   time.Duration
	queue    workqueue.TypedRateLimitingInterface[deploy.Key]
	// again asks Run for a resync before the next tick (Resync).
	again chan struct{}

	mu    sync.Mutex
	where map[placement]*placed // what runs where, for drift events
	// ensured maps cluster/namespace to the quota its namespace objects were
	// last applied with; cleared at each resync and when a cluster returns,
	// so namespaces are not re-applied on every reconcile.
	ensured map[string]string

	// changes hears (change.Applied) of every deployment whose apply (or
	// removal) was recorded; release orders wait on it. Set by Subscribe.
	changes *change.Bus
	files   *configFiles
	metrics *Metrics // Measure
}

type placement struct {
	cluster string
	app     kube.AppKey
}

type placed struct {
	key   deploy.Key
	drift []string // what others changed, awaiting repair (kube.Applier.Drift)
	// refs are the objects of the last successful apply, whose watched
	// changes are checked for drift.
	refs []kube.ObjectRef
	// sent maps each object of the last successful apply to its
	// kube.Fingerprint; nil when everything must be sent again.
	sent map[string]string
}

// NewDeployments returns a controller; resync is how often every deployment
// is re-applied regardless of events (0: every 5 minutes).
func NewDeployments(db platform.Transactor, svc *deploy.Service, cfg *configcenter.Service, clusters *kube.Registry, log *slog.Logger, resync time.Duration) *Deployments {
	if resync == 0 {
		resync = 5 * time.Minute
	}
	return &Deployments{
		db: db, svc: svc, clusters: clusters, log: log, resync: resync,
		queue:   newQueue[deploy.Key]("deployments", 500*time.Millisecond, 30*time.Second),
		again:   make(chan struct{}, 1),
		where:   map[placement]*placed{},
		ensured: map[string]string{},
		files:   newConfigFiles(cfg, db),
	}
}

// Enqueue asks for k to be reconciled.
func (c *Deployments) Enqueue(k deploy.Key) { c.queue.Add(k) }

// Subscribe has the controller reconcile every deployment whose desired
// state, node ports or mounted config items change on b, and publish change.Applied on b once it
// has recorded an apply or a removal. Call it before Run.
func (c *Deployments) Subscribe(b *change.Bus) {
	c.changes = b
	b.Subscribe(func(ch change.Changed) { c.Enqueue(deploy.KeyOf(ch)) }, change.Deployment, change.Network)
	c.files.subscribe(b, c.Enqueue)
}

// ClusterChanged is the kube.Registry callback: an application's objects
// changed in cluster. A Deployment or Service of which someone else took a
// field Berth applied (kube.Applier.Drift), or deleted, is drift and is
// reconciled at once; an empty key (the cluster came back) reconciles
// everything placed there.
func (c *Deployments) ClusterChanged(cluster string, app kube.AppKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if app == (kube.AppKey{}) {
		for key := range c.ensured {
			if strings.HasPrefix(key, cluster+"/") {
				delete(c.ensured, key)
			}
		}
		for p, pl := range c.where {
			if p.cluster == cluster {
				pl.sent = nil
				c.queue.Add(pl.key)
			}
		}
		return
	}
	pl := c.where[placement{cluster, app}]
	if pl == nil {
		return
	}
	conn, err := c.clusters.Get(cluster)
	if err != nil {
		return
	}
	var drift []string
	for _, ref := range pl.refs {
		obj, watched := conn.Watcher.Object(ref)
		switch {
		case !watched:
		case obj == nil:
			drift = append(drift, deletedBy(ref))
		default:
			drift = append(drift, conn.Applier.Drift(ref, obj)...)
		}
	}
	if len(drift) > 0 {
		pl.drift = drift
		c.queue.Add(pl.key)
	}
}

// Placed returns the deployments this controller placed in cluster: the
// one whose workload is app, or every one there when app is empty (the
// cluster's reachability changed). It is how a live view maps what the
// cluster watches report back to deployments.
func (c *Deployments) Placed(cluster string, app kube.AppKey) []deploy.Key {
	c.mu.Lock()
	defer c.mu.Unlock()
	if app != (kube.AppKey{}) {
		if pl := c.where[placement{cluster, app}]; pl != nil {
			return []deploy.Key{pl.key}
		}
		return nil
	}
	var keys []deploy.Key
	for p, pl := range c.where {
		if p.cluster == cluster {
			keys = append(keys, pl.key)
		}
	}
	return keys
}

// deletedBy is the drift of an applied object someone deleted.
func deletedBy(ref kube.ObjectRef) string { return "(deleted): " + ref.Kind + " " + ref.Name }

// confirmDrift reads the live objects of inv from the API server and
// returns what others changed of them (as ClusterChanged would, but from
// fresh objects rather than the watch cache, which may lag behind Berth's
// own last apply).
func confirmDrift(ctx context.Context, conn *kube.Conn, inv kube.Inventory) ([]string, error) {
	var drift []string
	for _, ref := range inv {
		obj, err := conn.Applier.Get(ctx, ref)
		switch {
		case apierrors.IsNotFound(err):
			drift = append(drift, deletedBy(ref))
		case err != nil:
			return nil, fmt.Errorf("check drift of %s: %w", ref, err)
		default:
			drift = append(drift, conn.Applier.Drift(ref, obj)...)
		}
	}
	return drift, nil
}

// Run reconciles with workers goroutines until ctx ends.
func (c *Deployments) Run(ctx context.Context, workers int) {
	stop := startWorkers(ctx, c.queue, workers, measure(c.metrics, "deployments", c.queue, c.Reconcile), func(k deploy.Key, err error) {
		c.log.Warn("reconcile deployment", "deployment", k.Path(), "step", stepOf(err), "err", err)
	})
	defer stop()
	c.enqueueAll(ctx)
	tick := time.NewTicker(c.resync)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-c.again:
		}
		c.enqueueAll(ctx)
	}
}

// Resync asks for every deployment to be reconciled soon, as at a
// periodic resync: changes may have been missed (another replica's, while
// the connection to it was broken). It never blocks.
func (c *Deployments) Resync() {
	select {
	case c.again <- struct{}{}:
	default:
	}
}

func (c *Deployments) enqueueAll(ctx context.Context) {
	c.mu.Lock()
	clear(c.ensured)
	for _, pl := range c.where {
		pl.sent = nil // the resync sends everything, repairing what no event told of
	}
	c.mu.Unlock()
	err := view(ctx, c.db, func(st deploymentReads) error {
		ds, err := st.PendingDeployments(ctx)
		if err != nil {
			return err
		}
		all, err := st.ListDeployments(ctx, deploy.Filter{}, "", 0)
		if err != nil {
			return err
		}
		for _, d := range append(ds, all...) {
			c.queue.Add(d.Key())
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		c.log.Error("list deployments", "err", err)
	}
}

// Reconcile makes the cluster match deployment k once. It returns a delay
// after which to look again (waiting on something outside, such as an
// unreachable cluster), or an error to retry with backoff.
func (c *Deployments) Reconcile(ctx context.Context, k deploy.Key) (time.Duration, error) {
	p := &deploymentPass{c: c, k: k}
	return runSteps(ctx, &p.at,
		step{"load", "", p.load},                              // the deployment, its environment, version, quota and node ports
		step{"connect", reasonClusterUnreachable, p.connect},  // the environment's cluster, ready
		step{"remove", "", p.remove},                          // a deleted deployment: its objects, then its row
		step{"stalled", "", p.stalled},                        // a generation whose hook failed waits for a person
		step{"namespace", reasonNamespaceFailed, p.namespace}, // the environment's namespace, quota and limits
		step{"render", reasonRenderFailed, p.render},          // the version's objects
		step{"crds", reasonCRDsFailed, p.crds},                // a chart's CustomResourceDefinitions, established
		step{"pre-hooks", reasonHookFailed, p.preHooks},       // a chart's pre-install/upgrade/rollback hooks
		step{"apply", reasonApplyFailed, p.apply},             // server-side apply and prune; drift repaired and audited
		step{"post-hooks", reasonHookFailed, p.postHooks},     // a chart's post-install/upgrade/rollback hooks
		step{"record", "", p.recordApplied},                   // the inventory, in the database
	)
}

func (c *Deployments) record(ctx context.Context, k deploy.Key, a deploy.Attempt) error {
	err := c.db.InTx(ctx, func(st platform.Tx) error { return c.svc.RecordAttempt(ctx, st, k, a) })
	if err == nil {
		c.changes.Publish(k.Change(change.Applied))
	}
	return err
}

func (c *Deployments) place(cluster string, app kube.AppKey, k deploy.Key) *placed {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := placement{cluster, app}
	pl := c.where[p]
	if pl == nil || pl.key != k {
		pl = &placed{key: k}
		c.where[p] = pl
	}
	return pl
}

func (c *Deployments) takeDrift(pl *placed) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := pl.drift
	pl.drift = nil
	return d
}

// applied notes a successful apply of objs: which they were, and what each
// was, so the next reconcile sends only what changed.
func (c *Deployments) applied(pl *placed, objs []*unstructured.Unstructured) {
	sent := make(map[string]string, len(objs))
	refs := make([]kube.ObjectRef, 0, len(objs))
	for _, o := range objs {
		ref := kube.RefOf(o)
		sent[ref.String()] = kube.Fingerprint(o)
		refs = append(refs, ref)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	pl.refs = refs
	pl.sent = sent
}

// sentBefore is what the last apply sent for pl, or nothing when someone
// else edited the objects since (drift) or the controller forgot it (at
// resync, when the cluster comes back, after a failed apply): then
// everything is sent again.
func (c *Deployments) sentBefore(pl *placed, drift []string) map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(drift) > 0 || pl.sent == nil {
		return map[string]string{}
	}
	return pl.sent
}

func (c *Deployments) forget(k deploy.Key) {
	c.files.track(k, nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, x := range c.where {
		if x.key == k {
			delete(c.where, p)
		}
	}
}

// ensureNamespace applies the environment's namespace with its quota
// mirror, unless it was applied with the same quota since the last resync.
// Namespaces are shared by a project's applications and never pruned by them.
func (c *Deployments) ensureNamespace(ctx context.Context, conn *kube.Conn, env tenancy.Environment, quota resource.List) error {
	sig, err := json.Marshal(quota)
	if err != nil {
		return err
	}
	key := env.Cluster + "/" + env.Namespace
	c.mu.Lock()
	done := c.ensured[key] == string(sig)
	c.mu.Unlock()
	if done {
		return nil
	}
	objs, err := kube.RenderNamespace(kube.Namespace{Name: env.Namespace, Tenant: env.Tenant, Project: env.Project,
		Environment: env.Name, Quota: quota})
	if err != nil {
		return err
	}
	if err := conn.Applier.ApplyNamespace(ctx, objs); err != nil {
		return fmt.Errorf("namespace %s: %w", env.Namespace, err)
	}
	c.mu.Lock()
	c.ensured[key] = string(sig)
	c.mu.Unlock()
	return nil
}

// unchangedSince is ApplyWorkload's skip for what the controller
// remembers it last sent (ref → kube.Fingerprint): an object is skipped only if
// the recorded inventory prev still lists it and it is exactly what was sent.
// An object missing from prev — removed since, by whatever path (a deployment
// deleted and created again) — is always sent.
func unchangedSince(sent map[string]string, prev kube.Inventory) func(*unstructured.Unstructured) bool {
	return func(o *unstructured.Unstructured) bool {
		ref := kube.RefOf(o)
		return slices.Contains(prev, ref) && sent[ref.String()] == kube.Fingerprint(o)
	}
}

// Measure has the controller's queue and reconciles measured by m; call it
// before Run.
func (c *Deployments) Measure(m *Metrics) { c.metrics = m }
