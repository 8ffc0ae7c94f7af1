package netasset

import (
	"strings"
	"testing"
)

func TestGatewayCIDRs(t *testing.T) {
	got, err := gatewayCIDRs(map[string]string{GatewayCIDRsLabel: " 192.0.2.0/24, 2001:db8::/32 "})
	if err != nil || strings.Join(got, "|") != "192.0.2.0/24|2001:db8::/32" {
		t.Fatalf("got %v, %v", got, err)
	}
	if got, err := gatewayCIDRs(nil); err != nil || got != nil {
		t.Fatalf("no label: %v, %v", got, err)
	}
	_, err = gatewayCIDRs(map[string]string{GatewayCIDRsLabel: "192.0.2.0/24,10.0.0.300/8"})
	if err == nil || !strings.Contains(err.Error(), `"10.0.0.300/8" is not an address range`) {
		t.Fatalf("a malformed range: %v", err)
	}
}

func TestEffectiveTakesTheFinerLevelAndBothAllows(t *testing.T) {
	tenant := Isolation{Tenant: "bank", Level: LevelTenant, Allow: []Allow{
		{From: Peer{Tenant: "ops"}, To: Peer{Tenant: "bank", Project: "pay"}},
		{From: Peer{Tenant: "ops"}, To: Peer{Tenant: "bank", Project: "loans"}},
		{From: Peer{Tenant: "audit"}, To: Peer{Tenant: "bank"}}}}
	project := Isolation{Tenant: "bank", Project: "pay", Level: LevelApplication, Allow: []Allow{
		{From: Peer{Tenant: "bank", Project: "web"}, To: Peer{Tenant: "bank", Project: "pay", Application: "api"}}}}
	level, allows := Effective(tenant, project)
	if level != LevelApplication || len(allows) != 3 || allows[0].From.Tenant != "ops" || allows[1].From.Tenant != "audit" {
		t.Fatalf("level %q allows %+v", level, allows)
	}
	if level, _ := Effective(Isolation{Level: LevelProject}, Isolation{Level: LevelTenant}); level != LevelProject {
		t.Fatalf("a project cannot loosen its tenant's level: %q", level)
	}
}
