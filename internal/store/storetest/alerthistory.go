package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"berth.dev/berth/internal/alert"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
)

// testAlertHistory: what Alertmanager posts to a receiver's hook is kept
// as the project's alert history, one event per alert however many
// notifications and receivers carry it, firing then resolved; an
// operator acknowledges an alert with a reason (audited, kept when the
// alert is notified again, refused a second time); a viewer reads the
// history but does not acknowledge; an empty reason is refused naming
// the field; the oldest events beyond the bound are dropped.
func testAlertHistory(t *testing.T, h *harness) {
	ctx := t.Context()
	h.deployFixture(t)
	payments := authz.Scope{Tenant: "acme", Project: "payments"}
	lead := platform.Caller{Actor: audit.Actor{User: "paula"}, Bindings: []authz.Binding{{Role: authz.ProjectAdmin, Scope: payments}}}
	ops := platform.Caller{Actor: audit.Actor{User: "olga"}, Bindings: []authz.Binding{{Role: authz.Operator, Scope: payments}}}
	viewer := platform.Caller{Actor: audit.Actor{User: "vera"}, Bindings: []authz.Binding{{Role: authz.Viewer, Scope: payments}}}
	token := map[string]string{}
	for _, name := range []string{"ops-group", "oncall"} {
		rc := alert.Receiver{Tenant: "acme", Project: "payments", Name: name, Kind: alert.Webhook, URL: "https://hooks.example/" + name}
		if _, _, err := h.p.PutAlertReceiver(ctx, lead, rc); err != nil {
			t.Fatal(err)
		}
		h.view(t, func(tx platform.Tx) error {
			r, err := tx.GetAlertReceiver(ctx, "acme", "payments", name)
			token[name] = r.Token
			return err
		})
	}
	labels := map[string]string{"alertname": "red-errors", "tenant": "acme", "project": "payments", "environment": "prod", "app": "red-auth", "severity": "critical"}
	started := T0.Add(-10 * time.Minute)
	notify := func(receiver, status string, a ...alert.HookAlert) {
		t.Helper()
		if err := h.p.ReceiveAlerts(ctx, "acme", "payments", receiver, token[receiver], alert.Notification{Version: "4", Status: status, Alerts: a}); err != nil {
			t.Fatalf("notification to %s: %v", receiver, err)
		}
	}
	firing := alert.HookAlert{Status: "firing", Labels: labels, Annotations: map[string]string{"summary": "red-auth fails"}, StartsAt: started}
	older := alert.HookAlert{Status: "firing", Labels: map[string]string{"alertname": "slow", "tenant": "acme", "project": "payments"}, StartsAt: started.Add(-time.Hour)}
	notify("ops-group", "firing", firing, older)
	notify("oncall", "firing", firing)

	id := alert.EventID(started, labels)
	history, err := h.p.AlertHistory(ctx, viewer, "acme", "payments", 0)
	if err != nil || len(history) != 2 || history[0].ID != id || history[1].Name != "slow" || history[0].Status != "firing" || history[0].EndsAt != nil {
		t.Fatalf("history read by a viewer: %+v: %v; want red-errors firing (newest first), then slow", history, err)
	}

	if _, err := h.p.AcknowledgeAlert(ctx, viewer, "acme", "payments", id, "looking"); !errors.Is(err, resource.ErrForbidden) {
		t.Errorf("acknowledged by a viewer = %v, want ErrForbidden", err)
	}
	var ve *resource.ValidationError
	if _, err := h.p.AcknowledgeAlert(ctx, ops, "acme", "payments", id, "  "); !errors.As(err, &ve) || ve.Fields[0].Path != "reason" {
		t.Errorf("acknowledged without a reason = %v, want a field error of reason", err)
	}
	if _, err := h.p.AcknowledgeAlert(ctx, ops, "acme", "payments", "20000101T000000.000Z-0000000000000000", "x"); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("acknowledging an unknown alert = %v, want ErrNotFound", err)
	}
	acked, err := h.p.AcknowledgeAlert(ctx, ops, "acme", "payments", id, "rolling back CHG-7")
	if err != nil || acked.Ack == nil || acked.Ack.By != "olga" || acked.Ack.Reason != "rolling back CHG-7" || !acked.Ack.At.Equal(T0) {
		t.Fatalf("acknowledge: %+v: %v", acked, err)
	}
	var re *resource.RefusedError
	if _, err := h.p.AcknowledgeAlert(ctx, lead, "acme", "payments", id, "me too"); !errors.As(err, &re) {
		t.Errorf("a second acknowledgement = %v, want a refusal naming the first", err)
	}

	resolved := firing
	resolved.Status, resolved.EndsAt = "resolved", T0.Add(-time.Minute)
	notify("ops-group", "resolved", resolved)
	history, err = h.p.AlertHistory(ctx, viewer, "acme", "payments", 1)
	if err != nil || len(history) != 1 || history[0].Status != "resolved" || history[0].EndsAt == nil || !history[0].EndsAt.Equal(resolved.EndsAt) ||
		history[0].Ack == nil || history[0].Ack.By != "olga" {
		t.Errorf("history after resolution, limit 1: %+v: %v; want red-errors resolved, still acknowledged by olga", history, err)
	}
	if _, err := h.p.AlertHistory(ctx, viewer, "acme", "payments", alert.MaxHistory+1); !errors.As(err, &ve) || ve.Fields[0].Path != "limit" {
		t.Errorf("a limit beyond the bound = %v, want a field error of limit", err)
	}

	h.view(t, func(tx platform.Tx) error {
		page, err := h.p.Audit.List(ctx, tx, audit.Filter{Tenant: "acme", Project: "payments"}, resource.ListOptions{Limit: 100})
		if err != nil {
			return err
		}
		i := slices.IndexFunc(page.Items, func(r audit.Record) bool { return r.Action == "alert.acknowledge" && r.Outcome == audit.Success })
		if i < 0 || page.Items[i].Actor != "olga" {
			t.Errorf("no successful alert.acknowledge by olga in the audit trail")
		}
		return nil
	})

	h.tx(t, func(tx platform.Tx) error { return tx.TrimAlertEvents(ctx, "acme", "payments", 1) })
	if history, err = h.p.AlertHistory(ctx, viewer, "acme", "payments", 0); err != nil || len(history) != 1 || history[0].ID != id {
		t.Errorf("history trimmed to one: %+v: %v; want the newest, red-errors", history, err)
	}
}
