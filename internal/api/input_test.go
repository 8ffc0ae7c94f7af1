package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/store/storetest"
)

// A malformed amount in a quota or a tier is a field error naming where it
// is, through the JSON API and through manifests alike, and nothing is
// written.
func TestBadQuantitiesNameTheFieldAndWriteNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	tok := h.token("admin", adminPassword)
	h.must(http.StatusCreated, tok, "POST", "/tenants", map[string]string{"name": "bank"})
	h.must(http.StatusCreated, tok, "POST", "/tenants/bank/projects", map[string]string{"name": "pay"})
	tests := []struct {
		name     string
		method   string
		path     string
		body     any
		wantPath string
		wantBad  string
	}{
		{"a tenant quota", "PUT", "/tenants/bank/quota", json.RawMessage(`{"hard":{"cpu":"abc"}}`), "hard.cpu", "abc"},
		{"a negative project quota", "PUT", "/tenants/bank/projects/pay/quota", json.RawMessage(`{"hard":{"memory":"-1Gi"}}`), "hard.memory", "-1Gi"},
		{"a quota given as a bool", "PUT", "/tenants/bank/quota", json.RawMessage(`{"hard":{"containers":true}}`), "hard.containers", "true"},
		{"a tier", "POST", "/tiers", json.RawMessage(`{"name":"small","resources":{"requests":{"cpu":"1","memory":"lots"}}}`), "resources.requests.memory", "lots"},
		{"a tier's limits", "POST", "/tiers", json.RawMessage(`{"name":"small","resources":{"requests":{"cpu":"1"},"limits":{"cpu":"1.5.2"}}}`), "resources.limits.cpu", "1.5.2"},
		{"a quota manifest", "POST", "/apply", "apiVersion: berth.dev/v1\nkind: Quota\nmetadata: {tenant: bank}\nspec: {hard: {cpu: abc}}\n",
			"document 1 (Quota): spec.hard.cpu", "abc"},
		{"a tier manifest", "POST", "/apply", "apiVersion: berth.dev/v1\nkind: ResourceTier\nmetadata: {name: small}\nspec: {requests: {cpu: abc}}\n",
			"document 1 (ResourceTier small): spec.requests.cpu", "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.call(tok, tt.method, tt.path, tt.body)
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %s", r.status, r.body)
			}
			e := r.errorBody(t)
			if e.Code != "validation_failed" || len(e.Fields) != 1 || e.Fields[0].Path != tt.wantPath || !strings.Contains(e.Fields[0].Reason, tt.wantBad) {
				t.Fatalf("error %+v, want validation_failed with one field %s naming %q", e, tt.wantPath, tt.wantBad)
			}
		})
	}
	for _, q := range []string{"/tenants/bank/quota", "/tenants/bank/projects/pay/quota"} {
		var u struct{ Hard resource.List }
		h.must(http.StatusOK, tok, "GET", q, nil).decode(t, &u)
		if u.Hard != nil {
			t.Errorf("%s: hard %v after refusals, want no quota", q, u.Hard)
		}
	}
	h.must(http.StatusNotFound, tok, "GET", "/tiers/small", nil)
	var page List[audit.Record]
	h.must(http.StatusOK, tok, "GET", "/audit?action=quota.set", nil).decode(t, &page)
	for _, rec := range page.Items {
		if rec.Outcome == audit.Success {
			t.Errorf("audit record %+v: a refused quota is audited as a success", rec)
		}
	}
}

// orgCSV returns a valid org directory of n regions, about 100 bytes a line.
func orgCSV(n int) string {
	var b strings.Builder
	b.WriteString("level,code,name,parent\n")
	for i := range n {
		fmt.Fprintf(&b, "region,R%06d,Region %06d of a bank whose regions have long names for the sake of this test,\n", i, i)
	}
	return b.String()
}

// An org directory import has one limit, the same as the CLI's (8 MiB of
// CSV, 100 000 units): a file within it is imported whole, one beyond it is
// refused with an error naming the limit and the directory is unchanged.
func TestOrgImportHasOneNamedLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	tok := h.token("admin", adminPassword)
	h.must(http.StatusCreated, tok, "POST", "/tenants", map[string]string{"name": "bank"})

	within := orgCSV(20000) // 2 MiB: above the API's ordinary body limit
	var got List[struct{ Code string }]
	h.must(http.StatusOK, tok, "PUT", "/tenants/bank/org", map[string]string{"csv": within}).decode(t, &got)
	if len(got.Items) != 20000 {
		t.Fatalf("imported %d units, want 20000", len(got.Items))
	}

	tests := []struct {
		name     string
		body     any
		wantPath string
		wantText string
	}{
		{"a CSV over 8 MiB", map[string]string{"csv": orgCSV(90000)}, "csv", "8388608"},
		{"more than 100000 units", map[string]any{"units": manyUnits(100001)}, "units", "100000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.call(tok, "PUT", "/tenants/bank/org", tt.body)
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %.300s", r.status, r.body)
			}
			e := r.errorBody(t)
			if len(e.Fields) != 1 || e.Fields[0].Path != tt.wantPath || !strings.Contains(e.Fields[0].Reason, tt.wantText) {
				t.Fatalf("fields %+v, want one at %s naming the limit %s", e.Fields, tt.wantPath, tt.wantText)
			}
		})
	}
	h.must(http.StatusOK, tok, "GET", "/tenants/bank/org", nil).decode(t, &got)
	if len(got.Items) != 20000 {
		t.Errorf("after the refusals the directory has %d units, want the 20000 imported before", len(got.Items))
	}
}

func manyUnits(n int) []map[string]string {
	out := make([]map[string]string, n)
	for i := range out {
		out[i] = map[string]string{"level": "region", "code": fmt.Sprintf("R%06d", i), "name": fmt.Sprintf("Region %06d", i)}
	}
	return out
}
