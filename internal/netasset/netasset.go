package netasset

import (
	"context"
	"time"

	"berth.dev/berth/internal/deploy"
)

// DefaultPool is the Kubernetes NodePort range, a cluster's pool until a
// platform admin sets another.
var DefaultPool = NewPortSet(Range{30000, 32767})

// Grant is the ports of a cluster's pool given to a tenant (Project empty)
// or, out of its tenant's grant, to a project. A cluster's own pool is the
// Grant with Tenant and Project empty.
type Grant struct {
	Cluster         string    `json:"cluster"`
	Tenant          string    `json:"tenant,omitempty"`
	Project         string    `json:"project,omitempty"`
	Ports           PortSet   `json:"ports"`
	ResourceVersion int64     `json:"resourceVersion"`
	UpdatedAt       time.Time `json:"updatedAt,omitzero"`
}

// Scope names where a grant or a view applies: "cluster c1", "tenant acme
// on c1", "project acme/payments on c1".
func (g Grant) Scope() string {
	switch {
	case g.Tenant == "":
		return "cluster " + g.Cluster
	case g.Project == "":
		return "tenant " + g.Tenant + " on " + g.Cluster
	}
	return "project " + g.Tenant + "/" + g.Project + " on " + g.Cluster
}

// Allocation is one node port held by an application's port in one
// environment: the Service's nodePort for that port.
type Allocation struct {
	Cluster     string    `json:"cluster"`
	Port        int       `json:"port"`
	Tenant      string    `json:"tenant"`
	Project     string    `json:"project"`
	Application string    `json:"application"`
	Environment string    `json:"environment"`
	PortName    string    `json:"portName"` // the application's port it exposes
	CreatedBy   string    `json:"createdBy"`
	CreatedAt   time.Time `json:"createdAt"`
}

// Holder names who holds an allocation: "acme/payments/red-auth in dev".
func (a Allocation) Holder() string {
	return a.Tenant + "/" + a.Project + "/" + a.Application + " in " + a.Environment
}

// PortView is what a cluster, tenant or project has of the ports: Ports
// granted to it, Allotted to what it splits them among (tenants of a
// cluster, projects of a tenant), Used by allocations and Free, all as
// compact ranges.
type PortView struct {
	Cluster  string       `json:"cluster"`
	Tenant   string       `json:"tenant,omitempty"`
	Project  string       `json:"project,omitempty"`
	Ports    PortSet      `json:"ports"`
	Allotted PortSet      `json:"allotted"`
	Used     PortSet      `json:"used"`
	Free     PortSet      `json:"free"`
	Grants   []Grant      `json:"grants,omitempty"`
	Holders  []Allocation `json:"allocations,omitempty"`
	// ResourceVersion is the version of the scope's own grant (0: none
	// stored), for the next change.
	ResourceVersion int64 `json:"resourceVersion"`
}

// Store is what netasset needs from persistence, bound to one transaction:
// deploy's store (environments, applications, versions, deployments,
// audit) and the network assets themselves. Lists are ordered by key.
type Store interface {
	deploy.Store

	// GetGrant returns a grant; the cluster pool is Tenant = Project = "".
	GetGrant(ctx context.Context, cluster, tenant, project string) (Grant, error)
	// PutGrant creates (prevRV 0) or replaces a grant; a stale prevRV is
	// resource.ErrConflict.
	PutGrant(ctx context.Context, g Grant, prevRV int64) error
	DeleteGrant(ctx context.Context, cluster, tenant, project string) error
	// ListGrants lists a cluster's grants to tenants (tenant "") or a
	// tenant's grants to projects; cluster "" lists every cluster's.
	ListGrants(ctx context.Context, cluster, tenant string) ([]Grant, error)

	// InsertAllocation stores a; a port already held on the cluster is
	// resource.ErrAlreadyExists (the database's unique key).
	InsertAllocation(ctx context.Context, a Allocation) error
	DeleteAllocation(ctx context.Context, cluster string, port int) error
	// ListAllocations lists allocations by port; empty filter fields match
	// everything.
	ListAllocations(ctx context.Context, f AllocationFilter) ([]Allocation, error)

	GetIsolation(ctx context.Context, tenant, project string) (Isolation, error)
	PutIsolation(ctx context.Context, i Isolation, prevRV int64) error
	// ListIsolations lists every record (tenant "") or a tenant's.
	ListIsolations(ctx context.Context, tenant string) ([]Isolation, error)
}

// AllocationFilter narrows ListAllocations.
type AllocationFilter struct {
	Cluster, Tenant, Project, Application, Environment string
}
