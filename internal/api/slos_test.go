package api

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/store/storetest"
)

// TestSLOsApplyFromManifests: an SLO manifest creates, re-applies
// unchanged, updates; a bad objective names the document's field and
// nothing is saved.
func TestSLOsApplyFromManifests(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	admin := h.token("admin", adminPassword)
	applyCheckoutInProd(h, admin)
	doc := `apiVersion: berth.dev/v1
kind: SLO
metadata: {name: checkout-avail, tenant: bank, project: pay}
spec: {environment: prod, application: checkout, kind: availability, objective: 99.9}
`
	actions := func(body string) []string {
		var res apitypes.ApplyResult
		h.must(http.StatusOK, admin, "POST", "/apply", body).decode(t, &res)
		var out []string
		for _, o := range res.Objects {
			out = append(out, string(o.Kind)+" "+o.Name+" "+o.Action)
		}
		return out
	}
	for _, step := range []struct {
		body string
		want string
	}{
		{doc, "SLO checkout-avail created"},
		{doc, "SLO checkout-avail unchanged"},
		{strings.Replace(doc, "objective: 99.9", "objective: 99.95, window: 7d", 1), "SLO checkout-avail updated"},
	} {
		if diff := cmp.Diff([]string{step.want}, actions(step.body)); diff != "" {
			t.Errorf("apply (-want +got):\n%s", diff)
		}
	}
	bad := strings.Replace(strings.Replace(doc, "objective: 99.9", "objective: 100", 1), "checkout-avail", "bad", 1)
	r := h.must(http.StatusUnprocessableEntity, admin, "POST", "/apply", bad)
	if f := r.errorBody(t).Fields; len(f) != 1 || f[0].Path != "document 1 (SLO bad): spec.objective" {
		t.Errorf("bad objective: fields %+v, want document 1's spec.objective", f)
	}
	var slos []apitypes.SLO
	h.must(http.StatusOK, admin, "GET", "/tenants/bank/projects/pay/slos", nil).decode(t, &slos)
	if len(slos) != 1 || slos[0].Name != "checkout-avail" || slos[0].Objective != 99.95 || slos[0].Window != "7d" || slos[0].ResourceVersion != 2 {
		t.Errorf("SLOs after the applies: %+v", slos)
	}
}

// applyCheckoutInProd applies tenant bank, project pay, environment prod
// on an unreachable cluster and application checkout: what the
// dashboard and SLO tests need before their own documents.
func applyCheckoutInProd(h *harness, admin string) {
	h.t.Helper()
	manifest := `apiVersion: berth.dev/v1
kind: Tenant
metadata: {name: bank}
---
apiVersion: berth.dev/v1
kind: Project
metadata: {name: pay, tenant: bank}
---
apiVersion: berth.dev/v1
kind: Cluster
metadata: {name: local}
spec: {kubeconfig: KUBECONFIG}
---
apiVersion: berth.dev/v1
kind: Environment
metadata: {name: prod, tenant: bank, project: pay}
spec: {cluster: local, namespace: bank-pay-prod}
---
apiVersion: berth.dev/v1
kind: Application
metadata: {name: checkout, tenant: bank, project: pay}
spec: {displayName: Checkout}
`
	h.must(http.StatusOK, admin, "POST", "/apply", strings.Replace(manifest, "KUBECONFIG", strconv.Quote(kubeconfigFor("https://127.0.0.1:1")), 1))
}
