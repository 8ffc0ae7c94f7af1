package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/store/storetest"
)

const grayManifest = `apiVersion: berth.dev/v1
kind: GrayPlan
metadata: {name: app1, tenant: own, project: p1}
spec:
  environment: dev
  grayVersion: v2
  steps:
    - tellers: [T900]
    - branches: ["0101"]
  step: STEP
`

// TestGrayPlanManifestStartsThenWidensAndRefusesAnotherVersion applies a
// GrayPlan document three times: it starts the plan, changes the current
// step, is a no-op when nothing changed, and refuses another gray version
// while this one runs.
func TestGrayPlanManifestStartsThenWidensAndRefusesAnotherVersion(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	admin := h.token("admin", adminPassword)
	seedMatrix(t, h, admin)
	apply := func(doc string) string {
		r := h.must(http.StatusOK, admin, "POST", "/apply", doc)
		return string(r.body)
	}
	if out := apply(strings.Replace(grayManifest, "STEP", "0", 1)); !strings.Contains(out, `"action":"created"`) {
		t.Fatalf("first apply: %s", out)
	}
	if out := apply(strings.Replace(grayManifest, "STEP", "1", 1)); !strings.Contains(out, `"action":"updated"`) {
		t.Fatalf("second apply: %s", out)
	}
	if out := apply(strings.Replace(grayManifest, "STEP", "1", 1)); !strings.Contains(out, `"action":"unchanged"`) {
		t.Fatalf("third apply: %s", out)
	}
	var plan apitypes.GrayPlanView
	r := h.must(http.StatusOK, admin, "GET", "/tenants/own/projects/p1/environments/dev/grayplans/app1", nil)
	if err := json.Unmarshal(r.body, &plan); err != nil {
		t.Fatal(err)
	}
	if plan.Step != 1 || plan.StableVersion != "v1" || plan.Rules.String() != "gray if [X-Org-Teller in (T900) or X-Org-Branch in (0101)] else 0% gray" {
		t.Fatalf("plan after apply: step %d stable %s rules %s", plan.Step, plan.StableVersion, plan.Rules)
	}
	other := strings.Replace(strings.Replace(grayManifest, "STEP", "0", 1), "grayVersion: v2", "grayVersion: v3", 1)
	r = h.call(admin, "POST", "/apply", other)
	if r.status != http.StatusConflict {
		t.Fatalf("another gray version while one runs: %d %s", r.status, r.body)
	}
	bad := strings.Replace(strings.Replace(grayManifest, "STEP", "0", 1), "- tellers: [T900]", "- {weight: 101}", 1)
	r = h.call(admin, "POST", "/apply", bad)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "spec.steps[0].weight") {
		t.Fatalf("a bad weight: %d %s", r.status, r.body)
	}
}

// TestGrayPlanWaitsForARunningReleaseOrder: while a release order holds an
// application, no gray plan starts on it; the refusal names the order.
func TestGrayPlanWaitsForARunningReleaseOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	admin := h.token("admin", adminPassword)
	orders := seedMatrix(t, h, admin)
	pp := "/tenants/own/projects/p1"
	h.must(http.StatusOK, admin, "POST", pp+"/releases/"+orders["own"]+"/start", nil)
	r := h.call(admin, "POST", pp+"/environments/dev/grayplans", map[string]any{"application": "app1", "grayVersion": "v2",
		"steps": []map[string]any{{"tellers": []string{"T900"}}}})
	if r.status != http.StatusConflict || !strings.Contains(string(r.body), "being released by order "+orders["own"]) {
		t.Fatalf("gray start while an order runs: %d %s", r.status, r.body)
	}
}

// TestReleaseOrderWaitsForARunningGrayPlan: an order does not start while
// one of its applications has an active gray plan; the refusal names it.
func TestReleaseOrderWaitsForARunningGrayPlan(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	admin := h.token("admin", adminPassword)
	orders := seedMatrix(t, h, admin)
	pp := "/tenants/own/projects/p1"
	h.must(http.StatusCreated, admin, "POST", pp+"/environments/dev/grayplans", map[string]any{"application": "app1", "grayVersion": "v2",
		"steps": []map[string]any{{"tellers": []string{"T900"}}}})
	r := h.call(admin, "POST", pp+"/releases/"+orders["own"]+"/start", nil)
	if r.status != http.StatusConflict || !strings.Contains(string(r.body), "app1 in dev has a running gray plan") {
		t.Fatalf("order start during a gray plan: %d %s", r.status, r.body)
	}
	h.must(http.StatusOK, admin, "POST", pp+"/environments/dev/grayplans/app1/abort", nil)
	h.must(http.StatusOK, admin, "POST", pp+"/releases/"+orders["own"]+"/start", nil)
}

// TestGrayGroupReleasesAWholeOrder starts the gray release of an approved
// two-item order: one plan per item with the same cohorts; the order cannot
// also start, nor a plan of the group move alone; the group widens and is
// promoted as one, and the order succeeds. Bad input names what is wrong.
func TestGrayGroupReleasesAWholeOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	admin := h.token("admin", adminPassword)
	seedMatrix(t, h, admin)
	pp := "/tenants/own/projects/p1"
	h.must(http.StatusCreated, admin, "POST", pp+"/applications", map[string]string{"name": "app2"})
	h.must(http.StatusCreated, admin, "POST", pp+"/applications/app2/versions", version("v1"))
	h.must(http.StatusCreated, admin, "POST", pp+"/applications/app2/versions", version("v2"))
	h.must(http.StatusOK, admin, "PUT", pp+"/environments/dev/deployments/app2", map[string]string{"version": "v1"})
	r := h.must(http.StatusCreated, admin, "POST", pp+"/releases", map[string]any{"environment": "dev", "title": "pay 2.0",
		"items": []map[string]string{{"application": "app1", "version": "v2"}, {"application": "app2", "version": "v2"}}})
	var o apitypes.OrderView
	if err := json.Unmarshal(r.body, &o); err != nil {
		t.Fatal(err)
	}
	group := pp + "/releases/" + o.ID + "/gray"
	steps := map[string]any{"steps": []map[string]any{{"tellers": []string{"T900"}}, {"branches": []string{"0101"}}}}

	if r := h.call(admin, "POST", pp+"/releases/ro-nope/gray", steps); r.status != http.StatusNotFound {
		t.Fatalf("unknown order: %d %s", r.status, r.body)
	}
	bad := map[string]any{"steps": []map[string]any{{"weight": 101}}}
	if r := h.call(admin, "POST", group, bad); r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "steps[0].weight") {
		t.Fatalf("a bad weight: %d %s", r.status, r.body)
	}
	var v apitypes.GrayGroupView
	r = h.must(http.StatusCreated, admin, "POST", group, steps)
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatal(err)
	}
	if v.Order.State != "Graying" || len(v.Plans) != 2 || v.Plans[1].Application != "app2" || v.Plans[1].Group != o.ID || v.Plans[1].StableVersion != "v1" {
		t.Fatalf("started group: %s", r.body)
	}
	if r := h.call(admin, "POST", pp+"/releases/"+o.ID+"/start", nil); r.status != http.StatusConflict || !strings.Contains(string(r.body), "gray group") {
		t.Fatalf("order start during its gray release: %d %s", r.status, r.body)
	}
	if r := h.call(admin, "POST", pp+"/environments/dev/grayplans/app2/step", nil); r.status != http.StatusConflict ||
		!strings.Contains(string(r.body), "--order "+o.ID) {
		t.Fatalf("one plan of the group alone: %d %s", r.status, r.body)
	}
	r = h.must(http.StatusOK, admin, "POST", group+"/step", nil)
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatal(err)
	}
	for _, p := range v.Plans {
		if p.Rules.String() != "gray if [X-Org-Teller in (T900) or X-Org-Branch in (0101)] else 0% gray" {
			t.Fatalf("%s after the group step: %s", p.Application, p.Rules)
		}
	}
	r = h.must(http.StatusOK, admin, "POST", group+"/promote", map[string]string{"keepOld": "0s"})
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatal(err)
	}
	if v.Order.State != "Succeeded" || v.Plans[0].Phase != "Ended" || v.Plans[1].Phase != "Ended" {
		t.Fatalf("promoted group: %s", r.body)
	}
	r = h.must(http.StatusOK, admin, "GET", pp+"/environments/dev/deployments/app2", nil)
	if !strings.Contains(string(r.body), `"version":"v2"`) {
		t.Fatalf("app2 after promotion: %s", r.body)
	}
	if r := h.call(admin, "POST", group, steps); r.status != http.StatusConflict || !strings.Contains(string(r.body), "it is Succeeded") {
		t.Fatalf("a second gray release of a succeeded order: %d %s", r.status, r.body)
	}
}

// TestRollbackWaitsForAKeptOldVersion: an order released by a gray group
// and promoted with the old version kept is not rolled back by a new order
// while that plan is active (the rollback would deploy over it); nothing
// is written.
func TestRollbackWaitsForAKeptOldVersion(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	admin := h.token("admin", adminPassword)
	seedMatrix(t, h, admin)
	pp := "/tenants/own/projects/p1"
	r := h.must(http.StatusCreated, admin, "POST", pp+"/releases", map[string]any{"environment": "dev", "title": "pay 2.0",
		"items": []map[string]string{{"application": "app1", "version": "v2"}}})
	var o apitypes.OrderView
	if err := json.Unmarshal(r.body, &o); err != nil {
		t.Fatal(err)
	}
	group := pp + "/releases/" + o.ID + "/gray"
	h.must(http.StatusCreated, admin, "POST", group, map[string]any{"steps": []map[string]any{{"tellers": []string{"T900"}}}})
	h.must(http.StatusOK, admin, "POST", group+"/promote", map[string]string{"keepOld": "1h"})
	r = h.call(admin, "POST", pp+"/releases/"+o.ID+"/rollback", map[string]string{"reason": "fees"})
	if r.status != http.StatusConflict || !strings.Contains(string(r.body), "gray") {
		t.Fatalf("rollback while the old version is kept: %d %s", r.status, r.body)
	}
	var list apitypes.List[apitypes.OrderView]
	h.must(http.StatusOK, admin, "GET", pp+"/releases", nil).decode(t, &list)
	for _, x := range list.Items {
		if x.RollbackOf != "" || x.RolledBackBy != "" {
			t.Fatalf("a refused rollback left %s (rollbackOf %q, rolledBackBy %q)", x.ID, x.RollbackOf, x.RolledBackBy)
		}
	}
}
