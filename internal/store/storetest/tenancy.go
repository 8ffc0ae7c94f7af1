package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

func (h *harness) tenant(t *testing.T, name string) tenancy.Tenant {
	t.Helper()
	var out tenancy.Tenant
	h.tx(t, func(tx platform.Tx) (err error) {
		out, err = h.p.Tenancy.CreateTenant(t.Context(), tx, h.admin, tenancy.Tenant{Name: name, DisplayName: "Tenant " + name})
		return err
	})
	return out
}

func (h *harness) project(t *testing.T, tenant, name string) tenancy.Project {
	t.Helper()
	var out tenancy.Project
	h.tx(t, func(tx platform.Tx) (err error) {
		out, err = h.p.Tenancy.CreateProject(t.Context(), tx, h.admin, tenancy.Project{Tenant: tenant, Name: name})
		return err
	})
	return out
}

func testTenantLifecycle(t *testing.T, h *harness) {
	ctx := t.Context()
	created := h.tenant(t, "acme")
	diff(t, "created tenant", created, tenancy.Tenant{Name: "acme", DisplayName: "Tenant acme", ResourceVersion: 1, CreatedAt: T0, UpdatedAt: T0})

	h.clock.Advance(time.Minute)
	var updated tenancy.Tenant
	h.tx(t, func(tx platform.Tx) (err error) {
		created.Description = "retail banking"
		updated, err = h.p.Tenancy.UpdateTenant(ctx, tx, h.admin, created)
		return err
	})
	h.view(t, func(tx platform.Tx) error {
		got := must[tenancy.Tenant](t)(h.p.Tenancy.GetTenant(ctx, tx, "acme"))
		diff(t, "stored tenant", got, tenancy.Tenant{Name: "acme", DisplayName: "Tenant acme", Description: "retail banking",
			ResourceVersion: 2, CreatedAt: T0, UpdatedAt: T0.Add(time.Minute)})
		diff(t, "returned tenant", updated, got)
		page := must[resource.Page[tenancy.Tenant]](t)(h.p.Tenancy.ListTenants(ctx, tx, resource.ListOptions{}))
		diff(t, "list", page, resource.Page[tenancy.Tenant]{Items: []tenancy.Tenant{got}})
		return nil
	})
	h.tx(t, func(tx platform.Tx) error { return h.p.Tenancy.DeleteTenant(ctx, tx, h.admin, "acme", 2) })
	h.view(t, func(tx platform.Tx) error {
		_, err := h.p.Tenancy.GetTenant(ctx, tx, "acme")
		wantErr(t, err, resource.ErrNotFound)
		return nil
	})
}

func testSentinels(t *testing.T, h *harness) {
	ctx := t.Context()
	h.tenant(t, "acme")
	tests := []struct {
		name string
		fn   func(tx platform.Tx) error
		want error
	}{
		{"creating a tenant twice", func(tx platform.Tx) error {
			_, err := h.p.Tenancy.CreateTenant(ctx, tx, h.admin, tenancy.Tenant{Name: "acme"})
			return err
		}, resource.ErrAlreadyExists},
		{"reading a missing tenant", func(tx platform.Tx) error {
			_, err := h.p.Tenancy.GetTenant(ctx, tx, "nope")
			return err
		}, resource.ErrNotFound},
		{"updating a missing tenant", func(tx platform.Tx) error {
			_, err := h.p.Tenancy.UpdateTenant(ctx, tx, h.admin, tenancy.Tenant{Name: "nope", ResourceVersion: 1})
			return err
		}, resource.ErrNotFound},
		{"deleting a missing tenant", func(tx platform.Tx) error {
			return h.p.Tenancy.DeleteTenant(ctx, tx, h.admin, "nope", 0)
		}, resource.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := h.st.InTx(ctx, tc.fn)
			wantErr(t, err, tc.want)
		})
	}
	var ve *resource.ValidationError
	err := h.st.InTx(ctx, func(tx platform.Tx) error {
		_, err := h.p.Tenancy.CreateTenant(ctx, tx, h.admin, tenancy.Tenant{Name: "Bad_Name"})
		return err
	})
	if !errors.As(err, &ve) || ve.Fields[0].Path != "name" {
		t.Fatalf("bad name: got %v, want a validation error at name", err)
	}
}

func testProjectParents(t *testing.T, h *harness) {
	ctx := t.Context()
	err := h.st.InTx(ctx, func(tx platform.Tx) error {
		_, err := h.p.Tenancy.CreateProject(ctx, tx, h.admin, tenancy.Project{Tenant: "ghost", Name: "web"})
		return err
	})
	wantErr(t, err, resource.ErrNotFound)
	h.tenant(t, "acme")
	h.project(t, "acme", "payments")
	err = h.st.InTx(ctx, func(tx platform.Tx) error { return h.p.Tenancy.DeleteTenant(ctx, tx, h.admin, "acme", 0) })
	wantErr(t, err, resource.ErrInUse)
	h.tx(t, func(tx platform.Tx) error { return h.p.Tenancy.DeleteProject(ctx, tx, h.admin, "acme", "payments", 1) })
	h.tx(t, func(tx platform.Tx) error { return h.p.Tenancy.DeleteTenant(ctx, tx, h.admin, "acme", 1) })
}

func testPagination(t *testing.T, h *harness) {
	ctx := t.Context()
	h.tenant(t, "acme")
	var want []string
	h.tx(t, func(tx platform.Tx) error {
		for i := range 25 {
			name := fmt.Sprintf("p-%02d", i)
			want = append(want, name)
			if _, err := h.p.Tenancy.CreateProject(ctx, tx, h.admin, tenancy.Project{Tenant: "acme", Name: name}); err != nil {
				return err
			}
		}
		return nil
	})
	var got []string
	pages := 0
	o := resource.ListOptions{Limit: 10}
	for {
		var page resource.Page[tenancy.Project]
		h.view(t, func(tx platform.Tx) (err error) {
			page, err = h.p.Tenancy.ListProjects(ctx, tx, "acme", o)
			return err
		})
		pages++
		for _, p := range page.Items {
			got = append(got, p.Name)
		}
		if page.Continue == "" {
			break
		}
		o.Continue = page.Continue
	}
	diff(t, "names", got, want)
	diff(t, "pages", pages, 3)
	err := h.st.View(ctx, func(tx platform.Tx) error {
		_, err := h.p.Tenancy.ListProjects(ctx, tx, "acme", resource.ListOptions{Continue: "%%%"})
		return err
	})
	var ve *resource.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("malformed continue token: got %v, want a validation error", err)
	}
}

func (h *harness) cluster(t *testing.T, name string) {
	t.Helper()
	h.tx(t, func(tx platform.Tx) error {
		_, err := h.p.Tenancy.RegisterCluster(t.Context(), tx, h.admin, tenancy.Cluster{Name: name, Zone: "beijing"}, []byte("apiVersion: v1\nkind: Config\n# secret-token-"+name))
		return err
	})
}

func testEnvironmentBinding(t *testing.T, h *harness) {
	ctx := t.Context()
	h.tenant(t, "acme")
	h.project(t, "acme", "payments")
	h.project(t, "acme", "loans")
	h.cluster(t, "bj-1")
	env := tenancy.Environment{Tenant: "acme", Project: "payments", Name: "prod", Cluster: "bj-1", Namespace: "payments-prod"}
	h.tx(t, func(tx platform.Tx) error {
		_, err := h.p.Tenancy.CreateEnvironment(ctx, tx, h.admin, env)
		return err
	})
	tests := []struct {
		name string
		env  tenancy.Environment
		want error
	}{
		{"another project cannot bind the same namespace", tenancy.Environment{Tenant: "acme", Project: "loans", Name: "prod", Cluster: "bj-1", Namespace: "payments-prod"}, resource.ErrAlreadyExists},
		{"an unregistered cluster is not found", tenancy.Environment{Tenant: "acme", Project: "loans", Name: "prod", Cluster: "sh-9", Namespace: "loans"}, resource.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := h.st.InTx(ctx, func(tx platform.Tx) error {
				_, err := h.p.Tenancy.CreateEnvironment(ctx, tx, h.admin, tc.env)
				return err
			})
			wantErr(t, err, tc.want)
		})
	}
	err := h.st.InTx(ctx, func(tx platform.Tx) error { return h.p.Tenancy.DeregisterCluster(ctx, tx, h.admin, "bj-1", 0) })
	wantErr(t, err, resource.ErrInUse)
}

func testClusterSealed(t *testing.T, h *harness) {
	ctx := t.Context()
	h.cluster(t, "bj-1")
	var body string
	if err := h.st.DB().QueryRowContext(ctx, h.st.Rebind("SELECT body FROM clusters WHERE name = ?"), "bj-1").Scan(&body); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains([]byte(body), []byte("secret-token")) || bytes.Contains([]byte(body), []byte("kind: Config")) {
		t.Fatalf("kubeconfig stored in clear: %s", body)
	}
	h.view(t, func(tx platform.Tx) error {
		kc := must[[]byte](t)(h.p.Tenancy.Kubeconfig(ctx, tx, "bj-1"))
		diff(t, "kubeconfig", string(kc), "apiVersion: v1\nkind: Config\n# secret-token-bj-1")
		c := must[tenancy.Cluster](t)(h.p.Tenancy.GetCluster(ctx, tx, "bj-1"))
		diff(t, "cluster", c, tenancy.Cluster{Name: "bj-1", Zone: "beijing", ResourceVersion: 1, CreatedAt: T0, UpdatedAt: T0})
		return nil
	})
	// a sealed kubeconfig moved to another cluster's row does not open
	h.cluster(t, "sh-1")
	h.exec(t, "UPDATE clusters SET body = (SELECT REPLACE(body, '\"bj-1\"', '\"sh-1\"') FROM clusters WHERE name = 'bj-1') WHERE name = 'sh-1'")
	err := h.st.View(ctx, func(tx platform.Tx) error {
		_, err := h.p.Tenancy.Kubeconfig(ctx, tx, "sh-1")
		return err
	})
	if err == nil {
		t.Fatal("a kubeconfig sealed for bj-1 opened as sh-1's")
	}
}

func testMembers(t *testing.T, h *harness) {
	ctx := t.Context()
	h.tenant(t, "acme")
	h.project(t, "acme", "payments")
	grants := []tenancy.Member{
		{Scope: tenancy.Scope{}, User: "bob", Role: tenancy.Auditor},
		{Scope: tenancy.Scope{Tenant: "acme"}, User: "bob", Role: tenancy.TenantAdmin},
		{Scope: tenancy.Scope{Tenant: "acme", Project: "payments"}, User: "bob", Role: tenancy.Developer},
		{Scope: tenancy.Scope{Tenant: "acme", Project: "payments"}, User: "carol", Role: tenancy.ReleaseManager},
	}
	h.tx(t, func(tx platform.Tx) error {
		for _, m := range grants {
			if _, err := h.p.Tenancy.AddMember(ctx, tx, h.admin, m); err != nil {
				return err
			}
		}
		return nil
	})
	err := h.st.InTx(ctx, func(tx platform.Tx) error {
		_, err := h.p.Tenancy.AddMember(ctx, tx, h.admin, tenancy.Member{Scope: tenancy.Scope{Tenant: "acme"}, User: "bob", Role: tenancy.PlatformAdmin})
		return err
	})
	var ve *resource.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("platform-admin at tenant scope: got %v, want a validation error", err)
	}
	h.view(t, func(tx platform.Tx) error {
		ms := must[[]tenancy.Member](t)(h.p.Tenancy.MembershipsOf(ctx, tx, "bob"))
		var roles []string
		for _, m := range ms {
			roles = append(roles, string(m.Role)+"@"+m.Scope.String())
		}
		diff(t, "bob's roles", roles, []string{"auditor@platform", "tenant-admin@tenant acme", "developer@project acme/payments"})
		page := must[resource.Page[tenancy.Member]](t)(h.p.Tenancy.ListMembers(ctx, tx, tenancy.Scope{Tenant: "acme", Project: "payments"}, resource.ListOptions{}))
		diff(t, "project members", len(page.Items), 2)
		return nil
	})
	h.tx(t, func(tx platform.Tx) error {
		return h.p.Tenancy.RemoveMember(ctx, tx, h.admin, tenancy.Scope{Tenant: "acme"}, "bob", tenancy.TenantAdmin, 1)
	})
	h.view(t, func(tx platform.Tx) error {
		diff(t, "bob's roles after revoke", len(must[[]tenancy.Member](t)(h.p.Tenancy.MembershipsOf(ctx, tx, "bob"))), 2)
		return nil
	})
}
