package release

import (
	"strings"
	"testing"
)

func TestStagesDependOnTheWholePreviousStage(t *testing.T) {
	items := Stages([][]Item{
		{{Application: "a"}, {Application: "b"}},
		{{Application: "c", DependsOn: []string{"x"}}},
		{{Application: "d"}, {Application: "e"}},
	})
	want := map[string]string{"a": "", "b": "", "c": "x,a,b", "d": "c", "e": "c"}
	for _, it := range items {
		if got := strings.Join(it.DependsOn, ","); got != want[it.Application] {
			t.Errorf("%s depends on %q, want %q", it.Application, got, want[it.Application])
		}
	}
}

func TestFindCycleNamesThePath(t *testing.T) {
	items := []Item{
		{Application: "gw", Version: "v1", DependsOn: []string{"auth"}},
		{Application: "auth", Version: "v1", DependsOn: []string{"ledger"}},
		{Application: "ledger", Version: "v1", DependsOn: []string{"auth"}},
		{Application: "fees", Version: "v1"},
	}
	err := validateItems(items)
	if err == nil || !strings.Contains(err.Error(), "auth → ledger → auth") {
		t.Fatalf("got %v, want the cycle auth → ledger → auth", err)
	}
	items[2].DependsOn = nil
	if err := validateItems(items); err != nil {
		t.Fatalf("acyclic items refused: %v", err)
	}
}

func TestProgressCountsTheFailedItemAfterItsRollback(t *testing.T) {
	o := Order{Items: []Item{
		{State: ItemSucceeded}, {State: ItemDeploying}, {State: ItemRollingBack},
		{State: ItemRolledBack, Fault: &Fault{Reason: "CrashLoopBackOff"}}, {State: ItemCancelled}, {State: ItemPending},
	}}
	p := o.Progress()
	if p != (Progress{Total: 6, Done: 1, Deploying: 2, Failed: 1, Pending: 1, RolledBack: 1, Cancelled: 1}) {
		t.Fatalf("progress %+v", p)
	}
}
