package graycmd

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/resource"
)

func TestParseStep(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want gray.Step
		bad  bool
	}{
		{"tellers=T900,T901", gray.Step{Tellers: []string{"T900", "T901"}}, false},
		{"tellers=Zhang Wei", gray.Step{Tellers: []string{"Zhang Wei"}}, false},
		{"regions=north; weight=10%", gray.Step{Regions: []string{"north"}, Weight: 10}, false},
		{"branches=0101;branches=0102", gray.Step{Branches: []string{"0101", "0102"}}, false},
		{"weight=ten", gray.Step{}, true},
		{"desks=D1", gray.Step{}, true},
		{"tellers", gray.Step{}, true},
		{"", gray.Step{}, true},
	} {
		got, err := ParseStep(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("ParseStep(%q): error %v, want error %v", tc.in, err, tc.bad)
			continue
		}
		if diff := cmp.Diff(tc.want, got); !tc.bad && diff != "" {
			t.Errorf("ParseStep(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestAppliedSaysWhichStepFailed(t *testing.T) {
	plan := func(gen int64, a gray.Applied) apitypes.GrayPlan {
		var p apitypes.GrayPlan
		p.Generation, p.Applied = gen, a
		return p
	}
	for _, tc := range []struct {
		p    apitypes.GrayPlan
		want string
	}{
		{plan(2, gray.Applied{Generation: 2, Serving: []string{"v1", "v2"}}), "serving v1,v2"},
		{plan(3, gray.Applied{Generation: 2}), "applying"},
		{plan(2, gray.Applied{Generation: 2, Error: `service "pay--v2" exists and is not Berth's`,
			Conditions: []resource.Condition{{Type: "Ready", Status: "False", Reason: "NotOwned"}}}),
			`error (NotOwned): service "pay--v2" exists and is not Berth's`},
		{plan(2, gray.Applied{Generation: 2, Error: "boom"}), "error: boom"},
	} {
		if got := appliedOf(tc.p); got != tc.want {
			t.Errorf("appliedOf = %q, want %q", got, tc.want)
		}
	}
}
