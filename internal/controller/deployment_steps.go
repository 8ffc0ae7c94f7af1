package controller

// The steps of a deployment's reconcile (Deployments.Reconcile).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// A deploymentPass is one reconcile of one deployment: what its steps
// found and did.
type deploymentPass struct {
	c  *Deployments
	k  deploy.Key
	at step // the step running

	d     deploy.Deployment
	env   tenancy.Environment
	v     apps.Version
	quota resource.List
	// nodePorts are the node ports allocated to the app's ports.
	nodePorts map[string]int32

	conn *kube.Conn
	pl   *placed
	prev kube.Inventory // what the last apply left in the cluster
	objs []*unstructured.Unstructured

	inv kube.Inventory
}

func (p *deploymentPass) load(ctx context.Context) (bool, time.Duration, error) {
	k := p.k
	err := view(ctx, p.c.db, func(st deploymentReads) error {
		var err error
		if p.d, err = st.GetDeployment(ctx, k); err != nil {
			return err
		}
		if p.env, err = st.GetEnvironment(ctx, k.Tenant, k.Project, k.Environment); err != nil {
			return err
		}
		if p.v, err = st.GetVersion(ctx, k.Tenant, k.Project, k.Application, p.d.Version); err != nil {
			return err
		}
		q, err := st.GetQuota(ctx, tenancy.Scope{Tenant: k.Tenant, Project: k.Project})
		if err != nil && !errors.Is(err, resource.ErrNotFound) {
			return fmt.Errorf("quota of %s/%s: %w", k.Tenant, k.Project, err)
		}
		p.quota = q.Hard
		p.nodePorts, err = allocatedNodePorts(ctx, st, k)
		return err
	})
	if errors.Is(err, resource.ErrNotFound) {
		p.c.forget(k)
		return true, 0, nil
	}
	if err != nil {
		return true, 0, fmt.Errorf("load: %w", err)
	}
	return false, 0, nil
}

func (p *deploymentPass) connect(ctx context.Context) (bool, time.Duration, error) {
	conn, err := p.c.clusters.Ready(p.env.Cluster)
	if err != nil {
		// Not our fault and not retried hot: record it once, look again soon.
		if p.d.Applied.Error != err.Error() {
			if rerr := p.fail(ctx, err); rerr != nil {
				return true, 0, rerr
			}
		}
		return true, 5 * time.Second, nil
	}
	p.conn = conn
	p.pl = p.c.place(p.env.Cluster, kube.AppKey{Namespace: p.env.Namespace, App: p.k.Application}, p.k)
	if len(p.d.Applied.Inventory) > 0 {
		if err := json.Unmarshal(p.d.Applied.Inventory, &p.prev); err != nil {
			return true, 0, fmt.Errorf("inventory of %s: %w", p.k.Path(), err)
		}
	}
	return false, 0, nil
}

func (p *deploymentPass) remove(ctx context.Context) (bool, time.Duration, error) {
	if !p.d.Deleting {
		return false, 0, nil
	}
	if err := p.conn.Applier.Delete(ctx, p.prev); err != nil {
		return true, 0, err
	}
	if err := p.removeHooks(ctx); err != nil {
		return true, 0, err
	}
	if err := p.removeCRDs(ctx, p.v); err != nil {
		return true, 0, err
	}
	p.c.forget(p.k)
	err := p.c.db.InTx(ctx, func(st platform.Tx) error { return p.c.svc.Remove(ctx, st, p.k) })
	if err == nil {
		p.c.changes.Publish(p.k.Change(change.Applied))
	}
	return true, 0, err
}

func (p *deploymentPass) namespace(ctx context.Context) (bool, time.Duration, error) {
	err := p.c.ensureNamespace(ctx, p.conn, p.env, p.quota)
	if err == nil {
		return false, 0, nil
	}
	if p.d.Applied.Error != err.Error() { // shown in the deployment's status
		if rerr := p.fail(ctx, err); rerr != nil {
			return true, 0, rerr
		}
	}
	return true, 0, err
}

func (p *deploymentPass) render(ctx context.Context) (bool, time.Duration, error) {
	k, d := p.k, p.d
	if p.v.Chart != nil {
		return p.renderChart(ctx)
	}
	w := kube.Workload{Tenant: k.Tenant, Project: k.Project, Environment: k.Environment, Namespace: p.env.Namespace,
		App: k.Application, Version: p.v, Replicas: d.Replicas, NodePorts: p.nodePorts}
	if d.Stopped {
		w.Replicas = new(int32)
	}
	if d.RestartedAt != nil {
		w.RestartedAt = d.RestartedAt.UTC().Format(time.RFC3339)
	}
	files, err := p.c.files.read(ctx, k, p.v)
	if errors.Is(err, resource.ErrNotFound) {
		// Shown in the status; the item's creation reconciles again.
		return true, 0, p.fail(ctx, err)
	}
	if err != nil {
		return true, 0, err
	}
	w.Files = files[0]
	objs, err := kube.Render(w)
	if err != nil {
		return true, 0, p.fail(ctx, fmt.Errorf("render: %w", err))
	}
	p.objs = objs
	return false, 0, nil
}

// renderChart renders a chart version (an app-store install): the objects
// rendered when the version was made, in the environment's namespace, with
// Berth's labels.
func (p *deploymentPass) renderChart(ctx context.Context) (bool, time.Duration, error) {
	k, d := p.k, p.d
	w := kube.ChartWorkload{Tenant: k.Tenant, Project: k.Project, Environment: k.Environment, Namespace: p.env.Namespace,
		App: k.Application, Version: p.v.Name, Objects: p.v.Chart.Objects, Stopped: d.Stopped}
	if d.RestartedAt != nil {
		w.RestartedAt = d.RestartedAt.UTC().Format(time.RFC3339)
	}
	objs, err := kube.RenderChartObjects(w)
	if err != nil {
		return true, 0, p.fail(ctx, fmt.Errorf("render: %w", err))
	}
	p.objs = objs
	return false, 0, nil
}

func (p *deploymentPass) apply(ctx context.Context) (bool, time.Duration, error) {
	c, pl := p.c, p.pl
	drift := c.takeDrift(pl)
	if len(drift) > 0 {
		// Watch events can precede the record of Berth's own apply: only
		// what the live objects still show is drift.
		var err error
		if drift, err = confirmDrift(ctx, p.conn, p.prev); err != nil {
			c.mu.Lock()
			pl.sent = nil
			c.mu.Unlock()
			return true, 0, err
		}
	}
	sent := c.sentBefore(pl, drift)
	inv, err := p.conn.Applier.ApplyWorkload(ctx, p.objs, p.prev, unchangedSince(sent, p.prev))
	if err != nil {
		// Perhaps the namespace went away: the retry re-applies it.
		c.mu.Lock()
		delete(c.ensured, p.env.Cluster+"/"+p.env.Namespace)
		pl.sent = nil
		c.mu.Unlock()
		if rerr := p.fail(ctx, err); rerr != nil {
			return true, 0, rerr
		}
		return true, 0, err // shown in the deployment's status, retried
	}
	p.inv = inv
	c.applied(pl, p.objs)
	if len(drift) > 0 {
		err := c.db.InTx(ctx, func(st platform.Tx) error { return c.svc.RecordDriftRepaired(ctx, st, p.k, drift) })
		if err != nil {
			return true, 0, err
		}
	}
	return false, 0, nil
}

func (p *deploymentPass) recordApplied(ctx context.Context) (bool, time.Duration, error) {
	d := p.d
	invJSON, err := json.Marshal(p.inv)
	if err != nil {
		return true, 0, err
	}
	unchanged := d.Applied.Generation == d.Generation && d.Applied.Error == "" && d.Applied.Version == p.v.Name &&
		string(invJSON) == string(d.Applied.Inventory) && readyAt(d.Applied.Conditions, d.Generation)
	if unchanged {
		return true, 0, nil
	}
	return true, 0, p.c.record(ctx, p.k, deploy.Attempt{Generation: d.Generation, Version: p.v.Name, Inventory: invJSON, Reason: reasonApplied})
}

// fail records that the running step failed with err: the inventory stays
// the last one applied.
func (p *deploymentPass) fail(ctx context.Context, err error) error {
	return p.c.record(ctx, p.k, deploy.Attempt{Generation: p.d.Generation, Inventory: p.d.Applied.Inventory, Reason: p.at.failed, Err: err})
}

// readyAt reports whether conds say Ready, True, of generation.
func readyAt(conds []resource.Condition, generation int64) bool {
	c, ok := resource.FindCondition(conds, resource.ConditionReady)
	return ok && c.Status == resource.ConditionTrue && c.ObservedGeneration == generation
}
