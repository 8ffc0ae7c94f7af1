package api

import (
	"encoding/json"
	"net/http"
	"testing"

	"berth.dev/berth/internal/api/apitypes"
)

// The fixture of the role matrix and of the tests that reuse it (gray,
// network assets): tenants with a project each, an environment dev on
// cluster c1, application app1 with versions v1 and v2 running v1, node
// ports, and two release orders per project.

const own, other, proj = "own", "other", "p1"

func projPath(tn string) string { return "/tenants/" + tn + "/projects/" + proj }

func version(name string) map[string]any {
	return map[string]any{"name": name, "image": "registry.local/app1:1", "tier": "small", "orchestration": map[string]any{"replicas": 1,
		"ports": []map[string]any{{"name": "http", "containerPort": 8080}}}}
}

// seedMatrix creates, as admin, the same objects in tenants own and other
// (project p1 each) and returns the release orders: by tenant the order
// of v1, by tenant+"/gray" the order of v2.
func seedMatrix(t *testing.T, h *harness, admin string) (orders map[string]string) {
	orders = map[string]string{}
	seedPlatform(h, admin)
	for tn, ports := range map[string][2]string{own: {"31000-31099", "31000-31049"}, other: {"31100-31199", "31100-31149"}} {
		seedTenant(h, admin, tn, ports[0])
		o, g := seedProject(t, h, admin, tn, proj, tn+"-dev", ports[1])
		orders[tn], orders[tn+"/gray"] = o, g
	}
	return orders
}

// seedPlatform creates tier small and cluster c1.
func seedPlatform(h *harness, admin string) {
	h.must(http.StatusCreated, admin, "POST", "/tiers", map[string]any{"name": "small", "resources": map[string]any{"requests": map[string]string{"cpu": "100m", "memory": "128Mi"}}})
	h.must(http.StatusCreated, admin, "POST", "/clusters", map[string]string{"name": "c1", "kubeconfig": kubeconfigFor("https://127.0.0.1:1")})
}

// seedTenant creates tenant tn and grants it ports of c1.
func seedTenant(h *harness, admin, tn, ports string) {
	h.must(http.StatusCreated, admin, "POST", "/tenants", map[string]string{"name": tn})
	h.must(http.StatusOK, admin, "PUT", "/tenants/"+tn+"/network/ports/c1", map[string]any{"ports": ports})
}

// seedProject creates project pj of tenant tn with environment dev on
// namespace ns, app1 running v1, ports of the tenant's, and two release
// orders: of v1 (returned first) and of v2 (for gray groups).
func seedProject(t *testing.T, h *harness, admin, tn, pj, ns, ports string) (order, grayOrder string) {
	t.Helper()
	h.must(http.StatusCreated, admin, "POST", "/tenants/"+tn+"/projects", map[string]string{"name": pj})
	pp := "/tenants/" + tn + "/projects/" + pj
	h.must(http.StatusCreated, admin, "POST", pp+"/environments", map[string]string{"name": "dev", "cluster": "c1", "namespace": ns})
	h.must(http.StatusCreated, admin, "POST", pp+"/applications", map[string]string{"name": "app1"})
	h.must(http.StatusCreated, admin, "POST", pp+"/applications/app1/versions", version("v1"))
	h.must(http.StatusCreated, admin, "POST", pp+"/applications/app1/versions", version("v2"))
	h.must(http.StatusOK, admin, "PUT", pp+"/environments/dev/deployments/app1", map[string]string{"version": "v1"})
	h.must(http.StatusOK, admin, "PUT", pp+"/network/ports/c1", map[string]any{"ports": ports})
	newOrder := func(title, v string) string {
		r := h.must(http.StatusCreated, admin, "POST", pp+"/releases", map[string]any{"environment": "dev", "title": title,
			"items": []map[string]string{{"application": "app1", "version": v}}})
		var o apitypes.OrderView
		if err := json.Unmarshal(r.body, &o); err != nil {
			t.Fatal(err)
		}
		return o.ID
	}
	return newOrder("seed", "v1"), newOrder("seed gray", "v2")
}
