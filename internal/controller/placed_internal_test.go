package controller

import (
	gocmp "cmp"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/kube"
)

// TestPlacedMapsWhatTheClusterReportsBackToDeployments: the live view asks
// which deployment a watched workload is (or every one of a cluster whose
// reachability changed) from what the controller placed.
func TestPlacedMapsWhatTheClusterReportsBackToDeployments(t *testing.T) {
	t.Parallel()
	c := NewDeployments(nil, nil, nil, nil, nil, 0)
	pay := deploy.Key{Tenant: "bank", Project: "cards", Application: "pay", Environment: "prod"}
	auth := deploy.Key{Tenant: "bank", Project: "cards", Application: "auth", Environment: "prod"}
	ledger := deploy.Key{Tenant: "fund", Project: "core", Application: "ledger", Environment: "prod"}
	c.place("c1", kube.AppKey{Namespace: "cards-prod", App: "pay"}, pay)
	c.place("c1", kube.AppKey{Namespace: "cards-prod", App: "auth"}, auth)
	c.place("c2", kube.AppKey{Namespace: "core-prod", App: "ledger"}, ledger)

	if got := c.Placed("c1", kube.AppKey{Namespace: "cards-prod", App: "pay"}); !cmp.Equal(got, []deploy.Key{pay}) {
		t.Errorf("pay on c1: %v, want %v", got, pay)
	}
	if got := c.Placed("c2", kube.AppKey{Namespace: "cards-prod", App: "pay"}); got != nil {
		t.Errorf("pay's workload on c2, where it is not placed: %v, want none", got)
	}
	if got := c.Placed("c1", kube.AppKey{Namespace: "other", App: "pay"}); got != nil {
		t.Errorf("a workload named pay in another namespace: %v, want none", got)
	}
	got := c.Placed("c1", kube.AppKey{})
	slices.SortFunc(got, func(a, b deploy.Key) int { return gocmp.Compare(a.Application, b.Application) })
	if !cmp.Equal(got, []deploy.Key{auth, pay}) {
		t.Errorf("every deployment on c1: %v, want auth and pay", got)
	}
	c.forget(pay)
	if got := c.Placed("c1", kube.AppKey{Namespace: "cards-prod", App: "pay"}); got != nil {
		t.Errorf("pay after it was removed: %v, want none", got)
	}
}
