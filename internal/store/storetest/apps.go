package storetest

import (
	"errors"
	"fmt"
	"testing"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

func q(s string) resource.Quantity {
	v, err := resource.ParseQuantity(s)
	if err != nil {
		panic(err)
	}
	return v
}

// medium is 1 CPU / 2Gi per replica.
var medium = apps.Tier{Name: "medium", Capacity: "~300 TPS", Resources: apps.Resources{
	Requests: resource.List{resource.CPU: q("1"), resource.Memory: q("2Gi")},
	Limits:   resource.List{resource.CPU: q("2"), resource.Memory: q("2Gi")},
}}

func (h *harness) tier(t *testing.T, tier apps.Tier) {
	t.Helper()
	h.tx(t, func(tx platform.Tx) error { _, err := h.p.Apps.CreateTier(t.Context(), tx, h.admin, tier); return err })
}

func (h *harness) app(t *testing.T, tenant, project, name string) {
	t.Helper()
	h.tx(t, func(tx platform.Tx) error {
		_, err := h.p.Apps.CreateApplication(t.Context(), tx, h.admin, apps.Application{Tenant: tenant, Project: project, Name: name})
		return err
	})
}

func version(tenant, project, app, name string, replicas int32) apps.Version {
	return apps.Version{Tenant: tenant, Project: project, Application: app, Name: name,
		Image: "registry.example.com/bank/" + app + ":1.0", Tier: "medium",
		Source:        apps.Source{Repository: "https://git.example.com/bank/" + app, Revision: "4f2a9c1"},
		Orchestration: apps.Orchestration{Replicas: replicas, Ports: []apps.Port{{Name: "http", ContainerPort: 8080}}, ZoneSpread: apps.SpreadPreferred}}
}

// activate creates and activates a version, returning the error.
func (h *harness) activate(t *testing.T, v apps.Version) error {
	t.Helper()
	return h.st.InTx(t.Context(), func(tx platform.Tx) error {
		_, err := h.p.Apps.CreateVersion(t.Context(), tx, h.admin, v, apps.VersionOptions{Activate: true})
		return err
	})
}

func testVersions(t *testing.T, h *harness) {
	ctx := t.Context()
	h.tenant(t, "acme")
	h.project(t, "acme", "payments")
	h.tier(t, medium)
	h.app(t, "acme", "payments", "red-auth")
	raw := version("acme", "payments", "red-auth", "v2", 1)
	raw.Tier, raw.Resources = "", &apps.Resources{Requests: resource.List{resource.CPU: q("250m"), resource.Memory: q("512Mi")}}
	tests := []struct {
		name string
		v    apps.Version
		opt  apps.VersionOptions
		want []resource.FieldError
	}{
		{"an unknown tier is refused at tier", func() apps.Version { v := version("acme", "payments", "red-auth", "v9", 1); v.Tier = "huge"; return v }(),
			apps.VersionOptions{}, []resource.FieldError{{Path: "tier", Reason: `unknown tier "huge"`}}},
		{"raw resources without the platform-admin flag are refused", raw, apps.VersionOptions{},
			[]resource.FieldError{{Path: "resources", Reason: "raw requests and limits are for platform admins; choose a tier"}}},
		{"negative replicas and a bad port are refused with their paths", func() apps.Version {
			v := version("acme", "payments", "red-auth", "v9", -1)
			v.Orchestration.Ports[0].ContainerPort = 70000
			return v
		}(), apps.VersionOptions{}, []resource.FieldError{
			{Path: "orchestration.replicas", Reason: "must not be negative, got -1"},
			{Path: "orchestration.ports[0].containerPort", Reason: "must be between 1 and 65535, got 70000"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := h.st.InTx(ctx, func(tx platform.Tx) error {
				_, err := h.p.Apps.CreateVersion(ctx, tx, h.admin, tc.v, tc.opt)
				return err
			})
			var ve *resource.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a validation error", err)
			}
			diff(t, "fields", ve.Fields, tc.want)
		})
	}
	if err := h.activate(t, version("acme", "payments", "red-auth", "v1", 2)); err != nil {
		t.Fatal(err)
	}
	h.tx(t, func(tx platform.Tx) error {
		_, err := h.p.Apps.CreateVersion(ctx, tx, h.admin, raw, apps.VersionOptions{AllowRawResources: true})
		return err
	})
	// the tier changes later; v1 keeps what it copied
	h.tx(t, func(tx platform.Tx) error {
		tier := must[apps.Tier](t)(h.p.Apps.GetTier(ctx, tx, "medium"))
		tier.Resources.Requests[resource.CPU] = q("4")
		tier.Resources.Limits[resource.CPU] = q("4")
		_, err := h.p.Apps.UpdateTier(ctx, tx, h.admin, tier)
		return err
	})
	h.view(t, func(tx platform.Tx) error {
		v1 := must[apps.Version](t)(h.p.Apps.GetVersion(ctx, tx, "acme", "payments", "red-auth", "v1"))
		diff(t, "v1 resources", *v1.Resources, medium.Resources)
		diff(t, "v1 source", v1.Source.Revision, "4f2a9c1")
		diff(t, "v1 creator", v1.CreatedBy, "alice")
		app := must[apps.Application](t)(h.p.Apps.GetApplication(ctx, tx, "acme", "payments", "red-auth"))
		diff(t, "current version", app.CurrentVersion, "v1")
		vs := must[resource.Page[apps.Version]](t)(h.p.Apps.ListVersions(ctx, tx, "acme", "payments", "red-auth", resource.ListOptions{}))
		diff(t, "versions", len(vs.Items), 2)
		return nil
	})
	err := h.st.InTx(ctx, func(tx platform.Tx) error {
		_, err := h.p.Apps.CreateVersion(ctx, tx, h.admin, version("acme", "payments", "red-auth", "v1", 1), apps.VersionOptions{})
		return err
	})
	wantErr(t, err, resource.ErrAlreadyExists)
}

func testTierInUse(t *testing.T, h *harness) {
	ctx := t.Context()
	h.tenant(t, "acme")
	h.project(t, "acme", "payments")
	h.tier(t, medium)
	h.app(t, "acme", "payments", "red-auth")
	if err := h.activate(t, version("acme", "payments", "red-auth", "v1", 1)); err != nil {
		t.Fatal(err)
	}
	err := h.st.InTx(ctx, func(tx platform.Tx) error { return h.p.Apps.DeleteTier(ctx, tx, h.admin, "medium", 0) })
	wantErr(t, err, resource.ErrInUse)
	h.tx(t, func(tx platform.Tx) error {
		return h.p.Apps.DeleteApplication(ctx, tx, h.admin, "acme", "payments", "red-auth", 0)
	})
	h.tx(t, func(tx platform.Tx) error { return h.p.Apps.DeleteTier(ctx, tx, h.admin, "medium", 0) })
}

func testBatchAllOrNothing(t *testing.T, h *harness) {
	ctx := t.Context()
	h.tenant(t, "acme")
	var before int64
	h.view(t, func(tx platform.Tx) error { before = int64(len(auditRecords(t, h, tx))); return nil })
	err := h.p.Do(ctx, h.admin, audit.Event{Action: "apply", Target: "manifest.yaml"}, func(tx platform.Tx) error {
		for i := range 3 {
			if _, err := h.p.Tenancy.CreateProject(ctx, tx, h.admin, tenancy.Project{Tenant: "acme", Name: fmt.Sprintf("p%d", i)}); err != nil {
				return err
			}
		}
		_, err := h.p.Tenancy.CreateProject(ctx, tx, h.admin, tenancy.Project{Tenant: "acme", Name: "p1"}) // duplicate: the batch fails
		return err
	})
	wantErr(t, err, resource.ErrAlreadyExists)
	h.view(t, func(tx platform.Tx) error {
		page := must[resource.Page[tenancy.Project]](t)(h.p.Tenancy.ListProjects(ctx, tx, "acme", resource.ListOptions{}))
		diff(t, "projects after the failed batch", len(page.Items), 0)
		recs := auditRecords(t, h, tx)
		diff(t, "records added", int64(len(recs))-before, int64(1))
		last := recs[len(recs)-1]
		diff(t, "failure record", []string{last.Action, string(last.Outcome), last.Target}, []string{"apply", "failure", "manifest.yaml"})
		return nil
	})
}
