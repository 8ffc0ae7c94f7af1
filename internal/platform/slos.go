package platform

import (
	"context"
	"fmt"
	"reflect"

	"berth.dev/berth/internal/alert"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/slo"
)

// # SLOs
//
// A project's SLOs are alerting: writing one takes alert:write at the
// project, reading one or its error budget alert:read. Each change is
// audited in its transaction and announced (change.Alert) after commit, so
// internal/alert/prom publishes the SLO's rules with the project's alert
// rules.

// PutSLO creates or replaces s.
func (p *Platform) PutSLO(ctx context.Context, c Caller, s slo.SLO) (out slo.SLO, created bool, err error) {
	ev := audit.Event{Tenant: s.Tenant, Project: s.Project, Action: "slo.put", Target: s.Path()}
	err = p.Do(ctx, c.Actor, ev, func(tx Tx) error {
		if err := c.may(authz.AlertWrite, scopeOf(s.Tenant, s.Project)); err != nil {
			return err
		}
		out, created, err = p.SLOs.Put(ctx, tx, c.Actor, s)
		return err
	})
	return out, created, err
}

// ApplySLO is PutSLO in the caller's transaction (manifest apply):
// "created", "updated", or "unchanged" when s's spec is the stored one's
// (nothing written).
func (p *Platform) ApplySLO(ctx context.Context, tx Tx, c Caller, s slo.SLO) (string, error) {
	if err := c.may(authz.AlertWrite, scopeOf(s.Tenant, s.Project)); err != nil {
		return "", err
	}
	old, err := tx.GetSLO(ctx, s.Tenant, s.Project, s.Name)
	if err == nil {
		s.ResourceVersion, s.CreatedAt, s.UpdatedAt = old.ResourceVersion, old.CreatedAt, old.UpdatedAt
		if reflect.DeepEqual(old, s) {
			return "unchanged", nil
		}
	}
	_, created, err := p.SLOs.Put(ctx, tx, c.Actor, s)
	return map[bool]string{true: "created", false: "updated"}[created], err
}

// DeleteSLO deletes an SLO; its rules leave Prometheus at the next
// publication.
func (p *Platform) DeleteSLO(ctx context.Context, c Caller, tenant, project, name string) error {
	ev := audit.Event{Tenant: tenant, Project: project, Action: "slo.delete", Target: slo.SLO{Tenant: tenant, Project: project, Name: name}.Path()}
	return p.Do(ctx, c.Actor, ev, func(tx Tx) error {
		if err := c.may(authz.AlertWrite, scopeOf(tenant, project)); err != nil {
			return err
		}
		return p.SLOs.Delete(ctx, tx, c.Actor, tenant, project, name)
	})
}

// GetSLO reads one SLO.
func (p *Platform) GetSLO(ctx context.Context, c Caller, tenant, project, name string) (slo.SLO, error) {
	if err := c.may(authz.AlertRead, scopeOf(tenant, project)); err != nil {
		return slo.SLO{}, err
	}
	var s slo.SLO
	err := p.DB.View(ctx, func(tx Tx) (err error) {
		if s, err = tx.GetSLO(ctx, tenant, project, name); err != nil {
			return fmt.Errorf("slo %s: %w", name, err)
		}
		return nil
	})
	return s, err
}

// ListSLOs lists a project's SLOs by name.
func (p *Platform) ListSLOs(ctx context.Context, c Caller, tenant, project string) ([]slo.SLO, error) {
	if err := c.may(authz.AlertRead, scopeOf(tenant, project)); err != nil {
		return nil, err
	}
	var out []slo.SLO
	err := p.DB.View(ctx, func(tx Tx) (err error) {
		if _, err := tx.GetProject(ctx, tenant, project); err != nil {
			return fmt.Errorf("project %s/%s: %w", tenant, project, err)
		}
		out, err = tx.ListSLOs(ctx, tenant, project)
		return err
	})
	return out, err
}

// SLOBudget reads where an SLO's error budget stands now, from
// Prometheus.
func (p *Platform) SLOBudget(ctx context.Context, c Caller, tenant, project, name string) (slo.Budget, error) {
	if err := c.may(authz.AlertRead, scopeOf(tenant, project)); err != nil {
		return slo.Budget{}, err
	}
	var s slo.SLO
	var place alert.Place
	err := p.DB.View(ctx, func(tx Tx) (err error) {
		if s, err = tx.GetSLO(ctx, tenant, project, name); err != nil {
			return fmt.Errorf("slo %s: %w", name, err)
		}
		place, err = slo.Place(ctx, tx, s)
		return err
	})
	if err != nil {
		return slo.Budget{}, err
	}
	if p.SLOQuerier == nil {
		return slo.Budget{}, resource.Refused("error budgets are not available on this server (no Prometheus)")
	}
	return s.Budget(ctx, p.SLOQuerier, place, p.Clock.Now())
}
