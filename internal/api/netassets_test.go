package api

import (
	"net/http"
	"strings"
	"testing"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/netasset"
	"berth.dev/berth/internal/store/storetest"
)

// TestPortsOverHTTP walks the port pool from the platform admin to an
// exposed application: grants refused with the ports named, views in
// compact ranges, the node port taken and returned.
func TestPortsOverHTTP(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	admin := h.token("admin", adminPassword)
	seedMatrix(t, h, admin)
	pp := projPath(own)

	r := h.call(admin, "PUT", "/tenants/other/network/ports/c1", map[string]any{"ports": "31090-31110", "resourceVersion": 1})
	wantReason(t, r, http.StatusUnprocessableEntity, "ports 31090-31099 are already granted to tenant own on c1")
	r = h.call(admin, "PUT", "/clusters/c1/ports", map[string]any{"ports": "31000-31150"})
	wantReason(t, r, http.StatusUnprocessableEntity, "ports 31151-31199 are granted to tenant other on c1")
	r = h.call(admin, "PUT", pp+"/network/ports/c1", map[string]any{"ports": "31000-31049, 31x", "resourceVersion": 1})
	wantReason(t, r, http.StatusUnprocessableEntity, "is not a whole number")

	var al netasset.Allocation
	h.must(http.StatusOK, admin, "PUT", pp+"/environments/dev/deployments/app1/ports/http", map[string]any{"nodePort": 31007}).decode(t, &al)
	if al.Port != 31007 {
		t.Fatalf("allocated %d, want 31007", al.Port)
	}
	var views apitypes.List[netasset.PortView]
	h.must(http.StatusOK, admin, "GET", pp+"/network/ports", nil).decode(t, &views)
	if len(views.Items) != 1 || views.Items[0].Used.String() != "31007" || views.Items[0].Free.String() != "31000-31006, 31008-31049" {
		t.Fatalf("project view = %+v", views.Items)
	}
	h.must(http.StatusNoContent, admin, "DELETE", pp+"/environments/dev/deployments/app1/ports/http", nil)
	h.must(http.StatusOK, admin, "GET", pp+"/network/ports", nil).decode(t, &views)
	if got := views.Items[0].Free.String(); got != "31000-31049" {
		t.Fatalf("free after release = %s", got)
	}
}

func wantReason(t *testing.T, r response, status int, reason string) {
	t.Helper()
	if r.status != status || !strings.Contains(string(r.body), reason) {
		t.Fatalf("status %d %s, want %d with %q", r.status, r.body, status, reason)
	}
}

// TestApplyNetworkManifests applies the network-asset kinds, reapplies
// them unchanged, and refuses a bad range naming the document and field.
func TestApplyNetworkManifests(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	admin := h.token("admin", adminPassword)
	seedMatrix(t, h, admin)
	doc := `apiVersion: berth.dev/v1
kind: PortPool
metadata: {name: c1}
spec: {ports: "30000-32767"}
---
apiVersion: berth.dev/v1
kind: PortGrant
metadata: {tenant: own, project: p1}
spec: {cluster: c1, ports: "31000-31020, 31040"}
---
apiVersion: berth.dev/v1
kind: NetworkIsolation
metadata: {tenant: own}
spec:
  level: project
  allow: [{from: {tenant: other, project: p1}, to: {project: p1, application: app1}}]
`
	var res apitypes.ApplyResult
	h.must(http.StatusOK, admin, "POST", "/apply", doc).decode(t, &res)
	actions := ""
	for _, o := range res.Objects {
		actions += string(o.Kind) + ":" + o.Action + " "
	}
	if actions != "PortPool:created PortGrant:updated NetworkIsolation:created " {
		t.Fatalf("first apply: %s", actions)
	}
	h.must(http.StatusOK, admin, "POST", "/apply", doc).decode(t, &res)
	if res.Objects[0].Action != "unchanged" || res.Objects[1].Action != "unchanged" {
		t.Fatalf("second apply: %+v", res.Objects)
	}
	var views apitypes.List[netasset.PortView]
	h.must(http.StatusOK, admin, "GET", projPath(own)+"/network/ports", nil).decode(t, &views)
	if views.Items[0].Ports.String() != "31000-31020, 31040" {
		t.Fatalf("project ports = %s", views.Items[0].Ports)
	}
	var iso netasset.Isolation
	h.must(http.StatusOK, admin, "GET", "/tenants/own/network/isolation", nil).decode(t, &iso)
	if iso.Level != netasset.LevelProject || len(iso.Allow) != 1 || iso.Allow[0].To.Tenant != "own" {
		t.Fatalf("isolation = %+v", iso)
	}
	bad := strings.Replace(doc, "31000-31020, 31040", "31000-31020, 99999", 1)
	r := h.call(admin, "POST", "/apply", bad)
	wantReason(t, r, http.StatusUnprocessableEntity, "outside 1-65535")
	if !strings.Contains(string(r.body), "document 2 (PortGrant): spec.ports") {
		t.Fatalf("error does not name the document and field: %s", r.body)
	}
}
