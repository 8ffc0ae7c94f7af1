package storetest

import (
	"errors"
	"strings"
	"testing"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/notify"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/resource"
)

var blueProd = deploy.Key{Tenant: "acme", Project: "payments", Application: "blue-pay", Environment: "prod"}

// groupOp runs one gray group call in a transaction.
func (h *harness) groupOp(t *testing.T, fn func(tx platform.Tx) (release.Order, []gray.Plan, error)) (release.Order, []gray.Plan, error) {
	t.Helper()
	var o release.Order
	var ps []gray.Plan
	err := h.st.InTx(t.Context(), func(tx platform.Tx) (err error) {
		o, ps, err = fn(tx)
		return err
	})
	return o, ps, err
}

func (h *harness) order(t *testing.T, id string) release.Order {
	t.Helper()
	var o release.Order
	h.view(t, func(tx platform.Tx) (err error) {
		o, err = tx.GetOrder(t.Context(), "acme", "payments", id)
		return err
	})
	return o
}

func (h *harness) versionOf(t *testing.T, k deploy.Key) string {
	t.Helper()
	var d deploy.Deployment
	h.view(t, func(tx platform.Tx) (err error) {
		d, err = tx.GetDeployment(t.Context(), k)
		return err
	})
	return d.Version
}

// planPhases lists each key's plan as "app phase step stable→gray group",
// or "app none".
func (h *harness) planPhases(t *testing.T, keys ...deploy.Key) []string {
	t.Helper()
	var out []string
	h.view(t, func(tx platform.Tx) error {
		for _, k := range keys {
			p, err := tx.GetPlan(t.Context(), k)
			if errors.Is(err, resource.ErrNotFound) {
				out = append(out, k.Application+" none")
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, strings.Join([]string{k.Application, string(p.Phase), string(rune('1' + p.Step)), p.StableVersion + "→" + p.GrayVersion, p.Group}, " "))
		}
		return nil
	})
	return out
}

func wantRefusal(t *testing.T, err error, want ...string) {
	t.Helper()
	var re *resource.RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a refusal saying %q", err, want)
	}
	for _, w := range want {
		if !strings.Contains(re.Message, w) {
			t.Fatalf("refusal %q does not say %q", re.Message, w)
		}
	}
}

// testGrayGroup releases a whole release order by gray plans: bad input
// writes nothing; start makes one plan per item with the same cohorts and
// marks the order Graying (release start and per-plan changes refused);
// step, promote (order Succeeded, deployments at the target versions) and,
// on a second order, abort (order Aborted, deployments untouched) move
// every plan in one transaction with one notification each.
func testGrayGroup(t *testing.T, h *harness) {
	ctx, a, gg := t.Context(), h.admin, h.p.GrayGroups
	h.deployFixture(t) // red-auth v1, v2; blue-pay v1
	h.tx(t, func(tx platform.Tx) error {
		_, err := h.p.Apps.CreateVersion(ctx, tx, a, version("acme", "payments", "blue-pay", "v2", 1), apps.VersionOptions{})
		return err
	})
	for _, k := range []deploy.Key{redProd, blueProd} {
		if _, err := h.deploy(t, k, "v1"); err != nil {
			t.Fatal(err)
		}
	}
	spec := gray.Plan{Steps: pilot.Steps}
	start := func(id string) (release.Order, []gray.Plan, error) {
		return h.groupOp(t, func(tx platform.Tx) (release.Order, []gray.Plan, error) {
			return gg.Start(ctx, tx, a, release.Key{Tenant: "acme", Project: "payments", ID: id}, spec)
		})
	}

	// Bad input: unknown order, an order in the wrong state, an item whose
	// application already has a plan. Nothing is written.
	_, _, err := start("ro-nope")
	wantErr(t, err, resource.ErrNotFound)
	o := h.createOrder(t, "pay 2.0", release.Item{Application: "red-auth", Version: "v2"}, release.Item{Application: "blue-pay", Version: "v2"})
	if _, err := h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) {
		return h.p.Gray.Start(ctx, tx, a, gray.Plan{Tenant: "acme", Project: "payments", Application: "blue-pay", Environment: "prod", GrayVersion: "v2", Strategy: gray.BlueGreen})
	}); err != nil {
		t.Fatal(err)
	}
	_, _, err = start(o.ID)
	wantRefusal(t, err, o.ID, "item blue-pay (items[1])", "the plan for version v2 is Running")
	diff(t, "after a refused start", []any{h.order(t, o.ID).State, h.planPhases(t, redProd)}, []any{release.Approved, []string{"red-auth none"}})
	if _, err := h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) { return h.p.Gray.Abort(ctx, tx, a, blueProd, "") }); err != nil {
		t.Fatal(err)
	}
	bad := h.createOrder(t, "same version", release.Item{Application: "red-auth", Version: "v1"})
	_, _, err = start(bad.ID)
	wantField(t, err, "items[0].version")

	// Start: one plan per item, the same cohorts, the order Graying.
	got, plans, err := start(o.ID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "started", []any{got.State, len(plans), h.planPhases(t, redProd, blueProd)}, []any{release.Graying, 2,
		[]string{"red-auth Running 1 v1→v2 " + o.ID, "blue-pay Running 1 v1→v2 " + o.ID}})
	diff(t, "items", []any{got.Items[0].State, got.Items[0].Before.Version}, []any{release.ItemDeploying, "v1"})
	_, _, err = h.groupOp(t, func(tx platform.Tx) (release.Order, []gray.Plan, error) {
		o, err := h.p.Release.Start(ctx, tx, a, o.Key())
		return o, nil, err
	})
	wantRefusal(t, err, "being released by its gray group", o.ID)
	_, err = h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) { return h.p.Gray.Step(ctx, tx, a, redProd, nil) })
	wantRefusal(t, err, "red-auth", "berth gray step --order "+o.ID)
	_, _, err = start(o.ID)
	wantRefusal(t, err, "it is Graying")

	// Step: every plan together, one cohort sees both new versions.
	_, plans, err = h.groupOp(t, func(tx platform.Tx) (release.Order, []gray.Plan, error) { return gg.Step(ctx, tx, a, o.Key(), nil) })
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range plans {
		diff(t, p.Application+" rules", p.Rules(gray.DefaultHeaders).String(), "gray if [X-Org-Teller in (T900) or X-Org-Branch in (0101)] else 0% gray")
	}
	// End before promotion is refused and changes nothing.
	_, _, err = h.groupOp(t, func(tx platform.Tx) (release.Order, []gray.Plan, error) { return gg.End(ctx, tx, a, o.Key()) })
	wantRefusal(t, err, "it is Graying")

	// Promote: the deployments run the targets, the order has succeeded
	// and holds its applications no more.
	got, _, err = h.groupOp(t, func(tx platform.Tx) (release.Order, []gray.Plan, error) { return gg.Promote(ctx, tx, a, o.Key(), 0) })
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "promoted", []any{got.State, got.Items[1].State, h.versionOf(t, redProd), h.versionOf(t, blueProd), h.planPhases(t, redProd, blueProd)},
		[]any{release.Succeeded, release.ItemSucceeded, "v2", "v2", []string{"red-auth Ended 2 v1→v2 " + o.ID, "blue-pay Ended 2 v1→v2 " + o.ID}})
	h.view(t, func(tx platform.Tx) error {
		_, err := tx.GetLock(ctx, "acme", "payments", "prod", "red-auth")
		wantErr(t, err, resource.ErrNotFound)
		return nil
	})

	// Abort, on a second order: every application back to stable, nothing
	// deployed, the order Aborted.
	back := h.createOrder(t, "pay 1.0 again", release.Item{Application: "red-auth", Version: "v1"}, release.Item{Application: "blue-pay", Version: "v1"})
	if _, _, err := start(back.ID); err != nil {
		t.Fatal(err)
	}
	got, _, err = h.groupOp(t, func(tx platform.Tx) (release.Order, []gray.Plan, error) {
		return gg.Abort(ctx, tx, a, back.Key(), "errors at teller T900")
	})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "aborted", []any{got.State, got.Failure.Reason, got.Items[0].State, h.versionOf(t, redProd), h.versionOf(t, blueProd), h.planPhases(t, redProd, blueProd)},
		[]any{release.Aborted, "GrayAborted", release.ItemCancelled, "v2", "v2", []string{"red-auth Aborted 1 v2→v1 " + back.ID, "blue-pay Aborted 1 v2→v1 " + back.ID}})

	// Every change audited on each plan and once on the order; one
	// notification per group change.
	var acts []string
	h.view(t, func(tx platform.Tx) error {
		page := must[resource.Page[audit.Record]](t)(h.p.Audit.List(ctx, tx, audit.Filter{Tenant: "acme", Action: "release.gray."}, resource.ListOptions{Limit: 100}))
		for i := len(page.Items) - 1; i >= 0; i-- {
			acts = append(acts, page.Items[i].Action+" "+string(page.Items[i].Outcome))
		}
		return nil
	})
	diff(t, "order audit", acts, []string{"release.gray.start success", "release.gray.step success", "release.gray.promote success",
		"release.gray.start success", "release.gray.abort success"})
	var ms []notify.Message
	h.view(t, func(tx platform.Tx) (err error) { ms, err = tx.PendingNotifications(ctx, 100); return err })
	var events []string
	for _, m := range ms {
		if strings.HasPrefix(m.Event, "release.gray.") {
			events = append(events, m.Event)
		}
	}
	diff(t, "notifications", events, []string{"release.gray.start", "release.gray.step", "release.gray.promote", "release.gray.start", "release.gray.abort"})
}
