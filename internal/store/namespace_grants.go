package store

import (
	"context"
	"strings"

	"berth.dev/berth/internal/tenancy"
)

var (
	namespaceGrantsT = table{name: "namespace_grants", keys: []string{"cluster", "tenant"}}
	approvalFloorsT  = table{name: "approval_floors", keys: []string{"tenant"}}
)

// PutNamespaceGrant implements tenancy.Store.
func (tx *Tx) PutNamespaceGrant(ctx context.Context, g tenancy.NamespaceGrant, prevRV int64) error {
	keys := []any{g.Cluster, g.Tenant}
	if prevRV == 0 {
		return tx.insert(ctx, namespaceGrantsT, keys, nil, g.ResourceVersion, g)
	}
	return tx.update(ctx, namespaceGrantsT, keys, nil, prevRV, g.ResourceVersion, g)
}

// GetNamespaceGrant implements tenancy.Store.
func (tx *Tx) GetNamespaceGrant(ctx context.Context, cluster, tenant string) (g tenancy.NamespaceGrant, err error) {
	return g, tx.get(ctx, namespaceGrantsT, &g, cluster, tenant)
}

// DeleteNamespaceGrant implements tenancy.Store.
func (tx *Tx) DeleteNamespaceGrant(ctx context.Context, cluster, tenant string, prevRV int64) error {
	return tx.del(ctx, namespaceGrantsT, []any{cluster, tenant}, prevRV)
}

// ListNamespaceGrants implements tenancy.Store.
func (tx *Tx) ListNamespaceGrants(ctx context.Context, cluster, tenant string) ([]tenancy.NamespaceGrant, error) {
	conds := []string{"1 = 1"}
	var args []any
	if cluster != "" {
		conds, args = append(conds, "cluster = ?"), append(args, cluster)
	}
	if tenant != "" {
		conds, args = append(conds, "tenant = ?"), append(args, tenant)
	}
	q := "SELECT body FROM namespace_grants WHERE " + strings.Join(conds, " AND ") + " ORDER BY cluster, tenant"
	return scanBodies[tenancy.NamespaceGrant](ctx, tx, namespaceGrantsT, q, args...)
}

// PutApprovalFloor implements tenancy.Store.
func (tx *Tx) PutApprovalFloor(ctx context.Context, f tenancy.ApprovalFloor, prevRV int64) error {
	keys := []any{f.Tenant}
	if prevRV == 0 {
		return tx.insert(ctx, approvalFloorsT, keys, nil, f.ResourceVersion, f)
	}
	return tx.update(ctx, approvalFloorsT, keys, nil, prevRV, f.ResourceVersion, f)
}

// GetApprovalFloor implements tenancy.Store.
func (tx *Tx) GetApprovalFloor(ctx context.Context, tenant string) (f tenancy.ApprovalFloor, err error) {
	return f, tx.get(ctx, approvalFloorsT, &f, tenant)
}
