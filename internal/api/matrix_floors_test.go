package api

import (
	"net/http"

	"berth.dev/berth/internal/authz"
)

// platformWide is the scope of platform-wide settings that only
// platform-scope bindings read: no tenant is named "*".
var platformWide = authz.TenantScope("*")

// floorCases are the role-matrix cases of namespace grants and approval
// floors (docs/security.md, "Namespaces and approval floors").
func floorCases() map[string]routeCase {
	cases := map[string]routeCase{
		"GET /clusters/{cluster}/namespace-grants": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request {
			return need("/clusters/c1/namespace-grants", nil, platformWide, authz.TenantRead)
		}),
		"PUT /clusters/{cluster}/namespace-grants/{tenant}": at(onTenant, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			q := need("/clusters/c1/namespace-grants/"+tg.Tenant, map[string]any{"prefix": tg.Tenant + "-"}, authz.Platform, authz.ClusterUpdate)
			q.ok = []int{http.StatusOK, http.StatusCreated}
			return q
		}),
		"DELETE /clusters/{cluster}/namespace-grants/{tenant}": at(onTenant, func(e *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			path := "/clusters/c1/namespace-grants/" + tg.Tenant
			e.h.call(e.admin, "PUT", path, map[string]any{"prefix": tg.Tenant + "-"})
			q := need(path, nil, authz.Platform, authz.ClusterUpdate)
			q.ok = []int{http.StatusNoContent, http.StatusNotFound} // an earlier caller may have revoked it
			return q
		}),
		"GET /tenants/{tenant}/namespace-grants": at(onTenant, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(tp(tg)+"/namespace-grants", nil, tg, authz.TenantRead)
		}),
	}
	for _, level := range []struct {
		levels []authz.Level
		base   func(authz.Scope) string
		set    func(authz.Scope) authz.Scope
		read   func(authz.Scope) authz.Scope
	}{
		{onPlatform, func(authz.Scope) string { return "" },
			func(authz.Scope) authz.Scope { return authz.Platform }, func(authz.Scope) authz.Scope { return platformWide }},
		{onTenant, tp, func(tg authz.Scope) authz.Scope { return tg }, func(tg authz.Scope) authz.Scope { return tg }},
	} {
		prefix := ""
		if level.levels[0] == authz.TenantLevel {
			prefix = "/tenants/{tenant}"
		}
		cases["GET "+prefix+"/approval-floor"] = at(level.levels, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(level.base(tg)+"/approval-floor", nil, level.read(tg), authz.TenantRead)
		})
		cases["PUT "+prefix+"/approval-floor"] = at(level.levels, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			// Raising takes effect at once; a later caller's equal value
			// may find the version moved on.
			q := need(level.base(tg)+"/approval-floor", map[string]any{"resourceVersion": 0}, level.set(tg), authz.ApprovalFloorSet)
			q.ok = []int{http.StatusOK, http.StatusConflict}
			return q
		})
		for _, op := range []string{"approve", "withdraw"} {
			cases["POST "+prefix+"/approval-floor/"+op] = at(level.levels, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
				q := need(level.base(tg)+"/approval-floor/"+op, nil, level.set(tg), authz.ApprovalFloorSet)
				q.ok = []int{http.StatusOK, http.StatusConflict} // nothing pending
				return q
			})
		}
	}
	return cases
}
