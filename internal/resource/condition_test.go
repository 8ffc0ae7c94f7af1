package resource

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSetCondition(t *testing.T) {
	t1 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t2 := t1.Add(time.Minute)
	ready := func(s ConditionStatus, reason, msg string, gen int64, at time.Time) Condition {
		return Condition{Type: "Ready", Status: s, Reason: reason, Message: msg, ObservedGeneration: gen, LastTransitionTime: at}
	}
	other := Condition{Type: "Serving", Status: ConditionTrue, Reason: "Serving", ObservedGeneration: 1, LastTransitionTime: t1}
	for _, tc := range []struct {
		name  string
		conds []Condition
		set   Condition
		want  []Condition
	}{
		{"a new condition is added with its time", nil,
			ready(ConditionFalse, "ClusterUnreachable", "no route", 1, t2),
			[]Condition{ready(ConditionFalse, "ClusterUnreachable", "no route", 1, t2)}},
		{"a new type is added after the others", []Condition{other},
			ready(ConditionTrue, "Applied", "", 1, t2),
			[]Condition{other, ready(ConditionTrue, "Applied", "", 1, t2)}},
		{"a change of status takes the new time", []Condition{ready(ConditionFalse, "ClusterUnreachable", "no route", 1, t1), other},
			ready(ConditionTrue, "Applied", "applied generation 1", 1, t2),
			[]Condition{ready(ConditionTrue, "Applied", "applied generation 1", 1, t2), other}},
		{"the same status keeps the old time but takes reason, message and generation",
			[]Condition{other, ready(ConditionFalse, "ClusterUnreachable", "no route", 1, t1)},
			ready(ConditionFalse, "RenderFailed", "bad port", 2, t2),
			[]Condition{other, ready(ConditionFalse, "RenderFailed", "bad port", 2, t1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := append([]Condition(nil), tc.conds...)
			got := SetCondition(tc.conds, tc.set)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("SetCondition (-want +got):\n%s", d)
			}
			if d := cmp.Diff(before, tc.conds); d != "" {
				t.Errorf("SetCondition modified its input (-before +after):\n%s", d)
			}
		})
	}
}

func TestFindCondition(t *testing.T) {
	conds := []Condition{{Type: "Ready", Status: ConditionTrue, Reason: "Applied"}}
	if c, ok := FindCondition(conds, "Ready"); !ok || c.Reason != "Applied" {
		t.Errorf("FindCondition(Ready) = %+v, %v; want the Applied one", c, ok)
	}
	if c, ok := FindCondition(conds, "Serving"); ok {
		t.Errorf("FindCondition(Serving) = %+v, true; want none", c)
	}
}
