package pipeline

import (
	"strings"
	"testing"

	"berth.dev/berth/internal/authz"
)

// TestWhoRetriedARunCannotDecideOnItsStages: four eyes hold for the one
// who retried a run as for its trigger, whatever their roles.
func TestWhoRetriedARunCannotDecideOnItsStages(t *testing.T) {
	r := Run{RunKey: RunKey{Key: Key{Tenant: "bank", Project: "pay", Name: "ci"}, Number: 3}, Trigger: Trigger{User: "dora"},
		Spec: Pipeline{UpdatedBy: "ada"}, Decisions: []Decision{{Stage: StepClone, Verdict: Retry, By: "rita"}}}
	owner := Owner{Group: authz.ReleaseManager}
	bindings := []authz.Binding{{Role: authz.ReleaseManager, Scope: authz.Scope{Tenant: "bank", Project: "pay"}}}
	if err := mayDecide(r, owner, "rita", bindings); err == nil || !strings.Contains(err.Error(), "retried run 3") {
		t.Errorf("rita, who retried, may decide: %v", err)
	}
	if err := mayDecide(r, owner, "sam", bindings); err != nil {
		t.Errorf("sam, a release manager who did not retry, may not decide: %v", err)
	}
}
