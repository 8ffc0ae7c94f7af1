package api

import (
	"net/http"
	"strings"
	"testing"

	"berth.dev/berth/internal/analysis"
	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/store/storetest"
)

// releaseFixture makes project bank/pay with environments test (no
// approvals) and prod (one approval), applications red-auth and blue-ledger
// with versions v1 and v2, and another project with its own red-auth v9.
// It returns the admin token and tokens of two release managers.
func releaseFixture(t *testing.T, h *harness) (admin, rm1, rm2 string) {
	admin = h.token("admin", adminPassword)
	h.must(http.StatusCreated, admin, "POST", "/tiers", map[string]any{"name": "small", "resources": map[string]any{"requests": map[string]string{"cpu": "100m", "memory": "128Mi"}}})
	h.must(http.StatusCreated, admin, "POST", "/clusters", map[string]string{"name": "c1", "kubeconfig": kubeconfigFor("https://127.0.0.1:1")})
	h.must(http.StatusCreated, admin, "POST", "/tenants", map[string]string{"name": "bank"})
	for _, p := range []string{"pay", "cards"} {
		h.must(http.StatusCreated, admin, "POST", "/tenants/bank/projects", map[string]string{"name": p})
	}
	pp := "/tenants/bank/projects/pay"
	h.must(http.StatusCreated, admin, "POST", pp+"/environments", map[string]any{"name": "test", "cluster": "c1", "namespace": "pay-test"})
	h.must(http.StatusCreated, admin, "POST", pp+"/environments", map[string]any{"name": "prod", "cluster": "c1", "namespace": "pay-prod", "requiredApprovals": 1})
	for _, app := range []string{"red-auth", "blue-ledger"} {
		h.must(http.StatusCreated, admin, "POST", pp+"/applications", map[string]string{"name": app})
		for _, v := range []string{"v1", "v2"} {
			h.must(http.StatusCreated, admin, "POST", pp+"/applications/"+app+"/versions", version(v))
		}
	}
	h.must(http.StatusCreated, admin, "POST", "/tenants/bank/projects/cards/applications", map[string]string{"name": "red-auth"})
	h.must(http.StatusCreated, admin, "POST", "/tenants/bank/projects/cards/applications/red-auth/versions", version("v9"))
	for _, u := range []string{"rm1", "rm2"} {
		h.must(http.StatusCreated, admin, "POST", "/users", map[string]string{"name": u, "password": "password-of-" + u})
		h.must(http.StatusCreated, admin, "POST", pp+"/members", map[string]string{"user": u, "role": "release-manager"})
	}
	return admin, h.token("rm1", "password-of-rm1"), h.token("rm2", "password-of-rm2")
}

func TestProdOrdersNeedAnApproverWhoIsNotTheCreator(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	_, rm1, rm2 := releaseFixture(t, h)
	base := "/tenants/bank/projects/pay/releases"
	var o apitypes.OrderView
	h.must(http.StatusCreated, rm1, "POST", base, apitypes.ReleaseRequest{Environment: "prod", Title: "fees", Ticket: "CHG-7",
		Stages: [][]release.Item{{{Application: "blue-ledger", Version: "v2"}}, {{Application: "red-auth", Version: "v2"}}}}).decode(t, &o)
	if o.State != release.PendingApproval || o.RequiredApprovals != 1 || o.CreatedBy != "rm1" {
		t.Fatalf("created %s needing %d by %s", o.State, o.RequiredApprovals, o.CreatedBy)
	}
	if it := o.Item("red-auth"); len(it.DependsOn) != 1 || it.DependsOn[0] != "blue-ledger" {
		t.Fatalf("stages became dependencies %v", it.DependsOn)
	}
	id := base + "/" + o.ID

	r := h.call(rm1, "POST", id+"/start", nil)
	if e := r.errorBody(t); r.status != http.StatusConflict || !strings.Contains(e.Message, "0 of the 1 approvals") {
		t.Fatalf("start before approval: %d %+v", r.status, e)
	}
	r = h.call(rm1, "POST", id+"/approve", apitypes.ApproveRequest{Comment: "mine"})
	if e := r.errorBody(t); r.status != http.StatusForbidden || e.Code != "refused_for_you" || !strings.Contains(e.Message, "four eyes") {
		t.Fatalf("self-approval: %d %+v", r.status, e)
	}
	h.must(http.StatusOK, rm2, "POST", id+"/approve", apitypes.ApproveRequest{Comment: "checked CHG-7"}).decode(t, &o)
	if o.State != release.Approved || len(o.Approvals) != 1 || o.Approvals[0].User != "rm2" {
		t.Fatalf("after approval %s %+v", o.State, o.Approvals)
	}
	r = h.call(rm2, "POST", id+"/approve", nil)
	if r.status != http.StatusConflict {
		t.Fatalf("second approval of an approved order: %d %s", r.status, r.body)
	}
	h.must(http.StatusOK, rm1, "POST", id+"/start", nil).decode(t, &o)
	if o.State != release.Running || o.StartedBy != "rm1" {
		t.Fatalf("started %s by %s", o.State, o.StartedBy)
	}
	// The order holds its applications: a direct deploy is refused.
	r = h.call(rm1, "PUT", "/tenants/bank/projects/pay/environments/prod/deployments/red-auth", apitypes.DeployRequest{Version: "v1"})
	if e := r.errorBody(t); r.status != http.StatusConflict || !strings.Contains(e.Message, "being released by order "+o.ID) {
		t.Fatalf("deploy of a held application: %d %+v", r.status, e)
	}
	var list apitypes.List[apitypes.OrderView]
	h.must(http.StatusOK, rm2, "GET", base+"?environment=prod", nil).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != o.ID || list.Items[0].Progress.Total != 2 {
		t.Fatalf("list %+v", list.Items)
	}
}

func TestBadOrdersNameTheItemAndWriteNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	_, rm1, _ := releaseFixture(t, h)
	base := "/tenants/bank/projects/pay/releases"
	item := func(app, v string, deps ...string) release.Item {
		return release.Item{Application: app, Version: v, DependsOn: deps}
	}
	checked := func(app string, c analysis.Check) release.Item {
		return release.Item{Application: app, Version: "v2", Checks: []analysis.Check{c}}
	}
	tests := []struct {
		name string
		req  apitypes.ReleaseRequest
		path string
		want string
	}{
		{"cycle", apitypes.ReleaseRequest{Items: []release.Item{item("red-auth", "v2", "blue-ledger"), item("blue-ledger", "v2", "red-auth")}},
			"items[0].dependsOn", "cycle: red-auth → blue-ledger → red-auth"},
		{"unknown application", apitypes.ReleaseRequest{Items: []release.Item{item("red-auth", "v2"), item("green-gw", "v1")}},
			"items[1].application", "no application green-gw"},
		{"unknown version", apitypes.ReleaseRequest{Items: []release.Item{item("red-auth", "v7")}},
			"items[0].version", "no version v7"},
		{"version of another project", apitypes.ReleaseRequest{Items: []release.Item{item("red-auth", "v9")}},
			"items[0].version", "no version v9"},
		{"dependency outside the order", apitypes.ReleaseRequest{Items: []release.Item{item("red-auth", "v2", "blue-ledger")}},
			"items[0].dependsOn[0]", "not an item of this order"},
		{"twice the same application", apitypes.ReleaseRequest{Items: []release.Item{item("red-auth", "v2"), item("red-auth", "v1")}},
			"items[1].application", "already items[0]"},
		{"no items", apitypes.ReleaseRequest{}, "items", "at least one item"},
		{"unknown environment", apitypes.ReleaseRequest{Environment: "uat", Items: []release.Item{item("red-auth", "v2")}},
			"environment", "environment uat"},
		{"items and stages", apitypes.ReleaseRequest{Items: []release.Item{item("red-auth", "v2")}, Stages: [][]release.Item{{item("blue-ledger", "v2")}}},
			"stages", "not both"},
		{"threshold without its unit", apitypes.ReleaseRequest{Items: []release.Item{checked("red-auth", analysis.Check{Name: "p99", Template: analysis.LatencyP99, Threshold: "300"})}},
			"items[0].checks[0].threshold", "a duration with its unit"},
		{"comparison with stable outside a gray plan", apitypes.ReleaseRequest{Items: []release.Item{checked("red-auth",
			analysis.Check{Name: "e", Template: analysis.ErrorRateOverStable, Threshold: "1%"})}}, "items[0].checks[0].template", "only a gray plan"},
		{"no-data policy unknown", apitypes.ReleaseRequest{Items: []release.Item{checked("red-auth",
			analysis.Check{Name: "e", Template: analysis.ErrorRate, Threshold: "1%", NoData: "ignore"})}}, "items[0].checks[0].noData", "fail or pass"},
		{"checks without a Prometheus", apitypes.ReleaseRequest{Items: []release.Item{checked("red-auth",
			analysis.Check{Name: "e", Template: analysis.ErrorRate, Threshold: "1%"})}}, "items[0].checks", "--prometheus-url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.req.Environment == "" {
				tt.req.Environment = "test"
			}
			tt.req.Title = "bad"
			r := h.call(rm1, "POST", base, tt.req)
			e := r.errorBody(t)
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			found := false
			for _, f := range e.Fields {
				found = found || (f.Path == tt.path && strings.Contains(f.Reason, tt.want))
			}
			if !found {
				t.Errorf("fields %+v, want %s: ...%s...", e.Fields, tt.path, tt.want)
			}
		})
	}
	// A custom query is evaluated over every tenant's series: a release
	// manager may not give one.
	custom := apitypes.ReleaseRequest{Environment: "test", Title: "custom", Items: []release.Item{checked("red-auth",
		analysis.Check{Name: "q", Query: "sum(up)", Threshold: "> 0"})}}
	if r := h.call(rm1, "POST", base, custom); r.status != http.StatusForbidden {
		t.Errorf("a custom check query by a release manager: %d %s, want 403", r.status, r.body)
	}
	var list apitypes.List[apitypes.OrderView]
	h.must(http.StatusOK, rm1, "GET", base, nil).decode(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("bad orders were written: %+v", list.Items)
	}
}
