package storetest

import (
	"errors"
	"strings"
	"testing"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/slo"
)

// testSLORecords: a project's SLOs are created, replaced at their
// versions, listed, audited and deleted; one naming an unknown
// application is refused naming the field; a viewer reads but does not
// write.
func testSLORecords(t *testing.T, h *harness) {
	ctx := t.Context()
	h.deployFixture(t)
	payments := authz.Scope{Tenant: "acme", Project: "payments"}
	ops := platform.Caller{Actor: audit.Actor{User: "olga"}, Bindings: []authz.Binding{{Role: authz.Operator, Scope: payments}}}
	viewer := platform.Caller{Actor: audit.Actor{User: "vera"}, Bindings: []authz.Binding{{Role: authz.Viewer, Scope: payments}}}

	s := slo.SLO{Tenant: "acme", Project: "payments", Name: "red-avail", Environment: "prod", Application: "red-auth",
		Kind: slo.Availability, Objective: 99.9}
	got, created, err := h.p.PutSLO(ctx, ops, s)
	if err != nil || !created || got.ResourceVersion != 1 || !got.CreatedAt.Equal(T0) {
		t.Fatalf("create slo: %+v created %v: %v", got, created, err)
	}
	s.Objective, s.Window, s.ResourceVersion = 99.5, "7d", 1
	if got, created, err = h.p.PutSLO(ctx, ops, s); err != nil || created || got.ResourceVersion != 2 {
		t.Fatalf("replace slo: %+v created %v: %v", got, created, err)
	}
	if _, _, err := h.p.PutSLO(ctx, ops, s); !errors.Is(err, resource.ErrConflict) {
		t.Errorf("replace at a stale version = %v, want ErrConflict", err)
	}
	bad := s
	bad.Name, bad.Application, bad.ResourceVersion = "other", "nobody", 0
	var ve *resource.ValidationError
	if _, _, err := h.p.PutSLO(ctx, ops, bad); !errors.As(err, &ve) || ve.Fields[0].Path != "application" {
		t.Errorf("slo of an unknown application = %v, want a field error of application", err)
	}
	if _, _, err := h.p.PutSLO(ctx, viewer, bad); !errors.Is(err, resource.ErrForbidden) {
		t.Errorf("slo put by a viewer = %v, want ErrForbidden", err)
	}
	list, err := h.p.ListSLOs(ctx, viewer, "acme", "payments")
	if err != nil || len(list) != 1 || list[0].Objective != 99.5 || list[0].Window != "7d" {
		t.Errorf("slos read by a viewer: %+v: %v", list, err)
	}
	if err := h.p.DeleteSLO(ctx, ops, "acme", "payments", "red-avail"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.p.GetSLO(ctx, ops, "acme", "payments", "red-avail"); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("read after delete = %v, want ErrNotFound", err)
	}
	h.view(t, func(tx platform.Tx) error {
		page, err := h.p.Audit.List(ctx, tx, audit.Filter{Tenant: "acme", Project: "payments"}, resource.ListOptions{Limit: 100})
		if err != nil {
			return err
		}
		var actions []string
		for _, rec := range page.Items {
			if rec.Outcome == audit.Success && strings.HasPrefix(rec.Action, "slo.") {
				actions = append([]string{rec.Action}, actions...)
			}
		}
		diff(t, "slo audit actions, oldest first", actions, []string{"slo.create", "slo.update", "slo.delete"})
		return nil
	})
}
