package storetest

import (
	"errors"
	"testing"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/resource"
)

// testOperationsAskTheCallersRoles: every operation on what runs checks
// the caller's role bindings itself, so an entry point that forgot to ask
// cannot act for a viewer of the project, or for an admin of another one:
// refused with resource.ErrForbidden, nothing written. The project's own
// admin may.
func testOperationsAskTheCallersRoles(t *testing.T, h *harness) {
	ctx := t.Context()
	h.deployFixture(t)
	must[deploy.Deployment](t)(h.deploy(t, redProd, "v1"))
	payments := authz.Scope{Tenant: "acme", Project: "payments"}
	viewer := platform.Caller{Actor: audit.Actor{User: "vera"}, Bindings: []authz.Binding{{Role: authz.Viewer, Scope: payments}}}
	elsewhere := platform.Caller{Actor: audit.Actor{User: "otto"},
		Bindings: []authz.Binding{{Role: authz.ProjectAdmin, Scope: authz.Scope{Tenant: "acme", Project: "cards"}}}}
	admin := platform.Caller{Actor: h.admin, Bindings: []authz.Binding{{Role: authz.ProjectAdmin, Scope: payments}}}
	order := release.Key{Tenant: "acme", Project: "payments", ID: "r-none"}

	ops := []struct {
		name string
		run  func(platform.Tx, platform.Caller) error
	}{
		{"deploy", func(tx platform.Tx, c platform.Caller) error {
			_, err := h.p.DeployVersion(ctx, tx, c, redProd, "v2")
			return err
		}},
		{"scale", func(tx platform.Tx, c platform.Caller) error {
			_, err := h.p.ScaleDeployment(ctx, tx, c, redProd, 4)
			return err
		}},
		{"stop", func(tx platform.Tx, c platform.Caller) error {
			_, err := h.p.StopDeployment(ctx, tx, c, redProd)
			return err
		}},
		{"start", func(tx platform.Tx, c platform.Caller) error {
			_, err := h.p.StartDeployment(ctx, tx, c, redProd)
			return err
		}},
		{"restart", func(tx platform.Tx, c platform.Caller) error {
			_, err := h.p.RestartDeployment(ctx, tx, c, redProd)
			return err
		}},
		{"start a gray plan", func(tx platform.Tx, c platform.Caller) error {
			_, err := h.p.StartGrayPlan(ctx, tx, c, pilot)
			return err
		}},
		{"step a gray plan", func(tx platform.Tx, c platform.Caller) error {
			_, err := h.p.StepGrayPlan(ctx, tx, c, redProd, nil)
			return err
		}},
		{"set a gray plan", func(tx platform.Tx, c platform.Caller) error {
			_, err := h.p.SetGrayPlan(ctx, tx, c, redProd, gray.Change{})
			return err
		}},
		{"promote a gray plan", func(tx platform.Tx, c platform.Caller) error {
			_, err := h.p.PromoteGrayPlan(ctx, tx, c, redProd, 0)
			return err
		}},
		{"abort a gray plan", func(tx platform.Tx, c platform.Caller) error {
			_, err := h.p.AbortGrayPlan(ctx, tx, c, redProd, "drill")
			return err
		}},
		{"end a gray plan", func(tx platform.Tx, c platform.Caller) error {
			_, err := h.p.EndGrayPlan(ctx, tx, c, redProd)
			return err
		}},
		{"start an order", func(tx platform.Tx, c platform.Caller) error {
			_, err := h.p.StartOrder(ctx, tx, c, order)
			return err
		}},
		{"roll back an order", func(tx platform.Tx, c platform.Caller) error {
			_, err := h.p.RollbackOrder(ctx, tx, c, order, release.RollbackRequest{})
			return err
		}},
		{"undeploy", func(tx platform.Tx, c platform.Caller) error {
			_, err := h.p.DeleteDeployment(ctx, tx, c, redProd)
			return err
		}},
	}
	before := must[deploy.Deployment](t)(get(h, t, redProd))
	for _, op := range ops {
		for _, c := range []platform.Caller{viewer, elsewhere} {
			err := h.st.InTx(ctx, func(tx platform.Tx) error { return op.run(tx, c) })
			if !errors.Is(err, resource.ErrForbidden) {
				t.Errorf("%s as %s: %v, want forbidden", op.name, c.User, err)
			}
		}
	}
	if after := must[deploy.Deployment](t)(get(h, t, redProd)); after.Generation != before.Generation || after.Version != "v1" {
		t.Fatalf("refused operations changed the deployment: generation %d → %d, version %s", before.Generation, after.Generation, after.Version)
	}
	// The project's admin passes the role check: what stops it now is the
	// operation's own rule (no plan to step, no such order), not its role.
	for _, op := range ops {
		err := h.st.InTx(ctx, func(tx platform.Tx) error { return op.run(tx, admin) })
		if errors.Is(err, resource.ErrForbidden) {
			t.Errorf("%s as the project's admin: %v", op.name, err)
		}
	}
}

func get(h *harness, t *testing.T, k deploy.Key) (deploy.Deployment, error) {
	var d deploy.Deployment
	err := h.st.View(t.Context(), func(tx platform.Tx) error {
		var err error
		d, err = tx.GetDeployment(t.Context(), k)
		return err
	})
	return d, err
}
