package tenancy

import (
	"testing"
)

func TestValidateMember(t *testing.T) {
	tests := []struct {
		name string
		m    Member
		ok   bool
	}{
		{"platform-admin at platform scope", Member{User: "alice", Role: PlatformAdmin}, true},
		{"platform-admin at tenant scope", Member{Scope: Scope{Tenant: "acme"}, User: "alice", Role: PlatformAdmin}, false},
		{"tenant-admin at tenant scope", Member{Scope: Scope{Tenant: "acme"}, User: "alice", Role: TenantAdmin}, true},
		{"tenant-admin at project scope", Member{Scope: Scope{Tenant: "acme", Project: "web"}, User: "alice", Role: TenantAdmin}, false},
		{"project-admin at project scope", Member{Scope: Scope{Tenant: "acme", Project: "web"}, User: "alice", Role: ProjectAdmin}, true},
		{"auditor at platform scope", Member{User: "audrey", Role: Auditor}, true},
		{"developer at tenant scope", Member{Scope: Scope{Tenant: "acme"}, User: "dev", Role: Developer}, true},
		{"a dotted user name", Member{Scope: Scope{Tenant: "acme"}, User: "zhang.san", Role: Viewer}, true},
		{"an upper-case user name", Member{Scope: Scope{Tenant: "acme"}, User: "Zhang", Role: Viewer}, false},
		{"an unknown role", Member{User: "alice", Role: "root"}, false},
		{"a project without a tenant", Member{Scope: Scope{Project: "web"}, User: "alice", Role: Viewer}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := ValidateMember(tc.m); (err == nil) != tc.ok {
				t.Fatalf("ValidateMember = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
