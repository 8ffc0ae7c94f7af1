package controller

import (
	"context"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/netasset"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/tenancy"
)

// What each controller reads from the store itself, stated per controller:
// its read transactions see only these methods (view). What a controller
// writes goes through a domain service, which states its own Store.

// deploymentReads is what the deployment controller reads.
type deploymentReads interface {
	GetDeployment(ctx context.Context, k deploy.Key) (deploy.Deployment, error)
	PendingDeployments(ctx context.Context) ([]deploy.Deployment, error)
	ListDeployments(ctx context.Context, f deploy.Filter, after string, limit int) ([]deploy.Deployment, error)
	GetEnvironment(ctx context.Context, tenant, project, name string) (tenancy.Environment, error)
	GetVersion(ctx context.Context, tenant, project, app, name string) (apps.Version, error)
	GetQuota(ctx context.Context, s tenancy.Scope) (tenancy.Quota, error)
	ListAllocations(ctx context.Context, f netasset.AllocationFilter) ([]netasset.Allocation, error)
}

// grayReads is what the gray plan controller reads.
type grayReads interface {
	GetPlan(ctx context.Context, k deploy.Key) (gray.Plan, error)
	ListPlans(ctx context.Context, f deploy.Filter) ([]gray.Plan, error)
	GetDeployment(ctx context.Context, k deploy.Key) (deploy.Deployment, error)
	GetEnvironment(ctx context.Context, tenant, project, name string) (tenancy.Environment, error)
	GetVersion(ctx context.Context, tenant, project, app, name string) (apps.Version, error)
}

// gatewayReads is what the gateway configuration publisher reads.
type gatewayReads interface {
	GetDeployment(ctx context.Context, k deploy.Key) (deploy.Deployment, error)
	GetPlan(ctx context.Context, k deploy.Key) (gray.Plan, error)
	ListDeployments(ctx context.Context, f deploy.Filter, after string, limit int) ([]deploy.Deployment, error)
	ListPlans(ctx context.Context, f deploy.Filter) ([]gray.Plan, error)
	GetEnvironment(ctx context.Context, tenant, project, name string) (tenancy.Environment, error)
	GetVersion(ctx context.Context, tenant, project, app, name string) (apps.Version, error)
}

// releaseReads is what the release controller reads.
type releaseReads interface {
	ActiveOrders(ctx context.Context) ([]release.Order, error)
}

// isolationReads is what the isolation controller reads.
type isolationReads interface {
	ListClusters(ctx context.Context, after string, limit int) ([]tenancy.ClusterRecord, error)
}

// Every transaction-bound store offers what each controller reads.
var (
	_ deploymentReads = platform.Tx(nil)
	_ grayReads       = platform.Tx(nil)
	_ gatewayReads    = platform.Tx(nil)
	_ releaseReads    = platform.Tx(nil)
	_ isolationReads  = platform.Tx(nil)
)

// view runs fn in a read-only transaction of db that fn sees as R, one of
// the read sets above (checked when this package compiles).
func view[R any](ctx context.Context, db platform.Transactor, fn func(R) error) error {
	return db.View(ctx, func(tx platform.Tx) error { return fn(any(tx).(R)) })
}
