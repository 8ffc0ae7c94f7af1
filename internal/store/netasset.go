package store

import (
	"context"
	"strings"

	"berth.dev/berth/internal/netasset"
)

var (
	portGrantsT  = table{name: "net_port_grants", keys: []string{"cluster", "tenant", "project"}}
	allocationsT = table{name: "net_port_allocations", keys: []string{"cluster", "port"},
		extra: []string{"tenant", "project", "application", "environment", "port_name"}}
	isolationT = table{name: "net_isolation", keys: []string{"tenant", "project"}}
)

var _ netasset.Store = (*Tx)(nil)

// GetGrant implements netasset.Store.
func (tx *Tx) GetGrant(ctx context.Context, cluster, tenant, project string) (g netasset.Grant, err error) {
	return g, tx.get(ctx, portGrantsT, &g, cluster, tenant, project)
}

// PutGrant implements netasset.Store.
func (tx *Tx) PutGrant(ctx context.Context, g netasset.Grant, prevRV int64) error {
	keys := []any{g.Cluster, g.Tenant, g.Project}
	if prevRV == 0 {
		return tx.insert(ctx, portGrantsT, keys, nil, g.ResourceVersion, g)
	}
	return tx.update(ctx, portGrantsT, keys, nil, prevRV, g.ResourceVersion, g)
}

// DeleteGrant implements netasset.Store.
func (tx *Tx) DeleteGrant(ctx context.Context, cluster, tenant, project string) error {
	return tx.del(ctx, portGrantsT, []any{cluster, tenant, project}, 0)
}

// ListGrants implements netasset.Store.
func (tx *Tx) ListGrants(ctx context.Context, cluster, tenant string) ([]netasset.Grant, error) {
	var conds []string
	var args []any
	if cluster != "" {
		conds, args = append(conds, "cluster = ?"), append(args, cluster)
	}
	if tenant == "" {
		conds = append(conds, "tenant <> ''", "project = ''")
	} else {
		conds, args = append(conds, "tenant = ?"), append(args, tenant)
	}
	q := "SELECT body FROM net_port_grants WHERE " + strings.Join(conds, " AND ") + " ORDER BY cluster, tenant, project"
	return scanBodies[netasset.Grant](ctx, tx, portGrantsT, q, args...)
}

// InsertAllocation implements netasset.Store.
func (tx *Tx) InsertAllocation(ctx context.Context, a netasset.Allocation) error {
	return tx.insert(ctx, allocationsT, []any{a.Cluster, a.Port},
		[]any{a.Tenant, a.Project, a.Application, a.Environment, a.PortName}, 1, a)
}

// DeleteAllocation implements netasset.Store.
func (tx *Tx) DeleteAllocation(ctx context.Context, cluster string, port int) error {
	return tx.del(ctx, allocationsT, []any{cluster, port}, 0)
}

// ListAllocations implements netasset.Store.
func (tx *Tx) ListAllocations(ctx context.Context, f netasset.AllocationFilter) ([]netasset.Allocation, error) {
	conds := []string{"1 = 1"}
	var args []any
	for _, c := range []struct{ col, val string }{
		{"cluster", f.Cluster}, {"tenant", f.Tenant}, {"project", f.Project},
		{"application", f.Application}, {"environment", f.Environment},
	} {
		if c.val != "" {
			conds, args = append(conds, c.col+" = ?"), append(args, c.val)
		}
	}
	q := "SELECT body FROM net_port_allocations WHERE " + strings.Join(conds, " AND ") + " ORDER BY cluster, port"
	return scanBodies[netasset.Allocation](ctx, tx, allocationsT, q, args...)
}

// GetIsolation implements netasset.Store.
func (tx *Tx) GetIsolation(ctx context.Context, tenant, project string) (i netasset.Isolation, err error) {
	return i, tx.get(ctx, isolationT, &i, tenant, project)
}

// PutIsolation implements netasset.Store.
func (tx *Tx) PutIsolation(ctx context.Context, i netasset.Isolation, prevRV int64) error {
	keys := []any{i.Tenant, i.Project}
	if prevRV == 0 {
		return tx.insert(ctx, isolationT, keys, nil, i.ResourceVersion, i)
	}
	return tx.update(ctx, isolationT, keys, nil, prevRV, i.ResourceVersion, i)
}

// ListIsolations implements netasset.Store.
func (tx *Tx) ListIsolations(ctx context.Context, tenant string) ([]netasset.Isolation, error) {
	q, args := "SELECT body FROM net_isolation ORDER BY tenant, project", []any{}
	if tenant != "" {
		q, args = "SELECT body FROM net_isolation WHERE tenant = ? ORDER BY tenant, project", []any{tenant}
	}
	return scanBodies[netasset.Isolation](ctx, tx, isolationT, q, args...)
}
