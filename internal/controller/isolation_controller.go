package controller

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/netasset"
	"berth.dev/berth/internal/platform"
)

// Isolation reconciles network isolation: for every registered cluster it
// renders the NetworkPolicies of every environment namespace there
// (netasset.Service.Plan, kube.RenderIsolation), applies them with the
// environments' namespaces, and prunes the isolation policies no longer
// rendered. It wakes on Trigger (an isolation or exposure change) and on a
// periodic resync.
type Isolation struct {
	db       platform.Transactor
	svc      *netasset.Service
	clusters *kube.Registry
	log      *slog.Logger
	resync   time.Duration
	wake     chan struct{}
}

// NewIsolation returns the controller; resync 0 means every 5 minutes.
func NewIsolation(db platform.Transactor, svc *netasset.Service, clusters *kube.Registry, log *slog.Logger, resync time.Duration) *Isolation {
	if resync == 0 {
		resync = 5 * time.Minute
	}
	return &Isolation{db: db, svc: svc, clusters: clusters, log: log, resync: resync, wake: make(chan struct{}, 1)}
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
		}
	}
}

// ReconcileAll reconciles every registered cluster that answers.
func (c *Isolation) ReconcileAll(ctx context.Context) error {
	var names []string
	err := c.db.View(ctx, func(tx platform.Tx) error {
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
	if _, err := conn.Applier.Apply(ctx, namespaces, nil); err != nil {
		return nil, fmt.Errorf("isolation namespaces of %s: %w", cluster, err)
	}
	prev, err := conn.Applier.IsolationPolicies(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cluster, err)
	}
	inv, err := conn.Applier.Apply(ctx, policies, prev)
	if err != nil {
		return nil, fmt.Errorf("isolation policies of %s: %w", cluster, err)
	}
	return inv, nil
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
