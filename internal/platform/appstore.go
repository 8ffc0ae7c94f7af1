package platform

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/appstore"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/resource"
)

// # The app store (docs/app-store.md, ADR 0019)
//
// An install is an application whose versions are chart versions: install
// renders the chart for the environment's cluster, then, in one
// transaction, creates the application and its first version and deploys
// it — the deployment reserves the rendered workloads' requests against
// the project's quota, so a chart that does not fit is refused before
// anything is written or applied. Upgrade renders a new version and
// deploys it (or only creates it, for a release order to deploy); rollback
// deploys an earlier version; uninstall removes the deployment, whose
// objects the deployment controller deletes. Each is audited; a refusal
// is audited as a failure.

// StoreOptions configure the app store: Renderer renders charts
// (kube.ChartRenderer), Catalogs are the platform-wide catalogues by name.
type StoreOptions struct {
	Renderer appstore.Renderer
	Catalogs []appstore.Catalog
}

// StoreEntries lists the charts of every catalogue; any signed-in caller
// may browse them.
func (p *Platform) StoreEntries(ctx context.Context, c Caller) ([]appstore.Entry, error) {
	var out []appstore.Entry
	for _, cat := range p.Store.Catalogs {
		es, err := cat.List(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	return out, nil
}

func (p *Platform) catalog(name string) (appstore.Catalog, error) {
	for _, c := range p.Store.Catalogs {
		if c.Name() == name {
			return c, nil
		}
	}
	return nil, &resource.ValidationError{Fields: []resource.FieldError{{Path: "catalog", Reason: fmt.Sprintf("no catalogue %q", name)}}}
}

// InstallOptions qualify UpgradeChart.
type InstallOptions struct {
	// VersionOnly creates the chart version without deploying it: a
	// release order deploys it (with automatic rollback).
	VersionOnly bool
}

// InstallChart installs in: a new application in.Name of the project,
// its version r1 rendered from the chart, deployed to in.Environment.
func (p *Platform) InstallChart(ctx context.Context, c Caller, in appstore.Install) (apps.Version, error) {
	return p.installChart(ctx, c, in, false, InstallOptions{})
}

// UpgradeChart renders in as the next version of the install in.Name and
// deploys it (not with opt.VersionOnly).
func (p *Platform) UpgradeChart(ctx context.Context, c Caller, in appstore.Install, opt InstallOptions) (apps.Version, error) {
	return p.installChart(ctx, c, in, true, opt)
}

func (p *Platform) installChart(ctx context.Context, c Caller, in appstore.Install, upgrade bool, opt InstallOptions) (apps.Version, error) {
	action, verb := "appstore.install", "install"
	if upgrade {
		action, verb = "appstore.upgrade", "upgrade"
	}
	k := deploy.Key{Tenant: in.Tenant, Project: in.Project, Application: in.Name, Environment: in.Environment}
	ev := audit.Event{Tenant: in.Tenant, Project: in.Project, Action: action, Target: k.Path(),
		Summary: fmt.Sprintf("%s chart %s/%s %s as %s in %s", verb, in.Catalog, in.Chart, in.Version, in.Name, in.Environment)}
	v, err := p.renderInstall(ctx, c, in, upgrade)
	if err != nil {
		// Refused before anything was written: audited as a failure.
		return apps.Version{}, p.Do(ctx, c.Actor, ev, func(Tx) error { return err })
	}
	err = p.Do(ctx, c.Actor, ev, func(tx Tx) error { return p.writeInstall(ctx, tx, c, in, v, upgrade, opt) })
	return v, err
}

// writeInstall writes chart version v of in, rendered: the application
// too on install, and the deployment unless opt.VersionOnly; with its
// audit record.
func (p *Platform) writeInstall(ctx context.Context, tx Tx, c Caller, in appstore.Install, v apps.Version, upgrade bool, opt InstallOptions) error {
	action, verb := "appstore.install", "install"
	if upgrade {
		action, verb = "appstore.upgrade", "upgrade"
	}
	k := deploy.Key{Tenant: in.Tenant, Project: in.Project, Application: in.Name, Environment: in.Environment}
	if !upgrade {
		if _, err := p.Apps.CreateApplication(ctx, tx, c.Actor, apps.Application{Tenant: in.Tenant, Project: in.Project, Name: in.Name,
			Description: fmt.Sprintf("app-store install of %s/%s", in.Catalog, in.Chart)}); err != nil {
			return err
		}
	}
	if _, err := p.Apps.CreateVersion(ctx, tx, c.Actor, v, apps.VersionOptions{}); err != nil {
		return err
	}
	if !opt.VersionOnly {
		if _, err := p.DeployVersion(ctx, tx, c, k, v.Name); err != nil {
			return err
		}
	}
	ev := audit.Event{Tenant: in.Tenant, Project: in.Project, Action: action, Target: k.Path(),
		Summary: fmt.Sprintf("%sed chart %s/%s %s as %s version %s in %s: %d objects, %d hooks, %d CRDs, reserving %s", verb, in.Catalog, in.Chart,
			in.Version, in.Name, v.Name, in.Environment, len(v.Chart.Objects), len(v.Chart.Hooks), len(v.Chart.CRDs), describeList(v.Chart.Footprint))}
	_, err := audit.Append(ctx, tx, p.Clock.Now(), c.Actor, ev)
	return err
}

// renderInstall authorises, validates and renders in as the next chart
// version of its application (r1 on install).
func (p *Platform) renderInstall(ctx context.Context, c Caller, in appstore.Install, upgrade bool) (apps.Version, error) {
	scope := scopeOf(in.Tenant, in.Project)
	perms := []authz.Permission{authz.VersionCreate, authz.DeploymentDeploy}
	if !upgrade {
		perms = append(perms, authz.ApplicationCreate)
	}
	for _, perm := range perms {
		if err := c.may(perm, scope); err != nil {
			return apps.Version{}, err
		}
	}
	if in.AllowCRDs {
		// CustomResourceDefinitions are cluster-wide: a platform admin's call.
		if err := c.may(authz.ClusterUpdate, authz.Platform); err != nil {
			return apps.Version{}, fmt.Errorf("allowCRDs: %w", err)
		}
	}
	vals, err := in.Validate()
	if err != nil {
		return apps.Version{}, err
	}
	if p.Store.Renderer == nil {
		return apps.Version{}, fmt.Errorf("the app store has no chart renderer on this server: %w", resource.ErrConflict)
	}
	cat, err := p.catalog(in.Catalog)
	if err != nil {
		return apps.Version{}, err
	}
	var kubeconfig []byte
	var cluster, namespace string
	revision := 1
	err = p.DB.View(ctx, func(tx Tx) error {
		env, err := tx.GetEnvironment(ctx, in.Tenant, in.Project, in.Environment)
		if err != nil {
			return fmt.Errorf("environment %s: %w", in.Environment, err)
		}
		cluster, namespace = env.Cluster, env.Namespace
		if kubeconfig, err = p.Tenancy.Kubeconfig(ctx, tx, env.Cluster); err != nil {
			return err
		}
		revision, err = nextRevision(ctx, tx, in, upgrade)
		return err
	})
	if err != nil {
		return apps.Version{}, err
	}
	ch, err := cat.Get(ctx, in.Chart, in.Version)
	if err != nil {
		return apps.Version{}, err
	}
	r, err := p.Store.Renderer.RenderChart(ctx, cluster, kubeconfig, appstore.RenderRequest{Chart: ch, Release: in.Name,
		Namespace: namespace, Values: vals, Revision: revision, Upgrade: upgrade, AllowCRDs: in.AllowCRDs})
	if err != nil {
		return apps.Version{}, err
	}
	if r.Name != in.Chart {
		return apps.Version{}, &resource.ValidationError{Fields: []resource.FieldError{{Path: "chart",
			Reason: fmt.Sprintf("the catalogue handed out chart %s, not %s", r.Name, in.Chart)}}}
	}
	return appstore.VersionOf(in, revision, r), nil
}

// nextRevision is the number of in's next chart version: 1 for an install
// (the application must not exist), one past the highest "rN" for an
// upgrade of an install (every version a chart version).
func nextRevision(ctx context.Context, tx Tx, in appstore.Install, upgrade bool) (int, error) {
	_, err := tx.GetApplication(ctx, in.Tenant, in.Project, in.Name)
	switch {
	case !upgrade && err == nil:
		return 0, fmt.Errorf("application %s already exists: upgrade it: %w", in.Name, resource.ErrConflict)
	case !upgrade && errors.Is(err, resource.ErrNotFound):
		return 1, nil
	case err != nil:
		return 0, fmt.Errorf("install %s: %w", in.Name, err)
	}
	top, after := 0, ""
	for {
		vs, err := tx.ListVersions(ctx, in.Tenant, in.Project, in.Name, after, 500)
		if err != nil {
			return 0, err
		}
		for _, v := range vs {
			if v.Chart == nil {
				return 0, &resource.ValidationError{Fields: []resource.FieldError{{Path: "name",
					Reason: fmt.Sprintf("application %s is not an app-store install: its version %s has no chart", in.Name, v.Name)}}}
			}
			if n, err := strconv.Atoi(strings.TrimPrefix(v.Name, "r")); err == nil && n > top {
				top = n
			}
		}
		if len(vs) < 500 {
			return top + 1, nil
		}
		after = vs[len(vs)-1].Name
	}
}

// UninstallOptions qualify UninstallChart.
type UninstallOptions struct {
	// DeleteCRDs deletes the chart's CustomResourceDefinitions too, and
	// with them every object of their kinds in the cluster (a platform
	// admin's call); they are kept otherwise.
	DeleteCRDs bool
}

// UninstallChart removes the install's deployment in k's environment: the
// deployment controller deletes every object it applied, the hook objects
// left behind, and, with opt.DeleteCRDs, the chart's
// CustomResourceDefinitions. The application and its chart versions stay,
// as history (delete the application to drop them).
func (p *Platform) UninstallChart(ctx context.Context, c Caller, k deploy.Key, opt UninstallOptions) error {
	ev := audit.Event{Tenant: k.Tenant, Project: k.Project, Action: "appstore.uninstall", Target: k.Path(),
		Summary: fmt.Sprintf("uninstall %s from %s", k.Application, k.Environment)}
	return p.Do(ctx, c.Actor, ev, func(tx Tx) error {
		if err := c.may(authz.DeploymentDelete, scopeOf(k.Tenant, k.Project)); err != nil {
			return err
		}
		if opt.DeleteCRDs {
			if err := c.may(authz.ClusterUpdate, authz.Platform); err != nil {
				return fmt.Errorf("deleteCRDs: %w", err)
			}
		}
		d, err := tx.GetDeployment(ctx, k)
		if err != nil {
			return fmt.Errorf("deployment %s: %w", k.Path(), err)
		}
		v, err := tx.GetVersion(ctx, k.Tenant, k.Project, k.Application, d.Version)
		if err != nil {
			return err
		}
		if v.Chart == nil {
			return &resource.ValidationError{Fields: []resource.FieldError{{Path: "name",
				Reason: fmt.Sprintf("application %s is not an app-store install", k.Application)}}}
		}
		if err := release.NotHeld(ctx, tx, k); err != nil {
			return err
		}
		if _, err := p.Deploy.DeleteInstall(ctx, tx, c.Actor, k, opt.DeleteCRDs); err != nil {
			return err
		}
		ev.Summary = fmt.Sprintf("uninstalled %s from %s", k.Application, k.Environment)
		if opt.DeleteCRDs && len(v.Chart.CRDs) > 0 {
			ev.Summary += fmt.Sprintf(", deleting the chart's %d CustomResourceDefinitions and every object of their kinds", len(v.Chart.CRDs))
		}
		_, err = audit.Append(ctx, tx, p.Clock.Now(), c.Actor, ev)
		return err
	})
}

// Installed is one install as listed: its deployment and the chart
// version it runs.
type Installed struct {
	Deployment deploy.Deployment
	Chart      apps.Chart // without its objects
}

// Installs lists a project's installs: its deployments whose version is a
// chart version.
func (p *Platform) Installs(ctx context.Context, c Caller, tenant, project string) ([]Installed, error) {
	if err := c.may(authz.DeploymentRead, scopeOf(tenant, project)); err != nil {
		return nil, err
	}
	var out []Installed
	err := p.DB.View(ctx, func(tx Tx) error {
		ds, err := tx.ListDeployments(ctx, deploy.Filter{Tenant: tenant, Project: project}, "", 0)
		if err != nil {
			return err
		}
		for _, d := range ds {
			v, err := tx.GetVersion(ctx, d.Tenant, d.Project, d.Application, d.Version)
			if err != nil {
				return err
			}
			if v.Chart == nil {
				continue
			}
			ch := *v.Chart
			ch.Objects, ch.Hooks, ch.CRDs = nil, nil, nil
			out = append(out, Installed{Deployment: d, Chart: ch})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Deployment.Key().Path() < out[j].Deployment.Key().Path() })
	return out, err
}

func describeList(l resource.List) string {
	var parts []string
	for _, n := range l.Names() {
		parts = append(parts, fmt.Sprintf("%s %s", n, l[n]))
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}
