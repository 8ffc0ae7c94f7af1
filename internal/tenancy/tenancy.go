// Package tenancy holds who owns what (F1, F2): tenants, their projects, the
// environments of a project (each bound to a registered cluster and a
// namespace), clusters, member role bindings and quotas with their usage.
//
// # Transactions
//
// Every Service method takes the transaction-bound Store it works through
// as its second argument and writes its audit record through the same
// Store, so a change and its record commit together. The caller opens the
// transaction (platform.Transactor.InTx) and may run many calls in it: a
// multi-document apply is all-or-nothing because every call shares one
// transaction. Reads take the same Store (platform.Transactor.View).
//
// # Concurrency
//
// Updates carry the ResourceVersion they read; a stale one fails with
// resource.ErrConflict, never a lost update. Changes that consume quota lock
// the tenant (Store.LockTenant) so concurrent transactions cannot together
// exceed it.
package tenancy

import (
	"time"

	"berth.dev/berth/internal/resource"
)

// Tenant is an organisation using the platform (a bank department, a
// subsidiary).
type Tenant struct {
	Name            string    `json:"name"`
	DisplayName     string    `json:"displayName,omitempty"`
	Description     string    `json:"description,omitempty"`
	ResourceVersion int64     `json:"resourceVersion"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

// Project groups a tenant's applications and environments.
type Project struct {
	Tenant          string    `json:"tenant"`
	Name            string    `json:"name"`
	DisplayName     string    `json:"displayName,omitempty"`
	Description     string    `json:"description,omitempty"`
	ResourceVersion int64     `json:"resourceVersion"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

// Environment is a stage of a project (dev, test, uat, prod, ...) bound to
// a namespace of a registered cluster. A cluster namespace belongs to at
// most one environment.
type Environment struct {
	Tenant      string `json:"tenant"`
	Project     string `json:"project"`
	Name        string `json:"name"`
	Cluster     string `json:"cluster"`
	Namespace   string `json:"namespace"`
	Description string `json:"description,omitempty"`
	// Traffic names the provider that realises the environment's routes
	// (gray plans): "gateway" (the Berth gateway, the default when empty),
	// "istio" or "gatewayapi".
	Traffic string `json:"traffic,omitempty"`
	// Gateway is the ingress gateway mesh routes attach to, "name" or
	// "namespace/name"; the gatewayapi provider requires it.
	Gateway string `json:"gateway,omitempty"`
	// RequiredApprovals is how many distinct people, none of them its
	// creator (four eyes), must approve a release order before it may
	// start in this environment; 0 needs none.
	RequiredApprovals int       `json:"requiredApprovals,omitempty"`
	ResourceVersion   int64     `json:"resourceVersion"`
	CreatedAt         time.Time `json:"createdAt"`
	UpdatedAt         time.Time `json:"updatedAt"`
}

// MaxRequiredApprovals bounds an environment's approval rule.
const MaxRequiredApprovals = 5

// Traffic providers an environment may name.
const (
	TrafficGateway    = "gateway"
	TrafficIstio      = "istio"
	TrafficGatewayAPI = "gatewayapi"
)

// TrafficProviders are the names an environment's traffic field may take
// ("" is the gateway); internal/traffic/providers realises each.
var TrafficProviders = []string{TrafficGateway, TrafficIstio, TrafficGatewayAPI}

// Cluster is a registered Kubernetes cluster. Its kubeconfig is kept
// encrypted (AES-GCM) and never part of this type; read it with
// Service.Kubeconfig.
type Cluster struct {
	Name        string            `json:"name"`
	DisplayName string            `json:"displayName,omitempty"`
	Zone        string            `json:"zone,omitempty"` // e.g. "beijing", "shanghai" (F16)
	Labels      map[string]string `json:"labels,omitempty"`
	// QPS is the rate of requests Berth sends this cluster's API server,
	// from 1 to MaxClusterQPS; 0 is the server's clusterQPS.
	QPS int `json:"qps,omitempty"`
	// Burst is how many requests Berth may send it at once (the size of
	// the bucket QPS refills), from QPS to 2×MaxClusterQPS; 0 is twice
	// the rate.
	Burst           int       `json:"burst,omitempty"`
	ResourceVersion int64     `json:"resourceVersion"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

// ClusterRecord is a Cluster as stored: with the sealed kubeconfig.
type ClusterRecord struct {
	Cluster
	SealedKubeconfig []byte `json:"sealedKubeconfig"`
}

// Role is a set of permissions; what each allows is internal/authz's
// business.
type Role string

// The roles.
const (
	PlatformAdmin  Role = "platform-admin"
	TenantAdmin    Role = "tenant-admin"
	ProjectAdmin   Role = "project-admin"
	Developer      Role = "developer"
	ReleaseManager Role = "release-manager"
	Operator       Role = "operator"
	Auditor        Role = "auditor"
	Viewer         Role = "viewer"
)

// Roles lists every role.
var Roles = []Role{PlatformAdmin, TenantAdmin, ProjectAdmin, Developer, ReleaseManager, Operator, Auditor, Viewer}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	for _, k := range Roles {
		if r == k {
			return true
		}
	}
	return false
}

// Scope is where a role binding applies: the platform (both empty), a
// tenant (Project empty) or a project.
type Scope struct {
	Tenant  string `json:"tenant,omitempty"`
	Project string `json:"project,omitempty"`
}

// Kind returns "platform", "tenant" or "project".
func (s Scope) Kind() string {
	switch {
	case s.Tenant == "":
		return "platform"
	case s.Project == "":
		return "tenant"
	}
	return "project"
}

// String returns "platform", "tenant acme" or "project acme/payments".
func (s Scope) String() string {
	switch s.Kind() {
	case "platform":
		return "platform"
	case "tenant":
		return "tenant " + s.Tenant
	}
	return "project " + s.Tenant + "/" + s.Project
}

// Member binds a user to a role at a scope. platform-admin binds only at
// platform scope; tenant-admin at tenant scope; project-admin at project
// scope; the other roles at any scope.
type Member struct {
	Scope           Scope     `json:"scope"`
	User            string    `json:"user"`
	Role            Role      `json:"role"`
	ResourceVersion int64     `json:"resourceVersion"`
	CreatedBy       string    `json:"createdBy"`
	CreatedAt       time.Time `json:"createdAt"`
}

// Key is the member's unique name within its scope: "user:role".
func (m Member) Key() string { return m.User + ":" + string(m.Role) }

// Quota limits what a tenant (Scope.Project empty) or a project may use.
// Resources absent from Hard are not limited.
type Quota struct {
	Scope           Scope         `json:"scope"`
	Hard            resource.List `json:"hard"`
	ResourceVersion int64         `json:"resourceVersion"`
	UpdatedAt       time.Time     `json:"updatedAt"`
}

// Usage is what a tenant or project uses, against its quota.
type Usage struct {
	Scope Scope         `json:"scope"`
	Used  resource.List `json:"used"`
	Hard  resource.List `json:"hard"` // nil when the scope has no quota
	// Allotted is, for a tenant, the sum of its projects' quotas.
	Allotted resource.List `json:"allotted,omitempty"`
}

// Reservation is what one application holds against its project's and
// tenant's quota; package apps computes it from the application's current
// version and tier.
type Reservation struct {
	Tenant, Project, Application string
	Resources                    resource.List
}
