package controller

// The steps of a deployment's reconcile that only chart versions (app-store
// installs) have: their CustomResourceDefinitions, applied first, and their
// Helm hooks, run around the apply (docs/app-store.md).

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/resource"
)

// HookTimeout is how long a hook may run before it fails (Helm's
// default).
const HookTimeout = 5 * time.Minute

// Hook events: what deploying a version is, for its chart's hooks.
const (
	eventInstall  = "install"
	eventUpgrade  = "upgrade"
	eventRollback = "rollback"
)

// hookEvent is what deploying version is after applied: an install when
// nothing was applied yet, an upgrade to a later chart version (rN), a
// rollback to an earlier one; "" when the version runs already (a
// restart, a stop, a drift repair) or applied does not say which runs.
func hookEvent(applied deploy.Applied, version string) string {
	switch {
	case applied.Version == version:
		return ""
	case applied.Generation == 0 && applied.Version == "":
		return eventInstall
	case applied.Version == "":
		return ""
	case revision(version) > revision(applied.Version):
		return eventUpgrade
	}
	return eventRollback
}

// revision is N of a chart version rN (0 if it is not one).
func revision(version string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(version, "r"))
	return n
}

// stalled stops at a generation whose hook failed: running it again would
// run the hook again. A new generation (an upgrade, the release order's
// rollback) or a deletion moves on.
func (p *deploymentPass) stalled(context.Context) (bool, time.Duration, error) {
	c, ok := resource.FindCondition(p.d.Applied.Conditions, resource.ConditionReady)
	done := ok && c.Status == resource.ConditionFalse && c.Reason == reasonHookFailed && c.ObservedGeneration == p.d.Generation
	return done, 0, nil
}

// crds applies a chart version's CustomResourceDefinitions and waits until
// they are established, before anything of the chart is applied. They are
// in no inventory: pruning and uninstall keep them (DeleteCRDs aside).
func (p *deploymentPass) crds(ctx context.Context) (bool, time.Duration, error) {
	if p.v.Chart == nil || len(p.v.Chart.CRDs) == 0 {
		return false, 0, nil
	}
	if err := p.conn.Applier.ApplyCRDs(ctx, p.v.Chart.CRDs); err != nil {
		if rerr := p.fail(ctx, err); rerr != nil {
			return true, 0, rerr
		}
		return true, 0, err
	}
	return false, 0, nil
}

func (p *deploymentPass) preHooks(ctx context.Context) (bool, time.Duration, error) {
	return p.hooks(ctx, "pre-")
}

func (p *deploymentPass) postHooks(ctx context.Context) (bool, time.Duration, error) {
	return p.hooks(ctx, "post-")
}

// hooks runs the chart's hooks of the event deploying the version is, in
// order. A hook that fails is recorded as the generation's failure
// (reasonHookFailed, naming the hook and why): the deployment stalls there
// and a release order deploying it fails its item and rolls back.
func (p *deploymentPass) hooks(ctx context.Context, when string) (bool, time.Duration, error) {
	if p.v.Chart == nil || len(p.v.Chart.Hooks) == 0 {
		return false, 0, nil
	}
	ev := hookEvent(p.d.Applied, p.v.Name)
	if ev == "" {
		return false, 0, nil
	}
	event := when + ev
	k := p.k
	w := kube.ChartWorkload{Tenant: k.Tenant, Project: k.Project, Environment: k.Environment, Namespace: p.env.Namespace, App: k.Application}
	for _, h := range p.v.Chart.HooksOf(event) {
		obj, err := kube.HookObject(w, h)
		if err != nil {
			return true, 0, p.fail(ctx, err)
		}
		err = p.conn.Applier.RunHook(ctx, obj, h, event, HookTimeout)
		var he *kube.HookError
		switch {
		case errors.As(err, &he):
			return true, 0, p.hookFailed(ctx, when, err)
		case err != nil:
			if rerr := p.fail(ctx, err); rerr != nil {
				return true, 0, rerr
			}
			return true, 0, err
		}
		p.c.log.Info("hook succeeded", "deployment", k.Path(), "hook", h.Name, "event", event)
	}
	return false, 0, nil
}

// hookFailed records a hook's failure. After a post- hook the objects are
// applied: the record keeps their inventory, so the next apply prunes
// them.
func (p *deploymentPass) hookFailed(ctx context.Context, when string, err error) error {
	a := deploy.Attempt{Generation: p.d.Generation, Version: p.v.Name, Reason: reasonHookFailed, Err: err}
	if when == "post-" {
		inv, merr := json.Marshal(p.inv)
		if merr != nil {
			return merr
		}
		a.Inventory, a.Partial = inv, true
	}
	return p.c.record(ctx, p.k, a)
}

// removeCRDs deletes the chart's CustomResourceDefinitions of a deleted
// deployment whose uninstall asked for it (Deployment.DeleteCRDs), and
// with them every object of their kinds in the cluster.
func (p *deploymentPass) removeCRDs(ctx context.Context, v apps.Version) error {
	if !p.d.DeleteCRDs || v.Chart == nil || len(v.Chart.CRDs) == 0 {
		return nil
	}
	return p.conn.Applier.DeleteCRDs(ctx, v.Chart.CRDs)
}

// removeHooks deletes the hook objects of a deleted deployment's version
// that their delete policies left in the cluster.
func (p *deploymentPass) removeHooks(ctx context.Context) error {
	if p.v.Chart == nil || len(p.v.Chart.Hooks) == 0 {
		return nil
	}
	k := p.k
	w := kube.ChartWorkload{Tenant: k.Tenant, Project: k.Project, Environment: k.Environment, Namespace: p.env.Namespace, App: k.Application}
	inv := make(kube.Inventory, 0, len(p.v.Chart.Hooks))
	for _, h := range p.v.Chart.Hooks {
		obj, err := kube.HookObject(w, h)
		if err != nil {
			return err
		}
		inv = append(inv, kube.RefOf(obj))
	}
	return p.conn.Applier.Delete(ctx, inv)
}
