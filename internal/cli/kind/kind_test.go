package kind

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestItemPaths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		kind  string
		place Place
		item  string
		want  string
	}{
		{"a tenant is at the root", "tenant", Place{}, "bank", "/tenants/bank"},
		{"an app is inside its project", "app", Place{Tenant: "bank", Project: "pay"}, "red-auth", "/tenants/bank/projects/pay/applications/red-auth"},
		{"a version is inside its app", "ver", Place{Tenant: "bank", Project: "pay", App: "red-auth"}, "v1", "/tenants/bank/projects/pay/applications/red-auth/versions/v1"},
		{"a member is named user:role", "member", Place{Tenant: "bank"}, "ann:viewer", "/tenants/bank/members/ann/viewer"},
		{"a platform member has no tenant", "members", Place{}, "ann:auditor", "/members/ann/auditor"},
		{"a project quota needs no name", "quota", Place{Tenant: "bank", Project: "pay"}, "", "/tenants/bank/projects/pay/quota"},
		{"names are escaped", "tier", Place{}, "a/b", "/tiers/a%2Fb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, err := Lookup(tt.kind)
			if err != nil {
				t.Fatal(err)
			}
			got, err := k.Item(tt.place, tt.item)
			if err != nil || got != tt.want {
				t.Errorf("Item = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestMissingPlacesAreExplained(t *testing.T) {
	t.Parallel()
	k, _ := Lookup("apps")
	if _, err := k.Collection(Place{Tenant: "bank"}); err == nil {
		t.Error("applications without a project: no error")
	}
	if _, err := Lookup("pods"); err == nil {
		t.Error("an unknown kind: no error")
	}
}

func TestQuotaTableHasOneRowPerResource(t *testing.T) {
	t.Parallel()
	k, _ := Lookup("quota")
	var buf bytes.Buffer
	usage := map[string]any{"used": map[string]any{"cpu": "1", "memory": "1Gi"}, "hard": map[string]any{"cpu": "8"}}
	if err := Print(&buf, k, "table", []map[string]any{usage}, true); err != nil {
		t.Fatal(err)
	}
	want := "RESOURCE   USED   HARD\ncpu        1      8\nmemory     1Gi    unlimited\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}
