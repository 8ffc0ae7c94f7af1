package api

import (
	"slices"
	"testing"

	"berth.dev/berth/internal/authz"
)

// This file is Berth's authorization policy written out by hand, from
// docs/api.md, docs/release-orders.md, docs/gray-release.md,
// docs/network-assets.md, the doc comments of internal/authz and
// PRODUCT.md (F1: "permissions divided by function and by scope"). It is
// the expected answer of the policy test below and of the role matrix
// (matrix_test.go): nothing here asks internal/authz what it allows.
//
// Where the docs are silent the table says what a bank would expect, and
// a comment says so ("silent:").
//
// Adding a role (e.g. gateway) is one more column: add it to tableRoles,
// to grantLevels (where it may be granted), to the rows it is granted in,
// and to matrixSubjects in matrix_test.go at each level it may be granted.
// TestPolicyTableCoversEveryRole fails until all of that is done.

// reach is where a binding's role carries a permission, relative to the
// binding's own scope.
type reach uint8

const (
	// no: never.
	no reach = iota
	// in: the binding's scope and everything beneath it. A platform
	// binding reaches everything, a tenant binding its tenant and its
	// projects, a project binding only that project.
	in
	// inUp: in, and also the tenant a project binding lies in (a
	// project's members see their tenant and its org directory).
	inUp
	// anywhere: every scope, whatever the binding's scope: the
	// platform-wide catalogues members of any tenant choose from.
	anywhere
)

// Short names keep the table's columns readable.
const (
	PA   = authz.PlatformAdmin
	TA   = authz.TenantAdmin
	PrA  = authz.ProjectAdmin
	Dev  = authz.Developer
	RM   = authz.ReleaseManager
	Op   = authz.Operator
	Aud  = authz.Auditor
	View = authz.Viewer
	// GW is a token role (docs/gateway.md): never granted as a membership,
	// only carried by a token a platform admin issues for a gateway.
	GW = authz.Gateway
)

// tokenRoles are roles only a token carries; they are no column of
// grantLevels, since nobody may be bound to them.
var tokenRoles = []authz.Role{GW}

// tableRoles are the table's columns: every role of F1.
var tableRoles = []authz.Role{PA, TA, PrA, Dev, RM, Op, Aud, View}

// grantLevels is where each role may be granted (authz.Validate).
var grantLevels = map[authz.Role][]authz.Level{
	PA:   {authz.PlatformLevel},
	TA:   {authz.TenantLevel},
	PrA:  {authz.ProjectLevel},
	Dev:  {authz.TenantLevel, authz.ProjectLevel},
	RM:   {authz.TenantLevel, authz.ProjectLevel},
	Op:   {authz.TenantLevel, authz.ProjectLevel},
	Aud:  {authz.PlatformLevel, authz.TenantLevel, authz.ProjectLevel},
	View: {authz.PlatformLevel, authz.TenantLevel, authz.ProjectLevel},
}

// grants is one row: the reach of each role; a role left out has none.
type grants map[authz.Role]reach

// everyone reads inside its scope (docs: release:read, grayplan:read,
// org:read, network:read "every role, in its scope").
var everyone = grants{PA: in, TA: in, PrA: in, Dev: in, RM: in, Op: in, Aud: in, View: in}

// everyoneUp also reads the tenant its project binding lies in.
var everyoneUp = grants{PA: in, TA: in, PrA: inUp, Dev: inUp, RM: inUp, Op: inUp, Aud: inUp, View: inUp}

// Levels at which objects of a permission live.
var (
	atPlatform        = []authz.Level{authz.PlatformLevel}
	atTenant          = []authz.Level{authz.TenantLevel}
	atProject         = []authz.Level{authz.ProjectLevel}
	atTenantOrProject = []authz.Level{authz.TenantLevel, authz.ProjectLevel}
	atEvery           = []authz.Level{authz.PlatformLevel, authz.TenantLevel, authz.ProjectLevel}
)

// policyRow is one permission: where its objects live and who has it.
type policyRow struct {
	perm  authz.Permission
	lives []authz.Level
	who   grants
}

// policyTable is the expected policy, one row per permission.
var policyTable = []policyRow{
	// Tenancy (F1). Only the platform creates and deletes tenants.
	{authz.TenantRead, atTenant, everyoneUp},
	{authz.TenantCreate, atTenant, grants{PA: in}},
	{authz.TenantUpdate, atTenant, grants{PA: in, TA: in}},
	// docs/security.md: the approval floor of the platform is the platform
	// admins', a tenant's its tenant admins' too; a project admin never
	// sets the floor it is held to.
	{authz.ApprovalFloorSet, []authz.Level{authz.PlatformLevel, authz.TenantLevel}, grants{PA: in, TA: in}}, // silent: its display name and description
	{authz.TenantDelete, atTenant, grants{PA: in}},
	{authz.ProjectRead, atProject, everyone},
	{authz.ProjectCreate, atProject, grants{PA: in, TA: in}},
	{authz.ProjectUpdate, atProject, grants{PA: in, TA: in, PrA: in}},
	{authz.ProjectDelete, atProject, grants{PA: in, TA: in}},
	{authz.EnvironmentRead, atProject, everyone},
	{authz.EnvironmentCreate, atProject, grants{PA: in, TA: in, PrA: in}},
	{authz.EnvironmentUpdate, atProject, grants{PA: in, TA: in, PrA: in}},
	{authz.EnvironmentDelete, atProject, grants{PA: in, TA: in, PrA: in}},
	// Clusters are the platform's; their names (never kubeconfigs) are a
	// catalogue for those who bind environments to them, and auditors read
	// everything. silent: developers, release managers, operators and
	// viewers do not list the bank's clusters.
	{authz.ClusterRead, atPlatform, grants{PA: anywhere, TA: anywhere, PrA: anywhere, Aud: anywhere}},
	{authz.ClusterCreate, atPlatform, grants{PA: in}},
	{authz.ClusterUpdate, atPlatform, grants{PA: in}},
	{authz.ClusterDelete, atPlatform, grants{PA: in}},

	// Applications and versions (F3): developers build them; release
	// managers package versions; operators act on running ones.
	{authz.ApplicationRead, atProject, everyone},
	{authz.ApplicationCreate, atProject, grants{PA: in, TA: in, PrA: in, Dev: in}},
	// silent: an operator may edit an application's display name and
	// description (kept from the existing policy; it changes nothing that
	// runs).
	{authz.ApplicationUpdate, atProject, grants{PA: in, TA: in, PrA: in, Dev: in, Op: in}},
	{authz.ApplicationDelete, atProject, grants{PA: in, TA: in, PrA: in, Dev: in}},
	{authz.VersionRead, atProject, everyone},
	{authz.VersionCreate, atProject, grants{PA: in, TA: in, PrA: in, Dev: in, RM: in}},

	// Deployments (F5): operators scale, stop, start, restart.
	{authz.DeploymentRead, atProject, everyone},
	{authz.DeploymentDeploy, atProject, grants{PA: in, TA: in, PrA: in, Dev: in, RM: in}},
	{authz.DeploymentOperate, atProject, grants{PA: in, TA: in, PrA: in, Op: in}},
	{authz.DeploymentDelete, atProject, grants{PA: in, TA: in, PrA: in}}, // silent: removing an app from an environment is an admin's

	// Release orders (docs/release-orders.md, API table).
	{authz.ReleaseRead, atProject, everyone},
	{authz.ReleaseCreate, atProject, grants{PA: in, TA: in, PrA: in, Dev: in, RM: in}},
	{authz.ReleaseApprove, atProject, grants{PA: in, TA: in, PrA: in, RM: in}},
	{authz.ReleaseOperate, atProject, grants{PA: in, TA: in, PrA: in, RM: in}},

	// Resource tiers (F4): every member chooses from them; only the
	// platform defines them.
	{authz.TierRead, atPlatform, grants{PA: anywhere, TA: anywhere, PrA: anywhere, Dev: anywhere, RM: anywhere, Op: anywhere, Aud: anywhere, View: anywhere}},
	{authz.TierCreate, atPlatform, grants{PA: in}},
	{authz.TierUpdate, atPlatform, grants{PA: in}},
	{authz.TierDelete, atPlatform, grants{PA: in}},

	// Quotas (F2): each user sees its usage; the platform sets a tenant's
	// quota, the tenant divides it among its projects.
	{authz.QuotaRead, atTenantOrProject, everyone},
	{authz.TenantQuotaSet, atTenant, grants{PA: in}},
	{authz.ProjectQuotaSet, atProject, grants{PA: in, TA: in}},

	// Members (F1): admins manage the bindings of their scope. silent:
	// everyone sees who holds which role in its scope (whom to ask for an
	// approval).
	{authz.MemberRead, atEvery, everyone},
	{authz.MemberCreate, atEvery, grants{PA: in, TA: in, PrA: in}},
	{authz.MemberDelete, atEvery, grants{PA: in, TA: in, PrA: in}},

	// Users are platform-wide: the platform manages them, auditors read.
	{authz.UserRead, atPlatform, grants{PA: in, Aud: in}},
	{authz.UserCreate, atPlatform, grants{PA: in}},
	{authz.UserUpdate, atPlatform, grants{PA: in}},
	{authz.UserDelete, atPlatform, grants{PA: in}},

	// Audit (F12): auditors read the trail of their scope (a project's
	// auditor only its project's, docs/api.md); verifying the chain reads
	// every tenant's records, so it is platform-wide. silent: a tenant
	// admin reads its tenant's trail.
	{authz.AuditRead, atEvery, grants{PA: in, TA: in, Aud: in}},
	{authz.AuditVerify, atPlatform, grants{PA: in, Aud: in}},

	// Gray release (docs/gray-release.md): "Release managers and
	// tenant/project/platform admins act (grayplan:manage, org:import);
	// every role reads". The org directory is the tenant's: a project
	// admin's binding does not reach it.
	{authz.GrayRead, atProject, everyone},
	{authz.GrayManage, atProject, grants{PA: in, TA: in, PrA: in, RM: in}},
	{authz.OrgRead, atTenant, everyoneUp},
	{authz.OrgImport, atTenant, grants{PA: in, TA: in, PrA: in, RM: in}},
	// The gateway stream holds every tenant's routes: platform-wide only,
	// and the one thing a gateway token reads (docs/gateway.md).
	{authz.GatewayRead, atPlatform, grants{PA: in, GW: in}},
	// Group bindings can grant any role anywhere (docs/sso.md): the
	// platform admins' alone; auditors read them, as they read users.
	{authz.GroupBindingRead, atPlatform, grants{PA: in, Aud: in}},
	{authz.GroupBindingManage, atPlatform, grants{PA: in}},
	// The guarded terminal (docs/terminal.md): every role that acts on an
	// application may open a session (its TerminalPolicy decides what the
	// session may do; auditors read, they do not enter pods); admins and
	// auditors read sessions and replay them; only the platform changes
	// the policies.
	{authz.TerminalOpen, atProject, grants{PA: in, TA: in, PrA: in, Dev: in, RM: in, Op: in, View: in}},
	{authz.TerminalSessionRead, atProject, grants{PA: in, TA: in, PrA: in, Aud: in}},
	{authz.TerminalPolicyRead, atPlatform, grants{PA: in, Aud: in}},
	{authz.TerminalPolicyManage, atPlatform, grants{PA: in}},
	// Log search (docs/observability.md): logs hold what customers typed,
	// so who acts on applications reads them; viewers and auditors do not
	// (silent: as a bank keeps production logs from read-only roles).
	{authz.LogRead, atProject, grants{PA: in, TA: in, PrA: in, Dev: in, RM: in, Op: in}},
	// Alerting (docs/observability.md, "Permissions"): everyone reads a
	// project's rules, receivers (URLs redacted), silences and alerts;
	// operators (PRODUCT.md: "scale, restart, logs, terminal, alerts"),
	// release managers and admins change rules and silence; admins decide
	// where alerts go; custom PromQL reads every tenant's series, so only
	// the platform writes it.
	{authz.AlertRead, atProject, everyone},
	{authz.AlertWrite, atProject, grants{PA: in, TA: in, PrA: in, RM: in, Op: in}},
	{authz.AlertReceiverManage, atProject, grants{PA: in, TA: in, PrA: in}},
	{authz.AlertCustom, atProject, grants{PA: in}},

	// The config center (docs/config-center.md, "Permissions"): everyone
	// reads items; secret content is read by who writes them and by
	// operators; writers are who deploy, approvers who approve release
	// orders (four eyes).
	{authz.ConfigRead, atProject, everyone},
	{authz.ConfigSecretRead, atProject, grants{PA: in, TA: in, PrA: in, Dev: in, RM: in, Op: in}},
	{authz.ConfigWrite, atProject, grants{PA: in, TA: in, PrA: in, Dev: in, RM: in}},
	{authz.ConfigApprove, atProject, grants{PA: in, TA: in, PrA: in, RM: in}},

	// Pipelines (docs/pipelines.md, "Permissions"): everyone reads runs and
	// build logs; who writes code changes pipelines and runs them; who
	// approves release orders approves stages (ownership and four eyes
	// are the domain's, on top).
	{authz.PipelineRead, atProject, everyone},
	{authz.PipelineWrite, atProject, grants{PA: in, TA: in, PrA: in, Dev: in}},
	{authz.PipelineRun, atProject, grants{PA: in, TA: in, PrA: in, Dev: in, RM: in}},
	{authz.PipelineApprove, atProject, grants{PA: in, TA: in, PrA: in, RM: in}},

	// Network assets (docs/network-assets.md, "Permissions").
	{authz.NetworkRead, atEvery, everyone},
	{authz.PortPoolSet, []authz.Level{authz.PlatformLevel, authz.TenantLevel}, grants{PA: in}},
	{authz.ProjectPortsSet, atProject, grants{PA: in, TA: in}},
	{authz.NetworkExpose, atProject, grants{PA: in, TA: in, PrA: in, Op: in}},
	{authz.IsolationSet, atTenantOrProject, grants{PA: in, TA: in, PrA: in}},
}

// row returns the table's row of perm.
func row(t *testing.T, perm authz.Permission) policyRow {
	t.Helper()
	for _, r := range policyTable {
		if r.perm == perm {
			return r
		}
	}
	t.Fatalf("permission %s is not in the policy table", perm)
	return policyRow{}
}

// covers reports whether scope b covers scope t: the platform covers
// everything, a tenant itself and its projects, a project only itself.
// Written here, not taken from authz.Scope.Contains.
func covers(b, t authz.Scope) bool {
	switch {
	case b.Tenant == "":
		return true
	case b.Project == "":
		return t.Tenant == b.Tenant
	default:
		return t.Tenant == b.Tenant && t.Project == b.Project
	}
}

// expect is the table's answer: may a user holding bindings use perm on
// an object at target? A user holds the union of its bindings.
func expect(t *testing.T, bindings []authz.Binding, perm authz.Permission, target authz.Scope) bool {
	t.Helper()
	r := row(t, perm)
	for _, b := range bindings {
		switch r.who[b.Role] {
		case in:
			if covers(b.Scope, target) {
				return true
			}
		case inUp:
			if covers(b.Scope, target) || (target.Tenant != "" && target.Project == "" && b.Scope.Tenant == target.Tenant) {
				return true
			}
		case anywhere:
			return true
		}
	}
	return false
}

// Scopes of the policy test: a tenant A with projects p1 and p2, and
// another tenant B with a project p1 of the same name.
var (
	scopeA   = authz.TenantScope("a")
	scopeB   = authz.TenantScope("b")
	scopeAp1 = authz.ProjectScope("a", "p1")
	scopeAp2 = authz.ProjectScope("a", "p2")
	scopeBp1 = authz.ProjectScope("b", "p1")
)

// targetsAt are the objects' scopes at each level: the platform; the own
// and the other tenant; the own project, a sibling and the other tenant's
// project of the same name.
var targetsAt = map[authz.Level][]authz.Scope{
	authz.PlatformLevel: {authz.Platform},
	authz.TenantLevel:   {scopeA, scopeB},
	authz.ProjectLevel:  {scopeAp1, scopeAp2, scopeBp1},
}

// bindingAt is a role bound at the platform, at tenant a or at project a/p1.
func bindingAt(r authz.Role, l authz.Level) authz.Binding {
	return authz.Binding{Role: r, Scope: map[authz.Level]authz.Scope{authz.PlatformLevel: authz.Platform,
		authz.TenantLevel: scopeA, authz.ProjectLevel: scopeAp1}[l]}
}

// multiBindings are users holding several bindings at once.
var multiBindings = [][]authz.Binding{
	// a viewer of tenant a who is project admin of b/p1
	{{Role: View, Scope: scopeA}, {Role: PrA, Scope: scopeBp1}},
	// a viewer of tenant a who develops in a/p2
	{{Role: View, Scope: scopeA}, {Role: Dev, Scope: scopeAp2}},
	// an operator of a/p1 and release manager of a/p2
	{{Role: Op, Scope: scopeAp1}, {Role: RM, Scope: scopeAp2}},
	// an auditor of the platform and tenant admin of b
	{{Role: Aud, Scope: authz.Platform}, {Role: TA, Scope: scopeB}},
}

func TestPolicyTableCoversEveryRole(t *testing.T) {
	t.Parallel()
	if !slices.Equal(tableRoles, authz.Roles()) {
		t.Errorf("the policy table's roles are %v, authz has %v: add the new role as a column (see the top of policy_table_test.go)", tableRoles, authz.Roles())
	}
	for _, r := range authz.Roles() {
		if _, ok := grantLevels[r]; !ok {
			t.Errorf("role %s has no grant levels in the policy table", r)
		}
	}
	var perms []authz.Permission
	for _, r := range policyTable {
		perms = append(perms, r.perm)
		for role := range r.who {
			if !slices.Contains(tableRoles, role) && !slices.Contains(tokenRoles, role) {
				t.Errorf("row %s names role %s, which is not a column", r.perm, role)
			}
		}
	}
	for _, p := range authz.Permissions() {
		if !slices.Contains(perms, p) {
			t.Errorf("permission %s is not in the policy table", p)
		}
	}
	for _, p := range perms {
		if !slices.Contains(authz.Permissions(), p) {
			t.Errorf("the policy table names permission %s, which authz does not have", p)
		}
	}
}

// TestPolicyMatchesTable checks authz.Allowed against the table for every
// permission, every role at every level it may be granted, and every
// relation between the binding and the object: the same scope, beneath
// it, above it, a sibling project, the other tenant, the platform.
func TestPolicyMatchesTable(t *testing.T) {
	t.Parallel()
	for _, r := range policyTable {
		for _, role := range tableRoles {
			for _, bl := range grantLevels[role] {
				b := bindingAt(role, bl)
				for _, tl := range r.lives {
					for _, target := range targetsAt[tl] {
						want := expect(t, []authz.Binding{b}, r.perm, target)
						if got := authz.Allowed([]authz.Binding{b}, r.perm, target); got != want {
							t.Errorf("Allowed(%s at %s, %s, %s) = %v, the table says %v", role, b.Scope, r.perm, target, got, want)
						}
					}
				}
			}
		}
	}
	for _, bs := range multiBindings {
		for _, r := range policyTable {
			for _, tl := range r.lives {
				for _, target := range targetsAt[tl] {
					want := expect(t, bs, r.perm, target)
					if got := authz.Allowed(bs, r.perm, target); got != want {
						t.Errorf("Allowed(%v, %s, %s) = %v, the table says %v", bs, r.perm, target, got, want)
					}
				}
			}
		}
	}
	if authz.Allowed(nil, authz.TierRead, authz.Platform) {
		t.Error("a user without bindings reads resource tiers")
	}
}

// TestTokenRolesMatchTable checks the roles only tokens carry: the table's
// rows for them, on every level, and that nobody may be bound to them.
func TestTokenRolesMatchTable(t *testing.T) {
	t.Parallel()
	if !slices.Equal(tokenRoles, authz.TokenRoles()) {
		t.Errorf("the policy table's token roles are %v, authz has %v", tokenRoles, authz.TokenRoles())
	}
	for _, role := range tokenRoles {
		b := authz.Binding{Role: role, Scope: authz.Platform}
		for _, r := range policyTable {
			for _, tl := range r.lives {
				for _, target := range targetsAt[tl] {
					want := expect(t, []authz.Binding{b}, r.perm, target)
					if got := authz.Allowed([]authz.Binding{b}, r.perm, target); got != want {
						t.Errorf("Allowed(%s token, %s, %s) = %v, the table says %v", role, r.perm, target, got, want)
					}
				}
			}
		}
		for _, l := range []authz.Level{authz.PlatformLevel, authz.TenantLevel, authz.ProjectLevel} {
			if authz.Validate(role, targetsAt[l][0]) == nil {
				t.Errorf("role %s may be granted at %s: it is a token role", role, l)
			}
		}
	}
}

// TestGrantLevelsMatchTable checks where each role may be granted.
func TestGrantLevelsMatchTable(t *testing.T) {
	t.Parallel()
	for _, role := range tableRoles {
		for _, l := range []authz.Level{authz.PlatformLevel, authz.TenantLevel, authz.ProjectLevel} {
			s := targetsAt[l][0]
			want := slices.Contains(grantLevels[role], l)
			if got := authz.Validate(role, s) == nil; got != want {
				t.Errorf("Validate(%s, %s) allows: %v, the table says %v", role, s, got, want)
			}
		}
	}
	if authz.Validate(authz.Role("root"), authz.Platform) == nil {
		t.Error("an unknown role may be granted")
	}
}

// TestGrantingMatchesTable checks who may grant which role where: whoever
// may add members at a scope, any role valid there, except that only a
// platform admin makes another.
func TestGrantingMatchesTable(t *testing.T) {
	t.Parallel()
	var granters [][]authz.Binding
	for _, role := range tableRoles {
		for _, l := range grantLevels[role] {
			granters = append(granters, []authz.Binding{bindingAt(role, l)})
		}
	}
	granters = append(granters, multiBindings...)
	for _, g := range granters {
		for _, role := range tableRoles {
			for _, l := range []authz.Level{authz.PlatformLevel, authz.TenantLevel, authz.ProjectLevel} {
				for _, s := range targetsAt[l] {
					want := slices.Contains(grantLevels[role], l) && expect(t, g, authz.MemberCreate, s)
					if role == PA {
						want = want && slices.ContainsFunc(g, func(b authz.Binding) bool { return b.Role == PA })
					}
					if got := authz.CanGrant(g, role, s); got != want {
						t.Errorf("CanGrant(%v, %s, %s) = %v, the table says %v", g, role, s, got, want)
					}
				}
			}
		}
	}
}
