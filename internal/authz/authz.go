// Package authz is Berth's authorization policy: which role may do what, at
// which scope. It is pure domain logic: callers pass the bindings of the
// acting user and the scope of the object acted on, and get a yes or no.
//
// Roles are granted at one of three scopes: the platform, a tenant, or a
// project inside a tenant. A binding at a scope covers everything beneath it:
// a tenant-admin of tenant "bank" acts on every project of "bank" and on no
// other tenant.
package authz

import (
	"fmt"
	"slices"
)

// Role names a set of permissions.
type Role string

// The roles of F1, from most to least powerful.
const (
	PlatformAdmin  Role = "platform-admin"
	TenantAdmin    Role = "tenant-admin"
	ProjectAdmin   Role = "project-admin"
	Developer      Role = "developer"
	ReleaseManager Role = "release-manager"
	Operator       Role = "operator"
	Auditor        Role = "auditor"
	Viewer         Role = "viewer"
	// Gateway is the role of a Berth gateway: it reads the gateway
	// configuration stream and nothing else. Only an API token carries it
	// (see TokenRoles); it is never bound to a user, so Roles leaves it out.
	Gateway Role = "gateway"
)

// TokenRoles returns the roles an API token may carry in place of its
// user's bindings, always at the platform scope.
func TokenRoles() []Role { return []Role{Gateway} }

// Roles returns every role that can be bound to a user, most powerful first.
func Roles() []Role {
	return []Role{PlatformAdmin, TenantAdmin, ProjectAdmin, Developer, ReleaseManager, Operator, Auditor, Viewer}
}

// Level is how wide a scope is.
type Level int

// Scope levels, widest first.
const (
	PlatformLevel Level = iota
	TenantLevel
	ProjectLevel
)

func (l Level) String() string {
	return [...]string{"platform", "tenant", "project"}[l]
}

// Scope is where a binding applies or where an object lives. The zero value
// is the platform; Tenant alone is a tenant; Tenant and Project a project.
type Scope struct {
	Tenant  string `json:"tenant,omitempty"`
	Project string `json:"project,omitempty"`
}

// Platform is the scope of platform-wide objects (users, clusters, tiers).
var Platform = Scope{}

// TenantScope returns the scope of tenant t.
func TenantScope(t string) Scope { return Scope{Tenant: t} }

// ProjectScope returns the scope of project p of tenant t.
func ProjectScope(t, p string) Scope { return Scope{Tenant: t, Project: p} }

// Level reports how wide s is.
func (s Scope) Level() Level {
	switch {
	case s.Tenant == "":
		return PlatformLevel
	case s.Project == "":
		return TenantLevel
	default:
		return ProjectLevel
	}
}

// Contains reports whether s covers t: the platform covers everything, a
// tenant its projects, a project only itself.
func (s Scope) Contains(t Scope) bool {
	switch s.Level() {
	case PlatformLevel:
		return true
	case TenantLevel:
		return s.Tenant == t.Tenant
	default:
		return s == t
	}
}

func (s Scope) String() string {
	switch s.Level() {
	case PlatformLevel:
		return "platform"
	case TenantLevel:
		return "tenant/" + s.Tenant
	default:
		return "tenant/" + s.Tenant + "/project/" + s.Project
	}
}

// Binding grants Role at Scope.
type Binding struct {
	Role  Role  `json:"role"`
	Scope Scope `json:"scope"`
}

// Validate reports whether a role may be granted at scope s. platform-admin
// exists only at the platform, tenant-admin only at a tenant, project-admin
// only at a project; the others at a tenant or a project, and auditor and
// viewer also at the platform.
func Validate(r Role, s Scope) error {
	if slices.Contains(TokenRoles(), r) {
		return fmt.Errorf("role %s is carried by API tokens only, never bound to a user", r)
	}
	levels, ok := roleLevels[r]
	if !ok {
		return fmt.Errorf("unknown role %q", r)
	}
	if !slices.Contains(levels, s.Level()) {
		return fmt.Errorf("role %s cannot be granted at %s scope", r, s.Level())
	}
	return nil
}

var roleLevels = map[Role][]Level{
	PlatformAdmin:  {PlatformLevel},
	TenantAdmin:    {TenantLevel},
	ProjectAdmin:   {ProjectLevel},
	Developer:      {TenantLevel, ProjectLevel},
	ReleaseManager: {TenantLevel, ProjectLevel},
	Operator:       {TenantLevel, ProjectLevel},
	Auditor:        {PlatformLevel, TenantLevel, ProjectLevel},
	Viewer:         {PlatformLevel, TenantLevel, ProjectLevel},
}
