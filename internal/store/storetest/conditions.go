package storetest

import (
	"errors"
	"testing"
	"time"

	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
)

// testDeploymentConditions records a failed apply, another failure for a
// different reason, then a success, and reads the Ready condition back
// from the store after each: the reason and message follow every record,
// the transition time only the change of status.
func testDeploymentConditions(t *testing.T, h *harness) {
	ctx := t.Context()
	h.deployFixture(t)
	must[deploy.Deployment](t)(h.deploy(t, redProd, "v1"))
	record := func(reason string, err error) []resource.Condition {
		t.Helper()
		h.tx(t, func(tx platform.Tx) error {
			return h.p.Deploy.RecordApplied(ctx, tx, redProd, 1, []byte(`[]`), reason, err)
		})
		var d deploy.Deployment
		h.view(t, func(tx platform.Tx) error {
			var err error
			d, err = tx.GetDeployment(ctx, redProd)
			return err
		})
		return d.Applied.Conditions
	}

	got := record("ClusterUnreachable", errors.New(`cluster "bj-1" is not connected`))
	diff(t, "unreachable", got, []resource.Condition{{Type: "Ready", Status: "False", Reason: "ClusterUnreachable",
		Message: `cluster "bj-1" is not connected`, ObservedGeneration: 1, LastTransitionTime: T0}})

	h.clock.Set(T0.Add(time.Minute))
	got = record("ApplyFailed", errors.New("admission webhook denied the request"))
	diff(t, "still failing, for another reason", got, []resource.Condition{{Type: "Ready", Status: "False", Reason: "ApplyFailed",
		Message: "admission webhook denied the request", ObservedGeneration: 1, LastTransitionTime: T0}})

	h.clock.Set(T0.Add(2 * time.Minute))
	got = record("Applied", nil)
	diff(t, "applied", got, []resource.Condition{{Type: "Ready", Status: "True", Reason: "Applied",
		Message: "generation 1 is applied", ObservedGeneration: 1, LastTransitionTime: T0.Add(2 * time.Minute)}})
}

// testGrayPlanConditions records a failed and then a successful apply of
// a gray plan and reads its Ready condition back from the store.
func testGrayPlanConditions(t *testing.T, h *harness) {
	ctx, g := t.Context(), h.p.Gray
	h.deployFixture(t)
	must[deploy.Deployment](t)(h.deploy(t, redProd, "v1"))
	p := must[gray.Plan](t)(h.grayOp(t, func(tx platform.Tx) (gray.Plan, error) { return g.Start(ctx, tx, h.admin, pilot) }))

	h.tx(t, func(tx platform.Tx) error {
		return g.RecordApplied(ctx, tx, redProd, p.Generation, nil, nil, "NotOwned", errors.New("Service red-auth--v2 exists and is not Berth's"))
	})
	diff(t, "not owned", h.plan(t).Applied.Conditions, []resource.Condition{{Type: "Ready", Status: "False", Reason: "NotOwned",
		Message: "Service red-auth--v2 exists and is not Berth's", ObservedGeneration: p.Generation, LastTransitionTime: T0}})

	h.clock.Set(T0.Add(time.Minute))
	h.tx(t, func(tx platform.Tx) error {
		return g.RecordApplied(ctx, tx, redProd, p.Generation, nil, []string{"v1"}, "Applied", nil)
	})
	diff(t, "applied", h.plan(t).Applied.Conditions, []resource.Condition{{Type: "Ready", Status: "True", Reason: "Applied",
		Message: "generation 1 is applied", ObservedGeneration: 1, LastTransitionTime: T0.Add(time.Minute)}})
}
