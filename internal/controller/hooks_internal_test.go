package controller

import (
	"testing"

	"berth.dev/berth/internal/deploy"
)

func TestHookEventOfADeploy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		applied deploy.Applied
		version string
		want    string
	}{
		{"nothing applied yet is an install", deploy.Applied{}, "r1", eventInstall},
		{"an install whose first apply failed is still one", deploy.Applied{Error: "hook failed"}, "r2", eventInstall},
		{"a later version is an upgrade", deploy.Applied{Generation: 3, Version: "r2"}, "r10", eventUpgrade},
		{"an earlier version is a rollback", deploy.Applied{Generation: 4, Version: "r3"}, "r1", eventRollback},
		{"the running version (restart, scale, drift) runs no hook", deploy.Applied{Generation: 5, Version: "r2"}, "r2", ""},
		{"a record from before versions were kept runs no hook", deploy.Applied{Generation: 2}, "r2", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hookEvent(tc.applied, tc.version); got != tc.want {
				t.Errorf("hookEvent(%+v, %s) = %q, want %q", tc.applied, tc.version, got, tc.want)
			}
		})
	}
}
