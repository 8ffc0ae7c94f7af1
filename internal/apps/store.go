package apps

import (
	"context"

	"berth.dev/berth/internal/tenancy"
)

// Store is what apps needs from persistence, bound to one transaction. It
// follows the conventions of tenancy.Store, which it includes for project
// lookups and quota reservations. Versions are never updated.
type Store interface {
	tenancy.Store

	CreateApplication(ctx context.Context, a Application) error
	GetApplication(ctx context.Context, tenant, project, name string) (Application, error)
	UpdateApplication(ctx context.Context, a Application, prevRV int64) error
	// DeleteApplication deletes the application with its versions.
	DeleteApplication(ctx context.Context, tenant, project, name string, prevRV int64) error
	ListApplications(ctx context.Context, tenant, project, after string, limit int) ([]Application, error)

	CreateVersion(ctx context.Context, v Version) error
	GetVersion(ctx context.Context, tenant, project, app, name string) (Version, error)
	ListVersions(ctx context.Context, tenant, project, app, after string, limit int) ([]Version, error)

	CreateTier(ctx context.Context, t Tier) error
	GetTier(ctx context.Context, name string) (Tier, error)
	UpdateTier(ctx context.Context, t Tier, prevRV int64) error
	// DeleteTier fails with resource.ErrInUse while a version uses it.
	DeleteTier(ctx context.Context, name string, prevRV int64) error
	ListTiers(ctx context.Context, after string, limit int) ([]Tier, error)
}
