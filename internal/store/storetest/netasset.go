package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/netasset"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

func ports(s string) netasset.PortSet {
	p, err := netasset.ParsePorts(s)
	if err != nil {
		panic(err)
	}
	return p
}

// grant sets a pool or grant and returns the error.
func (h *harness) grant(t *testing.T, cluster, tenant, project, set string) (netasset.Grant, error) {
	t.Helper()
	var g netasset.Grant
	err := h.st.InTx(t.Context(), func(tx platform.Tx) error {
		cur, err := tx.GetGrant(t.Context(), cluster, tenant, project)
		if err != nil && !errors.Is(err, resource.ErrNotFound) {
			return err
		}
		g, err = h.p.Network.SetGrant(t.Context(), tx, h.admin, netasset.Grant{Cluster: cluster, Tenant: tenant, Project: project,
			Ports: ports(set), ResourceVersion: cur.ResourceVersion})
		return err
	})
	return g, err
}

func (h *harness) expose(t *testing.T, e netasset.Exposure) (netasset.Allocation, error) {
	t.Helper()
	var al netasset.Allocation
	err := h.st.InTx(t.Context(), func(tx platform.Tx) error {
		var err error
		al, err = h.p.Network.Expose(t.Context(), tx, h.admin, e)
		return err
	})
	return al, err
}

func (h *harness) portView(t *testing.T, cluster, tenant, project string) netasset.PortView {
	t.Helper()
	var v netasset.PortView
	h.view(t, func(tx platform.Tx) (err error) {
		v, err = h.p.Network.View(t.Context(), tx, cluster, tenant, project)
		return err
	})
	return v
}

// wantFieldErr checks err is a validation error at path whose reason
// contains every part.
func wantFieldErr(t *testing.T, err error, path string, parts ...string) {
	t.Helper()
	var ve *resource.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want a validation error at %s", err, path)
	}
	for _, f := range ve.Fields {
		if f.Path != path {
			continue
		}
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(f.Reason, p)
		}
		if ok {
			return
		}
	}
	t.Fatalf("got %v, want a reason at %s containing %q", ve.Fields, path, parts)
}

func testPortGrants(t *testing.T, h *harness) {
	h.deployFixture(t)
	h.project(t, "acme", "loans")
	h.tenant(t, "globex")
	diff(t, "default pool", h.portView(t, "bj-1", "", "").Ports.String(), "30000-32767")
	must[netasset.Grant](t)(h.grant(t, "bj-1", "", "", "30000-30999"))
	must[netasset.Grant](t)(h.grant(t, "bj-1", "acme", "", "30000-30400"))
	_, err := h.grant(t, "bj-1", "globex", "", "30350-30420, 31500")
	wantFieldErr(t, err, "ports", "30350-30400", "tenant acme on bj-1")
	_, err = h.grant(t, "bj-1", "globex", "", "30900-31010")
	wantFieldErr(t, err, "ports", "31000-31010", "outside the ports of cluster bj-1")
	must[netasset.Grant](t)(h.grant(t, "bj-1", "globex", "", "30401-30500"))

	must[netasset.Grant](t)(h.grant(t, "bj-1", "acme", "payments", "30061-30062, 30064, 30312-30332"))
	_, err = h.grant(t, "bj-1", "acme", "loans", "30330-30340")
	wantFieldErr(t, err, "ports", "30330-30332", "project acme/payments on bj-1")
	_, err = h.grant(t, "bj-1", "acme", "loans", "30395-30405")
	wantFieldErr(t, err, "ports", "30401-30405", "outside the ports of tenant acme on bj-1")
	must[netasset.Grant](t)(h.grant(t, "bj-1", "acme", "loans", "30333-30340"))

	_, err = h.grant(t, "bj-1", "acme", "", "30000-30100")
	wantFieldErr(t, err, "ports", "30312-30332", "project acme/payments")
	_, err = h.grant(t, "bj-1", "", "", "30000-30450")
	wantFieldErr(t, err, "ports", "30451-30500", "tenant globex on bj-1")

	v := h.portView(t, "bj-1", "acme", "")
	diff(t, "tenant ports", v.Ports.String(), "30000-30400")
	diff(t, "tenant allotted", v.Allotted.String(), "30061-30062, 30064, 30312-30340")
	diff(t, "tenant free", v.Free.String(), "30000-30060, 30063, 30065-30311, 30341-30400")
	c := h.portView(t, "bj-1", "", "")
	diff(t, "cluster free", c.Free.String(), "30501-30999")
	diff(t, "cluster grants", len(c.Grants), 2)

	// A deleted project's ports return to its tenant, a deleted tenant's to the pool.
	h.tx(t, func(tx platform.Tx) error {
		return h.p.Tenancy.DeleteProject(t.Context(), tx, h.admin, "acme", "loans", 0)
	})
	diff(t, "allotted after deleting loans", h.portView(t, "bj-1", "acme", "").Allotted.String(), "30061-30062, 30064, 30312-30332")
	h.tx(t, func(tx platform.Tx) error { return h.p.Tenancy.DeleteTenant(t.Context(), tx, h.admin, "globex", 0) })
	diff(t, "cluster free after deleting globex", h.portView(t, "bj-1", "", "").Free.String(), "30401-30999")
}

func testPortExpose(t *testing.T, h *harness) {
	ctx := t.Context()
	h.deployFixture(t)
	for _, k := range []deploy.Key{redProd, {Tenant: "acme", Project: "payments", Application: "blue-pay", Environment: "prod"}} {
		v := "v1"
		must[deploy.Deployment](t)(h.deploy(t, k, v))
	}
	red := netasset.Exposure{Tenant: "acme", Project: "payments", Application: "red-auth", Environment: "prod", PortName: "http"}
	_, err := h.expose(t, red)
	wantFieldErr(t, err, "nodePort", "project acme/payments has no ports on cluster bj-1")
	must[netasset.Grant](t)(h.grant(t, "bj-1", "acme", "", "30000-30100"))
	must[netasset.Grant](t)(h.grant(t, "bj-1", "acme", "payments", "30061-30062, 30064"))

	al := must[netasset.Allocation](t)(h.expose(t, red))
	diff(t, "first free port", al.Port, 30061)
	again := must[netasset.Allocation](t)(h.expose(t, red))
	diff(t, "exposing again keeps the port", again.Port, 30061)

	blue := netasset.Exposure{Tenant: "acme", Project: "payments", Application: "blue-pay", Environment: "prod", PortName: "http", NodePort: 30061}
	_, err = h.expose(t, blue)
	wantFieldErr(t, err, "nodePort", "port 30061 is already used by acme/payments/red-auth in prod")
	blue.NodePort = 30063
	_, err = h.expose(t, blue)
	wantFieldErr(t, err, "nodePort", "port 30063 is not among the ports of project acme/payments on bj-1 (30061-30062, 30064)")
	blue.NodePort = 30064
	diff(t, "requested port", must[netasset.Allocation](t)(h.expose(t, blue)).Port, 30064)
	bad := red
	bad.PortName = "grpc"
	_, err = h.expose(t, bad)
	wantFieldErr(t, err, "portName", `serves no port "grpc"`)

	v := h.portView(t, "bj-1", "acme", "payments")
	diff(t, "used", v.Used.String(), "30061, 30064")
	diff(t, "free", v.Free.String(), "30062")
	_, err = h.grant(t, "bj-1", "acme", "payments", "30061-30062")
	wantFieldErr(t, err, "ports", "port 30064 is used by acme/payments/blue-pay in prod")

	h.tx(t, func(tx platform.Tx) error {
		return h.p.Network.Unexpose(ctx, tx, h.admin, redProd, "")
	})
	diff(t, "free after release", h.portView(t, "bj-1", "acme", "payments").Free.String(), "30061-30062")
	// removing a deployment returns its ports with it
	h.tx(t, func(tx platform.Tx) error { return h.p.Deploy.Remove(ctx, tx, blue.Key()) })
	diff(t, "free after removal", h.portView(t, "bj-1", "acme", "payments").Free.String(), "30061-30062, 30064")
	h.view(t, func(tx platform.Tx) error {
		var actions []string
		for _, r := range auditRecords(t, h, tx) {
			if strings.HasPrefix(r.Action, "ports.") {
				actions = append(actions, r.Action)
			}
		}
		diff(t, "port audit", actions, []string{"ports.set", "ports.set", "ports.expose", "ports.expose", "ports.release"})
		return nil
	})
}

// testConcurrentExposes runs many exposures at once against a pool with
// fewer ports than requests: every success holds a different port, and
// exactly the surplus is refused.
func testConcurrentExposes(t *testing.T, h *harness) {
	h.deployFixture(t)
	const n, free = 24, 20
	for i := range n {
		name := fmt.Sprintf("svc-%02d", i)
		h.app(t, "acme", "payments", name)
		h.tx(t, func(tx platform.Tx) error {
			_, err := h.p.Apps.CreateVersion(t.Context(), tx, h.admin, version("acme", "payments", name, "v1", 1), apps.VersionOptions{})
			return err
		})
		must[deploy.Deployment](t)(h.deploy(t, deploy.Key{Tenant: "acme", Project: "payments", Application: name, Environment: "test"}, "v1"))
	}
	must[netasset.Grant](t)(h.grant(t, "bj-1", "acme", "", "31000-31099"))
	must[netasset.Grant](t)(h.grant(t, "bj-1", "acme", "payments", fmt.Sprintf("31000-%d", 31000+free-1)))
	got := make([]netasset.Allocation, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := netasset.Exposure{Tenant: "acme", Project: "payments", Application: fmt.Sprintf("svc-%02d", i), Environment: "test", PortName: "http"}
			got[i], errs[i] = h.expose(t, e)
		}()
	}
	wg.Wait()
	seen := map[int]string{}
	refused := 0
	for i, err := range errs {
		if err != nil {
			wantFieldErr(t, err, "nodePort", "is in use")
			refused++
			continue
		}
		if other, dup := seen[got[i].Port]; dup {
			t.Errorf("port %d handed to both %s and %s", got[i].Port, other, got[i].Application)
		}
		seen[got[i].Port] = got[i].Application
	}
	diff(t, "refused", refused, n-free)
	v := h.portView(t, "bj-1", "acme", "payments")
	diff(t, "used", v.Used.String(), fmt.Sprintf("31000-%d", 31000+free-1))
	diff(t, "allocations", len(v.Holders), free)
}

func testIsolationRecords(t *testing.T, h *harness) {
	ctx := t.Context()
	h.tenant(t, "acme")
	h.tenant(t, "globex")
	h.project(t, "acme", "payments")
	set := func(i netasset.Isolation) (netasset.Isolation, error) {
		var out netasset.Isolation
		err := h.st.InTx(ctx, func(tx platform.Tx) (err error) { out, err = h.p.Network.SetIsolation(ctx, tx, h.admin, i); return err })
		return out, err
	}
	_, err := set(netasset.Isolation{Tenant: "acme", Level: "galaxy", Allow: []netasset.Allow{{From: netasset.Peer{Application: "x"}}}})
	var ve *resource.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("bad record: %v", err)
	}
	diff(t, "paths", fieldPaths(ve), []string{"level", "allow[0].from.tenant", "allow[0].from.project"})
	got := must[netasset.Isolation](t)(set(netasset.Isolation{Tenant: "acme", Project: "payments", Level: netasset.LevelApplication,
		Allow: []netasset.Allow{{From: netasset.Peer{Tenant: "acme", Project: "loans"}, To: netasset.Peer{Application: "red-auth"}}}}))
	diff(t, "to filled in", got.Allow[0].To, netasset.Peer{Tenant: "acme", Project: "payments", Application: "red-auth"})
	_, err = set(netasset.Isolation{Tenant: "acme", Project: "payments"})
	wantErr(t, err, resource.ErrConflict)
	_, err = set(netasset.Isolation{Tenant: "acme", Project: "nope", Level: netasset.LevelProject})
	wantErr(t, err, resource.ErrNotFound)
	must[netasset.Isolation](t)(set(netasset.Isolation{Tenant: "acme", Level: netasset.LevelTenant}))
	h.view(t, func(tx platform.Tx) error {
		all := must[[]netasset.Isolation](t)(h.p.Network.ListIsolations(ctx, tx, ""))
		var rows []string
		for _, i := range all {
			rows = append(rows, fmt.Sprintf("%s/%s:%s@%d", i.Tenant, i.Project, i.Level, i.ResourceVersion))
		}
		diff(t, "the one view", rows, []string{"acme/:tenant@1", "acme/payments:application@1", "globex/:@0"})
		var last audit.Record
		for _, r := range auditRecords(t, h, tx) {
			last = r
		}
		diff(t, "audit", last.Action+": "+last.Summary, "isolation.set: set isolation of tenant acme to level tenant with 0 allow rules [] (was level none with 0)")
		return nil
	})
	// deleting the tenant takes its records with it
	h.tx(t, func(tx platform.Tx) error {
		return h.p.Tenancy.DeleteProject(ctx, tx, h.admin, "acme", "payments", 0)
	})
	h.tx(t, func(tx platform.Tx) error { return h.p.Tenancy.DeleteTenant(ctx, tx, h.admin, "acme", 0) })
	h.view(t, func(tx platform.Tx) error {
		diff(t, "records after delete", len(must[[]netasset.Isolation](t)(h.p.Network.ListIsolations(ctx, tx, ""))), 1)
		_, err := tx.GetIsolation(ctx, "acme", "")
		wantErr(t, err, resource.ErrNotFound)
		return nil
	})
}

func fieldPaths(ve *resource.ValidationError) []string {
	var out []string
	for _, f := range ve.Fields {
		out = append(out, f.Path)
	}
	return out
}

// testBandwidthQuota declares per-instance bandwidth on versions and
// proves deploys and scales are refused when instances x bandwidth
// (autoscaling maximum counted) would exceed the project's quota.
func testBandwidthQuota(t *testing.T, h *harness) {
	ctx := t.Context()
	h.deployFixture(t)
	pay := tenancy.Scope{Tenant: "acme", Project: "payments"}
	if err := h.setQuota(t, pay, resource.List{resource.IngressBandwidth: q("100M"), resource.EgressBandwidth: q("50M")}, 0); err != nil {
		t.Fatal(err)
	}
	wide := version("acme", "payments", "red-auth", "v3", 2)
	wide.Orchestration.Bandwidth = &apps.Bandwidth{Ingress: q("10M"), Egress: q("5M")}
	wide.Orchestration.Autoscaling = &apps.Autoscaling{MinReplicas: 2, MaxReplicas: 12, TargetCPUPercent: 70}
	narrow := wide
	narrow.Name, narrow.Orchestration.Autoscaling = "v4", &apps.Autoscaling{MinReplicas: 2, MaxReplicas: 8, TargetCPUPercent: 70}
	bad := version("acme", "payments", "red-auth", "v5", 1)
	bad.Orchestration.Bandwidth = &apps.Bandwidth{Ingress: q("10")}
	for _, v := range []apps.Version{wide, narrow} {
		h.tx(t, func(tx platform.Tx) error {
			_, err := h.p.Apps.CreateVersion(ctx, tx, h.admin, v, apps.VersionOptions{})
			return err
		})
	}
	err := h.st.InTx(ctx, func(tx platform.Tx) error {
		_, err := h.p.Apps.CreateVersion(ctx, tx, h.admin, bad, apps.VersionOptions{})
		return err
	})
	wantFieldErr(t, err, "orchestration.bandwidth.ingress", "between 1k and 1P")

	_, err = h.deploy(t, redProd, "v3")
	diff(t, "refusal", quotaErr(t, err).Error(), fmt.Sprintf("quota exceeded in project acme/payments: ingressBandwidth requested %s, used 0, limit %s", q("120M"), q("100M")))
	must[deploy.Deployment](t)(h.deploy(t, redProd, "v4"))
	test := deploy.Key{Tenant: "acme", Project: "payments", Application: "red-auth", Environment: "test"}
	_, err = h.deploy(t, test, "v4")
	diff(t, "second environment", quotaErr(t, err).Error(), fmt.Sprintf("quota exceeded in project acme/payments: ingressBandwidth requested %s, used %[1]s, limit %s", q("80M"), q("100M")))
	h.view(t, func(tx platform.Tx) error {
		u := must[tenancy.Usage](t)(h.p.Tenancy.Usage(ctx, tx, pay))
		diff(t, "used", []resource.Quantity{u.Used[resource.IngressBandwidth], u.Used[resource.EgressBandwidth]}, []resource.Quantity{q("80M"), q("40M")})
		return nil
	})
}
