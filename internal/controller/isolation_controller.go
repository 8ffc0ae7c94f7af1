package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/netasset"
	"berth.dev/berth/internal/platform"
)

// Isolation reconciles network isolation: for every registered cluster it
// renders the NetworkPolicies of every environment namespace there
// (netasset.Service.Plan, kube.RenderIsolation), applies them with the
// environments' namespaces, and prunes the isolation policies no longer
// rendered. It wakes on Trigger (an isolation or exposure change) and on a
// periodic resync. Between resyncs it sends only the objects whose
// rendering changed; a resync applies everything, repairing edits.
type Isolation struct {
	db       platform.Transactor
	svc      *netasset.Service
	clusters *kube.Registry
	log      *slog.Logger
	resync   time.Duration
	wake     chan struct{}

	mu sync.Mutex
	// applied is, by cluster, the digest of each object as last applied,
	// so a reconcile sends only what changed; Resync clears it.
	applied map[string]map[kube.ObjectRef]string
}

// NewIsolation returns the controller; resync 0 means every 5 minutes.
func NewIsolation(db platform.Transactor, svc *netasset.Service, clusters *kube.Registry, log *slog.Logger, resync time.Duration) *Isolation {
	if resync == 0 {
		resync = 5 * time.Minute
	}
	return &Isolation{db: db, svc: svc, clusters: clusters, log: log, resync: resync, wake: make(chan struct{}, 1),
		applied: map[string]map[kube.ObjectRef]string{}}
}

// Subscribe has the controller reconcile when isolation, exposed ports or
// deployments (their namespaces) change on b. Call it before Run.
func (c *Isolation) Subscribe(b *change.Bus) {
	b.Subscribe(func(change.Changed) { c.Trigger() }, change.Isolation, change.Network, change.Deployment)
}

// Trigger asks for a reconcile of every cluster soon; it never blocks.
func (c *Isolation) Trigger() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Run reconciles at start, on Trigger and at each resync until ctx ends.
func (c *Isolation) Run(ctx context.Context) {
	tick := time.NewTicker(c.resync)
	defer tick.Stop()
	for {
		if err := c.ReconcileAll(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("reconcile isolation", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		case <-tick.C:
			c.Resync()
		}
	}
}

// ReconcileAll reconciles every registered cluster that answers.
func (c *Isolation) ReconcileAll(ctx context.Context) error {
	var names []string
	err := view(ctx, c.db, func(tx isolationReads) error {
		cs, err := tx.ListClusters(ctx, "", 10000)
		for _, cl := range cs {
			names = append(names, cl.Name)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("list clusters: %w", err)
	}
	var errs []error
	for _, n := range names {
		if _, err := c.clusters.Ready(n); err != nil {
			continue // unreachable: the next resync tries again
		}
		if _, err := c.Reconcile(ctx, n); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d clusters: %v", len(errs), errs)
	}
	return nil
}

// Reconcile makes cluster's isolation policies match the database once and
// returns what is now applied.
func (c *Isolation) Reconcile(ctx context.Context, cluster string) (kube.Inventory, error) {
	conn, err := c.clusters.Ready(cluster)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cluster, err)
	}
	var plan []netasset.NamespacePolicy
	err = c.db.View(ctx, func(tx platform.Tx) (err error) {
		plan, err = c.svc.Plan(ctx, tx, cluster)
		return err
	})
	if err != nil {
		return nil, err
	}
	namespaces, policies, err := renderPlan(plan)
	if err != nil {
		return nil, fmt.Errorf("render isolation of %s: %w", cluster, err)
	}
	inv, err := c.apply(ctx, conn, cluster, namespaces, policies)
	if err != nil {
		c.forget(cluster) // the next reconcile applies everything again
	}
	return inv, err
}

// apply applies what changed since this controller last applied it
// (everything after Resync), then deletes the isolation policies in the
// cluster that are no longer rendered. It returns the rendered policies.
func (c *Isolation) apply(ctx context.Context, conn *kube.Conn, cluster string, namespaces, policies []*unstructured.Unstructured) (kube.Inventory, error) {
	changedNS, err := c.changed(cluster, namespaces)
	if err != nil {
		return nil, err
	}
	for _, ns := range changedNS {
		if err := conn.Applier.ApplyNamespace(ctx, []*unstructured.Unstructured{ns}); err != nil {
			return nil, fmt.Errorf("isolation namespaces of %s: %w", cluster, err)
		}
	}
	changed, err := c.changed(cluster, policies)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Applier.Apply(ctx, changed, nil); err != nil {
		return nil, fmt.Errorf("isolation policies of %s: %w", cluster, err)
	}
	live, err := conn.Applier.IsolationPolicies(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cluster, err)
	}
	inv := make(kube.Inventory, len(policies))
	want := map[kube.ObjectRef]bool{}
	for i, p := range policies {
		inv[i] = kube.RefOf(p)
		want[inv[i]] = true
	}
	var stale kube.Inventory
	for _, r := range live {
		if !want[r] {
			stale = append(stale, r)
		}
	}
	if err := conn.Applier.Delete(ctx, stale); err != nil {
		return nil, fmt.Errorf("prune isolation policies of %s: %w", cluster, err)
	}
	c.remember(cluster, namespaces, policies)
	return inv, nil
}

// changed returns the objects whose rendering differs from what was last
// applied to cluster.
func (c *Isolation) changed(cluster string, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*unstructured.Unstructured
	for _, o := range objs {
		sum, err := digest(o)
		if err != nil {
			return nil, err
		}
		if c.applied[cluster][kube.RefOf(o)] != sum {
			out = append(out, o)
		}
	}
	return out, nil
}

func (c *Isolation) remember(cluster string, groups ...[]*unstructured.Unstructured) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[kube.ObjectRef]string{}
	for _, objs := range groups {
		for _, o := range objs {
			if sum, err := digest(o); err == nil {
				m[kube.RefOf(o)] = sum
			}
		}
	}
	c.applied[cluster] = m
}

func (c *Isolation) forget(cluster string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.applied, cluster)
}

// Resync makes the next reconcile apply everything again, repairing what
// was edited or deleted behind Berth's back.
func (c *Isolation) Resync() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.applied)
}

func digest(o *unstructured.Unstructured) (string, error) {
	b, err := o.MarshalJSON()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// renderPlan renders the policies of plan and every namespace it names,
// labelled as the deployment controller labels them: the owner labels are
// what other namespaces' policies select sources by.
func renderPlan(plan []netasset.NamespacePolicy) (namespaces, policies []*unstructured.Unstructured, err error) {
	for _, np := range plan {
		objs, err := kube.RenderIsolation(np)
		if err != nil {
			return nil, nil, fmt.Errorf("namespace %s: %w", np.Namespace, err)
		}
		ns, err := kube.RenderNamespace(kube.Namespace{Name: np.Namespace, Tenant: np.Tenant, Project: np.Project, Environment: np.Environment})
		if err != nil {
			return nil, nil, err
		}
		namespaces = append(namespaces, ns[0])
		policies = append(policies, objs...)
	}
	return namespaces, policies, nil
}
