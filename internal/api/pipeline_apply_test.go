package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/store/storetest"
)

// TestPipelinesApplyFromManifests: a Pipeline document of `berth apply`
// creates the pipeline (its webhook secret answered that once), re-applies
// unchanged without a new revision, and updates; an unknown build type
// and a build without an owner are named from the document's root, and
// nothing is saved.
func TestPipelinesApplyFromManifests(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	admin := h.token("admin", adminPassword)
	doc := `apiVersion: berth.dev/v1
kind: Tenant
metadata: {name: bank}
---
apiVersion: berth.dev/v1
kind: Project
metadata: {name: pay, tenant: bank}
---
apiVersion: berth.dev/v1
kind: ResourceTier
metadata: {name: small}
spec: {requests: {cpu: 100m, memory: 128Mi}}
---
apiVersion: berth.dev/v1
kind: Pipeline
metadata: {name: site-ci, tenant: bank, project: pay}
spec:
  application: site
  source: {repository: "https://git.bank.example/pay/site.git"}
  build: {type: npm, output: build, image: registry.bank.example/pay/site, owner: {user: dora}}
  delivery: {tier: small}
  webhook: {provider: gitea}
---
apiVersion: berth.dev/v1
kind: Application
metadata: {name: site, tenant: bank, project: pay}
spec: {displayName: Site}
`
	apply := func(body string) apitypes.ApplyResult {
		var res apitypes.ApplyResult
		h.must(http.StatusOK, admin, "POST", "/apply", body).decode(t, &res)
		return res
	}
	pipelineOf := func(res apitypes.ApplyResult) apitypes.Applied {
		for _, o := range res.Objects {
			if o.Kind == "Pipeline" {
				return o
			}
		}
		t.Fatalf("no Pipeline in %+v", res.Objects)
		return apitypes.Applied{}
	}
	created := pipelineOf(apply(doc))
	if created.Action != "created" || len(created.WebhookSecret) < 40 {
		t.Fatalf("first apply: %+v, want created with its webhook secret", created)
	}
	again := pipelineOf(apply(doc))
	if again.Action != "unchanged" || again.WebhookSecret != "" {
		t.Errorf("second apply: %+v, want unchanged without a secret", again)
	}
	if got := pipelineOf(apply(strings.Replace(doc, "output: build", "output: dist", 1))); got.Action != "updated" {
		t.Errorf("changed apply: %+v, want updated", got)
	}
	var view apitypes.PipelineView
	h.must(http.StatusOK, admin, "GET", "/tenants/bank/projects/pay/pipelines/site-ci", nil).decode(t, &view)
	if view.Revision != 2 || view.Spec.Build.Output != "dist" || view.Spec.Build.Type != "npm" {
		t.Errorf("pipeline after the applies: revision %d, build %+v", view.Revision, view.Spec.Build)
	}
	for _, tc := range []struct {
		name, from, to, field string
	}{
		{"an unknown build type", "type: npm", "type: ant", "document 4 (Pipeline bad): spec.build.type"},
		{"a build without an owner", ", owner: {user: dora}", "", "document 4 (Pipeline bad): spec.build.owner"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(strings.Replace(doc, tc.from, tc.to, 1), "name: site-ci", "name: bad", 1)
			f := h.must(http.StatusUnprocessableEntity, admin, "POST", "/apply", bad).errorBody(t).Fields
			var paths []string
			for _, fe := range f {
				paths = append(paths, fe.Path)
			}
			if diff := cmp.Diff([]string{tc.field}, paths); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
	h.must(http.StatusNotFound, admin, "GET", "/tenants/bank/projects/pay/pipelines/bad", nil)
}
