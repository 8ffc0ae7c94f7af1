package api

import (
	"net/http"
	"testing"

	"berth.dev/berth/internal/authz"
)

// seedNetwork grants tenant tn ports of c1 and its project some of them,
// so exposing app1's port can succeed in the role matrix.
func seedNetwork(t *testing.T, h *harness, admin, tn string) {
	t.Helper()
	h.must(http.StatusOK, admin, "PUT", "/tenants/"+tn+"/network/ports/c1", map[string]any{"ports": tenantPorts[tn]})
	h.must(http.StatusOK, admin, "PUT", projPath(tn)+"/network/ports/c1", map[string]any{"ports": projectPorts[tn]})
}

var (
	tenantPorts  = map[string]string{own: "31000-31099", other: "31100-31199"}
	projectPorts = map[string]string{own: "31000-31049", other: "31100-31149"}
)

// netassetMatrixCases are the role-matrix cases of the network routes.
var netassetMatrixCases = map[string]func(tenant, name string) matrixCase{
	"GET /clusters/{cluster}/ports": func(string, string) matrixCase {
		return matrixCase{"/clusters/c1/ports", nil, allow(authz.NetworkRead, authz.Platform)}
	},
	"PUT /clusters/{cluster}/ports": func(string, string) matrixCase {
		return matrixCase{"/clusters/c1/ports", map[string]any{"ports": "30000-32767", "resourceVersion": 0}, allow(authz.PortPoolSet, authz.Platform)}
	},
	"GET /tenants/{tenant}/network/ports": func(tn, _ string) matrixCase {
		return matrixCase{"/tenants/" + tn + "/network/ports", nil, allow(authz.NetworkRead, authz.TenantScope(tn))}
	},
	"PUT /tenants/{tenant}/network/ports/{cluster}": func(tn, _ string) matrixCase {
		return matrixCase{"/tenants/" + tn + "/network/ports/c1", map[string]any{"ports": tenantPorts[tn], "resourceVersion": 1},
			allow(authz.PortPoolSet, authz.TenantScope(tn))}
	},
	"GET /tenants/{tenant}/projects/{project}/network/ports": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/network/ports", nil, allow(authz.NetworkRead, authz.ProjectScope(tn, proj))}
	},
	"PUT /tenants/{tenant}/projects/{project}/network/ports/{cluster}": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/network/ports/c1", map[string]any{"ports": projectPorts[tn], "resourceVersion": 1},
			allow(authz.ProjectPortsSet, authz.ProjectScope(tn, proj))}
	},
	"PUT /tenants/{tenant}/projects/{project}/environments/{environment}/deployments/{app}/ports/{port}": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/environments/dev/deployments/app1/ports/http", map[string]any{},
			allow(authz.NetworkExpose, authz.ProjectScope(tn, proj))}
	},
	"DELETE /tenants/{tenant}/projects/{project}/environments/{environment}/deployments/{app}/ports/{port}": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/environments/dev/deployments/app1/ports/gone", nil,
			allow(authz.NetworkExpose, authz.ProjectScope(tn, proj))}
	},
	"GET /tenants/{tenant}/network/bandwidth": func(tn, _ string) matrixCase {
		return matrixCase{"/tenants/" + tn + "/network/bandwidth", nil, allow(authz.QuotaRead, authz.TenantScope(tn))}
	},
	"PUT /tenants/{tenant}/network/bandwidth": func(tn, _ string) matrixCase {
		return matrixCase{"/tenants/" + tn + "/network/bandwidth", map[string]any{"ingress": "10G", "egress": "10G"}, allow(authz.TenantQuotaSet, authz.TenantScope(tn))}
	},
	"GET /tenants/{tenant}/projects/{project}/network/bandwidth": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/network/bandwidth", nil, allow(authz.QuotaRead, authz.ProjectScope(tn, proj))}
	},
	"PUT /tenants/{tenant}/projects/{project}/network/bandwidth": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/network/bandwidth", map[string]any{"ingress": "1G"}, allow(authz.ProjectQuotaSet, authz.ProjectScope(tn, proj))}
	},
	"GET /network/isolation": func(string, string) matrixCase { return matrixCase{"/network/isolation", nil, anyone} },
	"GET /tenants/{tenant}/network/isolation": func(tn, _ string) matrixCase {
		return matrixCase{"/tenants/" + tn + "/network/isolation", nil, allow(authz.NetworkRead, authz.TenantScope(tn))}
	},
	"PUT /tenants/{tenant}/network/isolation": func(tn, _ string) matrixCase {
		return matrixCase{"/tenants/" + tn + "/network/isolation", map[string]any{"level": "tenant", "resourceVersion": 0},
			allow(authz.IsolationSet, authz.TenantScope(tn))}
	},
	"GET /tenants/{tenant}/projects/{project}/network/isolation": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/network/isolation", nil, allow(authz.NetworkRead, authz.ProjectScope(tn, proj))}
	},
	"PUT /tenants/{tenant}/projects/{project}/network/isolation": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/network/isolation", map[string]any{"level": "application", "resourceVersion": 0},
			allow(authz.IsolationSet, authz.ProjectScope(tn, proj))}
	},
}
