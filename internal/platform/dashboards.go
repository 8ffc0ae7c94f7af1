package platform

import (
	"context"
	"errors"
	"fmt"

	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/dashboard"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/resource"
)

// # Dashboards
//
// An application's dashboard is read with application:read at its
// project: RED metrics per version and its pods, from Prometheus
// (Options.Metrics), over a bounded range (dashboard.Range.Validate).

// AppDashboard reads k's dashboard over r. The gateway's tracks are named
// after the versions the deployment and its gray plan run.
func (p *Platform) AppDashboard(ctx context.Context, c Caller, k deploy.Key, r dashboard.Range) (dashboard.Dashboard, error) {
	if err := c.may(authz.ApplicationRead, scopeOf(k.Tenant, k.Project)); err != nil {
		return dashboard.Dashboard{}, err
	}
	if err := r.Validate(); err != nil {
		return dashboard.Dashboard{}, err
	}
	var s dashboard.Subject
	var t dashboard.Tracks
	err := p.DB.View(ctx, func(tx Tx) (err error) {
		s, t, err = dashboardSubject(ctx, tx, k)
		return err
	})
	if err != nil {
		return dashboard.Dashboard{}, err
	}
	if p.Metrics == nil {
		return dashboard.Dashboard{}, resource.Refused("dashboards are not available on this server (no Prometheus)")
	}
	return dashboard.Read(ctx, p.Metrics, s, r, t)
}

// dashboardSubject is where k's application runs and which versions are
// on the gateway's tracks: a running gray plan's, or the deployment's
// version as stable.
func dashboardSubject(ctx context.Context, tx Tx, k deploy.Key) (dashboard.Subject, dashboard.Tracks, error) {
	if _, err := tx.GetApplication(ctx, k.Tenant, k.Project, k.Application); err != nil {
		return dashboard.Subject{}, dashboard.Tracks{}, fmt.Errorf("application %s/%s/%s: %w", k.Tenant, k.Project, k.Application, err)
	}
	env, err := tx.GetEnvironment(ctx, k.Tenant, k.Project, k.Environment)
	if err != nil {
		return dashboard.Subject{}, dashboard.Tracks{}, fmt.Errorf("environment %s/%s/%s: %w", k.Tenant, k.Project, k.Environment, err)
	}
	s := dashboard.Subject{Tenant: k.Tenant, Project: k.Project, Environment: k.Environment, Application: k.Application,
		Cluster: env.Cluster, Namespace: env.Namespace}
	var t dashboard.Tracks
	plan, err := tx.GetPlan(ctx, k)
	switch {
	case err == nil && plan.Phase.Active():
		t.Stable = plan.CurrentStable()
		if plan.Phase == gray.Running {
			t.Gray = plan.GrayVersion
		}
		return s, t, nil
	case err != nil && !errors.Is(err, resource.ErrNotFound):
		return s, t, fmt.Errorf("gray plan of %s: %w", k.Application, err)
	}
	d, err := tx.GetDeployment(ctx, k)
	switch {
	case err == nil:
		t.Stable = d.Version
	case !errors.Is(err, resource.ErrNotFound):
		return s, t, fmt.Errorf("deployment of %s: %w", k.Application, err)
	}
	return s, t, nil
}
