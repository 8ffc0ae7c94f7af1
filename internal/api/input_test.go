package api

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"berth.dev/berth/internal/api/apitypes"
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
	var page apitypes.List[audit.Record]
	h.must(http.StatusOK, tok, "GET", "/audit?action=quota.set", nil).decode(t, &page)
	for _, rec := range page.Items {
		if rec.Outcome == audit.Success {
			t.Errorf("audit record %+v: a refused quota is audited as a success", rec)
		}
	}
}

// regionsCSV returns a valid org directory of n regions, about 100 bytes a line.
func regionsCSV(n int) string {
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

	within := regionsCSV(20000) // 2 MiB: above the API's ordinary body limit
	var got apitypes.List[struct{ Code string }]
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
		{"a CSV over 8 MiB", map[string]string{"csv": regionsCSV(90000)}, "csv", "8388608"},
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

// kubeconfigFor returns a self-contained kubeconfig for the API server at
// server, with a token.
func kubeconfigFor(server string) string {
	return `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "` + server + `", insecure-skip-tls-verify: true}
users:
- name: u
  user: {token: not-a-real-token}
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
`
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// A kubeconfig that does not parse, names no API server or would make the
// server read its own files or run commands is refused naming the field,
// and nothing is registered; one whose API server does not answer is
// registered, shown as Unknown with the reason.
func TestClusterKubeconfigsAreCheckedBeforeRegistering(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	tok := h.token("admin", adminPassword)
	tests := []struct {
		name       string
		kubeconfig string
		wantReason string
	}{
		{"garbage", "this is: [not a kubeconfig", "not a kubeconfig"},
		{"no API server", "apiVersion: v1\nkind: Config\n", "no usable current context"},
		{"an exec plugin", strings.Replace(kubeconfigFor("https://127.0.0.1:6443"), "{token: not-a-real-token}",
			"{exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: [-c, 'touch /tmp/pwned']}}", 1), "plugins"},
		{"a CA file of the server's host", strings.Replace(kubeconfigFor("https://127.0.0.1:6443"), "insecure-skip-tls-verify: true",
			"certificate-authority: /etc/ssl/private/ca.pem", 1), "certificate-authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.call(tok, "POST", "/clusters", map[string]string{"name": "c1", "kubeconfig": tt.kubeconfig})
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %s", r.status, r.body)
			}
			e := r.errorBody(t)
			if len(e.Fields) != 1 || e.Fields[0].Path != "kubeconfig" || !strings.Contains(e.Fields[0].Reason, tt.wantReason) {
				t.Fatalf("fields %+v, want one at kubeconfig saying %q", e.Fields, tt.wantReason)
			}
			h.must(http.StatusNotFound, tok, "GET", "/clusters/c1", nil)
			manifest := "apiVersion: berth.dev/v1\nkind: Cluster\nmetadata: {name: c1}\nspec:\n  kubeconfig: " + strconv.Quote(tt.kubeconfig) + "\n"
			r = h.call(tok, "POST", "/apply", manifest)
			if e := r.errorBody(t); r.status != http.StatusUnprocessableEntity || len(e.Fields) != 1 || e.Fields[0].Path != "document 1 (Cluster c1): spec.kubeconfig" {
				t.Fatalf("apply: status %d, %s; want 422 at spec.kubeconfig", r.status, r.body)
			}
			h.must(http.StatusNotFound, tok, "GET", "/clusters/c1", nil)
		})
	}
	var page apitypes.List[audit.Record]
	h.must(http.StatusOK, tok, "GET", "/audit?action=cluster.register", nil).decode(t, &page)
	if len(page.Items) != 0 {
		t.Errorf("audit records of refused registrations: %+v, want none", page.Items)
	}

	addr := closedPort(t)
	var got apitypes.ClusterView
	h.must(http.StatusCreated, tok, "POST", "/clusters", map[string]string{"name": "c2", "kubeconfig": kubeconfigFor("https://" + addr)}).decode(t, &got)
	if got.Status == nil || got.Status.Phase != "Unknown" || !strings.Contains(got.Status.Reason, addr) || !strings.Contains(got.Status.Reason, "refused") {
		t.Errorf("status %+v of a cluster whose API server is not listening, want Unknown saying %s refused the connection", got.Status, addr)
	}
}

// TestAClusterRequestRateIsCheckedByField: a cluster's own request rate out
// of bounds is refused naming the field, through the API and a manifest;
// a good one is kept and shown.
func TestAClusterRequestRateIsCheckedByField(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	tok := h.token("admin", adminPassword)
	kc := kubeconfigFor("https://127.0.0.1:1")
	r := h.call(tok, "POST", "/clusters", map[string]any{"name": "c1", "kubeconfig": kc, "qps": 20000})
	if e := r.errorBody(t); r.status != http.StatusUnprocessableEntity || len(e.Fields) != 1 || e.Fields[0].Path != "qps" {
		t.Errorf("qps 20000: %d %+v, want 422 at qps", r.status, e)
	}
	manifest := "apiVersion: berth.dev/v1\nkind: Cluster\nmetadata: {name: c1}\nspec:\n  qps: 400\n  burst: 100\n  kubeconfig: " + strconv.Quote(kc) + "\n"
	r = h.call(tok, "POST", "/apply", manifest)
	if e := r.errorBody(t); r.status != http.StatusUnprocessableEntity || len(e.Fields) != 1 || !strings.HasSuffix(e.Fields[0].Path, "burst") {
		t.Errorf("burst below qps in a manifest: %d %+v, want 422 at burst", r.status, e)
	}
	var got struct{ QPS, Burst int }
	h.must(http.StatusCreated, tok, "POST", "/clusters", map[string]any{"name": "c1", "kubeconfig": kc, "qps": 400, "burst": 1000}).decode(t, &got)
	if got.QPS != 400 || got.Burst != 1000 {
		t.Errorf("registered with qps 400, burst 1000: shown %+v", got)
	}
	h.must(http.StatusOK, tok, "GET", "/clusters/c1", nil).decode(t, &got)
	if got.QPS != 400 || got.Burst != 1000 {
		t.Errorf("read back: %+v, want qps 400, burst 1000", got)
	}
}
