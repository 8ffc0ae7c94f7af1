package storetest

import (
	"testing"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// testEveryChangeAudited calls every mutating service method once and
// checks the trail holds exactly one record per call, in order.
func testEveryChangeAudited(t *testing.T, h *harness) {
	ctx, a, p := t.Context(), h.admin, h.p
	acme, pay := tenancy.Scope{Tenant: "acme"}, tenancy.Scope{Tenant: "acme", Project: "payments"}
	var secret, tokID string
	steps := []struct {
		action string
		fn     func(tx platform.Tx) error
	}{
		{"tenant.create", func(tx platform.Tx) error {
			_, err := p.Tenancy.CreateTenant(ctx, tx, a, tenancy.Tenant{Name: "acme"})
			return err
		}},
		{"tenant.update", func(tx platform.Tx) error {
			_, err := p.Tenancy.UpdateTenant(ctx, tx, a, tenancy.Tenant{Name: "acme", DisplayName: "ACME", ResourceVersion: 1})
			return err
		}},
		{"project.create", func(tx platform.Tx) error {
			_, err := p.Tenancy.CreateProject(ctx, tx, a, tenancy.Project{Tenant: "acme", Name: "payments"})
			return err
		}},
		{"project.update", func(tx platform.Tx) error {
			_, err := p.Tenancy.UpdateProject(ctx, tx, a, tenancy.Project{Tenant: "acme", Name: "payments", Description: "d", ResourceVersion: 1})
			return err
		}},
		{"cluster.register", func(tx platform.Tx) error {
			_, err := p.Tenancy.RegisterCluster(ctx, tx, a, tenancy.Cluster{Name: "bj-1"}, []byte("kubeconfig"))
			return err
		}},
		{"cluster.update", func(tx platform.Tx) error {
			_, err := p.Tenancy.UpdateCluster(ctx, tx, a, tenancy.Cluster{Name: "bj-1", Zone: "beijing", ResourceVersion: 1}, nil)
			return err
		}},
		{"environment.create", func(tx platform.Tx) error {
			_, err := p.Tenancy.CreateEnvironment(ctx, tx, a, tenancy.Environment{Tenant: "acme", Project: "payments", Name: "dev", Cluster: "bj-1", Namespace: "pay-dev"})
			return err
		}},
		{"environment.update", func(tx platform.Tx) error {
			_, err := p.Tenancy.UpdateEnvironment(ctx, tx, a, tenancy.Environment{Tenant: "acme", Project: "payments", Name: "dev", Cluster: "bj-1", Namespace: "pay-dev2", ResourceVersion: 1})
			return err
		}},
		{"member.add", func(tx platform.Tx) error {
			_, err := p.Tenancy.AddMember(ctx, tx, a, tenancy.Member{Scope: pay, User: "bob", Role: tenancy.Developer})
			return err
		}},
		{"quota.set", func(tx platform.Tx) error {
			_, err := p.Tenancy.SetQuota(ctx, tx, a, tenancy.Quota{Scope: acme, Hard: resource.List{resource.CPU: q("8")}})
			return err
		}},
		{"tier.create", func(tx platform.Tx) error { _, err := p.Apps.CreateTier(ctx, tx, a, medium); return err }},
		{"tier.update", func(tx platform.Tx) error {
			t2 := medium
			t2.Capacity, t2.ResourceVersion = "~350 TPS", 1
			_, err := p.Apps.UpdateTier(ctx, tx, a, t2)
			return err
		}},
		{"application.create", func(tx platform.Tx) error {
			_, err := p.Apps.CreateApplication(ctx, tx, a, apps.Application{Tenant: "acme", Project: "payments", Name: "red-auth"})
			return err
		}},
		{"application.update", func(tx platform.Tx) error {
			_, err := p.Apps.UpdateApplication(ctx, tx, a, apps.Application{Tenant: "acme", Project: "payments", Name: "red-auth", Description: "d", ResourceVersion: 1})
			return err
		}},
		{"version.create", func(tx platform.Tx) error {
			_, err := p.Apps.CreateVersion(ctx, tx, a, version("acme", "payments", "red-auth", "v1", 1), apps.VersionOptions{})
			return err
		}},
		{"application.set-version", func(tx platform.Tx) error {
			_, err := p.Apps.SetCurrentVersion(ctx, tx, a, "acme", "payments", "red-auth", "v1", 2)
			return err
		}},
		{"user.create", func(tx platform.Tx) error {
			_, err := p.Identity.CreateUser(ctx, tx, a, identity.User{Name: "bob"}, "a long enough password")
			return err
		}},
		{"user.update", func(tx platform.Tx) error {
			_, err := p.Identity.UpdateUser(ctx, tx, a, identity.User{Name: "bob", Email: "bob@bank.example", ResourceVersion: 1})
			return err
		}},
		{"user.set-password", func(tx platform.Tx) error { return p.Identity.SetPassword(ctx, tx, a, "bob", "another long password") }},
		{"user.login", func(tx platform.Tx) (err error) {
			_, secret, err = p.Identity.Login(ctx, tx, a, "bob", "another long password")
			return err
		}},
		{"user.logout", func(tx platform.Tx) error { return p.Identity.Logout(ctx, tx, a, secret) }},
		{"token.create", func(tx platform.Tx) error {
			tok, _, err := p.Identity.CreateToken(ctx, tx, a, "bob", "cli", 0)
			tokID = tok.ID
			return err
		}},
		{"token.revoke", func(tx platform.Tx) error { return p.Identity.RevokeToken(ctx, tx, a, "bob", tokID) }},
		{"application.delete", func(tx platform.Tx) error {
			return p.Apps.DeleteApplication(ctx, tx, a, "acme", "payments", "red-auth", 0)
		}},
		{"tier.delete", func(tx platform.Tx) error { return p.Apps.DeleteTier(ctx, tx, a, "medium", 0) }},
		{"quota.delete", func(tx platform.Tx) error { return p.Tenancy.DeleteQuota(ctx, tx, a, acme, 0) }},
		{"member.remove", func(tx platform.Tx) error {
			return p.Tenancy.RemoveMember(ctx, tx, a, pay, "bob", tenancy.Developer, 0)
		}},
		{"environment.delete", func(tx platform.Tx) error {
			return p.Tenancy.DeleteEnvironment(ctx, tx, a, "acme", "payments", "dev", 0)
		}},
		{"cluster.deregister", func(tx platform.Tx) error { return p.Tenancy.DeregisterCluster(ctx, tx, a, "bj-1", 0) }},
		{"project.delete", func(tx platform.Tx) error { return p.Tenancy.DeleteProject(ctx, tx, a, "acme", "payments", 0) }},
		{"tenant.delete", func(tx platform.Tx) error { return p.Tenancy.DeleteTenant(ctx, tx, a, "acme", 0) }},
		{"user.delete", func(tx platform.Tx) error { return p.Identity.DeleteUser(ctx, tx, a, "bob", 0) }},
	}
	var want []string
	for _, s := range steps {
		want = append(want, s.action)
		if err := h.st.InTx(ctx, s.fn); err != nil {
			t.Fatalf("%s: %v", s.action, err)
		}
	}
	h.view(t, func(tx platform.Tx) error {
		var got []string
		for _, r := range auditRecords(t, h, tx) {
			if r.Outcome != audit.Success {
				t.Errorf("record %d: outcome %s", r.Seq, r.Outcome)
			}
			got = append(got, r.Action)
		}
		diff(t, "actions", got, want)
		return nil
	})
	if rep := h.verify(t); !rep.OK() {
		t.Fatalf("verify: %s", rep.Broken)
	}
}
