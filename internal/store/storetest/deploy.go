package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/tenancy"
)

// deployFixture makes tenant acme, project payments with environments test
// and prod on cluster bj-1, application red-auth with versions v1 (2
// replicas) and v2 (3), and blue-pay with v1.
func (h *harness) deployFixture(t *testing.T) {
	t.Helper()
	h.tenant(t, "acme")
	h.project(t, "acme", "payments")
	h.cluster(t, "bj-1")
	h.tier(t, medium)
	for _, env := range []string{"test", "prod"} {
		h.tx(t, func(tx platform.Tx) error {
			_, err := h.p.Tenancy.CreateEnvironment(t.Context(), tx, h.admin, tenancy.Environment{
				Tenant: "acme", Project: "payments", Name: env, Cluster: "bj-1", Namespace: "payments-" + env})
			return err
		})
	}
	for _, app := range []string{"red-auth", "blue-pay"} {
		h.app(t, "acme", "payments", app)
	}
	for _, v := range []apps.Version{version("acme", "payments", "red-auth", "v1", 2), version("acme", "payments", "red-auth", "v2", 3),
		version("acme", "payments", "blue-pay", "v1", 1)} {
		h.tx(t, func(tx platform.Tx) error {
			_, err := h.p.Apps.CreateVersion(t.Context(), tx, h.admin, v, apps.VersionOptions{})
			return err
		})
	}
}

var redProd = deploy.Key{Tenant: "acme", Project: "payments", Application: "red-auth", Environment: "prod"}

func (h *harness) deploy(t *testing.T, k deploy.Key, version string) (deploy.Deployment, error) {
	t.Helper()
	var d deploy.Deployment
	err := h.st.InTx(t.Context(), func(tx platform.Tx) error {
		var err error
		d, err = h.p.Deploy.Deploy(t.Context(), tx, h.admin, k, version)
		return err
	})
	return d, err
}

func (h *harness) operate(t *testing.T, op func(platform.Tx) (deploy.Deployment, error)) (deploy.Deployment, error) {
	t.Helper()
	var d deploy.Deployment
	err := h.st.InTx(t.Context(), func(tx platform.Tx) error {
		var err error
		d, err = op(tx)
		return err
	})
	return d, err
}

func testDeploymentLifecycle(t *testing.T, h *harness) {
	ctx := t.Context()
	h.deployFixture(t)
	d := must[deploy.Deployment](t)(h.deploy(t, redProd, "v1"))
	if d.Generation != 1 || d.Version != "v1" || d.CreatedBy != "alice" {
		t.Fatalf("first deploy = %+v", d)
	}
	ops := []struct {
		name  string
		op    func(platform.Tx) (deploy.Deployment, error)
		check func(deploy.Deployment) error
	}{
		{"scale", func(tx platform.Tx) (deploy.Deployment, error) { return h.p.Deploy.Scale(ctx, tx, h.admin, redProd, 5) },
			func(d deploy.Deployment) error { return expect(d.Replicas != nil && *d.Replicas == 5, "replicas 5") }},
		{"redeploy keeps the scale", func(tx platform.Tx) (deploy.Deployment, error) {
			return h.p.Deploy.Deploy(ctx, tx, h.admin, redProd, "v2")
		}, func(d deploy.Deployment) error {
			return expect(d.Version == "v2" && *d.Replicas == 5, "v2 at 5 replicas")
		}},
		{"stop", func(tx platform.Tx) (deploy.Deployment, error) { return h.p.Deploy.Stop(ctx, tx, h.admin, redProd) },
			func(d deploy.Deployment) error {
				return expect(d.Stopped && *d.Replicas == 5, "stopped, replicas kept")
			}},
		{"start", func(tx platform.Tx) (deploy.Deployment, error) { return h.p.Deploy.Start(ctx, tx, h.admin, redProd) },
			func(d deploy.Deployment) error { return expect(!d.Stopped, "running") }},
		{"restart", func(tx platform.Tx) (deploy.Deployment, error) { return h.p.Deploy.Restart(ctx, tx, h.admin, redProd) },
			func(d deploy.Deployment) error { return expect(d.RestartedAt != nil, "restart stamped") }},
		{"delete", func(tx platform.Tx) (deploy.Deployment, error) { return h.p.Deploy.Delete(ctx, tx, h.admin, redProd) },
			func(d deploy.Deployment) error { return expect(d.Deleting, "marked deleting") }},
	}
	gen := d.Generation
	for _, op := range ops {
		d, err := h.operate(t, op.op)
		if err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
		if err := op.check(d); err != nil {
			t.Errorf("%s: %v (got %+v)", op.name, err, d)
		}
		if d.Generation != gen+1 {
			t.Errorf("%s: generation %d, want %d", op.name, d.Generation, gen+1)
		}
		gen = d.Generation
	}
	_, err := h.deploy(t, redProd, "v1")
	wantErr(t, err, resource.ErrConflict)

	h.view(t, func(tx platform.Tx) error {
		page := must[resource.Page[audit.Record]](t)(h.p.Audit.List(ctx, tx, audit.Filter{Tenant: "acme", Action: "deployment."}, resource.ListOptions{Limit: 100}))
		actions := map[string]int{}
		for _, r := range page.Items {
			if strings.HasPrefix(r.Action, "deployment.") {
				actions[r.Action+"/"+string(r.Outcome)]++
			}
		}
		for _, a := range []string{"create", "scale", "deploy", "stop", "start", "restart", "delete"} {
			want := 1
			if actions["deployment."+a+"/success"] != want {
				t.Errorf("audit records of deployment.%s = %d, want %d (all: %v)", a, actions["deployment."+a+"/success"], want, actions)
			}
		}
		return nil
	})
}

func expect(ok bool, what string) error {
	if ok {
		return nil
	}
	return fmt.Errorf("want %s", what)
}

func testDeploymentBadInput(t *testing.T, h *harness) {
	ctx := t.Context()
	h.deployFixture(t)
	tests := []struct {
		name    string
		k       deploy.Key
		version string
		want    error
	}{
		{"a version of another application", redProd, "v9", resource.ErrNotFound},
		{"an unknown environment", deploy.Key{Tenant: "acme", Project: "payments", Application: "red-auth", Environment: "uat"}, "v1", resource.ErrNotFound},
		{"an unknown application", deploy.Key{Tenant: "acme", Project: "payments", Application: "gold-loan", Environment: "prod"}, "v1", resource.ErrNotFound},
	}
	for _, tt := range tests {
		if _, err := h.deploy(t, tt.k, tt.version); !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
	var ve *resource.ValidationError
	_, err := h.deploy(t, deploy.Key{Tenant: "acme", Project: "payments", Application: "Red_Auth", Environment: "prod"}, "v1")
	if !errors.As(err, &ve) || ve.Fields[0].Path != "application" {
		t.Errorf("bad name: %v, want a validation error on application", err)
	}
	must[deploy.Deployment](t)(h.deploy(t, redProd, "v1"))
	_, err = h.operate(t, func(tx platform.Tx) (deploy.Deployment, error) { return h.p.Deploy.Scale(ctx, tx, h.admin, redProd, 0) })
	if !errors.As(err, &ve) || ve.Fields[0].Path != "replicas" {
		t.Errorf("scale to 0: %v, want a validation error on replicas", err)
	}
	h.view(t, func(tx platform.Tx) error {
		ds := must[[]deploy.Deployment](t)(tx.ListDeployments(ctx, deploy.Filter{Tenant: "acme", Project: "payments"}, "", 0))
		diff(t, "deployments after refused changes", len(ds), 1)
		return nil
	})
}

func testDeploymentQuota(t *testing.T, h *harness) {
	ctx := t.Context()
	h.deployFixture(t)
	if err := h.setQuota(t, tenancy.Scope{Tenant: "acme", Project: "payments"}, resource.List{resource.CPU: q("6")}, 0); err != nil {
		t.Fatal(err)
	}
	must[deploy.Deployment](t)(h.deploy(t, redProd, "v1"))                                 // 2 CPU
	must[deploy.Deployment](t)(h.deploy(t, deploy.Key{Tenant: "acme", Project: "payments", // +2 CPU
		Application: "red-auth", Environment: "test"}, "v1"))
	_, err := h.operate(t, func(tx platform.Tx) (deploy.Deployment, error) { return h.p.Deploy.Scale(ctx, tx, h.admin, redProd, 5) })
	qe := quotaErr(t, err)
	diff(t, "error", qe.Error(), "quota exceeded in project acme/payments: cpu requested 3, used 4, limit 6")
	// Stopping frees what the deployment held; the other environment still counts.
	must[deploy.Deployment](t)(h.operate(t, func(tx platform.Tx) (deploy.Deployment, error) { return h.p.Deploy.Stop(ctx, tx, h.admin, redProd) }))
	h.view(t, func(tx platform.Tx) error {
		u := must[tenancy.Usage](t)(h.p.Tenancy.Usage(ctx, tx, tenancy.Scope{Tenant: "acme", Project: "payments"}))
		diff(t, "cpu used with prod stopped", u.Used[resource.CPU], q("2"))
		return nil
	})
}

func testDeploymentListsAndPending(t *testing.T, h *harness) {
	ctx := t.Context()
	h.deployFixture(t)
	for _, k := range []deploy.Key{redProd, {Tenant: "acme", Project: "payments", Application: "red-auth", Environment: "test"},
		{Tenant: "acme", Project: "payments", Application: "blue-pay", Environment: "prod"}} {
		must[deploy.Deployment](t)(h.deploy(t, k, "v1"))
	}
	h.tx(t, func(tx platform.Tx) error {
		return h.p.Deploy.RecordApplied(ctx, tx, redProd, 1, []byte(`[{"version":"v1","kind":"Deployment","name":"red-auth"}]`), "Applied", nil)
	})
	h.view(t, func(tx platform.Tx) error {
		var got []string
		after := ""
		for {
			page := must[[]deploy.Deployment](t)(tx.ListDeployments(ctx, deploy.Filter{Tenant: "acme", Project: "payments"}, after, 2))
			for _, d := range page {
				got = append(got, d.Application+"/"+d.Environment)
				after = d.Application + "/" + d.Environment
			}
			if len(page) < 2 {
				break
			}
		}
		diff(t, "pages", got, []string{"blue-pay/prod", "red-auth/prod", "red-auth/test"})
		prod := must[[]deploy.Deployment](t)(tx.ListDeployments(ctx, deploy.Filter{Tenant: "acme", Project: "payments", Environment: "prod"}, "", 0))
		diff(t, "prod only", len(prod), 2)
		pending := must[[]deploy.Deployment](t)(tx.PendingDeployments(ctx))
		var names []string
		for _, d := range pending {
			names = append(names, d.Application+"/"+d.Environment)
		}
		diff(t, "pending (applied ones are not)", names, []string{"blue-pay/prod", "red-auth/test"})
		d := must[deploy.Deployment](t)(tx.GetDeployment(ctx, redProd))
		diff(t, "applied generation", d.Applied.Generation, int64(1))
		return nil
	})
}

func testDeploymentStaleWrite(t *testing.T, h *harness) {
	ctx := t.Context()
	h.deployFixture(t)
	d := must[deploy.Deployment](t)(h.deploy(t, redProd, "v1"))
	h.tx(t, func(tx platform.Tx) error {
		d.Version = "v2"
		d.ResourceVersion++
		return tx.UpdateDeployment(ctx, d, d.ResourceVersion-1)
	})
	err := h.st.InTx(ctx, func(tx platform.Tx) error {
		d.Version = "v1"
		d.ResourceVersion++
		return tx.UpdateDeployment(ctx, d, d.ResourceVersion-2) // read before the write above
	})
	wantErr(t, err, resource.ErrConflict)
}

func testDeploymentNotifiesAfterCommit(t *testing.T, h *harness) {
	ctx := t.Context()
	h.deployFixture(t)
	var heard []deploy.Key
	p := listeningPlatform(t, h, func(c change.Changed) { heard = append(heard, deploy.KeyOf(c)) }, change.Deployment)
	rollback := fmt.Errorf("roll back on purpose")
	err := h.st.InTx(ctx, func(tx platform.Tx) error {
		if _, err := p.Deploy.Deploy(ctx, tx, h.admin, redProd, "v1"); err != nil {
			return err
		}
		return rollback
	})
	wantErr(t, err, rollback)
	if len(heard) != 0 {
		t.Fatalf("heard %v of a rolled-back deploy", heard)
	}
	h.tx(t, func(tx platform.Tx) error {
		_, err := p.Deploy.Deploy(ctx, tx, h.admin, redProd, "v1")
		if len(heard) != 0 {
			t.Errorf("heard of the deploy before it committed")
		}
		return err
	})
	diff(t, "heard after commit", heard, []deploy.Key{redProd})
}

// testAuditAnnouncedAfterCommit: through Platform.DB, every audit record a
// transaction appends is announced (change.Audit, with its tenant, project
// action and seq) once the transaction commits, and never for a rollback.
func testAuditAnnouncedAfterCommit(t *testing.T, h *harness) {
	ctx := t.Context()
	h.deployFixture(t)
	var heard []change.Key
	p := listeningPlatform(t, h, func(c change.Changed) { heard = append(heard, c.Key) }, change.Audit)
	rollback := fmt.Errorf("roll back on purpose")
	err := p.DB.InTx(ctx, func(tx platform.Tx) error {
		if _, err := p.Deploy.Deploy(ctx, tx, h.admin, redProd, "v1"); err != nil {
			return err
		}
		return rollback
	})
	wantErr(t, err, rollback)
	if len(heard) != 0 {
		t.Fatalf("heard %v of a rolled-back transaction", heard)
	}
	err = p.DB.InTx(ctx, func(tx platform.Tx) error {
		_, err := p.Deploy.Deploy(ctx, tx, h.admin, redProd, "v1")
		if len(heard) != 0 {
			t.Errorf("heard of the audit record before it committed")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var newest audit.Record
	h.tx(t, func(tx platform.Tx) error {
		recs := auditRecords(t, h, tx)
		newest = recs[len(recs)-1]
		return nil
	})
	if newest.Action == "" || newest.Tenant != redProd.Tenant {
		t.Fatalf("newest record %+v, want the deploy's", newest)
	}
	diff(t, "heard after commit", heard, []change.Key{{Tenant: newest.Tenant, Project: newest.Project, Name: newest.Action, Seq: newest.Seq}})
}

// listeningPlatform is a platform over h's store whose change bus hands
// every Changed of kind to heard.
func listeningPlatform(t *testing.T, h *harness, heard func(change.Changed), kind change.Kind) *platform.Platform {
	t.Helper()
	changes := change.NewBus()
	changes.Subscribe(heard, kind)
	sealer, err := seal.New(make([]byte, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	p, err := platform.New(h.st, platform.Options{Clock: h.clock, Sealer: sealer, Changes: changes})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
