package tenancy

import (
	"context"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
)

// Store is what tenancy needs from persistence, bound to one transaction.
// Lists return up to limit items with names after `after`, by name.
// Updates and deletes take the ResourceVersion the caller read (prevRV) and
// fail with resource.ErrConflict when the stored one differs; they write
// the object as given, including its new ResourceVersion. Missing objects
// are resource.ErrNotFound, duplicates resource.ErrAlreadyExists, deleting
// a referenced object resource.ErrInUse.
type Store interface {
	audit.Writer

	CreateTenant(ctx context.Context, t Tenant) error
	GetTenant(ctx context.Context, name string) (Tenant, error)
	UpdateTenant(ctx context.Context, t Tenant, prevRV int64) error
	DeleteTenant(ctx context.Context, name string, prevRV int64) error
	ListTenants(ctx context.Context, after string, limit int) ([]Tenant, error)
	// LockTenant holds the tenant's row until the transaction ends, so
	// quota checks of concurrent transactions serialize.
	LockTenant(ctx context.Context, name string) error

	CreateProject(ctx context.Context, p Project) error
	GetProject(ctx context.Context, tenant, name string) (Project, error)
	UpdateProject(ctx context.Context, p Project, prevRV int64) error
	DeleteProject(ctx context.Context, tenant, name string, prevRV int64) error
	ListProjects(ctx context.Context, tenant, after string, limit int) ([]Project, error)

	CreateEnvironment(ctx context.Context, e Environment) error
	GetEnvironment(ctx context.Context, tenant, project, name string) (Environment, error)
	UpdateEnvironment(ctx context.Context, e Environment, prevRV int64) error
	DeleteEnvironment(ctx context.Context, tenant, project, name string, prevRV int64) error
	ListEnvironments(ctx context.Context, tenant, project, after string, limit int) ([]Environment, error)

	CreateCluster(ctx context.Context, c ClusterRecord) error
	GetCluster(ctx context.Context, name string) (ClusterRecord, error)
	UpdateCluster(ctx context.Context, c ClusterRecord, prevRV int64) error
	DeleteCluster(ctx context.Context, name string, prevRV int64) error
	ListClusters(ctx context.Context, after string, limit int) ([]ClusterRecord, error)

	CreateMember(ctx context.Context, m Member) error
	DeleteMember(ctx context.Context, s Scope, key string, prevRV int64) error
	GetMember(ctx context.Context, s Scope, key string) (Member, error)
	// ListMembers lists the bindings at exactly scope s, by Member.Key.
	ListMembers(ctx context.Context, s Scope, after string, limit int) ([]Member, error)
	// MembershipsOf returns every binding of user at every scope.
	MembershipsOf(ctx context.Context, user string) ([]Member, error)

	// PutNamespaceGrant creates (prevRV 0) or updates a grant.
	PutNamespaceGrant(ctx context.Context, g NamespaceGrant, prevRV int64) error
	GetNamespaceGrant(ctx context.Context, cluster, tenant string) (NamespaceGrant, error)
	DeleteNamespaceGrant(ctx context.Context, cluster, tenant string, prevRV int64) error
	// ListNamespaceGrants lists the grants on cluster, or of tenant, or
	// both filters when both are set, by cluster then tenant.
	ListNamespaceGrants(ctx context.Context, cluster, tenant string) ([]NamespaceGrant, error)

	// PutApprovalFloor creates (prevRV 0) or updates the approval floor of
	// a tenant, or of the platform (Tenant empty).
	PutApprovalFloor(ctx context.Context, f ApprovalFloor, prevRV int64) error
	GetApprovalFloor(ctx context.Context, tenant string) (ApprovalFloor, error)

	// PutQuota creates (prevRV 0) or updates a quota.
	PutQuota(ctx context.Context, q Quota, prevRV int64) error
	GetQuota(ctx context.Context, s Scope) (Quota, error)
	DeleteQuota(ctx context.Context, s Scope, prevRV int64) error
	// ListProjectQuotas returns every project quota of tenant.
	ListProjectQuotas(ctx context.Context, tenant string) ([]Quota, error)

	// PutReservation records what an application holds (replacing what it
	// held); DeleteReservation drops it.
	PutReservation(ctx context.Context, r Reservation) error
	GetReservation(ctx context.Context, tenant, project, app string) (Reservation, error)
	DeleteReservation(ctx context.Context, tenant, project, app string) error
	// SumReservations adds up the reservations of a tenant (project "")
	// or of one project.
	SumReservations(ctx context.Context, tenant, project string) (resource.List, error)
}
