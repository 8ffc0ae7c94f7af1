package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/tenancy"
)

// grayOp runs one gray service call in a transaction.
func (h *harness) grayOp(t *testing.T, fn func(tx platform.Tx) (gray.Plan, error)) (gray.Plan, error) {
	t.Helper()
	var p gray.Plan
	err := h.st.InTx(t.Context(), func(tx platform.Tx) error {
		var err error
		p, err = fn(tx)
		return err
	})
	return p, err
}

func (h *harness) grayActions(t *testing.T) []string {
	t.Helper()
	var out []string
	h.view(t, func(tx platform.Tx) error {
		page := must[resource.Page[audit.Record]](t)(h.p.Audit.List(t.Context(), tx, audit.Filter{Tenant: "acme", Action: "grayplan."}, resource.ListOptions{Limit: 100}))
		for i := len(page.Items) - 1; i >= 0; i-- {
			out = append(out, page.Items[i].Action+" "+string(page.Items[i].Outcome))
		}
		return nil
	})
	return out
}

func (h *harness) plan(t *testing.T) gray.Plan {
	t.Helper()
	var p gray.Plan
	h.view(t, func(tx platform.Tx) error {
		var err error
		p, err = tx.GetPlan(t.Context(), redProd)
		return err
	})
	return p
}

func (h *harness) deployedVersion(t *testing.T) string {
	t.Helper()
	var d deploy.Deployment
	h.view(t, func(tx platform.Tx) error {
		var err error
		d, err = tx.GetDeployment(t.Context(), redProd)
		return err
	})
	return d.Version
}

var pilot = gray.Plan{Tenant: "acme", Project: "payments", Application: "red-auth", Environment: "prod", GrayVersion: "v2",
	Steps: []gray.Step{{Tellers: []string{"T900"}}, {Branches: []string{"0101"}}, {Regions: []string{"north"}, Weight: 10}}}

// testGrayPlanLifecycle walks a plan through start, step, set, promote with
// keep-old, switch back (abort), restart, promote, end and expiry, checking
// the deployment's version, the compiled rules and the audit trail.
func testGrayPlanLifecycle(t *testing.T, h *harness) {
	ctx, a, g := t.Context(), h.admin, h.p.Gray
	h.deployFixture(t)
	if _, err := h.deploy(t, redProd, "v1"); err != nil {
		t.Fatal(err)
	}
	p, err := h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) { return g.Start(ctx, tx, a, pilot) })
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "started", []any{p.Phase, p.StableVersion, p.Step, p.Strategy}, []any{gray.Running, "v1", 0, gray.Canary})
	_, err = h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) { return g.Start(ctx, tx, a, pilot) })
	wantRefused(t, err, "")

	p, err = h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) { return g.Step(ctx, tx, a, redProd, nil) })
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "rules at step 2", p.Rules(gray.DefaultHeaders).String(), "gray if [X-Org-Teller in (T900) or X-Org-Branch in (0101)] else 0% gray")
	beyond := 3
	_, err = h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) { return g.Step(ctx, tx, a, redProd, &beyond) })
	wantField(t, err, "step")

	steps := append(append([]gray.Step{}, pilot.Steps...), gray.Step{Weight: 50})
	last := 3
	p, err = h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) {
		return g.Set(ctx, tx, a, redProd, gray.Change{Steps: &steps, Step: &last})
	})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "rules at the added step", p.Rules(gray.DefaultHeaders).String(),
		"gray if [X-Org-Teller in (T900) or X-Org-Branch in (0101) or X-Org-Region in (north)] else 50% gray")

	p, err = h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) { return g.Promote(ctx, tx, a, redProd, time.Hour) })
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "promoted", []any{p.Phase, *p.KeepOldUntil, p.CurrentStable(), p.Other(), h.deployedVersion(t)},
		[]any{gray.Promoted, T0.Add(time.Hour), "v2", "v1", "v2"})

	_, err = h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) { return g.Abort(ctx, tx, a, redProd, "too early") })
	wantRefused(t, err, "the kept copy of v1 is not running in full yet")
	h.tx(t, func(tx platform.Tx) error {
		return g.RecordApplied(ctx, tx, redProd, p.Generation, nil, []string{"v2", "v1"}, "Applied", nil)
	})
	p, err = h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) { return g.Abort(ctx, tx, a, redProd, "errors at branch 0101") })
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "switched back", []any{p.Phase, p.CurrentStable(), p.Other(), h.deployedVersion(t)}, []any{gray.Aborted, "v1", "", "v1"})
	_, err = h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) { return g.End(ctx, tx, a, redProd) })
	wantRefused(t, err, "")

	// A finished plan is replaced by the next one.
	if _, err := h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) { return g.Start(ctx, tx, a, pilot) }); err != nil {
		t.Fatal(err)
	}
	if _, err := h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) { return g.Promote(ctx, tx, a, redProd, time.Minute) }); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	var expired bool
	h.tx(t, func(tx platform.Tx) error {
		var err error
		expired, err = g.Expire(ctx, tx, redProd, h.clock.Now())
		return err
	})
	diff(t, "expired", []any{expired, h.plan(t).Phase, h.deployedVersion(t)}, []any{true, gray.Ended, "v2"})

	diff(t, "audit", h.grayActions(t), []string{
		"grayplan.start success", "grayplan.step success", "grayplan.set success", "grayplan.promote success",
		"grayplan.apply success", "grayplan.abort success", "grayplan.start success", "grayplan.promote success", "grayplan.end success"})
}

// wantRefused checks err is a refusal shown to users, naming the plan and
// saying why (holding want).
func wantRefused(t *testing.T, err error, want string) {
	t.Helper()
	var re *resource.RefusedError
	if !errors.As(err, &re) || !strings.Contains(re.Message, want) || !strings.Contains(re.Message, "red-auth") {
		t.Fatalf("got %v, want a refusal naming red-auth and saying %q", err, want)
	}
}

func wantField(t *testing.T, err error, path string) {
	t.Helper()
	var ve *resource.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want a validation error naming %s", err, path)
	}
	for _, f := range ve.Fields {
		if f.Path == path {
			return
		}
	}
	t.Fatalf("got %v, want a field error at %s", err, path)
}

// testGrayPlanBadInput refuses bad plans naming the field, changing nothing.
func testGrayPlanBadInput(t *testing.T, h *harness) {
	ctx, a, g := t.Context(), h.admin, h.p.Gray
	h.deployFixture(t)
	if _, err := h.deploy(t, redProd, "v1"); err != nil {
		t.Fatal(err)
	}
	with := func(f func(p *gray.Plan)) gray.Plan {
		p := pilot
		p.Steps = append([]gray.Step{}, pilot.Steps...)
		f(&p)
		return p
	}
	for _, tc := range []struct {
		name string
		spec gray.Plan
		path string
	}{
		{"the stable version as gray", with(func(p *gray.Plan) { p.GrayVersion = "v1" }), "grayVersion"},
		{"an unknown version", with(func(p *gray.Plan) { p.GrayVersion = "v9" }), "grayVersion"},
		{"an empty step", with(func(p *gray.Plan) { p.Steps[1] = gray.Step{} }), "steps[1]"},
		{"a weight over 100", with(func(p *gray.Plan) { p.Steps[2].Weight = 101 }), "steps[2].weight"},
		{"an empty teller code", with(func(p *gray.Plan) { p.Steps[0].Tellers = []string{""} }), "steps[0].tellers[0]"},
		{"a blue-green plan with steps", with(func(p *gray.Plan) { p.Strategy = gray.BlueGreen }), "steps"},
		{"an unknown strategy", with(func(p *gray.Plan) { p.Strategy = "dark" }), "strategy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) { return g.Start(ctx, tx, a, tc.spec) })
			wantField(t, err, tc.path)
		})
	}
	h.view(t, func(tx platform.Tx) error {
		_, err := tx.GetPlan(ctx, redProd)
		wantErr(t, err, resource.ErrNotFound)
		return nil
	})
	_, err := h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) {
		_, err := h.p.Tenancy.CreateEnvironment(ctx, tx, a, tenancy.Environment{Tenant: "acme", Project: "payments", Name: "edge",
			Cluster: "bj-1", Namespace: "payments-edge", Traffic: "nginx"})
		return gray.Plan{}, err
	})
	wantField(t, err, "traffic") // the environment's traffic provider: gateway, istio or gatewayapi
	blue := deploy.Key{Tenant: "acme", Project: "payments", Application: "blue-pay", Environment: "prod"}
	_, err = h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) {
		return g.Start(ctx, tx, a, gray.Plan{Tenant: blue.Tenant, Project: blue.Project, Application: blue.Application,
			Environment: blue.Environment, GrayVersion: "v1", Strategy: gray.BlueGreen})
	})
	wantErr(t, err, resource.ErrNotFound) // not deployed there
}

// testOrgDirectory imports a directory and resolves names in plans.
func testOrgDirectory(t *testing.T, h *harness) {
	ctx, a, g := t.Context(), h.admin, h.p.Gray
	h.deployFixture(t)
	if _, err := h.deploy(t, redProd, "v1"); err != nil {
		t.Fatal(err)
	}
	units, err := gray.ParseCSV(strings.NewReader("level,code,name,parent\nregion,north,North region,\nbranch,0101,Haidian branch,north\nteller,T900,Zhang Wei,0101\n"))
	if err != nil {
		t.Fatal(err)
	}
	h.tx(t, func(tx platform.Tx) error { return g.ImportOrg(ctx, tx, a, "acme", units) })
	var got []gray.OrgUnit
	h.view(t, func(tx platform.Tx) error {
		var err error
		got, err = tx.ListOrgUnits(ctx, "acme")
		return err
	})
	diff(t, "directory", got, units)

	spec := pilot
	spec.Steps = []gray.Step{{Tellers: []string{"Zhang Wei"}}, {Branches: []string{"Haidian branch"}, Regions: []string{"north"}}}
	p, err := h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) { return g.Start(ctx, tx, a, spec) })
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "names resolved to codes", p.Steps, []gray.Step{{Tellers: []string{"T900"}}, {Branches: []string{"0101"}, Regions: []string{"north"}}})

	bad := []gray.Step{{Tellers: []string{"T900", "Li Lei"}}}
	_, err = h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) {
		return g.Set(ctx, tx, a, redProd, gray.Change{Steps: &bad})
	})
	wantField(t, err, "steps[0].tellers[1]")
}

// testGrayNotifiesAfterCommit checks the controller hears of a plan only
// once its change has committed.
func testGrayNotifiesAfterCommit(t *testing.T, h *harness) {
	ctx := t.Context()
	h.deployFixture(t)
	if _, err := h.deploy(t, redProd, "v1"); err != nil {
		t.Fatal(err)
	}
	var heard []deploy.Key
	changes := change.NewBus()
	changes.Subscribe(func(c change.Changed) { heard = append(heard, deploy.KeyOf(c)) }, change.GrayPlan)
	sealer, err := seal.New(make([]byte, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	p, err := platform.New(h.st, platform.Options{Clock: h.clock, Sealer: sealer, Changes: changes})
	if err != nil {
		t.Fatal(err)
	}
	rollback := fmt.Errorf("roll back on purpose")
	err = h.st.InTx(ctx, func(tx platform.Tx) error {
		if _, err := p.Gray.Start(ctx, tx, h.admin, pilot); err != nil {
			return err
		}
		return rollback
	})
	wantErr(t, err, rollback)
	if len(heard) != 0 {
		t.Fatalf("heard %v of a rolled-back start", heard)
	}
	h.tx(t, func(tx platform.Tx) error {
		_, err := p.Gray.Start(ctx, tx, h.admin, pilot)
		return err
	})
	diff(t, "heard after commit", heard, []deploy.Key{redProd})
}

// testGrayPlanQuota: the second version a plan runs counts against the
// project's quota — a plan that does not fit is refused and writes nothing,
// one that fits reserves it, and the reservation follows the plan's phase.
func testGrayPlanQuota(t *testing.T, h *harness) {
	ctx, a, g := t.Context(), h.admin, h.p.Gray
	h.deployFixture(t) // red-auth v1 runs 2 replicas, v2 3
	if _, err := h.deploy(t, redProd, "v1"); err != nil {
		t.Fatal(err)
	}
	pay := tenancy.Scope{Tenant: "acme", Project: "payments"}
	if err := h.setQuota(t, pay, resource.List{resource.Containers: resource.Units(4)}, 0); err != nil {
		t.Fatal(err)
	}
	_, err := h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) { return g.Start(ctx, tx, a, pilot) })
	wantErr(t, err, resource.ErrQuotaExceeded) // 2 + 3 > 4
	h.view(t, func(tx platform.Tx) error {
		_, err := tx.GetPlan(ctx, redProd)
		wantErr(t, err, resource.ErrNotFound)
		return nil
	})
	two := int32(2)
	small := pilot
	small.GrayReplicas = &two
	if _, err := h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) { return g.Start(ctx, tx, a, small) }); err != nil {
		t.Fatal(err) // 2 + 2 fits
	}
	containers := func() resource.Quantity {
		var u tenancy.Usage
		h.view(t, func(tx platform.Tx) error {
			var err error
			u, err = h.p.Tenancy.Usage(ctx, tx, pay)
			return err
		})
		return u.Used[resource.Containers]
	}
	if got := containers(); got != resource.Units(4) {
		t.Fatalf("running plan: %s containers reserved, want 4", got)
	}
	if _, err := h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) { return g.Abort(ctx, tx, a, redProd, "") }); err != nil {
		t.Fatal(err)
	}
	if got := containers(); got != resource.Units(2) {
		t.Fatalf("aborted plan: %s containers reserved, want 2", got)
	}
}
