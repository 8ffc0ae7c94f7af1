package platform

import (
	"context"
	"errors"
	"fmt"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/appstore"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/resource"
)

// # AppInstall manifests (docs/app-store.md)
//
// A manifest's documents are applied in one transaction; a chart is
// rendered against the environment's cluster, which must not happen
// inside it. PrepareChart renders, before the transaction, what an
// AppInstall document asks for when it differs from what runs; ApplyChart
// writes it in the transaction: a new install as InstallChart does, a
// changed one as a new chart version released by a release order (so a
// fault rolls it back), started at once where the environment needs no
// approvals.

// PreparedChart is an AppInstall rendered for ApplyChart.
type PreparedChart struct {
	in        appstore.Install
	v         apps.Version
	upgrade   bool
	unchanged bool
}

// PrepareChart authorises and validates in and, unless the install runs
// exactly that chart, version and values already, renders it.
func (p *Platform) PrepareChart(ctx context.Context, c Caller, in appstore.Install) (PreparedChart, error) {
	if _, err := in.Validate(); err != nil {
		return PreparedChart{}, err
	}
	k := deploy.Key{Tenant: in.Tenant, Project: in.Project, Application: in.Name, Environment: in.Environment}
	var running *apps.Chart
	exists := false
	err := p.DB.View(ctx, func(tx Tx) error {
		if _, err := tx.GetApplication(ctx, in.Tenant, in.Project, in.Name); err == nil {
			exists = true
		} else if !errors.Is(err, resource.ErrNotFound) {
			return err
		}
		d, err := tx.GetDeployment(ctx, k)
		if errors.Is(err, resource.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		v, err := tx.GetVersion(ctx, k.Tenant, k.Project, k.Application, d.Version)
		running = v.Chart
		return err
	})
	if err != nil {
		return PreparedChart{}, err
	}
	if running != nil && running.Catalog == in.Catalog && running.Name == in.Chart && running.Version == in.Version && running.Values == in.Values {
		return PreparedChart{in: in, unchanged: true}, nil
	}
	v, err := p.renderInstall(ctx, c, in, exists)
	if err != nil {
		return PreparedChart{}, err
	}
	return PreparedChart{in: in, v: v, upgrade: exists}, nil
}

// ApplyChart writes pc in tx and says what it did: "unchanged",
// "created" (installed and deployed), or "updated" (a new chart version
// and the release order that deploys it).
func (p *Platform) ApplyChart(ctx context.Context, tx Tx, c Caller, pc PreparedChart) (string, error) {
	if pc.unchanged {
		return "unchanged", nil
	}
	if !pc.upgrade {
		return "created", p.writeInstall(ctx, tx, c, pc.in, pc.v, false, InstallOptions{})
	}
	if err := p.writeInstall(ctx, tx, c, pc.in, pc.v, true, InstallOptions{VersionOnly: true}); err != nil {
		return "", err
	}
	in := pc.in
	if err := c.may(authz.ReleaseCreate, scopeOf(in.Tenant, in.Project)); err != nil {
		return "", err
	}
	o, err := p.Release.Create(ctx, tx, c.Actor, release.Order{Tenant: in.Tenant, Project: in.Project, Environment: in.Environment,
		Title: fmt.Sprintf("upgrade %s to chart %s/%s %s (%s)", in.Name, in.Catalog, in.Chart, in.Version, pc.v.Name),
		Items: []release.Item{{Application: in.Name, Version: pc.v.Name}}}, false)
	if err != nil {
		return "", fmt.Errorf("release order: %w", err)
	}
	if o.State == release.Approved { // no approvals required in this environment
		if _, err := p.StartOrder(ctx, tx, c, o.Key()); err != nil {
			return "", fmt.Errorf("release order %s: %w", o.ID, err)
		}
	}
	return "updated", nil
}
