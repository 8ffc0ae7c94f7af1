package controller

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"

	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/tenancy"
)

// Releases runs release orders: each active order is advanced by
// release.Service.Advance whenever something it waits on changes (a pod or
// Deployment of one of its applications in the cluster, an apply recorded by
// the deployment controller, the order itself) and at least every couple of
// seconds. Detection is event driven: a pod entering CrashLoopBackOff wakes
// the order within the watch's latency, and the rollback is issued in the
// same transaction that records the fault.
type Releases struct {
	db       platform.Transactor
	svc      *release.Service
	clusters *kube.Registry
	log      *slog.Logger
	resync   time.Duration
	queue    workqueue.TypedRateLimitingInterface[release.Key]

	mu sync.Mutex
	// holders maps an application in a cluster namespace, and a deployment,
	// to the active orders that contain it.
	byApp    map[appAt]map[release.Key]bool
	byDeploy map[deploy.Key]map[release.Key]bool
	items    map[release.Key][]refs

	// OnAdvanced, if set before Run, hears of every order once the
	// transaction that advanced it has committed, with the order as
	// committed: the moment a decision such as a rollback takes effect. It
	// must not block.
	OnAdvanced func(release.Order)
	metrics    *Metrics // Measure
}

type appAt struct {
	cluster string
	app     kube.AppKey
}

type refs struct {
	at  appAt
	key deploy.Key
}

// NewReleases returns a controller; resync is how often every active order
// is looked at regardless of events (0: every 30 seconds).
func NewReleases(db platform.Transactor, svc *release.Service, clusters *kube.Registry, log *slog.Logger, resync time.Duration) *Releases {
	if resync == 0 {
		resync = 30 * time.Second
	}
	return &Releases{
		db: db, svc: svc, clusters: clusters, log: log, resync: resync,
		queue: newQueue[release.Key]("releases", 200*time.Millisecond, 10*time.Second),
		byApp: map[appAt]map[release.Key]bool{}, byDeploy: map[deploy.Key]map[release.Key]bool{},
		items: map[release.Key][]refs{},
	}
}

// Enqueue asks for order k to be advanced.
func (c *Releases) Enqueue(k release.Key) { c.queue.Add(k) }

// Subscribe has the controller advance every order that changes on b, and
// every order waiting on a deployment whose apply b reports. Call it
// before Run.
func (c *Releases) Subscribe(b *change.Bus) {
	b.Subscribe(func(ch change.Changed) { c.Enqueue(release.KeyOf(ch)) }, change.Release)
	b.Subscribe(func(ch change.Changed) { c.deploymentApplied(deploy.KeyOf(ch)) }, change.Applied)
}

// deploymentApplied wakes the orders that wait on k.
func (c *Releases) deploymentApplied(k deploy.Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for o := range c.byDeploy[k] {
		c.queue.Add(o)
	}
}

func (c *Releases) clusterChanged(ch kube.Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch.App == (kube.AppKey{}) { // the cluster came back or went away
		for o := range c.items {
			c.queue.Add(o)
		}
		return
	}
	for o := range c.byApp[appAt{ch.Cluster, ch.App}] {
		c.queue.Add(o)
	}
}

// Run advances orders with workers goroutines until ctx ends.
func (c *Releases) Run(ctx context.Context, workers int) {
	changes := c.clusters.Subscribe(ctx)
	stop := startWorkers(ctx, c.queue, workers, measure(c.metrics, "releases", c.queue, c.Advance), func(k release.Key, err error) {
		c.log.Warn("advance release order", "order", k.ID, "err", err)
	})
	defer stop()
	c.enqueueActive(ctx)
	tick := time.NewTicker(c.resync)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ch, ok := <-changes:
			if ok {
				c.clusterChanged(ch)
			}
		case <-tick.C:
			c.enqueueActive(ctx)
		}
	}
}

// enqueueActive queues every order with work left: on start, this is how
// orders resume after a crash.
func (c *Releases) enqueueActive(ctx context.Context) {
	err := view(ctx, c.db, func(st releaseReads) error {
		os, err := st.ActiveOrders(ctx)
		for _, o := range os {
			c.queue.Add(o.Key())
		}
		return err
	})
	if err != nil && ctx.Err() == nil {
		c.log.Error("list active release orders", "err", err)
	}
}

// Advance advances order k once and keeps the event index current.
func (c *Releases) Advance(ctx context.Context, k release.Key) (time.Duration, error) {
	var (
		o    release.Order
		wait time.Duration
		env  tenancy.Environment
	)
	err := c.db.InTx(ctx, func(st platform.Tx) error {
		var err error
		if o, wait, err = c.svc.Advance(ctx, st, k, c); err != nil {
			return err
		}
		env, err = st.GetEnvironment(ctx, o.Tenant, o.Project, o.Environment)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("advance release order %s: %w", k.ID, err)
	}
	if c.OnAdvanced != nil {
		c.OnAdvanced(o)
	}
	c.index(o, env)
	return wait, nil
}

// index records which applications an active order waits on, and forgets
// the order once it is final.
func (c *Releases) index(o release.Order, env tenancy.Environment) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := o.Key()
	for _, r := range c.items[k] {
		delete(c.byApp[r.at], k)
		delete(c.byDeploy[r.key], k)
	}
	delete(c.items, k)
	if !o.State.Active() {
		return
	}
	for _, it := range o.Items {
		r := refs{at: appAt{env.Cluster, kube.AppKey{Namespace: env.Namespace, App: it.Application}},
			key: deploy.Key{Tenant: o.Tenant, Project: o.Project, Application: it.Application, Environment: o.Environment}}
		if c.byApp[r.at] == nil {
			c.byApp[r.at] = map[release.Key]bool{}
		}
		if c.byDeploy[r.key] == nil {
			c.byDeploy[r.key] = map[release.Key]bool{}
		}
		c.byApp[r.at][k], c.byDeploy[r.key][k] = true, true
		c.items[k] = append(c.items[k], r)
	}
}

// Observe implements release.Observer from the clusters' watch caches.
func (c *Releases) Observe(env tenancy.Environment, app string) release.Observation {
	conn, err := c.clusters.Get(env.Cluster)
	if err != nil {
		// Not registered with this process yet: the cluster controller
		// connects registered clusters shortly after start.
		return release.Observation{Connecting: true, Summary: err.Error()}
	}
	if conn.Connecting() {
		return release.Observation{Connecting: true, Summary: "connecting to cluster " + env.Cluster}
	}
	st := conn.Status(kube.AppKey{Namespace: env.Namespace, App: app})
	return observation(st)
}

// observation reads a live status the way a release order judges it.
func observation(st kube.Status) release.Observation {
	if st.Phase == kube.PhaseUnknown && st.Reason == "ClusterUnreachable" {
		return release.Observation{Summary: st.Message}
	}
	ob := release.Observation{Reachable: true, Version: st.Version,
		Summary: fmt.Sprintf("%s, %d of %d replicas ready", st.Phase, st.Ready, st.Desired)}
	if st.Reason != "" {
		ob.Summary += ": " + st.Reason
	}
	switch st.Phase {
	case kube.PhaseRunning, kube.PhaseStopped:
		ob.Ready = true
	case kube.PhaseFailed:
		ob.Fault = fault(st)
	case kube.PhaseDegraded:
		if st.Reason != "ReplicasNotReady" && st.Reason != "Unschedulable" {
			ob.Fault = fault(st) // some replicas of the new version crash: a fault too
		}
	}
	return ob
}

func fault(st kube.Status) *release.Fault {
	f := &release.Fault{Reason: st.Reason, Message: st.Message}
	for _, p := range st.Pods {
		if p.Version == st.Version && p.Reason == st.Reason {
			f.Pod = p.Name
			break
		}
	}
	return f
}

// Measure has the controller's queue and reconciles measured by m; call it
// before Run.
func (c *Releases) Measure(m *Metrics) { c.metrics = m }
