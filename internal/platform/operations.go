package platform

import (
	"context"
	"errors"
	"fmt"
	"time"

	"berth.dev/berth/internal/analysis"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/resource"
)

// # Operations on what runs
//
// The methods below are the operations users perform on deployments, gray
// plans and release orders, one method each, for every entry point: the
// HTTP handlers, manifest apply, and whatever comes next (console back
// end, pipelines, terminal). Each carries the rules that span features, so
// that no entry point decides alone what it checks:
//
//   - a running release order holds its applications (release.NotHeld):
//     no direct deploy, stop, undeploy, or gray plan on them;
//   - an active gray plan holds its application's versions
//     (gray.NoActivePlan): no release order starts over it;
//   - four eyes (release.Unapproved): where an environment requires
//     approvals, the version that runs changes only through an approved
//     release order — a direct deploy of another version, a gray plan's
//     start or promotion are refused.
//
// Validation, quota and the audit record of each change are the domain
// services'. Each runs in the caller's transaction (tx), so a manifest
// applies all or nothing and a refusal is audited by Do. Each first checks
// that the caller's role bindings allow it at the target's scope
// (resource.ErrForbidden otherwise): an entry point that forgot to ask
// still cannot act for someone who may not. Entry points ask too, and
// earlier — before reading a body — so a refused caller learns nothing
// from validation.

// DeployVersion runs version in k's environment, creating the deployment
// on the application's first deploy there.
func (p *Platform) DeployVersion(ctx context.Context, tx Tx, c Caller, k deploy.Key, version string) (deploy.Deployment, error) {
	if err := c.may(authz.DeploymentDeploy, scopeOf(k.Tenant, k.Project)); err != nil {
		return deploy.Deployment{}, err
	}
	if err := release.NotHeld(ctx, tx, k); err != nil {
		return deploy.Deployment{}, err
	}
	d, err := tx.GetDeployment(ctx, k)
	if err != nil && !errors.Is(err, resource.ErrNotFound) {
		return deploy.Deployment{}, fmt.Errorf("deployment %s: %w", k.Path(), err)
	}
	if err != nil || d.Version != version {
		if err := release.Unapproved(ctx, tx, k, "deploy "+version); err != nil {
			return deploy.Deployment{}, err
		}
	}
	return p.Deploy.Deploy(ctx, tx, c.Actor, k, version)
}

// ScaleDeployment sets k's replica count; it keeps the version, so it
// stays direct under a release order and in environments that require
// approvals (an order's rollback restores the count it recorded).
func (p *Platform) ScaleDeployment(ctx context.Context, tx Tx, c Caller, k deploy.Key, replicas int32) (deploy.Deployment, error) {
	if err := c.may(authz.DeploymentOperate, scopeOf(k.Tenant, k.Project)); err != nil {
		return deploy.Deployment{}, err
	}
	return p.Deploy.Scale(ctx, tx, c.Actor, k, replicas)
}

// StopDeployment scales k to zero; not while a release order holds it.
func (p *Platform) StopDeployment(ctx context.Context, tx Tx, c Caller, k deploy.Key) (deploy.Deployment, error) {
	if err := c.may(authz.DeploymentOperate, scopeOf(k.Tenant, k.Project)); err != nil {
		return deploy.Deployment{}, err
	}
	if err := release.NotHeld(ctx, tx, k); err != nil {
		return deploy.Deployment{}, err
	}
	return p.Deploy.Stop(ctx, tx, c.Actor, k)
}

// StartDeployment runs a stopped k again.
func (p *Platform) StartDeployment(ctx context.Context, tx Tx, c Caller, k deploy.Key) (deploy.Deployment, error) {
	if err := c.may(authz.DeploymentOperate, scopeOf(k.Tenant, k.Project)); err != nil {
		return deploy.Deployment{}, err
	}
	return p.Deploy.Start(ctx, tx, c.Actor, k)
}

// RestartDeployment replaces k's pods, a few at a time.
func (p *Platform) RestartDeployment(ctx context.Context, tx Tx, c Caller, k deploy.Key) (deploy.Deployment, error) {
	if err := c.may(authz.DeploymentOperate, scopeOf(k.Tenant, k.Project)); err != nil {
		return deploy.Deployment{}, err
	}
	return p.Deploy.Restart(ctx, tx, c.Actor, k)
}

// DeleteDeployment removes k from its environment; not while a release
// order holds it.
func (p *Platform) DeleteDeployment(ctx context.Context, tx Tx, c Caller, k deploy.Key) (deploy.Deployment, error) {
	if err := c.may(authz.DeploymentDelete, scopeOf(k.Tenant, k.Project)); err != nil {
		return deploy.Deployment{}, err
	}
	if err := release.NotHeld(ctx, tx, k); err != nil {
		return deploy.Deployment{}, err
	}
	return p.Deploy.Delete(ctx, tx, c.Actor, k)
}

// StartGrayPlan starts spec's plan (gray.Service.Start): not on an
// application a release order holds, nor where the environment requires
// approvals (there, an approved order runs gray plans: gray start --order).
func (p *Platform) StartGrayPlan(ctx context.Context, tx Tx, c Caller, spec gray.Plan) (gray.Plan, error) {
	if err := c.may(authz.GrayManage, scopeOf(spec.Tenant, spec.Project)); err != nil {
		return gray.Plan{}, err
	}
	if err := c.mayQuery(scopeOf(spec.Tenant, spec.Project), spec.Steps); err != nil {
		return gray.Plan{}, err
	}
	k := spec.Key()
	if err := release.NotHeld(ctx, tx, k); err != nil {
		return gray.Plan{}, err
	}
	if err := release.Unapproved(ctx, tx, k, "a gray plan of "+spec.GrayVersion); err != nil {
		return gray.Plan{}, err
	}
	if v, err := tx.GetVersion(ctx, k.Tenant, k.Project, k.Application, spec.GrayVersion); err == nil && v.Chart != nil {
		// The gray controller renders images and orchestration, not charts.
		return gray.Plan{}, &resource.ValidationError{Fields: []resource.FieldError{{Path: "grayVersion",
			Reason: fmt.Sprintf("version %s is an app-store chart version: gray plans run image versions; release it with a release order", v.Name)}}}
	}
	return p.Gray.Start(ctx, tx, c.Actor, spec)
}

// StepGrayPlan widens k's plan to step to (the next when nil).
func (p *Platform) StepGrayPlan(ctx context.Context, tx Tx, c Caller, k deploy.Key, to *int) (gray.Plan, error) {
	if err := c.may(authz.GrayManage, scopeOf(k.Tenant, k.Project)); err != nil {
		return gray.Plan{}, err
	}
	if err := p.planNotHeld(ctx, tx, k); err != nil {
		return gray.Plan{}, err
	}
	return p.Gray.Step(ctx, tx, c.Actor, k, to)
}

// SetGrayPlan changes k's running plan.
func (p *Platform) SetGrayPlan(ctx context.Context, tx Tx, c Caller, k deploy.Key, change gray.Change) (gray.Plan, error) {
	if err := c.may(authz.GrayManage, scopeOf(k.Tenant, k.Project)); err != nil {
		return gray.Plan{}, err
	}
	if change.Steps != nil {
		if err := c.mayQuery(scopeOf(k.Tenant, k.Project), *change.Steps); err != nil {
			return gray.Plan{}, err
		}
	}
	if err := p.planNotHeld(ctx, tx, k); err != nil {
		return gray.Plan{}, err
	}
	return p.Gray.Set(ctx, tx, c.Actor, k, change)
}

// PromoteGrayPlan makes k's gray version stable: a change of version, so
// refused where the environment requires approvals (a plan started before
// they were required is aborted, or its version released by an order).
func (p *Platform) PromoteGrayPlan(ctx context.Context, tx Tx, c Caller, k deploy.Key, keepOld time.Duration) (gray.Plan, error) {
	if err := c.may(authz.GrayManage, scopeOf(k.Tenant, k.Project)); err != nil {
		return gray.Plan{}, err
	}
	if err := p.planNotHeld(ctx, tx, k); err != nil {
		return gray.Plan{}, err
	}
	// A missing plan, or one of a gray group, the domain refuses, naming
	// what is missing or the group to act on.
	if plan, err := tx.GetPlan(ctx, k); err == nil && plan.Group == "" {
		if err := release.Unapproved(ctx, tx, k, "promotion of "+plan.GrayVersion); err != nil {
			return gray.Plan{}, err
		}
	}
	return p.Gray.Promote(ctx, tx, c.Actor, k, keepOld)
}

// AbortGrayPlan sends k back to its plan's stable version: the version
// that ran before the plan, so no approval is asked.
func (p *Platform) AbortGrayPlan(ctx context.Context, tx Tx, c Caller, k deploy.Key, reason string) (gray.Plan, error) {
	if err := c.may(authz.GrayManage, scopeOf(k.Tenant, k.Project)); err != nil {
		return gray.Plan{}, err
	}
	if err := p.planNotHeld(ctx, tx, k); err != nil {
		return gray.Plan{}, err
	}
	return p.Gray.Abort(ctx, tx, c.Actor, k, reason)
}

// EndGrayPlan stops keeping the old version of k's promoted plan.
func (p *Platform) EndGrayPlan(ctx context.Context, tx Tx, c Caller, k deploy.Key) (gray.Plan, error) {
	if err := c.may(authz.GrayManage, scopeOf(k.Tenant, k.Project)); err != nil {
		return gray.Plan{}, err
	}
	if err := p.planNotHeld(ctx, tx, k); err != nil {
		return gray.Plan{}, err
	}
	return p.Gray.End(ctx, tx, c.Actor, k)
}

// planNotHeld refuses a change of k's plan while a release order holds
// the application. A plan of a gray group is held by its own order; the
// domain refuses changing it alone, naming the group to act on instead.
func (p *Platform) planNotHeld(ctx context.Context, tx Tx, k deploy.Key) error {
	if plan, err := tx.GetPlan(ctx, k); err == nil && plan.Group != "" {
		return nil
	}
	return release.NotHeld(ctx, tx, k)
}

// StartOrder starts approved order k (release.Service.Start), not while
// one of its applications has an active gray plan.
func (p *Platform) StartOrder(ctx context.Context, tx Tx, c Caller, k release.Key) (release.Order, error) {
	if err := c.may(authz.ReleaseOperate, scopeOf(k.Tenant, k.Project)); err != nil {
		return release.Order{}, err
	}
	o, err := tx.GetOrder(ctx, k.Tenant, k.Project, k.ID)
	if err != nil {
		return release.Order{}, fmt.Errorf("release order %s: %w", k.ID, err)
	}
	if err := gray.NoActivePlan(ctx, tx, o); err != nil {
		return release.Order{}, err
	}
	return p.Release.Start(ctx, tx, c.Actor, k)
}

// RollbackOrder rolls back succeeded order k by a new order
// (release.Service.Rollback), which must not deploy over an active gray
// plan either.
func (p *Platform) RollbackOrder(ctx context.Context, tx Tx, c Caller, k release.Key, req release.RollbackRequest) (release.Order, error) {
	if err := c.may(authz.ReleaseOperate, scopeOf(k.Tenant, k.Project)); err != nil {
		return release.Order{}, err
	}
	o, err := p.Release.Rollback(ctx, tx, c.Actor, k, req)
	if err != nil {
		return release.Order{}, err
	}
	return o, gray.NoActivePlan(ctx, tx, o)
}

// Caller is who asks for an operation: the actor its audit records name,
// and the role bindings that decide what it may do.
type Caller struct {
	audit.Actor
	Bindings []authz.Binding
}

// may refuses perm at scope unless c's bindings allow it.
func (c Caller) may(perm authz.Permission, scope authz.Scope) error {
	if authz.Allowed(c.Bindings, perm, scope) {
		return nil
	}
	return fmt.Errorf("%s on %s: %w", perm, scope, resource.ErrForbidden)
}

func scopeOf(tenant, project string) authz.Scope {
	return authz.Scope{Tenant: tenant, Project: project}
}

// mayQuery refuses steps with a custom metric query unless c may write
// custom PromQL (authz.AlertCustom): Prometheus evaluates it over every
// tenant's series.
func (c Caller) mayQuery(scope authz.Scope, steps []gray.Step) error {
	for _, st := range steps {
		if analysis.Custom(st.Checks) {
			return c.may(authz.AlertCustom, scope)
		}
	}
	return nil
}
