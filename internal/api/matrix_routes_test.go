package api

import (
	"net/http"
	"slices"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/sso"
	"berth.dev/berth/internal/tenancy"
)

// Levels routes act at.
var (
	onPlatform = []authz.Level{authz.PlatformLevel}
	onTenant   = []authz.Level{authz.TenantLevel}
	onProject  = []authz.Level{authz.ProjectLevel}
	onEvery    = []authz.Level{authz.PlatformLevel, authz.TenantLevel, authz.ProjectLevel}
)

func tp(s authz.Scope) string { return "/tenants/" + s.Tenant }
func pp(s authz.Scope) string { return "/tenants/" + s.Tenant + "/projects/" + s.Project }

// need is a request that needs every one of perms at scope.
func need(path string, body any, scope authz.Scope, perms ...authz.Permission) request {
	return request{path: path, body: body, scope: scope, need: perms}
}

// anyone allows every authenticated caller: the route acts on the
// caller's own account, or filters its answer by the caller's bindings.
func anyone([]authz.Binding) bool { return true }

// ownAccount is a route on the caller's own account.
func ownAccount(path string, body any) request { return request{path: path, body: body, allow: anyone} }

// at makes a routeCase.
func at(levels []authz.Level, build func(e *matrixEnv, s *subject, tg authz.Scope, n string) request) routeCase {
	return routeCase{levels: levels, build: build}
}

// stateful is an action on an object an earlier caller may have moved on:
// an allowed caller gets 200, or 409 when the state refuses it.
func stateful(q request) request {
	q.ok = []int{http.StatusOK, http.StatusConflict}
	return q
}

// matrixCases is every route but /apply (matrix_apply_test.go) and the
// network routes (matrix_netassets_test.go), keyed "METHOD path".
func matrixCases() map[string]routeCase {
	cases := map[string]routeCase{
		"POST /logout": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request {
			q := ownAccount("/logout", nil)
			q.ok = []int{http.StatusNoContent}
			return q
		}),
		"GET /whoami": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request { return ownAccount("/whoami", nil) }),
		"GET /whoami/permissions": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request {
			return ownAccount("/whoami/permissions?tenant=bank", nil)
		}),
		// Every caller may open the live event stream, whose events are
		// filtered by the caller's bindings (events_test.go); here a bad
		// topic ends the request before the stream starts.
		"GET /events": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request {
			q := ownAccount("/events?topics=pods", nil)
			q.ok = []int{http.StatusUnprocessableEntity}
			return q
		}),

		"GET /tenants": at(onPlatform, func(e *matrixEnv, _ *subject, _ authz.Scope, _ string) request {
			q := ownAccount("/tenants", nil)
			q.inspect = e.inspectTenants
			return q
		}),
		"POST /tenants": at(onPlatform, func(_ *matrixEnv, _ *subject, _ authz.Scope, n string) request {
			return need("/tenants", map[string]string{"name": n}, authz.TenantScope(n), authz.TenantCreate)
		}),
		"GET /tenants/{tenant}": at(onTenant, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(tp(tg), nil, tg, authz.TenantRead)
		}),
		"PUT /tenants/{tenant}": at(onTenant, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(tp(tg), map[string]any{"resourceVersion": 2, "description": tg.Tenant + " private banking"}, tg, authz.TenantUpdate)
		}),
		"DELETE /tenants/{tenant}": at(onTenant, func(e *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			// The tenant exists and has projects: allowed callers are told it
			// is in use, refused ones only that they may not.
			q := need(tp(tg), nil, tg, authz.TenantDelete)
			q.ok, q.survives = []int{http.StatusConflict}, e.exists(tp(tg))
			return q
		}),

		"GET /tenants/{tenant}/projects": at(onTenant, func(e *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			// Filtered: a project's members see their projects, the tenant's
			// and the platform's see all.
			return request{path: tp(tg) + "/projects", allow: func(bs []authz.Binding) bool { return inTenant(bs, tg.Tenant) },
				inspect: e.inspectProjects(tg.Tenant)}
		}),
		"POST /tenants/{tenant}/projects": at(onTenant, func(_ *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return need(tp(tg)+"/projects", map[string]string{"name": n}, authz.ProjectScope(tg.Tenant, n), authz.ProjectCreate)
		}),
		"GET /tenants/{tenant}/projects/{project}": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg), nil, tg, authz.ProjectRead)
		}),
		"PUT /tenants/{tenant}/projects/{project}": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg), map[string]any{"resourceVersion": 1, "description": "x"}, tg, authz.ProjectUpdate)
		}),
		"DELETE /tenants/{tenant}/projects/{project}": at(onTenant, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			e.h.must(http.StatusCreated, e.admin, "POST", tp(tg)+"/projects", map[string]string{"name": n})
			q := need(tp(tg)+"/projects/"+n, nil, authz.ProjectScope(tg.Tenant, n), authz.ProjectDelete)
			q.survives = e.exists(q.path)
			return q
		}),

		"GET /tenants/{tenant}/projects/{project}/environments": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/environments", nil, tg, authz.EnvironmentRead)
		}),
		"POST /tenants/{tenant}/projects/{project}/environments": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return need(pp(tg)+"/environments", map[string]string{"name": n, "cluster": "c1", "namespace": "ns-" + n}, tg, authz.EnvironmentCreate)
		}),
		"GET /tenants/{tenant}/projects/{project}/environments/{environment}": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/environments/dev", nil, tg, authz.EnvironmentRead)
		}),
		"PUT /tenants/{tenant}/projects/{project}/environments/{environment}": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/environments/dev", map[string]any{"resourceVersion": 1, "cluster": "c1", "namespace": tg.Tenant + "-" + tg.Project + "-dev"},
				tg, authz.EnvironmentUpdate)
		}),
		"DELETE /tenants/{tenant}/projects/{project}/environments/{environment}": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			e.h.must(http.StatusCreated, e.admin, "POST", pp(tg)+"/environments", map[string]string{"name": n, "cluster": "c1", "namespace": "ns-" + n})
			q := need(pp(tg)+"/environments/"+n, nil, tg, authz.EnvironmentDelete)
			q.survives = e.exists(q.path)
			return q
		}),

		"GET /tenants/{tenant}/quota": at(onTenant, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(tp(tg)+"/quota", nil, tg, authz.QuotaRead)
		}),
		"PUT /tenants/{tenant}/quota": at(onTenant, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(tp(tg)+"/quota", map[string]any{"hard": map[string]string{"cpu": "1000"}}, tg, authz.TenantQuotaSet)
		}),
		"GET /tenants/{tenant}/projects/{project}/quota": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/quota", nil, tg, authz.QuotaRead)
		}),
		"PUT /tenants/{tenant}/projects/{project}/quota": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/quota", map[string]any{"hard": map[string]string{"cpu": "100"}}, tg, authz.ProjectQuotaSet)
		}),

		"GET /clusters": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request {
			return need("/clusters", nil, authz.Platform, authz.ClusterRead)
		}),
		"POST /clusters": at(onPlatform, func(_ *matrixEnv, _ *subject, _ authz.Scope, n string) request {
			return need("/clusters", map[string]string{"name": n, "kubeconfig": kubeconfigFor("https://127.0.0.1:1")}, authz.Platform, authz.ClusterCreate)
		}),
		"GET /clusters/{cluster}": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request {
			return need("/clusters/c1", nil, authz.Platform, authz.ClusterRead)
		}),
		"PUT /clusters/{cluster}": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request {
			return need("/clusters/c1", map[string]any{"resourceVersion": 1, "zone": "beijing"}, authz.Platform, authz.ClusterUpdate)
		}),
		"DELETE /clusters/{cluster}": at(onPlatform, func(e *matrixEnv, _ *subject, _ authz.Scope, n string) request {
			e.h.must(http.StatusCreated, e.admin, "POST", "/clusters", map[string]string{"name": n, "kubeconfig": kubeconfigFor("https://127.0.0.1:1")})
			q := need("/clusters/"+n, nil, authz.Platform, authz.ClusterDelete)
			q.survives = e.exists(q.path)
			return q
		}),

		"GET /tenants/{tenant}/projects/{project}/applications": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/applications", nil, tg, authz.ApplicationRead)
		}),
		"POST /tenants/{tenant}/projects/{project}/applications": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return need(pp(tg)+"/applications", map[string]string{"name": n}, tg, authz.ApplicationCreate)
		}),
		"GET /tenants/{tenant}/projects/{project}/applications/{app}": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/applications/app1", nil, tg, authz.ApplicationRead)
		}),
		"PUT /tenants/{tenant}/projects/{project}/applications/{app}": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/applications/app1", map[string]any{"resourceVersion": 1, "description": "x"}, tg, authz.ApplicationUpdate)
		}),
		"DELETE /tenants/{tenant}/projects/{project}/applications/{app}": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			e.h.must(http.StatusCreated, e.admin, "POST", pp(tg)+"/applications", map[string]string{"name": n})
			q := need(pp(tg)+"/applications/"+n, nil, tg, authz.ApplicationDelete)
			q.survives = e.exists(q.path)
			return q
		}),
		"GET /tenants/{tenant}/projects/{project}/applications/{app}/versions": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/applications/app1/versions", nil, tg, authz.VersionRead)
		}),
		"POST /tenants/{tenant}/projects/{project}/applications/{app}/versions": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return need(pp(tg)+"/applications/app1/versions", version(n), tg, authz.VersionCreate)
		}),
		"PUT /tenants/{tenant}/projects/{project}/applications/{app}/current-version": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/applications/app1/current-version", map[string]string{"version": "v1"}, tg, authz.VersionCreate)
		}),
		"GET /tenants/{tenant}/projects/{project}/applications/{app}/versions/{version}": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/applications/app1/versions/v1", nil, tg, authz.VersionRead)
		}),

		"GET /tiers": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request {
			return need("/tiers", nil, authz.Platform, authz.TierRead)
		}),
		"POST /tiers": at(onPlatform, func(_ *matrixEnv, _ *subject, _ authz.Scope, n string) request {
			return need("/tiers", tier(n), authz.Platform, authz.TierCreate)
		}),
		"GET /tiers/{tier}": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request {
			return need("/tiers/small", nil, authz.Platform, authz.TierRead)
		}),
		"PUT /tiers/{tier}": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request {
			return need("/tiers/small", map[string]any{"resourceVersion": 1, "resources": map[string]any{"requests": map[string]string{"cpu": "100m", "memory": "128Mi"}}},
				authz.Platform, authz.TierUpdate)
		}),
		"DELETE /tiers/{tier}": at(onPlatform, func(e *matrixEnv, _ *subject, _ authz.Scope, n string) request {
			e.h.must(http.StatusCreated, e.admin, "POST", "/tiers", tier(n))
			q := need("/tiers/"+n, nil, authz.Platform, authz.TierDelete)
			q.survives = e.exists(q.path)
			return q
		}),

		"GET /group-bindings": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request {
			return need("/group-bindings", nil, authz.Platform, authz.GroupBindingRead)
		}),
		"POST /group-bindings": at(onPlatform, func(_ *matrixEnv, _ *subject, _ authz.Scope, n string) request {
			return need("/group-bindings", groupBinding(n), authz.Platform, authz.GroupBindingManage)
		}),
		"GET /group-bindings/{name}": at(onPlatform, func(e *matrixEnv, _ *subject, _ authz.Scope, n string) request {
			e.newGroupBinding(n)
			return need("/group-bindings/"+n, nil, authz.Platform, authz.GroupBindingRead)
		}),
		"PUT /group-bindings/{name}": at(onPlatform, func(e *matrixEnv, _ *subject, _ authz.Scope, n string) request {
			e.newGroupBinding(n)
			b := groupBinding(n)
			b["resourceVersion"] = 1
			return need("/group-bindings/"+n, b, authz.Platform, authz.GroupBindingManage)
		}),
		"DELETE /group-bindings/{name}": at(onPlatform, func(e *matrixEnv, _ *subject, _ authz.Scope, n string) request {
			e.newGroupBinding(n)
			q := need("/group-bindings/"+n, nil, authz.Platform, authz.GroupBindingManage)
			q.survives = e.exists(q.path)
			return q
		}),

		"GET /users": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request {
			return need("/users", nil, authz.Platform, authz.UserRead)
		}),
		"POST /users": at(onPlatform, func(_ *matrixEnv, _ *subject, _ authz.Scope, n string) request {
			return need("/users", map[string]string{"name": n, "password": "a-long-password"}, authz.Platform, authz.UserCreate)
		}),
		"GET /users/{user}": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request {
			return need("/users/admin", nil, authz.Platform, authz.UserRead) // another user; one's own is anyone's
		}),
		"PUT /users/{user}": at(onPlatform, func(e *matrixEnv, _ *subject, _ authz.Scope, n string) request {
			e.newUser(n)
			return need("/users/"+n, map[string]any{"resourceVersion": 1, "displayName": "Renamed"}, authz.Platform, authz.UserUpdate)
		}),
		"PUT /users/{user}/password": at(onPlatform, func(e *matrixEnv, _ *subject, _ authz.Scope, n string) request {
			e.newUser(n) // another user's password; one's own is TestUsersChangeTheirOwnPasswordOnly's
			q := need("/users/"+n+"/password", map[string]string{"password": "another-long-password"}, authz.Platform, authz.UserUpdate)
			q.ok = []int{http.StatusNoContent}
			return q
		}),
		"DELETE /users/{user}": at(onPlatform, func(e *matrixEnv, _ *subject, _ authz.Scope, n string) request {
			e.newUser(n)
			q := need("/users/"+n, nil, authz.Platform, authz.UserDelete)
			q.survives = e.exists(q.path)
			return q
		}),

		"GET /users/{user}/tokens": at(onPlatform, func(e *matrixEnv, _ *subject, _ authz.Scope, n string) request {
			e.newUser(n) // another user's tokens; one's own are anyone's
			return need("/users/"+n+"/tokens", nil, authz.Platform, authz.UserRead)
		}),
		"POST /users/{user}/tokens": at(onPlatform, func(e *matrixEnv, _ *subject, _ authz.Scope, n string) request {
			e.newUser(n)
			q := need("/users/"+n+"/tokens", map[string]string{"name": n}, authz.Platform, authz.UserUpdate)
			q.ok = []int{http.StatusCreated}
			return q
		}),
		"DELETE /users/{user}/tokens/{id}": at(onPlatform, func(e *matrixEnv, _ *subject, _ authz.Scope, n string) request {
			e.newUser(n)
			var tok apitypes.TokenCreated
			e.h.must(http.StatusCreated, e.admin, "POST", "/users/"+n+"/tokens", map[string]string{"name": n}).decode(e.t, &tok)
			q := need("/users/"+n+"/tokens/"+tok.ID, nil, authz.Platform, authz.UserUpdate)
			q.ok = []int{http.StatusNoContent}
			return q
		}),

		"GET /tokens": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request { return ownAccount("/tokens", nil) }),
		"POST /tokens": at(onPlatform, func(_ *matrixEnv, _ *subject, _ authz.Scope, n string) request {
			return ownAccount("/tokens", map[string]string{"name": n})
		}),
		"DELETE /tokens/{id}": at(onPlatform, func(e *matrixEnv, s *subject, _ authz.Scope, n string) request {
			var tok apitypes.TokenCreated
			e.h.must(http.StatusCreated, s.token, "POST", "/tokens", map[string]string{"name": n}).decode(e.t, &tok)
			return ownAccount("/tokens/"+tok.ID, nil)
		}),

		"GET /audit": at(onEvery, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return auditRequest("/audit", "", tg)
		}),
		"GET /audit/export": at(onEvery, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return auditRequest("/audit/export", "format=csv", tg)
		}),
		"POST /audit/verify": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request {
			q := need("/audit/verify", nil, authz.Platform, authz.AuditVerify)
			q.ok = []int{http.StatusOK}
			return q
		}),
	}
	for _, base := range []string{"", "/tenants/{tenant}", "/tenants/{tenant}/projects/{project}"} {
		levels := map[string][]authz.Level{"": onPlatform, "/tenants/{tenant}": onTenant, "/tenants/{tenant}/projects/{project}": onProject}[base]
		cases["GET "+base+"/members"] = at(levels, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(membersPath(tg), nil, tg, authz.MemberRead)
		})
		cases["POST "+base+"/members"] = at(levels, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			e.newUser(n)
			// Granting viewer, which exists at every level: MemberCreate is
			// all it needs (only platform-admin needs more, TestGrantingMatchesTable).
			return need(membersPath(tg), map[string]string{"user": n, "role": "viewer"}, tg, authz.MemberCreate)
		})
		cases["DELETE "+base+"/members/{user}/{role}"] = at(levels, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			e.newUser(n)
			e.h.must(http.StatusCreated, e.admin, "POST", membersPath(tg), map[string]string{"user": n, "role": "viewer"})
			q := need(membersPath(tg)+"/"+n+"/viewer", nil, tg, authz.MemberDelete)
			q.survives = e.bound(tg, n)
			return q
		})
	}
	for k, v := range deploymentCases() {
		cases[k] = v
	}
	for k, v := range releaseCases() {
		cases[k] = v
	}
	for k, v := range grayCases() {
		cases[k] = v
	}
	for k, v := range floorCases() {
		cases[k] = v
	}
	for k, v := range netassetMatrixCases() {
		cases[k] = v
	}
	for k, v := range terminalCases() {
		cases[k] = v
	}
	for k, v := range alertCases() {
		cases[k] = v
	}
	for k, v := range storeCases() {
		cases[k] = v
	}
	for k, v := range sloCases() {
		cases[k] = v
	}
	for k, v := range dashboardCases() {
		cases[k] = v
	}
	for k, v := range configCases() {
		cases[k] = v
	}
	for k, v := range pipelineCases() {
		cases[k] = v
	}
	return cases
}

func tier(name string) map[string]any {
	return map[string]any{"name": name, "resources": map[string]any{"requests": map[string]string{"cpu": "1", "memory": "1Gi"}}}
}

// withDirectory configures the directory "corp" group bindings name.
func withDirectory(o *platform.Options) {
	o.SSO = []sso.ProviderInfo{{Name: "corp", Kind: sso.KindLDAP}}
}

// groupBinding is the body of a binding named n.
func groupBinding(n string) map[string]any {
	return map[string]any{"name": n, "provider": "corp", "group": "cn=" + n + ",ou=groups,dc=bank", "role": "viewer",
		"scope": map[string]string{"tenant": tenA}}
}

// newGroupBinding creates binding n as admin.
func (e *matrixEnv) newGroupBinding(n string) {
	e.h.must(http.StatusCreated, e.admin, "POST", "/group-bindings", groupBinding(n))
}

// newUser creates user n as admin.
func (e *matrixEnv) newUser(n string) {
	e.h.must(http.StatusCreated, e.admin, "POST", "/users", map[string]string{"name": n, "password": "password-of-" + n})
}

// exists reports whether admin can read path.
func (e *matrixEnv) exists(path string) func() bool {
	return func() bool { return e.h.call(e.admin, "GET", path, nil).status == http.StatusOK }
}

// bound reports whether user n is still bound at tg.
func (e *matrixEnv) bound(tg authz.Scope, n string) func() bool {
	return func() bool {
		var l apitypes.List[tenancy.Member]
		e.h.must(http.StatusOK, e.admin, "GET", membersPath(tg)+"?limit=1000", nil).decode(e.t, &l)
		return slices.ContainsFunc(l.Items, func(m tenancy.Member) bool { return m.User == n })
	}
}

// auditRequest reads the trail of tg: a tenant's (?tenant=), a project's
// (?tenant=&project=), or, at the platform, without filters: every record
// for a platform-wide reader, else the one tenant (or, without any tenant,
// the one project) the caller audits (docs/api.md).
func auditRequest(path, query string, tg authz.Scope) request {
	q := "?" + query
	switch {
	case tg.Project != "":
		q += "&tenant=" + tg.Tenant + "&project=" + tg.Project
	case tg.Tenant != "":
		q += "&tenant=" + tg.Tenant
	}
	r := need(path+q, nil, tg, authz.AuditRead)
	if tg.Tenant == "" {
		r.allow = func(bs []authz.Binding) bool {
			var tenants, projects int
			for _, b := range bs {
				if row0(authz.AuditRead)[b.Role] == no {
					continue
				}
				switch {
				case b.Scope.Tenant == "":
					return true
				case b.Scope.Project == "":
					tenants++
				default:
					projects++
				}
			}
			return tenants == 1 || (tenants == 0 && projects == 1)
		}
	}
	return r
}

// row0 is the table's row of perm, for rules outside a test's helpers.
func row0(perm authz.Permission) grants {
	for _, r := range policyTable {
		if r.perm == perm {
			return r.who
		}
	}
	return nil
}
