package platform

import (
	"context"
	"errors"
	"fmt"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/pipeline"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// # Pipelines
//
// Who may do what (authz policy table): everyone with a role at the
// project reads pipelines, runs and build logs (pipeline:read);
// developers and project admins apply them (pipeline:write) and run or
// cancel them (pipeline:run), as do release managers, who with project
// and tenant admins also approve stages (pipeline:approve). Approving
// takes more than the permission: the approver must own the stage (be its
// user, or hold its group's role at the project) and be neither the run's
// trigger nor the pipeline's last author — platform admins included.
//
// A pipeline's deploy stages deploy without a caller: the stage's owner
// approved it, and the author who wrote the stage had to hold
// deployment:deploy in the project (checked here on apply). The rules
// that span features still hold: not while a release order holds the
// application, and never into an environment that requires approved
// release orders (release.Unapproved).

// ApplyPipeline creates or changes p (rotate: a new webhook secret).
func (p *Platform) ApplyPipeline(ctx context.Context, tx Tx, c Caller, pl pipeline.Pipeline, rotate bool) (pipeline.Applied, error) {
	scope := scopeOf(pl.Tenant, pl.Project)
	if err := c.may(authz.PipelineWrite, scope); err != nil {
		return pipeline.Applied{}, err
	}
	for _, st := range pl.Stages {
		if st.Environment != "" {
			if err := c.may(authz.DeploymentDeploy, scope); err != nil {
				return pipeline.Applied{}, fmt.Errorf("stage %s deploys to %s: %w", st.Name, st.Environment, err)
			}
		}
	}
	return p.Pipelines.Apply(ctx, tx, c.Actor, pl, rotate)
}

// DeletePipeline deletes k with its runs.
func (p *Platform) DeletePipeline(ctx context.Context, tx Tx, c Caller, k pipeline.Key) error {
	if err := c.may(authz.PipelineWrite, scopeOf(k.Tenant, k.Project)); err != nil {
		return err
	}
	return p.Pipelines.Delete(ctx, tx, c.Actor, k)
}

// GetPipeline reads k, without its sealed secret.
func (p *Platform) GetPipeline(ctx context.Context, tx Tx, c Caller, k pipeline.Key) (pipeline.Pipeline, error) {
	if err := c.may(authz.PipelineRead, scopeOf(k.Tenant, k.Project)); err != nil {
		return pipeline.Pipeline{}, err
	}
	pl, err := tx.GetPipeline(ctx, k)
	pl.SealedSecret = nil
	return pl, err
}

// ListPipelines lists a project's pipelines, without their secrets.
func (p *Platform) ListPipelines(ctx context.Context, tx Tx, c Caller, tenant, project string, o resource.ListOptions) (resource.Page[pipeline.Pipeline], error) {
	if err := c.may(authz.PipelineRead, scopeOf(tenant, project)); err != nil {
		return resource.Page[pipeline.Pipeline]{}, err
	}
	after, err := o.After()
	if err != nil {
		return resource.Page[pipeline.Pipeline]{}, err
	}
	items, err := tx.ListPipelines(ctx, tenant, project, after, o.PageLimit()+1)
	if err != nil {
		return resource.Page[pipeline.Pipeline]{}, err
	}
	for i := range items {
		items[i].SealedSecret = nil
	}
	return resource.NewPage(items, o.PageLimit(), func(pl pipeline.Pipeline) string { return pl.Name }), nil
}

// ListRuns lists k's runs newest first, numbered below before (0: all).
func (p *Platform) ListRuns(ctx context.Context, tx Tx, c Caller, k pipeline.Key, before int64, limit int) ([]pipeline.Run, error) {
	if err := c.may(authz.PipelineRead, scopeOf(k.Tenant, k.Project)); err != nil {
		return nil, err
	}
	if _, err := tx.GetPipeline(ctx, k); err != nil {
		return nil, fmt.Errorf("pipeline %s: %w", k.Name, err)
	}
	return tx.ListRuns(ctx, k, before, limit)
}

// GetRun reads run k.
func (p *Platform) GetRun(ctx context.Context, tx Tx, c Caller, k pipeline.RunKey) (pipeline.Run, error) {
	if err := c.may(authz.PipelineRead, scopeOf(k.Tenant, k.Project)); err != nil {
		return pipeline.Run{}, err
	}
	return tx.GetRun(ctx, k)
}

// TriggerPipeline queues a run of k at ref (commit: empty for the
// branch's head), triggered by the caller.
func (p *Platform) TriggerPipeline(ctx context.Context, tx Tx, c Caller, k pipeline.Key, ref, commit string) (pipeline.Run, error) {
	if err := c.may(authz.PipelineRun, scopeOf(k.Tenant, k.Project)); err != nil {
		return pipeline.Run{}, err
	}
	return p.Pipelines.Trigger(ctx, tx, c.Actor, k, pipeline.Trigger{Kind: pipeline.Manual, User: c.User}, ref, commit)
}

// ReceiveWebhook verifies a push webhook of k and queues a run; its
// signature is its authentication (pipeline.Service.Receive), so no role
// is asked. a carries the request's address and ID; the pusher becomes
// the actor.
func (p *Platform) ReceiveWebhook(ctx context.Context, tx Tx, a audit.Actor, k pipeline.Key, h pipeline.Headers, body []byte) (pipeline.Run, error) {
	return p.Pipelines.Receive(ctx, tx, a, k, h, body)
}

// ApproveStage approves stage of run k.
func (p *Platform) ApproveStage(ctx context.Context, tx Tx, c Caller, k pipeline.RunKey, stage, reason string) (pipeline.Run, error) {
	if err := c.may(authz.PipelineApprove, scopeOf(k.Tenant, k.Project)); err != nil {
		return pipeline.Run{}, err
	}
	return p.Pipelines.Approve(ctx, tx, c.Actor, c.Bindings, k, stage, reason)
}

// RejectStage rejects stage of run k, failing the run.
func (p *Platform) RejectStage(ctx context.Context, tx Tx, c Caller, k pipeline.RunKey, stage, reason string) (pipeline.Run, error) {
	if err := c.may(authz.PipelineApprove, scopeOf(k.Tenant, k.Project)); err != nil {
		return pipeline.Run{}, err
	}
	return p.Pipelines.Reject(ctx, tx, c.Actor, c.Bindings, k, stage, reason)
}

// CancelRun cancels run k.
func (p *Platform) CancelRun(ctx context.Context, tx Tx, c Caller, k pipeline.RunKey, reason string) (pipeline.Run, error) {
	if err := c.may(authz.PipelineRun, scopeOf(k.Tenant, k.Project)); err != nil {
		return pipeline.Run{}, err
	}
	return p.Pipelines.Cancel(ctx, tx, c.Actor, k, reason)
}

// RetryRun queues failed run k again from step (empty: its failed step).
func (p *Platform) RetryRun(ctx context.Context, tx Tx, c Caller, k pipeline.RunKey, step, reason string) (pipeline.Run, error) {
	if err := c.may(authz.PipelineRun, scopeOf(k.Tenant, k.Project)); err != nil {
		return pipeline.Run{}, err
	}
	return p.Pipelines.Retry(ctx, tx, c.Actor, k, step, reason)
}

// RunLog reads up to pipeline.MaxLogRead bytes of step's log of run k
// from offset, with the run as it is now (its steps' states say whether
// more will come).
func (p *Platform) RunLog(ctx context.Context, c Caller, k pipeline.RunKey, step string, offset int64) ([]byte, pipeline.Run, error) {
	var r pipeline.Run
	err := p.DB.View(ctx, func(tx Tx) (err error) {
		r, err = p.GetRun(ctx, tx, c, k)
		return err
	})
	if err != nil {
		return nil, pipeline.Run{}, err
	}
	if st, _ := r.Step(step); st == nil {
		var errs resource.Errors
		errs.Add("step", "run %d has no step %q", k.Number, step)
		return nil, pipeline.Run{}, errs.Err()
	}
	if p.PipelineLogs == nil || offset < 0 {
		return nil, r, nil
	}
	b, err := p.PipelineLogs.Read(k, step, offset)
	return b, r, err
}

// DeliverVersion creates the application version run r built: its image
// pinned by the pushed digest, its source the repository, ref and commit,
// the run and its build log; by the runner, for the run.
func (p *Platform) DeliverVersion(ctx context.Context, tx Tx, r pipeline.Run) (apps.Version, error) {
	v := apps.Version{Tenant: r.Tenant, Project: r.Project, Application: r.Spec.Application, Name: r.VersionName(),
		Image: r.Image, Digest: r.Digest, Tier: r.Spec.Delivery.Tier, Orchestration: r.Spec.Delivery.Orchestration, Pipeline: r.Name,
		Source: apps.Source{Repository: r.Spec.Source.Repository, Revision: r.Commit, Ref: r.Ref, Run: r.Path(),
			BuildLog: "/api/v1/" + r.Path() + "/steps/" + pipeline.StepBuild + "/log"}}
	return p.Apps.CreateVersion(ctx, tx, pipeline.Runner(r.Key), v, apps.VersionOptions{})
}

// AdmitBuild checks that run r's build fits its project's and tenant's
// quotas beside what they use: the applications' reservations and the
// requests of the builds running now (pipeline.BuildRequests);
// *resource.QuotaExceededError with the numbers when it does not. The
// tenant is locked for the rest of the transaction, so two builds cannot
// both take the last room.
func (p *Platform) AdmitBuild(ctx context.Context, tx Tx, r pipeline.Run) error {
	if err := tx.LockTenant(ctx, r.Tenant); err != nil {
		return fmt.Errorf("admit run %d of %s: %w", r.Number, r.Name, err)
	}
	running, err := tx.RunsInState(ctx, pipeline.Running, 1000)
	if err != nil {
		return err
	}
	need := pipeline.BuildRequests(r.Spec.Build.Type)
	for _, sc := range []tenancy.Scope{{Tenant: r.Tenant, Project: r.Project}, {Tenant: r.Tenant}} {
		q, err := tx.GetQuota(ctx, sc)
		if errors.Is(err, resource.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("quota of %s: %w", sc, err)
		}
		used, err := tx.SumReservations(ctx, sc.Tenant, sc.Project)
		if err != nil {
			return fmt.Errorf("usage of %s: %w", sc, err)
		}
		for _, o := range running {
			if o.Tenant == sc.Tenant && (sc.Project == "" || o.Project == sc.Project) && o.Building() {
				used = used.Add(pipeline.BuildRequests(o.Spec.Build.Type))
			}
		}
		for _, n := range q.Hard.Names() {
			if need[n] > 0 && used[n]+need[n] > q.Hard[n] {
				return &resource.QuotaExceededError{Scope: sc.String(), Resource: n, Requested: need[n], Used: used[n], Limit: q.Hard[n],
					Reason: "a " + string(r.Spec.Build.Type) + " build holds this while it runs"}
			}
		}
	}
	return nil
}

// DeployStage deploys run r's version into stage's environment, under
// the rules every deploy keeps (see above).
func (p *Platform) DeployStage(ctx context.Context, tx Tx, r pipeline.Run, stage pipeline.Stage) (deploy.Deployment, error) {
	k := deploy.Key{Tenant: r.Tenant, Project: r.Project, Environment: stage.Environment, Application: r.Spec.Application}
	if err := release.NotHeld(ctx, tx, k); err != nil {
		return deploy.Deployment{}, err
	}
	if err := release.Unapproved(ctx, tx, k, "deploy "+r.Version+" by pipeline "+r.Name); err != nil {
		return deploy.Deployment{}, err
	}
	return p.Deploy.Deploy(ctx, tx, pipeline.Runner(r.Key), k, r.Version)
}
