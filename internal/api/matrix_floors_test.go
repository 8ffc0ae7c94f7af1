package api

import "berth.dev/berth/internal/authz"

// floorMatrixCases are the role matrix's cases for namespace grants and
// approval floors.
var floorMatrixCases = map[string]func(tenant, name string) matrixCase{
	"GET /clusters/{cluster}/namespace-grants": func(string, string) matrixCase {
		return matrixCase{"/clusters/c1/namespace-grants", nil, allow(authz.TenantRead, authz.TenantScope("*"))}
	},
	"PUT /clusters/{cluster}/namespace-grants/{tenant}": func(tn, _ string) matrixCase {
		return matrixCase{"/clusters/c1/namespace-grants/" + tn, map[string]any{"prefix": tn + "-"}, allow(authz.ClusterUpdate, authz.Platform)}
	},
	"DELETE /clusters/{cluster}/namespace-grants/{tenant}": func(string, string) matrixCase {
		return matrixCase{"/clusters/c1/namespace-grants/gone", nil, allow(authz.ClusterUpdate, authz.Platform)}
	},
	"GET /tenants/{tenant}/namespace-grants": func(tn, _ string) matrixCase {
		return matrixCase{"/tenants/" + tn + "/namespace-grants", nil, allow(authz.TenantRead, authz.TenantScope(tn))}
	},
	"GET /approval-floor": func(string, string) matrixCase {
		return matrixCase{"/approval-floor", nil, allow(authz.TenantRead, authz.TenantScope("*"))}
	},
	"PUT /approval-floor": func(string, string) matrixCase {
		return matrixCase{"/approval-floor", map[string]any{"resourceVersion": 0}, allow(authz.ApprovalFloorSet, authz.Platform)}
	},
	"POST /approval-floor/approve": func(string, string) matrixCase {
		return matrixCase{"/approval-floor/approve", nil, allow(authz.ApprovalFloorSet, authz.Platform)}
	},
	"POST /approval-floor/withdraw": func(string, string) matrixCase {
		return matrixCase{"/approval-floor/withdraw", nil, allow(authz.ApprovalFloorSet, authz.Platform)}
	},
	"GET /tenants/{tenant}/approval-floor": func(tn, _ string) matrixCase {
		return matrixCase{"/tenants/" + tn + "/approval-floor", nil, allow(authz.TenantRead, authz.TenantScope(tn))}
	},
	"PUT /tenants/{tenant}/approval-floor": func(tn, _ string) matrixCase {
		return matrixCase{"/tenants/" + tn + "/approval-floor", map[string]any{"resourceVersion": 0}, allow(authz.ApprovalFloorSet, authz.TenantScope(tn))}
	},
	"POST /tenants/{tenant}/approval-floor/approve": func(tn, _ string) matrixCase {
		return matrixCase{"/tenants/" + tn + "/approval-floor/approve", nil, allow(authz.ApprovalFloorSet, authz.TenantScope(tn))}
	},
	"POST /tenants/{tenant}/approval-floor/withdraw": func(tn, _ string) matrixCase {
		return matrixCase{"/tenants/" + tn + "/approval-floor/withdraw", nil, allow(authz.ApprovalFloorSet, authz.TenantScope(tn))}
	},
}
