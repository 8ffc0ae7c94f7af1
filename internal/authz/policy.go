package authz

import (
	"slices"
	"strings"
)

// Permission is "resource:verb", e.g. "application:create".
type Permission string

// Every permission the API checks. Objects of a project (environments,
// applications, versions) live at project scope, tenants and projects at
// their own scope, users, clusters and resource tiers at the platform.
const (
	TenantRead   Permission = "tenant:read"
	TenantCreate Permission = "tenant:create"
	TenantUpdate Permission = "tenant:update"
	TenantDelete Permission = "tenant:delete"

	ProjectRead   Permission = "project:read"
	ProjectCreate Permission = "project:create"
	ProjectUpdate Permission = "project:update"
	ProjectDelete Permission = "project:delete"

	EnvironmentRead   Permission = "environment:read"
	EnvironmentCreate Permission = "environment:create"
	EnvironmentUpdate Permission = "environment:update"
	EnvironmentDelete Permission = "environment:delete"

	ClusterRead   Permission = "cluster:read"
	ClusterCreate Permission = "cluster:create"
	ClusterUpdate Permission = "cluster:update"
	ClusterDelete Permission = "cluster:delete"

	ApplicationRead   Permission = "application:read"
	ApplicationCreate Permission = "application:create"
	ApplicationUpdate Permission = "application:update"
	ApplicationDelete Permission = "application:delete"

	VersionRead   Permission = "version:read"
	VersionCreate Permission = "version:create"

	DeploymentRead Permission = "deployment:read"
	// DeploymentDeploy runs a version in an environment.
	DeploymentDeploy Permission = "deployment:deploy"
	// DeploymentOperate scales, stops, starts and restarts.
	DeploymentOperate Permission = "deployment:operate"
	DeploymentDelete  Permission = "deployment:delete"

	TierRead   Permission = "tier:read"
	TierCreate Permission = "tier:create"
	TierUpdate Permission = "tier:update"
	TierDelete Permission = "tier:delete"

	QuotaRead Permission = "quota:read"
	// TenantQuotaSet sets a tenant's quota: the platform's decision.
	TenantQuotaSet Permission = "quota:set-tenant"
	// ProjectQuotaSet divides a tenant's quota among its projects.
	ProjectQuotaSet Permission = "quota:set-project"

	MemberRead   Permission = "member:read"
	MemberCreate Permission = "member:create"
	MemberDelete Permission = "member:delete"

	UserRead   Permission = "user:read"
	UserCreate Permission = "user:create"
	UserUpdate Permission = "user:update"
	UserDelete Permission = "user:delete"

	// ReleaseRead reads release orders; ReleaseCreate drafts and submits
	// them; ReleaseApprove approves them (never one's own: four eyes);
	// ReleaseOperate starts, aborts and rolls them back.
	ReleaseRead    Permission = "release:read"
	ReleaseCreate  Permission = "release:create"
	ReleaseApprove Permission = "release:approve"
	ReleaseOperate Permission = "release:operate"

	AuditRead   Permission = "audit:read"
	AuditVerify Permission = "audit:verify"

	// GrayRead reads gray plans; GrayManage starts, widens, promotes,
	// aborts and ends them.
	GrayRead   Permission = "grayplan:read"
	GrayManage Permission = "grayplan:manage"
	// OrgRead reads a tenant's org directory (regions, branches, tellers);
	// OrgImport replaces it.
	OrgRead   Permission = "org:read"
	OrgImport Permission = "org:import"
	// GatewayRead follows the Berth gateway configuration stream (every
	// environment's routes): platform-wide only.
	GatewayRead Permission = "gateway:read"
	// NetworkRead reads port pools, grants, allocations and isolation.
	NetworkRead Permission = "network:read"
	// PortPoolSet sets clusters' port pools and grants ports to tenants:
	// the platform's decision.
	PortPoolSet Permission = "network:set-pool"
	// ProjectPortsSet divides a tenant's ports among its projects.
	ProjectPortsSet Permission = "network:set-project-ports"
	// NetworkExpose gives an application a node port or takes it back.
	NetworkExpose Permission = "network:expose"
	// IsolationSet switches isolation and its allow rules.
	IsolationSet Permission = "network:isolate"
	// ApprovalFloorSet sets the least approvals release orders need by
	// environment class, and approves another admin's lowering of it.
	ApprovalFloorSet Permission = "approval:set-floor"
	// GroupBindingRead reads the rules that map directory and OIDC groups
	// to role bindings; GroupBindingManage changes them: platform-wide
	// only, as they can grant any role anywhere.
	GroupBindingRead   Permission = "group-binding:read"
	GroupBindingManage Permission = "group-binding:manage"

	// TerminalOpen opens a terminal session into an application's pod; what
	// the session may do is the TerminalPolicy of the caller's role in the
	// environment (none: no session). TerminalSessionRead lists sessions,
	// their commands and replays their recordings. TerminalPolicyRead and
	// TerminalPolicyManage read and change the policies: platform-wide,
	// as they decide what every role may run.
	TerminalOpen         Permission = "terminal:open"
	TerminalSessionRead  Permission = "terminal-session:read"
	TerminalPolicyRead   Permission = "terminal-policy:read"
	TerminalPolicyManage Permission = "terminal-policy:manage"
	// ConfigRead reads the config center's items, their history and
	// diffs; ConfigSecretRead also the content of items marked secret.
	// ConfigWrite publishes, removes, rolls back and grays items;
	// ConfigApprove approves or rejects a proposed change where the
	// environment requires approvals (never its own author's).
	ConfigRead       Permission = "config:read"
	ConfigSecretRead Permission = "config:read-secret"
	ConfigWrite      Permission = "config:write"
	ConfigApprove    Permission = "config:approve"
	// LogRead searches the logs of an application's pods: they can hold
	// what customers typed, so viewers and auditors do not.
	LogRead Permission = "log:read"
	// PipelineRead reads pipelines, their runs and build logs;
	// PipelineWrite applies, changes and deletes pipelines (and rotates
	// their webhook secrets); PipelineRun triggers and cancels runs;
	// PipelineApprove approves or rejects a run's stage — only where the
	// caller also owns the stage, and never the run's trigger or the
	// pipeline's last author (four eyes, internal/pipeline).
	PipelineRead    Permission = "pipeline:read"
	PipelineWrite   Permission = "pipeline:write"
	PipelineRun     Permission = "pipeline:run"
	PipelineApprove Permission = "pipeline:approve"
	// AlertRead reads a project's alert rules, receivers (URLs redacted),
	// silences and the alerts firing now. AlertWrite changes rules and
	// creates and expires silences: the operators' work.
	// AlertReceiverManage changes where a project's alerts are sent: its
	// admins'. AlertCustom writes rules with custom PromQL, which
	// Prometheus evaluates over every tenant's series: platform-wide only.
	AlertRead           Permission = "alert:read"
	AlertWrite          Permission = "alert:write"
	AlertReceiverManage Permission = "alert:manage-receivers"
	AlertCustom         Permission = "alert:write-custom"
)

// Permissions returns every permission, in a stable order.
func Permissions() []Permission {
	return []Permission{
		TenantRead, TenantCreate, TenantUpdate, TenantDelete,
		ProjectRead, ProjectCreate, ProjectUpdate, ProjectDelete,
		EnvironmentRead, EnvironmentCreate, EnvironmentUpdate, EnvironmentDelete,
		ClusterRead, ClusterCreate, ClusterUpdate, ClusterDelete,
		ApplicationRead, ApplicationCreate, ApplicationUpdate, ApplicationDelete,
		VersionRead, VersionCreate,
		DeploymentRead, DeploymentDeploy, DeploymentOperate, DeploymentDelete,
		ReleaseRead, ReleaseCreate, ReleaseApprove, ReleaseOperate,
		TierRead, TierCreate, TierUpdate, TierDelete,
		QuotaRead, TenantQuotaSet, ProjectQuotaSet,
		MemberRead, MemberCreate, MemberDelete,
		UserRead, UserCreate, UserUpdate, UserDelete,
		AuditRead, AuditVerify,
		GrayRead, GrayManage, OrgRead, OrgImport, GatewayRead,
		NetworkRead, PortPoolSet, ProjectPortsSet, NetworkExpose, IsolationSet,
		ApprovalFloorSet, GroupBindingRead, GroupBindingManage,
		TerminalOpen, TerminalSessionRead, TerminalPolicyRead, TerminalPolicyManage,
		ConfigRead, ConfigSecretRead, ConfigWrite, ConfigApprove,
		LogRead,
		PipelineRead, PipelineWrite, PipelineRun, PipelineApprove,
		AlertRead, AlertWrite, AlertReceiverManage, AlertCustom,
	}
}

// Read reports whether p only reads.
func (p Permission) Read() bool { return strings.HasSuffix(string(p), ":read") }

// readAll is what every role may read inside its scope.
var readAll = []Permission{
	TenantRead, ProjectRead, EnvironmentRead, ApplicationRead, VersionRead, TierRead, QuotaRead, MemberRead,
	DeploymentRead, ReleaseRead, NetworkRead, GrayRead, OrgRead,
	ConfigRead, PipelineRead, AlertRead,
}

// The pipelines' permissions beyond reading: who writes code runs and
// changes pipelines; who approves releases approves their stages.
var (
	pipelineWriter   = []Permission{PipelineWrite, PipelineRun}
	pipelineApprover = []Permission{PipelineRun, PipelineApprove}
	pipelineAll      = []Permission{PipelineWrite, PipelineRun, PipelineApprove}
)

// The config center's permissions beyond reading: writers are who deploy,
// approvers who approve release orders.
var (
	configWriter   = []Permission{ConfigSecretRead, ConfigWrite}
	configApprover = []Permission{ConfigSecretRead, ConfigWrite, ConfigApprove}
)

var policy = map[Role][]Permission{
	PlatformAdmin: Permissions(),
	TenantAdmin: join(readAll, []Permission{
		TenantUpdate, ClusterRead,
		ProjectCreate, ProjectUpdate, ProjectDelete,
		EnvironmentCreate, EnvironmentUpdate, EnvironmentDelete,
		ApplicationCreate, ApplicationUpdate, ApplicationDelete, VersionCreate,
		DeploymentDeploy, DeploymentOperate, DeploymentDelete,
		ReleaseCreate, ReleaseApprove, ReleaseOperate,
		ProjectQuotaSet, MemberCreate, MemberDelete, AuditRead,
		GrayManage, OrgImport,
		ProjectPortsSet, NetworkExpose, IsolationSet, ApprovalFloorSet,
		TerminalOpen, TerminalSessionRead, LogRead,
		AlertWrite, AlertReceiverManage,
	}, configApprover, pipelineAll),
	ProjectAdmin: join(readAll, []Permission{
		ClusterRead, ProjectUpdate,
		EnvironmentCreate, EnvironmentUpdate, EnvironmentDelete,
		ApplicationCreate, ApplicationUpdate, ApplicationDelete, VersionCreate,
		DeploymentDeploy, DeploymentOperate, DeploymentDelete,
		ReleaseCreate, ReleaseApprove, ReleaseOperate,
		MemberCreate, MemberDelete, NetworkExpose, IsolationSet, GrayManage,
		TerminalOpen, TerminalSessionRead, LogRead,
		AlertWrite, AlertReceiverManage,
	}, configApprover, pipelineAll),
	Developer: join(readAll, []Permission{ApplicationCreate, ApplicationUpdate, ApplicationDelete, VersionCreate, DeploymentDeploy,
		ReleaseCreate, TerminalOpen, LogRead}, configWriter, pipelineWriter),
	ReleaseManager: join(readAll, []Permission{VersionCreate, DeploymentDeploy, ReleaseCreate, ReleaseApprove, ReleaseOperate,
		GrayManage, OrgImport, TerminalOpen, LogRead, AlertWrite}, configApprover, pipelineApprover),
	Operator: join(readAll, []Permission{ApplicationUpdate, DeploymentOperate, NetworkExpose, TerminalOpen, ConfigSecretRead, LogRead,
		AlertWrite}),
	Auditor: join(readAll, []Permission{ClusterRead, UserRead, AuditRead, AuditVerify, GroupBindingRead,
		TerminalSessionRead, TerminalPolicyRead}),
	Viewer:  join(readAll, []Permission{TerminalOpen}),
	Gateway: {GatewayRead},
}

func join(parts ...[]Permission) []Permission {
	var out []Permission
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Has reports whether role r carries permission p, regardless of scope.
func Has(r Role, p Permission) bool {
	for _, q := range policy[r] {
		if q == p {
			return true
		}
	}
	return false
}

// global permissions are checked without scope: the objects are
// platform-wide catalogues that members of any tenant need to see (the
// resource tiers they choose from, the clusters their environments bind to).
// Only the names and descriptions are shown; kubeconfigs never are.
var global = map[Permission]bool{TierRead: true, ClusterRead: true}

// Allowed reports whether a user holding bindings may use p on an object at
// scope target. A binding allows p when its role carries p and its scope
// contains target. Reading a tenant or project is also allowed to whoever is
// bound somewhere inside it, so a project's developer sees the tenant the
// project belongs to; audit verification, which reads every tenant's
// records, is platform-wide.
func Allowed(bindings []Binding, p Permission, target Scope) bool {
	for _, b := range bindings {
		if !Has(b.Role, p) {
			continue
		}
		switch {
		case global[p]:
			return true
		case p == AuditVerify:
			if b.Scope.Level() == PlatformLevel {
				return true
			}
		case b.Scope.Contains(target):
			return true
		case (p == TenantRead || p == ProjectRead || p == OrgRead) && target.Contains(b.Scope):
			return true
		}
	}
	return false
}

// CanGrant reports whether a user holding bindings may grant role r at
// scope s: the role must exist at that scope, the user must be allowed to
// manage members there, and only a platform-admin makes another.
func CanGrant(bindings []Binding, r Role, s Scope) bool {
	if Validate(r, s) != nil || !Allowed(bindings, MemberCreate, s) {
		return false
	}
	if r == PlatformAdmin {
		return Allowed(bindings, UserCreate, Platform)
	}
	return true
}

// CanIssue reports whether a user holding bindings may issue an API token
// that carries role r, one of TokenRoles: the user must manage members at
// the platform and hold every permission of r there, which only a
// platform-admin does.
func CanIssue(bindings []Binding, r Role) bool {
	if !slices.Contains(TokenRoles(), r) || !Allowed(bindings, MemberCreate, Platform) {
		return false
	}
	for _, p := range policy[r] {
		if !Allowed(bindings, p, Platform) {
			return false
		}
	}
	return true
}

// IsPlatformAdmin reports whether bindings include platform-admin.
func IsPlatformAdmin(bindings []Binding) bool {
	for _, b := range bindings {
		if b.Role == PlatformAdmin && b.Scope.Level() == PlatformLevel {
			return true
		}
	}
	return false
}

// Tenants returns the tenants bindings reach, and whether they reach all of
// them (a platform-scope binding); the API uses it to filter lists. The
// result is sorted and has no duplicates.
func Tenants(bindings []Binding) (tenants []string, all bool) {
	for _, b := range bindings {
		if b.Role == Gateway {
			continue // reads no tenant
		}
		if b.Scope.Level() == PlatformLevel {
			return nil, true
		}
		tenants = append(tenants, b.Scope.Tenant)
	}
	slices.Sort(tenants)
	return slices.Compact(tenants), false
}
