package store

import (
	"context"

	"berth.dev/berth/internal/slo"
)

var slosT = table{name: "slos", keys: []string{"tenant", "project", "name"}}

var _ slo.Store = (*Tx)(nil)

// CreateSLO implements slo.Store.
func (tx *Tx) CreateSLO(ctx context.Context, s slo.SLO) error {
	return tx.insert(ctx, slosT, []any{s.Tenant, s.Project, s.Name}, nil, s.ResourceVersion, s)
}

// GetSLO implements slo.Store.
func (tx *Tx) GetSLO(ctx context.Context, tenant, project, name string) (s slo.SLO, err error) {
	return s, tx.get(ctx, slosT, &s, tenant, project, name)
}

// UpdateSLO implements slo.Store.
func (tx *Tx) UpdateSLO(ctx context.Context, s slo.SLO, prevRV int64) error {
	return tx.update(ctx, slosT, []any{s.Tenant, s.Project, s.Name}, nil, prevRV, s.ResourceVersion, s)
}

// DeleteSLO implements slo.Store.
func (tx *Tx) DeleteSLO(ctx context.Context, tenant, project, name string) error {
	return tx.del(ctx, slosT, []any{tenant, project, name}, 0)
}

// ListSLOs implements slo.Store.
func (tx *Tx) ListSLOs(ctx context.Context, tenant, project string) ([]slo.SLO, error) {
	return list[slo.SLO](ctx, tx, slosT, []any{tenant, project}, "", maxAll)
}

// AllSLOs implements slo.Store.
func (tx *Tx) AllSLOs(ctx context.Context) ([]slo.SLO, error) {
	return scanBodies[slo.SLO](ctx, tx, slosT, "SELECT body FROM slos ORDER BY tenant, project, name")
}
