package api

import (
	"net/http"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/authz"
)

// Ports of the matrix's tenants and projects (seedMatrixTenants).
var (
	matrixTenantPorts  = map[string]string{tenA: "31000-31099", tenB: "31100-31199"}
	matrixProjectPorts = map[string]string{tenA + "/p1": "31000-31049", tenA + "/p2": "31050-31099", tenB + "/p1": "31100-31149"}
)

// netassetMatrixCases are the role-matrix cases of the network routes
// (docs/network-assets.md, "Permissions"; bandwidth uses the quota
// permissions).
func netassetMatrixCases() map[string]routeCase {
	expose := "/tenants/{tenant}/projects/{project}/environments/{environment}/deployments/{app}/ports/{port}"
	port := func(tg authz.Scope) string { return pp(tg) + "/environments/dev/deployments/app1/ports/http" }
	return map[string]routeCase{
		"GET /clusters/{cluster}/ports": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request {
			return need("/clusters/c1/ports", nil, authz.Platform, authz.NetworkRead) // names every tenant holding ports
		}),
		"PUT /clusters/{cluster}/ports": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request {
			return need("/clusters/c1/ports", map[string]any{"ports": "30000-32767", "resourceVersion": 0}, authz.Platform, authz.PortPoolSet)
		}),
		"GET /tenants/{tenant}/network/ports": at(onTenant, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(tp(tg)+"/network/ports", nil, tg, authz.NetworkRead)
		}),
		"PUT /tenants/{tenant}/network/ports/{cluster}": at(onTenant, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(tp(tg)+"/network/ports/c1", map[string]any{"ports": matrixTenantPorts[tg.Tenant], "resourceVersion": 1}, tg, authz.PortPoolSet)
		}),
		"GET /tenants/{tenant}/projects/{project}/network/ports": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/network/ports", nil, tg, authz.NetworkRead)
		}),
		"PUT /tenants/{tenant}/projects/{project}/network/ports/{cluster}": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/network/ports/c1", map[string]any{"ports": matrixProjectPorts[tg.Tenant+"/"+tg.Project], "resourceVersion": 1},
				tg, authz.ProjectPortsSet)
		}),
		"PUT " + expose: at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(port(tg), map[string]any{}, tg, authz.NetworkExpose)
		}),
		"DELETE " + expose: at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			// Exposed now, so a refused caller meets an existing exposure.
			if r := e.h.call(e.admin, "PUT", port(tg), map[string]any{}); r.status != http.StatusOK && r.status != http.StatusConflict {
				e.t.Fatalf("expose %s: %d %s", port(tg), r.status, r.body)
			}
			q := need(port(tg), nil, tg, authz.NetworkExpose)
			q.survives = e.exposed(tg)
			return q
		}),
		"GET /tenants/{tenant}/network/bandwidth": at(onTenant, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(tp(tg)+"/network/bandwidth", nil, tg, authz.QuotaRead)
		}),
		"PUT /tenants/{tenant}/network/bandwidth": at(onTenant, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(tp(tg)+"/network/bandwidth", map[string]any{"ingress": "10G", "egress": "10G"}, tg, authz.TenantQuotaSet)
		}),
		"GET /tenants/{tenant}/projects/{project}/network/bandwidth": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/network/bandwidth", nil, tg, authz.QuotaRead)
		}),
		"PUT /tenants/{tenant}/projects/{project}/network/bandwidth": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/network/bandwidth", map[string]any{"ingress": "1G"}, tg, authz.ProjectQuotaSet)
		}),
		"GET /network/isolation": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request {
			return ownAccount("/network/isolation", nil) // filtered by the caller's bindings
		}),
		"GET /tenants/{tenant}/network/isolation": at(onTenant, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(tp(tg)+"/network/isolation", nil, tg, authz.NetworkRead)
		}),
		"PUT /tenants/{tenant}/network/isolation": at(onTenant, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(tp(tg)+"/network/isolation", map[string]any{"level": "tenant", "resourceVersion": 0}, tg, authz.IsolationSet)
		}),
		"GET /tenants/{tenant}/projects/{project}/network/isolation": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/network/isolation", nil, tg, authz.NetworkRead)
		}),
		"PUT /tenants/{tenant}/projects/{project}/network/isolation": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/network/isolation", map[string]any{"level": "application", "resourceVersion": 0}, tg, authz.IsolationSet)
		}),
	}
}

// exposed reports whether app1's http port in tg is still exposed.
func (e *matrixEnv) exposed(tg authz.Scope) func() bool {
	return func() bool {
		var l apitypes.List[struct {
			Allocations []struct {
				Application string `json:"application"`
			} `json:"allocations"`
		}]
		e.h.must(http.StatusOK, e.admin, "GET", pp(tg)+"/network/ports", nil).decode(e.t, &l)
		for _, v := range l.Items {
			for _, a := range v.Allocations {
				if a.Application == "app1" {
					return true
				}
			}
		}
		return false
	}
}
