package audit

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestARecordNamesOnlyTheRolesThatBearOnItsTenant(t *testing.T) {
	t.Parallel()
	roles := []string{"auditor@platform", "viewer@tenant/alpha", "project-admin@tenant/cedar/project/p1", "developer@tenant/alpha/project/p2",
		"viewer@tenant/alphabet"}
	tests := []struct {
		name   string
		tenant string
		want   []string
	}{
		{"a tenant's record keeps the platform's and that tenant's roles", "alpha",
			[]string{"auditor@platform", "viewer@tenant/alpha", "developer@tenant/alpha/project/p2"}},
		{"another tenant's record keeps its own", "cedar", []string{"auditor@platform", "project-admin@tenant/cedar/project/p1"}},
		{"a platform record keeps every role", "", roles},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, relevantRoles(roles, tt.tenant)); diff != "" {
				t.Errorf("roles (-want +got):\n%s", diff)
			}
		})
	}
}
