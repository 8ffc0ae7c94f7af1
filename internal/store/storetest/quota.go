package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

func (h *harness) setQuota(t *testing.T, sc tenancy.Scope, hard resource.List, rv int64) error {
	t.Helper()
	return h.st.InTx(t.Context(), func(tx platform.Tx) error {
		_, err := h.p.Tenancy.SetQuota(t.Context(), tx, h.admin, tenancy.Quota{Scope: sc, Hard: hard, ResourceVersion: rv})
		return err
	})
}

func quotaErr(t *testing.T, err error) *resource.QuotaExceededError {
	t.Helper()
	var qe *resource.QuotaExceededError
	if !errors.As(err, &qe) || !errors.Is(err, resource.ErrQuotaExceeded) {
		t.Fatalf("got %v, want a *QuotaExceededError", err)
	}
	return qe
}

func testQuotaSums(t *testing.T, h *harness) {
	h.tenant(t, "acme")
	h.project(t, "acme", "payments")
	h.project(t, "acme", "loans")
	acme := tenancy.Scope{Tenant: "acme"}
	if err := h.setQuota(t, acme, resource.List{resource.CPU: q("10"), resource.Memory: q("20Gi")}, 0); err != nil {
		t.Fatal(err)
	}
	if err := h.setQuota(t, tenancy.Scope{Tenant: "acme", Project: "payments"}, resource.List{resource.CPU: q("6")}, 0); err != nil {
		t.Fatal(err)
	}
	qe := quotaErr(t, h.setQuota(t, tenancy.Scope{Tenant: "acme", Project: "loans"}, resource.List{resource.CPU: q("5")}, 0))
	diff(t, "error", qe.Error(), "quota exceeded in tenant acme: cpu requested 5, used 6, limit 10 (project quotas would sum above the tenant's)")
	if err := h.setQuota(t, tenancy.Scope{Tenant: "acme", Project: "loans"}, resource.List{resource.CPU: q("4")}, 0); err != nil {
		t.Fatal(err)
	}
	qe = quotaErr(t, h.setQuota(t, acme, resource.List{resource.CPU: q("9500m")}, 1))
	diff(t, "tenant below allotted", qe.Error(),
		"quota exceeded in tenant acme: cpu requested 9500m, used 10, limit 9500m (the tenant quota would be below the sum of its projects' quotas)")
	h.view(t, func(tx platform.Tx) error {
		u := must[tenancy.Usage](t)(h.p.Tenancy.Usage(t.Context(), tx, acme))
		diff(t, "allotted cpu", u.Allotted[resource.CPU], q("10"))
		return nil
	})
}

func testQuotaActivation(t *testing.T, h *harness) {
	h.tenant(t, "acme")
	h.project(t, "acme", "payments")
	h.tier(t, medium)
	h.app(t, "acme", "payments", "red-auth")
	h.app(t, "acme", "payments", "blue-pay")
	if err := h.setQuota(t, tenancy.Scope{Tenant: "acme"}, resource.List{resource.Memory: q("16Gi")}, 0); err != nil {
		t.Fatal(err)
	}
	if err := h.setQuota(t, tenancy.Scope{Tenant: "acme", Project: "payments"}, resource.List{resource.CPU: q("4"), resource.Containers: q("10")}, 0); err != nil {
		t.Fatal(err)
	}
	if err := h.activate(t, version("acme", "payments", "red-auth", "v1", 3)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		v    string
		n    int32
		want string
	}{
		{"the project's cpu quota", "v1", 2, "quota exceeded in project acme/payments: cpu requested 2, used 3, limit 4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			qe := quotaErr(t, h.activate(t, version("acme", "payments", "blue-pay", tc.v, tc.n)))
			diff(t, "error", qe.Error(), tc.want)
		})
	}
	// lift the project's cpu limit: now the tenant's memory binds
	if err := h.setQuota(t, tenancy.Scope{Tenant: "acme", Project: "payments"}, resource.List{resource.Containers: q("10")}, 1); err != nil {
		t.Fatal(err)
	}
	qe := quotaErr(t, h.activate(t, version("acme", "payments", "blue-pay", "v1", 6)))
	diff(t, "tenant memory", qe.Error(), "quota exceeded in tenant acme: memory requested 12Gi, used 6Gi, limit 16Gi")
	h.view(t, func(tx platform.Tx) error {
		_, err := h.p.Apps.GetVersion(t.Context(), tx, "acme", "payments", "blue-pay", "v1")
		wantErr(t, err, resource.ErrNotFound) // the refused activation took its version with it
		u := must[tenancy.Usage](t)(h.p.Tenancy.Usage(t.Context(), tx, tenancy.Scope{Tenant: "acme", Project: "payments"}))
		diff(t, "usage unchanged", u.Used[resource.Containers], q("3"))
		return nil
	})
	if err := h.activate(t, version("acme", "payments", "blue-pay", "v1", 5)); err != nil {
		t.Fatalf("5 replicas fit exactly (16Gi): %v", err)
	}
	qe = quotaErr(t, h.setQuota(t, tenancy.Scope{Tenant: "acme"}, resource.List{resource.Memory: q("8Gi")}, 1))
	diff(t, "limit below usage", qe.Error(), "quota exceeded in tenant acme: memory requested 8Gi, used 16Gi, limit 8Gi (the new limit is below current usage)")
}

func testUsage(t *testing.T, h *harness) {
	h.tenant(t, "acme")
	h.project(t, "acme", "payments")
	h.project(t, "acme", "loans")
	h.tier(t, medium)
	h.app(t, "acme", "payments", "red-auth")
	h.app(t, "acme", "loans", "ledger")
	v := version("acme", "payments", "red-auth", "v1", 2)
	v.Orchestration.ConfigRefs = []apps.ConfigRef{{Name: "red-auth-db"}}
	if err := h.activate(t, v); err != nil {
		t.Fatal(err)
	}
	v = version("acme", "loans", "ledger", "v1", 1)
	v.Orchestration.Autoscaling = &apps.Autoscaling{MinReplicas: 1, MaxReplicas: 3, TargetCPUPercent: 70}
	if err := h.activate(t, v); err != nil {
		t.Fatal(err)
	}
	h.view(t, func(tx platform.Tx) error {
		u := must[tenancy.Usage](t)(h.p.Tenancy.Usage(t.Context(), tx, tenancy.Scope{Tenant: "acme"}))
		diff(t, "tenant usage", u.Used, resource.List{resource.CPU: q("5"), resource.Memory: q("10Gi"),
			resource.Containers: q("5"), resource.Storage: 0, resource.ConfigItems: q("1")})
		u = must[tenancy.Usage](t)(h.p.Tenancy.Usage(t.Context(), tx, tenancy.Scope{Tenant: "acme", Project: "loans"}))
		diff(t, "autoscaled project reserves max replicas", u.Used[resource.CPU], q("3"))
		return nil
	})
	h.tx(t, func(tx platform.Tx) error {
		return h.p.Apps.DeleteApplication(t.Context(), tx, h.admin, "acme", "loans", "ledger", 0)
	})
	h.view(t, func(tx platform.Tx) error {
		u := must[tenancy.Usage](t)(h.p.Tenancy.Usage(t.Context(), tx, tenancy.Scope{Tenant: "acme"}))
		diff(t, "usage after delete", u.Used[resource.CPU], q("2"))
		return nil
	})
}

func testConcurrentActivations(t *testing.T, h *harness) {
	h.tenant(t, "acme")
	h.project(t, "acme", "payments")
	h.tier(t, medium)
	if err := h.setQuota(t, tenancy.Scope{Tenant: "acme"}, resource.List{resource.CPU: q("4")}, 0); err != nil {
		t.Fatal(err)
	}
	const n = 4 // each asks for 3 CPUs of 4: only one fits
	for i := range n {
		h.app(t, "acme", "payments", fmt.Sprintf("svc-%d", i))
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = h.activate(t, version("acme", "payments", fmt.Sprintf("svc-%d", i), "v1", 3))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, resource.ErrQuotaExceeded):
			t.Errorf("activation failed with %v, want nil or a quota error", err)
		}
	}
	diff(t, "activations that fit", ok, 1)
	h.view(t, func(tx platform.Tx) error {
		u := must[tenancy.Usage](t)(h.p.Tenancy.Usage(t.Context(), tx, tenancy.Scope{Tenant: "acme"}))
		diff(t, "cpu used", u.Used[resource.CPU], q("3"))
		return nil
	})
}

func testHugeReservation(t *testing.T, h *harness) {
	h.tenant(t, "acme")
	h.project(t, "acme", "payments")
	h.app(t, "acme", "payments", "red-auth")
	v := version("acme", "payments", "red-auth", "v1", 1<<31-1) // no quota at all
	v.Tier, v.Resources = "", &apps.Resources{Requests: resource.List{resource.Memory: q("1Pi")}}
	err := h.st.InTx(t.Context(), func(tx platform.Tx) error {
		_, err := h.p.Apps.CreateVersion(t.Context(), tx, h.admin, v, apps.VersionOptions{Activate: true, AllowRawResources: true})
		return err
	})
	qe := quotaErr(t, err)
	diff(t, "refusal", []any{qe.Resource, qe.Requested, qe.Limit}, []any{resource.Memory, resource.MaxQuantity, tenancy.MaxReservation})
}
