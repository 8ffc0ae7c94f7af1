package api

import (
	"net/http"
	"strings"
	"testing"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/store/storetest"
	"berth.dev/berth/internal/tenancy"
)

func TestAProjectAdminCannotLowerTheApprovalFloorAlone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	admin, rm1, rm2 := releaseFixture(t, h)
	users := map[string]string{}
	for u, role := range map[string]string{"ta1": "tenant-admin", "ta2": "tenant-admin", "pa": "project-admin"} {
		h.must(http.StatusCreated, admin, "POST", "/users", map[string]string{"name": u, "password": "password-of-" + u})
		scope := "/tenants/bank"
		if role == "project-admin" {
			scope += "/projects/pay"
		}
		h.must(http.StatusCreated, admin, "POST", scope+"/members", map[string]string{"user": u, "role": role})
		users[u] = h.token(u, "password-of-"+u)
	}
	ta1, ta2, pa := users["ta1"], users["ta2"], users["pa"]
	prod := "/tenants/bank/projects/pay/environments/prod"
	floor := "/tenants/bank/approval-floor"
	setApprovals := func(token string, n int) response {
		t.Helper()
		var e tenancy.Environment
		h.must(http.StatusOK, token, "GET", prod, nil).decode(t, &e)
		e.RequiredApprovals = n
		return h.call(token, "PUT", prod, e)
	}

	// Before any floor, prod asks 1 approval. A tenant admin raises the
	// floor of prod environments to 2: at once.
	var f tenancy.ApprovalFloor
	h.must(http.StatusOK, ta1, "PUT", floor, map[string]any{"environments": map[string]int{"prod": 2}}).decode(t, &f)
	if f.Pending != nil || f.For("prod") != 2 || f.For("test") != 0 {
		t.Fatalf("raised floor %+v", f)
	}
	// An order submitted now needs 2, though the environment still says 1.
	var o apitypes.OrderView
	h.must(http.StatusCreated, rm1, "POST", "/tenants/bank/projects/pay/releases", apitypes.ReleaseRequest{Environment: "prod", Title: "fees",
		Stages: [][]release.Item{{{Application: "red-auth", Version: "v2"}}}}).decode(t, &o)
	if o.RequiredApprovals != 2 {
		t.Fatalf("order needs %d approvals under a floor of 2", o.RequiredApprovals)
	}
	h.must(http.StatusOK, rm2, "POST", "/tenants/bank/projects/pay/releases/"+o.ID+"/approve", apitypes.ApproveRequest{Comment: "ok"}).decode(t, &o)
	if o.State != release.PendingApproval {
		t.Fatalf("one approval of two moved the order to %s", o.State)
	}

	// The project admin may not go below the floor, nor touch the floor;
	// raising is fine.
	mustRefuse(t, setApprovals(pa, 0), "requiredApprovals")
	mustRefuse(t, setApprovals(pa, 1), "requiredApprovals")
	h.must(http.StatusForbidden, pa, "PUT", floor, map[string]any{"resourceVersion": 1})
	h.must(http.StatusForbidden, pa, "PUT", "/approval-floor", map[string]any{})
	if r := setApprovals(pa, 3); r.status != http.StatusOK {
		t.Fatalf("raise above the floor: %d %s", r.status, r.body)
	}

	// A tenant admin's lowering is only proposed; its proposer cannot
	// approve it; until a second admin does, the floor holds.
	h.must(http.StatusOK, ta1, "PUT", floor, map[string]any{"resourceVersion": 1}).decode(t, &f)
	if f.Pending == nil || f.Pending.ProposedBy != "ta1" || f.For("prod") != 2 {
		t.Fatalf("proposed lowering %+v", f)
	}
	mustRefuse(t, setApprovals(pa, 0), "requiredApprovals")
	r := h.call(ta1, "POST", floor+"/approve", nil)
	if e := r.errorBody(t); r.status != http.StatusForbidden || !strings.Contains(e.Message, "four eyes") {
		t.Fatalf("self-approval of the floor: %d %s", r.status, r.body)
	}
	h.must(http.StatusConflict, ta2, "PUT", floor, map[string]any{"resourceVersion": 2, "default": 1}) // one change at a time
	f = tenancy.ApprovalFloor{}                                                                        // decode fills only what the answer holds
	h.must(http.StatusOK, ta2, "POST", floor+"/approve", nil).decode(t, &f)
	if f.Pending != nil || f.For("prod") != 0 {
		t.Fatalf("approved floor %+v", f)
	}
	if r := setApprovals(pa, 0); r.status != http.StatusOK {
		t.Fatalf("after the approved lowering: %d %s", r.status, r.body)
	}

	// The platform's floor binds every tenant, above the tenant's own.
	h.must(http.StatusOK, admin, "PUT", "/approval-floor", map[string]any{"default": 1})
	mustRefuse(t, setApprovals(pa, 0), "requiredApprovals")

	var trail apitypes.List[map[string]any]
	h.must(http.StatusOK, admin, "GET", "/audit?tenant=bank", nil).decode(t, &trail)
	var actions []string
	for _, rec := range trail.Items {
		if a, _ := rec["action"].(string); strings.HasPrefix(a, "approvalfloor.") && rec["outcome"] == "success" {
			actions = append(actions, a+" by "+rec["actor"].(string))
		}
	}
	want := "approvalfloor.approve by ta2,approvalfloor.propose by ta1,approvalfloor.set by ta1"
	if got := strings.Join(actions, ","); !strings.Contains(got, want) {
		t.Errorf("floor audit trail %q, want it to hold %q (newest first)", got, want)
	}
}
