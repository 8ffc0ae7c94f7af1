package store

import (
	"context"

	"berth.dev/berth/internal/apps"
)

// CreateApplication implements apps.Store.
func (tx *Tx) CreateApplication(ctx context.Context, a apps.Application) error {
	return tx.insert(ctx, applicationsT, []any{a.Tenant, a.Project, a.Name}, nil, a.ResourceVersion, a)
}

// GetApplication implements apps.Store.
func (tx *Tx) GetApplication(ctx context.Context, tenant, project, name string) (a apps.Application, err error) {
	return a, tx.get(ctx, applicationsT, &a, tenant, project, name)
}

// UpdateApplication implements apps.Store.
func (tx *Tx) UpdateApplication(ctx context.Context, a apps.Application, prevRV int64) error {
	return tx.update(ctx, applicationsT, []any{a.Tenant, a.Project, a.Name}, nil, prevRV, a.ResourceVersion, a)
}

// DeleteApplication implements apps.Store; versions and the reservation
// go with it (ON DELETE CASCADE).
func (tx *Tx) DeleteApplication(ctx context.Context, tenant, project, name string, prevRV int64) error {
	return tx.del(ctx, applicationsT, []any{tenant, project, name}, prevRV)
}

// ListApplications implements apps.Store.
func (tx *Tx) ListApplications(ctx context.Context, tenant, project, after string, limit int) ([]apps.Application, error) {
	return list[apps.Application](ctx, tx, applicationsT, []any{tenant, project}, after, limit)
}

// CreateVersion implements apps.Store.
func (tx *Tx) CreateVersion(ctx context.Context, v apps.Version) error {
	var tier any
	if v.Tier != "" {
		tier = v.Tier
	}
	return tx.insert(ctx, versionsT, []any{v.Tenant, v.Project, v.Application, v.Name}, []any{tier}, 1, v)
}

// GetVersion implements apps.Store.
func (tx *Tx) GetVersion(ctx context.Context, tenant, project, app, name string) (v apps.Version, err error) {
	return v, tx.get(ctx, versionsT, &v, tenant, project, app, name)
}

// ListVersions implements apps.Store.
func (tx *Tx) ListVersions(ctx context.Context, tenant, project, app, after string, limit int) ([]apps.Version, error) {
	return list[apps.Version](ctx, tx, versionsT, []any{tenant, project, app}, after, limit)
}

// CreateTier implements apps.Store.
func (tx *Tx) CreateTier(ctx context.Context, t apps.Tier) error {
	return tx.insert(ctx, tiersT, []any{t.Name}, nil, t.ResourceVersion, t)
}

// GetTier implements apps.Store.
func (tx *Tx) GetTier(ctx context.Context, name string) (t apps.Tier, err error) {
	return t, tx.get(ctx, tiersT, &t, name)
}

// UpdateTier implements apps.Store.
func (tx *Tx) UpdateTier(ctx context.Context, t apps.Tier, prevRV int64) error {
	return tx.update(ctx, tiersT, []any{t.Name}, nil, prevRV, t.ResourceVersion, t)
}

// DeleteTier implements apps.Store: only a tier no version uses.
func (tx *Tx) DeleteTier(ctx context.Context, name string, prevRV int64) error {
	if err := tx.inUse(ctx, "versions use the tier", "versions", "tier = ?", name); err != nil {
		return err
	}
	return tx.del(ctx, tiersT, []any{name}, prevRV)
}

// ListTiers implements apps.Store.
func (tx *Tx) ListTiers(ctx context.Context, after string, limit int) ([]apps.Tier, error) {
	return list[apps.Tier](ctx, tx, tiersT, nil, after, limit)
}
