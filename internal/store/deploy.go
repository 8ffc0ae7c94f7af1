package store

import (
	"context"
	"strings"

	"berth.dev/berth/internal/deploy"
)

var deploymentsT = table{name: "deployments", keys: []string{"tenant", "project", "application", "environment"}}

func deploymentKeys(k deploy.Key) []any {
	return []any{k.Tenant, k.Project, k.Application, k.Environment}
}

// CreateDeployment implements deploy.Store.
func (tx *Tx) CreateDeployment(ctx context.Context, d deploy.Deployment) error {
	return tx.insert(ctx, deploymentsT, deploymentKeys(d.Key()), nil, d.ResourceVersion, d)
}

// GetDeployment implements deploy.Store.
func (tx *Tx) GetDeployment(ctx context.Context, k deploy.Key) (d deploy.Deployment, err error) {
	return d, tx.get(ctx, deploymentsT, &d, deploymentKeys(k)...)
}

// UpdateDeployment implements deploy.Store.
func (tx *Tx) UpdateDeployment(ctx context.Context, d deploy.Deployment, prevRV int64) error {
	return tx.update(ctx, deploymentsT, deploymentKeys(d.Key()), nil, prevRV, d.ResourceVersion, d)
}

// DeleteDeployment implements deploy.Store.
func (tx *Tx) DeleteDeployment(ctx context.Context, k deploy.Key) error {
	return tx.del(ctx, deploymentsT, deploymentKeys(k), 0)
}

// ListDeployments implements deploy.Store. The page token is
// "application/environment" of the last row; limit 0 lists everything.
// An empty filter lists every tenant's deployments (for the controller).
func (tx *Tx) ListDeployments(ctx context.Context, f deploy.Filter, after string, limit int) ([]deploy.Deployment, error) {
	var conds []string
	var args []any
	for _, c := range []struct{ col, val string }{
		{"tenant", f.Tenant}, {"project", f.Project}, {"application", f.Application}, {"environment", f.Environment},
	} {
		if c.val != "" {
			conds = append(conds, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	if after != "" {
		app, env, _ := strings.Cut(after, "/")
		conds = append(conds, "(application > ? OR (application = ? AND environment > ?))")
		args = append(args, app, app, env)
	}
	q := "SELECT body FROM deployments"
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += " ORDER BY tenant, project, application, environment"
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	return scanBodies[deploy.Deployment](ctx, tx, deploymentsT, q, args...)
}

// PendingDeployments implements deploy.Store.
func (tx *Tx) PendingDeployments(ctx context.Context) ([]deploy.Deployment, error) {
	all, err := tx.ListDeployments(ctx, deploy.Filter{}, "", 0)
	if err != nil {
		return nil, err
	}
	var out []deploy.Deployment
	for _, d := range all {
		if d.Deleting || d.Generation != d.Applied.Generation {
			out = append(out, d)
		}
	}
	return out, nil
}

var _ deploy.Store = (*Tx)(nil)
