package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

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
	var plan GrayPlanView
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
