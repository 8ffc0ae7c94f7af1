package authz

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAllowed(t *testing.T) {
	t.Parallel()
	bank, shop := TenantScope("bank"), TenantScope("shop")
	bankPay, bankCard, shopPay := ProjectScope("bank", "pay"), ProjectScope("bank", "card"), ProjectScope("shop", "pay")
	tests := []struct {
		name     string
		bindings []Binding
		perm     Permission
		target   Scope
		want     bool
	}{
		{"a platform admin creates tenants", []Binding{{PlatformAdmin, Platform}}, TenantCreate, bank, true},
		{"a tenant admin cannot create tenants", []Binding{{TenantAdmin, bank}}, TenantCreate, shop, false},
		{"a tenant admin creates projects in its tenant", []Binding{{TenantAdmin, bank}}, ProjectCreate, bankPay, true},
		{"a tenant admin cannot create projects in another tenant", []Binding{{TenantAdmin, bank}}, ProjectCreate, shopPay, false},
		{"a project developer creates applications in its project", []Binding{{Developer, bankPay}}, ApplicationCreate, bankPay, true},
		{"a project developer cannot touch a sibling project", []Binding{{Developer, bankPay}}, ApplicationRead, bankCard, false},
		{"a project developer sees its tenant", []Binding{{Developer, bankPay}}, TenantRead, bank, true},
		{"a project developer does not see another tenant", []Binding{{Developer, bankPay}}, TenantRead, shop, false},
		{"a project developer does not see the tenant's members", []Binding{{Developer, bankPay}}, MemberRead, bank, false},
		{"a viewer cannot create applications", []Binding{{Viewer, bank}}, ApplicationCreate, bankPay, false},
		{"an operator updates applications", []Binding{{Operator, bank}}, ApplicationUpdate, bankPay, true},
		{"an operator cannot create versions", []Binding{{Operator, bank}}, VersionCreate, bankPay, false},
		{"a release manager creates versions", []Binding{{ReleaseManager, bankPay}}, VersionCreate, bankPay, true},
		{"a tenant auditor reads its tenant's audit trail", []Binding{{Auditor, bank}}, AuditRead, bank, true},
		{"a tenant auditor cannot read another tenant's audit trail", []Binding{{Auditor, bank}}, AuditRead, shop, false},
		{"a tenant auditor cannot verify the platform-wide chain", []Binding{{Auditor, bank}}, AuditVerify, Platform, false},
		{"a platform auditor verifies the chain", []Binding{{Auditor, Platform}}, AuditVerify, Platform, true},
		{"a platform auditor cannot create anything", []Binding{{Auditor, Platform}}, ApplicationCreate, bankPay, false},
		{"anyone bound reads resource tiers", []Binding{{Viewer, shopPay}}, TierRead, Platform, true},
		{"no bindings allow nothing", nil, TierRead, Platform, false},
		{"a tenant admin divides its quota among projects", []Binding{{TenantAdmin, bank}}, ProjectQuotaSet, bankPay, true},
		{"a tenant admin cannot raise its own tenant quota", []Binding{{TenantAdmin, bank}}, TenantQuotaSet, bank, false},
		{"a project admin cannot set its project's quota", []Binding{{ProjectAdmin, bankPay}}, ProjectQuotaSet, bankPay, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Allowed(tt.bindings, tt.perm, tt.target); got != tt.want {
				t.Errorf("Allowed(%v, %s, %s) = %v, want %v", tt.bindings, tt.perm, tt.target, got, tt.want)
			}
		})
	}
}

func TestCanGrant(t *testing.T) {
	t.Parallel()
	bank, bankPay := TenantScope("bank"), ProjectScope("bank", "pay")
	tests := []struct {
		name     string
		bindings []Binding
		role     Role
		scope    Scope
		want     bool
	}{
		{"a tenant admin names a project admin", []Binding{{TenantAdmin, bank}}, ProjectAdmin, bankPay, true},
		{"a project admin names a developer", []Binding{{ProjectAdmin, bankPay}}, Developer, bankPay, true},
		{"a project admin cannot name a tenant admin", []Binding{{ProjectAdmin, bankPay}}, TenantAdmin, bank, false},
		{"a tenant admin cannot name a platform admin", []Binding{{TenantAdmin, bank}}, PlatformAdmin, Platform, false},
		{"a platform admin names a platform admin", []Binding{{PlatformAdmin, Platform}}, PlatformAdmin, Platform, true},
		{"no one grants project-admin on a tenant", []Binding{{PlatformAdmin, Platform}}, ProjectAdmin, bank, false},
		{"no one grants an unknown role", []Binding{{PlatformAdmin, Platform}}, Role("root"), bank, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := CanGrant(tt.bindings, tt.role, tt.scope); got != tt.want {
				t.Errorf("CanGrant(%v, %s, %s) = %v, want %v", tt.bindings, tt.role, tt.scope, got, tt.want)
			}
		})
	}
}

func TestTenants(t *testing.T) {
	t.Parallel()
	got, all := Tenants([]Binding{{Viewer, ProjectScope("b", "x")}, {Developer, TenantScope("a")}, {Viewer, TenantScope("b")}})
	if all {
		t.Fatal("tenant bindings reach all tenants, want only theirs")
	}
	if diff := cmp.Diff([]string{"a", "b"}, got); diff != "" {
		t.Errorf("tenants (-want +got):\n%s", diff)
	}
	if _, all := Tenants([]Binding{{Auditor, Platform}}); !all {
		t.Error("a platform binding does not reach all tenants")
	}
}

func TestEveryRoleHasAPolicy(t *testing.T) {
	t.Parallel()
	for _, r := range Roles() {
		if !Has(r, TierRead) {
			t.Errorf("role %s cannot read resource tiers", r)
		}
	}
}

func TestTheGatewayRoleReadsOnlyTheGatewayStream(t *testing.T) {
	t.Parallel()
	gw := []Binding{{Gateway, Platform}}
	for _, p := range Permissions() {
		if got, want := Allowed(gw, p, Platform), p == GatewayRead; got != want {
			t.Errorf("gateway %s at the platform: %v, want %v", p, got, want)
		}
	}
	if tenants, all := Tenants(gw); all || len(tenants) != 0 {
		t.Errorf("a gateway binding reaches tenants %v (all: %v), want none", tenants, all)
	}
	if Validate(Gateway, Platform) == nil {
		t.Error("the gateway role can be bound to a user")
	}
	if !CanIssue([]Binding{{PlatformAdmin, Platform}}, Gateway) {
		t.Error("a platform admin cannot issue gateway tokens")
	}
	for _, b := range []Binding{{TenantAdmin, TenantScope("bank")}, {Auditor, Platform}, {Gateway, Platform}} {
		if CanIssue([]Binding{b}, Gateway) {
			t.Errorf("%s@%s issues gateway tokens", b.Role, b.Scope)
		}
	}
	if CanIssue([]Binding{{PlatformAdmin, Platform}}, Viewer) {
		t.Error("a token may carry a role other than the token roles")
	}
}
